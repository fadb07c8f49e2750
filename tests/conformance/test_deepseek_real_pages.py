"""The deepseek parser on every real page in ../shared/vendor-pages/deepseek."""

from __future__ import annotations

from decimal import Decimal

import pytest

import scrapers.deepseek  # noqa: F401  (registers the parser even when the registry is already partly loaded)
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

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
    path = vendor_page(relative)
    return get_parser("deepseek").parse(Page(path.read_bytes(), url=""))


def one(quotes, model, dimension, window=None):
    hits = [q for q in quotes if q.model == model and q.dimension == dimension and q.conditions.get("time_window") == window]
    assert len(hits) == 1, (model, dimension, window, hits)
    return hits[0]


def test_every_real_page_is_covered():
    names = {f"deepseek/{p.parent.name}/{p.name}" for p in vendor_pages("deepseek", "*/*")}
    expected = set(FLAT_PAGES) | {EN_PEAK, ZH_PEAK, EXCERPT, DUMP_PROMO, DUMP_WINDOWS, DUMP_V32}
    assert names <= expected, names - expected


@pytest.mark.parametrize("relative", sorted(FLAT_PAGES))
def test_flat_v4_pages(relative):
    currency, prices = FLAT_PAGES[relative]
    quotes = parse(relative)
    assert len(quotes) == 6
    for (model, dimension), price in prices.items():
        quote = one(quotes, model, dimension)
        assert quote.price == Decimal(price), (model, dimension)
        assert quote.currency == currency
        assert quote.conditions == {} and quote.list_price is None


def test_en_peak_off_peak_mirror():
    quotes = parse(EN_PEAK)
    assert len(quotes) == 12
    assert one(quotes, "deepseek-v4-flash", "cached_input", "off_peak").price == Decimal("0.007")
    assert one(quotes, "deepseek-v4-flash", "input", "peak").price == Decimal("0.44")
    assert one(quotes, "deepseek-v4-pro", "output", "off_peak").price == Decimal("1.98")
    assert one(quotes, "deepseek-v4-pro", "output", "peak").price == Decimal("3.96")
    assert {q.currency for q in quotes} == {"USD"}
    assert {q.conditions["time_window_hours"] for q in quotes} == {EN_HOURS}


def test_zh_peak_off_peak_mirror():
    quotes = parse(ZH_PEAK)
    assert len(quotes) == 12
    assert one(quotes, "deepseek-v4-flash", "cached_input", "off_peak").price == Decimal("0.05")
    assert one(quotes, "deepseek-v4-flash", "cached_input", "peak").price == Decimal("0.10")
    assert one(quotes, "deepseek-v4-pro", "input", "off_peak").price == Decimal("4.5")
    assert one(quotes, "deepseek-v4-pro", "output", "peak").price == Decimal("27.0")
    assert {q.currency for q in quotes} == {"CNY"}
    assert {q.conditions["time_window_hours"] for q in quotes} == {ZH_HOURS}


def test_en_excerpt_2026_09_05():
    quotes = parse(EXCERPT)
    assert len(quotes) == 18  # 3 models x 3 dimensions x 2 windows
    off = one(quotes, "deepseek-v4-pro", "output", "off_peak")
    assert (off.price, off.currency) == (Decimal("1.98"), "USD")
    assert off.conditions["time_window_hours"] == "01:00-04:00, 06:00-10:00 UTC Mon-Fri"
    peak = one(quotes, "deepseek-v4-pro", "output", "peak")
    assert (peak.price, peak.currency) == (Decimal("3.96"), "USD")
    assert one(quotes, "deepseek-v4-flash-vision-exp", "cached_input", "peak").price == Decimal("0.014")
    assert one(quotes, "deepseek-v4-flash", "input", "off_peak").price == Decimal("0.22")
    assert {q.model for q in quotes} == {"deepseek-v4-flash", "deepseek-v4-pro", "deepseek-v4-flash-vision-exp"}


def test_zh_raw_html_2026_07_17():
    quotes = parse("deepseek/raw_html/2026-07-17_zh-cn_quick_start_pricing.html")
    flash_in = one(quotes, "deepseek-v4-flash", "input")
    assert (flash_in.price, flash_in.currency) == (Decimal("1"), "CNY")
    assert one(quotes, "deepseek-v4-flash", "cached_input").price == Decimal("0.02")


def test_2025_02_08_promo_dump():
    quotes = parse(DUMP_PROMO)
    assert len(quotes) == 6
    chat_hit = one(quotes, "deepseek-chat", "cached_input")
    assert (chat_hit.price, chat_hit.list_price, chat_hit.conditions) == (Decimal("0.014"), Decimal("0.07"), {"promo": True})
    chat_in = one(quotes, "deepseek-chat", "input")
    assert (chat_in.price, chat_in.list_price) == (Decimal("0.14"), Decimal("0.27"))
    assert one(quotes, "deepseek-chat", "output").list_price == Decimal("1.10")
    r1_out = one(quotes, "deepseek-reasoner", "output")
    assert (r1_out.price, r1_out.list_price, r1_out.conditions) == (Decimal("2.19"), None, {})
    assert one(quotes, "deepseek-reasoner", "input").price == Decimal("0.55")
    assert {q.currency for q in quotes} == {"USD"}


def test_2025_02_26_standard_discount_dump():
    quotes = parse(DUMP_WINDOWS)
    assert len(quotes) == 12
    assert one(quotes, "deepseek-chat", "cached_input", "peak").price == Decimal("0.07")
    assert one(quotes, "deepseek-reasoner", "output", "peak").price == Decimal("2.19")
    assert one(quotes, "deepseek-reasoner", "input", "off_peak").price == Decimal("0.135")
    off = one(quotes, "deepseek-chat", "output", "off_peak")
    assert off.price == Decimal("0.550")
    assert off.conditions == {"time_window": "off_peak", "time_window_hours": "16:30-00:30 UTC"}
    assert one(quotes, "deepseek-chat", "input", "peak").conditions["time_window_hours"] == "00:30-16:30 UTC"


def test_2025_12_20_v32_single_price_block():
    quotes = parse(DUMP_V32)
    assert len(quotes) == 6
    for model in ("deepseek-chat", "deepseek-reasoner"):
        assert one(quotes, model, "cached_input").price == Decimal("0.028")
        assert one(quotes, model, "input").price == Decimal("0.28")
        assert one(quotes, model, "output").price == Decimal("0.42")
