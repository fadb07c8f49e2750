"""Rows to a terminal table, CSV or JSON: Decimals stay exact text, times ISO 8601 UTC."""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable

FORMATS = ("table", "csv", "json")


@lru_cache(maxsize=1 << 16)  # a run stores thousands of prices, few of them distinct
def decimal_text(value: Decimal) -> str:
    """Exact, plain decimal text: 0.000003 rather than 3E-6, 1.5 rather than 1.50."""
    return format(value.normalize(), "f") if value else "0"


def utf8_encodable(text: str) -> bool:
    """Whether `text` has a UTF-8 form: bytes that are not UTF-8 (an argument, a JSON
    `\\ud800` escape) reach Python as lone surrogates, which no database driver takes."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def significant(value: Decimal, digits: int) -> str:
    """`value` to `digits` significant digits, as plain decimal text (for reading, not storing)."""
    return decimal_text(Decimal(f"{value:.{digits}g}"))


def unit_label(unit: str) -> str:
    """What a price is per, for a reader: token prices are stored per million tokens."""
    return "1M tokens" if unit == "token" else unit


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


# C0, DEL, C1, line and paragraph separators, and the bidirectional controls (U+202E and its
# kin turn the rest of a line around on screen: a model name could make "1.50" read "05.1").
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with each control character written as its Python escape (`\\r`, `\\x1b`, `\\u202e`):
    a scraped line break or escape sequence must not start a line of its own, or reach a terminal."""
    return CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def _cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


# What a spreadsheet takes for the start of a formula (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """`text` for a CSV cell: a scraped name such as `=HYPERLINK(...)` would run as a formula in
    a spreadsheet, so it gets a leading `'`; numbers, negative ones included, stay as they are."""
    if not text.startswith(FORMULA_START):
        return text
    try:
        Decimal(text)
        return text
    except ArithmeticError:
        return "'" + text


def render(rows: Iterable[dict[str, Any]], columns: list[str], fmt: str, out=None) -> None:
    out = out or sys.stdout
    rows = list(rows)
    if fmt == "json":
        json.dump([plain({c: r.get(c) for c in columns}) for r in rows], out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([spreadsheet_safe(_cell(row.get(c))) for c in columns])
    else:
        table = [[visible(_cell(row.get(c))) for c in columns] for row in rows]
        widths = [max([len(c)] + [len(r[i]) for r in table]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for r in table:
            out.write("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")
        if not table:
            out.write("(no rows)\n")
