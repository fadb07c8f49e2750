"""BytePlus ModelArk pricing (USD): English headers, prompt-length tiers, batch section, video skipped."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "byteplus"
T0_128 = {"min": 0, "max": 128_000}
T128_256 = {"min": 128_000, "max": 256_000}

parse = partial(parse_page, "byteplus", url="https://docs.byteplus.com/en/docs/ModelArk/1544106")


@pytest.fixture(scope="module")
def quotes():
    return parse(FIXTURES / "modelark_pricing_excerpt.html")


def test_prompt_length_tiers_in_tokens(quotes):
    assert one_quote(quotes, "seed-2-0-lite-260428", "input", context_tokens=T0_128).price == Decimal("0.25")
    assert one_quote(quotes, "seed-2-0-lite-260428", "output", context_tokens=T128_256).price == Decimal("4.00")
    assert one_quote(quotes, "deepseek-v3-2-251201", "input", context_tokens={"min": 32_000, "max": 128_000}).price == Decimal("0.56")


def test_english_column_labels(quotes):
    assert one_quote(quotes, "seed-2-0-lite-260428", "input_audio", context_tokens=T0_128).price == Decimal("3.75")
    assert one_quote(quotes, "seed-2-0-lite-260428", "cached_input_audio", context_tokens=T0_128).price == Decimal("0.75")
    assert one_quote(quotes, "deepseek-v4-pro-260425", "cached_input").price == Decimal("0.145")
    assert one_quote(quotes, "deepseek-v4-pro-260425", "cache_storage").price == Decimal("0.0083")


def test_usd_per_million(quotes):
    assert {(q.currency, q.per, q.unit) for q in quotes} == {("USD", 1_000_000, "token")}


def test_offline_batch_section(quotes):
    assert one_quote(quotes, "deepseek-v4-pro-260425", "input", batch=True).price == Decimal("0.87")
    assert one_quote(quotes, "seed-2-0-pro-260328", "output", batch=True, context_tokens=T128_256).price == Decimal("3.00")


def test_missing_cache_columns_and_video_table(quotes):
    assert {q.dimension for q in quotes if q.model == "gpt-oss-120b-250805"} == {"input", "output"}
    assert not [q for q in quotes if "seedance" in q.model]


def test_too_few_models_is_drift():
    html = "<html><body><h2>Pricing</h2><table><tr><th>Model ID</th><th>Input (USD/M tokens)</th></tr><tr><td>seed-1-8-251228</td><td>0.25</td></tr></table></body></html>"
    with pytest.raises(LayoutDrift):
        parse(html)
