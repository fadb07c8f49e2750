"""The minimax parser on every real page in ../shared/vendor-pages/minimax."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest

from scrapers import Page, all_parsers, get_parser
from tests.conftest import vendor_page, vendor_pages

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


def parser():
    # get_parser() loads every parser module only while nothing is registered; a test module
    # elsewhere that imports one parser module directly leaves the registry partly filled.
    all_parsers()
    importlib.import_module("scrapers.minimax")
    return get_parser("minimax")


def find(quotes, model, dimension, conditions):
    hits = [q for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_every_page_is_covered():
    covered = {case[0] for case in CASES}
    for path in vendor_pages(FOLDER):
        assert f"{FOLDER}/{path.name}" in covered, f"new real page without a conformance case: {path.name}"


@pytest.mark.parametrize("relative, minimum, currency, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, minimum, currency, expected):
    quotes = parser().parse(Page(vendor_page(relative).read_bytes(), url=""))
    assert len(quotes) >= minimum
    assert {q.currency for q in quotes} == {currency}
    for model, dimension, conditions, price, list_price in expected:
        quote = find(quotes, model, dimension, conditions)
        assert quote.price == Decimal(price)
        assert quote.list_price == (Decimal(list_price) if list_price else None)
