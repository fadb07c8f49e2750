"""HTML tables to grids of clean cell texts, with colspan and rowspan expanded.

Every HTML parser reads tables through `grid()`, so that a value spanning three model
columns, or a label spanning two rows, lands in every cell it covers.  `<sup>` footnote
markers are dropped, and struck-through text (`<del>`, `<s>`, `<strike>`) is kept apart
as the cell's `struck` text: it is a list price, not the price.
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


def grid(table) -> list[list[Cell]]:
    """Rows of cells, with spans expanded; short rows are padded with empty cells."""
    rows: list[list[Cell | None]] = []
    pending: dict[tuple[int, int], Cell] = {}
    for row_index, tr in enumerate(table.css("tr")):
        # Only this table's own rows: skip rows that belong to a nested table.
        if _nearest_table(tr) is not table and _nearest_table(tr) != table:
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


def _nearest_table(node):
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent


def texts(rows: list[list[Cell]]) -> list[list[str]]:
    return [[cell.text for cell in row] for row in rows]
