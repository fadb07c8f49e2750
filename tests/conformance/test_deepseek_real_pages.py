"""The deepseek parser on every real page in ../shared/vendor-pages/deepseek."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.conftest import assert_pages_covered, one_quote, parse_page, vendor_page

EN_HOURS = "01:00-04:00, 06:00-10:00 UTC"
ZH_HOURS = "09:00-12:00, 14:00-18:00 UTC+8"

# Flat V4 prices, Aug 2026 before peak / off-peak pricing (the EN 08-14 page also announces the
# future peak / off-peak table: not in force on that date, so not emitted).
FLAT_EN = {
    ("deepseek-v4-flash", "cached_input"): "0.0028",
    ("deepseek-v4-flash", "input"): "0.14",
    ("deepseek-v4-flash", "output"): "0.28",
    ("deepseek-v4-pro", "cached_input"): "0.003625",
    ("deepseek-v4-pro", "input"): "0.435",
    ("deepseek-v4-pro", "output"): "0.87",
}
FLAT_ZH = {
    ("deepseek-v4-flash", "cached_input"): "0.02",
    ("deepseek-v4-flash", "input"): "1",
    ("deepseek-v4-flash", "output"): "2",
    ("deepseek-v4-pro", "cached_input"): "0.025",
    ("deepseek-v4-pro", "input"): "3",
    ("deepseek-v4-pro", "output"): "6",
}
FLAT_PAGES = {
    "deepseek/markdown_mirror/2026-08-02_en_pricing.md": ("USD", FLAT_EN),
    "deepseek/markdown_mirror/2026-08-08_en_pricing.md": ("USD", FLAT_EN),
    "deepseek/markdown_mirror/2026-08-13_en_pricing.md": ("USD", FLAT_EN),
    "deepseek/markdown_mirror/2026-08-14_en_pricing.md": ("USD", FLAT_EN),
    "deepseek/markdown_mirror/2026-08-02_zh-cn_pricing.md": ("CNY", FLAT_ZH),
    "deepseek/markdown_mirror/2026-08-08_zh-cn_pricing.md": ("CNY", FLAT_ZH),
    "deepseek/markdown_mirror/2026-08-13_zh-cn_pricing.md": ("CNY", FLAT_ZH),
    "deepseek/markdown_mirror/2026-08-14_zh-cn_pricing.md": ("CNY", FLAT_ZH),
    "deepseek/markdown_mirror/2026-08-16_zh-cn_pricing.md": ("CNY", FLAT_ZH),
    "deepseek/raw_html/2026-07-17_zh-cn_quick_start_pricing.html": ("CNY", FLAT_ZH),
}
EN_PEAK = "deepseek/markdown_mirror/2026-08-17_en_pricing.md"
ZH_PEAK = "deepseek/markdown_mirror/2026-08-17_zh-cn_pricing.md"
EXCERPT = "deepseek/raw_html_excerpts/2026-09-05_en_pricing_table_excerpt_arthurcolle-dsco.html"
DUMP_PROMO = "deepseek/text_dumps/2025-02-08_en_docs_text_dump.md"
DUMP_WINDOWS = "deepseek/text_dumps/2025-02-26_en_docs_text_dump.md"
DUMP_V32 = "deepseek/text_dumps/2025-12-20_en_pricing_md.md"


def parse(relative: str):
    return parse_page("deepseek", vendor_page(relative))


def window(name: str, hours: str) -> dict:
    return {"time_window": name, "time_window_hours": hours}


def note_window(name: str, peak_hours: str) -> dict:
    """The conditions of a row under a note that gives the peak hours: off-peak is outside them."""
    return window(name, peak_hours if name == "peak" else f"outside {peak_hours}")


def test_every_real_page_is_covered():
    assert_pages_covered("deepseek", set(FLAT_PAGES) | {EN_PEAK, ZH_PEAK, EXCERPT, DUMP_PROMO, DUMP_WINDOWS, DUMP_V32})


@pytest.mark.parametrize("relative", sorted(FLAT_PAGES))
def test_flat_v4_pages(relative):
    currency, prices = FLAT_PAGES[relative]
    quotes = parse(relative)
    assert len(quotes) == 6
    for (model, dimension), price in prices.items():
        quote = one_quote(quotes, model, dimension)
        assert quote.price == Decimal(price), (model, dimension)
        assert quote.currency == currency
        assert quote.conditions == {} and quote.list_price is None


# (page, currency, peak hours, [(model, dimension, time window, price)])
PEAK_PAGES = [
    (
        EN_PEAK,
        "USD",
        EN_HOURS,
        [
            ("deepseek-v4-flash", "cached_input", "off_peak", "0.007"),
            ("deepseek-v4-flash", "input", "peak", "0.44"),
            ("deepseek-v4-pro", "output", "off_peak", "1.98"),
            ("deepseek-v4-pro", "output", "peak", "3.96"),
        ],
    ),
    (
        ZH_PEAK,
        "CNY",
        ZH_HOURS,
        [
            ("deepseek-v4-flash", "cached_input", "off_peak", "0.05"),
            ("deepseek-v4-flash", "cached_input", "peak", "0.10"),
            ("deepseek-v4-pro", "input", "off_peak", "4.5"),
            ("deepseek-v4-pro", "output", "peak", "27.0"),
        ],
    ),
]


@pytest.mark.parametrize("relative, currency, hours, expected", PEAK_PAGES, ids=["en", "zh"])
def test_peak_off_peak_mirrors(relative, currency, hours, expected):
    quotes = parse(relative)
    assert len(quotes) == 12
    for model, dimension, time_window, price in expected:
        assert one_quote(quotes, model, dimension, **note_window(time_window, hours)).price == Decimal(price)
    assert {q.currency for q in quotes} == {currency}
    assert {q.conditions["time_window_hours"] for q in quotes} == {hours, f"outside {hours}"}


def test_en_excerpt_2026_09_05():
    quotes = parse(EXCERPT)
    assert len(quotes) == 18  # 3 models x 3 dimensions x 2 windows
    hours = "01:00-04:00, 06:00-10:00 UTC Mon-Fri"
    off_peak, peak = note_window("off_peak", hours), note_window("peak", hours)
    off = one_quote(quotes, "deepseek-v4-pro", "output", **off_peak)
    assert (off.price, off.currency) == (Decimal("1.98"), "USD")
    assert off.conditions["time_window_hours"] == f"outside {hours}"
    peak_out = one_quote(quotes, "deepseek-v4-pro", "output", **peak)
    assert (peak_out.price, peak_out.currency) == (Decimal("3.96"), "USD")
    assert one_quote(quotes, "deepseek-v4-flash-vision-exp", "cached_input", **peak).price == Decimal("0.014")
    assert one_quote(quotes, "deepseek-v4-flash", "input", **off_peak).price == Decimal("0.22")
    assert {q.model for q in quotes} == {"deepseek-v4-flash", "deepseek-v4-pro", "deepseek-v4-flash-vision-exp"}


def test_zh_raw_html_2026_07_17():
    quotes = parse("deepseek/raw_html/2026-07-17_zh-cn_quick_start_pricing.html")
    flash_in = one_quote(quotes, "deepseek-v4-flash", "input")
    assert (flash_in.price, flash_in.currency) == (Decimal("1"), "CNY")
    assert one_quote(quotes, "deepseek-v4-flash", "cached_input").price == Decimal("0.02")


def test_2025_02_08_promo_dump():
    quotes = parse(DUMP_PROMO)
    assert len(quotes) == 6
    chat_hit = one_quote(quotes, "deepseek-chat", "cached_input", promo=True)
    assert (chat_hit.price, chat_hit.list_price, chat_hit.conditions) == (Decimal("0.014"), Decimal("0.07"), {"promo": True})
    chat_in = one_quote(quotes, "deepseek-chat", "input", promo=True)
    assert (chat_in.price, chat_in.list_price) == (Decimal("0.14"), Decimal("0.27"))
    assert one_quote(quotes, "deepseek-chat", "output", promo=True).list_price == Decimal("1.10")
    r1_out = one_quote(quotes, "deepseek-reasoner", "output")
    assert (r1_out.price, r1_out.list_price, r1_out.conditions) == (Decimal("2.19"), None, {})
    assert one_quote(quotes, "deepseek-reasoner", "input").price == Decimal("0.55")
    assert {q.currency for q in quotes} == {"USD"}


def test_2025_02_26_standard_discount_dump():
    quotes = parse(DUMP_WINDOWS)
    assert len(quotes) == 12
    peak, off_peak = window("peak", "00:30-16:30 UTC"), window("off_peak", "16:30-00:30 UTC")
    assert one_quote(quotes, "deepseek-chat", "cached_input", **peak).price == Decimal("0.07")
    assert one_quote(quotes, "deepseek-reasoner", "output", **peak).price == Decimal("2.19")
    assert one_quote(quotes, "deepseek-reasoner", "input", **off_peak).price == Decimal("0.135")
    off = one_quote(quotes, "deepseek-chat", "output", **off_peak)
    assert off.price == Decimal("0.550")
    assert off.conditions == {"time_window": "off_peak", "time_window_hours": "16:30-00:30 UTC"}
    assert one_quote(quotes, "deepseek-chat", "input", **peak).conditions["time_window_hours"] == "00:30-16:30 UTC"


def test_2025_12_20_v32_single_price_block():
    quotes = parse(DUMP_V32)
    assert len(quotes) == 6
    for model in ("deepseek-chat", "deepseek-reasoner"):
        assert one_quote(quotes, model, "cached_input").price == Decimal("0.028")
        assert one_quote(quotes, model, "input").price == Decimal("0.28")
        assert one_quote(quotes, model, "output").price == Decimal("0.42")


def test_a_footnote_mark_after_a_real_price_is_not_a_digit():
    """`$0.014¹`: NFKC would make it 0.0141.  The real page, every price marked, reads the same."""
    page = vendor_page(EN_PEAK).read_text(encoding="utf-8")
    marked = re.sub(r"(\$\d[\d.]*)", "\\1\u00b9", page)
    assert marked != page
    assert parse_page("deepseek", marked) == parse_page("deepseek", page)
