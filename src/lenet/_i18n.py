"""The learner's language: the exercises' messages and hints, the refusal of lenet's own answer
and the ``lenet exercises`` tables, in English or Korean.

    _("your function returned None: did you forget `return`?")   # translated now
    _("{name}: pass ({count} cases)", name=ex.name, count=5)   # named values, any word order
    N_("this is plain tanh(a): ...")                           # translated when shown (a hint)

The English text is the message's id, as with gettext. The catalogues are gettext's ``.po``
files shipped in the package (``lenet/locale/LANG/LC_MESSAGES/lenet.po``), read with the small
parser below into a standard ``gettext.NullTranslations``: a ``.po`` is text that any gettext
tool edits and checks, and reading it needs no compiled ``.mo`` (a build output) nor any tool at
build time. A message missing from a catalogue (or left empty there) is shown in English.

The language (``language()``) is read at each call: ``LENET_LANG`` (``ko``, ``en``), else the
locale environment as gettext reads it (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``),
else English. Values are put in with ``str.format`` after the translation, so a translation
may order them as its language does; they must keep the English text's names.

Wrapping a message: a string literal becomes ``_("...")``; an f-string's ``{expr}`` becomes a
named field, ``_("... {name} ...", name=expr)``; a message made when a module is imported (a
hint, a mistake's hint) uses ``N_`` instead of ``_``, so that it is translated when shown. The
first argument is always a literal (tests/test_messages.py finds every message so, and checks
that each has its Korean translation with the same fields).

This module imports nothing of the package: ``lenet._guard`` uses it.
"""

from __future__ import annotations

import ast
import functools
import gettext
import os
import unicodedata
from importlib import resources
from typing import Any

#: the languages with a catalogue, and English (the messages' own)
LANGUAGES = ("en", "ko")
DEFAULT = "en"
#: where the language is read from, in order (gettext's own order after LENET_LANG)
ENVIRONMENT = ("LENET_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
DOMAIN = "lenet"


def _code(tag: str) -> str:
    """'ko_KR.UTF-8', 'ko-KR', 'ko' -> 'ko'; 'C', 'POSIX' -> 'c', 'posix'."""
    return tag.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].strip().lower()


def language() -> str:
    """The language of the messages now: the first of ``ENVIRONMENT`` that is set, the first of
    its languages (``LANGUAGE`` may list several, ``ko:en``) that lenet has; English else."""
    for variable in ENVIRONMENT:
        value = os.environ.get(variable, "")
        if not value:
            continue
        for tag in value.split(":"):
            if _code(tag) in LANGUAGES:
                return _code(tag)
        return DEFAULT
    return DEFAULT


def chosen() -> str | None:
    """The language ``LENET_LANG`` names, when lenet has it; else None. The studio's page
    takes it (else the browser's languages choose)."""
    lang = _code(os.environ.get("LENET_LANG", ""))
    return lang if lang in LANGUAGES else None


def parse_po(text: str) -> dict[str, str]:
    """A ``.po`` catalogue's messages, msgid -> msgstr (the header entry, msgid "", left out;
    an empty msgstr too: the message is not translated yet). Only what lenet's catalogues use:
    single msgid/msgstr pairs, strings continued on following lines, comments."""
    messages: dict[str, str] = {}
    entry: dict[str, str] = {}
    key = None

    def close() -> None:
        if entry.get("msgid") and entry.get("msgstr"):
            messages[entry["msgid"]] = entry["msgstr"]
        entry.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word in ("msgid", "msgstr"):
            if word == "msgid":
                close()
            key, line = word, rest.strip()
        elif word in ("msgctxt", "msgid_plural") or word.startswith("msgstr["):
            raise ValueError(f"line {number}: {word} is not used in lenet's catalogues")
        if key is None or not (line.startswith('"') and line.endswith('"') and len(line) > 1):
            raise ValueError(f"line {number}: expected a quoted string, got {raw!r}")
        entry[key] = entry.get(key, "") + ast.literal_eval(line)
    close()
    return messages


class Catalogue(gettext.NullTranslations):
    """A language's messages, read from its ``.po``; a message it lacks is shown in English
    (the message itself)."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self.messages = messages

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message


def catalogue_text(lang: str) -> str:
    """The text of language ``lang``'s ``.po`` as shipped."""
    where = resources.files(__package__).joinpath("locale").joinpath(lang)
    return where.joinpath("LC_MESSAGES").joinpath(f"{DOMAIN}.po").read_text("utf-8")


@functools.cache  # read once per language
def translation(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT or lang not in LANGUAGES:
        return gettext.NullTranslations()
    return Catalogue(parse_po(catalogue_text(lang)))


def _(message: str, /, **values: Any) -> str:
    """``message`` in the learner's language, its ``{name}`` fields filled from ``values``."""
    text = translation(language()).gettext(message)
    if not values:
        return text
    values = {k: str(v) if isinstance(v, Message) else v for k, v in values.items()}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):  # a translation whose fields are wrong: English
        return message.format(**values)


class Message:
    """A message translated when it is shown (``str()``), not when it is made: ``N_(...)``.
    Its values may be messages too."""

    __slots__ = ("message", "values")

    def __init__(self, message: str, values: dict[str, Any]) -> None:
        self.message, self.values = message, values

    def __str__(self) -> str:
        return _(self.message, **self.values)

    def __repr__(self) -> str:
        return f"N_({self.message!r})"

    def __add__(self, other: object) -> str:
        return str(self) + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + str(self)


def N_(message: str, /, **values: Any) -> Message:  # noqa: N802 (gettext's name for it)
    """``message`` marked for translation, translated each time it is shown."""
    return Message(message, values)


def columns(text: str) -> int:
    """The columns ``text`` takes in a terminal: a wide character (Hangul) takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, left: bool = False) -> str:
    """``text`` aligned right (or ``left``) in ``width`` columns of a terminal, as
    ``str.rjust`` (``str.ljust``) aligns it where every character takes one."""
    space = " " * max(0, width - columns(text))
    return text + space if left else space + text


#: a message: English text, or one translated when shown
Text = str | Message
