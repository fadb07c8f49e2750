"""The alibaba parser on every real page in ../shared/vendor-pages/alibaba_qwen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, vendor_page

FOLDER = "alibaba_qwen"
MODEL_STUDIO = f"{FOLDER}/2026-08-10_help_aliyun_model-studio_model-pricing_api.json"
# Hologres managed models: a different price list (Qwen as Hologres managed models,
# 元/千 Token, ~1.2x Model Studio), read by its own parser, alibaba-hologres.
HOLOGRES = f"{FOLDER}/2026-07-20_help_aliyun_hologres_managed_models_billing.html"


def tier(low, high):
    return {"context_tokens": {"min": low, "max": high}}


# (page, parser, minimum quotes, per, [(model, dimension, conditions, price, list_price)])
CASES = [
    (
        MODEL_STUDIO,
        "alibaba",
        700,
        1_000_000,
        [
            ("qwen3.7-max", "input", {**tier(0, 1_000_000), "promo": True}, "6.0", "12"),
            ("qwen3-max", "output", tier(128_000, 256_000), "28", None),
            ("qwen-plus", "output", {**tier(0, 128_000), "mode": "thinking"}, "8", None),
            ("qwen3-235b-a22b", "output", {"mode": "thinking"}, "20", None),
            ("qwen3-coder-480b-a35b-instruct", "input", tier(128_000, 200_000), "15", None),
            ("deepseek-v4-pro", "input", {}, "12", None),
            ("glm-4.5-air", "output", tier(32_000, 96_000), "8", None),
            ("qwen3.5-omni-plus", "output_audio", {}, "213", None),
            ("text-embedding-v4", "input", {}, "0.5", None),
        ],
    ),
    (
        HOLOGRES,
        "alibaba-hologres",
        50,
        1000,
        [
            ("qwen3.7-max", "input", {}, "0.01440", None),
            ("qwen3.7-plus", "cached_input", {**tier(256_000, 1_000_000), "cache_type": "implicit"}, "0.00144", None),
            ("qwen3.6-flash", "output", tier(0, 256_000), "0.00864", None),
            ("qwen3-vl-embedding", "input_image", {}, "0.00216", None),
            ("text-embedding-v4", "input", {}, "0.00060", None),
        ],
    ),
]


def test_every_page_is_covered():
    assert_pages_covered(FOLDER, {case[0] for case in CASES})


@pytest.mark.parametrize("relative, parser, minimum, per, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, parser, minimum, per, expected):
    quotes = parse_page(parser, vendor_page(relative))
    assert len(quotes) >= minimum
    for model, dimension, conditions, price, list_price in expected:
        quote = one_quote(quotes, model, dimension, **conditions)
        assert (quote.price, quote.currency, quote.per) == (Decimal(price), "CNY", per)
        assert quote.list_price == (Decimal(list_price) if list_price else None)
    assert_unique_keys(quotes)


def test_model_studio_has_no_international_prices():
    quotes = parse_page("alibaba", vendor_page(MODEL_STUDIO))
    models = {q.model for q in quotes}
    assert not [m for m in models if m.endswith("-us")]
    assert len(models) >= 200
    # 国际 qwen3.7-max is 18.736 元 (list); mainland is 12 元
    assert not [q for q in quotes if q.list_price == Decimal("18.736") or q.price == Decimal("18.736")]


def test_each_parser_refuses_the_other_list():
    """Read under the Model Studio source, the Hologres list made 29 false cuts (-16.67%)."""
    with pytest.raises(LayoutDrift, match="Hologres managed-models price list"):
        parse_page("alibaba", vendor_page(HOLOGRES))
    with pytest.raises(LayoutDrift, match="no Hologres managed-models table"):
        parse_page("alibaba-hologres", vendor_page(MODEL_STUDIO))


def test_hologres_has_no_singapore_prices():
    quotes = parse_page("alibaba-hologres", vendor_page(HOLOGRES))
    assert not [q for q in quotes if q.price in (Decimal("0.02248"), Decimal("0.06745"))]
