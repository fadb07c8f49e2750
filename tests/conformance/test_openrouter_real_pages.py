"""The openrouter parser on every real /api/v1/models response in ../shared/vendor-pages/openrouter.

No real /endpoints response is archived there; `openrouter-endpoints` is covered by the
unit tests (fixture written from OpenRouter's documented response schema).
"""

from __future__ import annotations

from decimal import Decimal

import scrapers
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

# get_parser() loads the registry only while it is empty: once any test imports a single
# scrapers module first, the others stay unloaded.  Load them all, whatever the test order.
scrapers._load_all()

DEC_2025 = "openrouter/2025-12-29_openrouter_api_v1_models_wrapped.json"
APR_2026 = "openrouter/2026-04-20_openrouter_api_v1_models_wrapped.json"


def parse(relative: str):
    return get_parser("openrouter").parse(Page(vendor_page(relative).read_bytes()))


def price(quotes, model, dimension, unit="token", **conditions):
    hits = [
        q.price
        for q in quotes
        if q.model == model and q.dimension == dimension and q.unit == unit and q.conditions == conditions
    ]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def _unique(quotes):
    keys = [(q.model, q.dimension, q.unit, repr(sorted(q.conditions.items()))) for q in quotes]
    assert len(keys) == len(set(keys))


def test_every_real_page_is_covered():
    names = {f"openrouter/{p.name}" for p in vendor_pages("openrouter")}
    assert names <= {DEC_2025, APR_2026}, names - {DEC_2025, APR_2026}


def test_models_2025_12_29():
    quotes = parse(DEC_2025)
    assert len(quotes) >= 850
    assert len({q.model for q in quotes}) >= 340
    assert price(quotes, "deepseek/deepseek-chat", "input") == Decimal("0.0000003")
    assert price(quotes, "deepseek/deepseek-chat", "output") == Decimal("0.0000012")
    assert price(quotes, "anthropic/claude-opus-4.5", "web_search", unit="request") == Decimal("0.01")
    assert price(quotes, "openai/gpt-4o-search-preview", "per_request", unit="request") == Decimal("0.035")
    assert price(quotes, "anthropic/claude-sonnet-4", "input_image", unit="image") == Decimal("0.0048")
    assert price(quotes, "openai/gpt-oss-20b:free", "input") == 0
    assert not [q for q in quotes if q.model in ("openrouter/auto", "openrouter/bodybuilder")]
    assert all(q.per == 1 and q.currency == "USD" and q.price >= 0 for q in quotes)
    _unique(quotes)


def test_models_2026_04_20():
    quotes = parse(APR_2026)
    assert len(quotes) >= 900
    assert len({q.model for q in quotes}) >= 330
    assert price(quotes, "anthropic/claude-opus-4.7", "input") == Decimal("0.000005")
    assert price(quotes, "anthropic/claude-opus-4.7", "cache_write") == Decimal("0.00000625")
    assert price(quotes, "deepseek/deepseek-chat", "output") == Decimal("0.00000089")
    assert price(quotes, "google/gemini-2.5-flash", "input_audio") == Decimal("0.000001")
    assert price(quotes, "openai/gpt-oss-120b:free", "output") == 0
    assert not [q for q in quotes if q.model == "openrouter/auto"]
    _unique(quotes)
