"""Token counts in tier labels: `32K`, `512k`, `1M`, `256万`, and bounds written in thousands.

Pages price long prompts apart (`0<Token≤32K`, `输入长度（0, 512k]`, `上下文 ≤ 512K`,
`输入长度 [0, 32)` in thousands); the conditions record those bounds in tokens.
"""

from __future__ import annotations

from scrapers._prices import to_decimal

# A bound with its optional scale suffix: `32K`, `0.5 M`, `256万`, `128`.
BOUND = r"(\d+(?:\.\d+)?)\s*([KkMm万]?)"
_SCALE = {"k": 1000, "m": 1_000_000, "万": 10_000}


def tokens(number: str, suffix: str = "") -> int:
    """A tier bound in tokens: (`32`, `K`) -> 32000, (`0.2`, `k`) -> 200, (`512`, ``) -> 512."""
    return int(to_decimal(number) * _SCALE.get(suffix.lower(), 1))
