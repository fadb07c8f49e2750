"""Mistral AI: mistral.ai/pricing (Next.js), with the older docs.mistral.ai layouts for backfill.

Formats, sniffed in this order:

- mistral.ai/pricing HTML: the prices are not in the markup but in the React Server
  Components payload (`self.__next_f.push([1, "..."])` chunks).  The chunks are joined and
  read as Next.js flight rows (`<id>:<json>` lines, `<id>:T<hexlen>,<text>` length-prefixed
  text rows that are not newline-terminated).  Every JSON object with a `price` list of
  `{value, price_dollar, price_euro}` items is a model card: `"price_dollar": "$$1.5"`
  (doubled `$`), `"1.25€"`, sometimes wrapped in HTML (`<p>0.5&euro;</p>`).  Each currency
  is its own quote.  A featured grid repeats some cards (same name, same prices).
- docs.mistral.ai markdown (2024 Docusaurus source): `| Model | Endpoint | Input (USD) | ... |`
  tables, cells like `0.25$ / 1M tokens` and `0.2€ / 1M tokens`; the first version is EUR only.
- html-to-text dump of the 2024 docs table: cells run together without separators
  (`Mistral 7Bopen-mistral-7b0.25$ / 1M tokens0.25$ / 1M tokens...`); read by endpoint id
  followed by as many prices as the header has `Input (USD)` / `Output (EUR)` columns.

Model ids: the API id (`mistral-medium-latest`, `open-mistral-7b`) where the page gives one;
cards without one (`Classifier API model 8B`) use the lower-cased, hyphenated name.  The
pricing page gives one `-latest` alias to several cards (`mistral-small-latest` on both
`Mistral Small 4` and `Mistral Small 3.2`): the first card keeps the alias, later cards with a
different name are quoted under their name (`mistral-small-3-2`).  A `-latest` alias's prices
carry the name of the card it is on as `serves` (the 2024 docs tables: the Model column) when
that name has a version (`Mistral Large 3`, `Devstral 2`; a size such as the 8B of `Ministral
8B` is none), so that the diff tells a price cut from the alias moving to the next generation
(pipeline.diff).  A bare line name (`Codestral`, `Mistral Large` in 2024, for Mistral Large
2402) says nothing of the generation, and is left out.

Not quoted: the Le Chat subscription plans, the `Tools` cards (connectors, web search,
code execution: not a model), fine-tuning training and model storage fees, and `Available on`
endpoint notes.  A euro cell that holds no price (the page has `Input (/M tokens)` in the euro
field of Pixtral Large) is skipped.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from decimal import Decimal

from pipeline.diff import moving_alias
from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import tables
from scrapers._prices import to_decimal
from scrapers._quotes import dedupe
from scrapers._text import clean

_MIN_MODELS = 3  # the 2024 docs tables list 4-6 models
_MIN_MODELS_RSC = 8  # the pricing page lists ~30; a handful means only the featured grid came


_PUSH = re.compile(r'self\.__next_f\.push\(\[1,\s*("(?:[^"\\]|\\.)*")\]\)')
_ROW_ID = re.compile(rb"([0-9a-zA-Z]*):")
_TAG = re.compile(r"<[^>]+>")
# `$$1.5`, `$0.5`, `1.25€`, `€2`, `0.25$` (docs), `1$` (classifier card)
_AMOUNT = r"(\d[\d,]*(?:\.\d+)?)"
_PRICE = re.compile(rf"(?:(\$+|€)\s*{_AMOUNT}|{_AMOUNT}\s*(\$|€))")
_FREE = re.compile(r"\bfree\b", re.I)
_LIMITED = re.compile(r"limited (?:period|time)|limited-time|for a limited", re.I)
_MODALITY = re.compile(r"^\s*\(\s*(audio|text|image|video)\s*\)", re.I)


@register("mistral", version=4)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    minimum = _MIN_MODELS
    if "self.__next_f.push" in text:
        quotes = _parse_rsc(text)
        minimum = _MIN_MODELS_RSC
    elif _looks_like_html(text):
        raise LayoutDrift("HTML without the Next.js RSC payload (self.__next_f.push) that holds the prices")
    elif any(t.column("Input") is not None for t in tables(text)):
        quotes = _parse_docs_markdown(text)
    elif re.search(r"Model\s*Endpoint\s*(?:Input|Output)\s*\((?:USD|EUR)\)", text):
        quotes = _parse_text_dump(text)
    else:
        raise LayoutDrift("no Mistral price payload, price table or 'Model Endpoint Input (USD)' text found")
    models = {q.model for q in quotes}
    if len(models) < minimum:
        raise LayoutDrift(f"too few priced models on the Mistral page ({len(models)})")
    return dedupe(quotes, "model", "dimension", "currency", "unit", "conditions")


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:2000].lower()
    return head.startswith(("<!doctype html", "<html")) or "<head" in head


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", clean(name).lower()).strip("-")


# --------------------------------------------------------------------------- RSC payload


def _flight_rows(text: str) -> list:
    """JSON values of the Next.js flight rows carried by the `self.__next_f.push` chunks."""
    try:
        stream = "".join(json.loads(chunk) for chunk in _PUSH.findall(text)).encode("utf-8")
    except ValueError as exc:  # a bad escape or a lone surrogate in a push chunk
        raise LayoutDrift(f"an RSC push chunk is not a valid JSON string ({exc.__class__.__name__})") from None
    values = []
    pos = 0
    while pos < len(stream):
        match = _ROW_ID.match(stream, pos)
        if not match:
            # Not a row start: resynchronise on the next line.
            newline = stream.find(b"\n", pos)
            if newline < 0:
                break
            pos = newline + 1
            continue
        body = match.end()
        if stream[body : body + 1] == b"T":
            comma = stream.find(b",", body)
            if comma < 0:
                break
            try:
                length = int(stream[body + 1 : comma], 16)
            except ValueError:
                length = 0
            pos = comma + 1 + max(length, 0)  # always forward: a bad length must not loop
            continue
        end = stream.find(b"\n", body)
        end = len(stream) if end < 0 else end
        payload = stream[body:end]
        pos = end + 1
        if payload[:1] in (b"[", b"{"):
            try:
                values.append(json.loads(payload))
            except ValueError:
                continue
    return values


def _cards(value, found: list) -> None:
    if isinstance(value, dict):
        prices = value.get("price")
        if isinstance(prices, list) and any(
            isinstance(p, dict) and ("price_dollar" in p or "price_euro" in p) for p in prices
        ):
            found.append(value)
            return
        for item in value.values():
            _cards(item, found)
    elif isinstance(value, list):
        for item in value:
            _cards(item, found)


def _parse_rsc(text: str) -> list[Quote]:
    cards: list[dict] = []
    for value in _flight_rows(text):
        _cards(value, cards)
    if not cards:
        raise LayoutDrift("RSC payload holds no model cards with 'price_dollar' / 'price_euro'")
    quotes: list[Quote] = []
    alias_owner: dict[str, str] = {}
    for card in cards:
        name = clean(str(card.get("name") or ""))
        if not name or ("title" in card and "pricing_plans_id" in card):
            continue  # a Le Chat plan, not an API model
        if str(card.get("type") or "").strip().lower() == "tools":
            continue
        api = clean(str(card.get("api") or card.get("api_endpoint") or ""))
        if api:
            owner = alias_owner.setdefault(api, name.lower())
            model = api if owner == name.lower() else _slug(name)
        else:
            model = _slug(name)
        card_quotes = []
        for item in card["price"]:
            if not isinstance(item, dict):
                continue
            label = clean(_html_text(str(item.get("value") or "")))
            detail = _html_text(str(item.get("detail") or ""))
            for field, currency in (("price_dollar", "USD"), ("price_euro", "EUR")):
                raw = item.get(field)
                if not raw:
                    continue
                card_quotes += _card_quotes(model, label, _html_text(str(raw)), detail, currency)
        quotes += _serving(card_quotes, name)
    return quotes


# A size, not a version: `Ministral 8B`, `Pixtral 12B`, `Mixtral 8x22B`.
_SIZE = re.compile(r"\b\d+(?:\.\d+)?(?:x\d+)?\s*[BM]\b", re.I)


def _serving(quotes: list[Quote], name: str) -> list[Quote]:
    """The quotes of a moving alias, marked with the model the page names behind it (`serves`),
    if the name has a version (a number that is not a size), and is not the alias itself (a docs
    table without an Endpoint column has the id in its Model column)."""
    if (not quotes or not moving_alias(quotes[0].model) or not re.search(r"\d", _SIZE.sub("", name))
            or moving_alias(name) or _slug(name) == quotes[0].model):
        return quotes
    return [replace(quote, conditions={**quote.conditions, "serves": name}) for quote in quotes]


def _html_text(value: str) -> str:
    # Paragraphs apart, so that a `+ 50% off with batch-APIs` note stays its own line.
    value = re.sub(r"</p>|<br\s*/?>|</div>", "\n", value, flags=re.I)
    return html.unescape(_TAG.sub("", value))


def _card_quotes(model: str, label: str, text: str, detail: str, currency: str) -> list[Quote]:
    lowered = label.lower()
    if not lowered or lowered.startswith(("available on", "training", "storage")):
        return []
    first_line = next((line for line in text.splitlines() if _PRICE.search(line) or _FREE.search(line)), "")
    if not first_line:
        return []
    if not _PRICE.search(first_line):
        # `Free` for a limited period (Leanstral): input and output at 0.
        conditions = {"promo": True} if _LIMITED.search(detail + " " + first_line) else {}
        dimension = _dimension(lowered)
        dims = [dimension] if dimension in ("input", "output") else ["input", "output"]
        return [Quote(model, dim, Decimal(0), currency, dict(conditions)) for dim in dims]
    quotes = []
    for match, tail in _price_segments(first_line):
        symbol = match.group(1) or match.group(4)
        if (symbol == "€") != (currency == "EUR"):
            continue
        amount = to_decimal(match.group(2) or match.group(3))
        modality = _MODALITY.match(tail)
        dimension = _dimension(lowered, modality.group(1).lower() if modality else None)
        if dimension is None:
            continue
        per, unit = _unit(lowered, tail, modality.group(1).lower() if modality else None)
        quotes.append(Quote(model, dimension, amount, currency, {}, per=per, unit=unit))
    return quotes


def _price_segments(text: str) -> list[tuple[re.Match, str]]:
    matches = list(_PRICE.finditer(text))
    return [
        (match, text[match.end() : matches[i + 1].start() if i + 1 < len(matches) else len(text)])
        for i, match in enumerate(matches)
    ]


def _dimension(label: str, modality: str | None = None) -> str | None:
    if "input" in label:
        if modality and modality != "text":
            return f"input_{modality}"
        return "input_audio" if label.startswith("audio") else "input"
    if "output" in label:
        return "output" if not modality or modality == "text" else f"output_{modality}"
    if label.startswith("audio generation"):
        return "output_audio"
    if label == "price":
        return "per_request"
    slug = re.sub(r"[^a-z0-9]+", "_", label).strip("_")
    return slug or None


def _unit(label: str, tail: str, modality: str | None) -> tuple[int, str]:
    """Quantity and unit priced: per minute of audio, per 1,000 pages, per 1k characters, else per 1M tokens."""
    if re.search(r"/\s*min\b|per\s+min", label) and modality != "text":
        return 1, "minute"
    match = re.search(r"(?:/|per)\s*(?:per\s*)?(1k|\d[\d,]*)?\s*(pages?|characters?|calls?|images?)\b", tail, re.I)
    if match:
        count = (match.group(1) or "1").lower()
        per = 1000 if count == "1k" else int(count.replace(",", ""))
        return per, match.group(2).lower().rstrip("s")
    return 1_000_000, "token"


# --------------------------------------------------------------------------- docs markdown


def _parse_docs_markdown(text: str) -> list[Quote]:
    quotes: list[Quote] = []
    for table in tables(text):
        model_col = table.column("Model")
        endpoint_col = table.column("Endpoint")
        price_cols = [
            (index, name) for index, name in enumerate(table.header) if re.search(r"\b(input|output)\b", name, re.I)
        ]
        if model_col is None or not price_cols:
            continue
        for row in table.rows:
            model = ""
            if endpoint_col is not None and endpoint_col < len(row):
                model = clean(row[endpoint_col])
            if not model and model_col < len(row):
                model = clean(row[model_col])
            if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", model):
                model = _slug(model)
            if not model:
                continue
            named = clean(row[model_col]) if model_col < len(row) else ""
            quotes += _serving([quote for index, name in price_cols if index < len(row)
                                if (quote := _docs_cell(model, name, row[index])) is not None], named)
    return quotes


def _docs_cell(model: str, header: str, cell: str) -> Quote | None:
    cell = clean(cell)
    match = _PRICE.search(cell)
    if not match:
        return None
    symbol = match.group(1) or match.group(4)
    currency = "EUR" if symbol == "€" else "USD"
    if re.search(r"\(\s*EUR\s*\)", header, re.I):
        currency = "EUR"
    elif re.search(r"\(\s*USD\s*\)", header, re.I):
        currency = "USD"
    per = 1000 if re.search(r"/\s*1\s*K\s*tokens", cell, re.I) else 1_000_000
    dimension = "output" if re.search(r"\boutput\b", header, re.I) else "input"
    return Quote(model, dimension, to_decimal(match.group(2) or match.group(3)), currency, {}, per=per)


# --------------------------------------------------------------------------- text dump

_DUMP_HEADER = re.compile(r"Model\s*Endpoint\s*((?:(?:Input|Output)\s*\((?:USD|EUR)\)\s*)+)")
_DUMP_COLUMN = re.compile(r"(Input|Output)\s*\((USD|EUR)\)")
_DUMP_ID = re.compile(
    r"(?:open-)?(?:mistral|mixtral|codestral|pixtral|ministral|magistral|devstral|voxtral)[a-z0-9.\-]*?"
    r"(?=\d+(?:\.\d+)?\s*[$€]\s*/)"
)
_DUMP_PRICE = re.compile(r"(\d+(?:\.\d+)?)\s*([$€])\s*/\s*1\s*([MK])\s*tokens", re.I)


def _parse_text_dump(text: str) -> list[Quote]:
    flat = re.sub(r"\s+", " ", text)
    headers = list(_DUMP_HEADER.finditer(flat))
    quotes: list[Quote] = []
    for index, header in enumerate(headers):
        columns = [(kind.lower(), currency.upper()) for kind, currency in _DUMP_COLUMN.findall(header.group(1))]
        body_end = headers[index + 1].start() if index + 1 < len(headers) else len(flat)
        body = flat[header.end() : body_end]
        ids = list(_DUMP_ID.finditer(body))
        for position, match in enumerate(ids):
            end = ids[position + 1].start() if position + 1 < len(ids) else len(body)
            prices = list(_DUMP_PRICE.finditer(body, match.end(), end))
            if len(prices) < len(columns):
                raise LayoutDrift(f"{match.group(0)}: {len(prices)} prices for {len(columns)} columns in the text dump")
            for (kind, currency), price in zip(columns, prices):
                symbol_currency = "EUR" if price.group(2) == "€" else "USD"
                if symbol_currency != currency:
                    raise LayoutDrift(f"{match.group(0)}: {price.group(0)!r} under a {currency} column")
                per = 1000 if price.group(3).upper() == "K" else 1_000_000
                quotes.append(Quote(match.group(0), kind, to_decimal(price.group(1)), currency, {}, per=per))
    return quotes
