"""Keeping the first of repeated quotes.

Pages state the same price more than once: a featured grid above the full list, one table
per tab, a card and a table, the same model under two headings.  A parser keeps the first
quote of each key it cares about, either at the end (`dedupe`) or as it reads (`Collector`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Quote


def dedupe(quotes: list[Quote], *fields: str) -> list[Quote]:
    """`quotes` in order, without any whose `fields` (Quote attribute names) repeat an earlier one's.

    Conditions compare as sorted JSON; prices compare as written (`1.0` is not `1.00`).
    """
    seen: set[str] = set()
    kept = []
    for quote in quotes:
        key = json.dumps([getattr(quote, name) for name in fields], sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            kept.append(quote)
    return kept


class Collector:
    """Quotes of one currency in the order read.  A repeat of (model, dimension, unit, conditions)
    at the same price is ignored; at another price it is LayoutDrift: a page that states two
    prices for the same terms (a table and a card that disagree on the unit) cannot be read."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.quotes: list[Quote] = []
        self._seen: dict[tuple, tuple[Decimal, int]] = {}  # identity -> (price, per): a repeat or a conflict?

    def add(
        self, model: str, dimension: str, price: Decimal, conditions: dict[str, Any], per: int, unit: str = "token"
    ) -> None:
        identity = (model, dimension, unit, repr(sorted(conditions.items())))
        if identity in self._seen:
            first_price, first_per = self._seen[identity]
            if first_price / first_per != price / per:
                raise LayoutDrift(f"{model} {dimension}: the page gives two prices for the same terms "
                                  f"({first_price} per {first_per} and {price} per {per} {unit}s); "
                                  "which one holds is unclear")
            return
        self._seen[identity] = (price, per)
        self.quotes.append(Quote(model, dimension, price, self.currency, dict(conditions), per=per, unit=unit))
