from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from pipeline.errors import BadPrice, NonNumericPrice
from scrapers._prices import find_price, json_number, json_price, parse_price, price_and_list_price


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
    ("0,15 €", "0.15", "EUR", None, False),  # a decimal comma: one or two digits after it
    ("€1,5 / 1M tokens", "1.5", "EUR", 1_000_000, False),
    ("1,250 USD", "1250", "USD", None, False),  # three digits: a thousands separator
    ("$0.20¹", "0.20", "USD", None, False),  # a footnote mark, not a digit of the price (NFKC would make it 0.201)
    ("0.007³元", "0.007", "CNY", None, False),
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


@pytest.mark.parametrize("text", ["$0.l4", "0,o5", "$0.O5", "0.l4元", "1.2.3", "$1.2.3 / 1M tokens", "1.234,56 €"])
def test_a_garbled_number_is_non_numeric_not_the_digits_before_it(text):
    """"$0.l4" read as $0 would publish a 100% cut; "0.l4元" read as 4元 a 300x raise."""
    with pytest.raises(NonNumericPrice, match="garbled number in"):
        find_price(text)


@pytest.mark.parametrize("text, amount", [
    ("$0.14/M", "0.14"),
    ("$1.5.", "1.5"),  # the end of a sentence
    ("$0.50,Output $2", "0.50"),  # punctuation after a whole price
    ("0.5,输出", "0.5"),
    ("$5, $10", "5"),
    ("1024x1024 $0.04", "0.04"),
])
def test_punctuation_after_a_price_is_not_a_garble(text, amount):
    assert find_price(text).amount == Decimal(amount)


@given(st.text(max_size=60))
def test_any_text_gives_a_price_or_a_typed_error(text):
    try:
        price = parse_price(text)
    except BadPrice:
        return
    assert price.amount.is_finite()


@pytest.mark.parametrize("struck, amount, list_price, promo", [
    ("", "0.435", None, False),
    ("$1.74", "0.435", "1.74", True),
    ("$0.435", "0.435", None, False),  # struck text repeating the price is not a list price
    ("-", "0.435", None, False),
])
def test_price_and_list_price(struck, amount, list_price, promo):
    price, listed = price_and_list_price("$0.435", struck)
    assert (price.amount, listed, price.promo) == (Decimal(amount), Decimal(list_price) if list_price else None, promo)


def test_price_and_list_price_of_a_cell_without_price():
    assert price_and_list_price("-", "$1") is None


@pytest.mark.parametrize("value, expected", [
    (3e-06, "0.000003"),
    ("0.00000008333333333333334", "0.00000008333333333333334"),
    (" 2 ", "2"),
    (0, "0"),
    (None, None),
    (True, None),
    ("", None),
    ("n/a", None),
    ("Infinity", None),
    ([1], None),
])
def test_json_number(value, expected):
    assert json_number(value) == (Decimal(expected) if expected is not None else None)


@pytest.mark.parametrize("value, expected", [
    (3e-06, "0.000003"), ("0.000003", "0.000003"), (" 2 ", "2"), (0, "0"), ("-1", "-1"), (None, None),
])
def test_json_price(value, expected):
    assert json_price(value, "gpt-4o prompt") == (Decimal(expected) if expected is not None else None)


@pytest.mark.parametrize("value", ["N/A", "0.0o3", "", {}, [1], True, "Infinity", float("nan")])
def test_a_json_price_that_is_there_but_not_a_number_is_non_numeric(value):
    with pytest.raises(NonNumericPrice) as caught:
        json_price(value, "gpt-4o prompt")
    assert caught.value.message == f"gpt-4o prompt: not a number: {value!r}"
