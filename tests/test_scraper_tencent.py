"""Tencent Cloud TokenHub 模型价格: region tabs, tier rows with U+FEFF placeholders, display names."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "tencent"

parse = partial(parse_page, "tencent", url="https://cloud.tencent.com/document/product/1823/130055")


@pytest.fixture(scope="module")
def quotes():
    return parse(FIXTURES / "tokenhub_model_pricing.html")


def test_guangzhou_tab_is_unconditioned(quotes):
    assert one_quote(quotes, "hy3", "input").price == Decimal("1")
    assert one_quote(quotes, "hy3", "output").price == Decimal("4")
    assert one_quote(quotes, "hy3", "cached_input").price == Decimal("0.25")
    assert one_quote(quotes, "glm-5.2", "input").price == Decimal("8")


def test_singapore_tab_is_intl(quotes):
    assert one_quote(quotes, "glm-5.2", "input", region="intl").price == Decimal("10.254")
    assert one_quote(quotes, "minimax-m2.5", "cached_input", region="intl").price == Decimal("0.22")


def test_tier_rows_behind_placeholder_cells(quotes):
    assert one_quote(quotes, "hy3-preview", "input", context_tokens={"min": 0, "max": 16_000}).price == Decimal("1.2")
    assert one_quote(quotes, "hy3-preview", "output", context_tokens={"min": 16_000, "max": 32_000}).price == Decimal("6.4")
    assert one_quote(quotes, "hy3-preview", "cached_input", context_tokens={"min": 32_000, "max": None}).price == Decimal("0.8")
    assert one_quote(quotes, "minimax-m3", "input", context_tokens={"min": 512_000, "max": None}).price == Decimal("4.2")
    assert one_quote(quotes, "qwen3.5-plus", "output", context_tokens={"min": 256_000, "max": 1_000_000}).price == Decimal("24")


def test_display_names_become_ids(quotes):
    models = {q.model for q in quotes}
    assert {"hy3-preview", "kimi-k2.7-code-highspeed", "kimi-k2.6", "minimax-m2.5", "hy-mt2-plus"} <= models
    assert not [m for m in models if m != m.lower() or " " in m or "\ufeff" in m or "下线" in m]


def test_vendor_direct_supply_is_a_channel(quotes):
    assert one_quote(quotes, "deepseek-v4-flash", "cached_input", channel="vendor_direct").price == Decimal("0.02")
    assert one_quote(quotes, "deepseek-v4-flash", "cached_input").price == Decimal("0.2")
    assert one_quote(quotes, "deepseek-v4-pro", "input", channel="vendor_direct").price == Decimal("3")


def test_batch_section(quotes):
    assert one_quote(quotes, "glm-5", "output", batch=True, context_tokens={"min": 0, "max": 32_000}).price == Decimal("9")
    assert one_quote(quotes, "glm-5.1", "cached_input", batch=True, context_tokens={"min": 32_000, "max": None}).price == Decimal("1")


def test_embedding_billing_items(quotes):
    assert one_quote(quotes, "kinfra-vl-embedding-8b", "input").price == Decimal("0.6")
    assert one_quote(quotes, "kinfra-vl-embedding-8b", "input_image").price == Decimal("0.9")
    assert one_quote(quotes, "kinfra-vl-embedding-8b", "input_video").price == Decimal("1.8")


def test_multimodal_understanding(quotes):
    assert one_quote(quotes, "hy-vision-2.0-instruct", "output").price == Decimal("17.5")


def test_missing_cache_price_and_skipped_sections(quotes):
    assert {q.dimension for q in quotes if q.model == "hy-mt2-plus" and not q.conditions} == {"input", "output"}
    models = {q.model for q in quotes}
    assert not [m for m in models if m.startswith("kling")]  # video: Token 单价 × Token 用量
    assert "轻量版" not in models and "标准版" not in models  # 联网搜索, 元/千次
    assert {(q.currency, q.per, q.unit) for q in quotes} == {("CNY", 1_000_000, "token")}


def test_usd_header():
    rows = "".join(f"<tr><td>Model-{i}</td><td>-</td><td>0.{i}</td><td>1.{i}</td></tr>" for i in range(1, 7))
    html = (
        "<html><body><h2>语言模型</h2><table><tr><td>模型名称</td><td>条件（token）</td><td>推理输入（美元/百万 tokens）</td>"
        f"<td>推理输出（美元/百万 tokens）</td></tr>{rows}</table></body></html>"
    )
    quote = one_quote(parse(html), "model-3", "input")
    assert (quote.price, quote.currency) == (Decimal("0.3"), "USD")


def test_unknown_tier_is_drift():
    rows = "".join(f"<tr><td>Model-{i}</td><td>-</td><td>0.{i}</td></tr>" for i in range(1, 7))
    html = (
        "<html><body><table><tr><td>模型名称</td><td>条件（token）</td><td>推理输入（元/百万 tokens）</td></tr>"
        f"{rows}<tr><td>Odd</td><td>闲时</td><td>1</td></tr></table></body></html>"
    )
    with pytest.raises(LayoutDrift, match="tier"):
        parse(html)


def test_page_without_tables_is_drift():
    with pytest.raises(LayoutDrift):
        parse("<html><body><h1>模型价格</h1></body></html>")


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse("<html><head><title>Just a moment...</title></head><body></body></html>")
