"""MiniMax pay-as-you-go (按量计费) language-model prices.

Reads:
- https://platform.minimaxi.com/subscribe/token-plan (CNY).  Despite its URL this Next.js
  page opens on the "API 价格 / 按量计费" tab, server-rendered: the language-model prices
  are NOT `<table>`s but CSS-grid `div`s (`div.grid` header row `模型 | 输入价格 百万 tokens |
  输出价格 | 缓存读取`, then one `div.grid` per model row).  The M3 rows carry the context
  tier (`上下文 ≤ 512K`, `上下文 512K ~ 1M`) and a `永久五折` badge, with the list price in a
  `line-through` span before the price (-> list_price, promo).  Units are in the header
  (`百万 tokens`) or after the price (`/ 百万 tokens`).  The page has `标准` / `优先` tabs;
  only the selected tab is rendered (标准; a selected `优先` tab -> tier "priority").
  The video / speech / music `<table>`s (per video, 万字符, 首) and the Token Plan
  subscription cards are not per-token prices and are not emitted.
- the international page https://platform.minimax.io/docs/guides/pricing as a text dump
  (USD): one line per row, no header row, strikethrough pairs run together:
  `MiniMax-M3 Context <= 512K Permanent 50% off $0.6$0.3 $2.4$1.2 $0.12$0.06` (list,
  then price) and `MiniMax-M2.7 $0.3/ M tokens $1.2/ M tokens $0.06/ M tokens $0.375/ M tokens`.
  Without a header the prices are read in MiniMax's column order Input, Output, Cache
  read, Cache write (the order of the CN page's headers); a line with more prices raises.
- HTML or markdown `<table>`s whose header names Input / Output / Cache read / Cache write
  (输入 / 输出 / 缓存读取 / 缓存写入) columns, for the docs pages.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import tables as markdown_tables
from scrapers._prices import to_decimal
from scrapers._quotes import dedupe
from scrapers._table import grid
from scrapers._text import clean
from scrapers._tiers import tokens

_MIN_MODELS = 2
_TEXT_COLUMNS = ("input", "output", "cached_input", "cache_write")
_MODEL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9._\-/]*$")
_AMOUNT = re.compile(r"(US\$|\$|¥|￥)\s*(\d[\d,]*(?:\.\d+)?)")


def _dimension(label: str) -> str | None:
    text = label.lower()
    if "存储" in text or "storage" in text:
        return "cache_storage"
    if "缓存写入" in text or "cache write" in text or ("write" in text and "cach" in text):
        return "cache_write"
    if "缓存读取" in text or "缓存命中" in text or "cache read" in text or ("read" in text and "cach" in text) or "cache hit" in text:
        return "cached_input"
    if "输入" in text or "input" in text:
        return "input"
    if "输出" in text or "output" in text:
        return "output"
    return None


def _currency(symbol: str) -> str:
    return "USD" if "$" in symbol else "CNY"


def _per(text: str) -> int | None:
    if re.search(r"百万|million|\bM\s*tokens|/\s*1?\s*M\b|1M", text, re.I):
        return 1_000_000
    if re.search(r"千\s*tokens|\bK\s*tokens|/\s*1?\s*K\b", text, re.I):
        return 1000
    return None


_BOUND = r"(\d+(?:\.\d+)?)\s*([KkMm]?)"  # `_tiers.BOUND` without 万: MiniMax writes K and M


def _context(text: str) -> dict[str, Any]:
    """`上下文 ≤ 512K` / `Context <= 512K` / `Context 512K ~ 1M` -> context_tokens."""
    compact = text.replace(" ", "")
    match = re.search(r"(?:上下文|context)(?:长度)?(?:≤|<=|<)" + _BOUND, compact, re.I)
    if match:
        return {"context_tokens": {"min": 0, "max": tokens(*match.groups())}}
    match = re.search(r"(?:上下文|context)(?:长度)?" + _BOUND + r"[~～\-]" + _BOUND, compact, re.I)
    if match:
        return {"context_tokens": {"min": tokens(*match.group(1, 2)), "max": tokens(*match.group(3, 4))}}
    match = re.search(r"(?:上下文|context)(?:长度)?(?:>|≥|>=)" + _BOUND, compact, re.I)
    if match:
        return {"context_tokens": {"min": tokens(*match.groups()), "max": None}}
    if re.search(r"上下文|context", text, re.I):
        raise LayoutDrift(f"unrecognised context tier {text!r}")
    return {}


def _quote(model, dimension, amount: str, symbol: str, per, conditions, list_amount: str | None = None) -> Quote:
    conditions = dict(conditions)
    list_price = None
    price = to_decimal(amount)
    if list_amount is not None and to_decimal(list_amount) != price:
        list_price = to_decimal(list_amount)
        conditions["promo"] = True
    return Quote(model, dimension, price, _currency(symbol), conditions, list_price, per or 1_000_000)


# --- CSS-grid price cards (platform.minimaxi.com) ---------------------------------


def _tab_tier(node) -> dict[str, Any]:
    parent = node.parent
    while parent is not None:
        tab = parent.css_first('[role="tab"][aria-selected="true"]')
        if tab is not None:
            label = clean(tab.text()).lower()
            return {"tier": "priority"} if ("优先" in label or "priority" in label) else {}
        parent = parent.parent
    return {}


def _grid_quotes(tree) -> list[Quote]:
    quotes: list[Quote] = []
    headers: dict[int, tuple[list[str], dict[str, Any]]] = {}
    for node in tree.css("div.grid"):
        if node.parent is None:
            continue
        cells = list(node.iter())
        if len(cells) < 2:
            continue
        texts = [clean(c.text(separator=" ")) for c in cells]
        parent_id = node.parent.mem_id
        if texts[0] in ("模型", "Model", "Models", "模型名称") and not _AMOUNT.search(" ".join(texts)):
            headers[parent_id] = (texts, _tab_tier(node))
            continue
        if parent_id not in headers:
            continue
        labels, tier = headers[parent_id]
        first = cells[0].css_first("span") or cells[0]
        model = clean(first.text()).split(" ")[0] if clean(first.text()) else ""
        if not _MODEL_ID.match(model):
            continue
        conditions = {**tier, **_context(texts[0])}
        for index, cell in enumerate(cells[1:], start=1):
            if index >= len(labels):
                break
            dimension = _dimension(labels[index])
            if dimension is None:
                continue
            struck = [clean(s.text()) for s in cell.css("span, s, del") if _is_struck(s)]
            current = [clean(s.text()) for s in cell.css("span") if not _is_struck(s) and _AMOUNT.search(clean(s.text()))]
            if not current:
                amounts = _AMOUNT.findall(texts[index])
                if not amounts:
                    continue
                current = [amounts[-1][0] + amounts[-1][1]]
            symbol, amount = _AMOUNT.search(current[-1]).groups()
            list_amount = _AMOUNT.search(struck[0]).group(2) if struck and _AMOUNT.search(struck[0]) else None
            per = _per(texts[index]) or _per(labels[index])
            quotes.append(_quote(model, dimension, amount, symbol, per, conditions, list_amount))
    return quotes


def _is_struck(node) -> bool:
    return node.tag in ("s", "del", "strike") or "line-through" in (node.attributes.get("class") or "") or "line-through" in (node.attributes.get("style") or "")


# --- tables (docs pages) ----------------------------------------------------------


def _table_rows_quotes(header: list[str], rows: list[tuple[list[str], list[str]]]) -> list[Quote]:
    model_col = next((i for i, h in enumerate(header) if re.search(r"模型|model", h, re.I)), None)
    columns = [(i, _dimension(h)) for i, h in enumerate(header) if i != model_col and _dimension(h)]
    if model_col is None or not columns:
        return []
    quotes = []
    for texts, struck in rows:
        texts = texts + [""] * (len(header) - len(texts))  # a row short of cells: the missing ones are empty
        struck = struck + [""] * (len(header) - len(struck)) if struck else struck
        model = texts[model_col].split(" ")[0] if texts[model_col] else ""
        if not _MODEL_ID.match(model):
            continue
        conditions = _context(texts[model_col])
        for index, dimension in columns:
            amounts = _AMOUNT.findall(texts[index])
            if not amounts:
                continue
            symbol, amount = amounts[-1]
            list_amounts = _AMOUNT.findall(struck[index]) if struck else []
            list_amount = list_amounts[0][1] if list_amounts else (amounts[0][1] if len(amounts) == 2 else None)
            per = _per(texts[index]) or _per(header[index])
            quotes.append(_quote(model, dimension, amount, symbol, per, conditions, list_amount))
    return quotes


def _html_table_quotes(tree) -> list[Quote]:
    quotes = []
    for table in tree.css("table"):
        rows = grid(table)
        if len(rows) < 2:
            continue
        header = [c.text for c in rows[0]]
        quotes.extend(_table_rows_quotes(header, [([c.text for c in r], [c.struck for c in r]) for r in rows[1:]]))
    return quotes


def _markdown_quotes(text: str) -> list[Quote]:
    quotes = []
    for table in markdown_tables(text):
        quotes.extend(_table_rows_quotes(table.header, list(zip(table.rows, table.struck))))
    return quotes


# --- text dump (platform.minimax.io) ----------------------------------------------

_LINE = re.compile(r"^(?P<model>[A-Za-z][A-Za-z0-9._\-]*)\s+(?P<rest>.*)$")
_PRICE_RUN = re.compile(r"((?:(?:US\$|\$|¥|￥)\s*\d[\d,]*(?:\.\d+)?)+)(\s*/\s*(?:1\s*)?(?:M|百万)\s*tokens?)?", re.I)


def _text_quotes(text: str) -> list[Quote]:
    quotes = []
    for raw in text.splitlines():
        line = clean(raw)
        match = _LINE.match(line)
        if not match:
            continue
        runs = _PRICE_RUN.findall(match.group("rest"))
        if len(runs) < 2:
            continue
        if len(runs) > len(_TEXT_COLUMNS):
            raise LayoutDrift(f"{len(runs)} prices on a line, more than the {len(_TEXT_COLUMNS)} known columns: {line!r}")
        model = match.group("model")
        head = match.group("rest")[: match.group("rest").find(runs[0][0])]
        conditions = _context(head)
        for dimension, (run, unit) in zip(_TEXT_COLUMNS, runs):
            amounts = _AMOUNT.findall(run)
            symbol, amount = amounts[-1]
            list_amount = amounts[0][1] if len(amounts) > 1 else None
            quotes.append(_quote(model, dimension, amount, symbol, _per(unit) if unit else None, conditions, list_amount))
    return quotes


# --- entry ------------------------------------------------------------------------


@register("minimax", version=2)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    head = text.lstrip()[:2000]
    if head.startswith("<") or re.search(r"<!doctype|<html\b", head, re.I):
        tree = page.html()
        quotes = _grid_quotes(tree) or _html_table_quotes(tree)
        what = "no language-model price grid (div.grid with a '模型 | 输入价格 | 输出价格' header) or input/output price table"
    else:
        quotes = _markdown_quotes(text) or _text_quotes(text)
        what = "no input/output price table or price lines ('MiniMax-M2.7 $0.3/ M tokens ...')"
    quotes = dedupe(quotes, "model", "dimension", "price", "currency", "conditions")
    if len({q.model for q in quotes}) < _MIN_MODELS:
        raise LayoutDrift(what)
    return quotes

