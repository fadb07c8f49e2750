"""Bot walls: a challenge or interstitial page served instead of the price list.

One detector for the fetcher, the pipeline and every parser, so that a wall is always a
`Blocked` failure and never zero quotes or "models removed".  Only markers of the wall
itself count: normal pages also load `/cdn-cgi/challenge-platform/scripts/...`, so that
path alone is not a wall.
"""

from __future__ import annotations

import re

from pipeline.errors import Blocked

# Lower case, matched against the lower-cased page: much faster than re.I over every page.
_MARKERS = re.compile(
    r"_cf_chl_opt|cf_chl_opt|/chl_page/|cf-chl-widget|cf-browser-verification"
    r"|<title>\s*just a moment|^title:\s*just a moment"
    r"|attention required! \| cloudflare|enable javascript and cookies to continue|verifying you are human"
    r"|captcha-delivery\.com|_incapsula_resource|_____tmd_____"
    r"|<title>\s*(?:验证码|安全验证|access denied)",
    re.M,
)
WALL_HEAD = 100_000  # how much of a page's start is searched: a wall says so at once


def wall_in(text: str) -> str | None:
    """The marker of a bot wall found near the start of `text` (in lower case), or None."""
    match = _MARKERS.search(text[:WALL_HEAD].lower())
    return match.group(0).strip() if match else None


def raise_if_walled(text: str, what: str) -> None:
    marker = wall_in(text)
    if marker:
        raise Blocked(f"bot wall ({marker!r}) instead of {what}")
