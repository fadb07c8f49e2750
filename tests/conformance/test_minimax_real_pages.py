"""The minimax parser on every real page in ../shared/vendor-pages/minimax."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import assert_pages_covered, one_quote, parse_page, vendor_page

FOLDER = "minimax"
LOW = {"min": 0, "max": 512_000}
HIGH = {"min": 512_000, "max": 1_000_000}

CN_PAGE_EXPECTED = [
    ("MiniMax-M3", "input", {"context_tokens": LOW, "promo": True}, "2.1", "4.2"),
    ("MiniMax-M3", "cached_input", {"context_tokens": HIGH, "promo": True}, "0.84", "1.68"),
    ("MiniMax-M2.7", "cache_write", {}, "2.625", None),
    ("MiniMax-M2.7-highspeed", "output", {}, "16.8", None),
]

# (page, minimum quotes, currency, [(model, dimension, conditions, price, list_price)])
CASES = [
    (f"{FOLDER}/2026-07-17_platform_minimaxi_com_token-plan.html", 14, "CNY", CN_PAGE_EXPECTED),
    (f"{FOLDER}/2026-07-20_platform_minimaxi_com_token-plan.html", 14, "CNY", CN_PAGE_EXPECTED),
    (
        f"{FOLDER}/2026-07-21_minimax_pricing_text_excerpt.txt",
        14,
        "USD",
        [
            ("MiniMax-M3", "input", {"context_tokens": HIGH, "promo": True}, "0.6", "1.2"),
            ("MiniMax-M3", "cached_input", {"context_tokens": LOW, "promo": True}, "0.06", "0.12"),
            ("MiniMax-M2.7", "cache_write", {}, "0.375", None),
            ("MiniMax-M2.7-highspeed", "input", {}, "0.6", None),
        ],
    ),
]


def test_every_page_is_covered():
    assert_pages_covered(FOLDER, {case[0] for case in CASES})


@pytest.mark.parametrize("relative, minimum, currency, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, minimum, currency, expected):
    quotes = parse_page("minimax", vendor_page(relative))
    assert len(quotes) >= minimum
    assert {q.currency for q in quotes} == {currency}
    for model, dimension, conditions, price, list_price in expected:
        quote = one_quote(quotes, model, dimension, **conditions)
        assert quote.price == Decimal(price)
        assert quote.list_price == (Decimal(list_price) if list_price else None)
