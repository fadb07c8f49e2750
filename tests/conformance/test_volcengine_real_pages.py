"""The volcengine parser on every real Volcengine page in ../shared/vendor-pages/volcengine_doubao."""

from __future__ import annotations

import importlib
import json
import re
from decimal import Decimal

import pytest

from scrapers import Page, all_parsers, get_parser
from tests.conftest import vendor_page, vendor_pages

FOLDER = "volcengine_doubao"
ARK_PAGE = f"{FOLDER}/2026-07-17_volcengine_docs_82379_1544106_model_pricing.html"
# BytePlus ModelArk (international, USD) lives in the same folder; it is the byteplus
# parser's page (tests/conformance/test_byteplus_real_pages.py), not this source's.
OTHER_SOURCES = {f"{FOLDER}/2026-08-18_byteplus_modelark_pricing_excerpt.html"}

T0_32 = {"min": 0, "max": 32_000}
T32_128 = {"min": 32_000, "max": 128_000}
T128_256 = {"min": 128_000, "max": 256_000}

# (page, minimum quotes, [(model, dimension, conditions, price)])
CASES = [
    (
        ARK_PAGE,
        480,
        [
            ("doubao-seed-2.0-pro", "input", {"context_tokens": T32_128}, "4.8"),
            ("deepseek-v4-pro", "output", {}, "24.00"),
            ("glm-5.2", "cached_input", {}, "2.00"),
            ("doubao-seed-1.6-flash", "input", {"batch": True, "context_tokens": T0_32}, "0.075"),
            ("doubao-seed-2.0-lite", "output", {"tier": "low_latency", "context_tokens": T128_256}, "21.6"),
            ("doubao-seed-2.0-lite", "input", {"batch": True, "fine_tuned": True, "context_tokens": T0_32}, "1.20"),
            ("doubao-seed-1.8", "output", {"context_tokens": T0_32, "output_tokens": {"min": 200, "max": None}}, "8.00"),
            ("doubao-embedding-vision", "input_image", {}, "1.80"),
            ("doubao-seed-2.1-pro", "cache_storage", {"context_tokens": {"min": 0, "max": 256_000}}, "0.017"),
        ],
    ),
]


def parser():
    # get_parser() loads every parser module only while nothing is registered; a test module
    # elsewhere that imports one parser module directly leaves the registry partly filled.
    all_parsers()
    importlib.import_module("scrapers.volcengine")
    return get_parser("volcengine")


def _router_markdown(html: str) -> str:
    """The MDContent markdown inside `window._ROUTER_DATA` (test-side, so no parser module is imported directly)."""
    payload = json.loads(re.search(r"window\._ROUTER_DATA\s*=\s*(\{.*?\})\s*</script>", html, re.S).group(1))

    def walk(obj):
        if isinstance(obj, dict):
            if isinstance(obj.get("MDContent"), str):
                return obj["MDContent"]
            obj = list(obj.values())
        if isinstance(obj, list):
            for item in obj:
                found = walk(item)
                if found:
                    return found
        return None

    return walk(payload)


def parse(relative: str):
    return parser().parse(Page(vendor_page(relative).read_bytes(), url=""))


def find(quotes, model, dimension, conditions):
    hits = [q for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions]
    assert len(hits) == 1, (model, dimension, conditions, hits)
    return hits[0]


def test_every_page_is_covered():
    covered = {case[0] for case in CASES} | OTHER_SOURCES
    for path in vendor_pages(FOLDER):
        assert f"{FOLDER}/{path.name}" in covered, f"new real page without a conformance case: {path.name}"


@pytest.mark.parametrize("relative, minimum, expected", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_real_page(relative, minimum, expected):
    quotes = parse(relative)
    assert len(quotes) >= minimum
    for model, dimension, conditions, price in expected:
        quote = find(quotes, model, dimension, conditions)
        assert quote.price == Decimal(price)
        assert (quote.currency, quote.per, quote.unit) == ("CNY", 1_000_000, "token")
    keys = [(q.model, q.dimension, json.dumps(q.conditions, sort_keys=True)) for q in quotes]
    assert len(keys) == len(set(keys)), "two prices for the same model, dimension and conditions"


def test_router_markdown_gives_the_same_quotes():
    raw = vendor_page(ARK_PAGE).read_bytes()
    from_dom = parser().parse(Page(raw))
    markdown = _router_markdown(raw.decode("utf-8"))
    from_markdown = parser().parse(Page(markdown.encode()))
    key = lambda q: (q.model, q.dimension, q.price, json.dumps(q.conditions, sort_keys=True))  # noqa: E731
    assert sorted(map(key, from_dom)) == sorted(map(key, from_markdown))
