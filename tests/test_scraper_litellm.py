"""LiteLLM model_prices_and_context_window.json parser, on trimmed real entries."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial

import pytest

from pipeline.errors import LayoutDrift, NonNumericPrice
from tests.conftest import FIXTURES, one_quote, parse_page

parse = partial(parse_page, "litellm")
PAGES = FIXTURES / "litellm"
LONG = {"context_tokens": {"min": 200000, "max": None}}


def test_floats_become_exact_decimals_per_token():
    quotes = parse(PAGES / "model_prices_2026.json")
    gpt4o = one_quote(quotes, "gpt-4o", "input")
    assert gpt4o.price == Decimal("0.0000025") and str(gpt4o.price) == "0.0000025"
    assert gpt4o.per == 1 and gpt4o.currency == "USD"
    assert one_quote(quotes, "gpt-4o", "output").price == Decimal("0.00001")
    assert one_quote(quotes, "gpt-4o", "cached_input").price == Decimal("0.00000125")
    assert str(one_quote(quotes, "deepseek/deepseek-chat", "input").price) == "2.8E-7"


def test_same_model_under_two_keys_gives_two_quote_sets():
    quotes = parse(PAGES / "model_prices_2026.json")
    assert one_quote(quotes, "azure/gpt-4o", "input").price == Decimal("0.0000025")
    assert one_quote(quotes, "gpt-4o", "input").price == Decimal("0.0000025")


def test_batch_priority_and_flex_suffixes():
    quotes = parse(PAGES / "model_prices_2026.json")
    assert one_quote(quotes, "gpt-4o", "input", batch=True).price == Decimal("0.00000125")
    assert one_quote(quotes, "gpt-4o", "output", tier="priority").price == Decimal("0.000017")
    assert one_quote(quotes, "gpt-5.4", "cached_input", tier="flex").price == Decimal("0.00000013")


def test_context_tiers_and_cache_ttl():
    quotes = parse(PAGES / "model_prices_2026.json")
    assert one_quote(quotes, "claude-sonnet-4-5", "input", **LONG).price == Decimal("0.000006")
    assert one_quote(quotes, "claude-sonnet-4-5", "output", **LONG).price == Decimal("0.0000225")
    assert one_quote(quotes, "gemini-2.5-pro", "input", **LONG).price == Decimal("0.0000025")
    assert one_quote(quotes, "claude-sonnet-4-5", "cache_write", cache_ttl="5m").price == Decimal("0.00000375")
    assert one_quote(quotes, "claude-sonnet-4-5", "cache_write", cache_ttl="1h").price == Decimal("0.000006")
    assert one_quote(quotes, "claude-sonnet-4-5", "cache_write", cache_ttl="1h", **LONG).price == Decimal("0.000012")
    assert one_quote(quotes, "gpt-5.4", "input", context_tokens={"min": 272000, "max": None}).price == Decimal("0.000005")


def test_skips_schema_doc_other_modes_and_zero_auxiliary_fees():
    quotes = parse(PAGES / "model_prices_2026.json")
    models = {q.model for q in quotes}
    assert "sample_spec" not in models
    assert "text-embedding-3-small" not in models and "dall-e-3" not in models
    assert "last_updated" not in models
    assert "fireworks-ai-default" not in models  # no mode, all prices 0: not a priced model
    assert one_quote(quotes, "fireworks-ai-up-to-4b", "input").price == Decimal("0.0000002")
    # DeepSeek's cache_creation 0.0 is "not charged"; the older cache-hit key repeats cache_read
    assert not [q for q in quotes if q.model == "deepseek/deepseek-chat" and q.dimension == "cache_write"]
    assert len([q for q in quotes if q.model == "deepseek/deepseek-chat" and q.dimension == "cached_input"]) == 1
    # search_context_cost_per_query is a dict by context size: skipped
    assert not [q for q in quotes if q.dimension == "web_search"]


def test_zero_token_price_is_kept_and_other_units():
    quotes = parse(PAGES / "model_prices_2026.json")
    assert one_quote(quotes, "perplexity/sonar-medium-online", "input").price == 0
    assert one_quote(quotes, "perplexity/sonar-medium-online", "per_request", unit="request").price == Decimal("0.005")
    second = one_quote(quotes, "bedrock/us-east-1/1-month-commitment/anthropic.claude-v1", "input", unit="second")
    assert second.price == Decimal("0.0175") and second.per == 1


def test_2024_copy_without_sample_spec():
    quotes = parse(PAGES / "model_prices_2024.json")
    assert one_quote(quotes, "gpt-4", "input").price == Decimal("0.00003")
    assert one_quote(quotes, "gpt-3.5-turbo", "output").price == Decimal("0.000002")
    assert one_quote(quotes, "together-ai-up-to-3b", "input").price == Decimal("0.0000001")
    assert not [q for q in quotes if q.model == "text-embedding-ada-002"]


def test_not_a_price_file_is_drift():
    with pytest.raises(LayoutDrift):
        parse(b"[1, 2, 3]")
    with pytest.raises(LayoutDrift):
        parse(b'{"sample_spec": {"mode": "chat", "input_cost_per_token": 0.0}}')
    with pytest.raises(LayoutDrift):
        parse(b"404: Not Found")


def with_value(model: str, key: str, value) -> bytes:
    payload = json.loads((PAGES / "model_prices_2026.json").read_bytes())
    payload[model][key] = value
    return json.dumps(payload).encode()


@pytest.mark.parametrize("model, key, value", [
    ("gpt-4o", "input_cost_per_token", "N/A"),
    ("gpt-4o", "output_cost_per_token_batches", "0.0o3"),
    ("claude-sonnet-4-5", "cache_creation_input_token_cost_above_1hr", {}),
    ("fireworks-ai-up-to-4b", "input_cost_per_token", "N/A"),  # an entry without a mode
])
def test_a_price_key_that_is_not_a_number_is_non_numeric_never_skipped(model, key, value):
    with pytest.raises(NonNumericPrice) as caught:
        parse(with_value(model, key, value))
    assert caught.value.message == f"{model} {key}: not a number: {value!r}"


def test_null_price_and_non_numeric_fields_that_are_not_prices_are_ignored():
    quotes = parse(with_value("gpt-4o", "input_cost_per_token_priority", None))
    assert not [q for q in quotes if q.model == "gpt-4o" and q.conditions == {"tier": "priority"}
                and q.dimension == "input"]
    parse(with_value("gpt-4o", "max_input_tokens", "N/A"))
    parse(with_value("text-embedding-3-small", "input_cost_per_token", "N/A"))  # an embedding: not read
