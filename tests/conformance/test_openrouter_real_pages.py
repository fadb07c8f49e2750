"""The openrouter parser on every real /api/v1/models response in ../shared/vendor-pages/openrouter.

No real /endpoints response is archived there; `openrouter-endpoints` is covered by the
unit tests (fixture written from OpenRouter's documented response schema).
"""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, vendor_page

DEC_2025 = "openrouter/2025-12-29_openrouter_api_v1_models_wrapped.json"
APR_2026 = "openrouter/2026-04-20_openrouter_api_v1_models_wrapped.json"


def test_every_real_page_is_covered():
    assert_pages_covered("openrouter", {DEC_2025, APR_2026})


def test_models_2025_12_29():
    quotes = parse_page("openrouter", vendor_page(DEC_2025))
    assert len(quotes) >= 850
    assert len({q.model for q in quotes}) >= 340
    assert one_quote(quotes, "deepseek/deepseek-chat", "input").price == Decimal("0.0000003")
    assert one_quote(quotes, "deepseek/deepseek-chat", "output").price == Decimal("0.0000012")
    assert one_quote(quotes, "anthropic/claude-opus-4.5", "web_search", unit="request").price == Decimal("0.01")
    assert one_quote(quotes, "openai/gpt-4o-search-preview", "per_request", unit="request").price == Decimal("0.035")
    assert one_quote(quotes, "anthropic/claude-sonnet-4", "input_image", unit="image").price == Decimal("0.0048")
    assert one_quote(quotes, "openai/gpt-oss-20b:free", "input").price == 0
    assert not [q for q in quotes if q.model in ("openrouter/auto", "openrouter/bodybuilder")]
    assert all(q.per == 1 and q.currency == "USD" and q.price >= 0 for q in quotes)
    assert_unique_keys(quotes)


def test_models_2026_04_20():
    quotes = parse_page("openrouter", vendor_page(APR_2026))
    assert len(quotes) >= 900
    assert len({q.model for q in quotes}) >= 330
    assert one_quote(quotes, "anthropic/claude-opus-4.7", "input").price == Decimal("0.000005")
    assert one_quote(quotes, "anthropic/claude-opus-4.7", "cache_write").price == Decimal("0.00000625")
    assert one_quote(quotes, "deepseek/deepseek-chat", "output").price == Decimal("0.00000089")
    assert one_quote(quotes, "google/gemini-2.5-flash", "input_audio").price == Decimal("0.000001")
    assert one_quote(quotes, "openai/gpt-oss-120b:free", "output").price == 0
    assert not [q for q in quotes if q.model == "openrouter/auto"]
    assert_unique_keys(quotes)


def test_image_tokens_at_the_prompt_rate_are_read_per_token():
    """By 2026 `image` gives Gemini's image tokens at the prompt rate, where it gave a price
    per image in 2025: read in one unit, the change of meaning is a -99.98% "cut"."""
    def image_prices(path):
        return {(q.model, q.unit): q.price for q in parse_page("openrouter", vendor_page(path))
                if q.dimension == "input_image"}

    before, after = image_prices(DEC_2025), image_prices(APR_2026)
    assert before[("google/gemini-2.5-flash", "image")] == Decimal("0.001238")
    assert after[("google/gemini-2.5-flash", "token")] == Decimal("0.0000003")
    assert before[("anthropic/claude-sonnet-4", "image")] == Decimal("0.0048")
    for key in before.keys() & after.keys():
        assert Decimal("0.05") < after[key] / before[key] < 20, key
