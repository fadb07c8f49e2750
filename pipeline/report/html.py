"""The static HTML report: one self-contained page (inline CSS and SVG, no script, no font or
image to fetch), rendered from Jinja2 templates with autoescape on, so every string that came
from a vendor page (model names, conditions) is escaped.  A Content-Security-Policy meta tag
forbids the page any network load, which keeps it honest when viewed.

The page holds the peer groups with their ratios, the current prices of the direct sellers
in USD and EUR, the biggest moves over 30, 90 and 365 days, one step chart per vendor, and
the events with their verdicts, each linked to its explanation (the evidence tests of
pipeline.evidence, as stored with the event).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from db.queries import events, interval_counts, prices_at, source_outages, source_status
from pipeline.config import Config
from pipeline.evidence import WEIGHED_KINDS
from pipeline.output import plain, significant
from pipeline.report import chart
from pipeline.report.compare import headline_rows, moves, peer_table

TEMPLATES = Path(__file__).resolve().parent / "templates"
MOVE_WINDOWS = (30, 90, 365)
MODELS_PER_CHART = 6


@dataclass
class VendorChart:
    vendor: str
    svg: str
    models: list[str]


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(exact=_exact, money=_money, ratio=_ratio, when=_when, day=_day, conditions=_conditions,
                       pct=_pct)
    return env


def _exact(value: Decimal | None) -> str:
    """A published price as published: every digit."""
    return "" if value is None else str(plain(value))


def _money(value: Decimal | None) -> str:
    """A converted price, to four significant digits: the ECB rate carries no more meaning."""
    return "" if value is None else significant(value, 4)


def _ratio(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _pct(value: Decimal | None) -> str:
    return "" if value is None else f"{value:+}%"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: datetime | date | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.strftime("%Y-%m-%d")


def _conditions(value: dict[str, Any] | str | None) -> str:
    """Conditions for a reader: `context_tokens 0–32000, mode=thinking`."""
    if isinstance(value, str):
        value = json.loads(value) if value else {}
    return ", ".join(_condition(key, item) for key, item in sorted((value or {}).items()))


def _condition(key: str, value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"min", "max"}:
        low, high = value["min"], value["max"]
        return f"{key} {low}–{high}" if high is not None else f"{key} >{low}"
    if isinstance(value, (dict, list)):
        return f"{key}={json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
    return key if value is True else f"{key}={value}"


def vendor_charts(session: Session, config: Config, *, until: datetime) -> list[VendorChart]:
    """One output-price chart per vendor, over its own lists, for its most-changed models."""
    charts = []
    by_vendor: dict[str, list[str]] = {}
    for source in config.sources.values():
        if not source.aggregator:
            by_vendor.setdefault(source.vendor, []).append(source.id)
    counts = interval_counts(session, "output")
    for vendor, source_ids in sorted(by_vendor.items()):
        changes: Counter[str] = Counter()
        for (source_id, model), count in counts.items():
            canonical = config.canonical(model)
            known = config.models.get(canonical)
            if source_id in source_ids and (known is None or known.vendor == vendor):
                changes[canonical] += count
        # Models in a peer group first, then those whose price moved most often.
        ranked = sorted(changes, key=lambda m: (not (m in config.models and config.models[m].group), -changes[m], m))
        chosen = sorted(ranked[:MODELS_PER_CHART])
        if not chosen:
            continue
        series = chart.build_series(session, config, chosen, dimension="output", currency="USD", until=until,
                                    sources=source_ids)
        if not series:
            continue
        figure = chart.draw(series, title=f"{vendor}: output price, USD per 1M tokens (log scale)",
                            ylabel=chart.ylabel("USD", "output"), log=True,
                            outages=chart.outage_spans(session, series), size=(10, 4.2), ident=f"chart-{vendor}")
        charts.append(VendorChart(vendor, chart.svg_text(figure, salt=f"pricewatch-{vendor}"), chosen))
    return charts


def report_events(session: Session, *, until: datetime, aggregators: bool) -> list[dict[str, Any]]:
    """Events, newest first, with what the page needs to cite and explain each."""
    found = [e for e in events(session, until=until) if aggregators or not e.via_aggregator]
    return [{"id": e.id, "kind": e.kind, "source": e.source_id, "vendor": e.vendor, "model": e.model,
             "dimension": e.dimension, "conditions": e.conditions_key, "currency": e.currency,
             "old_price": e.old_price, "new_price": e.new_price, "change_pct": e.change_pct,
             "old_usd": e.old_usd, "new_usd": e.new_usd, "observed_at": e.observed_at,
             "previous_observed_at": e.previous_observed_at, "verdict": e.verdict, "snapshot_id": e.snapshot_id,
             "via_aggregator": e.via_aggregator, "reversal": e.reversal, "evidence": e.evidence or [],
             "weighed": e.kind in WEIGHED_KINDS}
            for e in sorted(found, key=lambda e: (e.observed_at, e.id), reverse=True)]


def context(session: Session, config: Config, at: datetime, *, aggregators: bool = False) -> dict[str, Any]:
    rows = prices_at(session, at)
    direct = [r for r in rows if not r.interval.aggregator]
    health = source_status(session)
    outages = source_outages(session)
    sources = [{"id": s.id, "vendor": s.vendor, "market": s.market, "currency": s.currency, "urls": s.urls,
                "aggregator": s.aggregator, "fetch": s.fetch,
                "last_success": health[s.id].last_success_at if s.id in health else None,
                "failures_in_a_row": health[s.id].consecutive_failures if s.id in health else 0,
                "outages": len(outages.get(s.id, []))}
               for s in sorted(config.sources.values(), key=lambda s: (s.vendor, s.id))]
    return {
        "at": at,
        "peers": peer_table(session, config, at, dimension="output"),
        "current": headline_rows(direct),
        "fx_dates": sorted({r.fx_date for r in rows if r.fx_date}),
        "aggregator_rows": len(rows) - len(direct),
        "aggregator_sources": sorted({r.interval.source_id for r in rows if r.interval.aggregator}),
        "moves": {days: moves(session, at, days, aggregators=aggregators) for days in MOVE_WINDOWS},
        "charts": vendor_charts(session, config, until=at),
        "events": report_events(session, until=at, aggregators=aggregators),
        "aggregators": aggregators,
        "sources": sources,
    }


def render_report(session: Session, config: Config, at: datetime, *, aggregators: bool = False) -> str:
    return environment().get_template("report.html.j2").render(**context(session, config, at,
                                                                          aggregators=aggregators))
