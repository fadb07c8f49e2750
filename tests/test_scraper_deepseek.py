"""The deepseek parser on small hand-made fixtures (tests/fixtures/deepseek)."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from scrapers import get_parser
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "deepseek"
EN_HOURS = "01:00-04:00, 06:00-10:00 UTC Mon-Fri"

parse = partial(parse_page, "deepseek")


def window(name: str, hours: str) -> dict:
    return {"time_window": name, "time_window_hours": hours}


def note_window(name: str, peak_hours: str) -> dict:
    """The conditions of a row under a note that gives the peak hours: off-peak is outside them."""
    return window(name, peak_hours if name == "peak" else f"outside {peak_hours}")


def test_registered():
    assert get_parser("deepseek").version == 2  # 2: footnote superscripts no longer fold into prices
    assert "transposed" in get_parser("deepseek").doc


# --- raw HTML ------------------------------------------------------------------------------


def test_html_peak_off_peak_rows():
    quotes = parse(FIXTURES / "en_peak_offpeak.html")
    assert len(quotes) == 12  # 2 models x 3 dimensions x 2 windows
    off_peak, peak = note_window("off_peak", EN_HOURS), note_window("peak", EN_HOURS)
    pro_off = one_quote(quotes, "deepseek-v4-pro", "output", **off_peak)
    assert pro_off.price == Decimal("1.98") and pro_off.currency == "USD"
    assert pro_off.conditions == {"time_window": "off_peak", "time_window_hours": f"outside {EN_HOURS}"}
    pro_peak = one_quote(quotes, "deepseek-v4-pro", "output", **peak)
    assert pro_peak.price == Decimal("3.96")
    assert pro_peak.conditions["time_window_hours"] == EN_HOURS
    assert one_quote(quotes, "deepseek-v4-flash", "cached_input", **off_peak).price == Decimal("0.007")
    assert one_quote(quotes, "deepseek-v4-flash", "cached_input", **peak).price == Decimal("0.014")
    # The zero-width space inside "$0.<ZWSP>22" and inside the model name is dropped.
    assert one_quote(quotes, "deepseek-v4-flash", "input", **off_peak).price == Decimal("0.22")
    assert one_quote(quotes, "deepseek-v4-pro", "input", **peak).price == Decimal("1.32")
    assert {q.model for q in quotes} == {"deepseek-v4-flash", "deepseek-v4-pro"}
    assert all(q.per == 1_000_000 and q.unit == "token" and q.list_price is None for q in quotes)


def test_html_zh_flat_cny_with_footnote_on_model_name():
    quotes = parse(FIXTURES / "zh_flat.html")
    assert len(quotes) == 6
    assert {q.model for q in quotes} == {"deepseek-v4-flash", "deepseek-v4-pro"}  # <sup>(1)</sup> dropped
    flash_in = one_quote(quotes, "deepseek-v4-flash", "input")
    assert (flash_in.price, flash_in.currency, flash_in.conditions) == (Decimal("1"), "CNY", {})
    assert one_quote(quotes, "deepseek-v4-flash", "cached_input").price == Decimal("0.02")
    assert one_quote(quotes, "deepseek-v4-flash", "output").price == Decimal("2")
    assert one_quote(quotes, "deepseek-v4-pro", "cached_input").price == Decimal("0.025")
    assert one_quote(quotes, "deepseek-v4-pro", "output").price == Decimal("6")
    # 上下文长度 1M, 输出长度, 功能 and 并发限制 2500 are not prices.
    assert {q.dimension for q in quotes} == {"cached_input", "input", "output"}


def test_html_struck_list_price_is_promo():
    quotes = parse(FIXTURES / "en_discount_del.html")
    pro_in = one_quote(quotes, "deepseek-v4-pro", "input", promo=True)
    assert pro_in.price == Decimal("0.435")
    assert pro_in.list_price == Decimal("1.74")
    assert pro_in.conditions == {"promo": True}
    assert one_quote(quotes, "deepseek-v4-pro", "cached_input", promo=True).list_price == Decimal("0.0145")
    assert one_quote(quotes, "deepseek-v4-pro", "output", promo=True).price == Decimal("0.87")
    flash_in = one_quote(quotes, "deepseek-v4-flash", "input")
    assert (flash_in.price, flash_in.list_price, flash_in.conditions) == (Decimal("0.14"), None, {})


def test_html_percent_off_without_struck_price_is_promo():
    html = (
        "<table><tr><td colspan=2>MODEL</td><td>deepseek-v4-pro</td></tr>"
        "<tr><td rowspan=2>PRICING</td><td>1M INPUT TOKENS (CACHE MISS)</td><td>$0.435 (75% off<sup>(3)</sup>)</td></tr>"
        "<tr><td>1M OUTPUT TOKENS</td><td>$0.87</td></tr></table>"
    )
    quotes = parse(html)
    assert len(quotes) == 2
    assert one_quote(quotes, "deepseek-v4-pro", "input", promo=True).conditions == {"promo": True}
    assert one_quote(quotes, "deepseek-v4-pro", "output").conditions == {}


def test_html_value_shared_by_all_models_via_colspan():
    html = (
        "<table><tr><td colspan=2>MODEL</td><td>deepseek-chat</td><td>deepseek-reasoner</td></tr>"
        "<tr><td rowspan=3>PRICING</td><td>1M INPUT TOKENS (CACHE HIT)</td><td colspan=2>$0.028</td></tr>"
        "<tr><td>1M INPUT TOKENS (CACHE MISS)</td><td colspan=2>$0.28</td></tr>"
        "<tr><td>1M OUTPUT TOKENS</td><td colspan=2>$0.42</td></tr></table>"
    )
    quotes = parse(html)
    assert len(quotes) == 6
    assert one_quote(quotes, "deepseek-reasoner", "output").price == Decimal("0.42")
    assert one_quote(quotes, "deepseek-chat", "cached_input").price == Decimal("0.028")


def test_html_labels_found_by_text_not_position():
    # Rows reordered, an extra non-price row between price rows, the MODEL row not first.
    html = (
        "<table><tr><td colspan=2>CONTEXT LENGTH</td><td colspan=2>1M</td></tr>"
        "<tr><td colspan=2>MODEL</td><td>deepseek-v4-pro</td><td>deepseek-v4-flash</td></tr>"
        "<tr><td colspan=2>1M OUTPUT TOKENS</td><td>$0.87</td><td>$0.28</td></tr>"
        "<tr><td colspan=2>MAX OUTPUT</td><td colspan=2>MAXIMUM: 384K</td></tr>"
        "<tr><td colspan=2>1M INPUT TOKENS (CACHE MISS)</td><td>$0.435</td><td>$0.14</td></tr></table>"
    )
    quotes = parse(html)
    assert len(quotes) == 4
    assert one_quote(quotes, "deepseek-v4-flash", "output").price == Decimal("0.28")
    assert one_quote(quotes, "deepseek-v4-pro", "input").price == Decimal("0.435")


def test_html_announced_table_after_the_current_one_is_skipped():
    html = (
        "<div><h2>Model Details</h2><div><b><table><tr><td colspan=2>MODEL</td><td>deepseek-v4-flash</td></tr>"
        "<tr><td rowspan=2>PRICING<sup>(1)</sup></td><td>1M INPUT TOKENS (CACHE MISS)</td><td>$0.14</td></tr>"
        "<tr><td>1M OUTPUT TOKENS</td><td>$0.28</td></tr></table></b></div>"
        "<p>(1) Peak hours are 01:00 - 04:00 and 06:00 - 10:00 UTC. The new prices take effect at 16:00 UTC"
        " on August 16, 2026, as follows:</p>"
        "<table><tr><td colspan=2>MODEL</td><td>1M INPUT TOKENS (CACHE MISS)</td><td>1M OUTPUT TOKENS</td></tr>"
        "<tr><td rowspan=2>deepseek-v4-flash</td><td>OFF-PEAK</td><td>$0.22</td><td>$0.66</td></tr>"
        "<tr><td>PEAK</td><td>$0.44</td><td>$1.32</td></tr></table></div>"
    )
    quotes = parse(html)
    assert [(q.dimension, q.price, q.conditions) for q in quotes] == [
        ("input", Decimal("0.14"), {}),
        ("output", Decimal("0.28"), {}),
    ]


def test_free_cell_is_zero():
    html = (
        "<table><tr><td>MODEL</td><td>deepseek-v4-flash</td><td>deepseek-v4-pro</td></tr>"
        "<tr><td>1M OUTPUT TOKENS</td><td>$0.28</td><td>Limited-time Free</td></tr></table>"
    )
    pro = one_quote(parse(html), "deepseek-v4-pro", "output", promo=True)
    assert (pro.price, pro.currency, pro.conditions) == (Decimal("0"), "USD", {"promo": True})


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse(FIXTURES / "challenge.html")


def test_page_without_table_is_layout_drift():
    with pytest.raises(LayoutDrift, match="MODEL"):
        parse(FIXTURES / "no_table.html")


def test_model_table_without_prices_is_layout_drift():
    html = "<table><tr><td>MODEL</td><td>deepseek-v4-flash</td></tr><tr><td>CONTEXT LENGTH</td><td>1M</td></tr></table>"
    with pytest.raises(LayoutDrift, match="price rows"):
        parse(html)


# --- markdown mirrors ----------------------------------------------------------------------


def test_markdown_announced_table_is_not_in_force():
    quotes = parse(FIXTURES / "en_announcement.md")
    # Only the current flat table: the peak / off-peak table below "take effect ... as follows"
    # is the future price list.
    assert len(quotes) == 6
    assert all(q.conditions == {} for q in quotes)
    assert one_quote(quotes, "deepseek-v4-pro", "cached_input").price == Decimal("0.003625")
    assert one_quote(quotes, "deepseek-v4-pro", "input").price == Decimal("0.435")
    assert one_quote(quotes, "deepseek-v4-flash", "output").price == Decimal("0.28")
    assert Decimal("3.96") not in {q.price for q in quotes}


def test_markdown_only_announcement_is_layout_drift():
    text = (FIXTURES / "en_announcement.md").read_text(encoding="utf-8")
    future_only = text[text.index("(1) DeepSeek API pricing") :]
    with pytest.raises(LayoutDrift, match="announced"):
        parse(future_only)


def test_markdown_zh_peak_rows_with_dropped_rowspans():
    quotes = parse(FIXTURES / "zh_peak.md")
    assert len(quotes) == 12
    hours = "09:00-12:00, 14:00-18:00 UTC+8"
    off_peak, peak = note_window("off_peak", hours), note_window("peak", hours)
    flash_peak = one_quote(quotes, "deepseek-v4-flash", "cached_input", **peak)
    assert flash_peak.price == Decimal("0.10") and flash_peak.currency == "CNY"
    assert flash_peak.conditions == {"time_window": "peak", "time_window_hours": hours}
    assert one_quote(quotes, "deepseek-v4-flash", "cached_input", **off_peak).price == Decimal("0.05")
    assert one_quote(quotes, "deepseek-v4-pro", "input", **peak).price == Decimal("9.0")
    assert one_quote(quotes, "deepseek-v4-pro", "output", **off_peak).price == Decimal("13.5")
    assert one_quote(quotes, "deepseek-v4-pro", "output", **peak).price == Decimal("27.0")


def test_markdown_struck_list_price():
    text = (
        "|  |  |  |\n| --- | --- | --- |\n| MODEL | | deepseek-v4-pro |\n"
        "| PRICING | 1M INPUT TOKENS (CACHE MISS) | $0.435 (75% off) ~~$1.74~~ |\n"
        "| 1M OUTPUT TOKENS | $0.87 (75% off) <del>$3.48</del> |\n"
    )
    quotes = parse(text)
    assert len(quotes) == 2
    assert one_quote(quotes, "deepseek-v4-pro", "input", promo=True).list_price == Decimal("1.74")
    out = one_quote(quotes, "deepseek-v4-pro", "output", promo=True)
    assert (out.price, out.list_price, out.conditions) == (Decimal("0.87"), Decimal("3.48"), {"promo": True})


def test_markdown_colspan_rendered_as_blank_cells():
    text = (
        "|  |  |  |  |\n| --- | --- | --- | --- |\n| MODEL | | deepseek-chat | deepseek-reasoner |\n"
        "| PRICING | 1M INPUT TOKENS (CACHE HIT) | $0.028 | |\n"
        "| 1M OUTPUT TOKENS | $0.42 | |\n"
    )
    quotes = parse(text)
    assert one_quote(quotes, "deepseek-reasoner", "cached_input").price == Decimal("0.028")
    assert one_quote(quotes, "deepseek-chat", "output").price == Decimal("0.42")


def test_reader_proxy_markdown():
    text = (
        "Title: Models & Pricing | DeepSeek API Docs\n\nURL Source: https://api-docs.deepseek.com/quick_start/pricing\n\n"
        "Markdown Content:\n| MODEL | | deepseek-v4-flash | deepseek-v4-pro |\n| --- | --- | --- | --- |\n"
        "| PRICING | 1M INPUT TOKENS (CACHE HIT) | $0.0028 | $0.003625 |\n"
        "| 1M INPUT TOKENS (CACHE MISS) | $0.14 | $0.435 |\n| 1M OUTPUT TOKENS | $0.28 | $0.87 |\n"
    )
    quotes = parse(text)
    assert len(quotes) == 6
    assert one_quote(quotes, "deepseek-v4-pro", "output").price == Decimal("0.87")


def test_html2text_table_with_multiline_cells():
    quotes = parse(FIXTURES / "html2text_2025-12.md")
    assert len(quotes) == 6
    for model in ("deepseek-chat", "deepseek-reasoner"):
        assert one_quote(quotes, model, "cached_input").price == Decimal("0.028")
        assert one_quote(quotes, model, "input").price == Decimal("0.28")
        assert one_quote(quotes, model, "output").price == Decimal("0.42")


# --- 2025 text dumps -----------------------------------------------------------------------


def test_dump_2025_02_promo_both_currencies():
    # USD block as copied from the page; the CNY tab's block holds the published CNY prices of
    # the same period (V3 0.5 / 2 / 8 元 with the promo 0.1 / 1 / 2 元, R1 1 / 4 / 16 元).
    quotes = parse(FIXTURES / "dump_2025-02_promo_usd_cny.txt")
    assert len(quotes) == 12
    chat_hit = one_quote(quotes, "deepseek-chat", "cached_input", currency="USD", promo=True)
    assert (chat_hit.price, chat_hit.list_price, chat_hit.conditions) == (Decimal("0.014"), Decimal("0.07"), {"promo": True})
    chat_out = one_quote(quotes, "deepseek-chat", "output", currency="USD", promo=True)
    assert (chat_out.price, chat_out.list_price) == (Decimal("0.28"), Decimal("1.10"))
    r1_out = one_quote(quotes, "deepseek-reasoner", "output", currency="USD")
    assert (r1_out.price, r1_out.list_price, r1_out.conditions) == (Decimal("2.19"), None, {})
    chat_in_cny = one_quote(quotes, "deepseek-chat", "input", currency="CNY", promo=True)
    assert (chat_in_cny.price, chat_in_cny.list_price) == (Decimal("1"), Decimal("2"))
    assert one_quote(quotes, "deepseek-reasoner", "output", currency="CNY").price == Decimal("16")


def test_dump_2025_02_standard_and_discount_windows():
    quotes = parse(FIXTURES / "dump_2025-02_standard_discount.txt")
    assert len(quotes) == 12
    peak, off_peak = window("peak", "00:30-16:30 UTC"), window("off_peak", "16:30-00:30 UTC")
    std = one_quote(quotes, "deepseek-reasoner", "output", **peak)
    assert std.price == Decimal("2.19")
    assert std.conditions == {"time_window": "peak", "time_window_hours": "00:30-16:30 UTC"}
    off = one_quote(quotes, "deepseek-reasoner", "output", **off_peak)
    assert off.price == Decimal("0.550")
    # The "(75% OFF)" is the off-peak price itself, not a promotion.
    assert off.conditions == {"time_window": "off_peak", "time_window_hours": "16:30-00:30 UTC"}
    assert one_quote(quotes, "deepseek-chat", "input", **peak).price == Decimal("0.27")
    assert one_quote(quotes, "deepseek-chat", "cached_input", **off_peak).price == Decimal("0.035")


def test_all_quotes_are_well_formed():
    for name in (
        "en_peak_offpeak.html",
        "zh_flat.html",
        "en_discount_del.html",
        "en_announcement.md",
        "zh_peak.md",
        "html2text_2025-12.md",
        "dump_2025-02_promo_usd_cny.txt",
        "dump_2025-02_standard_discount.txt",
    ):
        quotes = parse(FIXTURES / name)
        keys = [(q.model, q.dimension, q.currency, q.conditions.get("time_window")) for q in quotes]
        assert len(keys) == len(set(keys)), f"{name}: two prices for one model, dimension, currency and window"
        for quote in quotes:
            assert isinstance(quote.price, Decimal) and quote.price >= 0
            assert quote.currency in {"USD", "CNY"}
            assert quote.model.startswith("deepseek-") and quote.model == quote.model.strip().lower()
            assert quote.dimension in {"input", "cached_input", "output"}
            if quote.list_price is not None:
                assert quote.conditions.get("promo") is True and quote.list_price > quote.price
