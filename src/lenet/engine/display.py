"""How lenet's objects show themselves in a notebook: HTML for Jupyter's rich display.

A notebook shows the last value of a cell by its ``_repr_html_`` when it has one:
``Network`` as the paper's table of layers (Section II.B), ``Layer`` as its ``explain()``
with the formula, ``Trace`` as every layer's maps for one image with the predicted class and
the penalties. Their text display (``repr``, ``print``) is unchanged. This module holds the
HTML pieces those methods put together; it knows nothing of networks, and every text it is
given is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

__all__ = ["block", "definitions", "image", "paragraph", "preformatted", "side_by_side", "table"]

#: Inline styles: a notebook's own stylesheet does the rest (light or dark theme alike).
_CELL = "padding: 2px 8px; text-align: {align}; vertical-align: top"
_FORMULA = "font-family: monospace; white-space: pre; text-align: left"


def _text(value: object) -> str:
    return html.escape(str(value))


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    caption: str | None = None,
    right: Iterable[int] = (),
    bold_rows: Iterable[int] = (),
) -> str:
    """A table: ``header`` names the columns, each row gives one cell per column (any value,
    shown as ``str``); the columns in ``right`` are aligned right (numbers), the rows in
    ``bold_rows`` (indices into ``rows``) set in bold (a total, the predicted class)."""
    right, bold = set(right), set(bold_rows)

    def cells(tag: str, values: Sequence[object]) -> str:
        return "".join(
            f'<{tag} style="{_CELL.format(align="right" if i in right else "left")}">'
            f"{_text(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = []
    for n, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {n} has {len(row)} cells, the header {len(header)}")
        style = ' style="font-weight: bold"' if n in bold else ""
        body.append(f"<tr{style}>{cells('td', row)}</tr>")
    head = f"<caption>{_text(caption)}</caption>" if caption else ""
    return (
        f"<table>{head}<thead><tr>{cells('th', header)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def definitions(title: str, items: Iterable[tuple[str, str]]) -> str:
    """A titled list of (what, text) rows, the text kept as written (line breaks, spacing:
    formulas stay aligned)."""
    rows = "".join(
        f'<tr><th style="{_CELL.format(align="left")}">{_text(what)}</th>'
        f'<td style="{_CELL.format(align="left")}; {_FORMULA}">{_text(text)}</td></tr>'
        for what, text in items
    )
    return f"<table><caption>{_text(title)}</caption><tbody>{rows}</tbody></table>"


def image(png: bytes, alt: str) -> str:
    """A PNG picture inside the page (a data URL: the notebook keeps it with its outputs);
    ``alt`` says what it shows, for readers that do not show pictures."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_text(alt)}" style="max-width: 100%">'


def paragraph(text: str) -> str:
    return f"<p>{_text(text)}</p>"


def preformatted(text: str) -> str:
    """Text drawn with characters (``lenet.teach.viz.as_text``), in a fixed-width font."""
    return f'<pre style="line-height: 1.0">{_text(text)}</pre>'


def side_by_side(*parts: str) -> str:
    """The pieces left to right, wrapping on a narrow page."""
    cells = "".join(f"<div>{part}</div>" for part in parts)
    return (
        '<div style="display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start">'
        f"{cells}</div>"
    )


def block(*parts: str) -> str:
    """The pieces one after another, in one element."""
    return f'<div class="lenet">{"".join(parts)}</div>'
