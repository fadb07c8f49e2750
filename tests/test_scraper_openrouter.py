"""OpenRouter model list and per-model endpoints parsers, on trimmed real responses."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial

import pytest

from pipeline.errors import LayoutDrift, NonNumericPrice
from tests.conftest import FIXTURES, one_quote, parse_page

parse_models = partial(parse_page, "openrouter", url="https://openrouter.ai/api/v1/models")
parse_endpoints = partial(parse_page, "openrouter-endpoints", url="https://openrouter.ai/api/v1/models")
PAGES = FIXTURES / "openrouter"


def test_per_token_prices_are_exact_decimals_per_one_token():
    quotes = parse_models(PAGES / "models_2026-04.json")
    opus = one_quote(quotes, "anthropic/claude-opus-4.7", "input")
    assert opus.price == Decimal("0.000005") and opus.per == 1 and opus.currency == "USD"
    assert one_quote(quotes, "anthropic/claude-opus-4.7", "output").price == Decimal("0.000025")
    assert one_quote(quotes, "anthropic/claude-opus-4.7", "cached_input").price == Decimal("0.0000005")
    assert one_quote(quotes, "anthropic/claude-opus-4.7", "cache_write").price == Decimal("0.00000625")
    web = one_quote(quotes, "anthropic/claude-opus-4.7", "web_search", unit="request")
    assert web.price == Decimal("0.01") and web.per == 1
    assert one_quote(quotes, "deepseek/deepseek-chat", "input").price == Decimal("0.00000032")
    assert one_quote(quotes, "google/gemini-2.5-flash", "input_audio").price == Decimal("0.000001")
    assert one_quote(quotes, "google/gemini-2.5-flash", "internal_reasoning").price == Decimal("0.0000025")
    # a long decimal string is kept digit for digit
    assert one_quote(quotes, "google/gemini-2.5-flash", "cache_write").price == Decimal("0.00000008333333333333334")


def test_free_variant_is_its_own_model_at_zero():
    quotes = parse_models(PAGES / "models_2026-04.json")
    free = one_quote(quotes, "openai/gpt-oss-20b:free", "input")
    assert free.price == 0 and free.conditions == {}
    assert one_quote(quotes, "openai/gpt-oss-20b:free", "output").price == 0


def test_negative_sentinel_is_skipped():
    quotes = parse_models(PAGES / "models_2026-04.json")
    assert not [q for q in quotes if q.model == "openrouter/auto"]
    assert all(q.price >= 0 for q in quotes)


def test_wrapped_archive_and_zero_auxiliary_fees():
    quotes = parse_models(PAGES / "models_2025-12_wrapped.json")
    search = one_quote(quotes, "openai/gpt-4o-search-preview", "per_request", unit="request")
    assert search.price == Decimal("0.035")
    assert one_quote(quotes, "openai/gpt-4o-search-preview", "input_image", unit="image").price == Decimal("0.003613")
    assert one_quote(quotes, "perplexity/sonar", "per_request", unit="request").price == Decimal("0.005")
    # "request": "0", "web_search": "0" ... mean no such fee, as the newer API that omits them
    deepseek = [q.dimension for q in quotes if q.model == "deepseek/deepseek-chat"]
    assert sorted(deepseek) == ["input", "output"]
    assert not [q for q in quotes if q.model == "z-ai/glm-4.5v" and q.dimension == "cache_write"]
    assert one_quote(quotes, "z-ai/glm-4.5v", "cached_input").price == Decimal("0.000000088")


def test_model_list_without_data_is_drift():
    with pytest.raises(LayoutDrift):
        parse_models(b'{"error": {"code": 429, "message": "rate limited"}}')
    with pytest.raises(LayoutDrift):
        parse_models(b"<html><body>Not JSON</body></html>")


def test_too_few_priced_models_is_drift():
    payload = {"data": [{"id": "a/b", "pricing": {"prompt": "0.000001", "completion": "0.000002"}}]}
    with pytest.raises(LayoutDrift):
        parse_models(json.dumps(payload))


def test_endpoints_one_quote_set_per_provider():
    quotes = parse_endpoints(PAGES / "endpoints_openai_gpt-4.json")
    assert {q.model for q in quotes} == {"openai/gpt-4"}
    openai = one_quote(quotes, "openai/gpt-4", "input", provider="OpenAI")
    assert openai.price == Decimal("0.00003") and openai.per == 1 and openai.list_price is None
    assert one_quote(quotes, "openai/gpt-4", "output", provider="OpenAI").price == Decimal("0.00006")
    # numbers (the schema allows them) are read through repr: 3e-05 -> 0.00003 exactly
    azure = one_quote(quotes, "openai/gpt-4", "input", provider="Azure")
    assert azure.price == Decimal("0.00003")
    assert one_quote(quotes, "openai/gpt-4", "cached_input", provider="Azure").price == Decimal("0.000015")


def test_endpoint_discount_gives_price_and_list_price():
    quotes = parse_endpoints(PAGES / "endpoints_openai_gpt-4.json")
    discounted = one_quote(quotes, "openai/gpt-4", "input", endpoint="fireworks/fp8", promo=True, provider="Fireworks")
    assert discounted.price == Decimal("0.000024")
    assert discounted.list_price == Decimal("0.00003")
    # the same provider twice: the endpoint tag keeps the two variants apart
    fp4 = one_quote(quotes, "openai/gpt-4", "output", endpoint="fireworks/fp4", provider="Fireworks")
    assert fp4.price == Decimal("0.00004")


def test_endpoints_without_list_is_drift():
    with pytest.raises(LayoutDrift):
        parse_endpoints(b'{"data": {"id": "openai/gpt-4", "endpoints": []}}')
    with pytest.raises(LayoutDrift):
        parse_endpoints(b'{"data": [{"id": "openai/gpt-4"}]}')


def with_pricing(name: str, index: int, key: str, value) -> bytes:
    payload = json.loads((PAGES / name).read_bytes())
    entries = payload["data"]["endpoints"] if isinstance(payload["data"], dict) else payload["data"]
    entries[index]["pricing"][key] = value
    return json.dumps(payload).encode()


@pytest.mark.parametrize("key, value", [("prompt", "N/A"), ("completion", ""), ("input_cache_read", {}),
                                        ("input_cache_write_1h", "0.0o3")])
def test_a_pricing_value_that_is_not_a_number_is_non_numeric_never_skipped(key, value):
    with pytest.raises(NonNumericPrice) as caught:
        parse_models(with_pricing("models_2026-04.json", 0, key, value))
    assert caught.value.message == f"anthropic/claude-opus-4.7 {key}: not a number: {value!r}"


def test_a_non_numeric_endpoint_price_names_its_provider():
    with pytest.raises(NonNumericPrice) as caught:
        parse_endpoints(with_pricing("endpoints_openai_gpt-4.json", 3, "prompt", "N/A"))
    assert caught.value.message == "openai/gpt-4 (Fireworks) (fireworks/fp4) prompt: not a number: 'N/A'"


def test_a_null_price_is_absent_and_a_non_numeric_discount_is_no_discount():
    quotes = parse_models(with_pricing("models_2026-04.json", 0, "web_search", None))
    assert not [q for q in quotes if q.model == "anthropic/claude-opus-4.7" and q.dimension == "web_search"]
    quotes = parse_endpoints(with_pricing("endpoints_openai_gpt-4.json", 2, "discount", "N/A"))
    assert one_quote(quotes, "openai/gpt-4", "input", endpoint="fireworks/fp8", provider="Fireworks").list_price is None


def test_an_image_price_equal_to_the_prompt_price_is_per_image_token():
    """Gemini 2.5 Flash's `image`: $0.001238 per image in 2025, the prompt rate in 2026."""
    then = one_quote(parse_models(PAGES / "models_2025-12_wrapped.json"), "google/gemini-2.5-flash", "input_image",
                     unit="image")
    assert then.price == Decimal("0.001238")
    now = one_quote(parse_models(PAGES / "models_2026-04.json"), "google/gemini-2.5-flash", "input_image")
    assert now.price == Decimal("0.0000003")
