"""Pipe tables in markdown: reader-proxy output (r.jina.ai), mirror bots and docs sources.

`tables(text)` yields each table with its header row, its body rows and the headings
above it, so that a parser can pick a table by its section ("Batch", "Standard") and
columns by their header labels rather than by position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scrapers._text import clean

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_FOOTNOTE = re.compile(r"<sup>.*?</sup>|\[\^?\d+\]", re.I)
_STRUCK = re.compile(r"~~(.*?)~~|<del>(.*?)</del>", re.I)


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


def clean_cell(text: str) -> str:
    text = _FOOTNOTE.sub("", text)
    text = _STRUCK.sub("", text)
    text = _LINK.sub(r"\1", text)
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


def tables(text: str) -> list[MarkdownTable]:
    lines = text.splitlines()
    found: list[MarkdownTable] = []
    headings: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            headings = [h for h in headings if h[0] < level] + [(level, clean_cell(heading.group(2)))]
        if "|" in line and index + 1 < len(lines) and _SEPARATOR.match(lines[index + 1]):
            raw_header = split_row(line)
            table = MarkdownTable(
                header=[clean_cell(c) for c in raw_header],
                rows=[],
                headings=[h[1] for h in headings],
                line=index + 1,
            )
            index += 2
            while index < len(lines) and "|" in lines[index] and lines[index].strip():
                raw = split_row(lines[index])
                table.rows.append([clean_cell(c) for c in raw])
                table.struck.append([struck_text(c) for c in raw])
                index += 1
            found.append(table)
            continue
        index += 1
    return found
