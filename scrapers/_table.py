"""HTML tables to grids of clean cell texts, with colspan and rowspan expanded.

Every HTML parser reads tables through `grid()`, so that a value spanning three model
columns, or a label spanning two rows, lands in every cell it covers.  `<sup>` footnote
markers are dropped, and struck-through text (`<del>`, `<s>`, `<strike>`) is kept apart
as the cell's `struck` text: it is a list price, not the price.

Doc editors (Volcengine's ace-editor, Tencent's slate) keep an empty `<td rowspan="0">`
placeholder in every slot that a row- or column-spanning cell fills (under a model cell
spanning its tier rows, after a `colspan="5"` note); read as a cell, each would shift the
rest of its row one column right.  `grid(table, skip_placeholders=True)` drops them; only
the parsers of such pages ask for it, so no other parser reads a page differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapers._text import clean

_STRUCK_TAGS = ("del", "s", "strike")


@dataclass(frozen=True)
class Cell:
    text: str
    struck: str = ""

    def __str__(self) -> str:
        return self.text


def cell_text(node) -> Cell:
    """Text of a cell without footnote markers, and its struck-through part apart."""
    html = node.html or ""
    from selectolax.lexbor import LexborHTMLParser

    copy = LexborHTMLParser(html).body
    if copy is None:
        return Cell("")
    for sup in copy.css("sup"):
        sup.decompose()
    struck_parts = []
    for tag in _STRUCK_TAGS:
        for struck in copy.css(tag):
            struck_parts.append(struck.text(separator=" "))
            struck.decompose()
    for br in copy.css("br"):
        br.replace_with(" ")
    return Cell(clean(copy.text(separator=" ")), clean(" ".join(struck_parts)))


def _span(node, name: str) -> int:
    try:
        return max(1, min(int(node.attributes.get(name) or 1), 1000))
    except ValueError:
        return 1


def grid(table, *, skip_placeholders: bool = False) -> list[list[Cell]]:
    """Rows of cells, with spans expanded; short rows are padded with empty cells.

    With `skip_placeholders`, the table's `rowspan="0"` cells (doc-editor placeholders) are
    first removed from the document.
    """
    if skip_placeholders:
        for placeholder in table.css('td[rowspan="0"], th[rowspan="0"]'):
            placeholder.decompose()
    rows: list[list[Cell | None]] = []
    pending: dict[tuple[int, int], Cell] = {}
    for tr in table.css("tr"):
        # Only this table's own rows: skip rows that belong to a nested table.
        if _nearest_table(tr) != table:
            continue
        row: list[Cell | None] = []
        col = 0
        for td in tr.iter():
            if td.tag not in ("td", "th"):
                continue
            while (len(rows), col) in pending:
                row.append(pending.pop((len(rows), col)))
                col += 1
            cell = cell_text(td)
            colspan, rowspan = _span(td, "colspan"), _span(td, "rowspan")
            for offset in range(colspan):
                row.append(cell)
                for extra in range(1, rowspan):
                    pending[(len(rows) + extra, col + offset)] = cell
            col += colspan
        while (len(rows), col) in pending:
            row.append(pending.pop((len(rows), col)))
            col += 1
        rows.append(row)
    width = max((len(r) for r in rows), default=0)
    return [[c if c is not None else Cell("") for c in r] + [Cell("")] * (width - len(r)) for r in rows]


def header_rows(rows: list[list[Cell]]) -> int:
    """How many rows head the table: the first, and each next one whose first cell repeats it.

    A header cell spanning two rows (`模型 | 输入 (元/百万token): 非音频 | 音频`) repeats in
    the grid, so a two-row header reads as the first cell twice.
    """
    first = rows[0][0].text if rows and rows[0] else ""
    count = 1
    while count < len(rows) and rows[count] and rows[count][0].text == first:
        count += 1
    return count


def _nearest_table(node):
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent


def texts(rows: list[list[Cell]]) -> list[list[str]]:
    return [[cell.text for cell in row] for row in rows]
