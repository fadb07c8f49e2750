"""The volcengine parser on every real Volcengine page in ../shared/vendor-pages/volcengine_doubao."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, router_markdown, vendor_page

FOLDER = "volcengine_doubao"
ARK_PAGE = f"{FOLDER}/2026-07-17_volcengine_docs_82379_1544106_model_pricing.html"
# BytePlus ModelArk (international, USD) lives in the same folder; it is the byteplus
# parser's page (tests/conformance/test_byteplus_real_pages.py), not this source's.
OTHER_SOURCES = {f"{FOLDER}/2026-08-18_byteplus_modelark_pricing_excerpt.html"}

T0_32 = {"min": 0, "max": 32_000}
T32_128 = {"min": 32_000, "max": 128_000}
T128_256 = {"min": 128_000, "max": 256_000}

# (page, minimum quotes, [(model, dimension, conditions, price)])
CASES = [
    (
        ARK_PAGE,
        480,
        [
            ("doubao-seed-2.0-pro", "input", {"context_tokens": T32_128}, "4.8"),
            ("deepseek-v4-pro", "output", {}, "24.00"),
            ("glm-5.2", "cached_input", {}, "2.00"),
            ("doubao-seed-1.6-flash", "input", {"batch": True, "context_tokens": T0_32}, "0.075"),
            ("doubao-seed-2.0-lite", "output", {"tier": "low_latency", "context_tokens": T128_256}, "21.6"),
            ("doubao-seed-2.0-lite", "input", {"batch": True, "fine_tuned": True, "context_tokens": T0_32}, "1.20"),
            ("doubao-seed-1.8", "output", {"context_tokens": T0_32, "output_tokens": {"min": 200, "max": None}}, "8.00"),
            ("doubao-embedding-vision", "input_image", {}, "1.80"),
            ("doubao-seed-2.1-pro", "cache_storage", {"context_tokens": {"min": 0, "max": 256_000}}, "0.017"),
        ],
    ),
]


def test_every_page_is_covered():
    assert_pages_covered(FOLDER, {case[0] for case in CASES} | OTHER_SOURCES)


@pytest.mark.parametrize("relative, minimum, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, minimum, expected):
    quotes = parse_page("volcengine", vendor_page(relative))
    assert len(quotes) >= minimum
    for model, dimension, conditions, price in expected:
        quote = one_quote(quotes, model, dimension, **conditions)
        assert quote.price == Decimal(price)
        assert (quote.currency, quote.per, quote.unit) == ("CNY", 1_000_000, "token")
    assert_unique_keys(quotes)


def test_router_markdown_gives_the_same_quotes():
    raw = vendor_page(ARK_PAGE).read_bytes()
    from_dom = parse_page("volcengine", raw)
    from_markdown = parse_page("volcengine", router_markdown(raw.decode("utf-8")))
    key = lambda q: (q.model, q.dimension, q.price, json.dumps(q.conditions, sort_keys=True))  # noqa: E731
    assert sorted(map(key, from_dom)) == sorted(map(key, from_markdown))
