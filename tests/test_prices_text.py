from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from pipeline.errors import BadPrice
from scrapers._prices import find_price, parse_price


@pytest.mark.parametrize("text, amount, currency, per, promo", [
    ("$0.0028", "0.0028", "USD", None, False),
    ("0.02元", "0.02", "CNY", None, False),
    ("¥4.00", "4.00", "CNY", None, False),
    ("6元", "6", "CNY", None, False),
    ("$$1.5", "1.5", "USD", None, False),
    ("1.25€", "1.25", "EUR", None, False),
    ("免费", "0", None, None, False),
    ("限时免费", "0", None, None, True),
    ("Limited-time Free", "0", None, None, True),
    ("$0.435 (75% off)", "0.435", "USD", None, True),
    ("0.0008元/千Token", "0.0008", "CNY", 1000, False),
    ("$2.50 / 1M tokens", "2.50", "USD", 1_000_000, False),
    ("\u200b0.8\u200b", "0.8", None, None, False),
    ("\ufeff$1,200.50", "1200.50", "USD", None, False),
])
def test_price_texts(text, amount, currency, per, promo):
    price = parse_price(text)
    assert price.amount == Decimal(amount)
    assert isinstance(price.amount, Decimal)
    assert (price.currency, price.per, price.promo) == (currency, per, promo)


@pytest.mark.parametrize("text", ["", "-", "—", "N/A", "Not supported", None, "\u200b"])
def test_no_price(text):
    assert find_price(text) is None
    with pytest.raises(BadPrice):
        parse_price(text)


@given(st.text(max_size=60))
def test_any_text_gives_a_price_or_a_typed_error(text):
    try:
        price = parse_price(text)
    except BadPrice:
        return
    assert price.amount.is_finite()
