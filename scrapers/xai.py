"""xAI (Grok) API prices: docs.x.ai/docs/models ("Models and Pricing").

Formats read (sniffed):
- the page's embedded catalogue `globalThis.__XAI_PUBLIC_MODELS__={"clusterConfigs":
  [{"clusterName", "languageModels": [...]}, ...]}` (raw HTML).  Token prices are
  INTEGER strings in units of $0.0001 per 1M tokens: `promptTextTokenPrice: "12500"` is
  $1.25 / 1M (price = n / 10_000, per 1M).  Read: promptTextTokenPrice -> input,
  cachedPromptTokenPrice -> cached_input, completionTextTokenPrice -> output,
  promptImageTokenPrice -> input_image (per token), and when `longContextThreshold` > 0
  the `...LongContext` fields -> context_tokens {"min": threshold, "max": None}.
  Values may carry the RSC "$n" number prefix.  A model listed in several clusters is
  read once (us-east-1 first, else the first cluster).  Image/video/voice entries use
  another fixed-point scale that no page here shows: not read from the payload.
- reader-proxy markdown (r.jina.ai): `| Model | Context | Input | Output |` ("$1.25",
  "Prices shown per million tokens"), `| Model | Cost |` for Imagine ("$0.05 / image"
  -> output_image per image, "$0.05 / sec" -> output_video per second), and the model
  cards ("### Grok 4.3 ... Input$1.25 / 1M tokens ... [View model](.../models/grok-4.3)"),
  whose id is the slug of the "View model" link.
Model ids are xAI's API ids (`grok-4.3`, `grok-4-1-fast-reasoning`), never derived
from display names.

Skipped: the Voice API table (priced per mode, no model id), tool invocation fees
("$5 / 1k calls", not per model), storage/download fees, and the batch discount, which
the page states only as "20%-50% off" (no per-model batch price).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import tables
from scrapers._prices import find_price, stated_scale
from scrapers._quotes import Collector
from scrapers._text import clean

_MIN_MODELS = 2
_MARKER = "__XAI_PUBLIC_MODELS__"
_TOKEN_SCALE = Decimal(10_000)  # payload units per $1 of a per-1M-tokens price
_PREFERRED_CLUSTER = "us-east-1"
_TOKEN_FIELDS = (
    ("promptTextTokenPrice", "input"),
    ("cachedPromptTokenPrice", "cached_input"),
    ("completionTextTokenPrice", "output"),
    ("promptImageTokenPrice", "input_image"),
)
_LONG_FIELDS = (
    ("promptTextTokenPriceLongContext", "input"),
    ("cachedPromptTokenPriceLongContext", "cached_input"),
    ("completionTokenPriceLongContext", "output"),
    ("completionTextTokenPriceLongContext", "output"),
)
_API_ID = re.compile(r"^[a-z][a-z0-9.\-]*\d[a-z0-9.\-]*$|^grok[a-z0-9.\-]*$")
_MODEL_LINK = re.compile(r"\[View model\]\(([^)\s]+)\)", re.I)
_CARD_PRICE = re.compile(r"^(Input|Output|Cached input)\s*(\$.*)$", re.I)


# --- embedded JSON catalogue -----------------------------------------------------------


def _payload(text: str) -> dict[str, Any]:
    at = text.find(_MARKER)
    start = text.find("{", text.find("=", at))
    if start < 0:
        raise LayoutDrift(f"{_MARKER} has no JSON object")
    try:
        payload, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        raise LayoutDrift(f"{_MARKER} is not valid JSON (not evaluated as JavaScript)") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("clusterConfigs"), list):
        raise LayoutDrift(f"{_MARKER} has no 'clusterConfigs' list")
    return payload


def _units(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if text.startswith("$n"):
        text = text[2:]
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _per_million(value: Any) -> Decimal | None:
    units = _units(value)
    return None if units is None else units / _TOKEN_SCALE


def _parse_payload(text: str, collector: Collector) -> None:
    clusters = [c for c in _payload(text)["clusterConfigs"] if isinstance(c, dict)]
    clusters.sort(key=lambda c: _PREFERRED_CLUSTER not in str(c.get("clusterName", "")))
    done: set[str] = set()
    for cluster in clusters:
        for entry in cluster.get("languageModels") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or entry["name"] in done:
                continue
            model = entry["name"].strip()
            done.add(model)
            for field, dimension in _TOKEN_FIELDS:
                price = _per_million(entry.get(field))
                if price is not None:
                    collector.add(model, dimension, price, {}, 1_000_000, "token")
            threshold = _units(entry.get("longContextThreshold"))
            if threshold is None or threshold <= 0:
                continue
            conditions = {"context_tokens": {"min": int(threshold), "max": None}}
            for field, dimension in _LONG_FIELDS:
                price = _per_million(entry.get(field))
                if price is not None:
                    collector.add(model, dimension, price, conditions, 1_000_000, "token")


# --- reader-proxy markdown -------------------------------------------------------------


def _cost_dimension(cell: str) -> tuple[str, str, int] | None:
    lowered = cell.lower()
    if re.search(r"/\s*image\b", lowered):
        return "output_image", "image", 1
    if re.search(r"/\s*(?:s|sec|second)\b", lowered):
        return "output_video", "second", 1
    return None


def _parse_markdown(text: str, collector: Collector) -> None:
    lines, found = text.splitlines(), tables(text)
    for index, table in enumerate(found):
        # What a bare "$1.25" is per: the caption under the table ("Prices shown per million
        # tokens", up to the next table), else a statement above it, else per 1M.
        below = lines[table.end:found[index + 1].start if index + 1 < len(found) else len(lines)]
        above = lines[found[index - 1].end if index else 0:table.start]
        scale = stated_scale("\n".join(below)) or stated_scale("\n".join(above)) or 1_000_000
        labels = [clean(h).lower() for h in table.header]
        if "model" not in labels:
            continue
        model_col = labels.index("model")
        for row in table.rows:
            if model_col >= len(row):
                continue
            model = clean(row[model_col]).strip("`")
            if not _API_ID.match(model):
                continue
            for index, label in enumerate(labels):
                cell = row[index] if index < len(row) else ""
                price = find_price(cell) if "$" in cell else None
                if price is None:
                    continue
                if label.startswith("cached"):
                    collector.add(model, "cached_input", price.amount, {}, price.per or scale, "token")
                elif label.startswith("input"):
                    collector.add(model, "input", price.amount, {}, price.per or scale, "token")
                elif label.startswith("output"):
                    collector.add(model, "output", price.amount, {}, price.per or scale, "token")
                elif label in ("cost", "price"):
                    meaning = _cost_dimension(cell)
                    if meaning is not None:
                        collector.add(model, meaning[0], price.amount, {}, meaning[2], meaning[1])
    _parse_cards(text, collector)


def _parse_cards(text: str, collector: Collector) -> None:
    """`### Grok 4.3` cards: `Input$1.25 / 1M tokens`, id from the `[View model](...)` link."""
    for block in re.split(r"^#{2,4}\s+", text, flags=re.M)[1:]:
        link = _MODEL_LINK.search(block)
        if not link:
            continue
        model = link.group(1).rstrip("/").rsplit("/", 1)[-1]
        if not _API_ID.match(model):
            continue
        for line in block.splitlines():
            found = _CARD_PRICE.match(clean(line))
            if not found:
                continue
            price = find_price(found.group(2))
            if price is None:
                continue
            dimension = {"input": "input", "output": "output", "cached input": "cached_input"}[found.group(1).lower()]
            collector.add(model, dimension, price.amount, {}, price.per or 1_000_000, "token")


@register("xai", version=2)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    collector = Collector("USD")
    if _MARKER in text:
        _parse_payload(text, collector)
    else:
        _parse_markdown(text, collector)
    models = {q.model for q in collector.quotes}
    if len(models) < _MIN_MODELS:
        raise LayoutDrift(
            f"only {len(models)} Grok models priced: no {_MARKER} payload nor a '| Model | Input | Output |' table"
        )
    return collector.quotes
