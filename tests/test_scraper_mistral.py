"""Mistral pricing: the RSC payload of mistral.ai/pricing and the 2024 docs layouts."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "mistral"

parse = partial(parse_page, "mistral", url="https://mistral.ai/pricing")


@pytest.fixture(scope="module")
def rsc():
    return parse(FIXTURES / "mistral_pricing_rsc.html")


MEDIUM = "Mistral Medium 3.5"  # what the mistral-medium-latest card names, with its version


def test_dollar_and_euro_are_separate_quotes(rsc):
    assert one_quote(rsc, "mistral-medium-latest", "input", currency="USD", serves=MEDIUM).price == Decimal("1.5")  # "$$1.5"
    assert one_quote(rsc, "mistral-medium-latest", "input", currency="EUR", serves=MEDIUM).price == Decimal("1.25")  # "1.25€"
    assert one_quote(rsc, "mistral-medium-latest", "output", currency="EUR", serves=MEDIUM).price == Decimal("6.4")
    assert one_quote(rsc, "open-mistral-7b", "output", currency="EUR").price == Decimal("0.2")  # "<p>0.2&euro;</p>"


def test_featured_grid_does_not_duplicate(rsc):
    hits = [q for q in rsc if q.model == "mistral-medium-latest" and q.dimension == "input"]
    assert len(hits) == 2  # one USD, one EUR


def test_shared_latest_alias_keeps_first_card(rsc):
    assert one_quote(rsc, "mistral-small-latest", "input", currency="USD", serves="Mistral Small 4").price == Decimal("0.15")  # Mistral Small 4
    # Mistral Small 3.2 is also labelled mistral-small-latest: quoted under its name (zero-width space dropped)
    assert one_quote(rsc, "mistral-small-3-2", "input", currency="USD").price == Decimal("0.1")


def test_a_moving_alias_says_which_model_it_serves(rsc):
    """`serves` lets the diff tell a price cut from the alias moving to another generation."""
    assert {q.conditions.get("serves") for q in rsc if q.model == "mistral-medium-latest"} == {MEDIUM}
    assert all("serves" not in q.conditions for q in rsc if q.model in ("open-mistral-7b", "mistral-small-3-2"))
    # A bare line name says nothing of the generation behind the alias.
    assert all("serves" not in q.conditions for q in rsc if q.model in ("codestral-latest", "voxtral-small-latest"))


def test_page_and_minute_units(rsc):
    ocr = one_quote(rsc, "mistral-ocr-latest", "ocr", unit="page", currency="USD", serves="OCR 3")
    assert (ocr.price, ocr.per, ocr.unit) == (Decimal("2"), 1000, "page")
    assert "promo" not in ocr.conditions  # "+ 50% off with batch-APIs" is a note, not a promo on this price
    audio = one_quote(rsc, "voxtral-small-latest", "input_audio", unit="minute", currency="EUR")
    assert (audio.price, audio.per, audio.unit) == (Decimal("0.004"), 1, "minute")
    assert one_quote(rsc, "voxtral-small-latest", "input", currency="USD").price == Decimal("0.1")
    tts = one_quote(rsc, "voxtral-mini-tts-2603", "output_audio", unit="character", currency="EUR")
    assert (tts.price, tts.per, tts.unit) == (Decimal("0.01"), 1000, "character")


def test_free_for_a_limited_period_is_promo(rsc):
    free = one_quote(rsc, "labs-leanstral-2603", "input", currency="USD", promo=True)
    assert free.price == 0


def test_card_without_api_id_uses_name(rsc):
    assert one_quote(rsc, "classifier-api-model-8b", "input", currency="USD").price == Decimal("0.1")


def test_euro_field_without_price_is_skipped(rsc):
    assert one_quote(rsc, "pixtral-large-latest", "input", currency="USD").price == Decimal("2")
    assert not [q for q in rsc if q.model == "pixtral-large-latest" and q.dimension == "input" and q.currency == "EUR"]


def test_tools_and_plans_are_not_models(rsc):
    models = {q.model for q in rsc}
    assert not {"web-search", "pro", "tools"} & models
    assert all(isinstance(q.price, Decimal) for q in rsc)


def test_docs_markdown_usd_and_eur_columns():
    quotes = parse(FIXTURES / "docs_platform_pricing_2024-03.md")
    assert one_quote(quotes, "mistral-large-latest", "output", currency="USD").price == Decimal("24")
    assert one_quote(quotes, "mistral-large-latest", "output", currency="EUR").price == Decimal("22")
    assert one_quote(quotes, "mistral-small-latest", "input", currency="EUR").price == Decimal("1.85")
    assert one_quote(quotes, "mistral-embed", "input", currency="USD").price == Decimal("0.1")
    assert len(quotes) == 14


def test_docs_markdown_eur_only():
    quotes = parse(FIXTURES / "docs_platform_pricing_2024-01_eur.md")
    assert {q.currency for q in quotes} == {"EUR"}
    assert one_quote(quotes, "mistral-tiny", "output", currency="EUR").price == Decimal("0.42")
    assert one_quote(quotes, "mistral-medium", "input", currency="EUR").price == Decimal("2.5")


def test_text_dump_with_run_together_cells():
    quotes = parse(FIXTURES / "docs_pricing_text_dump_2024-04.js")
    assert one_quote(quotes, "open-mixtral-8x7b", "input", currency="EUR").price == Decimal("0.65")
    assert one_quote(quotes, "mistral-medium-latest", "input", currency="USD").price == Decimal("2.7")  # "2.7$\n/ 1M tokens"
    assert one_quote(quotes, "mistral-large-latest", "output", currency="EUR").price == Decimal("22")
    assert one_quote(quotes, "mistral-embed", "input", currency="EUR").price == Decimal("0.1")
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


def test_no_model_behind_an_alias_is_read_from_a_size_or_from_the_alias_itself():
    """A size is no version (`Ministral 8B`); and without an Endpoint column the Model column
    holds the id, which names no model behind it."""
    with_endpoints = parse("| Model | Endpoint | Input (USD) | Output (USD) |\n| --- | --- | --- | --- |\n"
                           "| Ministral 8B | `ministral-8b-latest` | 0.1$ / 1M tokens | 0.1$ / 1M tokens |\n"
                           "| Ministral 3 - 3B | `ministral-3b-latest` | 0.04$ / 1M tokens | 0.04$ / 1M tokens |\n"
                           "| Mixtral 8x22B | `open-mixtral-8x22b` | 2$ / 1M tokens | 6$ / 1M tokens |\n")
    assert one_quote(with_endpoints, "ministral-8b-latest", "input", currency="USD").price == Decimal("0.1")
    assert one_quote(with_endpoints, "ministral-3b-latest", "input", currency="USD", serves="Ministral 3 - 3B")
    ids_only = parse("| Model | Input (USD) | Output (USD) |\n| --- | --- | --- |\n"
                     "| `mistral-large-3-latest` | 0.5$ / 1M tokens | 1.5$ / 1M tokens |\n"
                     "| `mistral-small-latest` | 0.1$ / 1M tokens | 0.3$ / 1M tokens |\n"
                     "| `mistral-medium-2312` | 2.7$ / 1M tokens | 8.1$ / 1M tokens |\n")
    assert one_quote(ids_only, "mistral-large-3-latest", "input", currency="USD").price == Decimal("0.5")
