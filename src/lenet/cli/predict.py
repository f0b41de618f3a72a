"""``lenet predict RUN_OR_MODEL IMAGE...``: a network's answer for digits in files.

RUN_OR_MODEL is a run folder (its ``checkpoint.npz``), a checkpoint file, or the name of a
shipped network (``lenet.run.pretrained``: ``paper``, ``modern``). Each IMAGE is

* a ``.npy`` array of MNIST-like digits: one 28x28 or (N, 28, 28), pixels 0..255 (uint8, or
  whole numbers in that range), ink light on a dark background, taken as they are;
* an image file Pillow reads (PNG, JPEG; the ``lenet[images]`` extra): a 28x28 greyscale image
  with a dark border is an MNIST digit saved as a picture, taken as it is; any other is a
  drawing, made MNIST-like as the studio makes its drawings (``lenet.teach.studio.drawing``:
  the ink's box resampled to 20 pixels and centred by its mass in 28x28, the C core's
  ``lenet_drawing_to_field``). Before that a drawing is read as grey levels (colours by their
  luminance; transparent parts as the paper), turned so that the ink is light whichever way it
  was drawn (the paper's colour is the median of the border), its paper taken to 0 and its
  darkest ink to 255; one larger than the studio's 512 pixels is first shrunk by averaging
  whole blocks of pixels, one narrower than 28 padded with paper.

The digits go through ``Network.predict``'s way, the network's own preprocessing. Each answer
is printed with the ten RBF penalties (the paper's network) or probabilities (softmax), and
marked "unsure" when the network's rejection rule says so: the shipped networks have one
(``lenet.run.pretrained.shipped(...).rejection``), and so does a checkpoint that is one of
their files; for any other no rule is known, and no answer is marked. ``--json`` prints the
same as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine._core import DRAWING_MAX_SIDE as MAX_SIDE  # the largest drawing the core takes
from ..engine.layers import RBFOutput
from ..engine.losses import softmax
from ..engine.network import Network
from ..run.archive import checkpoint_file
from ..run.checkpoint import read_checkpoint
from ..run.pretrained import PRETRAINED, Rejection, shipped
from ..run.rejection import RULES, margin
from .common import MissingExtra

#: MNIST's field (the studio's drawing.FIELD; that module is imported for drawings only)
FIELD = 28

#: the installation that brings Pillow
PILLOW_HINT = "pip install 'lenet[images]' (or pip install Pillow)"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "predict",
        help="a network's answers for digits in image files (PNG, JPEG) or .npy arrays",
        description=(
            "Print a network's answer for each digit, with its RBF penalties or its "
            "probabilities, and 'unsure' where the network's rejection rule says so. Image "
            "files are drawings (any size, dark ink on light paper or light on dark), made "
            "MNIST-like as the studio does; a 28x28 greyscale picture with a dark border and "
            ".npy arrays (28x28 or N x 28 x 28, pixels 0..255) are taken as MNIST digits."
        ),
    )
    parser.add_argument(
        "network",
        metavar="RUN_OR_MODEL",
        help=(
            "a run folder, a checkpoint.npz, or a shipped network: "
            + ", ".join(PRETRAINED)
            + " (a path that exists is read as a path)"
        ),
    )
    parser.add_argument(
        "images", metavar="IMAGE", nargs="+", help="a PNG or JPEG file, or a .npy array"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


@dataclass
class Loaded:
    """A network to answer with: where it came from and its rejection rule, if one is known."""

    net: Network
    source: str
    rejection: Rejection | None


def load_network(name: str) -> Loaded:
    """RUN_OR_MODEL: a path that exists (a run folder or a checkpoint), else a shipped name."""
    path = Path(name).expanduser()
    if path.exists():
        net = read_checkpoint(path)["net"]
        found = checkpoint_file(path).resolve()
        for model in PRETRAINED:  # a shipped file, given by its path: its rule holds
            record = shipped(model)
            if record.path.resolve() == found:
                return Loaded(net, f"{name} (the shipped {model!r} network)", record.rejection)
        return Loaded(net, name, None)
    if name in PRETRAINED:
        record = shipped(name)
        net = read_checkpoint(record.path)["net"]
        return Loaded(net, f"{name!r}, {record.describe()}", record.rejection)
    raise ValueError(
        f"{name}: no such run folder or checkpoint, nor a shipped network (those are "
        f"{', '.join(map(repr, PRETRAINED))})"
    )


# ---- reading the images -------------------------------------------------------------------------


def read_images(file: str) -> list[tuple[str, int | None, np.ndarray]]:
    """The digits in one IMAGE argument (see the module's docstring), each as (file, its index
    in a stack of digits or None, 28x28 uint8); a ValueError naming the file when it is
    missing or cannot be read as one."""
    path = Path(file).expanduser()
    if not path.is_file():
        raise ValueError(f"{file}: no such file" if not path.exists() else f"{file}: not a file")
    if path.suffix.lower() != ".npy":
        return [(file, None, _picture_digit(path, file))]
    digits = _npy_digits(path, file)
    if digits.ndim == 2:
        return [(file, None, digits)]
    return [(file, i, digit) for i, digit in enumerate(digits)]


def _npy_digits(path: Path, file: str) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{file}: not a .npy array of digits ({exc})") from None
    if arr.ndim not in (2, 3) or arr.shape[-2:] != (FIELD, FIELD):
        raise ValueError(
            f"{file}: a .npy array must hold one {FIELD}x{FIELD} digit or (N, {FIELD}, "
            f"{FIELD}) digits, got shape {arr.shape}"
        )
    if arr.dtype != np.uint8:
        whole = arr.dtype.kind in "iu" and (arr.size == 0 or (arr.min() >= 0 and arr.max() <= 255))
        if not whole:
            raise ValueError(
                f"{file}: a .npy array must hold pixels 0..255 (uint8), got dtype {arr.dtype}"
            )
        arr = arr.astype(np.uint8)
    return arr


def _pillow() -> Any:
    try:
        from PIL import Image  # optional: the lenet[images] extra
    except ImportError:
        raise MissingExtra(
            f"reading PNG or JPEG files needs Pillow: {PILLOW_HINT}; .npy arrays need nothing more"
        ) from None
    return Image


def _picture_digit(path: Path, file: str) -> np.ndarray:
    """One image file as a 28x28 uint8 digit: an MNIST digit as it is, or a drawing made
    MNIST-like by the studio's steps."""
    pil = _pillow()
    try:
        with pil.open(path) as image:
            image.load()
            grey, single = _grey(pil, image)
    except (OSError, ValueError, pil.DecompressionBombError) as exc:
        raise ValueError(
            f"{file}: not an image Pillow can read, nor a .npy array ({exc})"
        ) from None
    if single and grey.shape == (FIELD, FIELD) and np.median(_border(grey)) < 32:
        return grey  # an MNIST digit saved as a picture: light ink on black
    return _drawing_to_digit(grey, file)


def _border(pixels: np.ndarray) -> np.ndarray:
    return np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])


def _grey(pil: Any, image: Any) -> tuple[np.ndarray, bool]:
    """(grey levels 0..255 as uint8 (rows, cols), whether the file had one channel): colours
    by their luminance, transparent parts as the paper (white under dark ink, black under
    light ink), a drawing larger than MAX_SIDE shrunk by averaging whole blocks of pixels."""
    alpha = None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        alpha = np.asarray(image.getchannel("A"), dtype=np.float64) / 255
        single = False
    else:
        single = image.mode in ("1", "L", "I", "I;16", "F")
    if image.mode in ("I", "I;16", "F"):  # 16-bit or float greys: scaled to 0..255
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) if values.size else 0.0
        values = values * (255 / top) if top > 255 else values
        image = pil.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    grey = image.convert("L")
    factor = math.ceil(max(grey.size) / MAX_SIDE)
    if factor > 1:
        grey = grey.reduce(factor)
        if alpha is not None:
            alpha = np.asarray(image.getchannel("A").reduce(factor), dtype=np.float64) / 255
    levels = np.asarray(grey, dtype=np.float64)
    if alpha is not None and alpha.min() < 1:
        seen = alpha > 0.5
        dark_ink = not seen.any() or levels[seen].mean() < 128
        levels = alpha * levels + (1 - alpha) * (255.0 if dark_ink else 0.0)
    return np.clip(np.rint(levels), 0, 255).astype(np.uint8), single


def _drawing_to_digit(grey: np.ndarray, file: str) -> np.ndarray:
    """A drawing's grey levels made the studio's drawing (light ink 255 on paper 0), then
    MNIST-like by the studio's steps: its 28x28 field."""
    from ..teach.studio.drawing import DrawingError, normalise  # start-up: for drawings only

    paper = float(np.median(_border(grey)))
    ink = grey.astype(np.float64)
    if paper > 127:  # dark ink on light paper
        ink, paper = 255 - ink, 255 - paper
    top = float(ink.max())
    if top - paper < 16:
        raise ValueError(f"{file}: no ink is seen on the drawing (its greys lie within 16 levels)")
    ink = np.clip(np.rint((ink - paper) * 255 / (top - paper)), 0, 255)
    rows, cols = ink.shape
    pad_rows, pad_cols = max(0, FIELD - rows), max(0, FIELD - cols)
    ink = np.pad(
        ink, ((pad_rows // 2, pad_rows - pad_rows // 2), (pad_cols // 2, pad_cols - pad_cols // 2))
    )
    try:
        return normalise(ink)["centred"]
    except DrawingError as exc:
        raise ValueError(f"{file}: {exc}") from None


# ---- the answers --------------------------------------------------------------------------------


def answers(loaded: Loaded, named: list[tuple[str, int | None, np.ndarray]]) -> dict[str, Any]:
    """What the command prints: the network, its rule, and per digit its answer, its penalties or
    probabilities and whether it is unsure (None when no rule is known)."""
    net, rejection = loaded.net, loaded.rejection
    digits = np.stack([digit for _, _, digit in named]) if named else np.zeros((0, FIELD, FIELD))
    out = net.infer(net.prepare(digits.astype(np.uint8))).astype(np.float64)
    rbf = isinstance(net.layers[-1], RBFOutput)
    scores = out if rbf else softmax(out)
    classes = net.classify(out)
    margins: np.ndarray | None = None
    unsure: np.ndarray | None = None
    if rejection is not None:  # the rule's margins, and below its threshold: unsure
        margins = margin(out, rejection.rule)
        unsure = margins < rejection.threshold
    rule = None
    if rejection is not None:
        rule = {
            "rule": rejection.rule,
            "threshold": rejection.threshold,
            "means": RULES[rejection.rule],
        }
    images = []
    for i, (file, index, _) in enumerate(named):
        images.append(
            {
                "file": file,
                "index": index,
                "answer": int(classes[i]),
                ("penalties" if rbf else "probabilities"): [float(v) for v in scores[i]],
                "margin": float(margins[i]) if margins is not None else None,
                "unsure": bool(unsure[i]) if unsure is not None else None,
            }
        )
    return {
        "network": loaded.source,
        "preprocessing": net.preprocessing,
        "output": "penalties" if rbf else "probabilities",
        "rejection": rule,
        "images": images,
    }


def text(result: dict[str, Any]) -> str:
    """The answers as lines of text: a header, then two lines per digit."""
    rule = result["rejection"]
    lines = [f"network: {result['network']}; preprocessing {result['preprocessing']!r}"]
    if rule is None:
        lines.append(
            "unsure: no rejection rule is known for this network (the shipped ones have one), "
            "so no answer is marked unsure"
        )
    else:
        lines.append(f"unsure: when {rule['means']} is below {rule['threshold']:g}")
    kind = result["output"]
    for image in result["images"]:
        name = image["file"] if image["index"] is None else f"{image['file']}[{image['index']}]"
        mark = "  (unsure)" if image["unsure"] else ""
        lines.append(f"{name}: {image['answer']}{mark}")
        values = image[kind]
        shown = (
            f"{c}: {v:.2f}" if kind == "penalties" else f"{c}: {v:.3f}"
            for c, v in enumerate(values)
        )
        lines.append(f"  {kind}  " + "  ".join(shown))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    loaded = load_network(args.network)
    named: list[tuple[str, int | None, np.ndarray]] = []
    for file in args.images:  # every file read before any answer: a bad one stops them all
        named.extend(read_images(file))
    result = answers(loaded, named)
    print(json.dumps(result, indent=2) if args.json else text(result))
    return 0
