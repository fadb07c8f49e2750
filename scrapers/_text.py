"""Cleaning of scraped cell text: the invisible characters real pages put in cells."""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Superscript digits and signs are footnote marks ("$0.20¹"): NFKC would fold them into the
# price's own digits (0.201), so they become spaces first.
_FOOTNOTE_MARKS = dict.fromkeys(map(ord, "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
                                         "\u207a\u207b\u207c\u207d\u207e"), " ")
_SPACES = re.compile(r"\s+")


def clean(text: str | None) -> str:
    """Drop zero-width spaces and BOMs, blank out footnote superscripts, NFKC-fold, and
    collapse white space."""
    if not text:
        return ""
    text = text.translate(_INVISIBLE).translate(_FOOTNOTE_MARKS)
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip()
