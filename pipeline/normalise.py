"""Stage 4, normalise: every price per 1M tokens (or per one unit), keyed, with its conversions.

Prices stay in their published currency; USD and EUR come from the ECB rate of the
observation date (pipeline.fx), with the rate and its date kept.  `promo` is a flag on
the price, not part of its key, so that a promotion starting is a change of the same
price point rather than a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from db.models import QuoteRow
from pipeline.errors import BadPrice, LayoutDrift
from pipeline.fx import Conversion, ecb_rates
from pipeline.output import decimal_text, plain, unit_label, utf8_encodable
from scrapers import TOKENS_PER_MILLION, Quote

# Conditions that describe a price point rather than identify it: a promotion starting, the
# peak hours being reworded, or a moving alias naming another model (`serves`, pipeline.diff)
# is a change of the same price point, not a new one.
KEY_EXCLUDED_CONDITIONS = ("promo", "time_window_hours", "serves")


@dataclass(frozen=True)
class Priced:
    model: str
    dimension: str
    conditions: dict[str, Any]
    currency: str
    unit: str
    price: Decimal
    list_price: Decimal | None
    promo: bool
    page: int = 0

    # Cached: the store reads each of these several times per price (digest, rows, diff keys).
    @cached_property
    def conditions_key(self) -> str:
        return conditions_key(self.conditions)

    @cached_property
    def conditions_text(self) -> str:
        """The full conditions (less the promo flag, kept apart), as canonical JSON."""
        return canonical_json({k: v for k, v in self.conditions.items() if k != "promo"})

    @cached_property
    def key(self) -> tuple[str, str, str, str]:
        return (self.model, self.dimension, self.currency, self.conditions_key)


def canonical_json(value: dict[str, Any]) -> str:
    if not value:  # most prices have no conditions
        return "{}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def conditions_key(conditions: dict[str, Any]) -> str:
    return canonical_json({k: v for k, v in conditions.items() if k not in KEY_EXCLUDED_CONDITIONS})


def _scale(amount: Decimal, per: int, unit: str) -> Decimal:
    target = TOKENS_PER_MILLION if unit == "token" else 1
    return (amount * target / per).normalize() if per != target else amount


# The widths of the archive's columns (db.models.PricePoint).
_WIDTHS = {name: QuoteRow.__table__.c[name].type.length for name in ("model", "dimension", "currency", "unit")}


def _storable(text: str) -> bool:
    """Whether both databases can hold `text`: PostgreSQL's text refuses NUL, and neither
    stores a lone surrogate (which JSON's \\ud800 escape gives)."""
    return "\x00" not in text and utf8_encodable(text)


def _check_storable(priced: Priced) -> None:
    """A value wider than its column, or one no database holds, is no model name or unit but a
    parser reading something else: the source fails as drift, and nothing of it is stored."""
    for name, width in _WIDTHS.items():
        value = getattr(priced, name)
        if len(value) > width or not _storable(value):
            raise LayoutDrift(f"a {name} of {len(value)} characters that the archive cannot hold "
                              f"({value[:40]!r}{'…' if len(value) > 40 else ''}): the parser read something else")
    if not _storable(priced.conditions_text):
        raise LayoutDrift(f"{priced.model!r} {priced.dimension}: conditions the archive cannot hold "
                          f"({priced.conditions_text[:60]!r})")


# Digits a price may have: stored as text (64 characters), and its USD and EUR too, at twelve
# significant places; a price of 1E-70 would not fit, and is no price a page means.
MAX_PRICE_CHARACTERS = 40


def normalise(quote: Quote, page: int = 0) -> Priced:
    if not isinstance(quote.price, Decimal) or not quote.price.is_finite():
        raise BadPrice(f"{quote.model} {quote.dimension}: price is not a finite Decimal")
    if quote.per <= 0:
        raise BadPrice(f"{quote.model} {quote.dimension}: non-positive unit size {quote.per}")
    list_price = _scale(quote.list_price, quote.per, quote.unit) if quote.list_price is not None else None
    priced = Priced(
        model=quote.model,
        dimension=quote.dimension,
        conditions=dict(quote.conditions),
        currency=quote.currency.upper(),
        unit=quote.unit,
        price=_scale(quote.price, quote.per, quote.unit),
        list_price=list_price,
        promo=bool(quote.conditions.get("promo")) or list_price is not None,
        page=page,
    )
    for amount in (priced.price, priced.list_price):
        if amount is not None and len(decimal_text(amount)) > MAX_PRICE_CHARACTERS:
            raise BadPrice(f"{quote.model!r} {quote.dimension}: {amount:.3E} {priced.currency} per "
                           f"{unit_label(priced.unit)} is no price (more than {MAX_PRICE_CHARACTERS} digits)")
    _check_storable(priced)
    return priced


def normalise_all(quotes_by_page: list[list[Quote]]) -> list[Priced]:
    """Normalised quotes of all pages of a source; a key priced twice keeps its first."""
    seen: dict[tuple, Priced] = {}
    for page, quotes in enumerate(quotes_by_page):
        for quote in quotes:
            priced = normalise(quote, page)
            seen.setdefault(priced.key, priced)
    return list(seen.values())


def convert(amount: Decimal | None, currency: str, on: date) -> Conversion:
    if amount is None:
        return Conversion(None, None, None, None, None)
    return ecb_rates().convert(amount, currency, on)


def quote_json(priced: Priced, *, source: str, vendor: str, market: str, aggregator: bool, on: date) -> dict[str, Any]:
    """The quote contract printed by `pricewatch parse --json`."""
    conversion = convert(priced.price, priced.currency, on)
    conditions = dict(priced.conditions)
    if priced.promo:
        conditions["promo"] = True
    return {
        "source": source,
        "vendor": vendor,
        "model": priced.model,
        "dimension": priced.dimension,
        "price": plain(priced.price),
        "currency": priced.currency,
        "unit": unit_label(priced.unit),
        "usd": plain(conversion.usd),
        "eur": plain(conversion.eur),
        "fx_date": conversion.fx_date.isoformat() if conversion.fx_date else None,
        "conditions": conditions,
        "list_price": plain(priced.list_price),
        "market": market,
        "aggregator": aggregator,
    }
