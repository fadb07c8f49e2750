"""LiteLLM's model_prices_and_context_window.json (BerriAI/litellm, raw GitHub).

One JSON object keyed by model id (`gpt-4o`, `openai/gpt-4o`, `bedrock/...`: every key is
its own model id, so the same model under two keys gives two quote sets); prices are
per-token FLOATS (`3e-06` = $3 / 1M).  Each becomes a quote with `per=1`, built with
`Decimal(repr(x))` so 3e-06 is exactly 0.000003.

Kept: entries whose `mode` is chat, completion or responses, and entries without a
`mode` that carry a non-zero token price (old copies, size-bucket entries such as
`together-ai-up-to-3b`).  Skipped: `sample_spec` (the schema doc), embeddings, image,
audio, rerank and other modes, and non-dict values such as the scraper's `last_updated`.

Key grammar: `<base>[_above_1hr][_above_<N>k_tokens][_batches|_priority|_flex]`.
`input_cost_per_token` -> input, `output_cost_per_token` -> output,
`cache_read_input_token_cost` (or `input_cost_per_token_cache_hit`) -> cached_input,
`cache_creation_input_token_cost` -> cache_write, audio/image/reasoning/video token and
per-image/per-request/per-second/per-character variants -> their own dimension and unit.
`_above_200k_tokens` -> conditions context_tokens {"min": 200000, "max": next tier or
None}; `_batches` -> batch; `_priority`/`_flex` -> tier; `_above_1hr` -> cache_ttl "1h"
(the plain cache write of such an entry is then cache_ttl "5m").

Traps:
- zeros: `input`/`output` 0 is a free price and kept; a 0 for an auxiliary fee (cache
  write on DeepSeek, image on many entries) means "not charged" and is skipped.
- `search_context_cost_per_query` is a dict by search-context size (no condition key
  for that yet) and `*_dbu_cost_per_token` are Databricks units, not USD: skipped.
- keys this parser does not know (new LiteLLM fields) are ignored, never guessed.
- a known price key whose value is not a number (`"N/A"`, `{}`) raises `NonNumericPrice`
  (the run quarantines the observation): skipping it would report the model withdrawn.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._prices import json_price

_MODES = {"chat", "completion", "responses"}
_SKIP_KEYS = {"sample_spec"}
_MIN_MODELS = 5

# base key -> (dimension, unit)
_BASES: dict[str, tuple[str, str]] = {
    "input_cost_per_token": ("input", "token"),
    "output_cost_per_token": ("output", "token"),
    "cache_read_input_token_cost": ("cached_input", "token"),
    "input_cost_per_token_cache_hit": ("cached_input", "token"),
    "cache_creation_input_token_cost": ("cache_write", "token"),
    "input_cost_per_audio_token": ("input_audio", "token"),
    "output_cost_per_audio_token": ("output_audio", "token"),
    "cache_read_input_audio_token_cost": ("cached_input_audio", "token"),
    "cache_creation_input_audio_token_cost": ("cache_write_audio", "token"),
    "output_cost_per_reasoning_token": ("output_reasoning", "token"),
    "input_cost_per_image_token": ("input_image", "token"),
    "output_cost_per_image_token": ("output_image", "token"),
    "output_cost_per_video_token": ("output_video", "token"),
    "citation_cost_per_token": ("citation", "token"),
    "input_cost_per_image": ("input_image", "image"),
    "output_cost_per_image": ("output_image", "image"),
    "input_cost_per_request": ("per_request", "request"),
    "input_cost_per_second": ("input", "second"),
    "output_cost_per_second": ("output", "second"),
    "input_cost_per_audio_per_second": ("input_audio", "second"),
    "input_cost_per_video_per_second": ("input_video", "second"),
    "input_cost_per_character": ("input", "character"),
    "output_cost_per_character": ("output", "character"),
    "code_interpreter_cost_per_session": ("code_interpreter", "session"),
}
_KEEP_ZERO = {"input_cost_per_token", "output_cost_per_token"}
_SERVICE = {"_batches": {"batch": True}, "_priority": {"tier": "priority"}, "_flex": {"tier": "flex"}}
_CONTEXT_TIER = re.compile(r"_above_(\d+)k_tokens$")
_HOUR_TTL = "_above_1hr"


def _split_key(key: str) -> tuple[str, dict[str, Any], int | None, bool] | None:
    """`cache_read_input_token_cost_above_272k_tokens_priority` -> base, service, 272, ttl_1h."""
    service: dict[str, Any] = {}
    for suffix, conditions in _SERVICE.items():
        if key.endswith(suffix):
            key, service = key[: -len(suffix)], conditions
            break
    threshold = None
    tier = _CONTEXT_TIER.search(key)
    if tier:
        threshold = int(tier.group(1)) * 1000
        key = key[: tier.start()]
    hour = key.endswith(_HOUR_TTL)
    if hour:
        key = key[: -len(_HOUR_TTL)]
    if key not in _BASES:
        return None
    return key, service, threshold, hour


def _entry_quotes(model: str, entry: dict[str, Any]) -> list[Quote]:
    parsed = []
    for key, value in entry.items():
        split = _split_key(key)
        if split is None:
            continue
        price = json_price(value, f"{model} {key}")
        if price is None or price < 0:
            continue
        base = split[0]
        if price == 0 and not (base in _KEEP_ZERO and split[2] is None and not split[1]):
            continue
        if base == "input_cost_per_token_cache_hit" and "cache_read_input_token_cost" in entry:
            continue  # the same price under LiteLLM's older name
        parsed.append((split, price))
    thresholds = sorted({split[2] for split, _ in parsed if split[2] is not None})
    has_hour_ttl = any(split[3] for split, _ in parsed)
    quotes = []
    seen = set()
    for (base, service, threshold, hour), price in parsed:
        dimension, unit = _BASES[base]
        conditions: dict[str, Any] = dict(service)
        if threshold is not None:
            later = [t for t in thresholds if t > threshold]
            conditions["context_tokens"] = {"min": threshold, "max": later[0] if later else None}
        if dimension == "cache_write" and (hour or has_hour_ttl):
            conditions["cache_ttl"] = "1h" if hour else "5m"
        identity = (dimension, unit, repr(sorted(conditions.items())))
        if identity in seen:
            continue
        seen.add(identity)
        quotes.append(Quote(model, dimension, price, "USD", conditions, per=1, unit=unit))
    return quotes


def _wanted(model: str, entry: dict[str, Any]) -> bool:
    mode = entry.get("mode")
    if isinstance(mode, str) and mode in _MODES:
        return True
    if mode is None:
        return any(
            (json_price(entry.get(key), f"{model} {key}") or 0) > 0
            for key in ("input_cost_per_token", "output_cost_per_token")
        )
    return False


@register("litellm", version=1)
def parse(page: Page) -> list[Quote]:
    payload = page.json()
    if not isinstance(payload, dict):
        raise LayoutDrift("expected a JSON object keyed by model id")
    quotes: list[Quote] = []
    priced = 0
    for model, entry in payload.items():
        if model in _SKIP_KEYS or not isinstance(entry, dict) or not _wanted(model, entry):
            continue
        found = _entry_quotes(model.strip(), entry)
        priced += bool(found)
        quotes.extend(found)
    if priced < _MIN_MODELS:
        raise LayoutDrift(
            f"only {priced} chat/completion entries with 'input_cost_per_token' prices (expected >= {_MIN_MODELS})"
        )
    return quotes
