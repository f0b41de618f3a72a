"""The studio's page in a real browser: headless Chromium driven by Selenium (the system's
Chromium and chromedriver, as Debian packages them; Selenium's own driver download is not
used). The page computes in WebAssembly: a stroke drawn with pointer events is read with no
request but its preprocessing's, the prediction checked against the native engine on the same
input, every layer's panel, one C3 unit's sum, the backward pass, the camera (Chromium's fake
camera playing a file made from a test digit), the 10,000 test images' penalties against the
native engine's, live training in the page (the page responsive meanwhile), stopped and its
checkpoint read by `lenet evaluate`; the first screen at 1280x800, the keyboard, the live
region, the hooks, lecture mode and axe-core's accessibility rules; and the screenshot in
docs/studio.md.

The screenshot is written to build/screenshots/studio.png; with LENET_DOCS_SCREENSHOT=1 also
to docs/images/studio.png, the picture the docs show. Without Chromium the tests skip, unless
LENET_REQUIRE_BROWSER=1 (CI sets it), when they fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import lenet
from lenet import cli
from lenet.data import load_mnist
from lenet.engine.inputs import preprocess
from lenet.paper import INPUT_RANGE
from lenet.run.checkpoint import load_checkpoint, read_checkpoint
from lenet.run.pretrained import shipped
from lenet.run.recipes import RECIPES
from lenet.teach import viz
from lenet.teach.studio import Studio, StudioServer
from lenet.teach.studio.drawing import normalise

from conftest import HAVE_MNIST, MNIST, MNIST_SKIP_REASON

if os.environ.get("LENET_REQUIRE_BROWSER") == "1":
    import selenium.webdriver as webdriver
    from axe_selenium_python import Axe
else:
    webdriver = pytest.importorskip("selenium.webdriver")
    Axe = pytest.importorskip("axe_selenium_python").Axe
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)
CHROMEDRIVER = shutil.which("chromedriver")
if os.environ.get("LENET_REQUIRE_BROWSER") == "1" and (CHROMIUM is None or CHROMEDRIVER is None):
    raise RuntimeError("LENET_REQUIRE_BROWSER=1 but Chromium or chromedriver is not on the PATH")
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
    ),
    pytest.mark.skipif(not HAVE_MNIST, reason=MNIST_SKIP_REASON),
]
CAMERA_DIGIT = 0  # test image 0, a 7, held up to the fake camera
STUDIO_URL: list[str] = []
WAIT = 60


def camera_file(path: Path, digit: np.ndarray) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of a digit printed dark on white paper,
    320x240, filling the middle of the frame."""
    width, height = 320, 240
    luma = np.full((height, width), 235, np.uint8)  # paper
    big = np.kron(255 - digit.astype(np.int32), np.ones((6, 6), np.int32))  # 168x168
    top, left = (height - big.shape[0]) // 2, (width - big.shape[1]) // 2
    luma[top : top + big.shape[0], left : left + big.shape[1]] = np.clip(big, 20, 235)
    chroma = np.full((height // 2, width // 2), 128, np.uint8)
    frame = b"FRAME\n" + luma.tobytes() + chroma.tobytes() + chroma.tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * 10)
    return path


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(MNIST)


@pytest.fixture(scope="module")
def studio(mnist, tmp_path_factory):
    """A studio on the shipped, trained networks (so that the pictures mean something), as
    `lenet studio` opens."""
    out = tmp_path_factory.mktemp("studio-runs")
    server = StudioServer(Studio(data=MNIST, out=out, train_limit=6000)).start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser(studio, mnist, tmp_path_factory):
    (_, _), (xte, _) = mnist
    video = camera_file(tmp_path_factory.mktemp("camera") / "digit.y4m", xte[CAMERA_DIGIT])
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    STUDIO_URL[:] = [studio.url]  # where a test that leaves the page comes back to
    try:
        driver.get(studio.url)
        WebDriverWait(driver, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.ready")
        )
        yield driver
    finally:
        driver.quit()


def find(driver, selector: str):
    return driver.find_element(By.CSS_SELECTOR, selector)


def in_view(driver, element):
    """The element scrolled to the middle of the window, for pointer actions on it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    return element


def draw_one(driver) -> int:
    """A stroke like a 1 drawn with pointer events; returns the page's stroke-to-page time."""
    find(driver, '[data-testid="clear"]').click()
    before = find(driver, '[data-testid="latency"]').text
    driver.execute_script("window.__answered = state.latest")
    pad = in_view(driver, find(driver, '[data-testid="draw"]'))
    actions = ActionChains(driver)
    actions.move_to_element_with_offset(pad, 10, -90).click_and_hold()
    for _ in range(18):
        actions.move_by_offset(-1, 10)
    actions.release().perform()
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return !state.pending && state.latest !== window.__answered")
    )
    time.sleep(0.3)  # the last move's answer, if one was still on its way
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return !state.pending"))
    latency = find(driver, '[data-testid="latency"]').text
    assert latency != before or before != "-"
    return int(latency.split()[0])


def show_test_image(driver, index: int, *, keyboard: bool = False) -> None:
    """Test image `index` on the pad (typed and submitted with Enter when `keyboard`), once
    the page has read it."""
    box = find(driver, '[data-testid="test-index"]')
    box.clear()
    if keyboard:
        box.send_keys(str(index), Keys.ENTER)
    else:
        box.send_keys(str(index))
        find(driver, '[data-testid="test-show"]').click()
    WebDriverWait(driver, WAIT).until(
        lambda d: f"test image {index}," in find(d, '[data-testid="announce"]').text
    )
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return !state.pending"))


def screen(driver, width: int, height: int) -> None:
    """The page's viewport exactly width x height (the window's own frame left out)."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def page_input(driver) -> np.ndarray:
    return np.array(driver.execute_script("return state.input"), np.float32)[None, None]


def test_a_stroke_is_read_as_the_engine_reads_it(browser, studio):
    before = len(studio.requests)
    times = [draw_one(browser) for _ in range(3)]
    asked = {path for _, path in studio.requests[before:]}
    assert not {path for path in asked if path.startswith("/api/")}  # the page computes it all
    # the drawing made MNIST-like in the module: the native core's field, byte for byte
    drawn = browser.execute_script("return padPixels()")
    field = browser.execute_script("return state.latest.steps.centred")
    assert np.array_equal(np.array(field, np.uint8), normalise(drawn)["centred"])
    x = page_input(browser)
    assert x.shape == (1, 1, 32, 32)
    penalties = studio.studio.nets["paper"].forward(x)[0]
    assert find(browser, '[data-testid="prediction"]').text == str(int(np.argmin(penalties)))
    expected = {"C1": 6, "S2": 6, "C3": 16, "S4": 16, "C5": 1, "F6": 1, "output": 1}
    for layer, maps in expected.items():
        panel = find(browser, f'[data-layer="{layer}"]')
        assert len(panel.find_elements(By.TAG_NAME, "canvas")) == maps, layer
        assert layer in panel.text
    steps = browser.find_elements(By.CSS_SELECTOR, "[data-step]")
    assert [s.get_attribute("data-step") for s in steps] == ["box", "resized", "centred", "input"]
    assert all(t < 1000 for t in times)
    print(f"stroke to updated page: {sorted(times)} ms")


def test_the_page_says_it_shows_the_shipped_networks(browser, studio):
    """Without a run, the page names where each network comes from: shipped, the command that
    trained it, its test error."""
    info = find(browser, "#network-info").text
    for model in ("paper", "modern"):
        record = shipped(model)
        assert f"shipped, trained by `{record.command}`" in info
        assert f"test error {100 * record.test_error:.2f} %" in info


def test_a_c3_unit_shows_its_sum_as_the_engine_computes_it(browser, studio):
    draw_one(browser)
    canvas = in_view(browser, browser.find_elements(By.CSS_SELECTOR, '[data-layer="C3"] canvas')[3])
    ActionChains(browser).move_to_element_with_offset(canvas, 9, -15).click().perform()
    WebDriverWait(browser, WAIT).until(
        lambda d: find(d, "#unit").get_attribute("data-layer") == "C3"
    )
    text = find(browser, "#unit").text
    m, r, c = map(int, re.search(r"C3 unit \[(\d+),(\d+),(\d+)\]", text).groups())
    assert (m, r, c) == (3, 2, 6)
    trace = studio.studio.nets["paper"].trace(page_input(browser), pre_activations=True)
    a = float(trace["C3.a"][0, m, r, c])
    shown = float(re.search(r"^a = bias \+ .* = (-?\d+\.\d+)$", text, re.M).group(1))
    engine = float(re.search(r"the engine computed a = (-?\d+\.\d+)", text).group(1))
    assert abs(shown - a) <= 1e-4 and abs(engine - a) <= 1e-4
    connected = np.flatnonzero(studio.studio.nets["paper"].C3.connection_table[m])
    assert re.findall(r"input map (\d+)", text) == [str(j) for j in connected]


def test_choosing_the_label_shows_the_loss_and_every_layers_gradient(browser, studio):
    draw_one(browser)
    find(browser, '[data-testid="label-4"]').click()
    WebDriverWait(browser, WAIT).until(lambda d: "label 4" in find(d, '[data-testid="loss"]').text)
    text = find(browser, '[data-testid="loss"]').text
    trace = studio.studio.nets["paper"].trace(page_input(browser), label=4)
    assert text.startswith("loss (8) (penalty): E = ")
    assert float(text.split("E = ")[1].split()[0]) == pytest.approx(trace.loss, abs=1e-3)
    layers = [
        e.get_attribute("data-grad-layer")
        for e in browser.find_elements(By.CSS_SELECTOR, "[data-grad-layer]")
    ]
    assert layers == list(trace.state_gradients)


def test_the_screenshot_for_the_docs(browser, studio):
    find(browser, '[data-testid="test-index"]').clear()
    find(browser, '[data-testid="test-index"]').send_keys("7")
    find(browser, '[data-testid="test-show"]').click()
    WebDriverWait(browser, WAIT).until(
        lambda d: "test image 7" in find(d, '[data-testid="test-info"]').text
    )
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return !state.pending"))
    find(browser, '[data-testid="label-9"]').click()
    layers = find(browser, "#forward-card")
    unit = in_view(browser, browser.find_elements(By.CSS_SELECTOR, '[data-layer="C3"] canvas')[6])
    ActionChains(browser).move_to_element_with_offset(unit, 0, 0).click().perform()
    WebDriverWait(browser, WAIT).until(
        lambda d: find(d, "#unit").get_attribute("data-layer") == "C3"
    )
    screen(browser, 1280, 800)  # the first screen: the drawing, its answer, the maps
    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)
    out = ROOT / "build" / "screenshots" / "studio.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(out))
    assert out.read_bytes().startswith(b"\x89PNG") and layers.is_displayed()
    if os.environ.get("LENET_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(out, ROOT / "docs" / "images" / "studio.png")
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_camera_reads_a_digit_held_up_to_it(browser, studio):
    find(browser, '[data-testid="camera"]').click()
    WebDriverWait(browser, WAIT).until(
        lambda d: find(d, '[data-testid="test-info"]').text.startswith("camera: dark pixels")
    )
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return !state.pending"))
    time.sleep(0.6)
    find(browser, '[data-testid="camera"]').click()  # off: the last frame's answer stays
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return !state.pending"))
    x = page_input(browser)
    prediction = int(np.argmin(studio.studio.nets["paper"].forward(x)[0]))
    assert find(browser, '[data-testid="prediction"]').text == str(prediction)
    assert prediction == 7  # test image 0, a 7, through the camera, thresholded and centred


LAG = """const done = arguments[arguments.length - 1];
let worst = 0, last = performance.now();
const tick = () => {
    const now = performance.now(); worst = Math.max(worst, now - last); last = now; };
const timer = setInterval(tick, 10);
setTimeout(() => { clearInterval(timer); done(worst); }, 2000);"""


SHOW_TEST_IMAGE = """const [index, done] = arguments;
const hook = document.querySelector('[data-testid=penalties]');
document.querySelector('[data-testid=test-index]').value = String(index);
const started = performance.now();
new MutationObserver((_, seen) => { seen.disconnect(); done(performance.now() - started); })
    .observe(hook, {attributes: true, attributeFilter: ['data-values']});
document.querySelector('[data-testid=test-show]').click();"""


def answer_times(browser) -> tuple[list[int], list[float]]:
    """The page's stroke-to-page times of three strokes, and the milliseconds from a click on
    "show" to the test image's penalties on the page, for three test images."""
    strokes = [draw_one(browser) for _ in range(3)]
    browser.set_script_timeout(WAIT)
    shown = [browser.execute_async_script(SHOW_TEST_IMAGE, i) for i in (11, 12, 13)]
    return strokes, shown


def test_live_training_in_the_page_then_stopped_and_evaluated(browser, studio, capsys):
    """Training runs in a Web Worker (no server-side training, none on the page's thread): the
    count grows, the curve and the kernels follow, the page answers a stroke and a test image
    meanwhile within a bound; Stop sends the weights, which the server writes as a run folder
    that `lenet evaluate` reads."""
    try:
        trained(browser, studio, capsys)
    finally:  # the page's own network trained: the tests after this one want the shipped one
        browser.get(studio.url)
        WebDriverWait(browser, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.ready")
        )


def trained(browser, studio, capsys) -> None:
    idle = answer_times(browser)
    find(browser, '[data-testid="train-start"]').click()
    status = lambda d: find(d, '[data-testid="train-status"]')  # noqa: E731
    WebDriverWait(browser, WAIT).until(lambda d: int(status(d).get_attribute("data-seen") or 0) > 0)
    assert browser.execute_script("return engine.trainer('paper').worker instanceof Worker")
    seen = int(status(browser).get_attribute("data-seen"))
    browser.set_script_timeout(WAIT)
    worst = browser.execute_async_script(LAG)  # the longest the page's thread was busy
    busy = answer_times(browser)  # the page's answers while the worker trains
    assert int(status(browser).get_attribute("data-seen")) > seen
    curve = browser.execute_script(
        "return document.querySelector('[data-testid=train-curve]').toDataURL()"
    )
    kernels = find(browser, '[data-testid="kernels"]').get_attribute("data-version")
    WebDriverWait(browser, WAIT).until(
        lambda d: (
            d.execute_script(
                "return document.querySelector('[data-testid=train-curve]').toDataURL()"
            )
            != curve
            and find(d, '[data-testid="kernels"]').get_attribute("data-version") != kernels
        )
    )
    find(browser, '[data-testid="train-stop"]').click()
    WebDriverWait(browser, WAIT).until(lambda d: status(d).get_attribute("data-state") == "stopped")
    text = status(browser).text
    rate = float(re.search(r"([\d,]+) patterns/s", text).group(1).replace(",", ""))
    checkpoint = Path(re.search(r"checkpoint: (\S+)", text).group(1))
    assert checkpoint.is_file() and checkpoint.parent.parent == studio.studio.out
    loaded = load_checkpoint(checkpoint)
    shown = browser.execute_script(
        """const p = engine.nets.paper.getParameters();
        const b = new Uint8Array(p.buffer); let s = "";
        for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
        return btoa(s);"""
    )
    page = np.frombuffer(base64.b64decode(shown), np.float32)
    np.testing.assert_array_equal(loaded.parameters.astype(np.float32), page)
    assert cli.main(["evaluate", str(checkpoint.parent), "--data", str(MNIST)]) == 0
    assert "test error" in capsys.readouterr().out
    assert not [p for _, p in studio.requests if p in ("/api/train", "/api/infer")]
    assert worst < 250, f"the page's thread was busy for {worst:.0f} ms at once"
    strokes, shown = busy
    assert max(strokes) < 250 and max(shown) < 250, f"while training: {busy}"
    print(f"live training in the worker: {rate:,.0f} patterns/s; the page busy <= {worst:.0f} ms")
    print(f"stroke to page (ms), idle {idle[0]}, training {strokes}")
    print(f"test image to penalties (ms), idle {fmt(idle[1])}, training {fmt(shown)}")


def fmt(times: list[float]) -> list[int]:
    return [round(t) for t in times]


def test_training_a_loaded_run_goes_on_where_it_stopped_in_its_folder(browser, mnist, tmp_path):
    """A run trained one pass natively, opened as `lenet studio RUN` opens it: the page's worker
    starts at pass 2 with pass 2's eta, and its checkpoint replaces the run's own in its folder."""
    (xtr, ytr), _ = mnist
    run, recipe = tmp_path / "run", replace(RECIPES["paper"], passes=3, limit=600)
    lenet.train(
        lenet.LeNet5(seed=2), (preprocess(xtr), ytr), None, replace(recipe, passes=1),
        out=run, progress=False, echo=None,
    )  # fmt: skip
    state = read_checkpoint(run)
    studio = Studio(state["net"], data=MNIST, out=tmp_path / "elsewhere", run=run,
                    progress=state["progress"], recipe=recipe)  # fmt: skip
    status = lambda d: find(d, '[data-testid="train-status"]')  # noqa: E731
    with StudioServer(studio).start() as server:
        try:
            browser.get(server.url)
            WebDriverWait(browser, WAIT).until(
                lambda d: d.execute_script("return document.body.dataset.ready")
            )
            find(browser, '[data-testid="train-step-100"]').click()
            WebDriverWait(browser, WAIT).until(
                lambda d: status(d).get_attribute("data-seen") == "100"
            )
            assert "pass 2 of 3 · 100 of 600 steps" in status(browser).text
            shown = browser.execute_script("return engine.trainer('paper').status()")
            assert [r["pass"] for r in shown["history"]] == [1]  # the run's own pass 1
            assert (
                shown["step_sizes"]["eta"]
                == studio.bundle()["networks"]["paper"]["training"]["schedule"][1]
            )  # SDLM's eta of pass 2
            find(browser, '[data-testid="train-stop"]').click()
            WebDriverWait(browser, WAIT).until(
                lambda d: status(d).get_attribute("data-state") == "stopped"
            )
            assert f"checkpoint: {run / 'checkpoint.npz'}" in status(browser).text
        finally:
            browser.get(STUDIO_URL[0])
            WebDriverWait(browser, WAIT).until(
                lambda d: d.execute_script("return document.body.dataset.ready")
            )
    progress = read_checkpoint(run)["progress"]
    assert (progress["epoch"], progress["step"]) == (1, 100)
    assert not (tmp_path / "elsewhere").exists()


def test_each_layer_is_drawn_in_the_grid_the_package_gives(browser, studio):
    """The canvases of C5, F6 and the output, of both networks, and F6 beside its prototypes,
    are as many cells wide and tall as lenet.teach.viz.layer_grid says; the input's range on
    the page is lenet.paper's."""
    draw_one(browser)
    for model, attribute in (("paper", "data-layer"), ("modern", "data-modern-layer")):
        net = studio.studio.nets[model]
        for layer, shape in zip(net.layers, net.output_shapes):
            grid = viz.layer_grid(tuple(shape))
            if grid is None:
                continue
            canvas = find(browser, f'[{attribute}="{layer.name}"] canvas')
            drawn = (int(canvas.get_attribute("height")), int(canvas.get_attribute("width")))
            assert drawn == grid, (model, layer.name)
    for canvas in browser.find_elements(By.CSS_SELECTOR, "#f6 canvas"):  # F6, its prototypes
        assert (int(canvas.get_attribute("height")), int(canvas.get_attribute("width"))) == (12, 7)
    background, ink = INPUT_RANGE
    assert f"32x32 input, {background:g} .. {ink:g}" in find(browser, '[data-step="input"]').text
    assert f"background {background:g}, ink {ink:g}" in find(browser, "#steps-card").text


# ---- the first screen, the keyboard, the live region, the hooks, accessibility -----------------


def test_the_pad_the_answer_and_the_c1_maps_fill_the_first_screen(browser):
    """At 1280x800 the pad, the answer, the penalties and every C1 map are within the first
    800 px, with nothing wider than the window; the modern network's maps wait behind a tab."""
    show_test_image(browser, 1)
    screen(browser, 1280, 800)
    try:
        browser.execute_script("window.scrollTo(0, 0)")
        boxes = browser.execute_script(
            """const shown = '[data-testid=draw], [data-testid=prediction], '
                + '[data-testid=penalties], [data-layer=C1] canvas';
            return [...document.querySelectorAll(shown)].map((e) => {
                const r = e.getBoundingClientRect();
                return [e.id || e.dataset.layer, r.bottom, r.right]; })"""
        )
        assert len(boxes) == 3 + 6
        for name, bottom, right in boxes:
            assert bottom <= 800 and right <= 1280, (name, bottom, right)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280
        assert not find(browser, "#modern").is_displayed()
        find(browser, '[data-testid="tab-modern"]').click()
        assert find(browser, '[data-modern-layer="C1"]').is_displayed()
        assert not find(browser, '[data-layer="C1"]').is_displayed()
        find(browser, "#tab-paper").click()
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_unit_is_reached_and_computed_from_the_keyboard(browser, studio):
    """Tab from the test image's box reaches a C1 map (one tab stop per layer), with a visible
    focus outline and a text alternative; Enter computes the unit under the cursor, the arrow
    keys move it, and its a is the engine's."""
    show_test_image(browser, 2)
    find(browser, '[data-testid="test-index"]').click()
    for _ in range(30):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.execute_script("return document.activeElement.dataset.layer === 'C1'"):
            break
    focused = browser.switch_to.active_element
    assert focused.get_attribute("data-layer") == "C1" and focused.tag_name == "canvas"
    assert browser.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle"
    ) not in ("none", "")
    label = focused.get_attribute("aria-label")
    assert "C1, map 0 of 6, 28 by 28 units, colour scale -1.7159 .. 1.7159" in label
    trace = studio.studio.nets["paper"].trace(page_input(browser), pre_activations=True)
    for keys, unit in (
        ([Keys.ENTER], (0, 0, 0)),
        ([Keys.ARROW_DOWN, Keys.ARROW_RIGHT, " "], (0, 1, 1)),
    ):
        ActionChains(browser).send_keys(*keys).perform()
        text = f"C1 unit [{unit[0]},{unit[1]},{unit[2]}]"
        WebDriverWait(browser, WAIT).until(lambda d, text=text: text in find(d, "#unit").text)
        shown = float(
            re.search(r"the engine computed a = (-?\d+\.\d+)", find(browser, "#unit").text).group(1)
        )
        assert abs(shown - float(trace["C1.a"][(0, *unit)])) <= 1e-4
        spoken = find(browser, '[data-testid="unit-announce"]').get_attribute("textContent")
        assert spoken.startswith(f"C1 unit {unit[0]}, {unit[1]}, {unit[2]}: a = ")
    # the right edge of a map leads into the next map, which becomes the layer's tab stop
    ActionChains(browser).send_keys(*[Keys.ARROW_RIGHT] * 27).perform()
    focused = browser.switch_to.active_element
    assert focused.get_attribute("data-map") == "1" and focused.get_attribute("tabindex") == "0"
    assert "unit 1, 1, 0:" in focused.get_attribute("aria-label")


def test_the_answer_is_announced_and_the_label_follows_the_test_image(browser, studio, mnist):
    """The live region says what the page reads; a test image chooses its own label for the
    backward pass; a new drawing chooses none."""
    _, (_, yte) = mnist
    for index in (3, 4):
        show_test_image(browser, index, keyboard=True)  # typed and sent with Enter: no pad
        x = page_input(browser)
        paper = int(np.argmin(studio.studio.nets["paper"].forward(x)[0]))
        modern = find(browser, '[data-testid="prediction-modern"]').text
        said = find(browser, '[data-testid="announce"]')
        assert said.get_attribute("aria-live") == "polite"
        assert said.text == (
            f"test image {index}, label {yte[index]}: the paper's network reads {paper}; "
            f"the modern network reads {modern}."
        )
        WebDriverWait(browser, WAIT).until(
            lambda d, y=yte[index]: f"for label {y}" in find(d, '[data-testid="loss"]').text
        )
        chosen = find(browser, f'[data-testid="label-{yte[index]}"]')
        assert chosen.get_attribute("aria-pressed") == "true"
    draw_one(browser)  # Clear, then a stroke: a drawing, whose label nobody knows
    assert find(browser, '[data-testid="loss"]').text == ""
    assert not browser.find_elements(By.CSS_SELECTOR, '#labels [aria-pressed="true"]')
    assert find(browser, '[data-testid="announce"]').text.startswith("your drawing: ")


def test_the_penalties_hook_holds_the_native_engines_penalties(browser, studio, mnist):
    """The penalties the page shows for test images are the native engine's within float32
    rounding, with the same answer."""
    _, (xte, _) = mnist
    net = studio.studio.nets["paper"]
    for index in (5, 11):
        show_test_image(browser, index)
        shown = json.loads(find(browser, '[data-testid="penalties"]').get_attribute("data-values"))
        native = net.forward(preprocess(xte[index : index + 1]))[0]
        np.testing.assert_allclose(shown, native, rtol=0, atol=1e-5 * float(np.abs(native).max()))
        assert len(shown) == 10 and min(shown) >= 0
        assert find(browser, '[data-testid="prediction"]').text == str(int(np.argmin(native)))


def test_every_test_image_gets_the_native_answer_in_the_page(browser, studio, mnist):
    """The page's module on all 10,000 test images, against the native engine: the same answer
    for each, every penalty within a few units in the last place (float32)."""
    _, (xte, _) = mnist
    browser.set_script_timeout(WAIT)
    out = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        engine.set("test").then((t) => {
            const o = engine.predict("paper", t).out, b = new Uint8Array(o.buffer);
            let s = "";
            for (let i = 0; i < b.length; i += 0x8000)
                s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
            done(btoa(s));
        }).catch((e) => done(String(e)));"""
    )
    page = np.frombuffer(base64.b64decode(out), np.float32).reshape(len(xte), 10)
    native = studio.studio.nets["paper"].forward(preprocess(xte))
    assert np.array_equal(page.argmin(axis=1), native.argmin(axis=1))
    worst = float(np.abs(page - native).max() / np.abs(native).max())
    assert worst <= 1e-5
    spacing = np.spacing(np.abs(native).astype(np.float32))
    ulps = float((np.abs(page - native) / spacing).max())
    print(f"10,000 test images: the same answer on all; largest difference {ulps:.0f} ulp")


def test_f6_and_the_prototypes_share_one_scale_and_the_penalties_start_at_0(browser):
    """An F6 equal to a prototype is drawn with the prototype's very pixels, unsmoothed; the
    output row's darkest cell is the largest penalty, its lightest the smallest; an optional
    rejection threshold shows 'unsure', and without one nothing is said."""
    show_test_image(browser, 6)
    same = browser.execute_script(
        """const r = state.latest.results.paper, p = state.network.paper.prototypes;
        const k = r.nearest[0];
        renderF6({...r, layers: {...r.layers, F6: {...r.layers.F6, states: p[k]}}});
        const [f6, proto] = [...document.querySelectorAll('#f6 canvas')].map((c) =>
            Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data));
        return [f6.join() === proto.join(), new Set(f6).size > 2,
                getComputedStyle(document.querySelector('#f6 canvas')).imageRendering];"""
    )
    assert same == [True, True, "pixelated"]
    output = find(browser, '[data-layer="output"]')
    assert "penalties, colour scale 0 .. " in output.text
    lightness = browser.execute_script(
        """const c = document.querySelector('[data-layer=output] canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, 1).data;
        return [...Array(c.width).keys()].map((i) => d[4 * i] + d[4 * i + 1] + d[4 * i + 2]);"""
    )
    penalties = json.loads(find(browser, '[data-testid="penalties"]').get_attribute("data-values"))
    assert int(np.argmax(lightness)) == int(np.argmin(penalties))
    assert int(np.argmin(lightness)) == int(np.argmax(penalties))
    unsure = find(browser, '[data-testid="unsure"]')
    # the shipped network's own threshold (pretrained.json): test image 6 is read far above it
    shipped_threshold = shipped("paper").rejection.threshold
    assert browser.execute_script("return state.network.paper.threshold") == shipped_threshold
    assert not unsure.is_displayed()
    show_test_image(browser, 247)  # a 4 read as 6, the two smallest penalties 7.81 apart
    assert unsure.is_displayed() and f"less than {shipped_threshold:.2f}" in unsure.text
    for threshold, shown in ((1e9, True), (0, False)):
        browser.execute_script(f"state.network.paper.threshold = {threshold}")
        show_test_image(browser, 6 + shown)
        assert unsure.is_displayed() == shown
        assert ("unsure" in find(browser, '[data-testid="announce"]').text) == shown
    browser.execute_script("delete state.network.paper.threshold")  # and without one: nothing
    show_test_image(browser, 247)
    assert not unsure.is_displayed()
    browser.execute_script(f"state.network.paper.threshold = {shipped_threshold}")


def axe_violations(driver) -> list[str]:
    """axe-core's serious and critical findings on the page as it is, one line each."""
    axe = Axe(driver)
    axe.inject()
    found = axe.run()["violations"]
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_core_finds_no_serious_or_critical_violation(browser, studio):
    """axe-core (axe-selenium-python's copy) on the page after a drawing is read, with a unit
    computed and the gradients shown, then in lecture mode (?lecture=1) with a test image."""
    draw_one(browser)
    find(browser, '[data-testid="label-1"]').click()
    WebDriverWait(browser, WAIT).until(lambda d: "label 1" in find(d, '[data-testid="loss"]').text)
    in_view(browser, find(browser, '[data-layer="C3"] canvas')).click()
    WebDriverWait(browser, WAIT).until(lambda d: find(d, "#unit").get_attribute("data-layer"))
    assert axe_violations(browser) == []
    browser.get(studio.url.rstrip("/") + "/?lecture=1")
    try:
        WebDriverWait(browser, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.ready")
        )
        assert find(browser, '[data-testid="lecture"]').get_attribute("aria-pressed") == "true"
        show_test_image(browser, 8)
        pad = find(browser, '[data-testid="draw"]')
        assert pad.size["width"] >= 400  # the large pad
        assert axe_violations(browser) == []
        find(browser, '[data-testid="lecture"]').click()  # and off again, from the toggle
        assert "lecture" not in browser.current_url and pad.size["width"] < 300
    finally:
        browser.get(studio.url)
        WebDriverWait(browser, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.ready")
        )


def test_the_page_in_korean_and_back_in_english(browser, studio):
    """?lang=ko: the page's words in Korean (its texts, labels, live region and the status
    line), <html lang="ko">, the hooks as they were; then the page without it, in English as
    index.html writes it (this Chromium's language is English)."""
    from test_studio_i18n import texts_in_html

    static = (
        "return [...document.querySelectorAll('[data-i18n]')]"
        ".map(e => [e.dataset.i18n, e.textContent])"
    )
    browser.get(studio.url.rstrip("/") + "/?lang=ko")
    try:
        WebDriverWait(browser, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.ready")
        )
        assert browser.execute_script("return document.documentElement.lang") == "ko"
        assert browser.title == "LeNet-5 스튜디오"
        assert find(browser, "#draw-title").text == "그리기"
        assert find(browser, '[data-testid="train-start"]').text == "시작"
        assert (
            find(browser, '[data-testid="draw"]')
            .get_attribute("aria-label")
            .startswith("그리기 판")
        )
        for key, text in browser.execute_script(static):
            assert re.search("[\uac00-\ud7a3]", text) or key in ("page.title",), (key, text)
        WebDriverWait(browser, WAIT).until(
            lambda d: find(d, '[data-testid="train-status"]').text.startswith("시작 전 (")
        )
        box = find(browser, '[data-testid="test-index"]')
        box.clear()
        box.send_keys("3")
        find(browser, '[data-testid="test-show"]').click()
        WebDriverWait(browser, WAIT).until(
            lambda d: "테스트 이미지 3," in find(d, '[data-testid="announce"]').text
        )
        assert "논문의 네트워크는" in find(browser, '[data-testid="announce"]').text
        assert "레이블" in find(browser, '[data-testid="loss"]').text
        c1 = find(browser, '[data-layer="C1"] canvas').get_attribute("aria-label")
        assert c1.startswith("논문의 네트워크, C1, 맵 6개 중 0번")
    finally:
        browser.get(studio.url)
        WebDriverWait(browser, WAIT).until(
            lambda d: d.execute_script("return document.body.dataset.ready")
        )
    assert browser.execute_script("return document.documentElement.lang") == "en"
    assert browser.title == "LeNet-5 studio"
    english = texts_in_html()
    for key, text in browser.execute_script(static):
        if key != "train.notstarted":  # the status line, which the page writes as it trains
            assert " ".join(text.split()) == english[key], key
    label = find(browser, '[data-testid="draw"]').get_attribute("aria-label")
    assert label == english["draw.pad.label"]
