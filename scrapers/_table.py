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

Pages are untrusted, so the work is bounded: a table nested in a cell is a table of its own
(parsers read it through its own `grid()` call), not part of the cell's text, else every
enclosing table would read it again; a span covers only the rows the table has; and tables
of more than `MAX_GRID_CELLS` cells in all, in one page, are `LayoutDrift`.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from pipeline.errors import LayoutDrift
from scrapers._text import clean

_STRUCK_TAGS = ("del", "s", "strike")
_SECTIONS = ("thead", "tbody", "tfoot")
# The real page with the most table cells once spans are expanded (Alibaba Model Studio, 274 tables)
# has 8,890, its largest table 819; 100,000 is no price list, but 40 cells of colspan=1000 rowspan=1000
# would make 40 million.  The empty cells that pad short rows are counted apart, per table, against ten
# times as many: a note row of colspan="999" pads a real 100-row table to 100,000 (each a reference).
MAX_GRID_CELLS = 100_000
# The cells grid() has built in the current parse (scrapers.register opens a count for each):
# a cap per table would still let 1,000 tables of 99,000 cells (1 MB of HTML) keep a parser
# busy for 46 s.  Outside a registered parser's run, each grid() call counts on its own.
_cells_built: ContextVar[list[int] | None] = ContextVar("cells_built", default=None)


@contextmanager
def cell_count() -> Iterator[None]:
    """One count of grid cells, against MAX_GRID_CELLS, for all the tables one parse reads."""
    token = _cells_built.set([0])
    try:
        yield
    finally:
        _cells_built.reset(token)


@dataclass(frozen=True)
class Cell:
    text: str
    struck: str = ""

    def __str__(self) -> str:
        return self.text


def cell_text(node) -> Cell:
    """Text of a cell without footnote markers, and its struck-through part apart."""
    struck: dict[str, list[str]] = {tag: [] for tag in _STRUCK_TAGS}
    text = " ".join(_fragments(node, struck))
    # Struck parts by tag, `<del>` first, the order in which grid() has always given them.
    return Cell(clean(text), clean(" ".join(part for tag in _STRUCK_TAGS for part in struck[tag])))


def _fragments(root, struck: dict[str, list[str]] | None = None) -> list[str]:
    """The texts under `root` in document order, with a space for each `<br>`, none from a `<sup>`
    footnote marker or a nested table; with `struck`, each struck-through element's text goes there.

    A loop over a stack, not recursion: an element may hold others 100,000 deep.
    """
    fragments: list[str] = []
    stack = list(reversed(list(root.iter(include_text=True))))
    while stack:
        node = stack.pop()
        tag = node.tag
        if node.is_text_node:
            fragments.append(node.text_content or "")
        elif tag == "br":
            fragments.append(" ")
        elif tag in _STRUCK_TAGS and struck is not None:
            struck[tag].append(" ".join(_fragments(node)))
        elif tag not in ("sup", "table"):
            stack.extend(reversed(list(node.iter(include_text=True))))
    return fragments


def _span(node, name: str) -> int:
    try:
        return max(1, min(int(node.attributes.get(name) or 1), 1000))
    except ValueError:
        return 1


def grid(table, *, skip_placeholders: bool = False) -> list[list[Cell]]:
    """Rows of cells, with spans expanded; short rows are padded with empty cells.

    With `skip_placeholders`, the table's `rowspan="0"` cells (doc-editor placeholders) are
    skipped, and removed from the document.  Past `MAX_GRID_CELLS` cells in the page's tables
    (this one and those read before it), padding aside, `LayoutDrift`.
    """
    count = _cells_built.get() or [0]
    built = count[0]
    rows: list[list[Cell]] = []
    # Column -> (the cell spanning down into it, the last row it covers): a rowspan fills a slot
    # only when a row of the table comes to it, so it never makes more slots than the table has rows.
    spanning: dict[int, tuple[Cell, int]] = {}
    filled = 0
    for tr in _own_rows(table):
        here = len(rows)
        row: list[Cell] = []
        for td in [child for child in tr.iter() if child.tag in ("td", "th")]:
            if skip_placeholders and td.attributes.get("rowspan") == "0":
                td.decompose()
                continue
            _fill_spanned(row, spanning, here)
            cell = cell_text(td)
            colspan, rowspan = _span(td, "colspan"), _span(td, "rowspan")
            _check_size(built + filled + len(row) + colspan)
            if rowspan > 1:
                spanning.update(dict.fromkeys(range(len(row), len(row) + colspan), (cell, here + rowspan - 1)))
            row += [cell] * colspan
        _fill_spanned(row, spanning, here)
        filled += len(row)
        _check_size(built + filled)
        rows.append(row)
    width = max((len(r) for r in rows), default=0)
    count[0] = built + filled
    if width * len(rows) > 10 * MAX_GRID_CELLS:
        raise LayoutDrift(f"a table {width:,} cells wide and {len(rows):,} rows long: no price list is so large")
    return [r + [Cell("")] * (width - len(r)) for r in rows]


def _own_rows(table):
    """The table's rows, in order: those of its sections, not those of a table nested in a cell."""
    for child in table.iter():
        if child.tag == "tr":
            yield child
        elif child.tag in _SECTIONS:
            yield from (row for row in child.iter() if row.tag == "tr")


def _fill_spanned(row: list[Cell], spanning: dict[int, tuple[Cell, int]], here: int) -> None:
    """Append to `row` the cells spanning down into its next columns from the rows above."""
    while (above := spanning.get(len(row))) is not None and above[1] >= here:
        row.append(above[0])


def _check_size(cells: int) -> None:
    if cells > MAX_GRID_CELLS:
        raise LayoutDrift(
            f"the page's tables hold more than {MAX_GRID_CELLS:,} cells once spans are expanded: "
            "no price list is so large"
        )


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


def texts(rows: list[list[Cell]]) -> list[list[str]]:
    return [[cell.text for cell in row] for row in rows]
