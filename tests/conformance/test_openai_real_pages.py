"""The openai parser on every real page in ../shared/vendor-pages/openai."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import Blocked
from tests.conftest import assert_pages_covered, assert_unique_keys, one_quote, parse_page, vendor_page

JINA = "openai/2026-05-08_platform_openai_com_docs_pricing_jina_markdown.md"
TRANSCRIPTION = "openai/2026-02-07_docs_pricing_standard_screenshot_transcription.md"
TEXT_2024 = "openai/2024-04-01_openai_com_pricing_text.js"
CHALLENGE = "openai/2026-05-08_openai_pricing_cloudflare_challenge.html"
# An author's notes diffing two snapshots (old vs new columns, OpenAI and Anthropic
# together): not a price list published by OpenAI, refused (test below).
NOTES = "openai/2026-03-10_pricing_changes_notes.md"
LONG = {"context_tokens": {"min": 272000, "max": None}}


def test_every_real_page_is_covered():
    assert_pages_covered("openai", {JINA, TRANSCRIPTION, TEXT_2024, CHALLENGE, NOTES})


def test_docs_pricing_jina_2026_05_08():
    quotes = parse_page("openai", vendor_page(JINA))
    assert len(quotes) >= 160
    assert len({q.model for q in quotes}) >= 20
    assert one_quote(quotes, "gpt-5.5", "input").price == Decimal("5.00")
    assert one_quote(quotes, "gpt-5.5", "output", **LONG).price == Decimal("45.00")
    assert one_quote(quotes, "gpt-5.4", "cached_input", batch=True).price == Decimal("0.13")
    assert one_quote(quotes, "gpt-5.4-nano", "output", tier="flex").price == Decimal("0.625")
    assert one_quote(quotes, "gpt-5.4-mini", "input", tier="priority").price == Decimal("1.50")
    assert one_quote(quotes, "gpt-realtime-mini", "output_audio").price == Decimal("20.00")
    assert one_quote(quotes, "gpt-image-1.5", "output", batch=True).price == Decimal("5.00")
    assert one_quote(quotes, "sora-2-pro", "output_video", unit="second", resolution="1024p").price == Decimal("0.50")
    assert one_quote(quotes, "gpt-5.3-codex", "output", tier="priority").price == Decimal("28.00")
    assert one_quote(quotes, "o4-mini-deep-research", "input", batch=True).price == Decimal("1.00")
    assert not [q for q in quotes if q.model.startswith("o4-mini-2025")]  # fine-tuning
    assert_unique_keys(quotes)


def test_docs_pricing_transcription_2026_02_07():
    quotes = parse_page("openai", vendor_page(TRANSCRIPTION))
    assert len(quotes) >= 250
    assert len({q.model for q in quotes}) >= 70
    assert one_quote(quotes, "gpt-5.2", "input").price == Decimal("1.75")
    assert one_quote(quotes, "gpt-5.2", "cached_input").price == Decimal("0.175")
    assert one_quote(quotes, "gpt-4o-mini", "output").price == Decimal("0.60")
    assert one_quote(quotes, "o1-pro", "output").price == Decimal("600.00")
    assert one_quote(quotes, "gpt-image-1", "output_image").price == Decimal("40.00")
    assert one_quote(quotes, "gpt-4o-realtime-preview", "input_audio").price == Decimal("40.00")
    image = one_quote(quotes, "gpt-image-1-mini", "output_image", unit="image", quality="high", resolution="1024x1536")
    assert image.price == Decimal("0.052")
    assert one_quote(quotes, "text-embedding-3-large", "input", batch=True).price == Decimal("0.065")
    assert one_quote(quotes, "babbage-002", "input").price == Decimal("0.40")
    assert_unique_keys(quotes)


def test_openai_com_pricing_text_2024_04_01():
    quotes = parse_page("openai", vendor_page(TEXT_2024))
    assert len(quotes) >= 40
    assert one_quote(quotes, "gpt-4-0125-preview", "input").price == Decimal("10.00")
    assert one_quote(quotes, "gpt-4-32k", "output").price == Decimal("120.00")
    assert one_quote(quotes, "gpt-3.5-turbo-0125", "input").price == Decimal("0.50")
    assert one_quote(quotes, "gpt-3.5-turbo-16k-0613", "output").price == Decimal("4.00")
    image = one_quote(quotes, "dall-e-3", "output_image", unit="image", quality="hd", resolution="1024x1024")
    assert image.price == Decimal("0.080")
    assert one_quote(quotes, "tts-hd", "input", unit="character").price == Decimal("30.00")
    assert not [q for q in quotes if q.model == "gpt-3.5-turbo"]  # only under fine-tuning on this page
    assert_unique_keys(quotes)


def test_cloudflare_challenge_2026_05_08_is_blocked():
    with pytest.raises(Blocked):
        parse_page("openai", vendor_page(CHALLENGE))


def test_the_line_above_gives_the_unit_of_the_real_tables():
    """The real tables' cells say "$5.00"; "Prices per 1M tokens." above each section is the unit."""
    page = vendor_page(JINA).read_text(encoding="utf-8")
    assert "Prices per 1M tokens." in page
    per_thousand = parse_page("openai", page.replace("Prices per 1M tokens.", "Prices per 1K tokens."))
    assert {q.per for q in per_thousand if q.model == "gpt-5.5" and q.dimension == "input"} == {1000}
    assert one_quote(parse_page("openai", vendor_page(JINA)), "gpt-5.5", "input").per == 1_000_000


def test_notes_on_two_vendors_prices_are_no_openai_list():
    """The notes' OpenAI tables have old and new columns, which read as no price; their
    Anthropic table (Model | Input | Output) was read as eighteen OpenAI prices of Claude
    models, and an import of the file into `openai` published them as new OpenAI models."""
    from pipeline.errors import LayoutDrift

    with pytest.raises(LayoutDrift, match="only 0 OpenAI models"):
        parse_page("openai", vendor_page(NOTES))
