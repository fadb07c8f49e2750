"""A constructed price history with known answers, stored through the real archive, store and
diff stages (no parser: the quotes are given), for the query, chart, export and report tests.

Days count from T0 = 2026-03-02 08:00 UTC (`at(day)`).

    acme     (USD, intl)  observed days 0, 10, 20, 30, 40; failing (timeouts) on days 25 and 27
        acme-large  input 2, output 10, batch output 5; output cut to 8 on day 20
        acme-small  input 0.2, output 1
    acme-cn  (CNY, cn)    observed days 0 and 30: acme-large input 10, output 50
    bolt     (USD, intl)  observed days 0, 10, 20, 30, 40: bolt-pro (only context tiers and batch:
                          output 4 up to 128K, 6 above, batch 2; input 1 up to 128K), and
                          bolt-mini (output 0.5), which is no longer listed on day 40
    resell   (USD, intl)  a reseller, day 0 and 40: acme-large output 7
    hub      (USD, aggregator) day 0 and 40: acme/acme-large output 9, quux/quux-1 output 20

Peer group `frontier` on day 40: bolt-pro 4, acme-large 8, quux-1 20 (via the aggregator) ->
cheapest 4, median 8.  ECB rates on 2026-04-10 (in force on day 40): USD 1.1711, CNY 7.9967.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import tomli_w

from db.session import Database
from pipeline.archive import archive
from pipeline.config import Config, load_config
from pipeline.errors import FetchTimeout
from pipeline.evidence import weigh_new_cuts
from pipeline.normalise import normalise
from pipeline.run import record_failure
from pipeline.store import store_observation
from scrapers import Quote

T0 = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)
USD_PER_EUR_DAY40, CNY_PER_EUR_DAY40 = Decimal("1.1711"), Decimal("7.9967")
CONTEXT_LOW = {"context_tokens": {"min": 0, "max": 128000}}
CONTEXT_HIGH = {"context_tokens": {"min": 128000, "max": None}}

SOURCES = [
    {"id": "acme", "vendor": "acme", "currency": "USD", "market": "intl"},
    {"id": "acme-cn", "vendor": "acme", "currency": "CNY", "market": "cn"},
    {"id": "bolt", "vendor": "bolt", "currency": "USD", "market": "intl"},
    {"id": "resell", "vendor": "resell", "currency": "USD", "market": "intl"},
    {"id": "hub", "vendor": "hub", "currency": "USD", "market": "intl", "aggregator": True},
]
MODELS = [
    {"id": "acme-large", "vendor": "acme", "group": "frontier", "aliases": ["acme/acme-large"]},
    {"id": "acme-small", "vendor": "acme", "group": "small"},
    {"id": "bolt-pro", "vendor": "bolt", "group": "frontier"},
    {"id": "quux-1", "vendor": "quux", "group": "frontier", "aliases": ["quux/quux-1"]},
]


def at(day: float) -> datetime:
    return T0 + timedelta(days=day)


def write_config(directory: Path, *, models: list[dict] = MODELS) -> Config:
    directory.mkdir(parents=True, exist_ok=True)
    entries = [{"parser": "litellm", "urls": [f"https://{s['id']}.test/pricing"], "fetch": "direct", **s}
               for s in SOURCES]
    (directory / "sources.toml").write_text(tomli_w.dumps({"source": entries}))
    (directory / "models").mkdir(exist_ok=True)
    (directory / "models" / "test.toml").write_text(tomli_w.dumps({"model": models}))
    return load_config(directory)


def observe(db: Database, config: Config, source_id: str, day: float,
            prices: list[tuple[str, str, dict, str]]) -> None:
    """Store what `source_id` published on `day` ((model, dimension, conditions, price) rows),
    and weigh new cuts, as `pipeline.run.ingest` does after a parse."""
    source = config.source(source_id)
    priced = [normalise(Quote(model, dimension, Decimal(price), source.currency, conditions))
              for model, dimension, conditions, price in prices]
    content = json.dumps(sorted(json.dumps([m, d, c, p], sort_keys=True) for m, d, c, p in prices)).encode()
    with db.transaction() as session:
        snapshot = archive(session, content, url=source.urls[0], content_type="application/json", seen_at=at(day))
        _, events = store_observation(session, config, source, observed_at=at(day), snapshots=[snapshot],
                                      parser="test", parser_version=1, priced=priced)
        session.flush()
        weigh_new_cuts(session, config, [e.id for e in events])


def fail(db: Database, config: Config, source_id: str, day: float) -> None:
    record_failure(db, config.source(source_id), FetchTimeout("no answer in 2s"), [], at=at(day))


def build(db: Database, config: Config) -> None:
    acme_before = [("acme-large", "input", {}, "2"), ("acme-large", "output", {}, "10"),
                   ("acme-large", "output", {"batch": True}, "5"),
                   ("acme-small", "input", {}, "0.2"), ("acme-small", "output", {}, "1")]
    acme_after = [row if row[:3] != ("acme-large", "output", {}) else ("acme-large", "output", {}, "8")
                  for row in acme_before]
    for day in (0, 10):
        observe(db, config, "acme", day, acme_before)
    for day in (20, 30, 40):
        observe(db, config, "acme", day, acme_after)
    fail(db, config, "acme", 25)
    fail(db, config, "acme", 27)
    for day in (0, 30):
        observe(db, config, "acme-cn", day, [("acme-large", "input", {}, "10"), ("acme-large", "output", {}, "50")])
    bolt_pro = [("bolt-pro", "output", CONTEXT_LOW, "4"), ("bolt-pro", "output", CONTEXT_HIGH, "6"),
                ("bolt-pro", "output", {"batch": True, **CONTEXT_LOW}, "2"), ("bolt-pro", "input", CONTEXT_LOW, "1")]
    bolt_mini = [("bolt-mini", "output", {}, "0.5")]
    for day in (0, 10, 20, 30):
        observe(db, config, "bolt", day, bolt_pro + bolt_mini)
    observe(db, config, "bolt", 40, bolt_pro)
    for day in (0, 40):
        observe(db, config, "resell", day, [("acme-large", "output", {}, "7")])
        observe(db, config, "hub", day, [("acme/acme-large", "output", {}, "9"), ("quux/quux-1", "output", {}, "20")])
