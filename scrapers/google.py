"""Google Gemini Developer API: ai.google.dev/gemini-api/docs/pricing, via reader-proxy markdown.

One `## <Model>` section per model, the API ids on an italic code line under it
(`_\\`gemini-2.5-pro\\`_`), then one `| | Free Tier | Paid Tier, per 1M tokens in USD |`
table per service tab.  Traps:

- The tabs (`[Standard](#standard)[Batch](#batch)[Flex](#flex)[Priority](#priority)`) are
  links above the tables and the tables themselves carry no heading: the n-th table of a
  section is the n-th tab.  Batch -> conditions.batch, Flex/Priority -> conditions.tier.
  A section may list more tabs than it has tables (then the first tables are the first tabs).
- Paid cells pack several prices: `$1.25, prompts <= 200k tokens $2.50, prompts > 200k tokens`
  (-> context_tokens), `$0.30 (text / image / video) $1.00 (audio)` (-> input / input_audio),
  `$0.15 $1.00 / 1,000,000 tokens per hour (storage price)` (-> cached_input / cache_storage),
  `Non-thinking: $0.60 Thinking: $3.50` (2025 layout -> conditions.mode).
  `Equivalent to $0.045 per image` clauses, parenthesised `($0.00012 per image)` equivalents,
  `or $0.005/min` alternatives and footnoted `$0.0006 (image)*` per-image figures are
  restatements, not token prices, and are skipped.
- The Free Tier column: `Free of charge` is recorded as price 0 with conditions.tier = "free"
  (rate-limited); the paid column is the price list.
- Image / video / music tables (`per Image`, `per second`, `per request`) name the variant
  in the row label (`Imagen 4 Fast image price`): matched against the section's ids.
- A section listing several ids for one token price list (`gemini-3.1-pro-preview` and
  `...-customtools`) is quoted under its first id.

The raw HTML of cloud.google.com's Vertex / Agent Platform pricing is a different price list
(other prices, per-character legacy rows, regional notes): it is refused with LayoutDrift.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_left
from decimal import Decimal

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import links, split_row, strip_links, tables
from scrapers._prices import to_decimal
from scrapers._quotes import dedupe
from scrapers._text import clean

_MIN_MODELS = 5

# Every pattern here runs in time linear in the text (see scrapers/_markdown.py): `## ` and one more
# character make a section line; its title is cut with str methods (see `_section_title`).
_SECTION = re.compile(r"##\s.")
_CODE = re.compile(r"`([^`]+)`")
_TAB_CONDITIONS = {
    "standard": {},
    "batch": {"batch": True},
    "flex": {"tier": "flex"},
    "priority": {"tier": "priority"},
}
_DOLLAR = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)")
# A footnote mark may follow the amount ("$4.50* / 1,000,000 tokens per hour"): still the storage price.
_STORAGE = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)[*†‡]*\s*/\s*1,?000,?000\s*tokens\s*per\s*hour"
                      r"(?:\s*\(storage price\))?", re.I)
_EQUIVALENT = re.compile(r"\bequivalent to\b.*$", re.I)
_PROMPT_TIER = re.compile(r"prompts?\s*(<=|<|>=|>)\s*(\d+(?:\.\d+)?)\s*([km]?)", re.I)
# The first `(...)`, matched from the start: searched for, `\(([^)]*)\)` rescans the rest of the text
# from every `(` that no `)` follows.
_PAREN = re.compile(r"[^(]*\(([^)]*)\)")
_LABEL_CHARS = string.ascii_letters + " /-"
_PER_IMAGE = re.compile(r"per\s+(?:([\d.]+K(?:/[\d.]+K)?)\s+)?image", re.I)
_NOT_PRICED = re.compile(r"(?:not available|n/?a|-|—)?", re.I)  # of the stripped cell
_FREE = re.compile(r"free of charge", re.I)


@register("google", version=2)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    head = text[:5000]
    if _looks_like_html(head):
        # `[^<>]*`, not `[^>]*`: else every `<title` with no `>` after it rescans the text to the end.
        title = re.search(r"<title[^<>]*>([^<]*)</title>", text[:200_000], re.I)
        if title and re.search(r"google cloud|vertex|agent platform", title.group(1), re.I):
            raise LayoutDrift(
                "this is the Google Cloud Vertex / Agent Platform price list, not the Gemini API "
                "page (ai.google.dev); it is a different price list"
            )
        raise LayoutDrift("raw HTML: the google parser reads the reader-proxy markdown of ai.google.dev")
    quotes = _parse_markdown(text)
    models = {q.model for q in quotes}
    if len(models) < _MIN_MODELS:
        raise LayoutDrift(
            f"no 'Free Tier | Paid Tier' price tables for enough models (found {len(models)})"
        )
    return quotes


def _looks_like_html(head: str) -> bool:
    stripped = head.lstrip().lower()
    return stripped.startswith("<!doctype html") or stripped.startswith("<html") or "<head" in stripped[:2000]


# --------------------------------------------------------------------------- markdown


def _parse_markdown(text: str) -> list[Quote]:
    lines = text.splitlines()
    sections = [(i, clean(title)) for i, line in enumerate(lines) if (title := _section_title(line)) is not None]
    starts = [index for index, _title in sections]
    all_tables = tables(text)
    quotes: list[Quote] = []
    by_section: dict[int, list] = {}
    for table in all_tables:
        above = bisect_left(starts, table.line - 1)  # how many sections start above the table
        if above:
            by_section.setdefault(starts[above - 1], []).append(table)
    titles = dict(sections)
    for start, section_tables in by_section.items():
        first_table = section_tables[0].line - 1
        preamble = lines[start + 1 : first_table]
        ids = _section_ids(preamble)
        title = _strip_title(titles[start])
        tabs = _tabs(preamble)
        for position, table in enumerate(section_tables):
            tab = _table_tab(table, tabs, position)
            if tab is None:
                continue
            raw_rows = [split_row(line) for line in lines[table.line + 1 : table.end]]
            quotes += _table_quotes(table, raw_rows, ids, title, tab)
    return dedupe(quotes, "model", "dimension", "unit", "conditions")


def _section_title(line: str) -> str | None:
    r"""The title of a `## Gemini 2.5 Pro` section line, without closing marks; None for another line.

    Cut with str methods: the regex `##\s+(.+?)\s*#*\s*$` backtracks cubically over a run of spaces.
    """
    if not _SECTION.match(line):
        return None
    return line[2:].strip().rstrip("#").rstrip()


def _tabs(preamble: list[str]) -> list[str]:
    """The service tabs that the links above a section's tables name: `[Batch](#batch)` -> "batch"."""
    tabs = []
    for line in preamble:
        for _start, _end, label, target in links(line):
            _page, anchor, tab = target.rpartition("#")
            if label and anchor and tab.lower() in _TAB_CONDITIONS:
                tabs.append(tab.lower())
    return tabs


def _strip_title(title: str) -> str:
    title = strip_links(title)
    return clean("".join(ch for ch in title if ch.isalnum() or ch in " .-_()"))


def _section_ids(preamble: list[str]) -> list[str]:
    """API ids from the first line of code spans under the section title."""
    for line in preamble:
        stripped = line.strip()
        if "`" in stripped and not stripped.startswith(("[", "|", "*   [")):
            ids = [clean(code) for code in _CODE.findall(stripped)]
            ids = [i for i in ids if re.fullmatch(r"[a-z0-9][a-z0-9.\-_]*", i)]
            if ids:
                return ids
    return []


def _slug(name: str) -> str:
    # No `(` after the last `)` can close: left out of the regex, which would rescan the rest from each.
    closed = name.rfind(")") + 1
    name = re.sub(r"\(.*?\)", "", name[:closed]) + name[closed:]
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-")


def _table_tab(table, tabs: list[str], position: int) -> str | None:
    for heading in reversed(table.headings):
        if heading.lower() in _TAB_CONDITIONS:
            return heading.lower()
    if position < len(tabs):
        return tabs[position]
    if not tabs and position == 0:
        return "standard"
    return None


def _table_quotes(table, raw_rows, ids: list[str], title: str, tab: str) -> list[Quote]:
    paid = table.column("Paid Tier")
    if paid is None:
        return []
    free = table.column("Free Tier")
    header = table.header[paid].lower()
    currency = "USD" if ("usd" in header or "$" in header) else None
    if currency is None:
        raise LayoutDrift(f"paid-tier header without a currency: {table.header[paid]!r}")
    tab_conditions = _TAB_CONDITIONS[tab]
    quotes: list[Quote] = []
    if re.search(r"per\s+1m\s+tokens", header):
        model = ids[0] if ids else _slug(title)
        for row, raw in zip(table.rows, raw_rows):
            if len(row) <= paid:
                continue
            base = _token_dimension(row[0])
            if base is None:
                continue
            raw_cell = raw[paid] if len(raw) > paid else row[paid]
            paid_quotes = _token_cell(model, base, _prepare(raw_cell), currency, tab_conditions)
            quotes += paid_quotes
            if tab == "standard" and free is not None and len(row) > free and _FREE.search(row[free]):
                if base in ("web_search", "maps_grounding"):
                    continue
                # The free tier prices what the paid tier prices (`$20.00 (audio)` -> output_audio).
                dims = [q.dimension for q in paid_quotes if q.unit == "token"]
                dims = [d for d in dict.fromkeys(dims) if d != "cache_storage" or base == "cache_storage"]
                for dimension in dims or [base]:
                    quotes.append(Quote(model, dimension, Decimal(0), currency, {"tier": "free"}))
        return quotes
    unit = _unit_of_header(header)
    if unit is None:
        return []
    for row in table.rows:
        if len(row) <= paid:
            continue
        label = row[0]
        if label.lower().startswith("used to improve"):
            continue
        model = _match_variant(label, ids) if ids else _slug(title)
        if model is None:
            continue
        dimension = _media_dimension(label, unit)
        quotes += _media_cell(model, dimension, unit, _prepare(row[paid]), currency, tab_conditions)
    return quotes


def _prepare(cell: str) -> str:
    cell = strip_links(cell)
    cell = re.sub(r"<br\s*/?>", " ", cell)
    cell = cell.replace("**", "").replace("__", "")
    return clean(cell)


def _token_dimension(label: str) -> str | None:
    label = clean(label).lower().rstrip("*").strip()
    if label.startswith("used to improve") or "tuning" in label or "image generation" in label:
        return None
    if "caching" in label:
        return "cache_storage" if "storage" in label else "cached_input"
    for modality in ("image", "audio", "video"):
        if label.startswith(f"{modality} input"):
            return f"input_{modality}"
    if label.startswith(("input", "text input")):
        return "input"
    if label.startswith(("output", "text output")):
        return "output"
    if label.startswith("grounding with google maps"):
        return "maps_grounding"
    if label.startswith("grounding with google"):
        return "web_search"
    return None


def _modality(label: str) -> str | None:
    label = label.lower()
    if "text" in label:
        return None
    for modality in ("audio", "image", "video"):
        if modality in label:
            return modality
    return None


def _token_cell(model: str, base: str, cell: str, currency: str, tab_conditions: dict) -> list[Quote]:
    if _NOT_PRICED.fullmatch(cell.strip()):
        return []
    quotes: list[Quote] = []
    if base in ("web_search", "maps_grounding"):
        return _grounding(model, base, cell, currency, tab_conditions)
    for match in _STORAGE.finditer(cell):
        quotes.append(Quote(model, "cache_storage", to_decimal(match.group(1)), currency, dict(tab_conditions)))
    cell = _STORAGE.sub(" ", cell)
    if base == "cache_storage":
        return quotes
    cell = _EQUIVALENT.sub("", cell)
    matches = list(_DOLLAR.finditer(cell))
    segments = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(cell)
        # Only the text since the previous price (which ends in a digit or a comma): slicing all the
        # text before each price would be quadratic in a cell of many prices.
        lead = cell[matches[index - 1].end() if index else 0 : match.start()]
        opens_paren = lead.rstrip().endswith("(")
        tail = cell[match.end() : end]
        # `Non-thinking: $0.60 Thinking: $3.50`: a label before the price, read like `(label)`.
        label = _split_lead_label(lead)[1]
        if label and not _PAREN.match(tail):
            tail = f"{_split_lead_label(tail)[0]} ({label})"
        segments.append((match, opens_paren, tail))
    pending_label: str | None = None
    for index in range(len(segments) - 1, -1, -1):
        match, opens_paren, tail = segments[index]
        # `$3.00 or $0.005/min (audio)`: the first price takes the label of its alternative.
        if re.fullmatch(r"\s*or\s*", tail) and pending_label is not None:
            segments[index] = (match, opens_paren, f" ({pending_label})")
        paren = _PAREN.match(segments[index][2])
        pending_label = paren.group(1) if paren else None
    for match, opens_paren, tail in segments:
        if opens_paren:
            continue  # "($0.00012 per image)": a restatement of the token price
        if re.match(r"\s*/\s*(?:min|minute|sec|second)\b", tail, re.I):
            continue  # "$0.005/min": per-minute equivalent of the token price
        if re.match(r"\s*\([^)]*\)\s*\*", tail):
            continue  # "$0.0006 (image)*": a footnoted per-image figure, not per 1M tokens
        amount = to_decimal(match.group(1))
        conditions = dict(tab_conditions)
        tier = _PROMPT_TIER.search(tail)
        if tier:
            conditions["context_tokens"] = _prompt_tokens(tier)
        per_image = _PER_IMAGE.match(tail.strip())
        if per_image:
            if per_image.group(1):
                conditions["resolution"] = per_image.group(1)
            dimension = "output_image" if base == "output" else "input_image"
            quotes.append(Quote(model, dimension, amount, currency, conditions, per=1, unit="image"))
            continue
        paren = _PAREN.match(tail)
        modality = _modality(paren.group(1)) if paren else None
        mode = _thinking_mode(paren.group(1)) if paren else None
        if mode:
            conditions["mode"] = mode  # 2025 layout: `Non-thinking: $0.60 Thinking: $3.50`
        dimension = base
        if modality and base in ("input", "output", "cached_input"):
            dimension = f"{base}_{modality}"
        quotes.append(Quote(model, dimension, amount, currency, conditions))
    return quotes


def _split_lead_label(text: str) -> tuple[str, str]:
    r"""`text` before a closing `Label:`, and the label: " $0.60 Thinking: " -> (" $0.60 ", "Thinking").

    No label: (text, "").  What the regex `([A-Za-z][A-Za-z /-]*):\s*$` finds, cut with str methods:
    searched for, the regex rescans a long run of letters from each of them.
    """
    body = text.rstrip()
    if body.endswith(":"):
        label = body[len(body[:-1].rstrip(_LABEL_CHARS)) : -1].lstrip(" /-")
        if label:
            return body[: len(body) - 1 - len(label)], label
    return text, ""


def _thinking_mode(label: str) -> str | None:
    label = label.lower()
    if "text" in label or "thinking" not in label:
        return None  # `(text and thinking)`: the text output price, thinking included
    return "non_thinking" if re.search(r"non[- ]?thinking", label) else "thinking"


def _prompt_tokens(match: re.Match) -> dict:
    operator, number, scale = match.group(1), Decimal(match.group(2)), match.group(3).lower()
    tokens = int(number * {"k": 1000, "m": 1_000_000}.get(scale, 1))
    if operator in ("<=", "<"):
        return {"min": 0, "max": tokens}
    return {"min": tokens, "max": None}


def _grounding(model: str, dimension: str, cell: str, currency: str, tab_conditions: dict) -> list[Quote]:
    match = re.search(
        r"\$\s*(\d[\d,]*(?:\.\d+)?)\s*/\s*(\d[\d,]*)\s*(search queries|queries|grounded prompts|prompts|requests)",
        cell,
        re.I,
    )
    if not match:
        return []
    unit = "query" if "quer" in match.group(3).lower() else "request"
    return [
        Quote(
            model,
            dimension,
            to_decimal(match.group(1)),
            currency,
            dict(tab_conditions),
            per=int(match.group(2).replace(",", "")),
            unit=unit,
        )
    ]


def _unit_of_header(header: str) -> str | None:
    if re.search(r"per\s+image", header):
        return "image"
    if re.search(r"per\s+second", header):
        return "second"
    if re.search(r"per\s+request", header):
        return "request"
    return None


def _media_dimension(label: str, unit: str) -> str:
    lowered = label.lower()
    if "video" in lowered or unit == "second":
        return "output_video"
    if "image" in lowered or unit == "image":
        return "output_image"
    return "per_request"


def _media_cell(model: str, dimension: str, unit: str, cell: str, currency: str, tab_conditions: dict) -> list[Quote]:
    if _NOT_PRICED.fullmatch(cell.strip()):
        return []
    cell = _EQUIVALENT.sub("", cell)
    matches = list(_DOLLAR.finditer(cell))
    quotes = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(cell)
        tail = cell[match.end() : end]
        conditions = dict(tab_conditions)
        paren = _PAREN.match(tail)
        if paren and len(matches) > 1:
            conditions["resolution"] = clean(paren.group(1))
        quotes.append(Quote(model, dimension, to_decimal(match.group(1)), currency, conditions, per=1, unit=unit))
    return quotes


def _match_variant(label: str, ids: list[str]) -> str | None:
    """The id of `ids` that a row label such as 'Imagen 4 Fast image price' names."""
    if len(ids) == 1:
        return ids[0]
    token_sets = {i: set(re.split(r"[-._]", i)) for i in ids}
    common = set.intersection(*token_sets.values())
    words = set(re.split(r"[^a-z0-9]+", label.lower()))
    best, best_size = None, -1
    for model, tokens in token_sets.items():
        variant = {t for t in tokens - common if not t.isdigit()}
        if variant <= words and len(variant) > best_size:
            best, best_size = model, len(variant)
    return best
