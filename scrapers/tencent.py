"""Tencent Cloud TokenHub (Hunyuan and hosted models) "模型价格" doc, CNY.

Reads https://cloud.tencent.com/document/product/1823/130055 (raw HTML).  The language
model prices sit under `在线推理场景 > 语言模型 > 按 Token 计费（后付费）` in region tabs
(`div.tse-tabs`: `广州` then `新加坡`, one `tse-tabs__cont` panel per tab): the 广州
(mainland) panel gives unconditioned quotes, other panels conditions.region "intl".
Also read: 多模态理解模型, 向量模型 (`计费项` column: 文本输入 / 图片输入 / 视频输入)
and 批量任务场景 (-> batch).

Traps:
- header `条件（token）` with `-`, `输入长度（0, 512k]`, `输入长度 512k+`,
  `输入长度 [16k, 32k)`, `0 ≤ 输入长度 < 32k`, `输入长度 ≥ 32k` -> context_tokens in tokens;
- tier rows: the model cell has rowspan=N and every continuation row keeps a placeholder
  `<td rowspan="0" colspan="0">` holding only U+FEFF (skipped by `_table.grid()`);
- display names, not API ids: `Hy3 preview（2026-08-31 下线）` -> `hy3-preview`,
  `Kimi K2.7 Code HighSpeed` -> `kimi-k2.7-code-highspeed` (retirement notes in
  parentheses dropped); `DeepSeek-V4-Flash 正式版 原厂直供` is DeepSeek's own supply sold
  through TokenHub at other prices -> model `deepseek-v4-flash` with
  conditions.channel "vendor_direct";
- units only in headers: `（元/百万 tokens）`; an older international copy of the page
  says `（美元/百万 tokens）` (USD, tabs `新加坡` then `广州`) and is read the same way.

Not emitted: image / video / 3D / speech generation (priced per image, second, song,
credit; the "Token 单价 × Token 用量" tables), 联网搜索 (元/千次).
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._prices import price_and_list_price, unit_of
from scrapers._quotes import dedupe
from scrapers._table import Cell, grid
from scrapers._text import clean
from scrapers._tiers import BOUND, tokens

_MIN_MODELS = 5
_MAINLAND = re.compile(r"广州|北京|上海|南京|成都|重庆|深圳|中国内地|中国大陆")
_SKIP_SECTIONS = re.compile(r"视觉模型|图片生成|图像生成|视频生成|3D|语音模型|联网搜索|相关文档|Token Plan", re.I)
_REGION_ATTR = "data-pricewatch-region"


def _tables(tree) -> list[tuple[list[str], str | None, list[list[Cell]]]]:
    for tabs in tree.css("div.tse-tabs"):
        labels = [clean(label.text()) for label in tabs.css(".tse-tabs__item-label")]
        panels = [panel for panel in tabs.css("div.tse-tabs__cont")]
        for label, panel in zip(labels, panels):
            for table in panel.css("table"):
                table.attrs[_REGION_ATTR] = label
    found = []
    stack: list[tuple[int, str]] = []
    for node in tree.css("h2, h3, h4, h5, h6, table"):
        if node.tag != "table":
            level = int(node.tag[1])
            stack = [h for h in stack if h[0] < level] + [(level, clean(node.text(separator=" ")))]
            continue
        found.append(([h for _, h in stack], node.attributes.get(_REGION_ATTR), grid(node, skip_placeholders=True)))
    return found


# --- labels -----------------------------------------------------------------------


def _per(text: str) -> int | None:
    if re.search(r"百万|million|/\s*1?\s*M\b", text, re.I):
        return 1_000_000
    return unit_of(text)


def _currency(text: str) -> str | None:
    if "美元" in text or re.search(r"USD|US\$|\$", text):
        return "USD"
    if re.search(r"元|¥|￥|CNY|RMB", text):
        return "CNY"
    return None


def _dimension(label: str) -> str | None:
    text = label.lower()
    if "缓存写入" in text or "缓存创建" in text:
        return "cache_write"
    if "缓存命中" in text or "缓存读取" in text:
        return "cached_input"
    if "图片输入" in text or "图像输入" in text:
        return "input_image"
    if "视频输入" in text:
        return "input_video"
    if "音频输入" in text:
        return "input_audio"
    if "输入" in text:
        return "input"
    if "输出" in text:
        return "output"
    return None


_BOUND = re.compile(BOUND)


def _tier(text: str) -> dict[str, Any]:
    """`输入长度（0, 512k]` -> {"context_tokens": {"min": 0, "max": 512000}}."""
    if text in ("", "-", "—", "–", "/"):
        return {}
    if "输入" not in text and "input" not in text.lower():
        raise LayoutDrift(f"unrecognised tier condition {text!r}")
    bounds = _BOUND.findall(text)
    if len(bounds) == 2:
        return {"context_tokens": {"min": tokens(*bounds[0]), "max": tokens(*bounds[1])}}
    if len(bounds) == 1:
        number = tokens(*bounds[0])
        if re.search(r"\d\s*[kKmM万]?\s*\+|[≥>]", text):
            return {"context_tokens": {"min": number, "max": None}}
        if re.search(r"[≤<]", text):
            return {"context_tokens": {"min": 0, "max": number}}
    raise LayoutDrift(f"unrecognised tier condition {text!r}")


_NOTE = re.compile(r"\([^)]*\)")
_CJK = re.compile(r"[\u3000-\u9fff]")
_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._\-/:]*$")


def _model(name: str) -> tuple[str | None, dict[str, Any]]:
    """Display name -> (id, conditions): `Kimi K2.7 Code HighSpeed` -> `kimi-k2.7-code-highspeed`."""
    conditions: dict[str, Any] = {}
    if "原厂直供" in name:
        conditions["channel"] = "vendor_direct"
    words = [w for w in _NOTE.sub(" ", name).split() if not _CJK.search(w)]
    model = "-".join(words).lower()
    return (model if _MODEL_ID.match(model) else None), conditions


# --- tables -----------------------------------------------------------------------


def _table_quotes(headings: list[str], region: str | None, rows: list[list[Cell]]) -> list[Quote]:
    path = " / ".join(headings)
    if _SKIP_SECTIONS.search(path) or len(rows) < 2:
        return []
    labels = [cell.text for cell in rows[0]]
    model_col = next((i for i, label in enumerate(labels) if "模型名称" in label or label.lower().startswith("model")), None)
    if model_col is None:
        return []
    condition_col = next((i for i, label in enumerate(labels) if "条件" in label), None)
    item_col = next((i for i, label in enumerate(labels) if "计费项" in label), None)
    columns = []
    for index, label in enumerate(labels):
        if index in (model_col, condition_col, item_col) or "token" not in label.lower():
            continue
        dimension = _dimension(label) if item_col is None else ("item" if "价格" in label or "单价" in label else None)
        if dimension:
            columns.append((index, dimension, _per(label) or 1_000_000, _currency(label)))
    if not columns:
        return []
    section: dict[str, Any] = {}
    if "批量" in path or "batch" in path.lower():
        section["batch"] = True
    if region and not _MAINLAND.search(region):
        section["region"] = "intl"
    quotes = []
    model, model_conditions = None, {}
    for row in rows[1:]:
        if row[model_col].text:
            model, model_conditions = _model(row[model_col].text)
        if model is None:
            continue
        conditions = {**section, **model_conditions}
        if condition_col is not None:
            conditions.update(_tier(row[condition_col].text))
        for index, dimension, per, currency in columns:
            if dimension == "item":
                dimension = _dimension(row[item_col].text)
                if dimension is None:
                    continue
            quote = _quote(model, dimension, row[index], conditions, per, currency)
            if quote is not None:
                quotes.append(quote)
    return quotes


_PRICE_CELL = re.compile(r"^(?:[$¥￥])?\s*\d[\d,]*(?:\.\d+)?\s*(?:元|美元|USD)?$|^(?:限时)?免费$")


def _quote(model: str, dimension: str, cell: Cell, conditions: dict, per: int, currency: str | None) -> Quote | None:
    text = cell.text
    if text in ("", "-", "—", "–", "/") or not _PRICE_CELL.match(text):
        return None
    found = price_and_list_price(text, cell.struck)
    if found is None:
        return None
    price, list_price = found
    conditions = {**conditions, "promo": True} if price.promo else dict(conditions)
    return Quote(model, dimension, price.amount, _currency(text) or currency or "CNY", conditions, list_price, per)


@register("tencent", version=2)
def parse(page: Page) -> list[Quote]:
    tables = _tables(page.html())
    if not tables:
        raise LayoutDrift("no <table> in the TokenHub pricing document")
    quotes: list[Quote] = []
    for headings, region, rows in tables:
        quotes += _table_quotes(headings, region, rows)
    quotes = dedupe(quotes, "model", "dimension", "price", "conditions")
    models = {q.model for q in quotes}
    if len(models) < _MIN_MODELS:
        raise LayoutDrift(
            f"only {len(models)} models priced (expected at least {_MIN_MODELS}); "
            "no table with '模型名称' and '推理输入（元/百万 tokens）' headers?"
        )
    return quotes
