"""The xai parser on every real page in ../shared/vendor-pages/xai."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, vendor_page

JINA = "xai/2026-05-08_docs_x_ai_models_jina_markdown.md"


def test_every_real_page_is_covered():
    assert_pages_covered("xai", {JINA})


def test_models_jina_2026_05_08():
    quotes = parse_page("xai", vendor_page(JINA))
    assert len(quotes) >= 16
    assert len({q.model for q in quotes}) == 10
    assert one_quote(quotes, "grok-4.3", "input").price == Decimal("1.25")
    assert one_quote(quotes, "grok-4.3", "output").price == Decimal("2.50")
    assert one_quote(quotes, "grok-4.20-multi-agent-0309", "input").price == Decimal("1.25")
    assert one_quote(quotes, "grok-4-1-fast-reasoning", "output").price == Decimal("0.50")
    assert one_quote(quotes, "grok-imagine-image-pro", "output_image", unit="image").price == Decimal("0.07")
    assert one_quote(quotes, "grok-imagine-video", "output_video", unit="second").price == Decimal("0.05")
    assert_unique_keys(quotes)
    assert {q.currency for q in quotes} == {"USD"}


def test_the_caption_gives_the_unit_of_the_real_chat_table():
    """The chat table's cells say "$1.25"; "Prices shown per million tokens" under it is the
    unit.  Said per thousand, the real page's model cards (still "/ 1M tokens") contradict it."""
    page = vendor_page(JINA).read_text(encoding="utf-8")
    assert "Prices shown per million tokens" in page
    with pytest.raises(LayoutDrift, match="two prices for the same terms"):
        parse_page("xai", page.replace("Prices shown per million tokens", "Prices shown per thousand tokens"))
