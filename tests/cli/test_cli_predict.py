"""``lenet predict``: drawings made by hand with Pillow (dark on light, light on dark, colour,
transparent), MNIST digits in .npy arrays (the answers of ``Network.predict``), and bad input
refused with a message and exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import lenet
from lenet.cli import main
from lenet.run.pretrained import shipped

from conftest import MNIST, needs_mnist

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")
ImageOps = pytest.importorskip("PIL.ImageOps")

#: thick strokes of a 1 and a 7 on a 200x200 page, as (x, y) points
STROKES = {1: [(100, 30), (100, 170)], 7: [(50, 40), (150, 40), (90, 170)]}


def _drawing(digit, mode="RGB", size=(200, 200), width=18):
    """A digit drawn with a thick black pen on white paper."""
    image = Image.new(mode, size, "white")
    scale = min(size) / 200
    points = [(x * scale + (size[0] - min(size)) / 2, y * scale) for x, y in STROKES[digit]]
    ImageDraw.Draw(image).line(points, fill="black", width=round(width * scale), joint="curve")
    return image


def _predict(capsys, *args):
    code = main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys, *args):
    code, out, err = _predict(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_hand_drawn_pngs_are_read(tmp_path, capsys, model):
    files = {}
    for digit in STROKES:
        image = _drawing(digit)
        files[f"{digit}.png"] = image
        files[f"{digit}-inverted.png"] = ImageOps.invert(image)  # light ink on dark paper
        files[f"{digit}-grey.jpg"] = image.convert("L")  # greys, as a JPEG
    for name, image in files.items():
        image.save(tmp_path / name)
    result = _json(capsys, model, *(tmp_path / name for name in files))
    answers = {image["file"].rsplit("/", 1)[1]: image["answer"] for image in result["images"]}
    assert answers == {name: int(name[0]) for name in files}
    assert result["preprocessing"] == shipped(model).recipe.preprocessing
    by_name = {image["file"].rsplit("/", 1)[1]: image for image in result["images"]}
    kind = "penalties" if model == "paper" else "probabilities"
    assert result["output"] == kind
    for digit in STROKES:  # the same drawing either way round: the same digit, the same bits
        assert by_name[f"{digit}.png"][kind] == by_name[f"{digit}-inverted.png"][kind]
        assert by_name[f"{digit}.png"]["unsure"] is False  # a clear digit, by the shipped rule
    if model == "modern":
        assert all(abs(sum(image[kind]) - 1) < 1e-9 for image in result["images"])


def test_the_text_names_each_answer_its_scores_and_the_rule(tmp_path, capsys):
    _drawing(7).save(tmp_path / "seven.png")
    code, out, err = _predict(capsys, "paper", tmp_path / "seven.png")
    assert code == 0 and err == ""
    lines = out.splitlines()
    rule = shipped("paper").rejection
    assert lines[0].startswith("network: 'paper', shipped, trained by `lenet train")
    assert lines[1] == (
        f"unsure: when the second smallest RBF penalty minus the smallest is below "
        f"{rule.threshold:g}"
    )
    assert lines[2] == f"{tmp_path / 'seven.png'}: 7"
    assert lines[3].split()[0] == "penalties" and len(lines[3].split()) == 21


def test_a_drawing_between_digits_is_marked_unsure(tmp_path, capsys):
    """A circle crossed by a bar (a theta, between a 0 and an 8): the paper network's penalties
    for 8 and 0 lie close (a gap near 5 where the shipped rule asks for about 30), so it is
    marked unsure, in text and in JSON; a clear 7 beside it is not."""
    image = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse([40, 40, 160, 160], outline=0, width=16)
    draw.line([(40, 100), (160, 100)], fill=0, width=16)
    image.save(tmp_path / "theta.png")
    _drawing(7).save(tmp_path / "seven.png")
    result = _json(capsys, "paper", tmp_path / "theta.png", tmp_path / "seven.png")
    theta, seven = result["images"]
    threshold = result["rejection"]["threshold"]
    assert theta["margin"] < threshold and theta["unsure"] is True
    assert seven["margin"] >= threshold and seven["unsure"] is False
    code, out, _ = _predict(capsys, "paper", tmp_path / "theta.png", tmp_path / "seven.png")
    lines = out.splitlines()
    assert lines[2].endswith("(unsure)") and not lines[4].endswith("(unsure)")


def test_colour_transparent_and_large_drawings(tmp_path, capsys):
    blue = Image.new("RGBA", (700, 600), (0, 0, 0, 0))  # blue ink on nothing, wider than 512
    ImageDraw.Draw(blue).line([(350, 80), (350, 520)], fill=(0, 0, 255, 255), width=50)
    blue.save(tmp_path / "one-transparent.png")
    white = Image.new("LA", (300, 300), (0, 0))  # white ink on nothing
    ImageDraw.Draw(white).line([(80, 60), (220, 60), (130, 250)], fill=(255, 255), width=26)
    white.save(tmp_path / "seven-transparent.png")
    small = _drawing(7, size=(24, 20), width=20)  # smaller than MNIST's 28x28 field
    small.save(tmp_path / "seven-small.png")
    result = _json(
        capsys,
        "paper",
        *(
            tmp_path / n
            for n in ("one-transparent.png", "seven-transparent.png", "seven-small.png")
        ),
    )
    assert [image["answer"] for image in result["images"]] == [1, 7, 7]


@needs_mnist
@pytest.mark.parametrize("model", ["paper", "modern"])
def test_npy_digits_get_the_answers_of_network_predict(tmp_path, capsys, model):
    _, (x_test, _) = lenet.data.load_mnist(root=MNIST, download=False)
    digits = x_test[:40]
    np.save(tmp_path / "digits.npy", digits)
    np.save(tmp_path / "one.npy", digits[3])
    np.save(tmp_path / "wide.npy", digits[:5].astype(np.int64))  # whole numbers 0..255
    Image.fromarray(digits[7]).save(tmp_path / "mnist7.png")  # a digit saved as a picture
    result = _json(
        capsys, model, *(tmp_path / n for n in ("digits.npy", "one.npy", "wide.npy", "mnist7.png"))
    )
    net = lenet.pretrained(model)
    expected = net.predict(digits).tolist()
    answers = [image["answer"] for image in result["images"]]
    assert answers == expected + [expected[3]] + expected[:5] + [expected[7]]
    indices = [image["index"] for image in result["images"]]
    assert indices == list(range(40)) + [None] + list(range(5)) + [None]
    kind = result["output"]
    scores = np.array([image[kind] for image in result["images"][:40]])
    if model == "paper":
        assert np.array_equal(scores, net.infer(lenet.preprocess(digits)).astype(np.float64))
    else:
        assert np.array_equal(scores, net.predict_proba(digits))


def test_a_run_or_checkpoint_is_read_and_its_rule_said(tmp_path, capsys):
    _drawing(1).save(tmp_path / "one.png")
    # the shipped file given by its path: its rule holds
    result = _json(capsys, shipped("modern").path, tmp_path / "one.png")
    assert result["rejection"]["rule"] == "logit-gap"
    # a copy in a run folder is a network like any other: no rule is known
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(shipped("paper").path, run / "checkpoint.npz")
    result = _json(capsys, run, tmp_path / "one.png")
    assert result["rejection"] is None and result["images"][0]["unsure"] is None
    assert result["images"][0]["answer"] == 1
    code, out, _ = _predict(capsys, run / "checkpoint.npz", tmp_path / "one.png")
    assert code == 0 and "no rejection rule is known for this network" in out


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.png", "missing.png: no such file"),
        (
            lambda d: (d / "text.png").write_text("not a picture") and d / "text.png",
            "text.png: not an image",
        ),
        (
            lambda d: np.save(d / "wide.npy", np.zeros((3, 30, 30), np.uint8)) or d / "wide.npy",
            r"wide.npy: a .npy array must hold one 28x28 digit.*got shape \(3, 30, 30\)",
        ),
        (
            lambda d: np.save(d / "floats.npy", np.zeros((28, 28))) or d / "floats.npy",
            r"floats.npy: .*pixels 0..255 \(uint8\), got dtype float64",
        ),
        (
            lambda d: (d / "broken.npy").write_bytes(b"\x93NUMPY garbage") and d / "broken.npy",
            "broken.npy: not a .npy array",
        ),
        (
            lambda d: Image.new("L", (60, 60), 255).save(d / "blank.png") or d / "blank.png",
            "blank.png: no ink",
        ),
    ],
    ids=["missing", "not-an-image", "wrong-shape", "floats", "broken-npy", "blank"],
)
def test_bad_input_says_what_is_wrong_with_exit_code_2(tmp_path, capsys, make, words):
    path = make(tmp_path)
    code, out, err = _predict(capsys, "paper", path)
    assert code == 2 and out == ""
    assert err.startswith("lenet predict: error: ")
    assert re.search(words, err), err


def test_bad_input_gives_no_traceback_from_the_command_line(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for args in (["paper", str(tmp_path / "missing.png")], ["no-such-network", str(tmp_path)]):
        done = subprocess.run(
            [sys.executable, "-m", "lenet.cli", "predict", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 2
        assert "Traceback" not in done.stderr and done.stderr.startswith("lenet predict: error:")
    assert "no such run folder or checkpoint, nor a shipped network" in done.stderr


def test_without_pillow_the_message_says_what_to_install(tmp_path, capsys, monkeypatch):
    _drawing(1).save(tmp_path / "one.png")
    np.save(tmp_path / "one.npy", np.zeros((28, 28), np.uint8))
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL fails, as when not installed
    code, _, err = _predict(capsys, "paper", tmp_path / "one.png")
    assert code == 2 and "needs Pillow" in err and "pip install 'lenet[images]'" in err
    code, out, _ = _predict(capsys, "paper", tmp_path / "one.npy")  # .npy needs nothing more
    assert code == 0 and "one.npy: " in out
