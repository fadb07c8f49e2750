"""The litellm parser on every real model_prices JSON in ../shared/vendor-pages/litellm."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, vendor_page

TOKENCOST_2024 = "litellm/2024-01-30_tokencost-copy_model_prices.json"
JUL_2026 = "litellm/2026-07-24_model_prices_and_context_window.json"


def test_every_real_page_is_covered():
    assert_pages_covered("litellm", {TOKENCOST_2024, JUL_2026})


def test_tokencost_copy_2024_01_30():
    quotes = parse_page("litellm", vendor_page(TOKENCOST_2024))
    assert len(quotes) >= 400
    assert len({q.model for q in quotes}) >= 200
    assert one_quote(quotes, "gpt-4", "input").price == Decimal("0.00003")
    assert one_quote(quotes, "gpt-4", "output").price == Decimal("0.00006")
    assert one_quote(quotes, "gpt-3.5-turbo", "input").price == Decimal("0.0000015")
    assert one_quote(quotes, "claude-2", "output").price == Decimal("0.000024")
    assert one_quote(quotes, "together-ai-up-to-3b", "input").price == Decimal("0.0000001")
    assert not [q for q in quotes if q.model == "text-embedding-ada-002"]
    assert_unique_keys(quotes)


def test_model_prices_2026_07_24():
    quotes = parse_page("litellm", vendor_page(JUL_2026))
    assert len(quotes) >= 6500
    assert len({q.model for q in quotes}) >= 2200
    assert one_quote(quotes, "gpt-4o", "input").price == Decimal("0.0000025")
    assert one_quote(quotes, "gpt-4o", "output", batch=True).price == Decimal("0.000005")
    assert one_quote(quotes, "deepseek/deepseek-chat", "input").price == Decimal("0.00000028")
    assert one_quote(quotes, "deepseek/deepseek-chat", "cached_input").price == Decimal("0.000000028")
    long = {"context_tokens": {"min": 200000, "max": None}}
    assert one_quote(quotes, "claude-sonnet-4-5", "input", **long).price == Decimal("0.000006")
    assert one_quote(quotes, "claude-sonnet-4-5", "cache_write", cache_ttl="1h").price == Decimal("0.000006")
    assert one_quote(quotes, "gpt-5.4", "output", context_tokens={"min": 272000, "max": None}).price == Decimal("0.0000225")
    assert one_quote(quotes, "gpt-5.4", "input", tier="priority").price == Decimal("0.000005")
    assert "sample_spec" not in {q.model for q in quotes}
    assert all(q.per == 1 and q.currency == "USD" for q in quotes)
    assert_unique_keys(quotes)
