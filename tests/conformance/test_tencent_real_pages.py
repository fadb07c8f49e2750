"""The tencent parser on every real page in ../shared/vendor-pages/tencent_hunyuan."""

from __future__ import annotations

import importlib
import json
from decimal import Decimal

import pytest

from scrapers import Page, all_parsers, get_parser
from tests.conftest import vendor_page, vendor_pages

FOLDER = "tencent_hunyuan"
LOW32 = {"min": 0, "max": 32_000}

# (page, minimum quotes, currency, [(model, dimension, conditions, price)])
CASES = [
    (
        f"{FOLDER}/2026-08-10_cloud_tencent_com_document_1823_130055_tokenhub_pricing.html",
        200,
        "CNY",
        [
            ("hy3", "input", {}, "1"),
            ("glm-5.1", "input", {"context_tokens": LOW32}, "6"),
            ("deepseek-v4-flash", "cached_input", {"channel": "vendor_direct"}, "0.02"),
            ("deepseek-v4-flash", "cached_input", {}, "0.2"),
            ("glm-5.2", "input", {"region": "intl"}, "10.254"),
            ("glm-5", "output", {"batch": True, "context_tokens": LOW32}, "9"),
            ("kinfra-vl-embedding-2b", "input_video", {}, "1.5"),
            ("hy-vision-2.0-instruct", "input", {}, "7.5"),
        ],
    ),
    (
        # older international copy of the page (美元/百万 tokens; tabs 新加坡 then 广州)
        f"{FOLDER}/2026-07-17_tencent_model_pricing.html",
        120,
        "USD",
        [
            ("deepseek-v4-pro", "input", {"region": "intl"}, "1.74"),
            ("glm-5.1", "output", {"context_tokens": LOW32}, "3.36"),
            ("minimax-m3", "input", {"region": "intl", "context_tokens": {"min": 512_000, "max": None}}, "0.6"),
            ("kinfra-vl-embedding-8b", "input_image", {}, "0.126"),
        ],
    ),
]


def parser():
    # get_parser() loads every parser module only while nothing is registered; a test module
    # elsewhere that imports one parser module directly leaves the registry partly filled.
    all_parsers()
    importlib.import_module("scrapers.tencent")
    return get_parser("tencent")


def find(quotes, model, dimension, conditions):
    hits = [q for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_every_page_is_covered():
    covered = {case[0] for case in CASES}
    for path in vendor_pages(FOLDER):
        assert f"{FOLDER}/{path.name}" in covered, f"new real page without a conformance case: {path.name}"


@pytest.mark.parametrize("relative, minimum, currency, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, minimum, currency, expected):
    quotes = parser().parse(Page(vendor_page(relative).read_bytes(), url=""))
    assert len(quotes) >= minimum
    assert {q.currency for q in quotes} == {currency}
    for model, dimension, conditions, price in expected:
        assert find(quotes, model, dimension, conditions).price == Decimal(price)
    keys = [(q.model, q.dimension, json.dumps(q.conditions, sort_keys=True)) for q in quotes]
    assert len(keys) == len(set(keys)), "two prices for the same model, dimension and conditions"
