"""The moonshot parser on every real page in ../shared/vendor-pages/moonshot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
import scrapers.moonshot  # noqa: F401  (registers the parser even when the registry is already partly loaded)
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

CN_K26 = "moonshot/2026-07-17_platform_kimi_com_pricing_chat-k26.html"
INTL_MDX = "moonshot/2026-05-08_platform_kimi_ai_pricing_chat_markdown.md"
# The platform.kimi.ai/docs/pricing/chat overview: links to the per-model pages, no price.
INTL_OVERVIEW = "moonshot/2026-05-08_platform_kimi_ai_pricing_chat.html"


def parse(relative: str):
    path = vendor_page(relative)
    return get_parser("moonshot").parse(Page(path.read_bytes(), url=""))


def price(quotes, model, dimension, currency):
    hits = [q.price for q in quotes if q.model == model and q.dimension == dimension and q.currency == currency]
    assert len(hits) == 1, (model, dimension, currency, hits)
    return hits[0]


def test_every_real_page_is_covered():
    names = {f"moonshot/{p.name}" for p in vendor_pages("moonshot")}
    expected = {CN_K26, INTL_MDX, INTL_OVERVIEW}
    assert names <= expected, names - expected


def test_kimi_com_k26_cny():
    quotes = parse(CN_K26)
    assert len(quotes) >= 3
    assert price(quotes, "kimi-k2.6", "cached_input", "CNY") == Decimal("1.10")
    assert price(quotes, "kimi-k2.6", "input", "CNY") == Decimal("6.50")
    assert price(quotes, "kimi-k2.6", "output", "CNY") == Decimal("27.00")


def test_kimi_ai_mdx_usd():
    quotes = parse(INTL_MDX)
    assert len(quotes) >= 33
    assert price(quotes, "kimi-k2.6", "input", "USD") == Decimal("0.95")
    assert price(quotes, "kimi-k2.5", "cached_input", "USD") == Decimal("0.10")
    assert price(quotes, "kimi-k2-thinking-turbo", "output", "USD") == Decimal("8.00")
    assert price(quotes, "moonshot-v1-128k-vision-preview", "output", "USD") == Decimal("5.00")
    assert {q.currency for q in quotes} == {"USD"}


def test_kimi_ai_overview_has_no_prices():
    with pytest.raises(LayoutDrift):
        parse(INTL_OVERVIEW)
