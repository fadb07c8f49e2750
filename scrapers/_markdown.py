"""Pipe tables in markdown: reader-proxy output (r.jina.ai), mirror bots and docs sources.

`tables(text)` yields each table with its header row, its body rows and the headings
above it, so that a parser can pick a table by its section ("Batch", "Standard") and
columns by their header labels rather than by position.

Pages are untrusted: every pattern runs in time linear in the line, and a page of more than
`MAX_PAGE_CELLS` table cells is `LayoutDrift`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.errors import LayoutDrift
from scrapers._text import clean

# A regex that backtracks over a long run of spaces holds the GIL: one page would stall every source of a run.
# The marks of an ATX heading; its text is cut with str methods (see `_heading`).
_HEADING = re.compile(r"\s{0,3}(#{1,6})\s")
# Matched against the stripped line (`is_separator`): `\s*` on both sides of an optional `|` is quadratic
# in a run of spaces.
_SEPARATOR = re.compile(r"\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
# A tag pair closes before the next opening tag: else every unclosed `<sup>` would rescan the rest of the line.
_FOOTNOTE = re.compile(r"<sup>(?:(?!<sup>).)*?</sup>|\[\^?\d+\]", re.I)
_STRUCK = re.compile(r"~~(.*?)~~|<del>((?:(?!<del>).)*?)</del>", re.I)
# The real page with the most table cells (Gemini API pricing) has 1,194; a page of 100,000 is no price
# list, and reading every cell of a 2 MB line of pipes would take seconds.
MAX_PAGE_CELLS = 100_000


@dataclass
class MarkdownTable:
    header: list[str]
    rows: list[list[str]]
    headings: list[str] = field(default_factory=list)
    struck: list[list[str]] = field(default_factory=list)
    line: int = 0  # 1-based number of the header line

    @property
    def start(self) -> int:
        """Index, in the text's lines, of the header line."""
        return self.line - 1

    @property
    def end(self) -> int:
        """Index, in the text's lines, of the first line after the last row (header, separator, rows)."""
        return self.line + 1 + len(self.rows)

    @property
    def heading(self) -> str:
        return self.headings[-1] if self.headings else ""

    def column(self, *labels: str) -> int | None:
        """Index of the first header cell containing any of `labels` (case-insensitive)."""
        for index, name in enumerate(self.header):
            if any(label.lower() in name.lower() for label in labels):
                return index
        return None


def links(text: str) -> Iterator[tuple[int, int, str, str]]:
    r"""(start, end, text, target) of each `[text](target)` link and `![alt](src)` image, left to right.

    These are the matches of the regex `!?\[([^\]]*)\]\(([^)]*)\)`, found in linear time: the regex
    would scan on to the end of the text again from every `[` that no `](...)` follows.
    """
    position = 0
    while (opening := text.find("[", position)) >= 0:
        closing = text.find("]", opening)
        if closing < 0:
            return
        if not text.startswith("(", closing + 1):
            position = closing + 1  # every `[` before this `]` lacks its `(` too
            continue
        end = text.find(")", closing + 2)
        if end < 0:
            return
        start = opening - 1 if opening > position and text[opening - 1] == "!" else opening
        yield start, end + 1, text[opening + 1 : closing], text[closing + 2 : end]
        position = end + 1


def strip_links(text: str) -> str:
    """Links and images as their text: `[Batch](#batch)` -> `Batch`."""
    kept, done = [], 0
    for start, end, label, _target in links(text):
        kept += [text[done:start], label]
        done = end
    return "".join(kept) + text[done:]


def clean_cell(text: str) -> str:
    text = _FOOTNOTE.sub("", text)
    text = _STRUCK.sub("", text)
    text = strip_links(text)
    text = _EMPHASIS.sub("", text)
    text = text.replace("<br>", " ").replace("<br/>", " ").replace("<br />", " ")
    return clean(text)


def struck_text(text: str) -> str:
    return clean(" ".join(a or b for a, b in _STRUCK.findall(text)))


def split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return re.split(r"(?<!\\)\|", line)


def is_separator(line: str) -> bool:
    """Whether `line` is the `| --- | :---: |` line under a table's header."""
    return _SEPARATOR.fullmatch(line.strip()) is not None


def _add_cells(cells: int, row: list[str]) -> int:
    cells += len(row)
    if cells > MAX_PAGE_CELLS:
        raise LayoutDrift(f"more than {MAX_PAGE_CELLS:,} markdown table cells in the page: no price list is so large")
    return cells


def _heading(line: str) -> tuple[int, str] | None:
    r"""(level, text) of an ATX heading line, without its closing marks: `## Batch ##` -> (2, "Batch").

    The text is cut with str methods: the regex `\s+(.*?)\s*#*\s*$` backtracks cubically over a run
    of spaces (a 4,000-space line took 95 s).
    """
    marks = _HEADING.match(line)
    if marks is None:
        return None
    return len(marks.group(1)), line[marks.end() :].strip().rstrip("#").rstrip()


def tables(text: str) -> list[MarkdownTable]:
    lines = text.splitlines()
    found: list[MarkdownTable] = []
    headings: list[tuple[int, str]] = []
    cells = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = _heading(line)
        if heading:
            level, title = heading
            headings = [h for h in headings if h[0] < level] + [(level, clean_cell(title))]
        if "|" in line and index + 1 < len(lines) and is_separator(lines[index + 1]):
            raw_header = split_row(line)
            cells = _add_cells(cells, raw_header)
            table = MarkdownTable(
                header=[clean_cell(c) for c in raw_header],
                rows=[],
                headings=[h[1] for h in headings],
                line=index + 1,
            )
            index += 2
            while index < len(lines) and "|" in lines[index] and lines[index].strip():
                raw = split_row(lines[index])
                cells = _add_cells(cells, raw)
                table.rows.append([clean_cell(c) for c in raw])
                table.struck.append([struck_text(c) for c in raw])
                index += 1
            found.append(table)
            continue
        index += 1
    return found
