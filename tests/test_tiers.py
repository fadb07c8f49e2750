"""scrapers._tiers: tier bounds in tokens."""

import re

import pytest

from scrapers._tiers import BOUND, tokens


@pytest.mark.parametrize("text, expected", [
    ("32K", 32_000),
    ("0.2k", 200),
    ("1 M", 1_000_000),
    ("256万", 2_560_000),
    ("512", 512),
])
def test_bound_in_tokens(text, expected):
    assert tokens(*re.fullmatch(BOUND, text).groups()) == expected
