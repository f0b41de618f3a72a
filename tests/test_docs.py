"""The documentation runs: every code block in docs/ is executed, so the docs cannot rot.

For each page, in a fresh temporary folder with ``LENET_DATA`` pointing at the datasets beside
the project, the blocks run in order, sharing one namespace per page:

* ``python`` blocks are executed as written;
* ``bash`` blocks run line by line: ``lenet ...`` commands through the CLI (each must exit 0),
  except full training runs (``lenet train`` without ``--limit``, minutes long), whose command
  lines are parsed by the CLI's parser so that a misspelt option still fails; ``pip install``
  lines must name extras that pyproject.toml defines (the suite runs after the install);
  ``jupyter lab PATH`` lines must name a path of the project; ``python FILE`` and
  ``bash FILE`` lines (benchmarks, fuzzing and sanitizer runs of minutes)
  must name a file of the project; ``export`` sets the variable (except LENET_DATA, which
  stays on the test data);
* other blocks (``text``, ``c``) are output or excerpts, not run.

Relative links must point at files that exist.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conftest import DATASETS, HAVE_MNIST, MNIST_SKIP_REASON

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: the exercises' pages, which ship inside the package and are part of the docs
EXERCISE_PAGES = ROOT / "src" / "lenet" / "teach" / "exercises"
PAGES = sorted(DOCS.rglob("*.md")) + sorted(EXERCISE_PAGES.glob("*.md"))
PAGE_IDS = [str(p.relative_to(ROOT)) for p in PAGES]
BLOCK = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
NEEDS_DATA = (
    "load_mnist",
    "lenet train",
    "lenet inspect",
    "lenet figures",
    "lenet evaluate",
    "load_data",
)


def _blocks(page: Path) -> list[tuple[str, str]]:
    return [(lang or "", code) for lang, code in BLOCK.findall(page.read_text())]


def _extras() -> set[str]:
    """The names of pyproject.toml's optional-dependencies (read without a TOML parser, which
    Python 3.10 lacks)."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+)\s*=", section, re.M))


def _shell_lines(code: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blanks dropped, and
    `a && b` split into its commands."""
    joined = re.sub(r"\\\n\s*", " ", code)
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        command: list[str] = []
        for word in words + ["&&"]:
            if word == "&&":
                if command:
                    commands.append(command)
                command = []
            else:
                command.append(word)
    return [shlex.join(c) for c in commands]


def _run_shell(command: str, monkeypatch) -> None:
    from lenet.cli import build_parser, main

    words = shlex.split(command)
    while "=" in words[0] and words[0].split("=")[0].isidentifier():  # VAR=value command
        name, _, value = words.pop(0).partition("=")
        if name != "LENET_DATA":
            monkeypatch.setenv(name, value)
    head, args = words[0], words[1:]
    if head == "lenet":
        if args[:1] == ["train"] and "--limit" not in args:
            build_parser().parse_args(args)  # exits (fails the test) on an unknown option
            return
        code = main(args)
        assert code == 0, f"`{command}` exited with {code}"
    elif head == "pip":
        assert args[:1] == ["install"], f"unexpected pip command `{command}`"
        for target in args[1:]:
            if target.startswith("-"):
                continue
            extras = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", target)
            assert extras, f"`{command}`: docs install the project itself (., .[extra])"
            for extra in filter(None, (extras.group(1) or "").split(",")):
                assert extra in _extras(), f"`{command}`: no extra {extra!r} in pyproject.toml"
    elif head == "python":
        if args[:2] == ["-m", "pytest"]:
            return  # this suite
        assert (ROOT / args[0]).is_file(), f"`{command}`: no file {args[0]} in the project"
    elif head == "bash":
        assert (ROOT / args[0]).is_file(), f"`{command}`: no script {args[0]} in the project"
    elif head == "jupyter":  # starts a server: only its command and the folder it opens
        assert args[:1] in (["lab"], ["notebook"]), f"unexpected jupyter command `{command}`"
        for target in args[1:]:
            assert (ROOT / target).exists(), f"`{command}`: no {target} in the project"
    elif head == "export":
        name, _, value = args[0].partition("=")
        if name != "LENET_DATA":
            monkeypatch.setenv(name, value)
    else:
        raise AssertionError(f"`{command}`: the docs test does not know how to run {head!r}")


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_code_blocks_run(page, tmp_path, monkeypatch, capsys):
    blocks = _blocks(page)
    text = page.read_text()
    if any(word in text for word in NEEDS_DATA) and not HAVE_MNIST:
        pytest.skip(MNIST_SKIP_REASON)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LENET_DATA", str(DATASETS))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    for number, (lang, code) in enumerate(blocks, 1):
        where = f"{page.relative_to(ROOT)}, block {number}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)
        elif lang in ("bash", "sh", "console", "shell"):
            for command in _shell_lines(code):
                _run_shell(command, monkeypatch)
    capsys.readouterr()


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_relative_links_point_at_files(page):
    for target in LINK.findall(page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}"


def test_docs_index_gives_the_readme_commands():
    """The two commands a newcomer types, the same on the front page and in the docs."""
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    index = (DOCS / "index.md").read_text()
    for command in commands:
        assert command in index, f"docs/index.md does not give `{command}`"


def test_every_page_is_reachable_from_the_index():
    index = DOCS / "index.md"
    seen, todo = {index}, [index]
    while todo:
        page = todo.pop()
        for target in LINK.findall(page.read_text()):
            path = (page.parent / target).resolve()
            inside = DOCS in path.parents or EXERCISE_PAGES in path.parents
            if path.suffix == ".md" and path.is_file() and inside and path not in seen:
                seen.add(path)
                todo.append(path)
    missing = [str(p.relative_to(ROOT)) for p in PAGES if p.resolve() not in seen]
    assert not missing, f"pages no link from docs/index.md leads to: {missing}"


def test_one_notation_for_rows_columns_and_kernel_offsets():
    """explain(), the tutorial, the exercises and lenet.h write a convolution the same way:
    a[n,o,r,c] from weight[o,i,ky,kx] and the input at [n,i,r+ky,c+kx]; nowhere y, x for a
    unit's row and column (y is the layer's states) nor p, q for the kernel offsets."""
    import lenet

    def squeezed(text: str) -> str:
        return "".join(text.split())

    places = {
        "lenet.h": (ROOT / "csrc" / "lenet.h").read_text(),
        "Convolution.formula()": lenet.LeNet5().C3.formula(),
        "c3_forward.md": (EXERCISE_PAGES / "c3_forward.md").read_text(),
        "tutorial.md": (DOCS / "tutorial.md").read_text() + lenet.LeNet5().explain(),
    }
    for where, text in places.items():
        text = squeezed(text)
        assert "weight[o,i,ky,kx]" in text, where
        assert "[n,i,r+ky" in text, where
    for path in [
        *PAGES,
        ROOT / "csrc" / "lenet.h",
        *sorted((ROOT / "src" / "lenet").rglob("*.py")),
    ]:
        text = squeezed(path.read_text())
        for old in ("[n,o,y,x]", "[n,c,y,x]", "weight[o,i,p,q]", "y+ky", "sum_n,y,x"):
            assert old not in text, f"{path.relative_to(ROOT)} writes {old}"


def test_every_picture_says_which_run_and_command_made_it():
    """Each PNG in docs/images is shown in the docs, and the line after each place that shows
    it says which command and which run made it (for the studio's screenshot: which test; for
    a study's figure: which script of benchmarks/)."""
    images = sorted((DOCS / "images").glob("*.png"))
    assert images
    shown: dict[str, int] = {}
    for page in PAGES:
        lines = page.read_text().splitlines()
        for number, line in enumerate(lines):
            for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", line):
                name = (page.parent / target).resolve().name
                shown[name] = shown.get(name, 0) + 1
                caption = next((x for x in lines[number + 1 :] if x.strip()), "")
                if caption.startswith("*Made by `python benchmarks/"):  # a study's figure
                    script = caption.split("`python ", 1)[1].split()[0]
                    assert (ROOT / script).is_file(), (page.name, caption)
                    continue
                assert caption.startswith("*Made by `lenet "), (page.name, target, caption)
                if caption.startswith("*Made by `lenet studio`"):  # a screenshot of the page
                    assert "tests/teach/test_studio_browser.py" in caption, (page.name, caption)
                else:  # a picture of a run
                    assert "runs/" in caption and "lenet train" in caption, (page.name, caption)
    assert sorted(shown) == [p.name for p in images], "a picture no doc shows, or a missing one"
