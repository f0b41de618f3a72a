"""Every message in English and Korean (``lenet._i18n``): each ``_("...")`` and ``N_("...")``
in src/lenet has its Korean translation in ``lenet/locale/ko/LC_MESSAGES/lenet.po``, with the
same ``{fields}``; the catalogue holds no message the code no longer says; ``LENET_LANG`` (or
the locale) chooses the language, English when a message is missing; a check in Korean prints
Korean.

    python tests/test_messages.py    # prints the .po entries of the messages not translated yet
"""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import numpy as np
import pytest

from lenet import _i18n
from lenet._i18n import N_, _, language, parse_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lenet"
CATALOGUE = PACKAGE / "locale" / "ko" / "LC_MESSAGES" / "lenet.po"
MARKERS = ("_", "N_")


def messages_in_source() -> dict[str, list[str]]:
    """msgid -> where it is said ("file:line"), from every call of ``_`` or ``N_``."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_i18n.py":  # the functions themselves, which pass a message on
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in MARKERS
            ):
                continue
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                raise AssertionError(f"{where}: a message must be a string literal")
            found.setdefault(first.value, []).append(where)
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def korean() -> dict[str, str]:
    return parse_po(CATALOGUE.read_text("utf-8"))


def test_every_message_has_its_korean_translation():
    missing = sorted(set(messages_in_source()) - set(korean()))
    assert not missing, f"{len(missing)} messages not in {CATALOGUE.name}: {missing[:5]}"


def test_the_catalogue_holds_only_messages_the_code_says():
    unused = sorted(set(korean()) - set(messages_in_source()))
    assert not unused, f"{len(unused)} messages no longer in the code: {unused[:5]}"


def test_each_translation_keeps_the_english_fields():
    said = messages_in_source()
    for msgid, msgstr in korean().items():
        assert fields(msgid) == fields(msgstr), (msgid, msgstr)
        assert msgstr != msgid or not any("a" <= ch <= "z" for ch in msgid), msgid
    assert len(said) > 100  # the scan found the messages (a broken scan would pass the above)


def test_the_shipped_catalogue_is_the_one_read():
    # the package reads its catalogue from the installed package, the same file as here
    assert _i18n.catalogue_text("ko") == CATALOGUE.read_text("utf-8")


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "en"),
        ({"LENET_LANG": "ko"}, "ko"),
        ({"LENET_LANG": "en", "LANG": "ko_KR.UTF-8"}, "en"),
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LC_ALL": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LANGUAGE": "fr:ko", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LENET_LANG": "fr"}, "en"),  # a language lenet has not: English
        ({"LENET_LANG": "ko-KR"}, "ko"),  # as a browser writes it
    ],
)
def test_the_language_is_read_from_the_environment(monkeypatch, environment, expected):
    for name in _i18n.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert language() == expected


def test_a_missing_translation_is_shown_in_english(monkeypatch):
    monkeypatch.setenv("LENET_LANG", "ko")
    assert _("a message no catalogue has, {n} times", n=3) == "a message no catalogue has, 3 times"
    assert _("none") == korean()["none"] != "none"  # and one it has, in Korean


def test_a_message_is_translated_when_shown(monkeypatch):
    hint = N_("this is A tanh(3a/2): S is 2/3, not 3/2.")
    monkeypatch.setenv("LENET_LANG", "en")
    assert str(hint) == "this is A tanh(3a/2): S is 2/3, not 3/2."
    monkeypatch.setenv("LENET_LANG", "ko")
    assert str(hint) == korean()["this is A tanh(3a/2): S is 2/3, not 3/2."]
    assert "hint: " + hint == "hint: " + str(hint)


def test_a_translation_with_wrong_fields_falls_back_to_english(monkeypatch):
    catalogue = _i18n.translation("ko")
    monkeypatch.setitem(catalogue.messages, "{name}: pass (1 case)", "{nom}: 통과")
    monkeypatch.setenv("LENET_LANG", "ko")
    assert _("{name}: pass (1 case)", name="squash") == "squash: pass (1 case)"


def test_the_po_parser_reads_continued_strings_and_escapes():
    text = 'msgid ""\nmsgstr "Content-Type: text/plain\\n"\n\n#, python-brace-format\n'
    text += 'msgid "a \\"b\\" "\n"{c}"\nmsgstr ""\n"가 \\"나\\" {c}"\n\nmsgid "empty"\nmsgstr ""\n'
    assert parse_po(text) == {'a "b" {c}': '가 "나" {c}'}
    with pytest.raises(ValueError, match="line 1"):
        parse_po("msgid unquoted\n")


def _wrong_squash(a):
    return np.tanh(a)


def _not_yet(a):
    raise NotImplementedError


def test_a_check_in_korean_prints_korean_and_in_english_english(monkeypatch, capsys):
    from lenet.teach.exercises import check

    monkeypatch.setenv("LENET_LANG", "ko")
    result = check("squash", _wrong_squash, cases=2)
    out = capsys.readouterr().out
    hint = korean()[
        "this is plain tanh(a): the paper scales it, f(a) = A tanh(S a), with A = 1.7159 "
        "outside and S = 2/3 inside."
    ]
    assert not result and out == result.message + "\n"
    assert out.startswith("squash: 사례 2개 중 1번째에서 실패")
    assert hint in out and "FAIL" not in out and "expected" not in out
    check("squash", _not_yet)
    assert "아직 구현되지 않았습니다" in capsys.readouterr().out
    assert "통과" in check("squash", lambda a: 1.7159 * np.tanh(2 * a / 3)).message

    monkeypatch.setenv("LENET_LANG", "en")
    result = check("squash", _wrong_squash, cases=2, verbose=False)
    assert result.message.startswith("squash: FAIL on case 1 of 2")
    assert "hint: this is plain tanh(a)" in result.message


def test_the_refusal_of_lenets_own_answer_in_korean(monkeypatch):
    import lenet.reference
    from lenet.teach.exercises import check

    monkeypatch.setenv("LENET_LANG", "ko")
    result = check(
        "s2_forward",
        lambda x, c, b: 1.7159 * np.tanh(2 / 3 * lenet.reference.subsample_forward(x, c, b)),
        verbose=False,
    )
    assert "직접 작성하세요" in result.message and "subsample_forward" in result.message


if __name__ == "__main__":  # the entries to add to the catalogue, translated by hand
    have = korean()
    for msgid, where in messages_in_source().items():
        if msgid not in have:
            print(f"#: {' '.join(where)}")
            if fields(msgid):
                print("#, python-brace-format")
            print(f'msgid {json.dumps(msgid, ensure_ascii=False)}\nmsgstr ""\n')
