"""Moonshot AI (Kimi): per-model-family pricing pages of platform.kimi.com (CNY) and platform.kimi.ai (USD).

Used by two sources: `moonshot-cn` (platform.kimi.com/docs/pricing/chat-k26 ..., `¥1.10`) and
`moonshot` (platform.kimi.ai/docs/pricing/..., `$0.16`).  The currency is read from each cell
(`$` -> USD, `¥` / `元` -> CNY), never assumed.  Formats:

- Raw HTML (Next.js / Mintlify docs): one `<table>` per page, header `模型 | 计费单位 |
  输入价格（缓存命中） | 输入价格（缓存未命中） | 输出价格 | 上下文窗口` or, in English,
  `Model | Unit | Input Price (Cache Hit) | Input Price (Cache Miss) | Output Price | Context Window`.
- The docs' markdown export (`/docs/pricing/chat-k26.md`, MDX source): tables are JSX,
  `<DocTable columns={[{ title: "Model" }, ...]} rows={[["kimi-k2.6", "1M tokens",
  <>{"$"}0.16</>, ...]]} />`; several pages may be concatenated (`--- PAGE BREAK ---`).
- Pipe-table markdown (reader proxy) with the same headers.

Traps: the `计费单位` / `Unit` column (`1M tokens`) gives `per`; a cache-hit column is
cached_input and the cache-miss column is input; a lone `Input Price` (Moonshot V1) is input;
a lone `价格` / `Price` column (older single-price pages) prices input and output alike.
The platform.kimi.ai/docs/pricing/chat overview page only links to the per-model pages and
holds no price: it raises LayoutDrift.  Struck-through text in a cell is the list price.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import tables
from scrapers._prices import to_decimal
from scrapers._quotes import dedupe
from scrapers._table import grid
from scrapers._text import clean


_MONEY = re.compile(r"(?:(\$|US\$|¥|￥)\s*(\d[\d,]*(?:\.\d+)?))|(?:(\d[\d,]*(?:\.\d+)?)\s*(元|USD|CNY))")
_DOC_TABLE = re.compile(r"<DocTable\b(.*?\]\})\s*/>", re.S)
_DOC_TITLE = re.compile(r'title:\s*"((?:[^"\\]|\\.)*)"')
_JSX_CELL = re.compile(r'"((?:[^"\\]|\\.)*)"|<>(.*?)</>', re.S)


@register("moonshot", version=2)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    quotes: list[Quote] = []
    for header, rows in _tables(page, text):
        quotes += _table_quotes(header, rows)
    if not quotes:
        raise LayoutDrift(
            "no pricing table with 'Model' / '模型' and an input or output price header "
            "(the /docs/pricing/chat overview only links to the per-model pages)"
        )
    return dedupe(quotes, "model", "dimension", "currency", "conditions")


def _tables(page: Page, text: str) -> list[tuple[list[str], list[list[tuple[str, str]]]]]:
    """(header, rows of (text, struck text)) of every table in whichever format the page is."""
    head = text.lstrip()[:2000].lower()
    if head.startswith(("<!doctype html", "<html")) or "<head" in head:
        found = []
        for table in page.html().css("table"):
            rows = grid(table)
            if rows:
                found.append(([c.text for c in rows[0]], [[(c.text, c.struck) for c in row] for row in rows[1:]]))
        return found
    found = []
    for match in _DOC_TABLE.finditer(text):
        body = match.group(1)
        columns_at = body.find("columns=")
        rows_at = body.find("rows=")
        if columns_at < 0 or rows_at < 0:
            continue
        header = [_unescape(t) for t in _DOC_TITLE.findall(body[columns_at:rows_at] if columns_at < rows_at else body[columns_at:])]
        rows_text = body[rows_at:] if rows_at > columns_at else body[rows_at:columns_at]
        rows = []
        for line in rows_text.splitlines():
            line = line.strip()
            if line.startswith("[") and not line.startswith("[["):
                rows.append([(_jsx_cell(m), "") for m in _JSX_CELL.finditer(line)])
            elif line.startswith("[["):
                rows.append([(_jsx_cell(m), "") for m in _JSX_CELL.finditer(line[1:])])
        found.append((header, rows))
    for table in tables(text):
        found.append((table.header, [list(zip(row, struck)) for row, struck in zip(table.rows, table.struck)]))
    return found


def _unescape(value: str) -> str:
    return clean(_string_literal(value))


def _string_literal(value: str) -> str:
    """The text of a JSX string literal's inside; a malformed escape is a page we do not understand."""
    try:
        return json.loads(f'"{value}"')
    except ValueError:
        raise LayoutDrift(f"malformed string literal {value[:40]!r} in a pricing table") from None


def _jsx_cell(match: re.Match) -> str:
    if match.group(1) is not None:
        return _unescape(match.group(1))
    # `<>{"$"}0.16</>`: string expressions and text of a JSX fragment
    fragment = re.sub(r'\{\s*"((?:[^"\\]|\\.)*)"\s*\}', lambda m: _string_literal(m.group(1)), match.group(2))
    return clean(re.sub(r"<[^>]+>", "", fragment))


def _role(name: str) -> str | None:
    name = clean(name).lower().replace(" ", "")
    if name in ("模型", "model", "模型名称", "modelname"):
        return "model"
    if name in ("计费单位", "unit", "billingunit"):
        return "unit"
    hit = "缓存命中" in name or "cachehit" in name
    miss = "缓存未命中" in name or "cachemiss" in name
    if "输入" in name or "input" in name:
        if miss:
            return "input"
        return "cached_input" if hit else "input"
    if "输出" in name or "output" in name:
        return "output"
    if name in ("价格", "price", "单价"):
        return "single"
    return None


def _per(unit_text: str) -> int:
    unit_text = clean(unit_text).lower().replace(",", "")
    match = re.search(r"(\d+(?:\.\d+)?)\s*([km万]|million|thousand)?\s*tokens?", unit_text)
    if not match:
        return 1_000_000
    number = Decimal(match.group(1))
    scale = {"k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000, "万": 10_000}.get(match.group(2) or "", 1)
    return int(number * scale)


def _money(text: str) -> tuple[Decimal, str] | None:
    match = _MONEY.search(clean(text))
    if not match:
        return None
    symbol = match.group(1) or match.group(4)
    currency = "USD" if symbol in ("$", "US$", "USD") else "CNY"
    return to_decimal(match.group(2) or match.group(3)), currency


def _table_quotes(header: list[str], rows: list[list[tuple[str, str]]]) -> list[Quote]:
    roles = {index: role for index, name in enumerate(header) if (role := _role(name))}
    if "model" not in roles.values() or not set(roles.values()) & {"input", "output", "cached_input", "single"}:
        return []
    unit_col = next((i for i, r in roles.items() if r == "unit"), None)
    model_col = next(i for i, r in roles.items() if r == "model")
    quotes = []
    for row in rows:
        if model_col >= len(row):
            continue
        model = clean(row[model_col][0]).lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-_]*", model):
            continue
        per = _per(row[unit_col][0]) if unit_col is not None and unit_col < len(row) else 1_000_000
        for index, role in roles.items():
            if role in ("model", "unit") or index >= len(row):
                continue
            text, struck = row[index]
            cell = clean(text)
            price = _money(cell)
            if price is None:
                if re.search(r"限时免费|limited[- ]time free", cell, re.I):
                    price, promo = None, True
                elif re.fullmatch(r"免费|free", cell, re.I):
                    price, promo = None, False
                else:
                    continue
                currency = _row_currency(row)
                if currency is None:
                    continue
                amount = Decimal(0)
            else:
                amount, currency = price
                promo = bool(re.search(r"限时|limited[- ]time|\d+\s*%\s*off|折|优惠", cell, re.I))
            listed = _money(struck) if struck else None
            list_price = listed[0] if listed and listed[0] != amount else None
            conditions = {"promo": True} if (promo or list_price is not None) else {}
            dims = ["input", "output"] if role == "single" else [role]
            for dimension in dims:
                quotes.append(Quote(model, dimension, amount, currency, dict(conditions), list_price, per=per))
    return quotes


def _row_currency(row: list[tuple[str, str]]) -> str | None:
    for text, _struck in row:
        money = _money(text)
        if money:
            return money[1]
    return None
