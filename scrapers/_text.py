"""Cleaning of scraped cell text: the invisible characters real pages put in cells."""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"\s+")


def clean(text: str | None) -> str:
    """NFKC-fold, drop zero-width spaces and BOMs, and collapse white space."""
    if not text:
        return ""
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip()
