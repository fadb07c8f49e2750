"""The zhipu (bigmodel.cn) and zai (docs.z.ai) parsers on every real page in ../shared/vendor-pages/zhipu."""

from __future__ import annotations

from decimal import Decimal

import pytest

import scrapers.zai  # noqa: F401  (registers the parser even when the registry is already partly loaded)
import scrapers.zhipu  # noqa: F401  (registers the parser even when the registry is already partly loaded)
from scrapers import Page, get_parser
from tests.conftest import vendor_page, vendor_pages

BIGMODEL = "zhipu/2026-07-17_bigmodel_cn_pricing.html"
ZAI_HTML = "zhipu/2026-08-18_docs_z_ai_pricing.html"
ZAI_MD = "zhipu/2026-05-08_docs_z_ai_pricing_jina_markdown.md"
PARSER_OF = {BIGMODEL: "zhipu", ZAI_HTML: "zai", ZAI_MD: "zai"}


def parse(relative: str):
    path = vendor_page(relative)
    return get_parser(PARSER_OF[relative]).parse(Page(path.read_bytes(), url=""))


def price(quotes, model, dimension, **conditions):
    hits = [q.price for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_every_real_page_is_covered():
    names = {f"zhipu/{p.name}" for p in vendor_pages("zhipu")}
    assert names <= set(PARSER_OF), names - set(PARSER_OF)


def test_bigmodel_2026_07_17():
    quotes = parse(BIGMODEL)
    assert len(quotes) >= 180
    assert len({q.model for q in quotes}) >= 50
    low, high = {"min": 0, "max": 32_000}, {"min": 32_000, "max": None}
    assert price(quotes, "glm-5.2", "input") == Decimal("8")
    assert price(quotes, "glm-5.1", "output", context_tokens=low) == Decimal("24")
    assert price(quotes, "glm-5.1", "cached_input", context_tokens=high) == Decimal("2")
    assert price(quotes, "glm-5", "cache_storage", context_tokens=low, promo=True) == 0
    assert price(
        quotes, "glm-4.5-air", "output",
        context_tokens=low, output_tokens={"min": 200, "max": None},
    ) == Decimal("6")
    assert price(quotes, "glm-4.6v", "input", context_tokens={"min": 32_000, "max": 128_000}) == Decimal("2")
    assert price(quotes, "glm-4-plus", "input", batch=True) == Decimal("2.5")
    assert price(quotes, "glm-4-0520", "output") == Decimal("100")
    assert price(quotes, "cogview-4", "per_request") == Decimal("0.06")
    assert price(quotes, "glm-realtime-air", "input_audio") == Decimal("0.3")
    assert price(quotes, "glm-4.7-flash", "output") == 0
    assert {q.currency for q in quotes} == {"CNY"}


@pytest.mark.parametrize("relative", [ZAI_HTML, ZAI_MD], ids=["html-2026-08-18", "markdown-2026-05-08"])
def test_zai(relative):
    quotes = parse(relative)
    assert len(quotes) >= 80
    assert price(quotes, "glm-5.1", "input") == Decimal("1.4")
    assert price(quotes, "glm-4.5-x", "output") == Decimal("8.9")
    assert price(quotes, "glm-4.6v-flashx", "cached_input") == Decimal("0.004")
    assert price(quotes, "glm-4.6", "cache_storage", promo=True) == 0
    assert price(quotes, "vidu2-reference", "output_video") == Decimal("0.4")
    assert price(quotes, "glm-asr-2512", "input_audio") == Decimal("0.03")
    assert {q.currency for q in quotes} == {"USD"}


def test_zai_html_has_glm_5_2():
    quotes = parse(ZAI_HTML)
    assert price(quotes, "glm-5.2", "output") == Decimal("4.4")
