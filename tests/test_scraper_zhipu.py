"""bigmodel.cn pricing: Element-UI split tables, thousand-token tiers, 限时免费, batch, voice cells."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "zhipu"

parse = partial(parse_page, "zhipu", url="https://bigmodel.cn/pricing")


@pytest.fixture(scope="module")
def quotes():
    return parse(FIXTURES / "bigmodel_pricing_trimmed.html")


def test_badge_is_not_part_of_the_id(quotes):
    assert one_quote(quotes, "glm-5.2", "input").price == Decimal("8")
    assert one_quote(quotes, "glm-5.2", "output").price == Decimal("28")
    assert one_quote(quotes, "glm-5.2", "cached_input").price == Decimal("2")


def test_input_length_tiers_in_tokens_and_continuation_rows(quotes):
    low = {"min": 0, "max": 32_000}
    high = {"min": 32_000, "max": None}
    assert one_quote(quotes, "glm-5.1", "input", context_tokens=low).price == Decimal("6")
    # the second tier row has no model cell (rowspan): it is still GLM-5.1
    assert one_quote(quotes, "glm-5.1", "output", context_tokens=high).price == Decimal("28")
    assert one_quote(quotes, "glm-4.7", "input", context_tokens={"min": 32_000, "max": 200_000}).price == Decimal("4")


def test_output_length_tiers(quotes):
    short = {"context_tokens": {"min": 0, "max": 32_000}, "output_tokens": {"min": 0, "max": 200}}
    long_ = {"context_tokens": {"min": 0, "max": 32_000}, "output_tokens": {"min": 200, "max": None}}
    assert one_quote(quotes, "glm-4.7", "output", **short).price == Decimal("8")
    assert one_quote(quotes, "glm-4.7", "output", **long_).price == Decimal("14")


def test_limited_time_free_is_zero_with_promo(quotes):
    storage = one_quote(quotes, "glm-5.2", "cache_storage", promo=True)
    assert storage.price == 0
    assert (storage.per, storage.unit) == (1_000_000, "token")


def test_free_is_zero_without_promo(quotes):
    assert one_quote(quotes, "glm-4.7-flash", "input").price == 0
    assert one_quote(quotes, "glm-4-flash-250414", "output").price == 0
    free_image = one_quote(quotes, "cogview-3-flash", "per_request", unit="request")
    assert (free_image.price, free_image.unit) == (0, "request")


def test_single_price_and_batch_columns(quotes):
    assert one_quote(quotes, "glm-4-plus", "input").price == Decimal("5")
    assert one_quote(quotes, "glm-4-plus", "output").price == Decimal("5")
    assert one_quote(quotes, "glm-4-plus", "input", batch=True).price == Decimal("2.5")
    # 不支持 (no batch) gives no quote
    assert not [q for q in quotes if q.model == "glm-4-airx" and q.conditions.get("batch")]
    # embeddings price input only
    assert {q.dimension for q in quotes if q.model == "embedding-3"} == {"input"}


def test_voice_cells(quotes):
    tts = one_quote(quotes, "glm-tts", "input", unit="character")
    assert (tts.price, tts.per, tts.unit) == (Decimal("2"), 10_000, "character")
    assert one_quote(quotes, "glm-asr-2512", "input_audio").price == Decimal("16")
    asr_out = one_quote(quotes, "glm-asr-2512", "output")
    assert (asr_out.price, asr_out.unit) == (0, "token")
    realtime = one_quote(quotes, "glm-realtime-flash", "input_video", unit="minute")
    assert (realtime.price, realtime.per, realtime.unit) == (Decimal("1.2"), 1, "minute")


def test_per_call_prices(quotes):
    image = one_quote(quotes, "cogview-4", "per_request", unit="request", batch=True)
    assert (image.price, image.per, image.unit) == (Decimal("0.03"), 1, "request")


def test_tools_and_deployments_are_skipped(quotes):
    models = {q.model for q in quotes}
    assert "search-std" not in models
    assert "glm-4-air" not in models  # only in the private-deployment table of the fixture
    assert {q.currency for q in quotes} == {"CNY"}


def test_plain_table_with_struck_list_price_and_zero_width():
    html = """<html><body><table>
    <tr><th>模型</th><th>上下文</th><th>单价</th><th>Batch API 定价</th></tr>
    <tr><td>GLM-4-Plus\u200b</td><td>(32, 128]</td><td><del>50元 / 百万Tokens</del> 5 元 / 百万Tokens</td><td>不支持</td></tr>
    <tr><td>GLM-4-Air</td><td>128K</td><td>0.5 元 / 百万Tokens</td><td>0.25 元 / 百万Tokens</td></tr>
    <tr><td>GLM-4-Long</td><td>1M</td><td>1 元 / 百万Tokens</td><td>0.5 元 / 百万Tokens</td></tr>
    <tr><td>GLM-4-Flash</td><td>128K</td><td>免费</td><td>免费</td></tr>
    <tr><td>GLM-Z1-Air</td><td>128K</td><td>0.5 元 / 百万Tokens</td><td>不支持</td></tr>
    </table></body></html>"""
    quotes = parse(html)
    plus = one_quote(quotes, "glm-4-plus", "input", context_tokens={"min": 32_000, "max": 128_000}, promo=True)
    assert (plus.price, plus.list_price) == (Decimal("5"), Decimal("50"))
    assert one_quote(quotes, "glm-4-air", "output", batch=True).price == Decimal("0.25")


def test_page_without_price_tables_drifts():
    html = "<html><body><table><tr><th>工具名称</th><th>单价</th></tr><tr><td>Search-Std</td><td>0.01元 / 次</td></tr></table></body></html>"
    with pytest.raises(LayoutDrift, match="模型"):
        parse(html)


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse("<html><head><title>Just a moment...</title></head><body>challenge-platform</body></html>")
