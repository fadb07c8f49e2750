"""The openai parser on every real page in ../shared/vendor-pages/openai."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import Blocked
import scrapers
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

# get_parser() loads the registry only while it is empty: once any test imports a single
# scrapers module first, the others stay unloaded.  Load them all, whatever the test order.
scrapers._load_all()

JINA = "openai/2026-05-08_platform_openai_com_docs_pricing_jina_markdown.md"
TRANSCRIPTION = "openai/2026-02-07_docs_pricing_standard_screenshot_transcription.md"
TEXT_2024 = "openai/2024-04-01_openai_com_pricing_text.js"
CHALLENGE = "openai/2026-05-08_openai_pricing_cloudflare_challenge.html"
# An author's notes diffing two snapshots (old vs new columns, OpenAI and Anthropic
# together): not a price list published by OpenAI, so not parsed here.
NOTES = "openai/2026-03-10_pricing_changes_notes.md"
LONG = {"context_tokens": {"min": 272000, "max": None}}


def parse(relative: str):
    return get_parser("openai").parse(Page(vendor_page(relative).read_bytes()))


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
    names = {f"openai/{p.name}" for p in vendor_pages("openai")}
    known = {JINA, TRANSCRIPTION, TEXT_2024, CHALLENGE, NOTES}
    assert names <= known, names - known


def test_docs_pricing_jina_2026_05_08():
    quotes = parse(JINA)
    assert len(quotes) >= 160
    assert len({q.model for q in quotes}) >= 20
    assert price(quotes, "gpt-5.5", "input") == Decimal("5.00")
    assert price(quotes, "gpt-5.5", "output", **LONG) == Decimal("45.00")
    assert price(quotes, "gpt-5.4", "cached_input", batch=True) == Decimal("0.13")
    assert price(quotes, "gpt-5.4-nano", "output", tier="flex") == Decimal("0.625")
    assert price(quotes, "gpt-5.4-mini", "input", tier="priority") == Decimal("1.50")
    assert price(quotes, "gpt-realtime-mini", "output_audio") == Decimal("20.00")
    assert price(quotes, "gpt-image-1.5", "output", batch=True) == Decimal("5.00")
    assert price(quotes, "sora-2-pro", "output_video", unit="second", resolution="1024p") == Decimal("0.50")
    assert price(quotes, "gpt-5.3-codex", "output", tier="priority") == Decimal("28.00")
    assert price(quotes, "o4-mini-deep-research", "input", batch=True) == Decimal("1.00")
    assert not [q for q in quotes if q.model.startswith("o4-mini-2025")]  # fine-tuning
    _unique(quotes)


def test_docs_pricing_transcription_2026_02_07():
    quotes = parse(TRANSCRIPTION)
    assert len(quotes) >= 250
    assert len({q.model for q in quotes}) >= 70
    assert price(quotes, "gpt-5.2", "input") == Decimal("1.75")
    assert price(quotes, "gpt-5.2", "cached_input") == Decimal("0.175")
    assert price(quotes, "gpt-4o-mini", "output") == Decimal("0.60")
    assert price(quotes, "o1-pro", "output") == Decimal("600.00")
    assert price(quotes, "gpt-image-1", "output_image") == Decimal("40.00")
    assert price(quotes, "gpt-4o-realtime-preview", "input_audio") == Decimal("40.00")
    assert price(quotes, "gpt-image-1-mini", "output_image", unit="image", quality="high", resolution="1024x1536") == Decimal(
        "0.052"
    )
    assert price(quotes, "text-embedding-3-large", "input", batch=True) == Decimal("0.065")
    assert price(quotes, "babbage-002", "input") == Decimal("0.40")
    _unique(quotes)


def test_openai_com_pricing_text_2024_04_01():
    quotes = parse(TEXT_2024)
    assert len(quotes) >= 40
    assert price(quotes, "gpt-4-0125-preview", "input") == Decimal("10.00")
    assert price(quotes, "gpt-4-32k", "output") == Decimal("120.00")
    assert price(quotes, "gpt-3.5-turbo-0125", "input") == Decimal("0.50")
    assert price(quotes, "gpt-3.5-turbo-16k-0613", "output") == Decimal("4.00")
    assert price(quotes, "dall-e-3", "output_image", unit="image", quality="hd", resolution="1024x1024") == Decimal("0.080")
    assert price(quotes, "tts-hd", "input", unit="character") == Decimal("30.00")
    assert not [q for q in quotes if q.model == "gpt-3.5-turbo"]  # only under fine-tuning on this page
    _unique(quotes)


def test_cloudflare_challenge_2026_05_08_is_blocked():
    with pytest.raises(Blocked):
        parse(CHALLENGE)
