"""The anthropic parser on every real page in ../shared/vendor-pages/anthropic."""

from __future__ import annotations

from decimal import Decimal

import scrapers
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

# get_parser() loads the registry only while it is empty: once any test imports a single
# scrapers module first, the others stay unloaded.  Load them all, whatever the test order.
scrapers._load_all()

TEXT_2024 = "anthropic/2024-04-01_anthropic_com_api_pricing_text.js"
DOCS_2025 = "anthropic/2025-05-24_docs_anthropic_com_pricing_scraped_markdown.md"
TRANSCRIPTION = "anthropic/2026-02-07_docs_pricing_screenshot_transcription.md"
CLAUDE_COM = "anthropic/2026-05-08_claude_com_pricing.html"
# A screenshot (JPEG) of the docs page: an image, not a parseable page.  Its content is
# the 2026-02-07 transcription.
SCREENSHOT = "anthropic/2026-01-24_docs_pricing_screenshot_01.jpg"
LONG = {"context_tokens": {"min": 200000, "max": None}}


def parse(relative: str):
    return get_parser("anthropic").parse(Page(vendor_page(relative).read_bytes()))


def price(quotes, model, dimension, **conditions):
    hits = [q.price for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def _unique(quotes):
    keys = [(q.model, q.dimension, repr(sorted(q.conditions.items()))) for q in quotes]
    assert len(keys) == len(set(keys))
    assert all(q.currency == "USD" and q.per == 1_000_000 and q.unit == "token" for q in quotes)


def test_every_real_page_is_covered():
    names = {f"anthropic/{p.name}" for p in vendor_pages("anthropic")}
    known = {TEXT_2024, DOCS_2025, TRANSCRIPTION, CLAUDE_COM, SCREENSHOT}
    assert names <= known, names - known


def test_api_pricing_text_2024_04_01():
    quotes = parse(TEXT_2024)
    assert len(quotes) >= 12
    assert price(quotes, "claude-haiku-3", "input") == Decimal("0.25")
    assert price(quotes, "claude-sonnet-3", "output") == Decimal("15")
    assert price(quotes, "claude-opus-3", "output") == Decimal("75")
    assert price(quotes, "claude-2-1", "input") == Decimal("8")
    assert price(quotes, "claude-instant", "output") == Decimal("2.40")
    _unique(quotes)


def test_docs_markdown_2025_05_24():
    quotes = parse(DOCS_2025)
    assert len(quotes) >= 49
    assert len({q.model for q in quotes}) == 7
    assert price(quotes, "claude-opus-4", "input") == Decimal("15")
    assert price(quotes, "claude-sonnet-4", "cache_write", cache_ttl="5m") == Decimal("3.75")
    assert price(quotes, "claude-sonnet-4", "cache_write", cache_ttl="1h") == Decimal("6")
    assert price(quotes, "claude-haiku-3", "cached_input") == Decimal("0.03")
    assert price(quotes, "claude-haiku-3-5", "output", batch=True) == Decimal("2")
    _unique(quotes)


def test_docs_transcription_2026_02_07():
    quotes = parse(TRANSCRIPTION)
    assert len(quotes) >= 73
    assert len({q.model for q in quotes}) >= 11
    assert price(quotes, "claude-opus-4-6", "input") == Decimal("5")
    assert price(quotes, "claude-opus-4-5", "cache_write", cache_ttl="1h") == Decimal("10")
    assert price(quotes, "claude-haiku-4-5", "cached_input") == Decimal("0.10")
    assert price(quotes, "claude-opus-3", "input", batch=True) == Decimal("7.50")
    assert price(quotes, "claude-opus-4-6", "output", **LONG) == Decimal("37.50")
    assert price(quotes, "claude-sonnet-4", "output", **LONG) == Decimal("22.50")
    assert not [q for q in quotes if "4-x" in q.model]
    _unique(quotes)


def test_claude_com_pricing_2026_05_08():
    quotes = parse(CLAUDE_COM)
    assert len(quotes) >= 36
    assert len({q.model for q in quotes}) == 9
    assert price(quotes, "claude-opus-4-7", "input") == Decimal("5")
    assert price(quotes, "claude-opus-4-7", "output") == Decimal("25")
    assert price(quotes, "claude-sonnet-4-6", "cache_write", cache_ttl="5m") == Decimal("3.75")
    assert price(quotes, "claude-haiku-4-5", "cached_input") == Decimal("0.10")
    assert price(quotes, "claude-opus-4-1", "cache_write", cache_ttl="5m") == Decimal("18.75")
    assert price(quotes, "claude-opus-4", "output") == Decimal("75")
    _unique(quotes)
