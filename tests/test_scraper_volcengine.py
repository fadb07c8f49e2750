"""Volcengine Ark 模型价格: ace-editor tables, tier rows, sections, MDContent fallback."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page, router_markdown

FIXTURES = Path(__file__).parent / "fixtures" / "volcengine"
T0_32 = {"min": 0, "max": 32_000}
T32_128 = {"min": 32_000, "max": 128_000}
T128_256 = {"min": 128_000, "max": 256_000}

parse = partial(parse_page, "volcengine", url="https://www.volcengine.com/docs/82379/1544106")


@pytest.fixture(scope="module")
def quotes():
    return parse(FIXTURES / "ark_model_pricing.html")


def test_tier_continuation_rows_inherit_the_model(quotes):
    assert one_quote(quotes, "doubao-seed-2.0-pro", "input", context_tokens=T0_32).price == Decimal("3.2")
    assert one_quote(quotes, "doubao-seed-2.0-pro", "input", context_tokens=T32_128).price == Decimal("4.8")
    assert one_quote(quotes, "doubao-seed-2.0-pro", "output", context_tokens=T128_256).price == Decimal("48.0")
    assert one_quote(quotes, "deepseek-v3.2", "output", context_tokens=T32_128).price == Decimal("6.00")


def test_placeholder_cells_do_not_shift_columns(quotes):
    # each continuation row keeps a <td rowspan="0">; read naively, 4.8 would land in the condition column
    continuation = one_quote(quotes, "doubao-seed-2.0-lite", "cached_input_audio", context_tokens=T32_128)
    assert continuation.price == Decimal("2.7")
    assert one_quote(quotes, "doubao-seed-2.0-lite", "input_audio", context_tokens=T128_256).price == Decimal("27.0")


def test_input_and_output_length_tiers(quotes):
    short = {"context_tokens": T0_32, "output_tokens": {"min": 0, "max": 200}}
    long = {"context_tokens": T0_32, "output_tokens": {"min": 200, "max": None}}
    assert one_quote(quotes, "doubao-seed-1.8", "output", **short).price == Decimal("2.00")
    assert one_quote(quotes, "doubao-seed-1.8", "output", **long).price == Decimal("8.00")
    assert one_quote(quotes, "glm-4.7", "input", context_tokens={"min": 32_000, "max": 200_000}).price == Decimal("4.0")


def test_units_from_the_header_per_million(quotes):
    # 元/百万token: per 1M (not 万 = 10,000), CNY from the header
    assert {(q.per, q.unit, q.currency) for q in quotes} == {(1_000_000, "token", "CNY")}
    assert all(isinstance(q.price, Decimal) for q in quotes)


def test_cache_storage_per_hour(quotes):
    storage = one_quote(quotes, "deepseek-v4-pro", "cache_storage")
    assert storage.price == Decimal("0.017")
    assert one_quote(quotes, "deepseek-v4-pro", "cached_input").price == Decimal("1.00")


def test_dash_means_not_offered(quotes):
    assert not [q for q in quotes if q.model == "doubao-seed-translation" and q.dimension.startswith("cache")]
    assert one_quote(quotes, "doubao-seed-translation", "output").price == Decimal("3.60")


def test_sections_give_conditions(quotes):
    assert one_quote(quotes, "doubao-seed-2.0-mini", "input", tier="low_latency", context_tokens=T0_32).price == Decimal("0.4")
    assert one_quote(quotes, "doubao-seed-2.0-pro", "input", batch=True, context_tokens=T0_32).price == Decimal("1.6")
    assert one_quote(quotes, "deepseek-v3.1", "output", batch=True).price == Decimal("6.00")
    assert one_quote(quotes, "doubao-seed-1.6-flash", "input", fine_tuned=True, context_tokens=T0_32).price == Decimal("0.30")
    assert one_quote(quotes, "doubao-1.5-pro-32k", "output", fine_tuned=True).price == Decimal("5.00")


def test_embedding_text_and_image_input(quotes):
    assert one_quote(quotes, "doubao-embedding-vision", "input").price == Decimal("0.70")
    assert one_quote(quotes, "doubao-embedding-vision", "input_image").price == Decimal("1.80")


def test_non_token_tables_are_skipped(quotes):
    models = {q.model for q in quotes}
    assert "doubao-seedance-1.0-pro" not in models  # video generation
    assert "doubao-seed-1.6" not in models  # fine-tuning training prices only
    # TPM 保障包 (元/每10K TPM/小时): 1.920 / 0.480 / 23.040 / 5.760 for doubao-seed-1.8
    assert not [q for q in quotes if str(q.price) in ("1.920", "0.480", "23.040", "5.760")]


def test_no_invisible_characters(quotes):
    for quote in quotes:
        assert "\u200b" not in quote.model and quote.model == quote.model.strip()


def test_router_data_markdown_when_the_dom_has_no_tables():
    quotes = parse(FIXTURES / "ark_model_pricing_router_data_only.html")
    assert one_quote(quotes, "doubao-seed-2.0-pro", "input", context_tokens=T32_128).price == Decimal("4.8")
    # markdown continuation rows have an empty model cell and `\-` escapes
    assert one_quote(quotes, "doubao-seed-1.8", "output", context_tokens=T0_32, output_tokens={"min": 200, "max": None}).price == Decimal("8.00")
    assert one_quote(quotes, "deepseek-v4-flash", "input").price == Decimal("1.00")
    assert one_quote(quotes, "doubao-seed-2.0-pro", "output", tier="low_latency", context_tokens=T128_256).price == Decimal("144.0")
    assert not [q for q in quotes if q.dimension.startswith("cache") and q.model == "doubao-seed-translation"]


def test_doc_api_json_and_reader_markdown():
    markdown = router_markdown((FIXTURES / "ark_model_pricing_router_data_only.html").read_text(encoding="utf-8"))
    expected = {(q.model, q.dimension, q.price, json.dumps(q.conditions, sort_keys=True)) for q in parse(markdown)}
    as_json = parse(json.dumps({"ResponseMetadata": {}, "Result": {"Title": "模型价格", "MDContent": markdown}}))
    reader = parse("Title: 模型价格\n\nURL Source: https://www.volcengine.com/docs/82379/1544106\n\nMarkdown Content:\n" + markdown)
    for other in (as_json, reader):
        assert {(q.model, q.dimension, q.price, json.dumps(q.conditions, sort_keys=True)) for q in other} == expected


def _markdown_table(header: str, rows: list[str]) -> str:
    columns = header.count("|") - 1
    return "\n".join([header, "|" + "---|" * columns, *rows])


def test_per_thousand_free_and_limited_time_free():
    rows = [f"|model-{i} |0.{i}0 |1.{i}0 |" for i in range(9)] + ["|free-model |免费 |限时免费 |"]
    doc = "# 大语言模型\n\n## 在线推理\n\n" + _markdown_table("|模型名称 |输入<br><br>元/千token |输出<br><br>元/千token |", rows)
    quotes = parse(doc)
    assert one_quote(quotes, "model-3", "input").price == Decimal("0.30")
    assert one_quote(quotes, "model-3", "input").per == 1000
    free = one_quote(quotes, "free-model", "input")
    assert (free.price, free.conditions) == (Decimal(0), {})
    promo = one_quote(quotes, "free-model", "output", promo=True)
    assert promo.price == Decimal(0)


def test_struck_price_is_the_list_price():
    rows = [f"|model-{i} |0.{i}0 |1.{i}0 |" for i in range(9)] + ["|promo-model |~~2.00~~ 1.00 |8.00 |"]
    doc = "## 在线推理\n\n" + _markdown_table("|模型名称 |输入 元/百万token |输出 元/百万token |", rows)
    quote = one_quote(parse(doc), "promo-model", "input", promo=True)
    assert (quote.price, quote.list_price) == (Decimal("1.00"), Decimal("2.00"))


def test_unknown_tier_condition_is_drift():
    rows = [f"|model-{i} |- |0.{i}0 |" for i in range(9)] + ["|odd-model |夜间时段 |0.50 |"]
    doc = "## 在线推理\n\n" + _markdown_table("|模型名称 |条件 千 token |输入 元/百万token |", rows)
    with pytest.raises(LayoutDrift, match="tier condition"):
        parse(doc)


def test_page_without_price_tables_is_drift():
    with pytest.raises(LayoutDrift):
        parse("<!DOCTYPE html><html><body><h1>模型价格</h1><p>页面维护中</p></body></html>")
    with pytest.raises(LayoutDrift, match="models"):
        parse("<html><body><table><tr><td>模型名称</td><td>输入 元/百万token</td></tr><tr><td>doubao-seed-1.6</td><td>0.80</td></tr></table></body></html>")


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf-browser-verification</body></html>")


def test_model_ids_are_lower_case_whatever_the_cell_says():
    """A cell that upper-cases the id (DOUBAO-SEED-2.0-PRO) is the same model, not a new one
    beside a withdrawn one: ids are lower-cased, as the API takes them and as other parsers do."""
    page = (FIXTURES / "ark_model_pricing.html").read_text(encoding="utf-8").replace(
        "doubao-seed-2.0-pro", "DOUBAO-SEED-2.0-PRO")
    quotes = parse(page.encode())
    assert one_quote(quotes, "doubao-seed-2.0-pro", "input", context_tokens=T0_32).price == Decimal("3.2")
    assert not [q for q in quotes if q.model != q.model.lower()]
