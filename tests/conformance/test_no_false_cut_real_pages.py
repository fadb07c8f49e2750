"""Real pages, changed as vendors plausibly change them, through a live run: a tier bound that
moves, a cache write split by lifetime; and an endpoints list whose host is swapped.  No price moved, so no
cut or raise may be published (the sanity gate compares identical keys only, so it would not
hold them).  Found by an independent review; each failed before pipeline.diff paired
replaced price points one for one and counted hosts and cache lifetimes as services."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from db.models import Event
from pipeline.fetch import Fetched
from pipeline.run import ingest
from tests.conftest import vendor_page

T0 = datetime(2026, 7, 21, tzinfo=timezone.utc)


def run_on(db, config, source_id: str, *pages: bytes) -> list[tuple]:
    """Each page as a live run's, a day apart; the cuts and raises published."""
    source = config.source(source_id)
    url = source.urls[0]
    for day, content in enumerate(pages):
        when = T0 + timedelta(days=day)
        result = ingest(db, config, source, [Fetched(url, url, 200, content, None, when)], when, live=True)
        assert result.status == "ok" and not result.hold, result.line()
    with db.session() as session:
        return [(e.model, e.dimension, e.conditions_key, e.old_price, e.new_price)
                for e in session.scalars(select(Event).where(Event.kind.in_(("cut", "raise"))))]


def test_a_google_tier_bound_moved_at_unchanged_prices_publishes_no_cut(db, config):
    page = vendor_page("google/2026-07-21_ai_google_dev_gemini-api_pricing_jina_markdown.md").read_bytes()
    assert b"$2.00, prompts <= 200k tokens $4.00, prompts > 200k tokens" in page
    assert run_on(db, config, "google", page, page.replace(b"200k", b"256k")) == []


def test_an_openrouter_host_swap_publishes_no_cut(db, config):
    def endpoints(*hosts) -> bytes:
        return json.dumps({"data": {"id": "deepseek/deepseek-r1", "endpoints": [
            {"provider_name": name, "pricing": {"prompt": prompt, "completion": completion}}
            for name, prompt, completion in hosts]}}).encode()

    before = endpoints(("DeepInfra", "0.0000007", "0.0000024"), ("Together", "0.000003", "0.000007"))
    after = endpoints(("DeepInfra", "0.0000007", "0.0000024"), ("Novita", "0.0000007", "0.0000025"))
    assert run_on(db, config, "openrouter-endpoints", before, after) == []


def test_an_openrouter_cache_write_split_by_lifetime_publishes_no_raise(db, config):
    path = vendor_page("openrouter/2026-04-20_openrouter_api_v1_models_wrapped.json")
    data = json.loads(path.read_bytes())
    for model in data["data"]:
        pricing = model.get("pricing") or {}
        if model["id"].startswith("anthropic/") and pricing.get("input_cache_write"):
            pricing["input_cache_write_1h"] = str(Decimal(pricing["prompt"]) * 2)  # as Anthropic charges
    assert run_on(db, config, "openrouter", path.read_bytes(), json.dumps(data).encode()) == []
