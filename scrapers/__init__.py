"""Vendor parsers, registered by name.

A parser is a pure function `parse(page) -> list[Quote]` that raises a `ParseError`
(usually `LayoutDrift`) when the page does not hold what it expects.  Each vendor
lives in its own module here; `@register("name", version=N)` makes it known.  Adding
a vendor means adding one module and one entry in `config/sources.toml`.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from pipeline.errors import ConfigError, LayoutDrift
from scrapers._table import cell_count
from scrapers._walls import raise_if_walled

TOKENS_PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Page:
    """Raw bytes of a fetched or saved page, with what we know of where it came from."""

    content: bytes
    url: str = ""
    content_type: str | None = None

    def text(self) -> str:
        """The decoded page, decoded once (the bot-wall check and the parser both read it)."""
        return self._decoded

    @functools.cached_property
    def _decoded(self) -> str:
        return decode_body(self.content, self.content_type)

    def json(self) -> Any:
        try:
            return json.loads(self.text())
        except ValueError as exc:
            raise LayoutDrift(f"expected JSON, got something else ({exc.__class__.__name__})") from None

    def html(self):
        return parse_html(self.text())


# The HTML parser takes time quadratic in how deep block elements nest (40,000 nested <div>s: 1.4 s,
# 80,000: 6 s), so a page nested deeper than any real one is refused before it is parsed.
MAX_HTML_NESTING = 5_000
# Elements that stay open until their end tag (HTML closes no <div> for you, as it does a <p> or <td>).
_BLOCK_TAG = re.compile(r"<(/?)(?:div|section|article|aside|nav|header|footer|main|blockquote|ul|ol|dl|table|form"
                        r"|fieldset|figure|details)[\s>/]", re.IGNORECASE)


def parse_html(text: str):
    """The HTML document tree of `text`, refused (LayoutDrift) when nested deeper than any real page."""
    from selectolax.lexbor import LexborHTMLParser

    depth = _nesting(text)
    if depth > MAX_HTML_NESTING:
        raise LayoutDrift(f"elements nested {depth:,} deep: no price page is (the deepest real one: under 200)")
    return LexborHTMLParser(text)


def _nesting(text: str) -> int:
    """How deep the page's block elements nest at most (a linear scan of their tags)."""
    depth = deepest = 0
    for closing in _BLOCK_TAG.findall(text):
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


@dataclass(frozen=True)
class Quote:
    """One published price, as the page states it.

    `price` is per `per` units of `unit` (a page saying 元/千Token gives per=1000).
    The normalise stage scales token prices to per 1M and converts currencies.
    """

    model: str
    dimension: str
    price: Decimal
    currency: str
    conditions: dict[str, Any] = field(default_factory=dict)
    list_price: Decimal | None = None
    per: int = TOKENS_PER_MILLION
    unit: str = "token"


@dataclass(frozen=True)
class Parser:
    name: str
    version: int
    parse: Callable[[Page], list[Quote]]
    doc: str


_REGISTRY: dict[str, Parser] = {}
_LOADED = False


def register(name: str, *, version: int) -> Callable[[Callable[[Page], list[Quote]]], Callable[[Page], list[Quote]]]:
    """Register a parser under `name`; raise `version` whenever its output for the same bytes changes."""

    def wrap(func: Callable[[Page], list[Quote]]) -> Callable[[Page], list[Quote]]:
        @functools.wraps(func)
        def parse(page: Page) -> list[Quote]:
            # A challenge page is a `Blocked` failure for every parser, never zero quotes.
            raise_if_walled(page.text(), f"the {name} price list")
            with cell_count():  # the page's tables, all together, expand to a bounded grid
                return func(page)

        if name in _REGISTRY and _REGISTRY[name].parse.__wrapped__ is not func:
            raise RuntimeError(f"parser {name!r} registered twice")
        module_doc = importlib.import_module(func.__module__).__doc__ or ""
        _REGISTRY[name] = Parser(name=name, version=version, parse=parse, doc=module_doc.strip())
        return parse

    return wrap


def _load_all() -> None:
    """Import every vendor module once, whatever was imported before (tests import single ones)."""
    global _LOADED
    if _LOADED:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    _LOADED = True


def get_parser(name: str) -> Parser:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown parser {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def all_parsers() -> dict[str, Parser]:
    _load_all()
    return dict(_REGISTRY)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", re.I)


def decode_body(content: bytes, content_type: str | None = None) -> str:
    """Decode a page, trusting valid UTF-8 over a declared charset that would garble it.

    Servers often declare ISO-8859-1 for pages that are really UTF-8; Chinese prices would
    then turn into mojibake.  A body that decodes as strict UTF-8 is UTF-8.
    """
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="replace")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 byte-order mark
        return content.decode("utf-16", errors="replace")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = None
    if content_type and "charset=" in content_type.lower():
        declared = content_type.lower().split("charset=")[1].split(";")[0].strip().strip("\"'")
    if not declared:
        match = _META_CHARSET.search(content[:4096])
        declared = match.group(1).decode("ascii") if match else None
    for encoding in filter(None, (declared, "gb18030")):
        try:
            return content.decode(encoding)
        except (UnicodeError, LookupError):  # the "undefined" codec raises UnicodeError on anything
            continue
    return content.decode("utf-8", errors="replace")
