"""The digest: one message per recipient per run, grouping that run's events the rules pick.

Each event shows the old and new price in the published currency and in USD and EUR (ECB
reference rate of the observation date), the verdict with one line per evidence test, the
source URL and the archived snapshot, so the reader can check it.  The HTML part is
rendered by Jinja2 with autoescaping on and no `|safe` anywhere: model names, conditions
and evidence text come from scraped pages and are untrusted.  The plain-text part passes
them through `visible`, so that a scraped line break or escape sequence shows as `\\n` or
`\\x1b` instead of starting a line of its own or reaching the reader's terminal.

An event goes to a recipient once: the alert log, keyed by (event, recipient), is written
in the same transaction as the outbox message that carries it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import AlertLog, Event, PriceInterval, Snapshot
from pipeline.alerts.chart import price_chart
from pipeline.alerts.config import EVENT_KINDS, AlertSettings
from pipeline.alerts.message import InlineImage, compose, new_message_id
from pipeline.alerts.outbox import enqueue
from pipeline.config import Config
from pipeline.normalise import convert
from pipeline.output import plain, significant, unit_label, visible

KIND_NOUNS = {
    "cut": ("price cut", "price cuts"),
    "raise": ("price rise", "price rises"),
    "promo_start": ("promotion started", "promotions started"),
    "promo_end": ("promotion ended", "promotions ended"),
    "tier_change": ("tier change", "tier changes"),
    "alias_change": ("price of a moving alias changed", "prices of moving aliases changed"),
    "new_model": ("new model", "new models"),
    "withdrawn": ("model withdrawn", "models withdrawn"),
}
SUBJECT_MODELS = 3


def _rank(kind: str) -> int:
    return EVENT_KINDS.index(kind) if kind in EVENT_KINDS else len(EVENT_KINDS)


def _nouns(kind: str) -> tuple[str, str]:
    label = kind.replace("_", " ")
    return KIND_NOUNS.get(kind, (label, f"{label}s"))


_templates = Environment(loader=PackageLoader("pipeline.alerts", "templates"), autoescape=select_autoescape(["html"]),
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_templates.filters["visible"] = visible


def amount(value: Decimal | None) -> str:
    """A converted amount to six significant digits, as plain decimal text."""
    return "n/a" if value is None else significant(value, 6)


def percent(change: Decimal | None) -> str:
    if change is None:
        return ""
    magnitude = f"{abs(change):.1f}".rstrip("0").rstrip(".")
    return f"{'−' if change < 0 else '+'}{magnitude}%"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "n/a"


@dataclass
class Test:
    name: str
    points_to: str
    summary: str


@dataclass
class EventView:
    """What the templates show of one event; every string here may come from a scraped page."""

    id: int
    kind_label: str
    model: str
    dimension: str
    conditions: str
    source: str
    vendor: str
    via_aggregator: bool
    change: str
    unit: str
    native: str | None
    usd: str | None
    eur: str | None
    fx_date: str | None
    verdict: str | None
    tests: list[Test]
    observed_at: str
    previous_observed_at: str
    source_urls: list[str]
    snapshot_id: int | None
    snapshot_sha256: str
    chart_cid: str | None = None
    chart: bytes | None = field(default=None, repr=False)

    @property
    def headline(self) -> str:
        change = f" {self.change}" if self.change else ""
        dimension = f" {self.dimension}" if self.dimension else ""
        return f"{self.model}{dimension} — {self.kind_label}{change}"


def _sort_key(event: Event) -> tuple:
    return (_rank(event.kind), -abs(event.change_pct or 0), event.model, event.dimension, event.id)


def subject(events: list[Event]) -> str:
    """E.g. `pricewatch: 3 price cuts — deepseek-v4-pro −50%, …` (scraped names flattened to one
    line, other control characters made visible)."""
    counts: dict[str, int] = {}
    for event in sorted(events, key=_sort_key):
        counts[event.kind] = counts.get(event.kind, 0) + 1
    what = ", ".join(f"{n} {_nouns(kind)[n != 1]}" for kind, n in counts.items())
    models: dict[str, str] = {}
    # Price cuts and rises first, the largest first: an alias change's -94% is no price move.
    for event in sorted(events, key=lambda e: (e.kind not in ("cut", "raise"), -abs(e.change_pct or 0),
                                               _rank(e.kind), e.model)):
        note = percent(event.change_pct) or {"new_model": "(new)", "withdrawn": "(withdrawn)"}.get(event.kind, "")
        if event.kind == "alias_change":  # the name may have moved to another model, or the price
            note = f"alias {note}"
        models.setdefault(event.model, f"{event.model} {note}".strip())
    named = list(models.values())[:SUBJECT_MODELS]
    more = ", …" if len(models) > SUBJECT_MODELS else ""
    text = f"pricewatch: {what} — {', '.join(named)}{more}"
    return visible(" ".join(text.split()))[:250]


def _same_price_point(event: Event):
    return (PriceInterval.source_id == event.source_id, PriceInterval.model == event.model,
            PriceInterval.dimension == event.dimension, PriceInterval.currency == event.currency,
            PriceInterval.conditions_key == event.conditions_key)


def _unit(session: Session, event: Event) -> str:
    unit = session.scalar(select(PriceInterval.unit).where(*_same_price_point(event)).limit(1))
    if unit is None:
        return ""
    return f"per {unit_label(unit)}"


def _conditions(event: Event) -> str:
    try:
        conditions = json.loads(event.conditions_key) if event.conditions_key else {}
    except ValueError:
        return event.conditions_key
    return ", ".join(f"{k}={v}" for k, v in sorted(conditions.items())) if isinstance(conditions, dict) else ""


def _history(session: Session, event: Event) -> list[PriceInterval]:
    return list(session.scalars(select(PriceInterval).where(*_same_price_point(event))
                                .order_by(PriceInterval.first_seen)))


def event_view(session: Session, config: Config, event: Event) -> EventView:
    on = event.observed_at.date()
    old, new = convert(event.old_price, event.currency, on), convert(event.new_price, event.currency, on)
    priced = event.old_price is not None or event.new_price is not None

    def pair(before: Decimal | None, after: Decimal | None, symbol: str) -> str:
        return f"{symbol}{amount(before)} → {symbol}{amount(after)}"

    snapshot = session.execute(select(Snapshot.sha256, Snapshot.url).where(Snapshot.id == event.snapshot_id)).first()
    source = config.sources.get(event.source_id)
    urls = list(source.urls) if source else ([snapshot.url] if snapshot else [])
    return EventView(
        id=event.id, kind_label=_nouns(event.kind)[0], model=event.model,
        dimension=event.dimension, conditions=_conditions(event), source=event.source_id, vendor=event.vendor,
        via_aggregator=event.via_aggregator, change=percent(event.change_pct),
        unit=_unit(session, event) if priced else "",
        native=(f"{plain(event.old_price) if event.old_price is not None else 'n/a'} {event.currency} → "
                f"{plain(event.new_price) if event.new_price is not None else 'n/a'} {event.currency}") if priced else None,
        usd=pair(old.usd, new.usd, "$") if old.usd is not None or new.usd is not None else None,
        eur=pair(old.eur, new.eur, "€") if old.eur is not None or new.eur is not None else None,
        fx_date=(new.fx_date or old.fx_date).isoformat() if (new.fx_date or old.fx_date) else None,
        verdict=event.verdict,
        tests=[Test(t.get("test", "?"), t.get("points_to") or "neither", " ".join(str(t.get("summary", "")).split()))
               for t in (event.evidence or [])],
        observed_at=_when(event.observed_at), previous_observed_at=_when(event.previous_observed_at),
        source_urls=urls, snapshot_id=event.snapshot_id, snapshot_sha256=snapshot.sha256 if snapshot else "",
    )


class _Charts:
    """Charts drawn once per run and shared by every recipient's digest."""

    def __init__(self, session: Session, domain: str) -> None:
        self.session, self.domain = session, domain
        self._drawn: dict[int, bytes | None] = {}

    def attach(self, view: EventView, event: Event) -> None:
        if event.id not in self._drawn:
            history = _history(self.session, event) if event.old_price is not None and event.new_price is not None else []
            title = f"{event.model} {event.dimension} ({event.currency} {view.unit}) on {event.source_id}"
            self._drawn[event.id] = price_chart(history, " ".join(title.split())) if history else None
        view.chart = self._drawn[event.id]
        view.chart_cid = f"chart-{event.id}@{self.domain}" if view.chart else None


# Events in one message: about 3 KB each, so a part stays near 1 MB, well under the size limits
# servers set (Postfix's default is 10 MB); a digest over one was refused whole, every event in it lost.
MAX_EVENTS_PER_DIGEST = 300


def render(session: Session, config: Config, settings: AlertSettings, recipient: str, events: list[Event],
           charts: _Charts, now: datetime, part: tuple[int, int] = (1, 1)) -> tuple[str, str, bytes]:
    """(Message-ID, subject, the whole message) of one recipient's digest, or of `part` (i, of n)
    of it; the charts go with the first part."""
    events = sorted(events, key=_sort_key)
    views = [event_view(session, config, event) for event in events]
    for view, event in list(zip(views, events))[:settings.charts if part[0] == 1 else 0]:
        charts.attach(view, event)
    mid = new_message_id("digest", settings.sender_domain)
    title = subject(events) if part[1] == 1 else f"{subject(events)[:225]} (part {part[0]} of {part[1]})"
    context = {"title": title, "events": views, "when": _when(now), "recipient": recipient}
    text = _templates.get_template("digest.txt").render(context)
    html = _templates.get_template("digest.html").render(context)
    images = [InlineImage(v.chart_cid, v.chart) for v in views if v.chart_cid]
    content = compose(sender=settings.sender, recipient=recipient, subject=title, message_id=mid, date=now,
                      text=text, html=html, images=images)
    return mid, title, content


def queue_digests(session: Session, config: Config, settings: AlertSettings, event_ids: list[int],
                  now: datetime) -> int:
    """Queue one digest per recipient for the events of `event_ids` their rules match (in parts
    of MAX_EVENTS_PER_DIGEST, cuts and raises first); return how many messages."""
    if not event_ids or not settings.rules:
        return 0
    events = session.scalars(select(Event).where(Event.id.in_(event_ids)).order_by(Event.id)).all()
    chosen: dict[str, dict[int, Event]] = {}
    for event in events:
        for rule in settings.rules:
            if rule.matches(event):
                for recipient in rule.recipients:
                    chosen.setdefault(recipient, {})[event.id] = event
    charts = _Charts(session, settings.sender_domain)
    queued = 0
    for recipient, by_id in chosen.items():
        told = set(session.scalars(select(AlertLog.event_id).where(  # any spelling: older logs kept the domain's case
            func.lower(AlertLog.recipient) == recipient.lower(), AlertLog.event_id.in_(list(by_id)))))
        fresh = sorted((event for event_id, event in by_id.items() if event_id not in told), key=_sort_key)
        parts = [fresh[start:start + MAX_EVENTS_PER_DIGEST] for start in range(0, len(fresh), MAX_EVENTS_PER_DIGEST)]
        for number, events_of_part in enumerate(parts, 1):
            mid, title, content = render(session, config, settings, recipient, events_of_part, charts, now,
                                         part=(number, len(parts)))
            enqueue(session, kind="digest", message_id=mid, sender=settings.sender, recipient=recipient,
                    subject=title, content=content, at=now)
            session.add_all([AlertLog(event_id=e.id, recipient=recipient, message_id=mid, created_at=now)
                             for e in events_of_part])
            queued += 1
    session.flush()
    return queued
