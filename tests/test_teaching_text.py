"""What the teaching text states about the default recipe is what the recipe holds, so that the
two cannot drift apart again.

The text is the README, docs/, the exercises' pages and the notebooks' markdown cells. Where it
states a number of the default recipe (its start, SDLM's mu, the distortion ranges and the
share of them ``--distort`` uses), the number is parsed from the page and compared with
``lenet.RECIPES["paper"]``, ``lenet.paper`` and ``lenet.data.distortions``; the statistics of
the preprocessed input are compared with MNIST itself. The notebooks print the recipe's
values instead of stating them (see 01 and 07); their markdown is swept all the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lenet import paper
from lenet.data import load_mnist
from lenet.data.distortions import DISTORTION_RANGES
from lenet.engine import inputs
from lenet.engine.layers import DEFAULT_INIT, INIT_RANGES, INITIALISATIONS, lecun_limit
from lenet.run.recipes import RECIPES, Recipe

from conftest import MNIST, needs_mnist

ROOT = Path(__file__).resolve().parents[1]
RECIPE = RECIPES["paper"]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted((ROOT / "src" / "lenet" / "teach" / "exercises").glob("*.md")),
]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))

#: a range as the text writes it, after normal(): ±2.4/F_i, ±1/sqrt(F_i)
RANGE = re.compile(r"±(\d+(?:\.\d+)?)/(sqrt\(F_i\)|F_i)")
#: words that make a sentence speak of the default recipe, or of the network it starts
DEFAULT = re.compile(
    r"default|`lenet train`|lenet train |paper(?:'s)? recipe|RECIPES\[\"paper\"\]|LeNet5\(\)"
    r"|LeNet5\(seed=0\)|depart|weights (?:and biases )?start"
)
#: words that make it speak of an earlier default instead
HISTORY = re.compile(r"\b(?:before|until|earlier|was)\b")
#: what the text must no longer say (each was wrong, issue 27)
WRONG = {
    "exactly as LeCun": "the default recipe departs from the paper's text",
    "variance near 1": "the preprocessed input's variance is 0.12 on MNIST",
    "draws the digit it sees": "F6 is pulled towards its class's prototype",
    "therefore lie in": "the bound follows from tanh's, not from the sentence before",
    "keeps the training targets away from saturation": "the targets' place in f's range does",
}


def normal(text: str) -> str:
    """The text without code blocks, ranges written one way (+-, ±, LaTeX's \\pm and \\sqrt),
    one space between words."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = text.replace("+-", "±").replace("\\pm", "±").replace("$", "")
    text = re.sub(r"\\sqrt\{([^}]*)\}", r"sqrt(\1)", text)
    text = re.sub(r"±\s+", "±", text)
    return " ".join(text.split())


def texts() -> list[tuple[str, str]]:
    """(where, text) for every page and every notebook's markdown."""
    found = [(str(p.relative_to(ROOT)), p.read_text()) for p in PAGES]
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
        found.append((str(path.relative_to(ROOT)), "\n\n".join(markdown)))
    return found


def sentences(text: str) -> list[str]:
    """The text's sentences, each paragraph, table row and heading split on its own first."""
    text = re.sub(r"```.*?```", "\n\n", text, flags=re.S)
    units = [u for block in re.split(r"\n\s*\n", text) for u in _rows(block)]
    split = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\[])")
    return [s for unit in units for s in split.split(normal(unit)) if s]


def _rows(block: str) -> list[str]:
    """A table row, heading or list item starts a unit; other lines continue the one before."""
    items: list[str] = []
    for line in block.splitlines():
        if re.match(r"\s*(?:[|#]|[-*] |\d+\. )", line) or not items:
            items.append(line)
        else:
            items[-1] += " " + line
    return items


def _written(scheme: str) -> str:
    return normal(INIT_RANGES[scheme])


def test_each_range_written_is_the_range_drawn():
    assert set(INIT_RANGES) == set(INITIALISATIONS)
    for scheme in ("lecun98", "lecun98-sqrt", "eblearn"):
        numerator, denominator = RANGE.fullmatch(_written(scheme)).groups()
        for fan_in in (4, 25, 150):
            limit = float(numerator) / (np.sqrt(fan_in) if "sqrt" in denominator else fan_in)
            assert limit == pytest.approx(lecun_limit(fan_in, scheme), rel=1e-12), scheme
    assert RECIPE.init == DEFAULT_INIT == Recipe().init
    assert RECIPES["literal"].init == "lecun98" and RECIPES["literal"].mu == paper.MU


def test_the_front_pages_state_the_departures():
    """The README's and the docs index's first paragraph of prose names each setting where the
    default recipe departs from the paper's text, with both values."""
    literal = RECIPES["literal"]
    departures = [k for k, v in RECIPE.config().items() if literal.config().get(k) != v]
    assert sorted(departures) == ["init", "mu"], "a new departure: state it on the front pages"
    numbers = {2: "two", 3: "three"}
    for page in (ROOT / "README.md", ROOT / "docs" / "index.md"):
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        first = next(p for p in re.split(r"\n\s*\n", text) if p.startswith("**lenet**"))
        first = normal(first)
        assert f"uniform in {_written(RECIPE.init)} rather than Appendix A's " in first, page
        assert f"{_written(literal.init)}" in first, page
        assert f"mu is {RECIPE.mu:g} rather than {paper.MU:g}" in first, page
        assert f"in {numbers[len(departures)]} places" in first, page
    readme = normal((ROOT / "README.md").read_text())
    assert f"one pattern per update, {RECIPE.passes} passes" in readme
    assert RECIPE.batch_size == 1 and RECIPE.optimizer == "sdlm" and RECIPE.loss == "penalty"


@pytest.mark.parametrize("where, text", texts(), ids=[w for w, _ in texts()])
def test_what_the_text_says_of_the_default_start_and_mu(where, text):
    """A sentence that speaks of the default recipe (and not of an earlier one) and writes a
    start names the recipe's start; one that gives mu a value gives the recipe's."""
    for sentence in sentences(text):
        if not DEFAULT.search(sentence) or HISTORY.search(sentence):
            continue
        if RANGE.search(sentence):
            assert _written(RECIPE.init) in sentence, f"{where}: {sentence}"
        for value in re.findall(r"\bmu\b(?: is| =| of|,)? (\d+(?:\.\d+)?)\b", sentence):
            if float(value) != paper.MU:  # the paper's, named beside the recipe's
                assert float(value) == RECIPE.mu, f"{where}: {sentence}"


def test_the_distortion_ranges_stated_are_the_code_s():
    """Every page that gives a distortion range gives DISTORTION_RANGES', and the share of them
    that `--distort` uses is the recipe's distort_strength."""
    patterns = {
        "max_shift": r"shifts? up to ±?(\d+(?:\.\d+)?) pixels",
        "max_scale": r"scale (?:and squeeze )?1 ±(\d+\.\d+)",
        "max_squeeze": r"(?:and squeeze|q in) 1 ±(\d+\.\d+)",
        "max_shear": r"shear ±(\d+\.\d+)",
    }
    found = {name: 0 for name in patterns}
    for where, text in texts():
        text = normal(text)
        for name, pattern in patterns.items():
            for value in re.findall(pattern, text):
                assert float(value) == DISTORTION_RANGES[name], f"{where}: {name} {value}"
                found[name] += 1
    assert all(found.values()), found
    shares = {"half": 0.5, "a quarter": 0.25}
    stated = [
        (where, sentence, share)
        for where, text in texts()
        for sentence in sentences(text)
        if "`--distort`" in sentence and not HISTORY.search(sentence)
        for share in re.findall(r"\b(half|a quarter)(?: of)? (?:our|the|them)\b", sentence)
    ]
    assert len(stated) >= 3, stated
    for where, sentence, share in stated:
        assert shares[share] == RECIPE.distort_strength, f"{where}: {sentence}"


@needs_mnist
def test_the_input_statistics_stated_are_mnist_s():
    """Where the text gives the preprocessed input's mean, standard deviation or variance, they
    are MNIST's training set's, to the digits given."""
    (images, _), _ = load_mnist(root=MNIST, download=False)
    x = inputs.preprocess(images).astype(np.float64)
    measured = {"mean": x.mean(), "standard deviation": x.std(), "variance": x.var()}
    places = [*texts(), ("lenet.engine.inputs.preprocess", inputs.preprocess.__doc__ or "")]
    seen = 0
    for where, text in places:
        for sentence in sentences(text):
            if "1.175" not in sentence and "MNIST" not in sentence:
                continue
            for what, value in re.findall(
                r"(mean|standard deviation|variance) (?:is |of |a variance of )?(\d\.\d+)",
                sentence,
            ):
                half_digit = 0.5 * 10.0 ** -len(value.split(".")[1])
                assert abs(measured[what] - float(value)) <= half_digit, f"{where}: {sentence}"
                seen += 1
    assert seen >= 4


def test_what_was_wrong_is_said_no_more():
    for where, text in texts():
        text = normal(text)
        for phrase, why in WRONG.items():
            assert phrase not in text, f"{where} says {phrase!r}: {why}"


def test_the_squashing_page_s_reasons_hold():
    """squash.md: f is bounded by A (tanh by 1), f(+-1) = +-1, |f''| peaks near a = +-1, and the
    targets +-1 lie inside (-A, A)."""
    a, s = paper.SQUASH_A, paper.SQUASH_S
    grid = np.linspace(0.0, 4.0, 400_001)
    second = -2 * a * s**2 * np.tanh(s * grid) / np.cosh(s * grid) ** 2
    peak = grid[np.argmax(np.abs(second))]
    assert abs(peak - 1.0) < 0.02 and abs(a * np.tanh(s) - 1.0) < 1e-4
    assert np.all(np.abs(a * np.tanh(s * np.linspace(-50, 50, 1001))) <= a)
    assert set(np.unique(paper.rbf_prototypes())) == {-1.0, 1.0} and 1.0 < a
    page = normal((ROOT / "src" / "lenet" / "teach" / "exercises" / "squash.md").read_text())
    for claim in ("f lies between -A and A", "f(1) = 1", "largest in magnitude near a = ±1"):
        assert claim in page
