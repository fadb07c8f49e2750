"""The google parser on every real page in ../shared/vendor-pages/google."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
from tests.conftest import assert_pages_covered, one_quote, parse_page, vendor_page

GEMINI_API = "google/2026-07-21_ai_google_dev_gemini-api_pricing_jina_markdown.md"
# Google Cloud Vertex / Agent Platform pricing: another product's price list (other prices,
# per-character legacy rows); the google source reads ai.google.dev, so the parser refuses it.
VERTEX = "google/2026-05-08_cloud_google_com_vertex_agent_platform_generative_ai_pricing.html"


def test_every_real_page_is_covered():
    assert_pages_covered("google", {GEMINI_API, VERTEX})


def test_gemini_api_2026_07_21():
    quotes = parse_page("google", vendor_page(GEMINI_API))
    assert len(quotes) >= 350
    assert len({q.model for q in quotes}) >= 30
    low, high = {"min": 0, "max": 200_000}, {"min": 200_000, "max": None}
    assert one_quote(quotes, "gemini-3.6-flash", "input").price == Decimal("1.50")
    assert one_quote(quotes, "gemini-3.6-flash", "output").price == Decimal("7.50")
    assert one_quote(quotes, "gemini-3.5-flash", "output", tier="priority").price == Decimal("16.20")
    assert one_quote(quotes, "gemini-3.1-pro-preview", "input", context_tokens=low).price == Decimal("2.00")
    assert one_quote(quotes, "gemini-3.1-pro-preview", "output", context_tokens=high).price == Decimal("18.00")
    assert one_quote(quotes, "gemini-3.1-pro-preview", "output", batch=True, context_tokens=low).price == Decimal("6.00")
    assert one_quote(quotes, "gemini-2.5-pro", "cached_input", context_tokens=low).price == Decimal("0.125")
    assert one_quote(quotes, "gemini-2.5-flash-lite", "input_audio").price == Decimal("0.30")
    assert one_quote(quotes, "gemini-2.0-flash-lite", "input", batch=True).price == Decimal("0.0375")
    assert one_quote(quotes, "gemini-3.1-flash-lite", "cache_storage").price == Decimal("1.00")
    assert one_quote(quotes, "gemini-embedding-001", "input").price == Decimal("0.15")
    video = one_quote(quotes, "veo-3.1-fast-generate-preview", "output_video", unit="second", resolution="1080p")
    assert video.price == Decimal("0.12")
    assert one_quote(quotes, "gemini-2.5-flash", "input", tier="free").price == 0
    assert {q.currency for q in quotes} == {"USD"}


def test_vertex_page_is_refused():
    with pytest.raises(LayoutDrift, match="Vertex"):
        parse_page("google", vendor_page(VERTEX))
