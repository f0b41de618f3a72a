"""The studio's page in English and Korean (``assets/i18n.js``): every key its scripts and its
HTML use has both texts, with the same fields; the HTML's own English is the catalogue's, so
the English page is the page as written; the catalogue is carried wherever the page goes
(served, exported, inline); the bundle carries ``lenet studio --lang`` or LENET_LANG. The
page in a browser, in Korean and back in English: tests/teach/test_studio_browser.py."""

from __future__ import annotations

import html
import json
import re
import string
from pathlib import Path

import pytest

import lenet
from lenet.teach.studio import publish, server
from lenet.teach.studio.bundle import studio_bundle

ASSETS = Path(lenet.__file__).parent / "teach" / "studio" / "assets"
SCRIPTS = ("studio.js", "controls.js", "engine.js")


def catalogue() -> dict[str, dict[str, str]]:
    """STRINGS of i18n.js: key -> {"en": ..., "ko": ...} (JSON between its braces)."""
    text = (ASSETS / "i18n.js").read_text("utf-8")
    body = text.split("const STRINGS = ", 1)[1].split("\n};\n", 1)[0] + "\n}"
    return json.loads(body)


def keys_in_scripts() -> set[str]:
    found: set[str] = set()
    for name in SCRIPTS:
        text = (ASSETS / name).read_text("utf-8")
        calls = re.findall(r"\b_t\(([^)]{0,80})", text)
        for call in calls:
            literal = re.match(r'"([^"]+)"', call)
            assert literal, f"{name}: _t({call}...: a key must be a string literal"
            found.add(literal.group(1))
    return found


def _norm(text: str) -> str:
    return " ".join(text.split())


def texts_in_html() -> dict[str, str]:
    """key -> the English the HTML writes: the text (data-i18n), the markup (data-i18n-html),
    the attribute (data-i18n-aria-label, data-i18n-title)."""
    page = (ASSETS / "index.html").read_text("utf-8")
    found: dict[str, str] = {}
    element = r'<(\w+)\b[^>]*?\b{}="([^"]+)"[^>]*>(.*?)</\1>'
    for _, key, body in re.findall(element.format("data-i18n"), page, re.S):
        assert "<" not in body, f"data-i18n={key} holds markup: use data-i18n-html"
        found.setdefault(key, html.unescape(_norm(body)))
    for _, key, body in re.findall(element.format("data-i18n-html"), page, re.S):
        found[key] = _norm(body)
    for tag in re.finditer(r"<\w+\b([^>]*)>", page):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))
        for attribute in ("aria-label", "title"):
            key = attributes.get(f"data-i18n-{attribute}")
            if key:
                found[key] = html.unescape(attributes[attribute])
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_the_page_uses_has_english_and_korean():
    strings = catalogue()
    used = keys_in_scripts() | set(texts_in_html()) | {"page.title"}
    assert len(used) > 100
    assert not sorted(used - set(strings)), "keys with no entry in i18n.js"
    assert not sorted(set(strings) - used), "entries no script or element uses"
    for key, entry in strings.items():
        assert set(entry) == {"en", "ko"}, key
        assert entry["en"].strip() and entry["ko"].strip(), key
        assert fields(entry["en"]) == fields(entry["ko"]), key
        assert re.search("[\uac00-\ud7a3]", entry["ko"]) or entry["ko"] == entry["en"], key


def test_the_html_is_the_catalogues_english():
    """The page as written is the English page: i18n.js leaves it alone in English, and each
    text it replaces in Korean is the one the HTML says."""
    strings = catalogue()
    for key, english in texts_in_html().items():
        assert _norm(strings[key]["en"]) == english, key
    for key, entry in strings.items():  # markup only where the HTML has markup
        if key in texts_in_html():
            has_markup = bool(re.search(r"<\w", entry["en"]))
            assert bool(re.search(r"<\w", entry["ko"])) == has_markup, key
            assert re.findall(r"<(\w+)", entry["en"]) == re.findall(r"<(\w+)", entry["ko"]), key


def test_the_catalogue_goes_wherever_the_page_goes():
    page = (ASSETS / "index.html").read_text("utf-8")
    first = page.index('<script src="i18n.js"></script>')
    assert first < page.index('<script src="lenet-core.js"></script>')  # before the others
    assert server.ASSETS["/i18n.js"][0] == "i18n.js"
    assert publish.ASSETS.index("i18n.js") == 2  # the first script: exported and inlined
    document = publish.inline_document({"lang": "ko"})
    assert 'data-asset="i18n.js"' in document
    # the bundle is set before i18n.js reads it
    assert document.index('data-asset="bundle"') < document.index('data-asset="i18n.js"')


def test_the_bundle_says_the_language_lenet_studio_was_given(monkeypatch):
    from lenet.teach.studio import Studio

    monkeypatch.delenv("LENET_LANG", raising=False)
    assert studio_bundle({}, "paper", {})["lang"] is None
    assert Studio(untrained=True).bundle()["lang"] is None  # the browser's languages choose
    assert Studio(untrained=True, lang="ko").bundle()["lang"] == "ko"
    monkeypatch.setenv("LENET_LANG", "ko_KR.UTF-8")
    assert Studio(untrained=True).bundle()["lang"] == "ko"
    assert Studio(untrained=True, lang="en").bundle()["lang"] == "en"
    monkeypatch.setenv("LENET_LANG", "fr")
    assert Studio(untrained=True).bundle()["lang"] is None
    with pytest.raises(ValueError, match="lang must be one of en, ko"):
        Studio(untrained=True, lang="fr")


def test_lenet_studio_takes_lang(monkeypatch):
    from lenet import cli

    given = {}
    monkeypatch.setattr(
        "lenet.teach.studio.serve", lambda *args, **kwargs: given.update(kwargs) or None
    )
    assert cli.main(["studio", "--no-browser", "--lang", "ko"]) == 0
    assert given["lang"] == "ko"
    with pytest.raises(SystemExit):
        cli.main(["studio", "--lang", "fr"])
