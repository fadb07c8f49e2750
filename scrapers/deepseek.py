"""DeepSeek API: api-docs.deepseek.com/quick_start/pricing (USD) and /zh-cn/quick_start/pricing (CNY).

One parser for both sources; the currency is read from every price cell (`$0.14` -> USD,
`0.02元` -> CNY), never assumed.  Formats accepted (sniffed):

- Raw HTML (Docusaurus): one `<table>` with no `<thead>`, *transposed*: the row labelled
  `MODEL` / `模型` names the models (API ids) across the columns, the other rows are
  dimensions.  Labels use colspan, the `PRICING` / `价格` block uses rowspan, a value shared
  by all models is one cell with colspan=N (all expanded by `_table.grid`).  `<sup>` marks are
  footnotes; `$0.435 (75% off)<del>$1.74</del>` is a promo price with its list price.
- From 2026-08-16 each price row has `OFF-PEAK` / `PEAK` (`空闲时段` / `高峰时段`) sub-rows:
  conditions `time_window`, with `time_window_hours` from the note under the table ("Peak
  hours are 01:00 - 04:00 and 06:00 - 10:00 UTC, Monday through Friday" /
  "高峰时段为北京时间 9:00 - 12:00、14:00 - 18:00"): those hours for peak, `outside` them
  for off-peak.
- Markdown mirrors / reader output of the same table: rowspanned cells are *dropped* (rows are
  ragged: `| PEAK | $0.014 | $0.044 |`), colspans become empty cells.  The values are the cells
  after the last label cell; a missing dimension label is carried from the row above.
- Older copies (2025): tab-separated browser text with multi-line cells, either model-per-row
  (`MODEL(1) | CONTEXT LENGTH | ... | 1M TOKENS INPUT PRICE (CACHE HIT)`, a promo cell holds
  the original and the discounted price: `$0.07(5)` + `$0.014`) or transposed with
  `STANDARD PRICE（UTC 00:30-16:30）` / `DISCOUNT PRICE（UTC 16:30-00:30）` row groups
  (peak / off_peak); html2text pipe tables without a leading `|` (V3.2 era, one price for both
  `deepseek-chat` and `deepseek-reasoner`).

Traps: a table that follows an announcement ("The new prices take effect at 16:00 UTC on
August 16, 2026, as follows:" / "新价格将于……开始生效，具体如下") holds *future* prices and
is skipped: only the main table is in force on the page's date.  `MAX OUTPUT`, `CONTEXT
LENGTH`, `Json Output`, `Concurrency Limit` rows are not prices.  `百万tokens` is per 1M
(not per 万).  The "(50% OFF)" of an off-peak row is the time-window price, not a promo.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._markdown import clean_cell, is_separator, split_row, struck_text
from scrapers._prices import Price, find_price, parse_price
from scrapers._quotes import dedupe
from scrapers._table import Cell, grid
from scrapers._text import clean

_FOOTNOTE_MARK = re.compile(r"(?:\s*[(（]\d+[)）])+")
_MODEL_LABEL = re.compile(r"^(?:model|models|model name|模型|模型名称)$", re.I)
_API_ID = re.compile(r"^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)+$")

# A price label names a unit or says "price", and what is priced.
_PRICE_CONTEXT = re.compile(r"\b1\s*[MK]\b|百万|千|million|mtok|price|价格|单价", re.I)
_DIMENSIONS = [
    ("cached_input", re.compile(r"cache\s*hit|缓存命中|cached\s+input", re.I)),
    ("cache_write", re.compile(r"cache\s*(?:write|creation)|缓存写入|缓存创建", re.I)),
    ("cache_storage", re.compile(r"cache\s*storage|缓存存储", re.I)),
    ("input", re.compile(r"cache\s*miss|缓存未命中|input|输入", re.I)),
    ("output", re.compile(r"output|输出", re.I)),
]
_OFF_PEAK = re.compile(r"off[\s-]*peak|空闲时段|闲时|低谷|谷时|优惠时段|discount\s+price", re.I)
_PEAK = re.compile(r"(?<![a-z-])peak|高峰|峰时|标准时段|standard\s+price", re.I)
_RANGE = re.compile(r"(\d{1,2})[:：](\d{2})\s*[-–—~～至到]\s*(\d{1,2})[:：](\d{2})")
_PEAK_SENTENCE = re.compile(
    r"peak hours\s*(?:are|is|:)?\s*([^.\]]*)|高峰时段(?:为|是|定义[:：]?)\s*([^。】]*)", re.I
)
_ANNOUNCEMENT = re.compile(
    r"takes?\s+effect|will\s+take\s+effect|effective\s+(?:from|on|at|as\s+of|date)|"
    r"will\s+be\s+(?:updated|adjusted|changed|raised)|new\s+prices|开始生效|起生效|将于.{0,40}生效|新价格",
    re.I | re.S,
)
_MONEY = re.compile(r"(?:US\$|\$|¥|￥)\s*\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s*元")
_MILLION = re.compile(r"\b1\s*M\b|百万|million|mtok", re.I)
_THOUSAND = re.compile(r"\b1\s*K\b|千", re.I)
_FOOTNOTE_LINE = re.compile(r"^\s*[(（]\d+[)）]\s*\S")
_RULE = re.compile(r"^\s*(?:\*\s*){3,}$|^\s*#{1,6}\s")


@register("deepseek", version=2)
def parse(page: Page) -> list[Quote]:
    text = page.text()
    if re.search(r"<table\b", text, re.I):
        found, page_text = _html_tables(page)
    else:
        found, page_text = _text_tables(text), text
    in_force = [(rows, expanded) for rows, expanded, before in found if not _ANNOUNCEMENT.search(before)]
    if not in_force:
        if found:
            raise LayoutDrift("only an announced (not yet in force) price table, no current 'MODEL' table")
        raise LayoutDrift("no table with a 'MODEL' / '模型' row")
    hours = _peak_hours(page_text)
    quotes: list[Quote] = []
    for rows, expanded in in_force:
        quotes += _table_quotes(rows, expanded, hours)
    if not quotes:
        raise LayoutDrift("'MODEL' table without price rows ('1M INPUT TOKENS (CACHE HIT)' / '百万tokens输入')")
    return dedupe(quotes, "model", "dimension", "currency", "conditions")


# --- finding the tables ------------------------------------------------------------------


def _html_tables(page: Page) -> tuple[list[tuple[list[list[Cell]], bool, str]], str]:
    """(rows, spans expanded, text just before the table) of each table with a MODEL row."""
    tree = page.html()
    found = []
    for table in tree.css("table"):
        rows = grid(table)
        if any(_model_label_index(row) is not None for row in rows):
            found.append((rows, True, _text_before(table)))
    body = tree.body
    return found, clean(body.text(separator=" ") if body is not None else "")


def _text_before(node, limit: int = 400) -> str:
    """The nearest text preceding `node` (its previous siblings, then its ancestors')."""
    level = 0
    while node is not None and level < 4:
        sibling = node.prev
        while sibling is not None:
            text = clean(sibling.text(deep=True))
            if text:
                return text[-limit:]
            sibling = sibling.prev
        node = node.parent
        level += 1
    return ""


def _text_tables(text: str) -> list[tuple[list[list[Cell]], bool, str]]:
    """Tables of markdown, reader output and tab-separated text dumps, from their MODEL line."""
    lines = text.splitlines()
    found = []
    index = 0
    while index < len(lines):
        line = lines[index]
        sep = "\t" if "\t" in line else ("|" if "|" in line else None)
        if sep is None or _model_label_index(_split(line, sep)[:1]) is None:
            index += 1
            continue
        start = index
        block = [line]
        index += 1
        while index < len(lines):
            nxt = lines[index]
            if not nxt.strip() or _FOOTNOTE_LINE.match(nxt) or _RULE.match(nxt):
                break
            block.append(nxt)
            index += 1
        rows = _block_rows(block, sep)
        found.append((rows, False, _paragraph_before(lines, start)))
    return found


def _paragraph_before(lines: list[str], start: int) -> str:
    """The paragraph above a table (skipping the markdown header and separator rows)."""
    index = start - 1
    while index >= 0 and ("|" in lines[index] and not clean_cell(lines[index].replace("|", " ").replace("-", ""))):
        index -= 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    paragraph = []
    while index >= 0 and lines[index].strip():
        paragraph.append(lines[index])
        index -= 1
    return clean(" ".join(reversed(paragraph)))


def _split(line: str, sep: str) -> list[Cell]:
    if sep == "|":
        return [Cell(clean_cell(part), struck_text(part)) for part in split_row(line)]
    return [Cell(clean_cell(part)) for part in line.split("\t")]


def _block_rows(block: list[str], sep: str) -> list[list[Cell]]:
    """Rows of a text table whose cells may span several lines."""
    block = [line for line in block if not is_separator(line)]
    first = _split(block[0], sep)
    if sep == "\t" and not _is_transposed(first):
        # Model-per-row browser copy: a record starts at a line beginning with a model id, a
        # cell's line breaks are inside the record (`$0.07(5)` newline `$0.014`).
        records: list[list[str]] = [[]]
        for line in block:
            head = clean_cell(line.split("\t")[0])
            if records[-1] and _API_ID.match(_FOOTNOTE_MARK.sub("", head)):
                records.append([])
            records[-1].append(line)
        return [[Cell(clean_cell(part)) for part in "\n".join(record).split("\t")] for record in records]
    rows: list[list[Cell]] = []
    prefix = ""
    for line in block:
        if sep not in line:
            # A label broken over lines (`STANDARD PRICE` / `（UTC 00:30-16:30）\t1M TOKENS ...`).
            prefix = f"{prefix} {line}".strip()
            continue
        cells = _split(line, sep)
        if prefix and cells:
            cells[0] = Cell(clean(f"{clean_cell(prefix)} {cells[0].text}"), cells[0].struck)
            prefix = ""
        rows.append(cells)
    return rows


# --- reading a table -----------------------------------------------------------------------


def _model_label_index(row: list[Cell]) -> int | None:
    for index, cell in enumerate(row):
        if cell.text and _MODEL_LABEL.match(_FOOTNOTE_MARK.sub("", cell.text).strip()):
            return index
    return None


def _model_id(text: str) -> str:
    name = _FOOTNOTE_MARK.sub("", text).strip()
    if _API_ID.match(name):
        return name
    return re.sub(r"[\s_]+", "-", name.lower()).strip("-")


def _is_transposed(model_row: list[Cell]) -> bool:
    """The MODEL row names models (columns are models) rather than price headers."""
    label = _model_label_index(model_row)
    if label is None:
        return False
    names = [_FOOTNOTE_MARK.sub("", c.text).strip() for c in model_row[label + 1 :] if c.text]
    return any(_API_ID.match(name) or re.match(r"deepseek\b", name, re.I) for name in names)


def _dimension(text: str) -> tuple[str, int] | None:
    """(dimension, tokens per price) of a price label, None for any other label."""
    if not text or not _PRICE_CONTEXT.search(text) or _MONEY.search(text):
        return None
    for name, pattern in _DIMENSIONS:
        if pattern.search(text):
            return name, 1000 if _THOUSAND.search(text) and not _MILLION.search(text) else 1_000_000
    return None


def _window(text: str) -> tuple[str, str | None] | None:
    """(time window, hours stated in the label) of a peak / off-peak label."""
    if not text or _MONEY.search(text):
        return None
    if _OFF_PEAK.search(text):
        name = "off_peak"
    elif _PEAK.search(text):
        name = "peak"
    else:
        return None
    return name, _hours(text)


def _hours(text: str) -> str | None:
    """`01:00 - 04:00 and 06:00 - 10:00 UTC, Monday through Friday` -> `01:00-04:00, 06:00-10:00 UTC Mon-Fri`."""
    text = clean(text)
    ranges = [f"{int(a):02d}:{b}-{int(c):02d}:{d}" for a, b, c, d in _RANGE.findall(text)]
    if not ranges:
        return None
    if re.search(r"北京|beijing|utc\s*\+\s*8|gmt\s*\+\s*8", text, re.I):
        zone = "UTC+8"
    elif re.search(r"\butc\b|\bgmt\b", text, re.I):
        zone = "UTC"
    else:
        zone = ""
    days = ""
    if re.search(r"monday\s+(?:through|to|-)\s+friday|mon\s*-\s*fri|weekdays|周一至周五|工作日", text, re.I):
        days = "Mon-Fri"
    return " ".join(part for part in (", ".join(ranges), zone, days) if part)


def _peak_hours(text: str) -> str | None:
    for match in _PEAK_SENTENCE.finditer(clean(text)):
        hours = _hours(match.group(1) or match.group(2) or "")
        if hours:
            return hours
    return None


def _table_quotes(rows: list[list[Cell]], expanded: bool, hours: str | None) -> list[Quote]:
    for index, row in enumerate(rows):
        if _model_label_index(row) is not None:
            if _is_transposed(row):
                return _transposed_quotes(row, rows[index + 1 :], expanded, hours)
            return _per_row_quotes(row, rows[index + 1 :], hours)
    return []


def _transposed_quotes(model_row: list[Cell], rows: list[list[Cell]], expanded: bool, hours: str | None) -> list[Quote]:
    label = _model_label_index(model_row)
    # The model columns: where the MODEL row names a model (not the label's colspan copies).
    columns = [i for i, c in enumerate(model_row) if i > label and c.text and _model_label_index([c]) is None]
    models = [_model_id(model_row[i].text) for i in columns]
    quotes: list[Quote] = []
    entries: list[tuple[str, Cell, str, int, tuple[str, str | None] | None]] = []
    dimension: tuple[str, int] | None = None
    window: tuple[str, str | None] | None = None
    window_outer = False
    for row in rows:
        dim_at = win_at = None
        row_dim = row_win = None
        for i, cell in enumerate(row):
            if row_dim is None and (found := _dimension(cell.text)):
                row_dim, dim_at = found, i
            elif (found := _window(cell.text)) is not None:
                row_win, win_at = found, i
        if row_dim is None and row_win is None:
            dimension = window = None  # a non-price row ends the price block
            continue
        if dim_at is not None and win_at is not None:
            window_outer = win_at < dim_at
        if row_dim is None:
            row_dim = dimension  # rowspanned dimension label dropped by the converter
        if row_win is None and window_outer and dim_at is not None and win_at is None:
            row_win = window  # rowspanned STANDARD / DISCOUNT PRICE group label
        if row_dim is None:
            continue
        dimension, window = row_dim, row_win
        if expanded:
            values = [row[i] for i in columns]
        else:
            last = max(i for i in (dim_at, win_at) if i is not None)
            values = _align(row[last + 1 :], len(models))
        for model, cell in zip(models, values):
            entries.append((model, cell, row_dim[0], row_dim[1], row_win))
    currency = _table_currency(entry[1] for entry in entries)
    for model, cell, name, per, win in entries:
        quote = _quote(model, name, per, cell, win, hours, currency)
        if quote is not None:
            quotes.append(quote)
    return quotes


def _align(values: list[Cell], count: int) -> list[Cell]:
    """Value cells of a ragged text row, one per model (colspans came out as blanks)."""
    values = list(values)
    while len(values) > count and not values[0].text:
        values.pop(0)
    while len(values) > count and not values[-1].text:
        values.pop()
    if len(values) > count:
        raise LayoutDrift(f"price row with {len(values)} values for {count} model columns: {[c.text for c in values]}")
    filled: list[Cell] = []
    for cell in values:
        filled.append(cell if cell.text or not filled else filled[-1])
    while filled and not filled[-1].text:
        filled.pop()
    if len(filled) == 1 and count > 1:
        filled = filled * count  # one value shared by all models
    elif 1 < len(filled) < count:
        filled += [filled[-1]] * (count - len(filled))  # trailing blanks of a colspan
    return filled


def _per_row_quotes(header: list[Cell], rows: list[list[Cell]], hours: str | None) -> list[Quote]:
    label = _model_label_index(header)
    columns = [(i, d) for i, c in enumerate(header) if (d := _dimension(c.text)) is not None]
    if not columns:
        return []
    width = len(header)
    entries = []
    model = None
    for row in rows:
        if len(row) < width:
            row = [Cell("")] * (width - len(row)) + list(row)  # rowspanned model cell dropped
        priced = {i for i, _ in columns}
        window = None
        for i, cell in enumerate(row):
            if i not in priced and (found := _window(cell.text)) is not None:
                window = found
        head = row[label].text
        if head and _window(head) is None:
            model = _model_id(head)
        if model is None:
            continue
        for i, (name, per) in columns:
            if i < len(row):
                entries.append((model, row[i], name, per, window))
    currency = _table_currency(entry[1] for entry in entries)
    quotes = []
    for model, cell, name, per, win in entries:
        quote = _quote(model, name, per, cell, win, hours, currency)
        if quote is not None:
            quotes.append(quote)
    return quotes


def _table_currency(cells) -> str | None:
    found = {p.currency for cell in cells if (p := find_price(cell.text)) is not None and p.currency}
    return found.pop() if len(found) == 1 else None


def _value(cell: Cell) -> tuple[Price, Decimal | None] | None:
    """The price of a cell and its list price (struck text, or the higher of two prices)."""
    price = find_price(cell.text)
    if price is None:
        return None
    if cell.struck:
        struck = find_price(cell.struck)
        return price, struck.amount if struck is not None else None
    amounts = [parse_price(token) for token in _MONEY.findall(cell.text)]
    if len(amounts) >= 2 and len({a.currency for a in amounts}) == 1:
        # Browser copy of `<del>$0.07</del> $0.014`: the original and the discounted price.
        low = min(amounts, key=lambda p: p.amount)
        high = max(amounts, key=lambda p: p.amount)
        if high.amount > low.amount:
            return Price(low.amount, low.currency, low.per, True), high.amount
    return price, None


def _quote(model, dimension, per, cell, window, hours, currency) -> Quote | None:
    value = _value(cell)
    if value is None:
        return None
    price, list_price = value
    code = price.currency or currency
    if code is None:
        raise LayoutDrift(f"price {cell.text!r} of {model} {dimension} without a currency")
    conditions: dict = {}
    if window is not None:
        conditions["time_window"] = window[0]
        # The note gives the PEAK hours; off-peak is every other hour, not those.
        stated = window[1] or (hours if window[0] == "peak" or not hours else f"outside {hours}")
        if stated:
            conditions["time_window_hours"] = stated
    # The "(50% OFF)" of a 2025 off-peak row is the time-window price, not a promotion.
    promo = list_price is not None or (price.promo and (window is None or window[0] != "off_peak"))
    if promo:
        conditions["promo"] = True
    return Quote(
        model=model,
        dimension=dimension,
        price=price.amount,
        currency=code,
        conditions=conditions,
        list_price=list_price,
        per=price.per or per,
    )
