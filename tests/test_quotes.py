"""scrapers._quotes: a page that states a quote twice gives it once, unless the two disagree."""

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
from scrapers import Quote
from scrapers._quotes import Collector, dedupe


def test_dedupe_keeps_the_first_quote_of_each_key():
    first = Quote("m", "input", Decimal("1.0"), "USD", {"batch": True, "tier": "x"})
    other_price = Quote("m", "input", Decimal("2"), "USD", {"tier": "x", "batch": True})
    same_amount = Quote("m", "input", Decimal("1.00"), "USD", {"batch": True, "tier": "x"})
    euro = Quote("m", "input", Decimal("1.0"), "EUR", {"batch": True, "tier": "x"})
    quotes = [first, other_price, same_amount, euro]
    assert dedupe(quotes, "model", "dimension", "conditions") == [first]
    assert dedupe(quotes, "model", "dimension", "currency", "conditions") == [first, euro]
    # prices compare as written: 1.0 and 1.00 are two quotes
    assert dedupe(quotes, "model", "dimension", "price", "conditions") == [first, other_price, same_amount]


def test_collector_ignores_a_repeat_and_keeps_units_apart():
    collector = Collector("USD")
    collector.add("m", "output", Decimal("1"), {"batch": True}, 1_000_000)
    collector.add("m", "output", Decimal("0.001"), {"batch": True}, 1000)  # the same price, written per 1K
    collector.add("m", "output", Decimal("0.5"), {"batch": True}, 1, "image")
    assert [(q.price, q.per, q.unit, q.currency) for q in collector.quotes] == [
        (Decimal("1"), 1_000_000, "token", "USD"),
        (Decimal("0.5"), 1, "image", "USD"),
    ]


def test_two_prices_for_the_same_terms_are_layout_drift_not_the_first_one():
    """xAI's table said $1.25 per 1M (its "Prices shown per million tokens"), a card below it
    "$1.25 / 1K tokens": keeping the first reading would hide that the page contradicts itself."""
    collector = Collector("USD")
    collector.add("m", "input", Decimal("1.25"), {}, 1_000_000)
    with pytest.raises(LayoutDrift, match="two prices for the same terms"):
        collector.add("m", "input", Decimal("1.25"), {}, 1000)
