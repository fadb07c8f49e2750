"""OpenAI API pricing: platform.openai.com/docs/pricing through the reader proxy.

Formats read (sniffed):
- reader-proxy markdown (r.jina.ai: "Title:" / "URL Source:" / "Markdown Content:") and
  markdown transcriptions of the same page: pipe tables `| Model | Input | Cached input |
  Output |`, "$1.25" per whatever the "Prices per 1M tokens." line above says (per 1M when
  none does) unless the cell says otherwise ("$0.034 / minute");
- the 2024 html-to-text dump of openai.com/pricing: one card per model, an upper-case
  model line followed by `Input` / `$10.00 / 1M tokens` line pairs.
A direct fetch returns a Cloudflare challenge ("Enable JavaScript and cookies to
continue"): that raises `Blocked`.  HTML without markdown tables is `LayoutDrift`
(the page renders client-side; fetch it through the reader).

Traps:
- the service tiers are tabs rendered as a bare line ("Standard", "Batch", "Flex",
  "Priority") just above each table, not headings: Batch -> conditions batch=True,
  Flex / Priority -> tier "flex" / "priority"; no tab line means Standard.
- flagship tables have a two-row header: `| | Short context | Long context |` then a
  `| Model | Input | Cached input | Output | Input | ... |` row.  The long-context group
  gets context_tokens {"min": 272000, "max": None} (OpenAI's long-context threshold;
  the table does not state it, a "NNNK" in the group label overrides it); the short
  group stays unconditional.
- rowspans come through as short rows (`| Text | $4.00 | ... |` under gpt-realtime-2,
  `| o4-mini-deep-research | ... |` under the "Deep research" category, `|  | Medium |`
  in per-image tables): missing or blank leading cells are taken from the row above.
- Modality (a column, or an "Image tokens" / "Audio tokens" section) picks the
  dimension: text -> input / cached_input / output, audio -> input_audio / ...,
  image -> input_image / cached_input_image / output_image (all per token).
- per-second video (`sora-2`, "720p") -> output_video per second with
  conditions {"resolution": "720p"}; per-image tables (quality x size) -> output_image
  per image with {"quality", "resolution": "1024x1024"}.
- "Estimated cost" columns are estimates, fine-tuning sections price trained models,
  and tool tables have no model column: all skipped.  "[unclear ...]" cells of a
  transcription are skipped; a transcription table whose headers are all "[unclear]"
  continues the previous table and reuses its header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import MarkdownTable, tables
from scrapers._prices import find_price, stated_scale
from scrapers._quotes import Collector
from scrapers._text import clean

_MIN_MODELS = 5
_LONG_CONTEXT_TOKENS = 272_000
_TABS = {
    "standard": {},
    "batch": {"batch": True},
    "flex": {"tier": "flex"},
    "priority": {"tier": "priority"},
}
_SKIP_SECTION = re.compile(r"fine[- ]?tun|built-in tools|\btools\b", re.I)
_SIZE = re.compile(r"(\d{3,4})\s*[x×]\s*(\d{3,4})")
_RESOLUTION_COLUMN = re.compile(r"^\s*\d{3,4}\s*[x×]\s*\d{3,4}\s*$")
_PLAIN_ID = re.compile(r"^[a-z0-9][a-z0-9.\-:_]*$")
_MODALITY_DIMENSIONS = {
    "text": ("input", "cached_input", "output"),
    "audio": ("input_audio", "cached_input_audio", "output_audio"),
    "image": ("input_image", "cached_input_image", "output_image"),
}


def _model_id(name: str) -> str:
    """`gpt-5.4` stays; a display name `GPT Image 1.5` / `DALL·E 3` becomes `gpt-image-1.5` / `dall-e-3`."""
    name = re.sub(r"\s*\((?:[^)]*)\)\s*$", "", clean(name)).strip().strip("*").strip()
    if _PLAIN_ID.match(name):
        return name
    return re.sub(r"[\s·_/]+", "-", name.lower()).strip("-")


def _unclear(text: str) -> bool:
    return "[unclear" in text.lower()


@dataclass
class _Section:
    """What a table's columns mean, kept to continue a table split across screenshots."""

    header: list[str]
    groups: list[dict[str, Any]] = field(default_factory=list)  # per column: context conditions
    modality: str = "text"
    tab: dict[str, Any] = field(default_factory=dict)
    per: int = 1_000_000  # tokens per amount, from the "Prices per 1M tokens." above the table


def _tab_above(lines: list[str], start: int, stop: int) -> dict[str, Any] | None:
    """The tab label line ("Batch") closest above a table, searching lines[stop:start]."""
    for index in range(start - 1, max(stop, 0) - 1, -1):
        line = clean(lines[index]).strip("*").strip().lower()
        if line.startswith("#"):
            return None
        if line in _TABS:
            return _TABS[line]
        selected = re.search(r"\*\*(standard|batch|flex|priority)\*\*", lines[index], re.I)
        if selected and "tab" in line:
            return _TABS[selected.group(1).lower()]
    return None


def _modality_of(headings: list[str]) -> str:
    heading = (headings[-1] if headings else "").lower()
    for modality in ("audio", "image"):
        if f"{modality} tokens" in heading:
            return modality
    return "text"


def _long_context_threshold(label: str) -> int:
    match = re.search(r"(\d{2,4})\s*K\b", label, re.I)
    return int(match.group(1)) * 1000 if match else _LONG_CONTEXT_TOKENS


def _groups(group_header: list[str], header: list[str]) -> list[dict[str, Any]]:
    """Per column, the context conditions of a `Short context | Long context` group header."""
    labels = [label for label in group_header if label.strip()]
    starts = [i for i, name in enumerate(header) if name.strip().lower().startswith("input")]
    groups: list[dict[str, Any]] = [{} for _ in header]
    if len(starts) < 2 or len(labels) < 2:
        return groups
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(header)
        label = labels[number] if number < len(labels) else ""
        if "long" in label.lower() or ">" in label:
            threshold = _long_context_threshold(label)
            for column in range(start, end):
                groups[column] = {"context_tokens": {"min": threshold, "max": None}}
    return groups


def _unit_of_cell(cell: str) -> tuple[str, int] | None:
    """Non-token units written in a cell: `/ minute`, `/ hour`, `/ second`, `/ 1M characters`."""
    lowered = cell.lower()
    if re.search(r"/\s*(?:min|minute)\b", lowered):
        return "minute", 1
    if re.search(r"/\s*(?:h|hr|hour)\b", lowered):
        return "hour", 1
    if re.search(r"/\s*(?:s|sec|second)\b", lowered):
        return "second", 1
    if "character" in lowered:
        found = find_price(cell)
        return "character", (found.per if found and found.per else 1)
    if re.search(r"/\s*image\b", lowered):
        return "image", 1
    return None


def _price(cell: str) -> Decimal | None:
    if not cell or _unclear(cell):
        return None
    found = find_price(cell)
    return found.amount if found else None


# OpenAI's model families, 2020-2026: a row naming anything else (a comparison table, someone's
# notes on two vendors' prices: Claude, Nova, Command R+...) is not an OpenAI price.  A new family
# needs its name here; until then its rows are not read (the conformance tests show it).
_OPENAI_MODEL = re.compile(r"^(gpt|chatgpt|chat|o\d|codex|computer-use|dall-e|sora|text-embedding|text-moderation|"
                           r"omni-moderation|tts|whisper|davinci|babbage|curie|ada)\b", re.I)


class _Collector(Collector):
    """USD quotes; a row whose model cell is empty, or is no OpenAI model, adds none."""

    def __init__(self) -> None:
        super().__init__("USD")

    def add(self, model: str, *details: Any) -> None:
        if model and _OPENAI_MODEL.match(model):
            super().add(model, *details)


def _table_rows(table: MarkdownTable) -> tuple[list[str], list[str], list[list[str]]]:
    """(group header, header, rows): a two-row header has its real labels in the first row."""
    header, rows = table.header, table.rows
    has_model = any(h.strip().lower() == "model" for h in header)
    if not has_model and rows and any(c.strip().lower() == "model" for c in rows[0]):
        return header, rows[0], rows[1:]
    return [], header, rows


def _fill_rows(rows: list[list[str]], header: list[str], key_columns: list[int]) -> list[list[str]]:
    """Undo flattened rowspans: short rows borrow their missing leading cells from the row above."""
    filled: list[list[str]] = []
    previous: list[str] | None = None
    width = len(header)
    for row in rows:
        row = list(row)
        while len(row) > width and not row[-1].strip():
            row.pop()
        if previous is not None and len(row) < width:
            row = previous[: width - len(row)] + row
        if previous is not None:
            for column in key_columns:
                if column < len(row) and not row[column].strip() and column < len(previous):
                    row[column] = previous[column]
        row += [""] * (width - len(row))
        filled.append(row)
        previous = row
    return filled


def _resolution(cell: str) -> str:
    size = _SIZE.search(cell)
    if size:
        return f"{min(int(size.group(1)), int(size.group(2)))}p"
    return clean(cell).lower()


def _parse_markdown(text: str) -> list[Quote]:
    collector = _Collector()
    lines = text.splitlines()
    previous_end = 0
    previous: _Section | None = None
    per = 1_000_000
    for table in tables(text):
        group_header, header, rows = _table_rows(table)
        tab = _tab_above(lines, table.start, previous_end)
        between = lines[previous_end:table.start]
        # A statement holds for the tables after it until the next heading (the tab tables of a section).
        per = stated_scale("\n".join(between)) or (1_000_000 if any(l.startswith("#") for l in between) else per)
        previous_end = table.end
        labels = [h.strip().lower() for h in header]
        if any(_SKIP_SECTION.search(h) for h in table.headings):
            previous = None
            continue
        if labels and labels[0] == "model" and all(_unclear(h) for h in header[1:]) and previous is not None:
            if len(previous.header) == len(header):  # a table split across screenshots
                section = _Section(previous.header, previous.groups, previous.modality, previous.tab, previous.per)
            else:
                continue
        else:
            if "model" not in labels:
                previous = None
                continue
            section = _Section(
                header,
                _groups(group_header, header),
                _modality_of(table.headings),
                tab if tab is not None else {},
                per,
            )
        if tab is not None:
            section.tab = tab
        _read_table(section, rows, collector)
        previous = section
    return collector.quotes


def _read_table(section: _Section, rows: list[list[str]], collector: _Collector) -> None:
    labels = [h.strip().lower() for h in section.header]
    model_col = labels.index("model")
    modality_col = labels.index("modality") if "modality" in labels else None
    key_columns = [
        i for i, label in enumerate(labels) if label in ("model", "modality", "category", "quality") or "size" in label
    ]
    resolution_cols = [i for i, label in enumerate(labels) if _RESOLUTION_COLUMN.match(label)]
    size_col = next((i for i, label in enumerate(labels) if label.startswith("size")), None)
    quality_col = labels.index("quality") if "quality" in labels else None
    for row in _fill_rows(rows, section.header, key_columns):
        name = row[model_col]
        if not name.strip() or _unclear(name):
            continue
        model = _model_id(name)
        modality = section.modality
        if modality_col is not None:
            modality = row[modality_col].strip().lower() or modality
        if modality not in _MODALITY_DIMENSIONS:
            modality = "text"
        input_dim, cached_dim, output_dim = _MODALITY_DIMENSIONS[modality]
        for column, label in enumerate(labels):
            cell = row[column]
            price = _price(cell)
            if price is None:
                continue
            conditions = dict(section.tab)
            conditions.update(section.groups[column] if column < len(section.groups) else {})
            unit = _unit_of_cell(cell)
            found = find_price(cell)
            per = found.per if found and found.per else section.per
            if column in resolution_cols:
                conditions["resolution"] = re.sub(r"\s*[x×]\s*", "x", label)
                if quality_col is not None and row[quality_col].strip():
                    conditions["quality"] = row[quality_col].strip().lower()
                collector.add(model, "output_image", price, conditions, 1, "image")
                continue
            if "price per second" in label:
                if size_col is not None and row[size_col].strip():
                    conditions["resolution"] = _resolution(row[size_col])
                collector.add(model, "output_video", price, conditions, 1, "second")
                continue
            if "estimated" in label or label in ("training", "model", "modality", "category", "quality"):
                continue
            if label.startswith("cached input"):
                dimension = cached_dim
            elif label.startswith("input"):
                dimension = input_dim
            elif label.startswith("output"):
                dimension = output_dim
            elif label in ("cost", "batch cost", "usage"):
                if "batch" in label:
                    conditions["batch"] = True
                dimension = "input_audio" if unit and unit[0] in ("minute", "hour", "second") else "input"
            else:
                continue
            if unit is not None:
                unit_name, per = unit
                collector.add(model, dimension, price, conditions, per, unit_name)
            else:
                collector.add(model, dimension, price, conditions, per, "token")


# --- 2024 html-to-text dump of openai.com/pricing ---------------------------------------

_CARD_LABELS = {
    "input": "input",
    "output": "output",
    "input usage": "input",
    "output usage": "output",
    "usage": "usage",
    "training": "training",
    "quality": "quality",
    "resolution": "resolution",
    "price": "price",
}
_SKIP_DUMP_SECTION = re.compile(r"FINE-TUNING|ASSISTANTS", re.I)


def _parse_text_dump(text: str) -> list[Quote]:
    collector = _Collector()
    lines = [clean(line) for line in text.splitlines()]
    section = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        following = next((lines[j] for j in range(index + 1, min(index + 3, len(lines))) if lines[j]), "")
        is_caps_title = bool(line) and line == line.upper() and re.search(r"[A-Z]", line) and "$" not in line
        if is_caps_title and following.lower() not in _CARD_LABELS:
            section = line
            index += 1
            continue
        if is_caps_title and following.lower() in _CARD_LABELS:
            index = _read_card(lines, index, section, collector)
            continue
        index += 1
    return collector.quotes


def _read_card(lines: list[str], index: int, section: str, collector: _Collector) -> int:
    model = _model_id(lines[index])
    index += 1
    fields: dict[str, str] = {}
    while index < len(lines):
        line = lines[index]
        label = line.lower()
        if not line:
            index += 1
            continue
        if label in _CARD_LABELS:
            value = lines[index + 1] if index + 1 < len(lines) else ""
            if _CARD_LABELS[label] in fields and _CARD_LABELS[label] in ("quality", "price", "resolution"):
                _emit_card(model, section, fields, collector)  # DALL·E: several quality/size rows per card
                fields = {}
            if value.lower() in _CARD_LABELS:  # an empty value ("Quality" then "Resolution")
                fields[_CARD_LABELS[label]] = ""
                index += 1
                continue
            fields[_CARD_LABELS[label]] = value
            index += 2
            continue
        break
    if not _SKIP_DUMP_SECTION.search(section) and "training" not in fields:
        _emit_card(model, section, fields, collector)
    return index


def _emit_card(model: str, section: str, fields: dict[str, str], collector: _Collector) -> None:
    for name, dimension in (("input", "input"), ("output", "output")):
        if name in fields and (price := _price(fields[name])) is not None:
            found = find_price(fields[name])
            collector.add(model, dimension, price, {}, found.per or 1_000_000, "token")
    if "usage" in fields and (price := _price(fields["usage"])) is not None:
        cell = fields["usage"]
        unit = _unit_of_cell(cell)
        if unit is not None:
            dimension = "input_audio" if unit[0] in ("minute", "hour", "second") else "input"
            collector.add(model, dimension, price, {}, unit[1], unit[0])
        else:
            per = find_price(cell).per or 1_000_000
            dimensions = ["input"] if "EMBEDDING" in section.upper() else ["input", "output"]
            for dimension in dimensions:
                collector.add(model, dimension, price, {}, per, "token")
    if "price" in fields and (price := _price(fields["price"])) is not None:
        for size in _SIZE.finditer(fields.get("resolution", "")):
            conditions: dict[str, Any] = {"resolution": f"{size.group(1)}x{size.group(2)}"}
            if fields.get("quality"):
                conditions["quality"] = fields["quality"].lower()
            collector.add(model, "output_image", price, conditions, 1, "image")


@register("openai", version=3)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    if tables(text):
        quotes = _parse_markdown(text)
    elif re.search(r"^Input\s*\n\s*\$[\d.,]+\s*/\s*1[MK] tokens", text, re.M):
        quotes = _parse_text_dump(text)
    else:
        raise LayoutDrift("no markdown price table with a 'Model' / 'Input' header (nor a 2024 text dump)")
    models = {q.model for q in quotes}
    if len(models) < _MIN_MODELS:
        raise LayoutDrift(f"only {len(models)} OpenAI models with prices (expected >= {_MIN_MODELS})")
    return quotes
