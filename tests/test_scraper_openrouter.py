"""OpenRouter model list and per-model endpoints parsers, on trimmed real responses."""

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

MODELS = get_parser("openrouter").parse
ENDPOINTS = get_parser("openrouter-endpoints").parse


def _page(name: str) -> Page:
    return Page((FIXTURES / "openrouter" / name).read_bytes(), url="https://openrouter.ai/api/v1/models")


def _by_key(quotes):
    return {(q.model, q.dimension, q.unit, json.dumps(q.conditions, sort_keys=True)): q for q in quotes}


def test_per_token_prices_are_exact_decimals_per_one_token():
    quotes = _by_key(MODELS(_page("models_2026-04.json")))
    opus = quotes[("anthropic/claude-opus-4.7", "input", "token", "{}")]
    assert opus.price == Decimal("0.000005") and opus.per == 1 and opus.currency == "USD"
    assert quotes[("anthropic/claude-opus-4.7", "output", "token", "{}")].price == Decimal("0.000025")
    assert quotes[("anthropic/claude-opus-4.7", "cached_input", "token", "{}")].price == Decimal("0.0000005")
    assert quotes[("anthropic/claude-opus-4.7", "cache_write", "token", "{}")].price == Decimal("0.00000625")
    web = quotes[("anthropic/claude-opus-4.7", "web_search", "request", "{}")]
    assert web.price == Decimal("0.01") and web.per == 1
    assert quotes[("deepseek/deepseek-chat", "input", "token", "{}")].price == Decimal("0.00000032")
    assert quotes[("google/gemini-2.5-flash", "input_audio", "token", "{}")].price == Decimal("0.000001")
    assert quotes[("google/gemini-2.5-flash", "internal_reasoning", "token", "{}")].price == Decimal("0.0000025")
    # a long decimal string is kept digit for digit
    assert quotes[("google/gemini-2.5-flash", "cache_write", "token", "{}")].price == Decimal("0.00000008333333333333334")


def test_free_variant_is_its_own_model_at_zero():
    quotes = _by_key(MODELS(_page("models_2026-04.json")))
    free = quotes[("openai/gpt-oss-20b:free", "input", "token", "{}")]
    assert free.price == 0 and free.conditions == {}
    assert quotes[("openai/gpt-oss-20b:free", "output", "token", "{}")].price == 0


def test_negative_sentinel_is_skipped():
    quotes = MODELS(_page("models_2026-04.json"))
    assert not [q for q in quotes if q.model == "openrouter/auto"]
    assert all(q.price >= 0 for q in quotes)


def test_wrapped_archive_and_zero_auxiliary_fees():
    quotes = _by_key(MODELS(_page("models_2025-12_wrapped.json")))
    search = quotes[("openai/gpt-4o-search-preview", "per_request", "request", "{}")]
    assert search.price == Decimal("0.035")
    assert quotes[("openai/gpt-4o-search-preview", "input_image", "image", "{}")].price == Decimal("0.003613")
    assert quotes[("perplexity/sonar", "per_request", "request", "{}")].price == Decimal("0.005")
    # "request": "0", "web_search": "0" ... mean no such fee, as the newer API that omits them
    deepseek = [q.dimension for q in quotes.values() if q.model == "deepseek/deepseek-chat"]
    assert sorted(deepseek) == ["input", "output"]
    assert ("z-ai/glm-4.5v", "cache_write", "token", "{}") not in quotes
    assert quotes[("z-ai/glm-4.5v", "cached_input", "token", "{}")].price == Decimal("0.000000088")


def test_model_list_without_data_is_drift():
    with pytest.raises(LayoutDrift):
        MODELS(Page(b'{"error": {"code": 429, "message": "rate limited"}}'))
    with pytest.raises(LayoutDrift):
        MODELS(Page(b"<html><body>Not JSON</body></html>"))


def test_too_few_priced_models_is_drift():
    payload = {"data": [{"id": "a/b", "pricing": {"prompt": "0.000001", "completion": "0.000002"}}]}
    with pytest.raises(LayoutDrift):
        MODELS(Page(json.dumps(payload).encode()))


def test_endpoints_one_quote_set_per_provider():
    quotes = ENDPOINTS(_page("endpoints_openai_gpt-4.json"))
    assert {q.model for q in quotes} == {"openai/gpt-4"}
    by = _by_key(quotes)
    openai = by[("openai/gpt-4", "input", "token", json.dumps({"provider": "OpenAI"}))]
    assert openai.price == Decimal("0.00003") and openai.per == 1 and openai.list_price is None
    assert by[("openai/gpt-4", "output", "token", json.dumps({"provider": "OpenAI"}))].price == Decimal("0.00006")
    # numbers (the schema allows them) are read through repr: 3e-05 -> 0.00003 exactly
    azure = by[("openai/gpt-4", "input", "token", json.dumps({"provider": "Azure"}))]
    assert azure.price == Decimal("0.00003")
    assert by[("openai/gpt-4", "cached_input", "token", json.dumps({"provider": "Azure"}))].price == Decimal("0.000015")


def test_endpoint_discount_gives_price_and_list_price():
    by = _by_key(ENDPOINTS(_page("endpoints_openai_gpt-4.json")))
    key = json.dumps({"endpoint": "fireworks/fp8", "promo": True, "provider": "Fireworks"}, sort_keys=True)
    discounted = by[("openai/gpt-4", "input", "token", key)]
    assert discounted.price == Decimal("0.000024")
    assert discounted.list_price == Decimal("0.00003")
    # the same provider twice: the endpoint tag keeps the two variants apart
    key = json.dumps({"endpoint": "fireworks/fp4", "provider": "Fireworks"}, sort_keys=True)
    assert by[("openai/gpt-4", "output", "token", key)].price == Decimal("0.00004")


def test_endpoints_without_list_is_drift():
    with pytest.raises(LayoutDrift):
        ENDPOINTS(Page(b'{"data": {"id": "openai/gpt-4", "endpoints": []}}'))
    with pytest.raises(LayoutDrift):
        ENDPOINTS(Page(b'{"data": [{"id": "openai/gpt-4"}]}'))
