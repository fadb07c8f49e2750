"""Anthropic parser: docs pricing tables (markdown and HTML), claude.com cards, 2024 text dump."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import FIXTURES, one_quote, parse_page

parse = partial(parse_page, "anthropic")
PAGES = FIXTURES / "anthropic"
LONG = {"context_tokens": {"min": 200000, "max": None}}


def test_docs_crawler_markdown_table_and_batch():
    quotes = parse(PAGES / "docs_pricing_2025-05_crawler.md")
    opus = one_quote(quotes, "claude-opus-4", "input")
    assert opus.price == Decimal("15") and opus.per == 1_000_000 and opus.currency == "USD"
    assert one_quote(quotes, "claude-opus-4", "cache_write", cache_ttl="5m").price == Decimal("18.75")
    assert one_quote(quotes, "claude-opus-4", "cache_write", cache_ttl="1h").price == Decimal("30")
    assert one_quote(quotes, "claude-opus-4", "cached_input").price == Decimal("1.50")
    assert one_quote(quotes, "claude-sonnet-3-7", "output").price == Decimal("15")
    assert one_quote(quotes, "claude-haiku-3-5", "cache_write", cache_ttl="1h").price == Decimal("1.6")
    assert one_quote(quotes, "claude-opus-4", "output", batch=True).price == Decimal("37.50")
    assert one_quote(quotes, "claude-haiku-3", "input", batch=True).price == Decimal("0.125")
    # the tool-use table holds token counts, not prices
    assert all(q.price < 100 for q in quotes)


def test_transcription_long_context_and_deprecated_names():
    quotes = parse(PAGES / "docs_pricing_2026-02_transcription.md")
    assert one_quote(quotes, "claude-sonnet-3-7", "input").price == Decimal("3")  # "(deprecated)" dropped
    assert one_quote(quotes, "claude-opus-4-6", "input", **LONG).price == Decimal("10")
    assert one_quote(quotes, "claude-opus-4-6", "output", **LONG).price == Decimal("37.50")
    # "Claude Sonnet 4.5 / 4" prices both models
    assert one_quote(quotes, "claude-sonnet-4-5", "output", **LONG).price == Decimal("22.50")
    assert one_quote(quotes, "claude-sonnet-4", "input", **LONG).price == Decimal("6")
    # the "≤ 200K" column repeats the base price: one unconditional quote
    assert one_quote(quotes, "claude-opus-4-6", "input").price == Decimal("5")
    assert not [q for q in quotes if "4-x" in q.model]  # "735 tokens" is not a price


def test_claude_com_cards():
    quotes = parse(PAGES / "claude_com_pricing.html")
    assert one_quote(quotes, "claude-opus-4-7", "input").price == Decimal("5")
    assert one_quote(quotes, "claude-opus-4-7", "output").price == Decimal("25")
    assert one_quote(quotes, "claude-opus-4-7", "cache_write", cache_ttl="5m").price == Decimal("6.25")
    assert one_quote(quotes, "claude-opus-4-7", "cached_input").price == Decimal("0.50")
    # the card title carries a zero-width space
    assert one_quote(quotes, "claude-sonnet-4-6", "cached_input").price == Decimal("0.30")
    assert one_quote(quotes, "claude-haiku-4-5", "output").price == Decimal("5")
    assert {q.model for q in quotes} == {"claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"}
    assert not [q for q in quotes if q.price == Decimal("99")]  # prices inside <script> are not read


def test_docs_html_tables():
    quotes = parse(PAGES / "docs_pricing_table.html")
    assert one_quote(quotes, "claude-haiku-4-5", "input").price == Decimal("1")  # <sup> footnote dropped
    assert one_quote(quotes, "claude-sonnet-4-5", "cache_write", cache_ttl="1h").price == Decimal("6")
    assert one_quote(quotes, "claude-opus-4-6", "output", batch=True).price == Decimal("12.50")


def test_2024_text_dump():
    quotes = parse(PAGES / "api_pricing_2024_text.js")
    assert one_quote(quotes, "claude-haiku-3", "input").price == Decimal("0.25")
    assert one_quote(quotes, "claude-opus-3", "output").price == Decimal("75")
    assert one_quote(quotes, "claude-2-1", "output").price == Decimal("24")
    assert one_quote(quotes, "claude-instant", "input").price == Decimal("0.80")


def test_challenge_page_is_blocked():
    page = b"<html><head><title>Just a moment...</title></head><body><script src='/cdn-cgi/challenge-platform/x'></script></body></html>"
    with pytest.raises(Blocked):
        parse(page)


def test_page_without_prices_is_drift():
    with pytest.raises(LayoutDrift):
        parse(b"<html><body><h1>Pricing</h1><p>Contact sales.</p></body></html>")
    with pytest.raises(LayoutDrift):
        parse(b"| Model | Tool choice |\n|---|---|\n| Claude Opus 4 | auto |\n")
