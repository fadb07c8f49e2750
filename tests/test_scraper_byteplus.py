"""BytePlus ModelArk pricing (USD): English headers, prompt-length tiers, batch section, video skipped."""

from __future__ import annotations

import importlib
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import LayoutDrift
from scrapers import Page, all_parsers, get_parser

FIXTURES = Path(__file__).parent / "fixtures" / "byteplus"
T0_128 = {"min": 0, "max": 128_000}
T128_256 = {"min": 128_000, "max": 256_000}


def parser():
    # get_parser() loads every parser module only while nothing is registered; a test module
    # elsewhere that imports one parser module directly leaves the registry partly filled.
    all_parsers()
    importlib.import_module("scrapers.byteplus")
    return get_parser("byteplus")


def parse(content: str | bytes):
    data = content.encode() if isinstance(content, str) else content
    return parser().parse(Page(data, url="https://docs.byteplus.com/en/docs/ModelArk/1544106"))


@pytest.fixture(scope="module")
def quotes():
    return parse((FIXTURES / "modelark_pricing_excerpt.html").read_bytes())


def find(quotes, model, dimension, **conditions):
    hits = [q for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_prompt_length_tiers_in_tokens(quotes):
    assert find(quotes, "seed-2-0-lite-260428", "input", context_tokens=T0_128).price == Decimal("0.25")
    assert find(quotes, "seed-2-0-lite-260428", "output", context_tokens=T128_256).price == Decimal("4.00")
    assert find(quotes, "deepseek-v3-2-251201", "input", context_tokens={"min": 32_000, "max": 128_000}).price == Decimal("0.56")


def test_english_column_labels(quotes):
    assert find(quotes, "seed-2-0-lite-260428", "input_audio", context_tokens=T0_128).price == Decimal("3.75")
    assert find(quotes, "seed-2-0-lite-260428", "cached_input_audio", context_tokens=T0_128).price == Decimal("0.75")
    assert find(quotes, "deepseek-v4-pro-260425", "cached_input").price == Decimal("0.145")
    assert find(quotes, "deepseek-v4-pro-260425", "cache_storage").price == Decimal("0.0083")


def test_usd_per_million(quotes):
    assert {(q.currency, q.per, q.unit) for q in quotes} == {("USD", 1_000_000, "token")}


def test_offline_batch_section(quotes):
    assert find(quotes, "deepseek-v4-pro-260425", "input", batch=True).price == Decimal("0.87")
    assert find(quotes, "seed-2-0-pro-260328", "output", batch=True, context_tokens=T128_256).price == Decimal("3.00")


def test_missing_cache_columns_and_video_table(quotes):
    assert {q.dimension for q in quotes if q.model == "gpt-oss-120b-250805"} == {"input", "output"}
    assert not [q for q in quotes if "seedance" in q.model]


def test_too_few_models_is_drift():
    html = "<html><body><h2>Pricing</h2><table><tr><th>Model ID</th><th>Input (USD/M tokens)</th></tr><tr><td>seed-1-8-251228</td><td>0.25</td></tr></table></body></html>"
    with pytest.raises(LayoutDrift):
        parse(html)
