"""OpenAI pricing parser: reader markdown, screenshot transcription, 2024 text dump, Cloudflare wall."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import FIXTURES, one_quote, parse_page

parse = partial(parse_page, "openai", url="https://platform.openai.com/docs/pricing")
PAGES = FIXTURES / "openai"
LONG = {"context_tokens": {"min": 272000, "max": None}}


@pytest.fixture(scope="module")
def jina():
    return parse(PAGES / "pricing_jina.md")


def test_standard_table_short_and_long_context(jina):
    # the model cell carries a zero-width space: it is dropped
    assert one_quote(jina, "gpt-5.5", "input").price == Decimal("5.00")
    assert one_quote(jina, "gpt-5.5", "input").per == 1_000_000
    assert one_quote(jina, "gpt-5.5", "cached_input").price == Decimal("0.50")
    assert one_quote(jina, "gpt-5.5", "output").price == Decimal("30.00")
    assert one_quote(jina, "gpt-5.5", "input", **LONG).price == Decimal("10.00")
    assert one_quote(jina, "gpt-5.5", "output", **LONG).price == Decimal("45.00")
    # "-" cells give no quote
    assert not [q for q in jina if q.model == "gpt-5.5-pro" and q.dimension == "cached_input"]
    assert not [q for q in jina if q.model == "gpt-5.4-mini" and q.conditions.get("context_tokens")]


def test_tabs_become_batch_and_tier_conditions(jina):
    assert one_quote(jina, "gpt-5.5", "input", batch=True).price == Decimal("2.50")
    assert one_quote(jina, "gpt-5.5", "output", batch=True, **LONG).price == Decimal("22.50")
    assert one_quote(jina, "gpt-5.4-mini", "cached_input", batch=True).price == Decimal("0.0375")
    assert one_quote(jina, "gpt-5.5", "input", tier="flex").price == Decimal("2.50")
    assert one_quote(jina, "gpt-5.5", "output", tier="priority").price == Decimal("75.00")
    assert one_quote(jina, "gpt-5.4-mini", "input", tier="priority").price == Decimal("1.50")


def test_modality_rows_and_rowspans(jina):
    assert one_quote(jina, "gpt-realtime-2", "input_audio").price == Decimal("32.00")
    assert one_quote(jina, "gpt-realtime-2", "output_audio").price == Decimal("64.00")
    assert one_quote(jina, "gpt-realtime-2", "input").price == Decimal("4.00")
    assert one_quote(jina, "gpt-realtime-2", "cached_input_image").price == Decimal("0.50")
    minute = one_quote(jina, "gpt-realtime-translate", "output_audio", unit="minute")
    assert minute.price == Decimal("0.034") and minute.per == 1
    assert one_quote(jina, "gpt-image-2", "output_image").price == Decimal("30.00")
    assert one_quote(jina, "gpt-image-2", "cached_input", batch=True).price == Decimal("0.625")


def test_video_and_category_rows(jina):
    video = one_quote(jina, "sora-2-pro", "output_video", unit="second", resolution="1080p")
    assert video.price == Decimal("0.70") and video.per == 1
    assert one_quote(jina, "sora-2", "output_video", unit="second", resolution="720p").price == Decimal("0.10")
    # "| o4-mini-deep-research | ... |" sits under the "Deep research" category cell
    assert one_quote(jina, "o4-mini-deep-research", "output", batch=True).price == Decimal("4.00")
    assert one_quote(jina, "computer-use-preview", "input", batch=True).price == Decimal("1.50")


def test_skips_estimates_tools_and_fine_tuning(jina):
    assert one_quote(jina, "gpt-4o-transcribe", "input").price == Decimal("2.50")
    assert not [q for q in jina if q.unit == "minute" and q.model == "gpt-4o-transcribe"]
    assert not [q for q in jina if q.model.startswith("o4-mini-2025")]
    assert not [q for q in jina if "web" in q.model or "tool" in q.model]
    assert all(q.currency == "USD" for q in jina)


def test_transcription_tables():
    quotes = parse(PAGES / "pricing_transcription.md")
    assert one_quote(quotes, "gpt-5.2", "input").price == Decimal("1.75")
    assert one_quote(quotes, "gpt-5.2-pro", "output").price == Decimal("168.00")
    # the table split across screenshots keeps the header of the one before
    assert one_quote(quotes, "o3", "cached_input").price == Decimal("0.50")
    assert one_quote(quotes, "gpt-realtime", "output").price == Decimal("16.00")
    assert one_quote(quotes, "gpt-realtime", "input_image").price == Decimal("5.00")
    assert one_quote(quotes, "gpt-audio", "output_audio").price == Decimal("64.00")
    assert one_quote(quotes, "whisper", "input_audio", unit="minute").price == Decimal("0.006")
    tts = one_quote(quotes, "tts-hd", "input", unit="character")
    assert tts.price == Decimal("30.00") and tts.per == 1_000_000
    image = one_quote(quotes, "gpt-image-1.5", "output_image", unit="image", quality="high", resolution="1024x1536")
    assert image.price == Decimal("0.2")
    assert one_quote(quotes, "text-embedding-3-small", "input", batch=True).price == Decimal("0.01")
    assert one_quote(quotes, "gpt-4-0613", "output").price == Decimal("60.00")
    assert not [q for q in quotes if q.model == "babbage-002"]  # "[unclear: $0.40?]"
    assert not [q for q in quotes if q.model.startswith("gpt-4.1-2025")]  # fine-tuning


def test_2024_text_dump():
    quotes = parse(PAGES / "pricing_2024_text.js")
    assert one_quote(quotes, "gpt-4-0125-preview", "input").price == Decimal("10.00")
    assert one_quote(quotes, "gpt-3.5-turbo-0125", "output").price == Decimal("1.50")
    assert one_quote(quotes, "text-embedding-3-small", "input").price == Decimal("0.02")
    assert one_quote(quotes, "davinci-002", "output").price == Decimal("2.00")
    image = one_quote(quotes, "dall-e-3", "output_image", unit="image", quality="standard", resolution="1792x1024")
    assert image.price == Decimal("0.080")
    assert one_quote(quotes, "dall-e-2", "output_image", unit="image", resolution="512x512").price == Decimal("0.018")
    assert one_quote(quotes, "whisper", "input_audio", unit="minute").price == Decimal("0.006")
    assert one_quote(quotes, "tts", "input", unit="character").per == 1_000_000
    # fine-tuning and Assistants tool cards are not model prices
    assert not [q for q in quotes if q.model in ("gpt-3.5-turbo", "code-interpreter")]


def test_cloudflare_challenge_is_blocked():
    with pytest.raises(Blocked):
        parse(PAGES / "cloudflare_challenge.html")


def test_page_without_price_table_is_drift():
    with pytest.raises(LayoutDrift):
        parse(b"Title: Pricing | OpenAI API\n\nMarkdown Content:\n# Pricing\n\nPrices moved.\n")
    with pytest.raises(LayoutDrift):
        parse(b"<html><body><div id='root'></div></body></html>")
    # a table without a Model column (tools) is not a price list
    with pytest.raises(LayoutDrift):
        parse(b"| Tool | Pricing |\n| --- | --- |\n| Web search | $10.00 / 1k calls |\n")


def test_a_bare_table_price_is_per_what_the_line_above_says():
    """Cells say "$5.00"; the unit is the "Prices per 1M tokens." line above the section's
    tables.  Were it per 1K, reading it per 1M would publish prices a thousand times too low."""
    page = (PAGES / "pricing_jina.md").read_text(encoding="utf-8").replace("Prices per 1M tokens.",
                                                                            "Prices per 1K tokens.", 1)
    quotes = parse(page.encode())
    flagship = [q for q in quotes if q.model == "gpt-5.5" and q.dimension == "input"]
    assert len(flagship) == 7 and {q.per for q in flagship} == {1000}, "every tab's table of the section"
    assert one_quote(quotes, "gpt-realtime-2", "input_audio").per == 1_000_000, "the next section says per 1M"


def test_a_table_of_other_vendors_models_is_no_openai_list():
    """A comparison table (Claude, Nova, Command R+, Phi, Jamba) under Model / Input / Output
    headers read as five OpenAI models with prices."""
    from pipeline.errors import LayoutDrift

    page = ("| Model | Input | Output |\n| --- | --- | --- |\n"
            "| Claude Sonnet 4 | $3.00 | $15.00 |\n| Nova Pro | $0.80 | $3.20 |\n| Nova Lite | $0.06 | $0.24 |\n"
            "| Command R+ | $2.50 | $10.00 |\n| Phi-4 | $0.07 | $0.14 |\n| Jamba 1.5 Large | $2.00 | $8.00 |\n")
    with pytest.raises(LayoutDrift, match="only 0 OpenAI models"):
        parse_page("openai", page)
