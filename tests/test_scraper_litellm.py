"""LiteLLM model_prices_and_context_window.json parser, on trimmed real entries."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
import scrapers
from scrapers import Page, get_parser
from tests.conftest import FIXTURES

# get_parser() loads the registry only while it is empty: once any test imports a single
# scrapers module first, the others stay unloaded.  Load them all, whatever the test order.
scrapers._load_all()

PARSE = get_parser("litellm").parse


def _quotes(name: str):
    quotes = PARSE(Page((FIXTURES / "litellm" / name).read_bytes()))
    return {(q.model, q.dimension, q.unit, json.dumps(q.conditions, sort_keys=True)): q for q in quotes}


def test_floats_become_exact_decimals_per_token():
    quotes = _quotes("model_prices_2026.json")
    gpt4o = quotes[("gpt-4o", "input", "token", "{}")]
    assert gpt4o.price == Decimal("0.0000025") and str(gpt4o.price) == "0.0000025"
    assert gpt4o.per == 1 and gpt4o.currency == "USD"
    assert quotes[("gpt-4o", "output", "token", "{}")].price == Decimal("0.00001")
    assert quotes[("gpt-4o", "cached_input", "token", "{}")].price == Decimal("0.00000125")
    assert str(quotes[("deepseek/deepseek-chat", "input", "token", "{}")].price) == "2.8E-7"


def test_same_model_under_two_keys_gives_two_quote_sets():
    quotes = _quotes("model_prices_2026.json")
    assert quotes[("azure/gpt-4o", "input", "token", "{}")].price == Decimal("0.0000025")
    assert quotes[("gpt-4o", "input", "token", "{}")].price == Decimal("0.0000025")


def test_batch_priority_and_flex_suffixes():
    quotes = _quotes("model_prices_2026.json")
    assert quotes[("gpt-4o", "input", "token", '{"batch": true}')].price == Decimal("0.00000125")
    assert quotes[("gpt-4o", "output", "token", '{"tier": "priority"}')].price == Decimal("0.000017")
    assert quotes[("gpt-5.4", "cached_input", "token", '{"tier": "flex"}')].price == Decimal("0.00000013")


def test_context_tiers_and_cache_ttl():
    quotes = _quotes("model_prices_2026.json")
    long = json.dumps({"context_tokens": {"max": None, "min": 200000}}, sort_keys=True)
    assert quotes[("claude-sonnet-4-5", "input", "token", long)].price == Decimal("0.000006")
    assert quotes[("claude-sonnet-4-5", "output", "token", long)].price == Decimal("0.0000225")
    assert quotes[("gemini-2.5-pro", "input", "token", long)].price == Decimal("0.0000025")
    five = json.dumps({"cache_ttl": "5m"})
    hour = json.dumps({"cache_ttl": "1h"})
    assert quotes[("claude-sonnet-4-5", "cache_write", "token", five)].price == Decimal("0.00000375")
    assert quotes[("claude-sonnet-4-5", "cache_write", "token", hour)].price == Decimal("0.000006")
    hour_long = json.dumps({"cache_ttl": "1h", "context_tokens": {"max": None, "min": 200000}}, sort_keys=True)
    assert quotes[("claude-sonnet-4-5", "cache_write", "token", hour_long)].price == Decimal("0.000012")
    tier = json.dumps({"context_tokens": {"max": None, "min": 272000}}, sort_keys=True)
    assert quotes[("gpt-5.4", "input", "token", tier)].price == Decimal("0.000005")


def test_skips_schema_doc_other_modes_and_zero_auxiliary_fees():
    quotes = _quotes("model_prices_2026.json")
    models = {key[0] for key in quotes}
    assert "sample_spec" not in models
    assert "text-embedding-3-small" not in models and "dall-e-3" not in models
    assert "last_updated" not in models
    assert "fireworks-ai-default" not in models  # no mode, all prices 0: not a priced model
    assert quotes[("fireworks-ai-up-to-4b", "input", "token", "{}")].price == Decimal("0.0000002")
    # DeepSeek's cache_creation 0.0 is "not charged"; the older cache-hit key repeats cache_read
    assert ("deepseek/deepseek-chat", "cache_write", "token", "{}") not in quotes
    assert len([k for k in quotes if k[:2] == ("deepseek/deepseek-chat", "cached_input")]) == 1
    # search_context_cost_per_query is a dict by context size: skipped
    assert not [k for k in quotes if k[1] == "web_search"]


def test_zero_token_price_is_kept_and_other_units():
    quotes = _quotes("model_prices_2026.json")
    assert quotes[("perplexity/sonar-medium-online", "input", "token", "{}")].price == 0
    assert quotes[("perplexity/sonar-medium-online", "per_request", "request", "{}")].price == Decimal("0.005")
    second = quotes[("bedrock/us-east-1/1-month-commitment/anthropic.claude-v1", "input", "second", "{}")]
    assert second.price == Decimal("0.0175") and second.per == 1


def test_2024_copy_without_sample_spec():
    quotes = _quotes("model_prices_2024.json")
    assert quotes[("gpt-4", "input", "token", "{}")].price == Decimal("0.00003")
    assert quotes[("gpt-3.5-turbo", "output", "token", "{}")].price == Decimal("0.000002")
    assert quotes[("together-ai-up-to-3b", "input", "token", "{}")].price == Decimal("0.0000001")
    assert not [k for k in quotes if k[0] == "text-embedding-ada-002"]


def test_not_a_price_file_is_drift():
    with pytest.raises(LayoutDrift):
        PARSE(Page(b"[1, 2, 3]"))
    with pytest.raises(LayoutDrift):
        PARSE(Page(b'{"sample_spec": {"mode": "chat", "input_cost_per_token": 0.0}}'))
    with pytest.raises(LayoutDrift):
        PARSE(Page(b"404: Not Found"))
