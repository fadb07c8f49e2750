"""scrapers._quotes: a parser keeps the first of the quotes a page states twice."""

from decimal import Decimal

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
    collector.add("m", "output", Decimal("9"), {"batch": True}, 1_000_000)
    collector.add("m", "output", Decimal("0.5"), {"batch": True}, 1, "image")
    assert [(q.price, q.per, q.unit, q.currency) for q in collector.quotes] == [
        (Decimal("1"), 1_000_000, "token", "USD"),
        (Decimal("0.5"), 1, "image", "USD"),
    ]
