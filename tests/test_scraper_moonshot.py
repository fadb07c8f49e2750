"""Kimi pricing pages: CNY HTML (platform.kimi.com), USD MDX export (platform.kimi.ai), currency per cell."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "moonshot"

parse = partial(parse_page, "moonshot", url="https://platform.kimi.com/docs/pricing/chat-k26")


def test_cny_html_page():
    quotes = parse(FIXTURES / "kimi_com_pricing_chat-k26_trimmed.html")
    assert one_quote(quotes, "kimi-k2.6", "cached_input", currency="CNY").price == Decimal("1.10")
    assert one_quote(quotes, "kimi-k2.6", "input", currency="CNY").price == Decimal("6.50")
    output = one_quote(quotes, "kimi-k2.6", "output", currency="CNY")
    assert (output.price, output.per, output.unit) == (Decimal("27.00"), 1_000_000, "token")
    assert len(quotes) == 3


def test_usd_mdx_export_with_page_breaks():
    quotes = parse(FIXTURES / "kimi_ai_pricing_chat_mdx_trimmed.md")
    assert {q.currency for q in quotes} == {"USD"}
    assert one_quote(quotes, "kimi-k2.6", "input", currency="USD").price == Decimal("0.95")  # <>{"$"}0.95</>
    assert one_quote(quotes, "kimi-k2-turbo-preview", "output", currency="USD").price == Decimal("8.00")
    # zero-width space after the id in the source
    assert one_quote(quotes, "kimi-k2-thinking", "cached_input", currency="USD").price == Decimal("0.15")
    assert len({q.model for q in quotes}) == 6


def test_lone_input_price_column_is_input():
    mdx = """# Generation Model Moonshot V1 Pricing

<DocTable
  columns={[
{ title: "Model", width: "34%" },
{ title: "Unit", width: "14%" },
{ title: "Input Price", width: "14%" },
{ title: "Output Price", width: "14%" },
{ title: "Context Window", width: "24%" },
]}
  rows={[
["moonshot-v1-8k", "1M tokens", <>{"$"}0.20</>, <>{"$"}2.00</>, "8,192 tokens"],
["moonshot-v1-128k", "1M tokens", <>{"$"}2.00</>, <>{"$"}5.00</>, "131,072 tokens"],
]}
/>
"""
    quotes = parse(mdx)
    assert one_quote(quotes, "moonshot-v1-8k", "input", currency="USD").price == Decimal("0.20")
    assert one_quote(quotes, "moonshot-v1-128k", "output", currency="USD").price == Decimal("5.00")
    assert {q.dimension for q in quotes} == {"input", "output"}


def test_pipe_table_single_price_and_unit_column():
    text = """Title: 模型推理价格说明

Markdown Content:
| 模型 | 计费单位 | 价格 |
| --- | --- | --- |
| moonshot-v1-8k | 1M tokens | 12.00元 |
| moonshot-v1-32k | 1K tokens | ¥0.024 |
"""
    quotes = parse(text)
    assert one_quote(quotes, "moonshot-v1-8k", "input", currency="CNY").price == Decimal("12.00")
    assert one_quote(quotes, "moonshot-v1-8k", "output", currency="CNY").price == Decimal("12.00")
    per_k = one_quote(quotes, "moonshot-v1-32k", "input", currency="CNY")
    assert (per_k.price, per_k.per) == (Decimal("0.024"), 1000)


def test_struck_list_price():
    html = """<!DOCTYPE html><html><head><title>Kimi</title></head><body><table>
    <thead><tr><th>模型</th><th>计费单位</th><th>输入价格（缓存命中）</th><th>输入价格（缓存未命中）</th><th>输出价格</th></tr></thead>
    <tbody><tr><td>kimi-k2-turbo-preview</td><td>1M tokens</td><td>¥1.00</td><td><del>¥16.00</del> ¥8.00</td><td>¥58.00</td></tr></tbody>
    </table></body></html>"""
    quotes = parse(html)
    promo = one_quote(quotes, "kimi-k2-turbo-preview", "input", currency="CNY", promo=True)
    assert (promo.price, promo.list_price) == (Decimal("8.00"), Decimal("16.00"))
    assert one_quote(quotes, "kimi-k2-turbo-preview", "output", currency="CNY").price == Decimal("58.00")


def test_overview_page_without_prices_drifts():
    with pytest.raises(LayoutDrift, match="overview"):
        parse(FIXTURES / "kimi_ai_pricing_chat_overview_trimmed.html")


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>")


def test_titleless_cloudflare_interstitial_is_blocked():
    html = (
        "<html><head><meta http-equiv='refresh' content='360'></head><body>"
        "<noscript>Enable JavaScript and cookies to continue</noscript>"
        "<script>window._cf_chl_opt={cvId: '3', cType: 'managed'};</script></body></html>"
    )
    with pytest.raises(Blocked):
        parse(html)
