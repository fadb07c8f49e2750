"""The moonshot parser on every real page in ../shared/vendor-pages/moonshot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
from tests.conftest import assert_pages_covered, one_quote, parse_page, vendor_page

CN_K26 = "moonshot/2026-07-17_platform_kimi_com_pricing_chat-k26.html"
INTL_MDX = "moonshot/2026-05-08_platform_kimi_ai_pricing_chat_markdown.md"
# The platform.kimi.ai/docs/pricing/chat overview: links to the per-model pages, no price.
INTL_OVERVIEW = "moonshot/2026-05-08_platform_kimi_ai_pricing_chat.html"


def test_every_real_page_is_covered():
    assert_pages_covered("moonshot", {CN_K26, INTL_MDX, INTL_OVERVIEW})


def test_kimi_com_k26_cny():
    quotes = parse_page("moonshot", vendor_page(CN_K26))
    assert len(quotes) >= 3
    assert one_quote(quotes, "kimi-k2.6", "cached_input", currency="CNY").price == Decimal("1.10")
    assert one_quote(quotes, "kimi-k2.6", "input", currency="CNY").price == Decimal("6.50")
    assert one_quote(quotes, "kimi-k2.6", "output", currency="CNY").price == Decimal("27.00")


def test_kimi_ai_mdx_usd():
    quotes = parse_page("moonshot", vendor_page(INTL_MDX))
    assert len(quotes) >= 33
    assert one_quote(quotes, "kimi-k2.6", "input", currency="USD").price == Decimal("0.95")
    assert one_quote(quotes, "kimi-k2.5", "cached_input", currency="USD").price == Decimal("0.10")
    assert one_quote(quotes, "kimi-k2-thinking-turbo", "output", currency="USD").price == Decimal("8.00")
    assert one_quote(quotes, "moonshot-v1-128k-vision-preview", "output", currency="USD").price == Decimal("5.00")
    assert {q.currency for q in quotes} == {"USD"}


def test_kimi_ai_overview_has_no_prices():
    with pytest.raises(LayoutDrift):
        parse_page("moonshot", vendor_page(INTL_OVERVIEW))
