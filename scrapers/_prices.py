"""Price text to `Decimal`, currency and unit.

Handles what real pages write: `$0.0028`, `$$1.5` (Mistral's RSC payload), `1.25€`,
`0.02元`, `¥4.00`, `6元`, `免费` / `Free` (0), `限时免费` / `Limited-time Free` (0, promo),
`$0.435 (75% off)` (promo), `元/千Token` or `per 1K tokens` (per 1,000), and thousands
separators.  Text with no number raises `BadPrice`; `find_price` returns None instead,
for cells such as `-`, `N/A` or `Not supported`.  A garbled number (`$0.l4`, `0,o5`,
`1.2.3`: digits run into a decimal separator and a letter or more digits) raises
`NonNumericPrice`, never the digits before the garble.  JSON price lists (LiteLLM,
OpenRouter) give numbers, read by `json_price`: absent or null is no price, anything
else that is not a number raises `NonNumericPrice`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.errors import BadPrice, NonNumericPrice
from scrapers._text import clean

_CURRENCY_MARKS = [
    (re.compile(r"US\$|USD|\$|美元", re.I), "USD"),
    (re.compile(r"€|EUR\b", re.I), "EUR"),
    (re.compile(r"元|¥|￥|RMB|CNY", re.I), "CNY"),
]
_FREE = re.compile(r"免费|\bfree\b", re.I)
_PROMO = re.compile(r"限时|limited[- ]time|\d+\s*%\s*off|discount|折|优惠|promo", re.I)
_PER_THOUSAND = re.compile(r"千\s*tokens?|/\s*1\s*k\b|per\s*(?:1\s*)?k\b|1k\s*tokens|per\s+thousand|/\s*k\s*tokens", re.I)
_PER_TEN_THOUSAND = re.compile(r"万\s*tokens?", re.I)
_PER_MILLION = re.compile(r"百万|1\s*m\b|per\s*million|/\s*m\b|mtok|1m\s*tokens", re.I)
_NUMBER = re.compile(r"(?<![\w.])(-?\d[\d,]*(?:\.\d+)?|-?\.\d+)")
_CURRENCY_THEN_NUMBER = re.compile(r"(?:US\$|\$+|€|¥|￥)\s*(-?\d[\d,]*(?:\.\d+)?)")
_NUMBER_THEN_CURRENCY = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)\s*(?:元|€|USD|EUR|CNY|RMB)")
_GARBLED_BEFORE = re.compile(r"(?:[.,][A-Za-z]|\d[.,])$")  # "0.l4元" read as 4, "1.2.3元" as 2.3
_GARBLED_AFTER = re.compile(r"[.,]\d")  # "1.2.3" read as 1.2
_GARBLED_FRACTION = re.compile(r"[.,][A-Za-z]")  # "$0.l4" read as 0, "0,o5"


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str | None
    per: int | None
    promo: bool


def currency_of(text: str) -> str | None:
    for pattern, code in _CURRENCY_MARKS:
        if pattern.search(text):
            return code
    return None


_STATEMENT = re.compile(r"\bprices?\b[^.\n|]*?\bper\b[^.\n|]*?\btok(?:en)?s?\b", re.I)


def stated_scale(text: str) -> int | None:
    """Tokens per amount as a page states it once for the tables below it ("Prices per 1M
    tokens.", "Prices shown per thousand tokens"): the last such statement in `text`, or None.
    A table whose cells only say "$2.00" is per whatever this says, not per 1M by habit."""
    statements = _STATEMENT.findall(text)
    return unit_of(statements[-1]) if statements else None


def unit_of(text: str) -> int | None:
    """Tokens per quoted amount, if the text says (`千Token` → 1000, `1M` → 1,000,000)."""
    if _PER_THOUSAND.search(text):
        return 1000
    if _PER_MILLION.search(text):
        return 1_000_000
    if _PER_TEN_THOUSAND.search(text):
        return 10_000
    return None


_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")  # "0,15 €": a thousands group always has three digits


def to_decimal(text: str) -> Decimal:
    """The number as written: commas are thousands separators ("1,250"), except a lone comma
    followed by one or two digits, which is a decimal comma ("0,15" is 0.15, not 15)."""
    text = text.replace(",", ".") if _DECIMAL_COMMA.fullmatch(text) else text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadPrice(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise BadPrice(f"not a finite number: {text!r}")
    return value


def find_price(text: str | None) -> Price | None:
    """The price stated in `text`, or None if it states none."""
    text = clean(text)
    if not text:
        return None
    promo = bool(_PROMO.search(text))
    match = _CURRENCY_THEN_NUMBER.search(text) or _NUMBER_THEN_CURRENCY.search(text)
    if match is None:
        if _FREE.search(text):
            return Price(Decimal(0), currency_of(text), unit_of(text), promo)
        match = _NUMBER.search(text)
        if match is None:
            return None
    number = match.group(1).rstrip(",")  # "0,o5": the comma is the garble's, not a separator
    if _garbled(text, match.start(1), number):
        raise NonNumericPrice(f"garbled number in {_shown(text)}")
    return Price(to_decimal(number), currency_of(text), unit_of(text), promo)


def _garbled(text: str, start: int, number: str) -> bool:
    """Whether the digits read at `start` are part of a longer garbled number.

    A separator and a letter right after a whole number is a fraction gone wrong ("$0.l4"),
    while after a fraction it is punctuation ("$0.50,Output"); more digits after a second
    separator are never a price we can read."""
    end = start + len(number)
    return bool(_GARBLED_BEFORE.search(text, 0, start) or _GARBLED_AFTER.match(text, end)
                or ("." not in number and _GARBLED_FRACTION.match(text, end)))


def parse_price(text: str | None) -> Price:
    """Like `find_price`, but a text without a price is an error."""
    price = find_price(text)
    if price is None:
        raise BadPrice(f"no price in {clean(text)!r}")
    return price


def price_and_list_price(text: str, struck: str = "") -> tuple[Price, Decimal | None] | None:
    """The price a table cell states and, when its struck-through text states another amount,
    that list price; a struck list price makes the price a promotion (`Price.promo`)."""
    price = find_price(text)
    if price is None:
        return None
    if struck:
        listed = find_price(struck)
        if listed is not None and listed.amount != price.amount:
            return replace(price, promo=True), listed.amount
    return price, None


def json_price(value: Any, field: str) -> Decimal | None:
    """A price of a JSON price list as an exact Decimal; None when absent or null.

    Unlike `json_number`, a value that is there but is not a number ("N/A", "0.0o3", {},
    true) raises `NonNumericPrice` naming `field`: skipping it would report the model
    withdrawn after a few runs."""
    if value is None:
        return None
    number = json_number(value)
    if number is None:
        raise NonNumericPrice(f"{field}: not a number: {_shown(value)}")
    return number


def _shown(value: Any, limit: int = 80) -> str:
    """The offending value for a one-line message, cut short."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def json_number(value: Any) -> Decimal | None:
    """A JSON number as an exact Decimal, or None when absent or not a number (for fields
    such as a discount, where that means none; prices go through `json_price`).

    Floats go through `repr`, so 3e-06 is exactly 0.000003; strings are read as written
    (`"0.00000008333333333333334"` keeps every digit); booleans and infinities are not numbers.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, (int, str)):
        text = str(value).strip()
    else:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
