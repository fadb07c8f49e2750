"""The byteplus parser on every real BytePlus ModelArk page in ../shared/vendor-pages/volcengine_doubao."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import assert_pages_covered, one_quote, parse_page, vendor_page

FOLDER = "volcengine_doubao"
# The Volcengine (CN) page in the same folder is the volcengine parser's page.
OTHER_SOURCES = {f"{FOLDER}/2026-07-17_volcengine_docs_82379_1544106_model_pricing.html"}

T0_128 = {"min": 0, "max": 128_000}
T128_256 = {"min": 128_000, "max": 256_000}

CASES = [
    (
        f"{FOLDER}/2026-08-18_byteplus_modelark_pricing_excerpt.html",
        120,
        [
            ("seed-2-0-lite-260428", "input", {"context_tokens": T128_256}, "0.50"),
            ("seed-2-0-mini-260428", "input_audio", {"context_tokens": T0_128}, "1.50"),
            ("deepseek-v4-pro-260425", "input", {"batch": True}, "0.87"),
            ("gpt-oss-120b-250805", "output", {}, "0.5"),
            ("glm-5-2-260617", "cache_storage", {}, "0.0083"),
            ("deepseek-v4-flash-ga-260731", "cached_input", {}, "0.028"),
        ],
    ),
]


def test_every_page_is_covered():
    assert_pages_covered(FOLDER, {case[0] for case in CASES} | OTHER_SOURCES)


@pytest.mark.parametrize("relative, minimum, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, minimum, expected):
    quotes = parse_page("byteplus", vendor_page(relative))
    assert len(quotes) >= minimum
    assert not [q for q in quotes if "seedance" in q.model]
    for model, dimension, conditions, price in expected:
        quote = one_quote(quotes, model, dimension, **conditions)
        assert (quote.price, quote.currency, quote.per) == (Decimal(price), "USD", 1_000_000)
