"""Gemini Developer API pricing (reader markdown): tabs, prompt-size tiers, modalities, free tier."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "google"

parse = partial(parse_page, "google", url="https://ai.google.dev/gemini-api/docs/pricing")


@pytest.fixture(scope="module")
def quotes():
    return parse(FIXTURES / "gemini_api_pricing_jina.md")


def test_prompt_size_tiers_in_tokens(quotes):
    low = {"min": 0, "max": 200_000}
    high = {"min": 200_000, "max": None}
    assert one_quote(quotes, "gemini-2.5-pro", "input", context_tokens=low).price == Decimal("1.25")
    assert one_quote(quotes, "gemini-2.5-pro", "input", context_tokens=high).price == Decimal("2.50")
    assert one_quote(quotes, "gemini-2.5-pro", "output", context_tokens=high).price == Decimal("15.00")
    assert one_quote(quotes, "gemini-2.5-pro", "cached_input", context_tokens=low).price == Decimal("0.125")


def test_storage_price_per_hour_is_cache_storage(quotes):
    storage = one_quote(quotes, "gemini-2.5-pro", "cache_storage")
    assert storage.price == Decimal("4.50")
    assert (storage.per, storage.unit) == (1_000_000, "token")


def test_tabs_map_to_batch_flex_priority(quotes):
    low = {"min": 0, "max": 200_000}
    assert one_quote(quotes, "gemini-2.5-pro", "input", batch=True, context_tokens=low).price == Decimal("0.625")
    assert one_quote(quotes, "gemini-2.5-pro", "input", tier="flex", context_tokens=low).price == Decimal("0.625")
    assert one_quote(quotes, "gemini-2.5-pro", "input", tier="priority", context_tokens=low).price == Decimal("2.25")
    assert one_quote(quotes, "gemini-2.5-flash", "output", batch=True).price == Decimal("1.25")


def test_audio_input_is_its_own_dimension(quotes):
    assert one_quote(quotes, "gemini-2.5-flash", "input").price == Decimal("0.30")
    assert one_quote(quotes, "gemini-2.5-flash", "input_audio").price == Decimal("1.00")
    assert one_quote(quotes, "gemini-2.5-flash", "cached_input_audio").price == Decimal("0.1")


def test_zero_width_space_in_price_cell(quotes):
    assert one_quote(quotes, "gemini-2.5-flash", "output").price == Decimal("2.50")


def test_free_tier_recorded_apart(quotes):
    free = one_quote(quotes, "gemini-2.5-flash", "input", tier="free")
    assert free.price == 0
    # the unconditional quote is the paid price, not the free tier
    assert one_quote(quotes, "gemini-2.5-flash", "input").price == Decimal("0.30")
    assert one_quote(quotes, "gemma-4", "output", tier="free").price == 0
    assert not [q for q in quotes if q.model == "gemma-4" and "tier" not in q.conditions]


def test_image_output_tokens_and_per_image_batch(quotes):
    assert one_quote(quotes, "gemini-3-pro-image", "output_image").price == Decimal("120.00")
    assert one_quote(quotes, "gemini-3-pro-image", "output").price == Decimal("12.00")
    per_image = one_quote(quotes, "gemini-3-pro-image", "output_image", unit="image", batch=True, resolution="4K")
    assert (per_image.price, per_image.per, per_image.unit) == (Decimal("0.12"), 1, "image")
    # "$0.0006 (image)*" and "Equivalent to $0.134 per image" are restatements, not token prices
    assert not [q for q in quotes if q.model == "gemini-3-pro-image" and q.dimension == "input_image"]


def test_imagen_rows_matched_to_their_ids(quotes):
    assert one_quote(quotes, "imagen-4.0-fast-generate-001", "output_image", unit="image").price == Decimal("0.02")
    standard = one_quote(quotes, "imagen-4.0-generate-001", "output_image", unit="image")
    assert (standard.price, standard.unit, standard.per) == (Decimal("0.04"), "image", 1)
    assert one_quote(quotes, "imagen-4.0-ultra-generate-001", "output_image", unit="image").price == Decimal("0.06")


def test_grounding_priced_per_thousand(quotes):
    search = one_quote(quotes, "gemini-2.5-pro", "web_search", unit="request")
    assert (search.price, search.per, search.unit) == (Decimal("35"), 1000, "request")


def test_all_prices_usd_and_decimal(quotes):
    assert {q.currency for q in quotes} == {"USD"}
    assert all(isinstance(q.price, Decimal) for q in quotes)


def test_vertex_html_is_refused():
    html = (
        "<!DOCTYPE html><html><head><title>Agent Platform Pricing | Google Cloud</title></head>"
        "<body><table><tr><th>Model</th><th>Price (/1M tokens)</th></tr>"
        "<tr><td>Gemini 2.5 Pro</td><td>$1.25</td></tr></table></body></html>"
    )
    with pytest.raises(LayoutDrift, match="different price list"):
        parse(html)


def test_page_without_price_tables_drifts():
    text = "Title: Gemini Developer API pricing\n\nMarkdown Content:\n## Gemini 2.5 Pro\n\nNo table today.\n"
    with pytest.raises(LayoutDrift, match="Paid Tier"):
        parse(text)


def test_challenge_page_is_blocked():
    text = "Title: Just a moment...\n\nURL Source: https://ai.google.dev/gemini-api/docs/pricing\n\nMarkdown Content:\n"
    with pytest.raises(Blocked):
        parse(text)


def test_thinking_modes_of_the_2025_layout():
    text = """Title: Gemini Developer API Pricing

URL Source: https://ai.google.dev/gemini-api/docs/pricing

Markdown Content:
## Gemini 2.5 Flash Preview

_`gemini-2.5-flash-preview-05-20`_

|  | Free Tier | Paid Tier, per 1M tokens in USD |
| --- | --- | --- |
| Input price | Free of charge | $0.15 (text / image / video) $1.00 (audio) |
| Output price | Free of charge | Non-thinking: $0.60 Thinking: $3.50 |

## Gemini 2.0 Flash

_`gemini-2.0-flash`_

|  | Free Tier | Paid Tier, per 1M tokens in USD |
| --- | --- | --- |
| Input price | Free of charge | $0.10 (text / image / video) $0.70 (audio) |
| Output price | Free of charge | $0.40 |

## Gemini 2.5 Pro Preview

_`gemini-2.5-pro-preview-06-05`_

|  | Free Tier | Paid Tier, per 1M tokens in USD |
| --- | --- | --- |
| Input price | Not available | $1.25, prompts <= 200k tokens $2.50, prompts > 200k tokens |
| Output price (including thinking tokens) | Not available | $10.00, prompts <= 200k tokens $15.00, prompts > 200k |

## Gemini 2.0 Flash-Lite

_`gemini-2.0-flash-lite`_

|  | Free Tier | Paid Tier, per 1M tokens in USD |
| --- | --- | --- |
| Input price | Free of charge | $0.075 |
| Output price | Free of charge | $0.30 |

## Gemini 2.5 Flash-Lite

_`gemini-2.5-flash-lite`_

|  | Free Tier | Paid Tier, per 1M tokens in USD |
| --- | --- | --- |
| Input price (text, image, video) | Free of charge | $0.10 (text / image / video) $0.30 (audio) |
| Output price (including thinking tokens) | Free of charge | $0.40 |
"""
    quotes = parse(text)
    assert one_quote(quotes, "gemini-2.0-flash", "output").price == Decimal("0.40")
    long_prompt = {"min": 200_000, "max": None}
    assert one_quote(quotes, "gemini-2.5-pro-preview-06-05", "output", context_tokens=long_prompt).price == Decimal("15.00")
    assert one_quote(quotes, "gemini-2.5-flash-preview-05-20", "input_audio").price == Decimal("1.00")
    assert one_quote(quotes, "gemini-2.5-flash-preview-05-20", "output", mode="non_thinking").price == Decimal("0.60")
    assert one_quote(quotes, "gemini-2.5-flash-preview-05-20", "output", mode="thinking").price == Decimal("3.50")


def test_a_footnote_mark_after_the_storage_price_keeps_it_storage():
    """"$4.50* / 1,000,000 tokens per hour" is still the storage price, not a fourth cached input."""
    page = (FIXTURES / "gemini_api_pricing_jina.md").read_text(encoding="utf-8")
    marked = parse(page.replace("$4.50 / 1,000,000 tokens per hour", "$4.50* / 1,000,000 tokens per hour").encode())
    assert sorted((q.dimension, q.price) for q in marked if q.model == "gemini-2.5-pro" and "cach" in q.dimension) \
        == sorted((q.dimension, q.price) for q in parse(page.encode())
                  if q.model == "gemini-2.5-pro" and "cach" in q.dimension)
    assert len(marked) == len(parse(page.encode()))
