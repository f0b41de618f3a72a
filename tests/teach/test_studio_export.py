"""The studio with no lenet server: the static site of `lenet studio --export`, served by a plain
`python -m http.server` (a subprocess on 127.0.0.1, always ended), and the notebook output of
`lenet.studio.show()` opened from a file; both in headless Chromium (the helpers of
test_studio_browser.py). The page boots, reads a stroke and a test image as the native engine
does, trains in a Web Worker (in the notebook output too, made from the inline text), and asks
for no /api/ call; "Stop and save" downloads the weights, which `lenet studio --import` makes a
run folder. The export opened from file:// says to serve it. The sizes: the export under 20 MB
(a larger one refused before anything is written), the notebook output under 5 MB; a notebook
cell `lenet.studio.show()` executed by nbclient gives one text/html output.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from selenium.webdriver.support.ui import WebDriverWait
from test_studio_browser import (  # skips this module too without Selenium
    CHROMEDRIVER,
    CHROMIUM,
    WAIT,
    draw_one,
    find,
    page_input,
    show_test_image,
)

import lenet
from lenet import cli
from lenet.engine.inputs import preprocess
from lenet.run.checkpoint import load_checkpoint
from lenet.run.pretrained import pretrained
from lenet.teach.studio import publish

from conftest import HAVE_MNIST, MNIST, MNIST_SKIP_REASON

needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=MNIST_SKIP_REASON)
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
)
pytestmark = needs_mnist


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The default export (10,000 test and 10,000 training images), as the CLI writes it."""
    folder = tmp_path_factory.mktemp("export") / "site"
    assert cli.main(["studio", "--export", str(folder), "--data", str(MNIST)]) == 0
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def static_server(site, tmp_path_factory):
    """`python -m http.server` serving the export; its request log (stderr) in a file."""
    log = tmp_path_factory.mktemp("http") / "requests.log"
    port = free_port()
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=site,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    message = f"python -m http.server did not start: {log.read_text()}"
                    raise RuntimeError(message) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/", log
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1400,1000")
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.downloads = downloads
    try:
        yield browser
    finally:
        browser.quit()


def booted(browser, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, WAIT).until(
        lambda d: d.execute_script("return document.body && document.body.dataset.ready")
    )
    assert find(browser, '[data-testid="error"]').get_attribute("hidden") is not None


def trains_in_a_worker(browser) -> None:
    """Start pressed: the count of patterns trained grows, trained by a Web Worker."""
    find(browser, '[data-testid="train-start"]').click()
    status = lambda d: find(d, '[data-testid="train-status"]')  # noqa: E731
    WebDriverWait(browser, WAIT).until(lambda d: int(status(d).get_attribute("data-seen") or 0) > 0)
    seen = int(status(browser).get_attribute("data-seen"))
    WebDriverWait(browser, WAIT).until(lambda d: int(status(d).get_attribute("data-seen")) > seen)
    assert browser.execute_script("return engine.trainer('paper').worker instanceof Worker")


def reads_a_stroke_and_a_test_image(browser) -> None:
    """A stroke and test image 5: the penalties hook holds the native engine's penalties for
    the page's input within float32 rounding, and the same answer."""
    net = pretrained("paper")
    draw_one(browser)
    for index in (None, 5):
        if index is None:
            native = net.forward(page_input(browser))[0]
        else:
            show_test_image(browser, index)
            _, (xte, _) = lenet.data.load_mnist(MNIST)
            native = net.forward(preprocess(xte[index : index + 1]))[0]
        hook = find(browser, '[data-testid="penalties"]').get_attribute("data-values")
        shown = np.array(json.loads(hook))
        np.testing.assert_allclose(shown, native, rtol=0, atol=1e-5 * float(np.abs(native).max()))
        assert find(browser, '[data-testid="prediction"]').text == str(int(np.argmin(native)))


# ---- the sizes -----------------------------------------------------------------------------------


def test_the_export_is_a_static_site_under_20_mb(site):
    files = {p.name: p.stat().st_size for p in site.iterdir()}
    assert {"index.html", "lenet-core.wasm", "bundle.json", "mnist-test.bin.gz"} <= set(files)
    assert sum(files.values()) < 20e6
    bundle = json.loads((site / "bundle.json").read_text())
    assert bundle["server"] is False
    assert bundle["data"]["test"]["count"] == 10_000 and bundle["data"]["train"]["count"] == 10_000
    assert bundle["networks"]["paper"]["run"]["images"] == 10_000


def test_a_too_large_export_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(publish, "EXPORT_LIMIT", 3_200_000)
    out = tmp_path / "site"
    assert cli.main(["studio", "--export", str(out), "--data", str(MNIST)]) != 0
    assert "over the limit of 3 MB" in capsys.readouterr().err
    assert not out.exists()
    # the same with few training images fits
    assert (
        cli.main(["studio", "--export", str(out), "--data", str(MNIST), "--train-images", "500"])
        == 0
    )
    assert "MB in 12 files" in capsys.readouterr().out


def test_the_notebook_output_is_one_html_document_under_5_mb():
    shown = lenet.studio.show(data=MNIST)
    out = shown._repr_html_()
    assert out.startswith("<iframe srcdoc=") and len(out.encode()) < 5e6
    assert "127.0.0.1" not in shown.html and "http://" not in shown.html.split("<script>")[0]
    assert '<script src="' not in shown.html and 'href="studio.css"' not in shown.html


def test_a_notebook_cell_shows_the_studio_as_html(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("LENET_DATA", str(MNIST.parent))
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("import lenet\nlenet.studio.show()"))
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(cleanup_kc=True)
    outputs = notebook.cells[0].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "execute_result"
    assert outputs[0].data["text/html"].startswith("<iframe srcdoc=")


# ---- in the browser ------------------------------------------------------------------------------


@needs_browser
def test_the_export_works_from_a_plain_static_server(static_server, driver, tmp_path, capsys):
    url, log = static_server
    booted(driver, url)
    reads_a_stroke_and_a_test_image(driver)
    find(driver, '[data-testid="train-start"]').click()
    status = lambda d: find(d, '[data-testid="train-status"]')  # noqa: E731
    trains_in_a_worker(driver)
    # Stop and save, with no server: the weights are downloaded, and made a run folder
    find(driver, '[data-testid="train-stop"]').click()
    WebDriverWait(driver, WAIT).until(lambda d: status(d).get_attribute("data-state") == "stopped")
    assert "no server here" in status(driver).text
    WebDriverWait(driver, WAIT).until(lambda d: list(driver.downloads.glob("lenet-studio-*.json")))
    time.sleep(0.5)  # the download's last bytes
    (download,) = driver.downloads.glob("lenet-studio-paper-*.json")
    assert cli.main(["studio", "--import", str(download), "--out", str(tmp_path / "runs")]) == 0
    (folder,) = (tmp_path / "runs").glob("studio-paper-*")
    shown = driver.execute_script(
        """const b = new Uint8Array(engine.nets.paper.getParameters().buffer); let s = "";
        for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
        return btoa(s);"""
    )
    page = np.frombuffer(base64.b64decode(shown), np.float32)
    np.testing.assert_array_equal(load_checkpoint(folder).parameters.astype(np.float32), page)
    assert cli.main(["evaluate", str(folder), "--data", str(MNIST)]) == 0
    requests = log.read_text()
    assert "GET /bundle.json" in requests and "GET /mnist-train.bin.gz" in requests
    assert "GET /trainer.js" in requests  # the worker's text, fetched beside the page
    assert "/api/" not in requests


@needs_browser
def test_the_notebook_output_works_from_a_file_with_no_server(driver, tmp_path):
    """The output as a notebook shows it (the iframe, in a page of its own) from file://."""
    shown = lenet.studio.show(data=MNIST)
    path = tmp_path / "notebook-output.html"
    path.write_text(f"<!doctype html><html><body>{shown._repr_html_()}</body></html>")
    assert path.stat().st_size < 5e6
    driver.get(path.as_uri())
    driver.switch_to.frame(find(driver, "iframe"))
    try:
        WebDriverWait(driver, WAIT).until(
            lambda d: d.execute_script("return document.body && document.body.dataset.ready")
        )
        assert find(driver, '[data-testid="error"]').get_attribute("hidden") is not None
        reads_a_stroke_and_a_test_image(driver)
        assert "test image 5," in find(driver, '[data-testid="announce"]').text
        trains_in_a_worker(driver)  # made from the inline text: the output has no URL
        find(driver, '[data-testid="train-pause"]').click()
        WebDriverWait(driver, WAIT).until(
            lambda d: (
                find(d, '[data-testid="train-status"]').get_attribute("data-state") == "paused"
            )
        )
    finally:
        driver.switch_to.default_content()


@needs_browser
def test_the_export_opened_from_a_folder_says_to_serve_it(site, driver):
    """A browser fetches nothing beside a page opened from file://: the page says so, and how
    to serve the folder, rather than "Failed to fetch"."""
    driver.get((site / "index.html").as_uri())
    error = find(driver, '[data-testid="error"]')
    WebDriverWait(driver, WAIT).until(lambda d: error.get_attribute("hidden") is None)
    assert "python -m http.server" in error.text and "file://" in error.text


def test_import_refuses_a_file_that_is_not_a_download(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"model": "paper"}))
    with pytest.raises(ValueError, match="not a studio checkpoint"):
        publish.import_checkpoint(bad, tmp_path)
