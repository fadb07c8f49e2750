"""scrapers.decode_body: the page's text whatever charset it came in, and whatever it claims.

Chinese vendors' pages reach us as UTF-8 declared Latin-1, as GBK declared UTF-8 or declared
only in a <meta>, with byte-order marks: each must read as the same prices as the clean page."""

from __future__ import annotations

import pytest

from scrapers import Page, decode_body, get_parser
from tests.conftest import FIXTURES

ZH = (FIXTURES / "deepseek" / "zh_flat.html").read_text(encoding="utf-8")
NO_META = ZH.replace('<meta charset="UTF-8">', "")


def prices(content: bytes, content_type: str | None) -> list:
    return sorted((q.model, q.dimension, q.price) for q in get_parser("deepseek").parse(
        Page(content, "https://api-docs.deepseek.com/zh-cn/quick_start/pricing", content_type)))


CLEAN = prices(ZH.encode("utf-8"), "text/html; charset=utf-8")


@pytest.mark.parametrize("content, content_type", [
    (NO_META.encode("utf-8"), "text/html; charset=iso-8859-1"),  # UTF-8 declared Latin-1
    (NO_META.encode("gbk"), "text/html; charset=utf-8"),  # GBK declared UTF-8
    (ZH.replace('<meta charset="UTF-8">', '<meta charset="gbk">').encode("gbk"), "text/html"),  # <meta> only
    (NO_META.encode("gb18030"), None),  # nothing declared
    (b"\xef\xbb\xbf" + NO_META.encode("utf-8"), "text/html; charset=iso-8859-1"),  # UTF-8 with its BOM
    (NO_META.encode("utf-16"), "text/html"),  # UTF-16 with its BOM
], ids=["utf8-declared-latin1", "gbk-declared-utf8", "gbk-meta-only", "gb18030-undeclared", "utf8-bom", "utf16-bom"])
def test_every_encoding_of_the_page_reads_as_the_same_prices(content, content_type):
    assert CLEAN and prices(content, content_type) == CLEAN


def test_a_declared_single_byte_charset_is_used_when_the_page_is_not_utf8():
    assert decode_body("Mistral Large: 1,80 €".encode("cp1252"), "text/html; charset=windows-1252") == (
        "Mistral Large: 1,80 €")
