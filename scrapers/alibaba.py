"""Alibaba Cloud Model Studio (百炼) "模型调用价格", CNY, mainland China prices.

Reads https://help.aliyun.com/zh/model-studio/model-pricing, fetched either as the
help-center document API JSON (`{"data": {"content": "<html>", "docTitle": "模型调用价格",
...}}`; the price tables are HTML inside `data.content`) or as the rendered HTML page.
~270 tables, one per model family and deployment region: `h4 华北2（北京）` (mainland,
emitted) then `美国（弗吉尼亚）`, `新加坡`, `德国（法兰克福）`, `日本（东京）` (international
deployments, priced in converted CNY on this Chinese page and NOT emitted; tables with a
`服务部署范围` column are international ones).

Traps:
- model cells carry notes (`当前能力等同于…`, `Batch调用 半价`, `上下文缓存 享有折扣`): the id
  is the first word;
- tiers `0<Token≤32K`, `32K<Token≤128K`, `无阶梯计价` / `不区分阶梯` -> context_tokens;
- two-row headers: `输出单价(每百万Token)` over `非思考模式` / `思考模式(思维链+回答)` ->
  conditions.mode "non_thinking" / "thinking"; Omni models split input by modality
  (`文本`, `音频` -> input_audio, `图片/视频` -> input_image) and output by what was input
  (`文本 多模态输入` -> output with conditions.input_modality "multimodal",
  `文本+音频 仅音频计费` -> output_audio);
- `原价 12元 限时5折` -> price 6 (12 × 0.5), list_price 12, promo; `限时免费` -> 0, promo;
- `文本输入:0.7元 图片输入:1.8元` (rerank) -> one quote per labelled part;
- `目前仅供免费体验…` / `已下线…` cells and columns not priced per token (元/张, 元/秒,
  每万字符, 免费额度) are skipped.
- The `模式` column (`非思考和思考模式`, `仅思考模式`) states what a model supports; it
  only becomes a condition when the page prices the modes apart (the header split).

The Hologres "托管模型计费" page
(https://help.aliyun.com/zh/hologres/user-guide/managed-models-billing) has its own parser
here, `alibaba-hologres`, and `alibaba` refuses it (LayoutDrift): it is a DIFFERENT price
list, and read under the Model Studio source its prices would be a wall of false cuts.
Qwen models run as Hologres managed models, 元/千 Token (per=1000),
about 1.2× the Model Studio list prices (qwen3.7-max input 0.01440 元/千 = 14.4 元/M vs
12 元/M here), with a `地域` column (北京 上海 杭州 深圳 = China site, emitted; 新加坡 =
international site, not emitted), tiers `≤256K` / `256K~1M`, explicit vs implicit
cache prices (`显式缓存创建` -> cache_write, `显式缓存命中` / `隐式缓存命中` -> cached_input
with conditions.cache_type "explicit" / "implicit") and display names (`Qwen3.7-Max`,
lower-cased to `qwen3.7-max`).  Its tables carry a `地域` column, where the Model Studio
document puts each region under a heading: that is how the two are told apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, parse_html, register
from scrapers._prices import to_decimal
from scrapers._quotes import dedupe
from scrapers._table import Cell, grid, header_rows
from scrapers._text import clean
from scrapers._tiers import BOUND, tokens

_MIN_MODELS_MODEL_STUDIO = 20
_MIN_MODELS_OTHER = 3

_MAINLAND = re.compile(r"北京|上海|杭州|深圳|张家口|乌兰察布|呼和浩特|河源|成都|青岛|广州|中国内地|中国大陆|华北|华东|华南|西南")
_INTERNATIONAL = re.compile(
    r"新加坡|美国|弗吉尼亚|硅谷|德国|法兰克福|日本|东京|香港|印度尼西亚|雅加达|马来西亚|吉隆坡|英国|伦敦|阿联酋|迪拜|"
    r"沙特|韩国|首尔|泰国|菲律宾|墨西哥|国际|全球|欧盟"
)
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/:]*$")

# --- document ---------------------------------------------------------------------


@dataclass
class _Table:
    headings: list[str]
    region_heading: str | None
    rows: list[list[Cell]]


def _document_html(page: Page) -> str:
    text = page.text()
    head = text.lstrip()[:200]
    if head.startswith("{"):
        payload = page.json()
        data = payload.get("data") if isinstance(payload, dict) else None
        content = data.get("content") if isinstance(data, dict) else None
        if not isinstance(content, str) or "<table" not in content:
            raise LayoutDrift("help-center JSON without data.content HTML tables")
        return content
    return text


def _tables(html: str) -> list[_Table]:
    tree = parse_html(html)
    found: list[_Table] = []
    stack: list[tuple[int, str]] = []
    # The region heading (h4 华北2（北京）) is often followed by sibling headings of the same
    # level (h4 千问3-TTS-Flash) that sit inside the region: a region lasts until the next
    # region heading or a heading of a higher level.
    region: tuple[int, str] | None = None
    for node in tree.css("h1, h2, h3, h4, h5, h6, table"):
        if node.tag != "table":
            level = int(node.tag[1])
            text = clean(node.text(separator=" "))
            stack = [h for h in stack if h[0] < level] + [(level, text)]
            if _MAINLAND.search(text) or _INTERNATIONAL.search(text):
                region = (level, text)
            elif region is not None and level < region[0]:
                region = None
            continue
        found.append(_Table([h for _, h in stack], region[1] if region else None, grid(node)))
    return found


# --- headers ----------------------------------------------------------------------


@dataclass
class _Column:
    index: int
    dimension: str
    per: int
    conditions: dict[str, Any] = field(default_factory=dict)


def _per(label: str) -> int | None:
    text = label.lower().replace(" ", "")
    if "token" not in text:
        return None
    if "百万" in text or "/m" in text or "1m" in text:
        return 1_000_000
    if "千" in text or "/k" in text or "1k" in text:
        return 1000
    if "万" in text:
        return 10_000
    return 1_000_000


def _price_column(index: int, parts: list[str]) -> _Column | None:
    """A price column from its header parts (top label, then the sub-header if any)."""
    top = parts[0]
    sub = " ".join(parts[1:])
    whole = " ".join(parts)
    if "免费额度" in whole or "输入和输出" in whole:
        return None
    per = _per(whole)
    if per is None:
        return None  # priced per image / second / character, not per token
    conditions: dict[str, Any] = {}
    if "缓存创建" in top or "缓存写入" in top:
        return _Column(index, "cache_write", per, conditions)
    if "缓存命中" in top or "缓存读取" in top:
        if "显式" in top:
            conditions["cache_type"] = "explicit"
        elif "隐式" in top:
            conditions["cache_type"] = "implicit"
        return _Column(index, "cached_input", per, conditions)
    direction = None
    prefix = re.match(r"\s*(输入|输出)\s*[:：]", sub)
    if prefix:
        direction = "input" if prefix.group(1) == "输入" else "output"
        sub = sub[prefix.end():]
    elif "输入" in top:
        direction = "input"
    elif "输出" in top:
        direction = "output"
    if direction is None:
        return None
    has_text = "文本" in sub
    if direction == "input":
        if "音频" in sub and not has_text:
            return _Column(index, "input_audio", per)
        if ("图片" in sub or "视频" in sub or "图像" in sub) and not has_text:
            return _Column(index, "input_image", per)
        return _Column(index, "input", per)
    if "音频" in sub:
        return _Column(index, "output_audio", per)
    if "多模态输入" in sub:
        conditions["input_modality"] = "multimodal"
    if "非思考" in sub:
        conditions["mode"] = "non_thinking"
    elif "思考" in sub and "思维链+回答" not in top:
        conditions["mode"] = "thinking"
    return _Column(index, "output", per, conditions)


# --- cells ------------------------------------------------------------------------

_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_DISCOUNTED = re.compile(r"^原价\s*" + _NUMBER + r"\s*元?\s*(?:/[^\s]*)?\s*限时\s*(\d+(?:\.\d+)?)\s*折$")
_PLAIN = re.compile(r"^" + _NUMBER + r"\s*元?$")
_LABELLED = re.compile(r"([^\s:：\d]+)\s*[:：]\s*" + _NUMBER + r"\s*元")
_NOT_OFFERED = re.compile(r"^(?:-|—|–|/|无|不支持|暂不支持)?$")
_NO_PRICE = re.compile(r"仅供免费体验|已下线|不可调用|暂未开放")


@dataclass
class _Price:
    amount: Decimal
    list_price: Decimal | None = None
    promo: bool = False


def _cell_prices(text: str) -> list[tuple[str | None, _Price]]:
    """The prices of a cell, each with its label when the cell holds several (`文本输入:0.7元`)."""
    if _NOT_OFFERED.match(text) or _NO_PRICE.search(text):
        return []
    if text == "限时免费":
        return [(None, _Price(Decimal(0), promo=True))]
    if text == "免费":
        return [(None, _Price(Decimal(0)))]
    match = _DISCOUNTED.match(text)
    if match:
        list_price = to_decimal(match.group(1))
        factor = to_decimal(match.group(2)) / 10
        return [(None, _Price(list_price * factor, list_price, True))]
    match = _PLAIN.match(text)
    if match:
        return [(None, _Price(to_decimal(match.group(1))))]
    labelled = _LABELLED.findall(text)
    if labelled:
        return [(label, _Price(to_decimal(number))) for label, number in labelled]
    raise LayoutDrift(f"unrecognised price cell {text!r}")


def _labelled_dimension(label: str, default: str) -> str:
    if "音频" in label:
        return "input_audio" if default.startswith("input") else "output_audio"
    if "图片" in label or "图像" in label or "视频" in label:
        return "input_image" if default.startswith("input") else default
    return default


def _tier(text: str) -> dict[str, Any]:
    """`32K<Token≤128K`, `≤256K`, `256K~1M` -> {"context_tokens": {...}} in tokens."""
    compact = text.replace(" ", "")
    if _NOT_OFFERED.match(compact) or re.search(r"无阶梯|不区分|不分阶梯", compact):
        return {}
    match = re.fullmatch(BOUND + r"<(?:输入)?Token(?:数)?[≤<]" + BOUND, compact, re.I)
    if match:
        return {"context_tokens": {"min": tokens(*match.group(1, 2)), "max": tokens(*match.group(3, 4))}}
    match = re.fullmatch(r"(?:(?:输入)?Token(?:数)?)?[≤<]" + BOUND, compact, re.I)
    if match:
        return {"context_tokens": {"min": 0, "max": tokens(*match.group(1, 2))}}
    match = re.fullmatch(BOUND + r"[~～\-]" + BOUND, compact)
    if match:
        return {"context_tokens": {"min": tokens(*match.group(1, 2)), "max": tokens(*match.group(3, 4))}}
    match = re.fullmatch(r"(?:(?:输入)?Token(?:数)?)?[>≥]" + BOUND + r"|" + BOUND + r"[<≤](?:输入)?Token(?:数)?", compact, re.I)
    if match:
        number, suffix = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        return {"context_tokens": {"min": tokens(number, suffix), "max": None}}
    raise LayoutDrift(f"unrecognised input-length tier {text!r}")


# --- tables -----------------------------------------------------------------------


def _find(labels: list[str], test) -> int | None:
    return next((i for i, label in enumerate(labels) if test(label)), None)


def _model_id(text: str, display: bool) -> str | None:
    if not text:
        return None
    if display:
        candidate = re.split(r"[\u3000-\u9fff（(]", text)[0].strip().lower().replace(" ", "-")
    else:
        candidate = text.split(" ")[0]
    return candidate if candidate and _MODEL_ID.match(candidate) else None


def _header(table: _Table) -> tuple[int, list[list[str]], list[str]]:
    """(header rows, each column's header parts, each column's label)."""
    rows = table.rows
    n_header = header_rows(rows)
    parts_by_column = []
    for col in range(len(rows[0])):
        parts: list[str] = []
        for row in rows[:n_header]:
            if row[col].text and row[col].text not in parts:
                parts.append(row[col].text)
        parts_by_column.append(parts or [""])
    return n_header, parts_by_column, [" ".join(p) for p in parts_by_column]


def _is_hologres(table: _Table) -> bool:
    """A table with a `地域` (region) column: the Hologres list's layout, never Model Studio's."""
    if len(table.rows) < 2 or not table.rows[0]:
        return False
    return _find(_header(table)[2], lambda l: l.startswith("地域")) is not None


def _table_quotes(table: _Table) -> list[Quote]:
    rows = table.rows
    if len(rows) < 2 or not rows[0]:
        return []
    n_header, parts_by_column, labels = _header(table)
    model_col = _find(labels, lambda l: ("模型" in l or "model" in l.lower()) and "类别" not in l and "分类" not in l)
    if model_col is None:
        return []
    region_col = _find(labels, lambda l: l.startswith("地域"))
    scope_col = _find(labels, lambda l: "服务部署范围" in l)
    tier_col = _find(labels, lambda l: "Token" in l and any(k in l for k in ("Token数", "Token范围", "阶梯", "Token数量")) and "单价" not in l)
    category_col = _find(labels, lambda l: "模型类别" in l)
    if region_col is None and scope_col is None and table.region_heading and not _MAINLAND.search(table.region_heading):
        return []  # an international deployment section
    if scope_col is not None and region_col is None and (table.region_heading is None or not _MAINLAND.search(table.region_heading)):
        return []
    columns = [
        column
        for index, parts in enumerate(parts_by_column)
        if index not in (model_col, region_col, scope_col, tier_col, category_col)
        for column in [_price_column(index, parts)]
        if column is not None
    ]
    if not columns:
        return []
    display_names = region_col is not None  # the Hologres page shows display names (Qwen3.7-Max)
    quotes: list[Quote] = []
    model = None
    region_ok = True
    for row in rows[n_header:]:
        if region_col is not None and row[region_col].text:
            region_ok = bool(_MAINLAND.search(row[region_col].text)) and not _INTERNATIONAL.search(row[region_col].text)
        if scope_col is not None and row[scope_col].text and not _MAINLAND.search(row[scope_col].text):
            continue
        if not region_ok:
            continue
        name = row[model_col].text
        if name:
            model = _model_id(name, display_names)
        if model is None:
            continue
        conditions: dict[str, Any] = {}
        if tier_col is not None:
            conditions.update(_tier(row[tier_col].text))
        category = row[category_col].text if category_col is not None else ""
        for column in columns:
            for label, price in _cell_prices(row[column.index].text):
                dimension = column.dimension
                if label:
                    dimension = _labelled_dimension(label, dimension)
                elif dimension == "input" and category and re.search(r"图片|视频|图像", category) and "文本" not in category:
                    dimension = "input_image"
                quote_conditions = {**conditions, **column.conditions}
                if price.promo:
                    quote_conditions["promo"] = True
                quotes.append(
                    Quote(
                        model=model,
                        dimension=dimension,
                        price=price.amount,
                        currency="CNY",
                        conditions=quote_conditions,
                        list_price=price.list_price,
                        per=column.per,
                    )
                )
    return quotes


@register("alibaba", version=2)
def parse(page: Page) -> list[Quote]:
    tables = _tables(_document_html(page))
    if not tables:
        raise LayoutDrift("no <table> in the Model Studio pricing document")
    if any(_is_hologres(table) for table in tables):
        raise LayoutDrift("this is the Hologres managed-models price list, not Model Studio's: "
                          "a source of its own reads it, with parser alibaba-hologres")
    return _quotes(tables)


@register("alibaba-hologres", version=1)
def parse_hologres(page: Page) -> list[Quote]:
    tables = [table for table in _tables(_document_html(page)) if _is_hologres(table)]
    if not tables:
        raise LayoutDrift("no Hologres managed-models table (a '地域' column) in the page")
    return _quotes(tables)


def _quotes(tables: list[_Table]) -> list[Quote]:
    quotes: list[Quote] = []
    for table in tables:
        quotes.extend(_table_quotes(table))
    quotes = dedupe(quotes, "model", "dimension", "price", "conditions", "per")
    models = {q.model for q in quotes}
    model_studio = any(t.region_heading for t in tables)
    minimum = _MIN_MODELS_MODEL_STUDIO if model_studio else _MIN_MODELS_OTHER
    if len(models) < minimum:
        raise LayoutDrift(
            f"only {len(models)} models with mainland per-token prices (expected at least {minimum}); "
            "no table with a '模型 ID' column and '输入单价(每百万Token)' headers under 华北2（北京）?"
        )
    return quotes
