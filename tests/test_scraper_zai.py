"""docs.z.ai pricing (USD): Mintlify HTML and reader markdown."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "zai"

parse = partial(parse_page, "zai", url="https://docs.z.ai/guides/overview/pricing")


@pytest.fixture(scope="module", params=["docs_z_ai_pricing_trimmed.html", "docs_z_ai_pricing_jina_trimmed.md"])
def quotes(request):
    return parse((FIXTURES / request.param).read_bytes())


@pytest.fixture(scope="module")
def html_quotes():
    return parse(FIXTURES / "docs_z_ai_pricing_trimmed.html")


@pytest.fixture(scope="module")
def md_quotes():
    return parse(FIXTURES / "docs_z_ai_pricing_jina_trimmed.md")


def test_token_columns(html_quotes):
    assert one_quote(html_quotes, "glm-5.2", "input").price == Decimal("1.4")
    assert one_quote(html_quotes, "glm-5.2", "cached_input").price == Decimal("0.26")
    assert one_quote(html_quotes, "glm-5.2", "output").price == Decimal("4.4")
    assert one_quote(html_quotes, "glm-4.5-air", "output").price == Decimal("1.1")


def test_limited_time_free_storage_is_promo(quotes):
    storage = one_quote(quotes, "glm-5.1", "cache_storage", promo=True)
    assert storage.price == 0


def test_free_and_missing_cells(quotes):
    flash = [q for q in quotes if q.model in ("glm-4.7-flash", "glm-4.5-flash")]
    assert flash and all(q.price == 0 and q.conditions == {} for q in flash)
    # "-" and "\" cells are not prices
    assert {q.dimension for q in quotes if q.model == "glm-4-32b-0414-128k"} == {"input", "output"}
    assert {q.dimension for q in quotes if q.model == "glm-ocr"} == {"input", "output"}


def test_unit_from_section_sentence(html_quotes, md_quotes):
    image = one_quote(html_quotes, "glm-image", "output_image", unit="image")
    assert (image.price, image.per, image.unit) == (Decimal("0.015"), 1, "image")
    video = one_quote(md_quotes, "vidu2-image", "output_video", unit="video")
    assert (video.price, video.per, video.unit) == (Decimal("0.2"), 1, "video")


def test_audio_per_mtok_without_the_equivalent(quotes):
    asr = one_quote(quotes, "glm-asr-2512", "input_audio")
    assert (asr.price, asr.per, asr.unit) == (Decimal("0.03"), 1_000_000, "token")


def test_zero_width_space_in_model_name(md_quotes):
    assert one_quote(md_quotes, "glm-4.7", "input").price == Decimal("0.6")


def test_tools_and_agents_skipped(quotes):
    models = {q.model for q in quotes}
    assert not any("search" in m or "agent" in m or "translation" in m for m in models)
    assert {q.currency for q in quotes} == {"USD"}


def test_page_without_tables_drifts():
    with pytest.raises(LayoutDrift, match="Model"):
        parse("<!DOCTYPE html><html><head></head><body><main><h1>Pricing</h1><p>Moved.</p></main></body></html>")


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>")


@pytest.mark.parametrize("name", ["docs_z_ai_pricing_trimmed.html", "docs_z_ai_pricing_jina_trimmed.md"])
def test_a_bare_table_price_is_per_what_the_sentence_above_says(name):
    """The Input / Output cells say "$1.4"; "Prices per 1M tokens." above the table is the unit."""
    page = (FIXTURES / name).read_text(encoding="utf-8").replace("Prices per 1M tokens.", "Prices per 1K tokens.")
    assert {q.per for q in parse(page.encode()) if q.unit == "token" and q.dimension == "output"} == {1000}
