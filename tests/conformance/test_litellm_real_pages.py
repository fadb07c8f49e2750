"""The litellm parser on every real model_prices JSON in ../shared/vendor-pages/litellm."""

from __future__ import annotations

from decimal import Decimal

import scrapers
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

# get_parser() loads the registry only while it is empty: once any test imports a single
# scrapers module first, the others stay unloaded.  Load them all, whatever the test order.
scrapers._load_all()

TOKENCOST_2024 = "litellm/2024-01-30_tokencost-copy_model_prices.json"
JUL_2026 = "litellm/2026-07-24_model_prices_and_context_window.json"


def parse(relative: str):
    return get_parser("litellm").parse(Page(vendor_page(relative).read_bytes()))


def price(quotes, model, dimension, unit="token", **conditions):
    hits = [
        q.price
        for q in quotes
        if q.model == model and q.dimension == dimension and q.unit == unit and q.conditions == conditions
    ]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def _unique(quotes):
    keys = [(q.model, q.dimension, repr(sorted(q.conditions.items()))) for q in quotes]
    assert len(keys) == len(set(keys))


def test_every_real_page_is_covered():
    names = {f"litellm/{p.name}" for p in vendor_pages("litellm")}
    assert names <= {TOKENCOST_2024, JUL_2026}, names - {TOKENCOST_2024, JUL_2026}


def test_tokencost_copy_2024_01_30():
    quotes = parse(TOKENCOST_2024)
    assert len(quotes) >= 400
    assert len({q.model for q in quotes}) >= 200
    assert price(quotes, "gpt-4", "input") == Decimal("0.00003")
    assert price(quotes, "gpt-4", "output") == Decimal("0.00006")
    assert price(quotes, "gpt-3.5-turbo", "input") == Decimal("0.0000015")
    assert price(quotes, "claude-2", "output") == Decimal("0.000024")
    assert price(quotes, "together-ai-up-to-3b", "input") == Decimal("0.0000001")
    assert not [q for q in quotes if q.model == "text-embedding-ada-002"]
    _unique(quotes)


def test_model_prices_2026_07_24():
    quotes = parse(JUL_2026)
    assert len(quotes) >= 6500
    assert len({q.model for q in quotes}) >= 2200
    assert price(quotes, "gpt-4o", "input") == Decimal("0.0000025")
    assert price(quotes, "gpt-4o", "output", batch=True) == Decimal("0.000005")
    assert price(quotes, "deepseek/deepseek-chat", "input") == Decimal("0.00000028")
    assert price(quotes, "deepseek/deepseek-chat", "cached_input") == Decimal("0.000000028")
    long = {"context_tokens": {"min": 200000, "max": None}}
    assert price(quotes, "claude-sonnet-4-5", "input", **long) == Decimal("0.000006")
    assert price(quotes, "claude-sonnet-4-5", "cache_write", cache_ttl="1h") == Decimal("0.000006")
    assert price(quotes, "gpt-5.4", "output", context_tokens={"min": 272000, "max": None}) == Decimal("0.0000225")
    assert price(quotes, "gpt-5.4", "input", tier="priority") == Decimal("0.000005")
    assert "sample_spec" not in {q.model for q in quotes}
    assert all(q.per == 1 and q.currency == "USD" for q in quotes)
    _unique(quotes)
