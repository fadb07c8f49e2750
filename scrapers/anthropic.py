"""Anthropic Claude API prices: the docs pricing page and claude.com/pricing.

Formats read (sniffed, one page may hold several):
- docs pricing page (platform.claude.com / docs.anthropic.com .../about-claude/pricing)
  as markdown (crawler copies, transcriptions, reader proxy) or as HTML <table>s:
  `Model | Base Input Tokens | 5m Cache Writes | 1h Cache Writes | Cache Hits &
  Refreshes | Output Tokens` with "$3 / MTok"; `Model | Batch input | Batch output`;
  long-context `Model | ≤ 200K input tokens | > 200K input tokens` whose cells hold
  "Input: $6 / MTok Output: $22.50 / MTok".
- claude.com/pricing (Webflow): no <table>; each model is a card, an <h3> name
  ("Opus 4.7") then labels and prices split over text nodes: `Input` `$` `5` `/ MTok`,
  `Prompt caching` `Write` ... `Read` ....
- the 2024 html-to-text dump of anthropic.com/api: "HAIKU" / " * Input: $0.25 / MTok"
  under "CLAUDE 3 PRICING", "CLAUDE 2.1" under legacy pricing.

Quotes: input, output, cache_write with conditions {"cache_ttl": "5m"|"1h"} (an
unlabelled cache write is the default 5-minute one; claude.com says "Prompt caching
pricing reflects 5-minute TTL"), cache hits/reads -> cached_input, batch tables ->
{"batch": True}, "> 200K" columns -> {"context_tokens": {"min": 200000, "max": None}}
(the "≤ 200K" column repeats the base price and stays unconditional).

Model ids are derived from display names: "Claude Sonnet 4.5" -> claude-sonnet-4-5,
"Opus 4.7" (card) -> claude-opus-4-7, "Claude Sonnet 4.5 / 4" -> both models,
"(deprecated)" and other parentheses dropped.  The batch toggle on claude.com is
computed by JavaScript (halving the shown prices): not read.  Tool tables (token
counts, not prices) and per-search / per-hour tool fees are skipped.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import tables
from scrapers._prices import find_price
from scrapers._quotes import Collector
from scrapers._table import grid
from scrapers._text import clean

_MIN_MODELS = 3
_FAMILY = re.compile(r"\b(opus|sonnet|haiku|instant)\b", re.I)


def _model_id(name: str) -> str:
    name = clean(name)
    name = re.sub(r"\([^)]*\)", " ", name).replace("*", " ")
    name = re.sub(r"[\s._/]+", "-", name.strip().lower()).strip("-")
    if not name.startswith("claude"):
        name = f"claude-{name}"
    return name


def _model_names(cell: str) -> list[str]:
    """'Claude Sonnet 4.5 / 4' -> ['Claude Sonnet 4.5', 'Claude Sonnet 4']."""
    cell = re.sub(r"\([^)]*\)", " ", clean(cell)).strip()
    parts = [p.strip() for p in cell.split(" / ")]
    names = [parts[0]]
    prefix = re.sub(r"\s*\d[\d.]*\s*$", "", parts[0])
    for part in parts[1:]:
        names.append(f"{prefix} {part}" if re.fullmatch(r"\d[\d.]*", part) else part)
    return [n for n in names if n]


def _column_meaning(label: str) -> tuple[str, dict[str, Any]] | None:
    """Header label -> (dimension, conditions); None for columns that are not prices."""
    label = clean(label).lower()
    conditions: dict[str, Any] = {}
    if "batch" in label:
        conditions["batch"] = True
    if "cache" in label and "write" in label:
        ttl = re.search(r"(\d+)\s*(m|h)\b", label)
        conditions["cache_ttl"] = f"{ttl.group(1)}{ttl.group(2)}" if ttl else "5m"
        return "cache_write", conditions
    if "cache" in label and ("hit" in label or "read" in label):
        return "cached_input", conditions
    if "input" in label and "token count" not in label:
        return "input", conditions
    if "output" in label:
        return "output", conditions
    return None


def _context_column(label: str) -> dict[str, Any] | None:
    """`> 200K input tokens` -> long-context conditions; `≤ 200K` -> {} (base price)."""
    label = clean(label)
    match = re.search(r"(>|≥|≤|<|<=|>=)\s*(\d+)\s*K", label, re.I)
    if not match:
        return None
    if match.group(1) in (">", "≥", ">="):
        return {"context_tokens": {"min": int(match.group(2)) * 1000, "max": None}}
    return {}


_LABELLED = re.compile(r"(input|output)\s*:\s*([^:]*?\$\s*[\d.,]+\s*(?:/\s*MTok)?)", re.I)


def _read_table(header: list[str], rows: list[list[str]], collector: Collector) -> None:
    labels = [clean(h).lower() for h in header]
    if "model" not in labels:
        return
    model_col = labels.index("model")
    columns: dict[int, tuple[str, Any]] = {}
    for index, label in enumerate(header):
        if index == model_col:
            continue
        context = _context_column(label)
        if context is not None:
            columns[index] = ("context", context)
            continue
        meaning = _column_meaning(label)
        if meaning is not None:
            columns[index] = ("plain", meaning)
    for row in rows:
        if model_col >= len(row) or not row[model_col].strip() or "[unclear" in row[model_col].lower():
            continue
        models = [_model_id(n) for n in _model_names(row[model_col])]
        for index, (kind, meaning) in columns.items():
            cell = row[index] if index < len(row) else ""
            if not cell or "[unclear" in cell.lower():
                continue
            if kind == "context":
                for dimension, text in _LABELLED.findall(cell):
                    price = find_price(text)
                    if price is None:
                        continue
                    for model in models:
                        collector.add(model, dimension.lower(), price.amount, meaning, price.per or 1_000_000)
                continue
            dimension, conditions = meaning
            price = find_price(cell)
            if price is None or price.currency is None:  # token counts ("735 tokens") are not prices
                continue
            for model in models:
                collector.add(model, dimension, price.amount, conditions, price.per or 1_000_000)


# --- claude.com/pricing cards --------------------------------------------------------

_CARD_LABELS = {"input": "input", "output": "output", "write": "cache_write", "read": "cached_input"}


def _parse_cards(tree, collector: Collector) -> None:
    body = tree.body
    if body is None:
        return
    headings = {clean(h.text()) for h in body.css("h2, h3, h4") if clean(h.text())}
    for node in body.css("script, style, svg, noscript, template"):
        node.decompose()
    lines = [clean(line) for line in body.text(separator="\n").split("\n")]
    lines = [line for line in lines if line]
    page_text = " ".join(lines)
    ttl = "1h" if re.search(r"reflects\s+(?:1|one)[- ]hour", page_text, re.I) else "5m"
    model = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if line in headings:
            model = _model_id(line) if _FAMILY.search(line) or line.lower().startswith("claude ") else None
            index += 1
            continue
        dimension = _CARD_LABELS.get(line.lower())
        if model and dimension:
            # the price is split over text nodes: "$" "5" "/ MTok"
            chunk = []
            for follower in lines[index + 1 : index + 5]:
                chunk.append(follower)
                if "mtok" in follower.lower() or "million" in follower.lower():
                    break
            text = " ".join(chunk)
            price = find_price(text) if "$" in text else None
            if price is not None:
                conditions = {"cache_ttl": ttl} if dimension == "cache_write" else {}
                collector.add(model, dimension, price.amount, conditions, price.per or 1_000_000)
                index += len(chunk) + 1
                continue
        index += 1


def _parse_html(tree, collector: Collector) -> None:
    for table in tree.css("table"):
        rows = [[cell.text for cell in row] for row in grid(table)]
        if rows:
            _read_table(rows[0], rows[1:], collector)
    _parse_cards(tree, collector)


# --- 2024 html-to-text dump -----------------------------------------------------------

_DUMP_PRICE = re.compile(r"^\*?\s*(Input|Output)\s*:\s*(.+)$", re.I)


def _parse_text_dump(text: str, collector: Collector) -> None:
    generation = ""
    model = None
    for raw in text.splitlines():
        line = clean(raw).lstrip("*").strip()
        if not line:
            continue
        found = _DUMP_PRICE.match(line)
        if found and model:
            price = find_price(found.group(2))
            if price is not None:
                collector.add(model, found.group(1).lower(), price.amount, {}, price.per or 1_000_000)
            continue
        if line != line.upper() or not re.search(r"[A-Z]", line):
            continue
        section = re.match(r"CLAUDE\s+(\d[\d.]*)\s+PRICING", line)
        if section:
            generation = section.group(1)
            model = None
        elif re.fullmatch(r"CLAUDE(\s+[\dA-Z.]+)+", line):
            model = _model_id(line)
        elif re.fullmatch(r"(OPUS|SONNET|HAIKU)(\s+\d[\d.]*)?", line):
            version = re.search(r"\d[\d.]*", line)
            family = line.split()[0]
            model = _model_id(f"{family} {version.group(0) if version else generation}".strip())
        else:
            model = None


@register("anthropic", version=2)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    collector = Collector("USD")
    markdown = tables(text)
    looks_html = bool(re.search(r"<(?:html|body|div|table)\b", text[:200000], re.I))
    for table in markdown:
        _read_table(table.header, table.rows, collector)
    if looks_html and not markdown:
        _parse_html(page.html(), collector)
    if not collector.quotes and re.search(r"^[ \t]*(?:\*[ \t]*)?Input[ \t]*:[ \t]*\$", text, re.M):
        _parse_text_dump(text, collector)
    models = {q.model for q in collector.quotes}
    if len(models) < _MIN_MODELS:
        raise LayoutDrift(
            f"only {len(models)} Claude models priced: no 'Base Input Tokens' table nor Input/Output price cards"
        )
    return collector.quotes
