"""Zhipu AI (智谱) China price list: bigmodel.cn/pricing, CNY.

A Vue / Element-UI server-rendered page: the prices are in the HTML (no JSON state), but
every table is split in two, a header-only `<table class="el-table__header">` and a body-only
`<table class="el-table__body">` in the same `.el-table` block; they are paired here.
Plain tables (first row = header) are read too.  Traps:

- Flagship tables: `模型名称 | 上下文(千tokens) | 输入单价(百万tokens) | 输出单价(百万tokens) |
  缓存存储(百万tokens/小时) | 缓存命中(百万tokens)`, prices `6元` per 1M tokens.  The context
  cell carries the tier: `输入长度 [0, 32)` / `[32+)` / `(32, 128]` in THOUSANDS of tokens ->
  conditions.context_tokens {"min": 0, "max": 32000}; `输出长度 [0, 0.2)` -> output_tokens
  {"min": 0, "max": 200}.  A plain `1M` / `200K` there is the context window, not a tier.
- Tier continuation rows have no model cell (rowspan): the model carries over.
- Badges in the model cell (`GLM-5.2 新品`) are not part of the id; ids are lower-cased
  (`glm-5.2`, as the API takes them).
- `限时免费` -> 0 with promo; `免费` / `不计费` -> 0; `不支持`, `/`, `-` -> no price.
  Struck-through text in a cell is the list price.
- Older tables have one `单价` column priced per 1M tokens for input and output alike
  (embedding / rerank models: input only), and a `Batch API 定价` column -> conditions.batch.
- Voice tables pack labelled prices: `输入:16元/百万 tokens(约0.0002元/秒);输出:不计费`,
  `音频:0.18元/分钟;视频:1.2元/分钟`, `2元/万字符`, `6元/次`; `(约...)` equivalents are skipped.

Not quoted: search tools, knowledge-base storage, fine-tuning, private instances, yearly
packages and on-premise offers (other products, not per-use model prices).
"""

from __future__ import annotations

import re
from decimal import Decimal

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._table import Cell, grid
from scrapers._prices import to_decimal
from scrapers._quotes import dedupe
from scrapers._text import clean
from scrapers._tiers import tokens

_MIN_MODELS = 5


_SKIP_TABLE = ("部署版本", "训练版本", "套餐", "刊例价", "工具名称", "产品名称", "私有实例", "微调")
_MODEL_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[.\-_][A-Za-z0-9]+)*")
_TIER = re.compile(
    r"(输入长度|输出长度|input(?: length)?|output(?: length)?)?\s*([\[(])\s*(\d+(?:\.\d+)?)\s*"
    r"(?:[,，]\s*(\d+(?:\.\d+)?)\s*|\+\s*)([\])])",
    re.I,
)
_YUAN = re.compile(r"(?:[¥￥]\s*(\d[\d,]*(?:\.\d+)?))|(?:(\d[\d,]*(?:\.\d+)?)\s*元)")
_NO_PRICE = re.compile(r"^(?:不支持|暂不支持|/|-|—|\\|n/?a)?$", re.I)
_APPROX = re.compile(r"\(约[^)]*\)")


@register("zhipu", version=2)
def parse(page: Page) -> list[Quote]:
    tree = page.html()
    quotes: list[Quote] = []
    for header, body in _tables(tree):
        quotes += _table_quotes(header, body)
    models = {q.model for q in quotes}
    if len(models) < _MIN_MODELS or not any(q.dimension == "output" for q in quotes):
        raise LayoutDrift(
            f"no bigmodel.cn price tables with '模型' and '单价' headers (found {len(models)} models)"
        )
    return dedupe(quotes, "model", "dimension", "unit", "conditions")


def _tables(tree) -> list[tuple[list[str], list[list[Cell]]]]:
    """(header texts, body rows) of every table, pairing Element-UI header and body tables."""
    found = []
    for table in tree.css("table"):
        classes = (table.attributes.get("class") or "").split()
        if "el-table__header" in classes:
            continue
        rows = grid(table)
        if "el-table__body" in classes:
            block = table.parent
            while block is not None and "el-table" not in (block.attributes.get("class") or "").split():
                block = block.parent
            header_table = block.css_first("table.el-table__header") if block is not None else None
            if header_table is None:
                continue
            header_rows = grid(header_table)
            if not header_rows:
                continue
            found.append(([c.text for c in header_rows[-1]], rows))
        elif rows:
            found.append(([c.text for c in rows[0]], rows[1:]))
    return found


def _roles(header: list[str]) -> dict[int, str] | None:
    joined = " ".join(header)
    if any(word in joined for word in _SKIP_TABLE):
        return None
    roles: dict[int, str] = {}
    for index, name in enumerate(header):
        name = clean(name).replace(" ", "")
        lowered = name.lower()
        if "model" not in roles.values() and (name.startswith("模型") or lowered.startswith("model")):
            roles[index] = "model"
        elif "上下文" in name or "context" in lowered:
            roles[index] = "context"
        elif "输入单价" in name:
            roles[index] = "input"
        elif "输出单价" in name:
            roles[index] = "output"
        elif "缓存存储" in name:
            roles[index] = "cache_storage"
        elif "缓存命中" in name:
            roles[index] = "cached_input"
        elif "batch" in lowered:
            roles[index] = "batch"
        elif "单价" in name or "价格" in name:
            roles[index] = "single"
        elif "模态" in name:
            roles[index] = "modality"
    if "model" not in roles.values() or not set(roles.values()) & {"input", "output", "single", "batch"}:
        return None
    return roles


def _model_id(text: str) -> str | None:
    match = _MODEL_ID.search(clean(text))
    return match.group(0).lower() if match else None


def _table_quotes(header: list[str], body: list[list[Cell]]) -> list[Quote]:
    roles = _roles(header)
    if roles is None:
        return []
    quotes: list[Quote] = []
    # `免费` names no unit: it is priced in the unit its column uses elsewhere (`0.1 元 / 次`).
    column_units = {}
    for index, role in roles.items():
        for row in body:
            parsed = _value(row[index].text) if index < len(row) else None
            if parsed is not None and parsed[2] is not None:
                column_units[role] = parsed[1:3]
                break
    model = None
    for row in body:
        cells = {role: row[index] for index, role in roles.items() if index < len(row)}
        if "model" in cells and cells["model"].text:
            model = _model_id(cells["model"].text)
        if not model:
            continue
        conditions = _tiers(cells["context"].text) if "context" in cells else {}
        modality = cells["modality"].text if "modality" in cells else ""
        for role in ("input", "output", "cached_input", "cache_storage", "single", "batch"):
            if role not in cells:
                continue
            extra = {"batch": True} if role == "batch" else {}
            default_unit = column_units.get(role, (1_000_000, "token"))
            quotes += _cell_quotes(model, role, cells[role], {**conditions, **extra}, modality, default_unit)
    return quotes


def _tiers(text: str) -> dict:
    conditions: dict = {}
    for match in _TIER.finditer(clean(text)):
        label = (match.group(1) or "").lower()
        low = tokens(match.group(3), "k")
        high = tokens(match.group(4), "k") if match.group(4) else None
        key = "output_tokens" if ("输出" in label or "output" in label) else "context_tokens"
        conditions[key] = {"min": low, "max": high}
    return conditions


def _cell_quotes(
    model: str, role: str, cell: Cell, conditions: dict, modality: str, default_unit: tuple[int, str]
) -> list[Quote]:
    text = _APPROX.sub("", clean(cell.text))
    if _NO_PRICE.match(text):
        return []
    quotes = []
    list_prices = [to_decimal(a or b) for a, b in _YUAN.findall(clean(cell.struck))]
    segments = [(label, parsed) for label, value in _segments(text) if (parsed := _value(value)) is not None]
    # `输入:16元/百万 tokens;输出:不计费`: a free segment is in the unit of its neighbour.
    cell_unit = next(((p[1], p[2]) for _label, p in segments if p[2] is not None), default_unit)
    for label, parsed in segments:
        amount, per, unit, promo = parsed
        if unit is None:
            per, unit = cell_unit
        for dimension in _dimensions(role, label, unit, model, modality):
            quote_conditions = dict(conditions)
            list_price = list_prices[0] if len(list_prices) == 1 and list_prices[0] != amount else None
            if promo or list_price is not None:
                quote_conditions["promo"] = True
            quotes.append(Quote(model, dimension, amount, "CNY", quote_conditions, list_price, per=per, unit=unit))
    return quotes


def _segments(text: str) -> list[tuple[str, str]]:
    """`输入:16元/百万 tokens;输出:不计费` -> [("输入", "16元/百万 tokens"), ("输出", "不计费")]."""
    parts = []
    for part in re.split(r"[;；]", text):
        part = part.strip()
        if not part:
            continue
        label, sep, value = part.partition(":")
        if sep and not re.search(r"\d", label) and len(label) <= 12:
            parts.append((label.strip(), value.strip()))
        else:
            parts.append(("", part))
    return parts


def _value(text: str) -> tuple[Decimal, int | None, str | None, bool] | None:
    """Amount, per, unit, promo; per and unit are None for a bare `免费` (free in the column's unit)."""
    text = clean(text)
    if _NO_PRICE.match(text):
        return None
    if "限时免费" in text or re.search(r"limited[- ]time free", text, re.I):
        return Decimal(0), None, None, True
    match = _YUAN.search(text)
    if match is None:
        if "免费" in text or "不计费" in text or re.fullmatch(r"free", text, re.I):
            return Decimal(0), None, None, False
        return None
    amount = to_decimal(match.group(1) or match.group(2))
    per, unit = _unit(text[match.end() :])
    promo = bool(re.search(r"限时|优惠|折", text))
    return amount, per, unit, promo


def _unit(tail: str) -> tuple[int, str]:
    tail = tail.replace(" ", "").lower()
    if "百万" in tail or "/m" in tail or "1mtokens" in tail:
        return 1_000_000, "token"
    if "千tokens" in tail or "千token" in tail:
        return 1000, "token"
    if "万字符" in tail:
        return 10_000, "character"
    if "字符" in tail:
        return 1, "character"
    if "次" in tail:
        return 1, "request"
    if "分钟" in tail:
        return 1, "minute"
    if "秒" in tail:
        return 1, "second"
    if "张" in tail:
        return 1, "image"
    return 1_000_000, "token"


def _dimensions(role: str, label: str, unit: str, model: str, modality: str) -> list[str]:
    if role in ("input", "output", "cached_input", "cache_storage"):
        return [role]
    audio_only = bool(modality) and "音频" in modality and not re.search(r"文本|图片|视频", modality)
    if label:
        if "输入" in label:
            return ["input_audio" if audio_only else "input"]
        if "输出" in label:
            return ["output"]
        if "音频" in label:
            return ["input_audio"]
        if "视频" in label:
            return ["input_video"]
        if "图" in label:
            return ["input_image"]
        return []
    if unit == "request":
        return ["per_request"]
    if unit == "character":
        return ["input"]
    if unit in ("minute", "second"):
        return ["input_audio"]
    if unit != "token":
        return ["per_request"]
    if re.search(r"embedding|rerank", model):
        return ["input"]
    return ["input", "output"]
