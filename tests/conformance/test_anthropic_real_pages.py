"""The anthropic parser on every real page in ../shared/vendor-pages/anthropic."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, vendor_page

TEXT_2024 = "anthropic/2024-04-01_anthropic_com_api_pricing_text.js"
DOCS_2025 = "anthropic/2025-05-24_docs_anthropic_com_pricing_scraped_markdown.md"
TRANSCRIPTION = "anthropic/2026-02-07_docs_pricing_screenshot_transcription.md"
CLAUDE_COM = "anthropic/2026-05-08_claude_com_pricing.html"
# A screenshot (JPEG) of the docs page: an image, not a parseable page.  Its content is
# the 2026-02-07 transcription.
SCREENSHOT = "anthropic/2026-01-24_docs_pricing_screenshot_01.jpg"
LONG = {"context_tokens": {"min": 200000, "max": None}}


def _well_formed(quotes):
    assert_unique_keys(quotes)
    assert all(q.currency == "USD" and q.per == 1_000_000 and q.unit == "token" for q in quotes)


def test_every_real_page_is_covered():
    assert_pages_covered("anthropic", {TEXT_2024, DOCS_2025, TRANSCRIPTION, CLAUDE_COM, SCREENSHOT})


def test_api_pricing_text_2024_04_01():
    quotes = parse_page("anthropic", vendor_page(TEXT_2024))
    assert len(quotes) >= 12
    assert one_quote(quotes, "claude-haiku-3", "input").price == Decimal("0.25")
    assert one_quote(quotes, "claude-sonnet-3", "output").price == Decimal("15")
    assert one_quote(quotes, "claude-opus-3", "output").price == Decimal("75")
    assert one_quote(quotes, "claude-2-1", "input").price == Decimal("8")
    assert one_quote(quotes, "claude-instant", "output").price == Decimal("2.40")
    _well_formed(quotes)


def test_docs_markdown_2025_05_24():
    quotes = parse_page("anthropic", vendor_page(DOCS_2025))
    assert len(quotes) >= 49
    assert len({q.model for q in quotes}) == 7
    assert one_quote(quotes, "claude-opus-4", "input").price == Decimal("15")
    assert one_quote(quotes, "claude-sonnet-4", "cache_write", cache_ttl="5m").price == Decimal("3.75")
    assert one_quote(quotes, "claude-sonnet-4", "cache_write", cache_ttl="1h").price == Decimal("6")
    assert one_quote(quotes, "claude-haiku-3", "cached_input").price == Decimal("0.03")
    assert one_quote(quotes, "claude-haiku-3-5", "output", batch=True).price == Decimal("2")
    _well_formed(quotes)


def test_docs_transcription_2026_02_07():
    quotes = parse_page("anthropic", vendor_page(TRANSCRIPTION))
    assert len(quotes) >= 73
    assert len({q.model for q in quotes}) >= 11
    assert one_quote(quotes, "claude-opus-4-6", "input").price == Decimal("5")
    assert one_quote(quotes, "claude-opus-4-5", "cache_write", cache_ttl="1h").price == Decimal("10")
    assert one_quote(quotes, "claude-haiku-4-5", "cached_input").price == Decimal("0.10")
    assert one_quote(quotes, "claude-opus-3", "input", batch=True).price == Decimal("7.50")
    assert one_quote(quotes, "claude-opus-4-6", "output", **LONG).price == Decimal("37.50")
    assert one_quote(quotes, "claude-sonnet-4", "output", **LONG).price == Decimal("22.50")
    assert not [q for q in quotes if "4-x" in q.model]
    _well_formed(quotes)


def test_claude_com_pricing_2026_05_08():
    quotes = parse_page("anthropic", vendor_page(CLAUDE_COM))
    assert len(quotes) >= 36
    assert len({q.model for q in quotes}) == 9
    assert one_quote(quotes, "claude-opus-4-7", "input").price == Decimal("5")
    assert one_quote(quotes, "claude-opus-4-7", "output").price == Decimal("25")
    assert one_quote(quotes, "claude-sonnet-4-6", "cache_write", cache_ttl="5m").price == Decimal("3.75")
    assert one_quote(quotes, "claude-haiku-4-5", "cached_input").price == Decimal("0.10")
    assert one_quote(quotes, "claude-opus-4-1", "cache_write", cache_ttl="5m").price == Decimal("18.75")
    assert one_quote(quotes, "claude-opus-4", "output").price == Decimal("75")
    _well_formed(quotes)
