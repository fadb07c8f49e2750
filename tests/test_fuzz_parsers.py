"""Fuzzing every registered parser: whatever the bytes, quotes or a typed error, never a crash.

Scraped pages are untrusted input.  For each parser in `scrapers.all_parsers()`, hypothesis
feeds the parser's own fixtures with slices cut out, repeated or overwritten by tokens that
matter to parsers (table tags, currency marks, JSON punctuation, huge exponents), plus
random bytes, random JSON and random price-table HTML.  A parser must return `Quote`s or
raise a `PricewatchError`; anything else is a parser bug (pipeline.run.parse_pages would
turn it into a ParseError at run time, which is why this test calls parsers directly).

Examples per parser and strategy: PRICEWATCH_FUZZ_EXAMPLES (default 25, derandomized so CI
is deterministic; raise it for a deeper local hunt).
"""

from __future__ import annotations

import json
import mimetypes
import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import PricewatchError
from scrapers import Page, Quote, all_parsers
from scrapers._prices import find_price, parse_price
from tests.conftest import FIXTURES

EXAMPLES = int(os.environ.get("PRICEWATCH_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PARSERS = sorted(all_parsers())
# Parsers whose fixtures live under another folder name.
FIXTURE_FOLDER = {"openrouter-endpoints": "openrouter", "alibaba-hologres": "alibaba"}
TOKENS = [b"<table>", b"</table>", b"<tr>", b"</tr>", b"<td>", b"</td>", b"<th>", b'colspan="0"', b'rowspan="999"',
          b"|", b"\n| --- |", "元".encode(), "百万tokens".encode(), "千tokens".encode(), b"$", b"\xe2\x82\xac", b"-",
          b"1e999", b"NaN", b"Infinity", b"-0", b"0", b"9" * 400, b"null", b"{", b"}", b"[", b"]", b'"', b":", b",",
          b"\x00", b"\xff\xfe", b"<!--", b"<script>", b"&amp;", b"\\u0000"]


def fixtures_of(parser: str) -> list[Path]:
    folder = FIXTURES / FIXTURE_FOLDER.get(parser, parser)
    return sorted(p for p in folder.iterdir() if p.is_file())


def content_type(path: Path) -> str:
    return {".json": "application/json", ".md": "text/markdown", ".html": "text/html"}.get(
        path.suffix, mimetypes.guess_type(path.name)[0] or "text/plain")


def check(parser: str, content: bytes, kind: str | None) -> None:
    """The property: quotes with Decimal prices, or a typed error."""
    try:
        quotes = all_parsers()[parser].parse(Page(content, "https://vendor.example/pricing", kind))
    except PricewatchError:
        return
    assert isinstance(quotes, list)
    for quote in quotes:
        assert isinstance(quote, Quote) and isinstance(quote.price, Decimal), quote


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """`base` with a few slices removed, repeated or overwritten by a token."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        size = len(data)
        start = draw(st.integers(0, size))
        end = draw(st.integers(start, min(size, start + draw(st.sampled_from([1, 8, 64, 512, 4096])))))
        action = draw(st.sampled_from(["remove", "duplicate", "token", "bytes"]))
        if action == "remove":
            del data[start:end]
        elif action == "duplicate":
            data[end:end] = data[start:end] * draw(st.integers(1, 3))
        elif action == "token":
            data[start:end] = draw(st.sampled_from(TOKENS))
        else:
            data[start:end] = draw(st.binary(max_size=16))
    return bytes(data)


def test_every_parser_has_fixtures_to_mutate():
    assert PARSERS and all(fixtures_of(name) for name in PARSERS)


@pytest.mark.parametrize("parser", PARSERS)
def test_mutated_fixtures(parser):
    paths = fixtures_of(parser)

    @FUZZ
    @given(st.data())
    def run(data):
        path = data.draw(st.sampled_from(paths))
        check(parser, data.draw(mutated(path.read_bytes())), content_type(path))

    run()


@pytest.mark.parametrize("parser", PARSERS)
def test_random_bytes(parser):
    @FUZZ
    @given(st.binary(max_size=2000), st.sampled_from([None, "text/html", "application/json", "text/plain"]))
    def run(content, kind):
        check(parser, content, kind)

    run()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["$1.5", "0.02元", "-1", "1e999", "input", "output", "pricing", "chat"]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["data", "models", "id", "pricing", "prompt", "completion", "input_cost_per_token",
                         "output_cost_per_token", "mode", "price", "name", "endpoints", "input", "output"])
        | st.text(max_size=12), children, max_size=6),
    max_leaves=30)


@pytest.mark.parametrize("parser", PARSERS)
def test_random_json(parser):
    @FUZZ
    @given(JSON_VALUES)
    def run(value):
        check(parser, json.dumps(value).encode(), "application/json")

    run()


CELL = st.sampled_from(["Model", "模型", "Input", "Output", "输入", "输出", "百万tokens输入", "$2.50", "0.02元", "免费",
                        "-", "", "1M tokens", "per 1K tokens", "deepseek-chat", "gpt-4o", "Price", "价格", "限时免费"])


@st.composite
def price_table(draw) -> bytes:
    """An HTML table of price-like cells, with odd spans: what every HTML parser looks for."""
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        cells = []
        for _ in range(draw(st.integers(0, 5))):
            span = draw(st.sampled_from(["", ' colspan="2"', ' rowspan="3"', ' colspan="0"']))
            cells.append(f"<td{span}>{draw(CELL)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    heading = draw(st.sampled_from(["", "<h2>Pricing</h2>", "<h1>模型 & 价格</h1>", "# Pricing\n"]))
    return f"<html><body>{heading}<table>{''.join(rows)}</table></body></html>".encode()


@pytest.mark.parametrize("parser", PARSERS)
def test_random_price_tables(parser):
    @FUZZ
    @given(price_table())
    def run(content):
        check(parser, content, "text/html")

    run()


@FUZZ
@given(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False),
       st.sampled_from([("${}", "USD"), ("{}元", "CNY"), ("{}€", "EUR"), ("¥{}", "CNY"), ("US${} / 1M tokens", "USD")]))
def test_a_written_price_reads_back_exactly(amount, form):
    pattern, currency = form
    price = find_price(pattern.format(amount))
    assert price is not None and price.amount == amount and price.currency == currency


@FUZZ
@given(st.lists(st.sampled_from([*"0123456789.,-$€¥元eE+ kKmM/千万百", "tokens", "NaN", "Infinity"]), max_size=30)
       .map("".join))
def test_price_like_text_gives_a_finite_price_or_a_typed_error(text):
    try:
        price = parse_price(text)
    except PricewatchError:
        return
    assert price.amount.is_finite()
