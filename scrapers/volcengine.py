"""Volcengine Ark (ByteDance Doubao) "模型价格" doc page, CNY.

Reads https://www.volcengine.com/docs/82379/1544106.  The page is SSR HTML from an
ace-editor doc (2.6 MB, mostly inline JSON); its price tables are real `<table>`s
whose headings are `div.heading-hN` blocks.  The same document also sits as markdown
in `window._ROUTER_DATA` (`curDoc.MDContent`), which is read when the DOM has no
tables (and when the input is the doc API's JSON or r.jina.ai markdown).

Traps:
- every cell ends in U+200B; units appear only in the header (`元/百万token`,
  `元/千token` -> per=1000, cache storage `元/百万token/小时` -> `cache_storage`);
- tier rows: the model cell has rowspan=N and each continuation row still carries a
  placeholder `<td rowspan="0">` (skipped by `_table.grid()`, else every later cell shifts right);
  in markdown the continuation rows have an empty model cell (inherit the model above);
- tiers `输入长度 [0, 32]`, `(32, 128]`, `[0, 32] 且输出长度 (0.2,+∞)` are in
  thousands of tokens -> conditions context_tokens / output_tokens in tokens;
- sections: 在线推理（常规） (no condition), 在线推理（低延迟） -> tier "low_latency",
  批量推理 -> batch, 精调 推理 tables -> fine_tuned (prices of a fine-tuned model of
  that base model);
- `限时免费` -> 0 with promo, `免费` -> 0, `-` -> not offered.
- ids are lower-cased (`DeepSeek-R1` -> `deepseek-r1`), as the API takes them: a cell that
  changes case is the same model, not a new one beside a withdrawn one.

Not emitted (not per-token prices): TPM 保障包 (元/每10K TPM/小时), video / image / 3D
generation, fine-tuning training, model units, agents, plugins, Coding/Agent plans.

BytePlus ModelArk (`scrapers/byteplus.py`) is the international edition of the same
document and reuses `_parse_document()` from here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import tables as markdown_tables
from scrapers._prices import currency_of, price_and_list_price, to_decimal, unit_of
from scrapers._quotes import dedupe
from scrapers._table import Cell, grid, header_rows
from scrapers._text import clean

_MIN_MODELS = 10

# --- document ---------------------------------------------------------------------


@dataclass
class _Table:
    headings: list[str]
    rows: list[list[Cell]]


_HEADING_CLASS = re.compile(r"\bheading-h([1-6])\b")
_MD_ESCAPE = re.compile(r"\\([^|\s])")


def _html_tables(tree) -> list[_Table]:
    """Tables in document order, each with the heading path above it."""
    found: list[_Table] = []
    stack: list[tuple[int, str]] = []
    selector = "h1, h2, h3, h4, h5, h6, div.heading-h1, div.heading-h2, div.heading-h3, div.heading-h4, div.heading-h5, div.heading-h6, table"
    for node in tree.css(selector):
        if node.tag == "table":
            found.append(_Table([h for _, h in stack], grid(node, skip_placeholders=True)))
            continue
        if node.tag.startswith("h") and len(node.tag) == 2:
            level = int(node.tag[1])
        else:
            level = int(_HEADING_CLASS.search(node.attributes.get("class") or "").group(1))
        text = clean(node.text(separator=" "))
        if text:
            stack = [h for h in stack if h[0] < level] + [(level, text)]
    return found


def _markdown_to_tables(text: str) -> list[_Table]:
    found = []
    for table in markdown_tables(text):
        header = [Cell(_MD_ESCAPE.sub(r"\1", c)) for c in table.header]
        rows = [header]
        for row, struck in zip(table.rows, table.struck):
            rows.append([Cell(_MD_ESCAPE.sub(r"\1", c), s) for c, s in zip(row, struck + [""] * len(row))])
        width = max(len(r) for r in rows)
        found.append(_Table([_MD_ESCAPE.sub(r"\1", h) for h in table.headings], [r + [Cell("")] * (width - len(r)) for r in rows]))
    return found


def _find_key(obj: Any, key: str) -> str | None:
    if isinstance(obj, dict):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value
        obj = list(obj.values())
    if isinstance(obj, list):
        for item in obj:
            found = _find_key(item, key)
            if found:
                return found
    return None


def _router_markdown(tree) -> str | None:
    for script in tree.css("script"):
        body = script.text()
        if "_ROUTER_DATA" not in body or "MDContent" not in body:
            continue
        payload = body.split("=", 1)[1].strip().rstrip(";")
        try:
            return _find_key(json.loads(payload), "MDContent")
        except ValueError:
            continue
    return None


def _document_tables(page: Page) -> list[_Table]:
    text = page.text()
    head = text.lstrip()[:2000]
    if head.startswith("{") or head.startswith("["):
        markdown = _find_key(page.json(), "MDContent")
        if not markdown:
            raise LayoutDrift("JSON without an MDContent document")
        return _markdown_to_tables(markdown)
    if not head.startswith("<") and not re.search(r"<!doctype|<html\b", head, re.I):
        return _markdown_to_tables(text)
    tree = page.html()
    found = _html_tables(tree)
    if not found:
        markdown = _router_markdown(tree)
        if markdown:
            found = _markdown_to_tables(markdown)
    return found


# --- cells ------------------------------------------------------------------------

_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/:]*$")
_PRICE_CELL = re.compile(
    r"^(?:US\$|\$|¥|￥)?\s*\d[\d,]*(?:\.\d+)?\s*(?:元|USD|CNY|美元)?"
    r"\s*(?:/\s*(?:每)?\s*(?:百万|千|1\s*M|M|1\s*K|K)\s*tokens?)?$",
    re.I,
)
_FREE_CELL = re.compile(r"^(?:限时免费|免费|limited[- ]time free|free)$", re.I)
_NOT_OFFERED = re.compile(r"^(?:-|—|–|/|n/?a|不支持|暂不支持|not supported(?: yet)?)?$", re.I)
_RANGE = re.compile(
    r"(输入|输出|input|output|prompt|completion)[^\[\(\d]*"
    r"([\[\(])\s*(\d+(?:\.\d+)?)\s*,\s*(\+?∞|\+?inf\w*|\d+(?:\.\d+)?)\s*([\]\)])",
    re.I,
)


_PER_MILLION = re.compile(r"百万|million|/\s*1?\s*M\b|\b1?M\s*tokens?|mtok", re.I)


def _per(text: str) -> int | None:
    """Tokens per quoted amount.  `_prices.unit_of` reads `百万token` as 万 (10,000), so 百万 first."""
    if _PER_MILLION.search(text):
        return 1_000_000
    return unit_of(text)


def _dimension(label: str) -> str | None:
    """What a price column prices, from its header label."""
    text = label.lower()
    audio = ("音频" in text and "非音频" not in text) or ("audio" in text and "non-audio" not in text)
    if "缓存存储" in text or "cache-storage" in text or "cache storage" in text:
        return "cache_storage"
    if any(k in text for k in ("缓存写入", "缓存创建", "cache write", "cache-write", "cache creation")):
        return "cache_write"
    if any(k in text for k in ("缓存命中", "cache-hit", "cache hit", "cached")):
        return "cached_input_audio" if audio else "cached_input"
    if any(k in text for k in ("图片输入", "图像输入", "image input")):
        return "input_image"
    if any(k in text for k in ("视频输入", "video input")):
        return "input_video"
    if "输入" in text or "input" in text:
        return "input_audio" if audio else "input"
    if "输出" in text or "output" in text:
        return "output_audio" if audio else "output"
    return None


def _is_model_header(label: str) -> bool:
    text = label.lower()
    return ("模型" in text or "model" in text) and "类别" not in text


def _is_condition_header(label: str) -> bool:
    text = label.lower()
    return any(k in text for k in ("条件", "阶梯", "tier", "condition"))


def _bound(text: str, scale: int) -> int | None:
    if "∞" in text or "inf" in text.lower():
        return None
    return int(to_decimal(text) * scale)


def _tier_conditions(text: str, scale: int) -> dict[str, Any]:
    """`输入长度 (32, 128]` (thousands of tokens) -> {"context_tokens": {"min": 32000, "max": 128000}}."""
    if _NOT_OFFERED.match(text):
        return {}
    conditions: dict[str, Any] = {}
    for what, _, low, high, _ in _RANGE.findall(text):
        key = "output_tokens" if what.lower() in ("输出", "output", "completion") else "context_tokens"
        conditions[key] = {"min": _bound(low, scale), "max": _bound(high, scale)}
    if not conditions:
        raise LayoutDrift(f"unrecognised tier condition {text!r}")
    return conditions


def _section_conditions(headings: list[str]) -> dict[str, Any] | None:
    """Conditions implied by the section a table sits in; None for sections that hold no token prices."""
    path = " / ".join(headings).lower()
    if any(k in path for k in ("tpm", "视频生成", "图片生成", "3d生成", "3d 生成", "video generation", "image generation")):
        return None
    conditions: dict[str, Any] = {}
    if any(k in path for k in ("批量", "离线", "batch", "offline")):
        conditions["batch"] = True
    if "低延迟" in path or "low latency" in path or "low-latency" in path:
        conditions["tier"] = "low_latency"
    if "精调" in path or "fine-tun" in path or "fine tun" in path:
        conditions["fine_tuned"] = True
    return conditions


# --- tables -----------------------------------------------------------------------


@dataclass
class _Column:
    index: int
    dimension: str
    per: int
    currency: str | None


def _table_quotes(table: _Table, default_currency: str) -> list[Quote]:
    section = _section_conditions(table.headings)
    if section is None or len(table.rows) < 2:
        return []
    n_header = header_rows(table.rows)
    width = len(table.rows[0])
    labels = []
    for col in range(width):
        parts: list[str] = []
        for row in table.rows[:n_header]:
            if row[col].text and row[col].text not in parts:
                parts.append(row[col].text)
        labels.append(" ".join(parts))
    model_col = next((i for i, label in enumerate(labels) if _is_model_header(label)), None)
    if model_col is None:
        return []
    condition_col = next((i for i, label in enumerate(labels) if _is_condition_header(label)), None)
    scale = 1000
    if condition_col is not None and re.search(r"百万|\bM\b", labels[condition_col]):
        scale = 1_000_000
    columns = []
    for index, label in enumerate(labels):
        if index in (model_col, condition_col):
            continue
        dimension = _dimension(label)
        if dimension is None:
            continue
        lowered = label.lower()
        if "token" not in lowered and re.search(r"元|\$|usd|张|次|秒|image|second|request", lowered):
            continue  # priced per something other than tokens
        columns.append(_Column(index, dimension, _per(label) or 1_000_000, currency_of(label)))
    if not columns:
        return []
    quotes: list[Quote] = []
    model = None
    for row in table.rows[n_header:]:
        name = row[model_col].text
        if name:
            token = name.split(" ")[0]
            model = token.lower() if _MODEL_ID.match(token) else None  # the API takes ids in lower case
        if model is None:
            continue
        conditions = dict(section)
        if condition_col is not None:
            conditions.update(_tier_conditions(row[condition_col].text, scale))
        for column in columns:
            quote = _cell_quote(model, column, row[column.index], conditions, default_currency)
            if quote is not None:
                quotes.append(quote)
    return quotes


def _cell_quote(model: str, column: _Column, cell: Cell, conditions: dict, default_currency: str) -> Quote | None:
    text = cell.text
    if _NOT_OFFERED.match(text):
        return None
    if not (_PRICE_CELL.match(text) or _FREE_CELL.match(text)):
        return None  # prose or a composite price, not a per-token price
    found = price_and_list_price(text, cell.struck)
    if found is None:
        return None
    price, list_price = found
    conditions = {**conditions, "promo": True} if price.promo else dict(conditions)
    return Quote(
        model=model,
        dimension=column.dimension,
        price=price.amount,
        currency=price.currency or column.currency or default_currency,
        conditions=conditions,
        list_price=list_price,
        per=_per(text) or column.per,
    )


def _parse_document(page: Page, *, default_currency: str, min_models: int) -> list[Quote]:
    """Quotes of every per-token price table of a Volcengine / BytePlus pricing document."""
    tables = _document_tables(page)
    if not tables:
        raise LayoutDrift("no price table (no <table> and no MDContent markdown)")
    quotes: list[Quote] = []
    for table in tables:
        quotes.extend(_table_quotes(table, default_currency))
    quotes = dedupe(quotes, "model", "dimension", "price", "currency", "conditions", "per")
    models = {q.model for q in quotes}
    if len(models) < min_models:
        raise LayoutDrift(f"only {len(models)} models with per-token prices (expected at least {min_models}); no table with a model column and input/output price headers?")
    return quotes


@register("volcengine", version=2)
def parse(page: Page) -> list[Quote]:
    return _parse_document(page, default_currency="CNY", min_models=_MIN_MODELS)

