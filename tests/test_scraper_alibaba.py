"""Alibaba Model Studio 模型调用价格 (doc API JSON) and the Hologres managed-models price list."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from pipeline.errors import Blocked, LayoutDrift
from tests.conftest import one_quote, parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "alibaba"

parse = partial(parse_page, "alibaba", url="https://help.aliyun.com/zh/model-studio/model-pricing")


@pytest.fixture(scope="module")
def quotes():
    return parse(FIXTURES / "model_pricing_api.json")


@pytest.fixture(scope="module")
def hologres():
    return parse_page("alibaba-hologres", FIXTURES / "hologres_managed_models_billing.html")


def tier(low, high):
    return {"min": low, "max": high}


def test_input_length_tiers(quotes):
    assert one_quote(quotes, "qwen3-max", "input", context_tokens=tier(0, 32_000)).price == Decimal("2.5")
    assert one_quote(quotes, "qwen3-max", "output", context_tokens=tier(128_000, 256_000)).price == Decimal("28")
    assert one_quote(quotes, "glm-5.1", "input", context_tokens=tier(32_000, 200_000)).price == Decimal("8")
    # 无阶梯计价 / 不区分阶梯: no condition
    assert one_quote(quotes, "qwen-max", "input").price == Decimal("2.4")
    assert one_quote(quotes, "glm-5.2", "output").price == Decimal("28")


def test_model_id_is_the_first_word_of_the_cell(quotes):
    models = {q.model for q in quotes}
    assert {"qwen3.7-max", "qwen3-max", "deepseek-v4-pro", "qwen3-vl-rerank"} <= models
    assert not [m for m in models if " " in m or "当前" in m or "Batch" in m]


def test_limited_time_discount_is_computed_with_list_price(quotes):
    # 原价 12元 限时5折
    quote = one_quote(quotes, "qwen3.7-max", "input", context_tokens=tier(0, 1_000_000), promo=True)
    assert (quote.price, quote.list_price) == (Decimal("6.0"), Decimal("12"))
    plus = one_quote(quotes, "qwen3.7-plus", "output", context_tokens=tier(0, 256_000), mode="thinking", promo=True)
    assert (plus.price, plus.list_price) == (Decimal("6.4"), Decimal("8"))


def test_thinking_and_non_thinking_output_columns(quotes):
    low = tier(0, 128_000)
    assert one_quote(quotes, "qwen-plus", "input", context_tokens=low).price == Decimal("0.8")
    assert one_quote(quotes, "qwen-plus", "output", context_tokens=low, mode="non_thinking").price == Decimal("2")
    assert one_quote(quotes, "qwen-plus", "output", context_tokens=low, mode="thinking").price == Decimal("8")
    assert one_quote(quotes, "qwen3-235b-a22b", "output", mode="thinking").price == Decimal("20")
    # "-": the thinking-only model has no non-thinking output price
    assert [q.conditions for q in quotes if q.model == "qwen3-next-80b-a3b-thinking" and q.dimension == "output"] == [{"mode": "thinking"}]


def test_single_output_column_has_no_mode(quotes):
    # 输出单价 思维链+回答 with 模式 仅思考模式: one price, no mode condition
    assert one_quote(quotes, "deepseek-v4-pro", "output").price == Decimal("24")


def test_omni_modalities(quotes):
    assert one_quote(quotes, "qwen3-omni-flash", "input").price == Decimal("1.8")
    assert one_quote(quotes, "qwen3-omni-flash", "input_audio").price == Decimal("15.8")
    assert one_quote(quotes, "qwen3-omni-flash", "input_image").price == Decimal("3.3")
    assert one_quote(quotes, "qwen3-omni-flash", "output").price == Decimal("6.9")
    assert one_quote(quotes, "qwen3-omni-flash", "output", input_modality="multimodal").price == Decimal("12.7")
    assert one_quote(quotes, "qwen3-omni-flash", "output_audio").price == Decimal("62.6")


def test_free_offline_and_trial_cells(quotes):
    free = one_quote(quotes, "deepseek-r1-distill-qwen-1.5b", "input", promo=True)
    assert free.price == Decimal(0)
    models = {q.model for q in quotes}
    assert "deepseek-r1-distill-llama-8b" not in models  # 已下线
    assert "qwen-audio-turbo" not in models  # 目前仅供免费体验


def test_labelled_prices_in_one_cell(quotes):
    assert one_quote(quotes, "qwen3-vl-rerank", "input").price == Decimal("0.7")
    assert one_quote(quotes, "qwen3-vl-rerank", "input_image").price == Decimal("1.8")


def test_only_mainland_prices(quotes):
    # the 美国（弗吉尼亚） table lists qwen3.7-max-us at 18.736 元
    assert "qwen3.7-max-us" not in {q.model for q in quotes}
    assert not [q for q in quotes if q.list_price == Decimal("18.736")]
    assert {q.currency for q in quotes} == {"CNY"}
    assert not [q for q in quotes if "region" in q.conditions]


def test_region_lasts_over_sibling_headings(quotes):
    # h4 华北2（北京） then h4 千问-TTS: still Beijing; h4 新加坡 tables are character-priced
    assert one_quote(quotes, "qwen-tts-latest", "input").price == Decimal("1.6")


def test_non_token_columns_skipped(quotes):
    assert not [q for q in quotes if q.model.startswith("qwen-image")]  # 元/张
    assert {q.unit for q in quotes} == {"token"}
    assert {q.per for q in quotes} == {1_000_000}


def test_hologres_per_thousand_and_china_site_only(hologres):
    quote = one_quote(hologres, "qwen3.7-max", "input")
    assert (quote.price, quote.per, quote.currency) == (Decimal("0.01440"), 1000, "CNY")
    assert one_quote(hologres, "qwen3.7-plus", "output", context_tokens=tier(256_000, 1_000_000)).price == Decimal("0.02880")
    assert one_quote(hologres, "qwen3-vl-plus", "input", context_tokens=tier(0, 32_000)).price == Decimal("0.00120")
    assert not [q for q in hologres if q.price == Decimal("0.02248")]  # 新加坡


def test_hologres_cache_columns(hologres):
    assert one_quote(hologres, "qwen3.7-max", "cache_write").price == Decimal("0.01800")
    assert one_quote(hologres, "qwen3.7-max", "cached_input", cache_type="explicit").price == Decimal("0.00144")
    assert one_quote(hologres, "qwen3.7-max", "cached_input", cache_type="implicit").price == Decimal("0.00288")


def test_hologres_category_rows(hologres):
    assert one_quote(hologres, "qwen3-vl-embedding", "input").price == Decimal("0.00084")
    assert one_quote(hologres, "qwen3-vl-embedding", "input_image").price == Decimal("0.00216")
    assert "fun-asr" not in {q.model for q in hologres}  # 元/秒


def test_unknown_tier_is_drift():
    rows = "".join(f"<tr><td><p>model-{i}</p></td><td><p>0&lt;Token≤32K</p></td><td><p>{i}元</p></td></tr>" for i in range(3))
    odd = "<tr><td><p>odd-model</p></td><td><p>夜间</p></td><td><p>1元</p></td></tr>"
    html = (
        "<html><body><h4>华北2（北京）</h4><table><tr><td>模型 ID（Model ID）</td><td>单次请求的输入Token数</td>"
        f"<td>输入单价（每百万Token）</td></tr>{rows}{odd}</table></body></html>"
    )
    with pytest.raises(LayoutDrift, match="tier"):
        parse(html)


def test_unknown_price_cell_is_drift():
    rows = "".join(f"<tr><td><p>model-{i}</p></td><td><p>{i}元</p></td></tr>" for i in range(3))
    html = (
        "<html><body><table><tr><td>模型 ID（Model ID）</td><td>输入单价（每百万Token）</td></tr>"
        f"{rows}<tr><td>odd</td><td>面议</td></tr></table></body></html>"
    )
    with pytest.raises(LayoutDrift, match="price cell"):
        parse(html)


def test_json_without_content_is_drift():
    with pytest.raises(LayoutDrift):
        parse(json.dumps({"code": 200, "data": {"docTitle": "模型调用价格"}, "success": True}))


def test_too_few_models_is_drift():
    html = (
        "<html><body><h4>华北2（北京）</h4><table><tr><td>模型 ID（Model ID）</td><td>输入单价（每百万Token）</td></tr>"
        "<tr><td>qwen-max</td><td>2.4元</td></tr></table></body></html>"
    )
    with pytest.raises(LayoutDrift, match="models"):
        parse(html)


def test_challenge_page_is_blocked():
    with pytest.raises(Blocked):
        parse("<html><head><title>验证码拦截</title></head><body><script src='/_____tmd_____/punish?x'></script></body></html>")
