"""Weighing a price on dumping versus advantage: five tests, each with its figure and inputs.

1. home_vs_export: export price below the home-market price (WTO ADA Art. 2.1 "normal value");
2. below_cost: price below a serving-cost floor (vendor-published figures, else 2 x active params);
3. independent_hosts: first-party price against other hosts of the same open weights;
4. peer_gap: ratio to the median of the model's peer group (a gap, not a verdict);
5. durability: promotion markers, reversals, or a cut that held.

Each test says `dumping`, `advantage` or None (neither), and the verdict only says what the
computed tests are *consistent with*; missing data gives `inconclusive`, never a guess.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Event, Observation, PriceInterval
from db.queries import PriceRow, intervals_in_force
from pipeline.config import Config
from pipeline.diff import is_standard, name_key, service_of
from pipeline.fx import ecb_rates


WEIGHED_KINDS = ("cut",)  # what the tests weigh: a raise or an alias moving is no subsidy question


@dataclass
class TestResult:
    test: str
    points_to: str | None
    figure: str | None
    summary: str
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _usd(interval: PriceInterval, at: datetime) -> Decimal | None:
    return ecb_rates().convert(interval.price, interval.currency, at.date()).usd


def _cite(interval: PriceInterval, at: datetime, **extra) -> dict[str, Any]:
    usd = _usd(interval, at)
    rate = ecb_rates().rate(interval.currency, at.date())
    return {"source": interval.source_id, "model": interval.model, "dimension": interval.dimension,
            "conditions": json.loads(interval.conditions), "price": str(interval.price),
            "currency": interval.currency, "usd": None if usd is None else str(usd),
            "fx_date": rate.date.isoformat() if rate else None, "first_seen": interval.first_seen.isoformat(),
            "last_seen": interval.last_seen.isoformat(), "snapshot_id": interval.snapshot_id, **extra}


_IN_FORCE = "pricewatch.evidence.in_force"


def _in_force(session: Session, at: datetime, canonical: str | frozenset[str], dimension: str, *,
              hosts_only: bool = False) -> list[PriceInterval]:
    """The prices of `dimension` in force at `at` for one model (or a peer group), read once per
    session: weighing a run's cuts asks for the same rows several times."""
    models = frozenset([canonical]) if isinstance(canonical, str) else canonical
    cache = session.info.setdefault(_IN_FORCE, {})
    key = (at, dimension, models, hosts_only)
    if key not in cache:
        cache[key] = intervals_in_force(session, at, dimension=dimension, canonical_models=models,
                                        hosts_only=hosts_only)
    return cache[key]


def home_vs_export(session: Session, config: Config, subject: PriceInterval, at: datetime) -> TestResult:
    settings = config.analysis.home_vs_export
    pair = next((p for p in settings.pairs if subject.source_id in (p.export, p.home)), None)
    if pair is None:
        return TestResult("home_vs_export", None, None, "no home-market list is published beside this one")
    other_list = pair.home if subject.source_id == pair.export else pair.export
    listed = [i for i in _in_force(session, at, subject.canonical_model, subject.dimension)
              if i.source_id == other_list]
    matching = [i for i in listed if i.conditions_key == subject.conditions_key and i.unit == subject.unit]
    if not matching:
        if listed:  # tiers cut at other bounds, say: two prices in force, neither for the same terms
            return TestResult("home_vs_export", None, None, f"the {other_list} list prices this model on other "
                                                            f"terms on {at.date()}: not compared")
        return TestResult("home_vs_export", None, None, f"no {other_list} price in force for this model on {at.date()}")
    other = _counterpart(subject, matching)
    if other is None:
        return TestResult("home_vs_export", None, None, f"the {other_list} list has several versions of this model "
                                                        f"at different prices ({', '.join(sorted(i.model for i in matching))}): "
                                                        "which one matches is not known")
    export, home = (subject, other) if subject.source_id == pair.export else (other, subject)
    export_usd, home_usd = _usd(export, at), _usd(home, at)
    if not export_usd:
        return TestResult("home_vs_export", None, None, "export price is zero or not convertible")
    margin = (home_usd - export_usd) / export_usd
    points = "dumping" if margin > settings.margin_threshold else None
    if points:
        reading = (f"home {margin:.1%} above export, more than the {settings.margin_threshold:.0%} threshold: "
                   "consistent with dumping")
    elif margin > 0:
        reading = (f"home {margin:.1%} above export, within the {settings.margin_threshold:.0%} threshold: "
                   "not consistent with dumping")
    else:
        reading = "export not below the home price: not consistent with dumping"
    summary = (f"home {home.price} {home.currency} = ${home_usd:.4f} vs export ${export_usd:.4f}: "
               f"margin {margin:+.1%}, {reading} (list prices as published: taxes and terms not adjusted)")
    return TestResult("home_vs_export", points, f"{margin:.4f}", summary,
                      [_cite(export, at, role="export"), _cite(home, at, role="home (normal value)")])


def _counterpart(subject: PriceInterval, listed: list[PriceInterval]) -> PriceInterval | None:
    """The other list's price for the subject's model: the same id, else the one version it
    lists, else None when it lists several at different prices (a dated version each)."""
    same = [i for i in listed if i.model == subject.model]
    if same:
        return same[0]
    return listed[0] if len({(i.price, i.currency) for i in listed}) == 1 else None


def cost_floor(config: Config, canonical: str, vendor: str, on: date) -> tuple[Decimal, dict[str, Any]] | None:
    settings = config.analysis.cost_floor
    for published in settings.published:
        if published.vendor == vendor and published.covers(canonical, on):
            floor = published.node_usd_per_hour / (published.output_tokens_per_second * 3600)
            return floor * 1_000_000, {"basis": "vendor-published serving figures",
                                       "measured_on": published.measured_on, "source": published.source}
    model = config.models.get(canonical)
    if not model or not model.open_weights or not model.params_active_b or not settings.can_estimate:
        return None
    flops_per_token = Decimal(2) * Decimal(str(model.params_active_b)) * Decimal(10) ** 9
    tokens_per_second = settings.peak_flops * settings.utilisation / flops_per_token
    floor = settings.accelerator_usd_per_hour / (tokens_per_second * 3600) * 1_000_000
    return floor, {"basis": "estimate from active parameters", "active_params_b": model.params_active_b,
                   "accelerator": settings.accelerator, "source": settings.source}


def below_cost(session: Session, config: Config, subject: PriceInterval, at: datetime) -> TestResult:
    if subject.dimension != "output" or subject.unit != "token":
        return TestResult("below_cost", None, None, "the cost floor is computed for output tokens only"
                          + ("" if subject.unit == "token" else f" (this price is per {subject.unit})"))
    known = config.models.get(subject.canonical_model)
    found = cost_floor(config, subject.canonical_model, known.vendor if known else subject.vendor, at.date())
    if found is None:
        return TestResult("below_cost", None, None, "no cost floor: weights not open or parameter counts unpublished")
    floor, basis = found
    price = _usd(subject, at)
    if price is None:
        return TestResult("below_cost", None, None, "price not convertible to USD")
    ratio = price / floor
    band = config.analysis.cost_floor.uncertainty
    if ratio < 1 / (1 + band):
        points, reading = "dumping", "below cost"
    elif ratio > 1 + band:
        points, reading = "advantage", "above cost"
    else:
        points, reading = None, f"within the floor's uncertainty ({band:.0%} either way): neither"
    summary = (f"${price:.4f} per 1M output tokens is {ratio:.2f}x the serving floor of ${floor:.4f} "
               f"({basis['basis']}" + (f", measured on {basis['measured_on']}" if basis.get("measured_on") else "")
               + f"); {reading}")
    return TestResult("below_cost", points, f"{ratio:.4f}", summary,
                      [_cite(subject, at), {"floor_usd_per_1m": f"{floor:.6f}", **basis}])


def independent_hosts(session: Session, config: Config, subject: PriceInterval, at: datetime) -> TestResult:
    if subject.aggregator:
        return TestResult("independent_hosts", None, None, "an aggregator's price: this test weighs a vendor's own "
                                                           "price against the hosts of its open weights")
    model = config.models.get(subject.canonical_model)
    if model is not None and model.open_weights is False:
        return TestResult("independent_hosts", None, None, "closed weights: no independent host serves them")
    vendor_names = _own_endpoints(config, subject.vendor)
    hosts = [i for i in _in_force(session, at, subject.canonical_model, subject.dimension, hosts_only=True)
             if (provider := name_key(str(json.loads(i.conditions_key).get("provider", ""))))
             and not any(provider.startswith(name) for name in vendor_names)]
    prices = [(h, _usd(h, at)) for h in hosts]
    prices = [(h, p) for h, p in prices if p]
    if not prices:
        return TestResult("independent_hosts", None, None, "no independent host price in the archive for this model")
    own = _usd(subject, at)
    cheapest = min(p for _, p in prices)
    settings = config.analysis.independent_hosts
    ratio = own / cheapest
    if ratio >= settings.near_ratio:
        points, reading = "advantage", "near or above what independent hosts charge: sustainable for anyone with the weights"
    elif ratio < settings.far_ratio:
        points, reading = "dumping", "far below every independent host: a subsidy signal"
    else:
        points, reading = None, "somewhat below independent hosts"
    return TestResult("independent_hosts", points, f"{ratio:.4f}",
                      f"${own:.4f} vs cheapest of {len(prices)} hosts ${cheapest:.4f} ({ratio:.2f}x): {reading}",
                      [_cite(subject, at, role="first party")] + [_cite(h, at, role="host") for h, _ in prices])


def _own_endpoints(config: Config, vendor: str) -> set[str]:
    """How an aggregator names the vendor's own endpoint: its id ("DeepSeek", "Moonshot AI" for
    moonshot), or a name config/analysis.toml gives it ("Z.AI" for zhipu); never independent."""
    return {name_key(vendor), *map(name_key, config.analysis.independent_hosts.own_endpoints.get(vendor, ()))}


def peer_gap(session: Session, config: Config, subject: PriceInterval, at: datetime) -> TestResult:
    """The median of the OTHER models of the subject's peer group, each at the price `compare`
    shows for it (pipeline.report.compare.current_picks), against the subject's price."""
    from pipeline.report.compare import current_picks

    model = config.models.get(subject.canonical_model)
    if model is None or not model.group:
        return TestResult("peer_gap", None, None, "model has no configured peer group")
    peers = {m.id for m in config.models.values() if m.group == model.group} - {subject.canonical_model}
    rows: dict[str, list[PriceRow]] = {}
    for interval in _in_force(session, at, frozenset(peers), subject.dimension):
        rows.setdefault(interval.canonical_model, []).append(PriceRow(interval, _usd(interval, at), None, None))
    picked = {name: chosen for name, chosen in current_picks(session, config, rows, at).items()
              if chosen.row.interval.unit == subject.unit}
    own = _usd(subject, at)
    if not own:
        return TestResult("peer_gap", None, None, "this price is zero or not convertible to USD: no ratio")
    if not picked:
        return TestResult("peer_gap", None, None, f"no other model of group {model.group!r} is priced per "
                                                  f"{subject.unit} on {at.date()}")
    median = Decimal(statistics.median(chosen.row.usd for chosen in picked.values()))
    ratio = median / own
    return TestResult("peer_gap", None, f"{ratio:.4f}",
                      f"the median of the {len(picked)} other model(s) of group {model.group!r} is ${median:.4f}, "
                      f"{ratio:.1f}x this price (${own:.4f}); a gap, not a verdict",
                      [_cite(chosen.row.interval, at, peer=name, basis=chosen.basis)
                       for name, chosen in sorted(picked.items())])


def durability(session: Session, config: Config, subject: PriceInterval, at: datetime,
               event: Event | None = None) -> TestResult:
    held_days = config.analysis.durability.held_days
    if subject.promo:
        listed = f" (list price {subject.list_price})" if subject.list_price is not None else ""
        return TestResult("durability", "dumping", None, f"marked as a promotion{listed}: a temporary price",
                          [_cite(subject, at)])
    if event is not None and event.reversal:
        return TestResult("durability", "dumping", None, "this cut was later reversed by a raise", [])
    # A cut is judged on all that was seen since; a price in force at a date, on what was seen by then.
    last_seen = subject.last_seen if event is not None else min(subject.last_seen, at)
    held = last_seen - subject.first_seen
    if held >= timedelta(days=held_days):
        return TestResult("durability", "advantage", f"{held.days}",
                          f"held {held.days} days without a promotion marker (>= {held_days})", [_cite(subject, at)])
    gone_by = _ended(session, subject, at if event is None else None)
    if gone_by is not None:
        return TestResult("durability", None, f"{held.days}",
                          f"held {held.days} days: last seen {last_seen:%Y-%m-%d}, and the source's next "
                          f"observation, on {gone_by:%Y-%m-%d}, showed another price or none; fewer than {held_days}",
                          [_cite(subject, at)])
    return TestResult("durability", None, f"{held.days}",
                      f"held {held.days} days so far (last seen {last_seen:%Y-%m-%d}), fewer than "
                      f"{held_days}: too early to tell", [_cite(subject, at)])


def _ended(session: Session, subject: PriceInterval, until: datetime | None) -> datetime | None:
    """When the source's next observation (up to `until`) no longer showed this price, or None
    while it still stands: not merely its conditions reworded, which starts another interval at
    the same price, for the same service and standing (not a batch or off-peak price that
    happens to equal it), at that observation (a return of the price later is no rewording)."""
    later = [Observation.source_id == subject.source_id, Observation.status == "ok",
             Observation.observed_at > subject.last_seen]
    if until is not None:
        later.append(Observation.observed_at <= until)
    following = session.scalar(select(func.min(Observation.observed_at)).where(*later))
    if following is None:
        return None
    starting_then = select(PriceInterval.conditions_key, PriceInterval.price, PriceInterval.unit).where(
        PriceInterval.source_id == subject.source_id, PriceInterval.model == subject.model,
        PriceInterval.dimension == subject.dimension, PriceInterval.currency == subject.currency,
        PriceInterval.first_seen == following)
    then = session.execute(starting_then).all()
    if any(row.conditions_key == subject.conditions_key and (row.price, row.unit) != (subject.price, subject.unit)
           for row in then):
        return following  # its own conditions show another price then: another tier's equal price is no rewording
    kind = _service_and_standing(subject.conditions_key)
    reworded = any((row.price, row.unit) == (subject.price, subject.unit) and _service_and_standing(row.conditions_key) == kind
                   for row in then)
    return None if reworded else following


def _service_and_standing(conditions_key: str) -> tuple:
    return service_of(conditions_key), is_standard(json.loads(conditions_key))


def verdict(results: list[TestResult]) -> str:
    return _verdict([r.points_to for r in results])


def _verdict(points: list[str | None]) -> str:
    dumping, advantage = points.count("dumping"), points.count("advantage")
    if dumping > advantage:
        return "dumping-consistent"
    if advantage > dumping:
        return "advantage-consistent"
    return "inconclusive"


def weigh(session: Session, config: Config, subject: PriceInterval, at: datetime,
          event: Event | None = None) -> tuple[str, list[TestResult]]:
    results = [home_vs_export(session, config, subject, at), below_cost(session, config, subject, at),
               independent_hosts(session, config, subject, at), peer_gap(session, config, subject, at),
               durability(session, config, subject, at, event)]
    return verdict(results), results


def interval_of_event(session: Session, event: Event) -> PriceInterval | None:
    return session.scalar(select(PriceInterval).where(
        PriceInterval.source_id == event.source_id, PriceInterval.model == event.model,
        PriceInterval.dimension == event.dimension, PriceInterval.currency == event.currency,
        PriceInterval.conditions_key == event.conditions_key, PriceInterval.first_observation_id == event.observation_id))


def weigh_event(session: Session, config: Config, event: Event) -> tuple[str, list[TestResult]] | None:
    subject = interval_of_event(session, event)
    if subject is None:
        return None
    return weigh(session, config, subject, event.observed_at, event)


def weigh_new_cuts(session: Session, config: Config, event_ids: list[int]) -> None:
    """Attach the verdict and evidence to each of these cuts: new ones, or ones whose inputs
    have changed since they were weighed (pipeline.store)."""
    if not event_ids:
        return
    session.info.pop(_IN_FORCE, None)  # prices were just stored: read them afresh
    for event in session.scalars(select(Event).where(Event.id.in_(event_ids), Event.kind.in_(WEIGHED_KINDS))):
        weighed = weigh_event(session, config, event)
        if weighed:
            event.verdict, results = weighed[0], weighed[1]
            event.evidence = [r.as_dict() for r in results]


def weigh_durability_again(session: Session, config: Config, event_ids: list[int]) -> None:
    """Refresh the durability test in these cuts' stored evidence, and their verdict with it:
    what a later sighting changes (the price has held `held_days`, or is no longer shown),
    without the other tests' queries, whose inputs did not move (pipeline.store)."""
    if not event_ids:
        return
    for event in session.scalars(select(Event).where(Event.id.in_(event_ids), Event.kind.in_(WEIGHED_KINDS))):
        subject = interval_of_event(session, event)
        if subject is None or not event.evidence:
            continue
        fresh = durability(session, config, subject, event.observed_at, event).as_dict()
        event.evidence = [fresh if test["test"] == "durability" else test for test in event.evidence]
        event.verdict = _verdict([test["points_to"] for test in event.evidence])
