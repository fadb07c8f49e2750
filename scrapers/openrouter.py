"""OpenRouter: the public model list and the per-model endpoint list (JSON APIs).

Reads `https://openrouter.ai/api/v1/models` (`{"data": [model, ...]}`; archived copies
may wrap it as `{source, fetched_at, api_url, model_count, data}`, read the same way)
and, as the second parser `openrouter-endpoints`,
`/api/v1/models/{author}/{slug}/endpoints` (`{"data": {"id", "endpoints": [...]}}`, one
quote set per hosting provider, with `conditions={"provider": provider_name}`).

Prices are per-unit decimal STRINGS (`"0.000003"` = $3 / 1M tokens; the endpoints
schema also allows plain numbers), each a quote with `per=1` as written.  Field
meanings follow OpenRouter's SDK docs: `prompt` -> input, `completion` -> output,
`input_cache_read` -> cached_input, `input_cache_write` -> cache_write (with
`input_cache_write_1h` present they become cache_ttl "5m" / "1h"),
`internal_reasoning`, `audio` -> input_audio, `audio_output` -> output_audio,
`input_audio_cache` -> cached_input_audio, `image_token` -> input_image (all per
token); `image` -> input_image and `image_output` -> output_image per IMAGE;
`request` -> per_request and `web_search` per request.

Traps:
- `"-1"` (any negative) is a sentinel for variable pricing (`openrouter/auto`,
  `openrouter/bodybuilder` route to other models): skipped, never a price.
- `:free` variants are their own model ids (`openai/gpt-oss-20b:free`) priced "0".
- Older responses list every pricing key with "0" (`request`, `image`, `web_search`,
  `internal_reasoning`), newer ones omit them: a zero auxiliary fee is skipped so both
  give the same quotes; a zero `prompt`/`completion` is a real free price and is kept.
- a pricing value that is not a number (`"N/A"`, `""`, `{}`) raises `NonNumericPrice` (the
  run quarantines the observation); only an absent or null key is no price.
- `discount` (endpoints) is a fraction the listed prices are multiplied by (1 - d):
  a discounted quote carries that price, list_price = the listed one and promo.
- `image` is documented "per input image" (2025 values: $0.0048 for Claude Sonnet 4),
  but 2026 lists give it equal to the prompt price for Gemini models (Gemini 2.5 Flash:
  $0.001238 in 2025, $0.0000003 in 2026), i.e. image tokens at the prompt rate.  The API
  gives no unit, so an `image` price equal to the model's `prompt` price is read per
  token and any other per image: read otherwise, that change of meaning is a -99.98%
  "cut" (per token, the diff reports the change of unit instead).
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import LayoutDrift
from scrapers import Page, Quote, register
from scrapers._prices import json_number, json_price

# pricing key -> (dimension, unit); per is always 1 (price per single token/image/request)
_FIELDS: dict[str, tuple[str, str]] = {
    "prompt": ("input", "token"),
    "completion": ("output", "token"),
    "input_cache_read": ("cached_input", "token"),
    "input_cache_write": ("cache_write", "token"),
    "input_cache_write_1h": ("cache_write", "token"),
    "internal_reasoning": ("internal_reasoning", "token"),
    "audio": ("input_audio", "token"),
    "input_audio_cache": ("cached_input_audio", "token"),
    "audio_output": ("output_audio", "token"),
    "image_token": ("input_image", "token"),
    "image": ("input_image", "image"),
    "image_output": ("output_image", "image"),
    "request": ("per_request", "request"),
    "web_search": ("web_search", "request"),
}
_KEEP_ZERO = {"prompt", "completion"}
_MIN_MODELS = 5


def _pricing_quotes(model: str, pricing: Any, conditions: dict[str, Any]) -> list[Quote]:
    if not isinstance(pricing, dict):
        return []
    discount = json_number(pricing.get("discount"))
    discounted = discount is not None and 0 < discount <= 1
    where = "".join(f" ({value})" for value in conditions.values())
    hour_cache = pricing.get("input_cache_write_1h") is not None  # the loop below checks it is a number
    quotes = []
    prompt = None
    for key, (dimension, unit) in _FIELDS.items():
        listed = json_price(pricing.get(key), f"{model}{where} {key}")
        if key == "prompt":
            prompt = listed
        if listed is None or listed < 0:  # absent, or the "-1" variable-price sentinel
            continue
        if listed == 0 and key not in _KEEP_ZERO:
            continue
        if key == "image" and listed == prompt:  # image tokens at the prompt rate (see Traps)
            unit = "token"
        quote_conditions = dict(conditions)
        if key.startswith("input_cache_write") and hour_cache:
            quote_conditions["cache_ttl"] = "1h" if key.endswith("_1h") else "5m"
        if discounted:
            quote_conditions["promo"] = True
            price = listed * (1 - discount)
            quotes.append(Quote(model, dimension, price, "USD", quote_conditions, listed, per=1, unit=unit))
        else:
            quotes.append(Quote(model, dimension, listed, "USD", quote_conditions, per=1, unit=unit))
    return quotes


@register("openrouter", version=2)
def parse(page: Page) -> list[Quote]:
    payload = page.json()
    models = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(models, list):
        raise LayoutDrift("no 'data' list of models in the OpenRouter response")
    quotes: list[Quote] = []
    priced = 0
    for entry in models:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        found = _pricing_quotes(entry["id"].strip(), entry.get("pricing"), {})
        priced += bool(found)
        quotes.extend(found)
    if priced < _MIN_MODELS:
        raise LayoutDrift(f"only {priced} OpenRouter models with a 'pricing' object (expected >= {_MIN_MODELS})")
    return quotes


@register("openrouter-endpoints", version=2)
def parse_endpoints(page: Page) -> list[Quote]:
    payload = page.json()
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise LayoutDrift("no 'data' object with a model 'id' in the OpenRouter endpoints response")
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        raise LayoutDrift(f"no 'endpoints' list for {data['id']}")
    model = data["id"].strip()
    names = [e.get("provider_name") for e in endpoints if isinstance(e, dict)]
    quotes: list[Quote] = []
    for endpoint in endpoints:
        if not isinstance(endpoint, dict) or not isinstance(endpoint.get("provider_name"), str):
            continue
        provider = endpoint["provider_name"]
        conditions: dict[str, Any] = {"provider": provider}
        if names.count(provider) > 1 and endpoint.get("tag"):
            # one provider serving several variants (e.g. two quantizations): keep them apart
            conditions["endpoint"] = str(endpoint["tag"])
        quotes.extend(_pricing_quotes(model, endpoint.get("pricing"), conditions))
    if not quotes:
        raise LayoutDrift(f"no endpoint of {model} has a 'pricing' object with prices")
    return quotes
