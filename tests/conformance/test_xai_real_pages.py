"""The xai parser on every real page in ../shared/vendor-pages/xai."""

from __future__ import annotations

from decimal import Decimal

import scrapers
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

# get_parser() loads the registry only while it is empty: once any test imports a single
# scrapers module first, the others stay unloaded.  Load them all, whatever the test order.
scrapers._load_all()

JINA = "xai/2026-05-08_docs_x_ai_models_jina_markdown.md"


def parse(relative: str):
    return get_parser("xai").parse(Page(vendor_page(relative).read_bytes()))


def price(quotes, model, dimension, unit="token", **conditions):
    hits = [
        q.price
        for q in quotes
        if q.model == model and q.dimension == dimension and q.unit == unit and q.conditions == conditions
    ]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_every_real_page_is_covered():
    names = {f"xai/{p.name}" for p in vendor_pages("xai")}
    assert names <= {JINA}, names - {JINA}


def test_models_jina_2026_05_08():
    quotes = parse(JINA)
    assert len(quotes) >= 16
    assert len({q.model for q in quotes}) == 10
    assert price(quotes, "grok-4.3", "input") == Decimal("1.25")
    assert price(quotes, "grok-4.3", "output") == Decimal("2.50")
    assert price(quotes, "grok-4.20-multi-agent-0309", "input") == Decimal("1.25")
    assert price(quotes, "grok-4-1-fast-reasoning", "output") == Decimal("0.50")
    assert price(quotes, "grok-imagine-image-pro", "output_image", unit="image") == Decimal("0.07")
    assert price(quotes, "grok-imagine-video", "output_video", unit="second") == Decimal("0.05")
    keys = [(q.model, q.dimension, repr(sorted(q.conditions.items()))) for q in quotes]
    assert len(keys) == len(set(keys))
    assert {q.currency for q in quotes} == {"USD"}
