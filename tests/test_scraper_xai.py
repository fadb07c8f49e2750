"""xAI parser: reader markdown of docs.x.ai/docs/models and the embedded __XAI_PUBLIC_MODELS__ JSON."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import FIXTURES, one_quote, parse_page

parse = partial(parse_page, "xai", url="https://docs.x.ai/docs/models")
PAGES = FIXTURES / "xai"


def test_markdown_chat_table():
    quotes = parse(PAGES / "models_jina.md")
    grok = one_quote(quotes, "grok-4.3", "input")
    assert grok.price == Decimal("1.25") and grok.per == 1_000_000 and grok.currency == "USD"
    assert one_quote(quotes, "grok-4.3", "output").price == Decimal("2.50")
    # zero-width space after the id in the table cell
    assert one_quote(quotes, "grok-4.20-0309-reasoning", "output").price == Decimal("2.50")
    assert one_quote(quotes, "grok-4-1-fast-non-reasoning", "input").price == Decimal("0.20")


def test_markdown_imagine_costs_and_skips():
    quotes = parse(PAGES / "models_jina.md")
    image = one_quote(quotes, "grok-imagine-image", "output_image", unit="image")
    assert image.price == Decimal("0.02") and image.per == 1
    assert one_quote(quotes, "grok-imagine-video", "output_video", unit="second").price == Decimal("0.05")
    models = {q.model for q in quotes}
    assert not [m for m in models if not m.startswith("grok")]  # voice modes and tools are not models


def test_embedded_payload_integer_units():
    quotes = parse(PAGES / "models_payload.html")
    # "12500" = $1.25 / 1M; the us-east-1 cluster wins over eu-west-1
    assert one_quote(quotes, "grok-4.3", "input").price == Decimal("1.25")
    assert one_quote(quotes, "grok-4.3", "cached_input").price == Decimal("0.2")
    assert one_quote(quotes, "grok-4.3", "output").price == Decimal("2.5")
    assert one_quote(quotes, "grok-4.3", "input_image").price == Decimal("1.25")
    long = {"context_tokens": {"min": 200000, "max": None}}
    assert one_quote(quotes, "grok-4.3", "input", **long).price == Decimal("2.5")
    assert one_quote(quotes, "grok-4.3", "cached_input", **long).price == Decimal("0.4")
    assert one_quote(quotes, "grok-4.3", "output", **long).price == Decimal("5")
    # "$n" RSC number prefix, no long-context tier when the threshold is 0
    assert one_quote(quotes, "grok-4-1-fast-reasoning", "output").price == Decimal("0.5")
    assert not [q for q in quotes if q.model == "grok-4-1-fast-reasoning" and q.conditions]
    assert not [q for q in quotes if q.model.startswith("grok-imagine")]


def test_payload_without_clusters_is_drift():
    with pytest.raises(LayoutDrift):
        parse(b"<script>globalThis.__XAI_PUBLIC_MODELS__={};</script>")
    with pytest.raises(LayoutDrift):
        parse(b"<script>globalThis.__XAI_PUBLIC_MODELS__=(()=>{throw Error()})();</script>")


def test_page_without_prices_is_drift_and_challenge_is_blocked():
    with pytest.raises(LayoutDrift):
        parse(b"Title: Models and Pricing | xAI Docs\n\nMarkdown Content:\n# Models\n\nSee console.\n")
    with pytest.raises(Blocked):
        parse(b"<html><title>Just a moment...</title><script src='/cdn-cgi/challenge-platform/h'></script></html>")


def test_a_bare_table_price_is_per_what_its_caption_says():
    """The chat table's cells say "$1.25"; the caption under it says per million tokens.  A
    caption that said per thousand must not be read per million, and where a model card
    still says "/ 1M tokens" the page contradicts itself: drift, not a guess."""
    page = (PAGES / "models_jina.md").read_text(encoding="utf-8")
    per_thousand = page.replace("Prices shown per million tokens", "Prices shown per thousand tokens")
    with pytest.raises(LayoutDrift, match="two prices for the same terms"):
        parse(per_thousand.encode())
    without_cards = per_thousand.replace("Input$1.25 / 1M tokens", "").replace("Output$2.50 / 1M tokens", "")
    assert one_quote(parse(without_cards.encode()), "grok-4-1-fast-non-reasoning", "input").per == 1000
