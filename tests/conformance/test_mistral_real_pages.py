"""The mistral parser on every real page in ../shared/vendor-pages/mistral."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.errors import LayoutDrift
from tests.conftest import assert_pages_covered, one_quote, parse_page, vendor_page

PRICING_HTML = "mistral/2026-05-08_mistral_ai_pricing.html"
TEXT_DUMP = "mistral/2024-04-01_mistral_pricing_text.js"
DOCS = "mistral/docs_source/"
# A docs.mistral.ai model-card data file (TypeScript object for one model, docs.mistral.ai/models),
# not the pricing page of this source nor an older layout of it.
NOT_A_PRICE_PAGE = {"mistral/docs_source/2026-08-21_model_schema_codestral-25-08.ts"}


# (page, minimum quotes, [(model, dimension, currency, price[, the model a moving alias serves])])
CASES = [
    (
        PRICING_HTML,
        100,
        [
            ("mistral-medium-latest", "input", "USD", "1.5", "Mistral Medium 3.5"),
            ("mistral-medium-latest", "input", "EUR", "1.25", "Mistral Medium 3.5"),
            ("mistral-large-latest", "output", "USD", "1.5", "Mistral Large 3"),
            ("mistral-small-latest", "input", "EUR", "0.1275", "Mistral Small 4"),
            ("codestral-latest", "output", "USD", "0.9"),
            ("mistral-embed", "input", "EUR", "0.09"),
            ("open-mixtral-8x22b", "output", "EUR", "5.6"),
        ],
    ),
    (
        TEXT_DUMP,
        22,
        [
            ("open-mistral-7b", "input", "USD", "0.25"),
            ("mistral-small-latest", "output", "EUR", "5.55"),
            ("mistral-large-latest", "input", "EUR", "7.3"),
        ],
    ),
    (
        DOCS + "2024-01-03_docs_mistral_ai_platform_pricing.md",
        7,
        [
            ("mistral-tiny", "input", "EUR", "0.14"),
            ("mistral-small", "output", "EUR", "1.8"),
            ("mistral-medium", "output", "EUR", "7.5"),
        ],
    ),
    (
        DOCS + "2024-02-23_docs_mistral_ai_platform_pricing.md",
        11,
        [
            ("mistral-large-latest", "output", "EUR", "24"),
            ("mistral-small-latest", "input", "EUR", "2"),
            ("open-mixtral-8x7b", "input", "EUR", "0.7"),
        ],
    ),
    (
        DOCS + "2024-02-23b_docs_mistral_ai_platform_pricing_add_usd.md",
        21,
        [
            ("mistral-large-latest", "output", "USD", "24"),
            ("mistral-large-latest", "output", "EUR", "22"),
            ("mistral-medium-latest", "input", "USD", "2.7"),
            ("mistral-embed", "input", "EUR", "0.1"),
        ],
    ),
    (
        DOCS + "2024-02-26_docs_mistral_ai_platform_pricing.md",
        22,
        [
            ("mistral-embed", "input", "USD", "0.1"),
            ("mistral-small-latest", "output", "USD", "6"),
            ("open-mistral-7b", "output", "EUR", "0.2"),
        ],
    ),
    (
        DOCS + "2024-03-07_docs_mistral_ai_platform_pricing.md",
        22,
        [
            ("mistral-medium-latest", "output", "USD", "8.1"),
            ("mistral-medium-latest", "output", "EUR", "7.5"),
            ("open-mixtral-8x7b", "output", "EUR", "0.65"),
        ],
    ),
]


def test_every_real_page_is_covered():
    assert_pages_covered("mistral", {case[0] for case in CASES} | NOT_A_PRICE_PAGE)


@pytest.mark.parametrize("relative, minimum, expected", CASES, ids=[c[0].rsplit("/", 1)[-1] for c in CASES])
def test_real_page(relative, minimum, expected):
    quotes = parse_page("mistral", vendor_page(relative))
    assert len(quotes) >= minimum
    for model, dimension, currency, amount, *serves in expected:
        named = {"serves": serves[0]} if serves else {}
        assert one_quote(quotes, model, dimension, currency=currency, **named).price == Decimal(amount)
    assert {q.currency for q in quotes} <= {"USD", "EUR"}


def test_model_card_source_is_not_a_price_page():
    (relative,) = NOT_A_PRICE_PAGE
    with pytest.raises(LayoutDrift):
        parse_page("mistral", vendor_page(relative))
