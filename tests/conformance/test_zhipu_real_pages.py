"""The zhipu (bigmodel.cn) and zai (docs.z.ai) parsers on every real page in ../shared/vendor-pages/zhipu."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import assert_pages_covered, one_quote, parse_page, vendor_page

BIGMODEL = "zhipu/2026-07-17_bigmodel_cn_pricing.html"
ZAI_HTML = "zhipu/2026-08-18_docs_z_ai_pricing.html"
ZAI_MD = "zhipu/2026-05-08_docs_z_ai_pricing_jina_markdown.md"
PARSER_OF = {BIGMODEL: "zhipu", ZAI_HTML: "zai", ZAI_MD: "zai"}


def parse(relative: str):
    return parse_page(PARSER_OF[relative], vendor_page(relative))


def test_every_real_page_is_covered():
    assert_pages_covered("zhipu", set(PARSER_OF))


def test_bigmodel_2026_07_17():
    quotes = parse(BIGMODEL)
    assert len(quotes) >= 180
    assert len({q.model for q in quotes}) >= 50
    low, high = {"min": 0, "max": 32_000}, {"min": 32_000, "max": None}
    assert one_quote(quotes, "glm-5.2", "input").price == Decimal("8")
    assert one_quote(quotes, "glm-5.1", "output", context_tokens=low).price == Decimal("24")
    assert one_quote(quotes, "glm-5.1", "cached_input", context_tokens=high).price == Decimal("2")
    assert one_quote(quotes, "glm-5", "cache_storage", context_tokens=low, promo=True).price == 0
    assert one_quote(
        quotes, "glm-4.5-air", "output",
        context_tokens=low, output_tokens={"min": 200, "max": None},
    ).price == Decimal("6")
    assert one_quote(quotes, "glm-4.6v", "input", context_tokens={"min": 32_000, "max": 128_000}).price == Decimal("2")
    assert one_quote(quotes, "glm-4-plus", "input", batch=True).price == Decimal("2.5")
    assert one_quote(quotes, "glm-4-0520", "output").price == Decimal("100")
    assert one_quote(quotes, "cogview-4", "per_request", unit="request").price == Decimal("0.06")
    assert one_quote(quotes, "glm-realtime-air", "input_audio", unit="minute").price == Decimal("0.3")
    assert one_quote(quotes, "glm-4.7-flash", "output").price == 0
    assert {q.currency for q in quotes} == {"CNY"}


@pytest.mark.parametrize("relative", [ZAI_HTML, ZAI_MD], ids=["html-2026-08-18", "markdown-2026-05-08"])
def test_zai(relative):
    quotes = parse(relative)
    assert len(quotes) >= 80
    assert one_quote(quotes, "glm-5.1", "input").price == Decimal("1.4")
    assert one_quote(quotes, "glm-4.5-x", "output").price == Decimal("8.9")
    assert one_quote(quotes, "glm-4.6v-flashx", "cached_input").price == Decimal("0.004")
    assert one_quote(quotes, "glm-4.6", "cache_storage", promo=True).price == 0
    assert one_quote(quotes, "vidu2-reference", "output_video", unit="video").price == Decimal("0.4")
    assert one_quote(quotes, "glm-asr-2512", "input_audio").price == Decimal("0.03")
    assert {q.currency for q in quotes} == {"USD"}


def test_zai_html_has_glm_5_2():
    quotes = parse(ZAI_HTML)
    assert one_quote(quotes, "glm-5.2", "output").price == Decimal("4.4")


@pytest.mark.parametrize("relative", [ZAI_HTML, ZAI_MD])
def test_the_sentence_above_gives_the_unit_of_the_real_zai_tables(relative):
    """The real tables' cells say "$1.4"; "Prices per 1M tokens." above them is the unit."""
    page = vendor_page(relative).read_text(encoding="utf-8")
    assert "Prices per 1M tokens." in page
    read = parse_page("zai", page.replace("Prices per 1M tokens.", "Prices per 1K tokens."))
    assert {q.per for q in read if q.model == "glm-5.1" and q.dimension in ("input", "output")} == {1000}
