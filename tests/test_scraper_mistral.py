"""Mistral pricing: the RSC payload of mistral.ai/pricing and the 2024 docs layouts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
import scrapers.mistral  # noqa: F401  (registers the parser even when the registry is already partly loaded)
from scrapers import Page, get_parser

FIXTURES = Path(__file__).parent / "fixtures" / "mistral"


def parse(content: str | bytes):
    data = content.encode() if isinstance(content, str) else content
    return get_parser("mistral").parse(Page(data, url="https://mistral.ai/pricing"))


def find(quotes, model, dimension, currency, **conditions):
    hits = [
        q
        for q in quotes
        if q.model == model and q.dimension == dimension and q.currency == currency and q.conditions == conditions
    ]
    assert len(hits) == 1, (model, dimension, currency, hits)
    return hits[0]


@pytest.fixture(scope="module")
def rsc():
    return parse((FIXTURES / "mistral_pricing_rsc.html").read_bytes())


def test_dollar_and_euro_are_separate_quotes(rsc):
    assert find(rsc, "mistral-medium-latest", "input", "USD").price == Decimal("1.5")  # "$$1.5"
    assert find(rsc, "mistral-medium-latest", "input", "EUR").price == Decimal("1.25")  # "1.25€"
    assert find(rsc, "mistral-medium-latest", "output", "EUR").price == Decimal("6.4")
    assert find(rsc, "open-mistral-7b", "output", "EUR").price == Decimal("0.2")  # "<p>0.2&euro;</p>"


def test_featured_grid_does_not_duplicate(rsc):
    hits = [q for q in rsc if q.model == "mistral-medium-latest" and q.dimension == "input"]
    assert len(hits) == 2  # one USD, one EUR


def test_shared_latest_alias_keeps_first_card(rsc):
    assert find(rsc, "mistral-small-latest", "input", "USD").price == Decimal("0.15")  # Mistral Small 4
    # Mistral Small 3.2 is also labelled mistral-small-latest: quoted under its name (zero-width space dropped)
    assert find(rsc, "mistral-small-3-2", "input", "USD").price == Decimal("0.1")


def test_page_and_minute_units(rsc):
    ocr = find(rsc, "mistral-ocr-latest", "ocr", "USD")
    assert (ocr.price, ocr.per, ocr.unit) == (Decimal("2"), 1000, "page")
    assert ocr.conditions == {}  # "+ 50% off with batch-APIs" is a note, not a promo on this price
    audio = find(rsc, "voxtral-small-latest", "input_audio", "EUR")
    assert (audio.price, audio.per, audio.unit) == (Decimal("0.004"), 1, "minute")
    assert find(rsc, "voxtral-small-latest", "input", "USD").price == Decimal("0.1")
    tts = find(rsc, "voxtral-mini-tts-2603", "output_audio", "EUR")
    assert (tts.price, tts.per, tts.unit) == (Decimal("0.01"), 1000, "character")


def test_free_for_a_limited_period_is_promo(rsc):
    free = find(rsc, "labs-leanstral-2603", "input", "USD", promo=True)
    assert free.price == 0


def test_card_without_api_id_uses_name(rsc):
    assert find(rsc, "classifier-api-model-8b", "input", "USD").price == Decimal("0.1")


def test_euro_field_without_price_is_skipped(rsc):
    assert find(rsc, "pixtral-large-latest", "input", "USD").price == Decimal("2")
    assert not [q for q in rsc if q.model == "pixtral-large-latest" and q.dimension == "input" and q.currency == "EUR"]


def test_tools_and_plans_are_not_models(rsc):
    models = {q.model for q in rsc}
    assert not {"web-search", "pro", "tools"} & models
    assert all(isinstance(q.price, Decimal) for q in rsc)


def test_docs_markdown_usd_and_eur_columns():
    quotes = parse((FIXTURES / "docs_platform_pricing_2024-03.md").read_bytes())
    assert find(quotes, "mistral-large-latest", "output", "USD").price == Decimal("24")
    assert find(quotes, "mistral-large-latest", "output", "EUR").price == Decimal("22")
    assert find(quotes, "mistral-small-latest", "input", "EUR").price == Decimal("1.85")
    assert find(quotes, "mistral-embed", "input", "USD").price == Decimal("0.1")
    assert len(quotes) == 14


def test_docs_markdown_eur_only():
    quotes = parse((FIXTURES / "docs_platform_pricing_2024-01_eur.md").read_bytes())
    assert {q.currency for q in quotes} == {"EUR"}
    assert find(quotes, "mistral-tiny", "output", "EUR").price == Decimal("0.42")
    assert find(quotes, "mistral-medium", "input", "EUR").price == Decimal("2.5")


def test_text_dump_with_run_together_cells():
    quotes = parse((FIXTURES / "docs_pricing_text_dump_2024-04.js").read_bytes())
    assert find(quotes, "open-mixtral-8x7b", "input", "EUR").price == Decimal("0.65")
    assert find(quotes, "mistral-medium-latest", "input", "USD").price == Decimal("2.7")  # "2.7$\n/ 1M tokens"
    assert find(quotes, "mistral-large-latest", "output", "EUR").price == Decimal("22")
    assert find(quotes, "mistral-embed", "input", "EUR").price == Decimal("0.1")
    assert len(quotes) == 18


def test_html_without_payload_drifts():
    with pytest.raises(LayoutDrift, match="RSC"):
        parse("<!DOCTYPE html><html><head><title>Pricing</title></head><body><p>Contact us</p></body></html>")


def test_payload_without_price_cards_drifts():
    html = '<html><head></head><body><script>self.__next_f.push([1,"0:[\\"$\\",\\"div\\",null,{}]\\n"])</script></body></html>'
    with pytest.raises(LayoutDrift, match="price_dollar"):
        parse(html)


def test_challenge_page_is_blocked():
    html = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf-chl</body></html>"
    with pytest.raises(Blocked):
        parse(html)


def test_only_the_featured_grid_is_too_few_models():
    row = (
        '0:{"models":[{"name":"Mistral Medium 3.5","api":"mistral-medium-latest","price":'
        '[{"value":"Input (/M tokens)","price_dollar":"$$1.5","price_euro":"1.25€"}]}]}\n'
    )
    html = f"<html><head></head><body><script>self.__next_f.push([1,{json.dumps(row)}])</script></body></html>"
    with pytest.raises(LayoutDrift, match="too few"):
        parse(html)
