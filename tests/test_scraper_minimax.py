"""MiniMax pay-as-you-go prices: CSS-grid price cards (CN, CNY) and the intl text dump (USD)."""

from __future__ import annotations

import importlib
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from scrapers import Page, all_parsers, get_parser

FIXTURES = Path(__file__).parent / "fixtures" / "minimax"
LOW = {"min": 0, "max": 512_000}
HIGH = {"min": 512_000, "max": 1_000_000}


def parser():
    # get_parser() loads every parser module only while nothing is registered; a test module
    # elsewhere that imports one parser module directly leaves the registry partly filled.
    all_parsers()
    importlib.import_module("scrapers.minimax")
    return get_parser("minimax")


def parse(content: str | bytes):
    data = content.encode() if isinstance(content, str) else content
    return parser().parse(Page(data, url="https://platform.minimaxi.com/subscribe/token-plan"))


@pytest.fixture(scope="module")
def cn():
    return parse((FIXTURES / "token_plan_api_prices.html").read_bytes())


@pytest.fixture(scope="module")
def intl():
    return parse((FIXTURES / "pricing_paygo_text_excerpt.txt").read_bytes())


def find(quotes, model, dimension, **conditions):
    hits = [q for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_grid_cards_with_struck_list_price(cn):
    quote = find(cn, "MiniMax-M3", "input", context_tokens=LOW, promo=True)
    assert (quote.price, quote.list_price, quote.currency) == (Decimal("2.1"), Decimal("4.2"), "CNY")
    assert find(cn, "MiniMax-M3", "output", context_tokens=HIGH, promo=True).price == Decimal("16.8")
    assert find(cn, "MiniMax-M3", "cached_input", context_tokens=HIGH, promo=True).list_price == Decimal("1.68")


def test_grid_cards_without_discount(cn):
    assert find(cn, "MiniMax-M2.7", "input").price == Decimal("2.1")
    assert find(cn, "MiniMax-M2.7", "cache_write").price == Decimal("2.625")
    assert find(cn, "MiniMax-M2.7-highspeed", "output").price == Decimal("16.8")
    assert find(cn, "MiniMax-M2.7-highspeed", "cached_input").list_price is None


def test_only_language_models(cn):
    assert {q.model for q in cn} == {"MiniMax-M3", "MiniMax-M2.7", "MiniMax-M2.7-highspeed"}
    assert {(q.per, q.unit) for q in cn} == {(1_000_000, "token")}


def test_priority_tab_is_a_tier(cn):
    html = (FIXTURES / "token_plan_api_prices.html").read_text(encoding="utf-8")
    swapped = html.replace('aria-selected="true"', 'aria-selected="X"').replace('aria-selected="false"', 'aria-selected="true"')
    quotes = parse(swapped)
    assert find(quotes, "MiniMax-M3", "input", tier="priority", context_tokens=LOW, promo=True).price == Decimal("2.1")


def test_text_dump_pairs_and_column_order(intl):
    quote = find(intl, "MiniMax-M3", "output", context_tokens=LOW, promo=True)
    assert (quote.price, quote.list_price, quote.currency) == (Decimal("1.2"), Decimal("2.4"), "USD")
    assert find(intl, "MiniMax-M2.7", "input").price == Decimal("0.3")
    assert find(intl, "MiniMax-M2.7", "cached_input").price == Decimal("0.06")
    assert find(intl, "MiniMax-M2.7-highspeed", "cache_write").price == Decimal("0.375")


def test_markdown_docs_table():
    doc = (
        "## Pay as you go\n\n| Model | Input | Output | Prompt caching Read | Prompt caching Write |\n"
        "|---|---|---|---|---|\n"
        "| MiniMax-M2.7 | $0.3 / M tokens | $1.2 / M tokens | $0.06 / M tokens | $0.375 / M tokens |\n"
        "| MiniMax-M2.7-highspeed | $0.6 / M tokens | $2.4 / M tokens | $0.06 / M tokens | $0.375 / M tokens |\n"
    )
    quotes = parse(doc)
    assert find(quotes, "MiniMax-M2.7", "cache_write").price == Decimal("0.375")
    assert find(quotes, "MiniMax-M2.7-highspeed", "input").currency == "USD"


def test_too_many_prices_on_a_line_is_drift():
    with pytest.raises(LayoutDrift, match="prices on a line"):
        parse("MiniMax-M9 $1 $2 $3 $4 $5\nMiniMax-M8 $1 $2\n")


def test_subscription_only_page_is_drift():
    html = "<html><body><h2>Token Plan</h2><div class='grid'><div>Starter</div><div>¥29 / 月</div></div></body></html>"
    with pytest.raises(LayoutDrift):
        parse(html)


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>")
