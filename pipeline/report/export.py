"""The full price history as a file, each row with its provenance: the source, the archived
snapshot (id, URL, sha256, when those bytes were first seen, and `provenance`: `fetched` by
pricewatch, or `imported` from a saved file, whose URL is the one given to the import), when
the price was first and last observed, the parser version, and the ECB rate and date behind
its USD and EUR values.

CSV and JSON keep money as exact decimal text.  Parquet (the optional `pyarrow`) stores
money as decimal128(38, 18): every published price exactly, the converted USD and EUR
values (twelve significant digits) to 18 decimal places.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db.queries import export_rows
from pipeline.errors import ConfigError, InputError
from pipeline.output import decimal_text, render

FORMATS = ("csv", "json", "parquet")
COLUMNS = ["source", "vendor", "market", "aggregator", "model", "canonical_model", "dimension", "conditions",
           "currency", "unit", "price", "list_price", "promo", "usd", "eur", "fx_date", "fx_rate_per_eur",
           "usd_per_eur", "first_seen", "last_seen", "snapshot_id", "snapshot_url", "snapshot_sha256",
           "fetched_at", "provenance", "parser_version", "first_observation_id", "last_observation_id"]
MONEY = ("price", "list_price", "usd", "eur", "fx_rate_per_eur", "usd_per_eur")
TIMES = ("first_seen", "last_seen", "fetched_at")
INTEGERS = ("snapshot_id", "parser_version", "first_observation_id", "last_observation_id")
BOOLEANS = ("aggregator", "promo")
PARQUET_SCALE = 18


def format_for(path: Path, explicit: str | None) -> str:
    if explicit:
        return explicit
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise InputError(f"say --format csv|json|parquet, or name the file .csv, .json or .parquet (not {path.name!r})")


def export(session: Session, path: Path, fmt: str, *, since: datetime | None = None,
           until: datetime | None = None) -> int:
    """Write the history to `path`; return the number of rows."""
    rows = export_rows(session, since=since, until=until)
    writer = write_parquet if fmt == "parquet" else lambda r, p: _write_text(r, p, fmt)
    try:
        writer(rows, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(rows)


def _write_text(rows: list[dict[str, Any]], path: Path, fmt: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        render(rows, COLUMNS, fmt, out)


def _fixed_point(value: Decimal, quantum: Decimal, name: str) -> Decimal:
    """`value` at Parquet's scale, within decimal128's 38 digits (a price imported unchecked may not fit)."""
    try:
        return value.quantize(quantum, rounding=ROUND_HALF_EVEN, context=Context(prec=38, traps=[InvalidOperation]))
    except InvalidOperation:
        raise InputError(f"{name} {decimal_text(value)} does not fit Parquet's decimal(38, {PARQUET_SCALE}): "
                         "export it as csv or json") from None


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("parquet export needs pyarrow: pip install 'pricewatch[parquet]'") from None
    money = pa.decimal128(38, PARQUET_SCALE)
    quantum = Decimal(1).scaleb(-PARQUET_SCALE)
    fields, columns = [], []
    for name in COLUMNS:
        values = [row[name] for row in rows]
        if name in MONEY:
            kind = money
            values = [None if v is None else _fixed_point(v, quantum, name) for v in values]
        elif name in TIMES:
            kind = pa.timestamp("us", tz="UTC")
        elif name in INTEGERS:
            kind = pa.int64()
        elif name in BOOLEANS:
            kind = pa.bool_()
        else:
            kind = pa.string()
            if name == "conditions":
                values = [json.dumps(v, sort_keys=True, ensure_ascii=False) for v in values]
        fields.append(pa.field(name, kind))
        columns.append(pa.array(values, type=kind))
    pq.write_table(pa.Table.from_arrays(columns, schema=pa.schema(fields)), path)
