"""Comparative tables: the wide price table, the peer-group ratios and the biggest moves.

A model is often listed several times: by its vendor in two markets and currencies, by
resellers, by aggregators, and in tiers (context length, batch, off-peak, flex).  To put
one number per model side by side, `headline()` picks, within one price list (a source's
prices of one model, dimension and currency), the unconditional price, or else the cheapest
*standard* tier (no batch, off-peak, promotion or special service tier), and says which it
took.  Prices in different units (per 1M tokens, per image, per second) are never weighed
against each other: a headline is per 1M tokens when the list has such a price.  `pick()`
then prefers the model's own vendor over a reseller, a reseller over an aggregator and an
aggregator over another product's list of the models (a source's `headline = false`), within
an aggregator the model's own listing over a route through a named host (`deepseek/deepseek-chat`
over `openrouter/deepseek/deepseek-chat`), the international list over the home market, and
USD over other currencies.
`headline_steps()` follows a list's headline through time, for charts and for dating moves.
Every row keeps its source, dates and snapshot id.
"""

from __future__ import annotations

import bisect
import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import PriceInterval
from db.queries import PriceRow, history, intervals_in_force, prices_at
from pipeline.config import Config
from pipeline.diff import alias_moved, is_standard
from pipeline.errors import InputError
from pipeline.output import significant, unit_label

WIDE_DIMENSIONS = ("input", "cached_input", "output")
UNCONDITIONAL, STANDARD_TIER, SPECIAL_TIER = "unconditional", "cheapest standard tier", "cheapest special tier"
PROMOTION = "promotional price"
BASIS_RANK = {UNCONDITIONAL: 0, STANDARD_TIER: 1, PROMOTION: 2, SPECIAL_TIER: 3}
VIA_RANK = {"vendor": 0, "reseller": 1, "aggregator": 2, "other product": 3}
RATIO_PLACES = Decimal("0.01")

Steps = list[tuple[datetime, Decimal | None]]


def headline_unit(intervals: Iterable[PriceInterval]) -> str | None:
    """The unit a list's headline is in: per token (1M) when it has such a price."""
    units = {i.unit for i in intervals}
    return "token" if "token" in units else min(units, default=None)


def headline(intervals: Sequence[PriceInterval]) -> tuple[PriceInterval, str] | None:
    """The one price that stands for a list, and the basis on which it was chosen.  A
    promotion is not standard: it is what a customer pays only while it lasts."""
    unit = headline_unit(intervals)
    intervals = [i for i in intervals if i.unit == unit]
    unconditional = [i for i in intervals if i.conditions_key == "{}" and not i.promo]
    if unconditional:
        return min(unconditional, key=lambda i: i.price), UNCONDITIONAL
    standard = [i for i in intervals if is_standard(json.loads(i.conditions_key))]
    regular = [i for i in standard if not i.promo]
    if regular:
        return min(regular, key=lambda i: (i.price, i.conditions_key)), STANDARD_TIER
    if standard:
        return min(standard, key=lambda i: (i.price, i.conditions_key)), PROMOTION
    if intervals:
        return min(intervals, key=lambda i: (i.price, i.conditions_key)), SPECIAL_TIER
    return None


def headline_row(rows: Sequence[PriceRow]) -> tuple[PriceRow, str]:
    """`headline()` of a list of rows in force, as the row (with its conversions)."""
    by_interval = {id(r.interval): r for r in rows}
    interval, basis = headline([r.interval for r in rows])
    return by_interval[id(interval)], basis


def headline_steps(intervals: Sequence[PriceInterval], value: Callable[[PriceInterval], Decimal | None], *,
                   observed: Sequence[datetime] = (),
                   outages: Sequence[tuple[datetime, datetime | None]] = ()) -> tuple[Steps, set[str]]:
    """A list's headline value through time, as (from, value) steps; None is a gap.  Also the
    conditions keys the headline used.

    A price is known at observations only and holds until one shows another, so the value can
    change only where an interval starts, at the first observation (of `observed`, the
    source's) after one was last seen (the model or tier may be gone there), and where one of
    the source's `outages` starts or ends.  The last step marks where the list ends.  The
    steps stay in one unit, the headline unit of the whole list."""
    unit = headline_unit(intervals)
    intervals = [i for i in intervals if i.unit == unit]
    first, last = min(i.first_seen for i in intervals), max(i.last_seen for i in intervals)
    moments = {i.first_seen for i in intervals} | {i.last_seen for i in intervals}
    for interval in intervals:
        after = bisect.bisect_right(observed, interval.last_seen)
        if after < len(observed):
            moments.add(observed[after])
    moments.update(m for span in outages for m in span if m is not None and m >= first)
    steps: Steps = []
    keys: set[str] = set()
    for moment in sorted(m for m in moments if m >= first):
        failing = any(start <= moment and (end is None or moment < end) for start, end in outages)
        chosen = None if failing else headline([i for i in intervals if i.first_seen <= moment <= i.last_seen])
        if chosen:
            keys.add(chosen[0].conditions_key)
        current = value(chosen[0]) if chosen else None
        if not steps or steps[-1][1] != current:
            steps.append((moment, current))
        if current is None and moment > last:
            break  # the list is gone and nothing of it comes back
    if steps[-1][1] is not None and steps[-1][0] < last:
        steps.append((last, steps[-1][1]))
    return steps, keys


def via(interval: PriceInterval, config: Config) -> str:
    """`vendor` when the model's own vendor sells it, `reseller` for another direct seller;
    `other product` for a list of the models inside another product (a source's `headline =
    false`: Hologres' Qwen, about 1.2x the API list, and without its promotions)."""
    if interval.aggregator:
        return "aggregator"
    source = config.sources.get(interval.source_id)
    if source is not None and not source.headline:
        return "other product"
    model = config.models.get(config.canonical(interval.model))
    return "vendor" if model is None or model.vendor == interval.vendor else "reseller"


def route_depth(listed_as: str, canonical: str) -> int:
    """0 for a model listed under its own id; else how many path segments precede the name:
    1 for `deepseek/deepseek-chat`, 2 for a route through a host, `openrouter/deepseek/deepseek-chat`."""
    return 0 if listed_as.lower() == canonical.lower() else listed_as.count("/")


@dataclass
class Pick:
    row: PriceRow
    basis: str
    via: str
    depth: int


def pick(rows: Iterable[PriceRow], config: Config) -> Pick | None:
    """The price that stands for a model: its headline in the most authoritative list, per
    1M tokens when any list has such a price."""
    lists: dict[tuple[str, str, str], list[PriceRow]] = {}
    for row in rows:
        lists.setdefault((row.interval.source_id, row.interval.model, row.interval.currency), []).append(row)
    unit = headline_unit(row.interval for listed in lists.values() for row in listed)
    candidates = [Pick(*headline_row(listed), via(listed[0].interval, config),
                       route_depth(model, config.canonical(model)))
                  for (_, model, _), listed in lists.items() if headline_unit(r.interval for r in listed) == unit]
    return min(candidates, default=None, key=lambda p: (
        VIA_RANK[p.via], p.depth, BASIS_RANK[p.basis], p.row.interval.market != "intl",
        p.row.interval.currency != "USD", p.row.interval.source_id, p.row.interval.model))


def dropped_by_vendor(session: Session, config: Config, canonicals: Iterable[str], at: datetime) -> set[str]:
    """Of `canonicals`, the models their own vendor listed before `at` and no longer lists then:
    an aggregator's stale entry (LiteLLM keeps retired models for months) is no current price
    for them.  Two queries for the lot."""
    canonicals = sorted(set(canonicals))
    if not canonicals:
        return set()

    def own(rows: Iterable[tuple[str, str]]) -> set[str]:
        return {canonical for canonical, vendor in rows
                if canonical in config.models and config.models[canonical].vendor == vendor}

    listed_before = own(session.execute(
        select(PriceInterval.canonical_model, PriceInterval.vendor).distinct()
        .where(PriceInterval.canonical_model.in_(canonicals), PriceInterval.aggregator.is_(False),
               PriceInterval.first_seen <= at)))
    if not listed_before:
        return set()
    listed_now = own((i.canonical_model, i.vendor)
                     for i in intervals_in_force(session, at, canonical_models=listed_before) if not i.aggregator)
    return listed_before - listed_now


def current_picks(session: Session, config: Config, by_model: dict[str, list[PriceRow]],
                  at: datetime) -> dict[str, Pick]:
    """Each model's pick with a USD price, less the models their vendor no longer lists
    (dropped_by_vendor): what `compare` ranks, and what the peer-gap test measures against."""
    picks = {canonical: chosen for canonical, rows in by_model.items()
             if (chosen := pick(rows, config)) is not None and chosen.row.usd is not None}
    for canonical in dropped_by_vendor(session, config, [c for c, p in picks.items() if p.via == "aggregator"], at):
        del picks[canonical]
    return picks


def for_terminal(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows shortened for a terminal table: money to six significant digits, times to the
    minute.  CSV and JSON keep the exact values."""
    def short(value: Any) -> Any:
        if isinstance(value, Decimal):
            return significant(value, 6)
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        return value
    return [{key: short(value) for key, value in row.items()} for row in rows]


# -- the wide comparative table ------------------------------------------------------------------

def wide_columns(dimensions: Sequence[str], currency: str | None) -> list[str]:
    """Columns of the wide table; `currency` (USD, EUR, native or None for all) narrows the money."""
    money = {"native": list(dimensions), "USD": [f"{d}_usd" for d in dimensions],
             "EUR": [f"{d}_eur" for d in dimensions]}
    chosen = money[currency] if currency else money["native"] + money["USD"] + money["EUR"]
    tail = ["promo"] + ([] if currency == "native" else ["fx_date"]) + ["since", "snapshot_ids"]
    return ["vendor", "source", "market", "aggregator", "superseded", "model", "canonical_model", "conditions",
            "currency", "unit", *chosen, *tail]


def _row_identity(row: PriceRow) -> dict[str, Any]:
    plain = row.as_dict()
    return {name: plain[name] for name in ("vendor", "source", "market", "aggregator", "model", "canonical_model",
                                           "conditions", "currency", "unit", "fx_date")}


def wide_table(rows: Iterable[PriceRow], dimensions: Sequence[str] = WIDE_DIMENSIONS) -> list[dict[str, Any]]:
    """One row per (source, model, currency, unit, conditions): each dimension's price in the
    published currency, in USD and in EUR, with the fx date and the snapshots the prices come
    from.  An aggregator's row for a model a direct seller lists is marked `superseded`."""
    cells: dict[tuple, list[PriceRow]] = {}
    for row in rows:
        i = row.interval
        if i.dimension in dimensions:
            cells.setdefault((i.vendor, i.canonical_model, i.source_id, i.model, i.currency, i.unit,
                              i.conditions_key), []).append(row)
    return [_wide_row(cells[key], {row.interval.dimension: row for row in cells[key]}) for key in sorted(cells)]


def _wide_row(rows: list[PriceRow], by_dimension: dict[str, PriceRow]) -> dict[str, Any]:
    entry = _row_identity(rows[0])
    for dimension, row in by_dimension.items():
        entry[dimension], entry[f"{dimension}_usd"], entry[f"{dimension}_eur"] = row.interval.price, row.usd, row.eur
    entry["superseded"] = any(r.superseded for r in rows)
    entry["promo"] = any(r.interval.promo for r in rows)
    entry["since"] = max(r.interval.first_seen for r in rows)
    entry["snapshot_ids"] = ";".join(str(s) for s in sorted({r.interval.snapshot_id for r in rows}))
    return entry


def headline_rows(rows: Iterable[PriceRow]) -> list[dict[str, Any]]:
    """One row per (source, model, currency), each dimension at its own headline conditions (a
    page may tier the output by thinking mode but not the input).  `conditions` lists
    (dimensions, conditions) pairs, a single ("", conditions) when every dimension shares them;
    `basis` is the least direct basis of the row."""
    lists: dict[tuple, dict[str, list[PriceRow]]] = {}
    for row in rows:
        i = row.interval
        if i.dimension in WIDE_DIMENSIONS:
            key = (i.vendor, i.canonical_model, i.source_id, i.model, i.currency)
            lists.setdefault(key, {}).setdefault(i.dimension, []).append(row)
    table = []
    for key in sorted(lists):
        chosen = {d: headline_row(lists[key][d]) for d in WIDE_DIMENSIONS if d in lists[key]}
        units = {row.interval.unit for row, _ in chosen.values()}
        if len(units) > 1:  # a page priced input per second and output per token: one row per unit
            for unit in sorted(units):
                table += headline_rows([row for row, _ in chosen.values() if row.interval.unit == unit])
            continue
        entry = _wide_row([row for row, _ in chosen.values()], {d: row for d, (row, _) in chosen.items()})
        shared: dict[str, list[str]] = {}
        for dimension, (row, _) in chosen.items():
            shared.setdefault(json.dumps(row.as_dict()["conditions"], sort_keys=True), []).append(dimension)
        entry["conditions"] = [("" if len(shared) == 1 else ", ".join(dims), json.loads(text))
                               for text, dims in shared.items()]
        entry["basis"] = max((basis for _, basis in chosen.values()), key=BASIS_RANK.__getitem__)
        table.append(entry)
    return table


# -- peer groups -------------------------------------------------------------------------------

PEER_COLUMNS = ["group", "model", "vendor", "usd", "eur", "unit", "to_cheapest", "to_median", "price", "currency",
                "conditions", "basis", "source", "via", "listed_as", "since", "last_seen", "fx_date", "snapshot_id"]


def groups(config: Config) -> list[str]:
    return sorted({m.group for m in config.models.values() if m.group})


def peer_table(session: Session, config: Config, at: datetime, *, dimension: str = "output",
               group: str | None = None) -> list[dict[str, Any]]:
    """Each peer group's models side by side, cheapest first, with each one's ratio to the
    cheapest (positive) price and to the group median, in USD at the ECB rate of `at`.  Models
    priced in another unit than per 1M tokens (per image, per second) are ranked among
    themselves, after them.  A model its vendor no longer lists is left out, whatever an
    aggregator still shows (dropped_by_vendor)."""
    known = groups(config)
    if group is not None and group not in known:
        raise InputError(f"unknown peer group {group!r} (known: {', '.join(known)})")
    wanted = [group] if group else known
    by_model: dict[str, list[PriceRow]] = {}
    for row in prices_at(session, at, dimension=dimension):
        canonical = config.canonical(row.interval.model)
        model = config.models.get(canonical)
        if model is not None and model.group in wanted:
            by_model.setdefault(canonical, []).append(row)
    table: list[dict[str, Any]] = []
    for name in wanted:
        members = {canonical: rows for canonical, rows in by_model.items() if config.models[canonical].group == name}
        by_unit: dict[str, dict[str, Pick]] = {}
        for canonical, chosen in current_picks(session, config, members, at).items():
            by_unit.setdefault(chosen.row.interval.unit, {})[canonical] = chosen
        for unit in sorted(by_unit, key=lambda u: (u != "token", u)):
            priced = by_unit[unit]
            positive = [p.row.usd for p in priced.values() if p.row.usd > 0]
            if not positive:
                continue  # every price zero (an embedding model's output): nothing to compare
            cheapest, median = min(positive), statistics.median(p.row.usd for p in priced.values())
            for canonical, chosen in sorted(priced.items(), key=lambda item: (item[1].row.usd, item[0])):
                table.append({**_peer_row(name, canonical, chosen, cheapest, median, config),
                              "since": price_since(session, chosen.row.interval, at)})
    return table


def _ratio(value: Decimal, base: Decimal) -> Decimal | None:
    return (value / base).quantize(RATIO_PLACES) if base else None


def _peer_row(group: str, canonical: str, chosen: Pick, cheapest: Decimal, median: Decimal,
              config: Config) -> dict[str, Any]:
    row = chosen.row
    i = row.interval
    return {"group": group, "model": canonical, "vendor": config.models[canonical].vendor, "usd": row.usd,
            "eur": row.eur, "unit": unit_label(i.unit), "to_cheapest": _ratio(row.usd, cheapest),
            "to_median": _ratio(row.usd, median), "price": i.price, "currency": i.currency,
            "conditions": row.as_dict()["conditions"],
            "basis": chosen.basis, "source": i.source_id, "via": chosen.via,
            "listed_as": i.model if i.model != canonical else "", "last_seen": i.last_seen,
            "fx_date": row.fx_date, "snapshot_id": i.snapshot_id}


# -- biggest moves -----------------------------------------------------------------------------

def _headlines(rows: list[PriceRow], dimensions: Sequence[str], aggregators: bool
               ) -> dict[tuple, tuple[PriceRow, str]]:
    """Each list's headline, keyed by (source, model, currency, dimension, unit): a list whose
    headline changed unit has not changed price."""
    lists: dict[tuple, list[PriceRow]] = {}
    for row in rows:
        i = row.interval
        if i.dimension in dimensions and (aggregators or not i.aggregator):
            lists.setdefault((i.source_id, i.model, i.currency, i.dimension), []).append(row)
    headlines = (headline_row(listed) for listed in lists.values())
    return {(*key, chosen.interval.unit): (chosen, basis) for key, (chosen, basis) in zip(lists, headlines)}


def moves(session: Session, at: datetime, days: int, *, dimensions: Sequence[str] = ("input", "output"),
          limit: int = 10, aggregators: bool = False) -> list[dict[str, Any]]:
    """The largest changes of each list's headline price between `at - days` and `at`, in the
    published currency (an exchange-rate move is not a price move), each dated by the first
    observation that showed the price now in force.  A moving alias's move is marked
    (`alias_moved`): the name may have moved to another model (pipeline.diff)."""
    before = _headlines(prices_at(session, at - timedelta(days=days)), dimensions, aggregators)
    after = _headlines(prices_at(session, at), dimensions, aggregators)
    found = []
    for key in before.keys() & after.keys():
        (old, old_basis), (new, new_basis) = before[key], after[key]
        old_price, new_price = old.interval.price, new.interval.price
        if old_price == new_price:
            continue
        change = ((new_price - old_price) / old_price * 100).quantize(RATIO_PLACES) if old_price else None
        found.append(({"vendor": new.interval.vendor, "model": key[1], "source": key[0], "dimension": key[3],
                       "old_price": old_price, "new_price": new_price, "currency": key[2],
                       "unit": unit_label(key[4]), "change_pct": change,
                       "alias_moved": alias_moved(key[1], old.interval, new.interval),
                       "new_usd": new.usd, "old_basis": old_basis, "new_basis": new_basis,
                       "old_snapshot_id": old.interval.snapshot_id, "new_snapshot_id": new.interval.snapshot_id},
                      new.interval))
    # Largest first; a price that was zero before moved the most.
    found.sort(key=lambda item: (-abs(item[0]["change_pct"]) if item[0]["change_pct"] is not None
                                 else -Decimal("Infinity"), item[0]["source"], item[0]["model"], item[0]["dimension"]))
    top = found[:limit]
    for move, interval in top:
        move["changed_at"] = price_since(session, interval, at)
    return [move for move, _ in top]


def price_since(session: Session, listed: PriceInterval, at: datetime) -> datetime:
    """When the headline price of `listed`'s list, in force at `at`, was first observed (after
    another price): a rewording of its conditions starts a new interval, not a new price."""
    intervals = [i for i in history(session, listed.model, dimension=listed.dimension, until=at)
                 if (i.source_id, i.model, i.currency, i.unit)
                 == (listed.source_id, listed.model, listed.currency, listed.unit)]
    steps, _ = headline_steps(intervals, lambda i: i.price)
    known = [(moment, value) for moment, value in steps if value is not None]
    final = known[-1][1]
    for index in range(len(known) - 1, 0, -1):
        if known[index - 1][1] != final:
            return known[index][0]
    return known[0][0]
