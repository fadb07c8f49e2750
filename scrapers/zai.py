"""Z.AI (Zhipu international): docs.z.ai/guides/overview/pricing, USD.

A Mintlify docs page, read as raw HTML or as reader-proxy markdown (r.jina.ai).  Sections
`Text Models` / `Vision Models` hold `| Model | Input | Cached Input | Cached Input Storage |
Output |` tables ("Prices per 1M tokens."); `Image Generation Models` and `Video Generation
Models` hold `| Model | Price |` tables whose unit is only in the sentence above them
("Prices per image." / "Prices per video.").  Traps:

- In the reader markdown the section headings are empty anchor links
  (`### [​](...#text-models)`) with the title on the next line, so the section is read from
  the text between the previous table and this one, not from the heading.
- `Limited-time Free` -> 0 with promo; `Free` -> 0; `-` and `\\` -> no price.
- `$0.03 / MTok (equivalent to approximately $0.0024/minute)`: the parenthesis restates the price.
- Ids are the lower-cased model names (`GLM-4.6` -> `glm-4.6`), as the API takes them.

Not quoted: `Built-in Tools` (web search per use, not a model) and `Agents` (agent products).
"""

from __future__ import annotations

import re
from decimal import Decimal

from pipeline.errors import LayoutDrift
from scrapers import TOKENS_PER_MILLION, Page, Quote, register
from scrapers._markdown import tables
from scrapers._prices import stated_scale, to_decimal
from scrapers._quotes import dedupe
from scrapers._table import grid
from scrapers._text import clean

_MIN_MODELS = 5


_DOLLAR = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)")
_NO_PRICE = re.compile(r"^(?:-|—|\\|/|n/?a|not supported|not available)?$", re.I)
_EQUIVALENT = re.compile(r"\((?:[^)]*\b(?:equivalent|approx)[^)]*)\)", re.I)
_COLUMNS = {
    "cached input storage": "cache_storage",
    "cached input": "cached_input",
    "input": "input",
    "output": "output",
    "price": "price",
}


@register("zai", version=2)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    head = text.lstrip()[:2000].lower()
    if head.startswith(("<!doctype html", "<html")) or "<head" in head:
        found = _html_tables(page)
    else:
        found = _markdown_tables(text)
    quotes: list[Quote] = []
    for context, header, rows in found:
        quotes += _table_quotes(context, header, rows)
    models = {q.model for q in quotes}
    if len(models) < _MIN_MODELS or not any(q.dimension == "output" for q in quotes):
        raise LayoutDrift(f"no Z.AI price tables with 'Model' and 'Input' / 'Output' headers ({len(models)} models)")
    return dedupe(quotes, "model", "dimension", "unit", "conditions")


def _html_tables(page: Page) -> list[tuple[str, list[str], list[list[str]]]]:
    tree = page.html()
    root = tree.css_first("#content-area") or tree.css_first("main") or tree.body
    if root is None:
        return []
    found = []
    context: list[str] = []
    for node in root.css("h1, h2, h3, h4, p, span[data-as='p'], table"):
        if node.tag == "table":
            rows = [[cell.text for cell in row] for row in grid(node)]
            if rows:
                found.append((" ".join(context), rows[0], rows[1:]))
            context = []
        elif node.tag in ("h1", "h2", "h3", "h4"):
            context = [clean(node.text(separator=" "))]
        else:
            context.append(clean(node.text(separator=" ")))
    return found


def _markdown_tables(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    lines = text.splitlines()
    found = []
    previous_end = 0
    for table in tables(text):
        context = " ".join(clean(line) for line in lines[previous_end:table.start] if line.strip())
        found.append((context[-400:], table.header, table.rows))
        previous_end = table.end
    return found


def _model_id(name: str) -> str:
    return re.sub(r"\s+", "-", clean(name).lower())


def _table_quotes(context: str, header: list[str], rows: list[list[str]]) -> list[Quote]:
    header = [clean(h).lower() for h in header]
    if not header or header[0] != "model":
        return []  # `Tool | Cost`, `Agent | Price`: not models
    roles = {}
    for index, name in enumerate(header[1:], start=1):
        for label, role in _COLUMNS.items():
            if name == label or name.startswith(label + " "):
                roles[index] = role
                break
    if not roles:
        return []
    lowered = context.lower()
    per = stated_scale(context) or TOKENS_PER_MILLION  # "Prices per 1M tokens." above the table
    quotes = []
    for row in rows:
        if not row or not clean(row[0]):
            continue
        model = _model_id(row[0])
        for index, role in roles.items():
            if index >= len(row):
                continue
            priced = _price(row[index])
            if priced is None:
                continue
            amount, promo, unit_text = priced
            conditions = {"promo": True} if promo else {}
            if role != "price":
                quotes.append(Quote(model, role, amount, "USD", conditions, per=per))
                continue
            dimension, per, unit = _price_column_unit(lowered, unit_text)
            quotes.append(Quote(model, dimension, amount, "USD", conditions, per=per, unit=unit))
    return quotes


def _price(cell: str) -> tuple[Decimal, bool, str] | None:
    text = clean(_EQUIVALENT.sub("", cell))
    if _NO_PRICE.match(text):
        return None
    if re.search(r"limited[- ]time free|限时免费", text, re.I):
        return Decimal(0), True, ""
    match = _DOLLAR.search(text)
    if match is None:
        if re.fullmatch(r"free|免费", text, re.I):
            return Decimal(0), False, ""
        return None
    promo = bool(re.search(r"limited[- ]time|discount|\d+\s*%\s*off", text, re.I))
    return to_decimal(match.group(1)), promo, text[match.end() :]


def _price_column_unit(context: str, unit_text: str) -> tuple[str, int, str]:
    """Dimension, per and unit of a bare `Price` column, from the cell or the section text."""
    unit_text = unit_text.lower()
    if re.search(r"mtok|1m tokens|million", unit_text):
        return ("input_audio" if "audio" in context else "input"), 1_000_000, "token"
    if "per image" in context or "image generation" in context:
        return "output_image", 1, "image"
    if "per video" in context or "video generation" in context:
        return "output_video", 1, "video"
    if "per 1m tokens" in context:
        return "input", 1_000_000, "token"
    return "per_request", 1, "request"
