"""MiniMax pay-as-you-go prices: CSS-grid price cards (CN, CNY) and the intl text dump (USD)."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "minimax"
LOW = {"min": 0, "max": 512_000}
HIGH = {"min": 512_000, "max": 1_000_000}

parse = partial(parse_page, "minimax", url="https://platform.minimaxi.com/subscribe/token-plan")


@pytest.fixture(scope="module")
def cn():
    return parse(FIXTURES / "token_plan_api_prices.html")


@pytest.fixture(scope="module")
def intl():
    return parse(FIXTURES / "pricing_paygo_text_excerpt.txt")


def test_grid_cards_with_struck_list_price(cn):
    quote = one_quote(cn, "MiniMax-M3", "input", context_tokens=LOW, promo=True)
    assert (quote.price, quote.list_price, quote.currency) == (Decimal("2.1"), Decimal("4.2"), "CNY")
    assert one_quote(cn, "MiniMax-M3", "output", context_tokens=HIGH, promo=True).price == Decimal("16.8")
    assert one_quote(cn, "MiniMax-M3", "cached_input", context_tokens=HIGH, promo=True).list_price == Decimal("1.68")


def test_grid_cards_without_discount(cn):
    assert one_quote(cn, "MiniMax-M2.7", "input").price == Decimal("2.1")
    assert one_quote(cn, "MiniMax-M2.7", "cache_write").price == Decimal("2.625")
    assert one_quote(cn, "MiniMax-M2.7-highspeed", "output").price == Decimal("16.8")
    assert one_quote(cn, "MiniMax-M2.7-highspeed", "cached_input").list_price is None


def test_only_language_models(cn):
    assert {q.model for q in cn} == {"MiniMax-M3", "MiniMax-M2.7", "MiniMax-M2.7-highspeed"}
    assert {(q.per, q.unit) for q in cn} == {(1_000_000, "token")}


def test_priority_tab_is_a_tier(cn):
    html = (FIXTURES / "token_plan_api_prices.html").read_text(encoding="utf-8")
    swapped = html.replace('aria-selected="true"', 'aria-selected="X"').replace('aria-selected="false"', 'aria-selected="true"')
    quotes = parse(swapped)
    assert one_quote(quotes, "MiniMax-M3", "input", tier="priority", context_tokens=LOW, promo=True).price == Decimal("2.1")


def test_text_dump_pairs_and_column_order(intl):
    quote = one_quote(intl, "MiniMax-M3", "output", context_tokens=LOW, promo=True)
    assert (quote.price, quote.list_price, quote.currency) == (Decimal("1.2"), Decimal("2.4"), "USD")
    assert one_quote(intl, "MiniMax-M2.7", "input").price == Decimal("0.3")
    assert one_quote(intl, "MiniMax-M2.7", "cached_input").price == Decimal("0.06")
    assert one_quote(intl, "MiniMax-M2.7-highspeed", "cache_write").price == Decimal("0.375")


def pay_as_you_go(*rows: str):
    """The quotes of the docs' pay-as-you-go table (its heading, header and separator) with `rows`."""
    return parse("## Pay as you go\n\n| Model | Input | Output | Prompt caching Read | Prompt caching Write |\n"
                 "|---|---|---|---|---|\n" + "".join(row + "\n" for row in rows))


def test_markdown_docs_table():
    quotes = pay_as_you_go(
        "| MiniMax-M2.7 | $0.3 / M tokens | $1.2 / M tokens | $0.06 / M tokens | $0.375 / M tokens |",
        "| MiniMax-M2.7-highspeed | $0.6 / M tokens | $2.4 / M tokens | $0.06 / M tokens | $0.375 / M tokens |")
    assert one_quote(quotes, "MiniMax-M2.7", "cache_write").price == Decimal("0.375")
    assert one_quote(quotes, "MiniMax-M2.7-highspeed", "input").currency == "USD"


def test_a_docs_row_short_of_cells_reads_the_cells_it_has():
    """A row that stops before the last columns (an unpriced cache write) is no parser crash."""
    quotes = pay_as_you_go(
        "| MiniMax-M2.7 | $0.3 / M tokens | $1.2 / M tokens |",
        "| MiniMax-M2.7-highspeed | $0.6 / M tokens | $2.4 / M tokens | $0.06 / M tokens | $0.375 / M tokens |")
    assert one_quote(quotes, "MiniMax-M2.7", "output").price == Decimal("1.2")
    assert not [q for q in quotes if q.model == "MiniMax-M2.7" and q.dimension == "cache_write"]
    assert one_quote(quotes, "MiniMax-M2.7-highspeed", "cache_write").price == Decimal("0.375")


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
