"""The google parser on every real page in ../shared/vendor-pages/google."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
import scrapers.google  # noqa: F401  (registers the parser even when the registry is already partly loaded)
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

GEMINI_API = "google/2026-07-21_ai_google_dev_gemini-api_pricing_jina_markdown.md"
# Google Cloud Vertex / Agent Platform pricing: another product's price list (other prices,
# per-character legacy rows); the google source reads ai.google.dev, so the parser refuses it.
VERTEX = "google/2026-05-08_cloud_google_com_vertex_agent_platform_generative_ai_pricing.html"


def parse(relative: str):
    path = vendor_page(relative)
    return get_parser("google").parse(Page(path.read_bytes(), url=""))


def price(quotes, model, dimension, **conditions):
    hits = [q.price for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_every_real_page_is_covered():
    names = {f"google/{p.name}" for p in vendor_pages("google")}
    assert names <= {GEMINI_API, VERTEX}, names - {GEMINI_API, VERTEX}


def test_gemini_api_2026_07_21():
    quotes = parse(GEMINI_API)
    assert len(quotes) >= 350
    assert len({q.model for q in quotes}) >= 30
    low, high = {"min": 0, "max": 200_000}, {"min": 200_000, "max": None}
    assert price(quotes, "gemini-3.6-flash", "input") == Decimal("1.50")
    assert price(quotes, "gemini-3.6-flash", "output") == Decimal("7.50")
    assert price(quotes, "gemini-3.5-flash", "output", tier="priority") == Decimal("16.20")
    assert price(quotes, "gemini-3.1-pro-preview", "input", context_tokens=low) == Decimal("2.00")
    assert price(quotes, "gemini-3.1-pro-preview", "output", context_tokens=high) == Decimal("18.00")
    assert price(quotes, "gemini-3.1-pro-preview", "output", batch=True, context_tokens=low) == Decimal("6.00")
    assert price(quotes, "gemini-2.5-pro", "cached_input", context_tokens=low) == Decimal("0.125")
    assert price(quotes, "gemini-2.5-flash-lite", "input_audio") == Decimal("0.30")
    assert price(quotes, "gemini-2.0-flash-lite", "input", batch=True) == Decimal("0.0375")
    assert price(quotes, "gemini-3.1-flash-lite", "cache_storage") == Decimal("1.00")
    assert price(quotes, "gemini-embedding-001", "input") == Decimal("0.15")
    assert price(quotes, "veo-3.1-fast-generate-preview", "output_video", resolution="1080p") == Decimal("0.12")
    assert price(quotes, "gemini-2.5-flash", "input", tier="free") == 0
    assert {q.currency for q in quotes} == {"USD"}


def test_vertex_page_is_refused():
    with pytest.raises(LayoutDrift, match="Vertex"):
        parse(VERTEX)
