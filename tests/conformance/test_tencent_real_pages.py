"""The tencent parser on every real page in ../shared/vendor-pages/tencent_hunyuan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, vendor_page

FOLDER = "tencent_hunyuan"
LOW32 = {"min": 0, "max": 32_000}

# (page, minimum quotes, currency, [(model, dimension, conditions, price)])
CASES = [
    (
        f"{FOLDER}/2026-08-10_cloud_tencent_com_document_1823_130055_tokenhub_pricing.html",
        200,
        "CNY",
        [
            ("hy3", "input", {}, "1"),
            ("glm-5.1", "input", {"context_tokens": LOW32}, "6"),
            ("deepseek-v4-flash", "cached_input", {"channel": "vendor_direct"}, "0.02"),
            ("deepseek-v4-flash", "cached_input", {}, "0.2"),
            ("glm-5.2", "input", {"region": "intl"}, "10.254"),
            ("glm-5", "output", {"batch": True, "context_tokens": LOW32}, "9"),
            ("kinfra-vl-embedding-2b", "input_video", {}, "1.5"),
            ("hy-vision-2.0-instruct", "input", {}, "7.5"),
        ],
    ),
    (
        # older international copy of the page (美元/百万 tokens; tabs 新加坡 then 广州)
        f"{FOLDER}/2026-07-17_tencent_model_pricing.html",
        120,
        "USD",
        [
            ("deepseek-v4-pro", "input", {"region": "intl"}, "1.74"),
            ("glm-5.1", "output", {"context_tokens": LOW32}, "3.36"),
            ("minimax-m3", "input", {"region": "intl", "context_tokens": {"min": 512_000, "max": None}}, "0.6"),
            ("kinfra-vl-embedding-8b", "input_image", {}, "0.126"),
        ],
    ),
]


def test_every_page_is_covered():
    assert_pages_covered(FOLDER, {case[0] for case in CASES})


@pytest.mark.parametrize("relative, minimum, currency, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, minimum, currency, expected):
    quotes = parse_page("tencent", vendor_page(relative))
    assert len(quotes) >= minimum
    assert {q.currency for q in quotes} == {currency}
    for model, dimension, conditions, price in expected:
        assert one_quote(quotes, model, dimension, **conditions).price == Decimal(price)
    assert_unique_keys(quotes)
