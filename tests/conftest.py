"""Shared fixtures: the real vendor pages (skipped when absent) and parser helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENDOR_PAGES = Path(os.environ.get("PRICEWATCH_VENDOR_PAGES", REPO.parent / "shared" / "vendor-pages"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def vendor_page(relative: str) -> Path:
    """A real page under ../shared/vendor-pages, or a clean skip when the folder is absent."""
    path = VENDOR_PAGES / relative
    if not path.exists():
        pytest.skip(f"real vendor page not available: {relative}")
    return path


def vendor_pages(folder: str, pattern: str = "*") -> list[Path]:
    """Every real page of a vendor folder matching `pattern` (empty list when absent)."""
    base = VENDOR_PAGES / folder
    return sorted(p for p in base.glob(pattern) if p.name != "PROVENANCE.md") if base.exists() else []
