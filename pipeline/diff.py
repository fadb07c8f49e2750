"""Stage 6, diff: the history of one source, walked in time order, as intervals and events.

This is a pure function of the source's successful observations in date order, so an
import out of order, or the same import twice, gives the history the vendor really had,
and the same events, once.  Rules:

- the source's first observation is the baseline: no events;
- `cut` / `raise` when a price point's price changes, `promo_start` / `promo_end` when
  its promotion flag does; compared as Decimals in the published currency, so an
  exchange-rate move is never an event;
- two observations of the very same raw content (a re-parse by a newer parser) may
  correct the intervals but never emit events;
- `new_model` for a model the source did not list before; `withdrawn` only after the
  model was absent from `withdrawn_after` consecutive successful observations;
- `alias_change`, in place of `cut` or `raise`, when the price of a moving alias
  (`mistral-large-latest`, `chatgpt-4o-latest`) changes, unless the page names the model it
  serves, and names the same one before and after: the name may have moved to another model,
  which is no price cut.  A moving alias that names another model at the same price is an
  `alias_change` too.  Promotions and tier changes of an alias are told as of any price;
- `tier_change` when a price point appears while another of the same model, dimension
  and currency disappears (its conditions, such as tier bounds, moved), or when its unit
  changes (per image to per 1M image tokens): prices in two units are never compared, so
  such a change is no cut or raise.  Nor are prices of two services: a batch price that
  appears as the standard one disappears is a tier_change (carrying both prices), not a cut.
  Each new point takes over one vanished point (_replacements), so that a tier bound moved at
  unchanged prices pairs each tier with its own price, not with the dearest one; a point left
  over (a split, a tier added) is compared with the nearest price (_closest).
Failed or drifted parses never become observations, so they can produce nothing here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.models import PriceInterval

Key = tuple[str, str, str, str]  # model, dimension, currency, conditions_key


@dataclass(frozen=True)
class Point:
    price: Decimal
    list_price: Decimal | None
    promo: bool
    unit: str
    snapshot_id: int
    conditions: str = "{}"  # the full conditions, including descriptive ones such as peak hours


@dataclass(frozen=True)
class Sighting:
    observation_id: int
    observed_at: datetime
    content_digest: str
    parser_version: int
    points: dict[Key, Point]


@dataclass
class Interval:
    key: Key
    point: Point
    first: Sighting
    last: Sighting


@dataclass
class Change:
    kind: str
    key: Key
    at: Sighting
    previous_at: datetime | None
    old: Point | None = None
    new: Point | None = None
    detail: dict = field(default_factory=dict)

    @property
    def natural_key(self) -> tuple:
        return (*self.key, self.kind, self.at.observed_at)

    @property
    def change_pct(self) -> Decimal | None:
        if self.old is None or self.new is None or not self.old.price or self.old.unit != self.new.unit:
            return None
        return ((self.new.price - self.old.price) / self.old.price * 100).quantize(Decimal("0.01"))


_MOVING_ALIAS = re.compile(r"(?:^|[-_./:~])latest(?:$|[-_./:])", re.I)


def moving_alias(model: str) -> bool:
    """Whether a model id names whatever the vendor's newest model of a line is
    (`mistral-large-latest`, `chatgpt-4o-latest`, `kimi-latest-8k`) rather than one model."""
    return _MOVING_ALIAS.search(model) is not None


def name_key(name: str) -> str:
    """A name as names are compared: `Mistral-large` and `Mistral Large`, `Moonshot AI` and
    `moonshotai` are one."""
    return re.sub(r"[\W_]+", "", name).casefold()


def _served(conditions: str) -> str | None:
    """The model a moving alias named on the page (the parser's `serves` condition), if it said."""
    served = json.loads(conditions).get("serves") if conditions != "{}" else None
    return None if served is None else name_key(str(served))


def names_another_model(model: str, old_conditions: str, new_conditions: str) -> bool:
    """Whether `model` is a moving alias whose page names the model it serves before and after
    (the conditions, as stored), and names two different ones."""
    if not moving_alias(model):
        return False
    before, now = _served(old_conditions), _served(new_conditions)
    return before is not None and now is not None and before != now


def alias_moved(model: str, old: Point | PriceInterval, new: Point | PriceInterval) -> bool:
    """Whether this change of a price point may be its alias now naming another model: the page
    names two models, or the price moved and the page does not name the same model on both sides.
    (Stored intervals carry the same price and conditions as the points they were made of.)"""
    if not moving_alias(model):
        return False
    before, now = _served(old.conditions), _served(new.conditions)
    if before is not None and now is not None:
        return before != now  # the page says whether it moved
    return old.price != new.price


def _without_serves(conditions: str) -> dict:
    return {k: v for k, v in json.loads(conditions).items() if k != "serves"}


def _same_price(a: Point, b: Point) -> bool:
    return (a.price == b.price and a.list_price == b.list_price and a.promo == b.promo and a.unit == b.unit
            and a.conditions == b.conditions)


def _price_changes(key: Key, at: Sighting, previous_at: datetime, old: Point, new: Point) -> list[Change]:
    if old.unit != new.unit:
        return [Change("tier_change", key, at, previous_at, old, new,
                       {"old_conditions": old.conditions, "old_unit": old.unit, "new_unit": new.unit})]
    changes = []
    if alias_moved(key[0], old, new):
        changes.append(Change("alias_change", key, at, previous_at, old, new))
    elif old.price != new.price:
        changes.append(Change("cut" if new.price < old.price else "raise", key, at, previous_at, old, new))
    if new.promo and not old.promo:
        changes.append(Change("promo_start", key, at, previous_at, old, new))
    if old.promo and not new.promo:
        changes.append(Change("promo_end", key, at, previous_at, old, new))
    return changes


SERVICE_CONDITIONS = ("batch", "tier", "fine_tuned", "provider", "cache_ttl")


def service_of(conditions_key: str) -> tuple:
    """What a price buys besides the tokens (batch, a service tier, fine-tuning, the host an
    aggregator routes to, how long a cache write lasts): only prices of the same service are
    compared as a cut or raise.  A time window is no other service: a flat price split into
    dearer peak and off-peak prices is a raise for every customer."""
    conditions = json.loads(conditions_key)
    return tuple(conditions.get(name) for name in SERVICE_CONDITIONS)


SPECIAL_SERVICE_TIERS = {"flex", "priority", "free", "low_latency"}


def is_standard(conditions: dict) -> bool:
    """Conditions a customer pays by default.  Context-length tiers, peak hours and thinking
    modes are standard; batch, fine-tuned, off-peak and flex / priority / free / low-latency
    service tiers are not (nor is a promotion, a flag on the price: see report.compare.headline)."""
    if conditions.get("batch") or conditions.get("fine_tuned"):
        return False
    if conditions.get("tier") in SPECIAL_SERVICE_TIERS:
        return False
    return conditions.get("time_window") in (None, "peak", "standard")


TIER_BOUNDS = ("context_tokens", "input_tokens", "output_tokens", "time_window", "time_window_hours")


def _family(conditions_key: str) -> str:
    """The conditions besides tier bounds (a mode, a region, a resolution): the points of one
    price list that a vendor tiers, apart from the parallel lists beside them."""
    conditions = json.loads(conditions_key)
    return json.dumps({k: v for k, v in conditions.items() if k not in TIER_BOUNDS}, sort_keys=True)


def _shared(conditions: dict, other: dict) -> int:
    return sum(1 for k, v in conditions.items() if other.get(k) == v)


def _replacements(appearing: list[Key], vanished: set[Key], points: dict[Key, Point],
                  open_: dict[Key, Interval]) -> dict[Key, Key]:
    """The vanished price point each appearing one takes over, one for one, among points of the
    same model, dimension, currency and service: most conditions in common; then, when as many
    points appear as vanished, the same place in price order (tiers whose bounds moved, their
    prices unchanged or moved together), then the same price.  When they are not as many: a
    standard price (is_standard) before the others, so that a flat price replacing peak and
    off-peak ones takes over the peak one, then the same price (a tier added or dropped beside
    unchanged ones), then the nearest place in price order, each side's span counted from 0 to
    1 (three tiers merged into two, every price cut: the cheapest to the cheapest, the dearest
    to the dearest; one flat price replacing context tiers takes over the base tier, compare's
    headline).  An appearing point left over (a tier split in two) is matched by _closest."""
    # A point's place in price order counts within its group and family: the points that differ
    # from it in tier bounds alone (a thinking mode's context tiers, not the non-thinking ones).
    group = {key: (*key[:3], service_of(key[3]), _family(key[3])) for key in (*appearing, *vanished)}

    def ranks(keys, price) -> dict[Key, int]:
        by_group: dict[tuple, list[Key]] = {}
        for key in keys:
            by_group.setdefault(group[key], []).append(key)
        return {key: rank for members in by_group.values()
                for rank, key in enumerate(sorted(members, key=lambda k: (price(k), k)))}

    new_rank = ranks(appearing, lambda k: points[k].price)
    old_rank = ranks(vanished, lambda k: open_[k].point.price)
    sizes: dict[tuple, list[int]] = {}
    for side, keys in enumerate((appearing, vanished)):
        for key in keys:
            sizes.setdefault(group[key], [0, 0])[side] += 1
    candidates = []
    for new in appearing:
        new_point, new_conditions = points[new], json.loads(new[3])
        aligned = sizes[group[new]][0] == sizes[group[new]][1]
        for old in vanished:
            if group[old][:4] != group[new][:4]:
                continue
            old_point, old_conditions = open_[old].point, json.loads(old[3])
            same_price = (new_point.price, new_point.unit) == (old_point.price, old_point.unit)
            shared, alike = _shared(new_conditions, old_conditions), -abs(len(old_conditions) - len(new_conditions))
            if aligned:
                score = (shared, new_rank[new] == old_rank[old], same_price, alike, old_point.price)
            else:  # the place in price order, as a share of each side's span (the cheapest 0, the dearest 1)
                new_size, old_size = sizes[group[new]][0], sizes[group[old]][1]
                apart = abs(new_rank[new] / max(new_size - 1, 1) - old_rank[old] / max(old_size - 1, 1))
                score = (shared, is_standard(old_conditions), same_price, -apart, is_standard(new_conditions), alike,
                         -old_point.price)
            candidates.append((score, new, old))
    taken: dict[Key, Key] = {}
    for _score, new, old in sorted(candidates, reverse=True):
        if new not in taken and old not in taken.values():
            taken[new] = old
    return taken


def _closest(key: Key, price: Decimal, candidates: list[Key], open_: dict) -> Key:
    """Of the price points that vanished, the one a new point at `price` replaces: most
    conditions in common, then the nearest price (a tier added below $2 and $4 tiers is
    compared with the $2 one, not read as a cut from $4), then the standard (highest) price,
    since off-peak and promotional prices are the exceptions."""
    new_conditions = json.loads(key[3])

    def score(candidate: Key) -> tuple:
        old_conditions, old_price = json.loads(candidate[3]), open_[candidate].point.price
        distance = abs(price - old_price) / max(price, old_price) if max(price, old_price) > 0 else 0
        return (_shared(new_conditions, old_conditions), -abs(len(old_conditions) - len(new_conditions)),
                -distance, old_price, candidate)

    return max(candidates, key=score)


def walk(sightings: list[Sighting], *, withdrawn_after: int = 3) -> tuple[list[Interval], list[Change]]:
    intervals: list[Interval] = []
    changes: list[Change] = []
    open_: dict[Key, Interval] = {}
    absent_runs: dict[str, int] = {}
    listed: set[str] = set()  # models listed now (not withdrawn)
    previous: Sighting | None = None

    for sighting in sorted(sightings, key=lambda s: s.observed_at):
        if previous is not None and sighting.points is previous.points and not absent_runs:
            # The very same prices as the run before, with nothing pending: only extend.
            for interval in open_.values():
                interval.last = sighting
            previous = sighting
            continue
        baseline = previous is None
        reparse = previous is not None and previous.content_digest == sighting.content_digest
        quiet = baseline or reparse
        present_models = {key[0] for key in sighting.points}
        vanished = {key for key in open_ if key not in sighting.points}
        replacements = {} if quiet else _replacements(
            [key for key in sighting.points if key not in open_ and key[0] in listed], vanished, sighting.points, open_)

        for key, point in sighting.points.items():
            current = open_.get(key)
            if current is not None and _same_price(current.point, point):
                current.last = sighting
                continue
            interval = Interval(key, point, sighting, sighting)
            intervals.append(interval)
            open_[key] = interval
            if quiet:
                continue
            model = key[0]
            if current is not None:
                old = current.point
                changes += _price_changes(key, sighting, current.last.observed_at, old, point)
                if (old.conditions != point.conditions and old.unit == point.unit
                        and _without_serves(old.conditions) != _without_serves(point.conditions)):
                    changes.append(Change("tier_change", key, sighting, current.last.observed_at, old, point,
                                          {"old_conditions": old.conditions}))
            elif model in listed:
                replaced = [k for k in vanished if k[:3] == key[:3]]
                if replaced:
                    same_service = [k for k in replaced if service_of(k[3]) == service_of(key[3])]
                    before_key = replacements.get(key) or _closest(key, point.price, same_service or replaced, open_)
                    before = open_[before_key]
                    changes.append(Change("tier_change", key, sighting, before.last.observed_at, before.point, point,
                                          {"old_conditions": before.point.conditions,
                                           "vanished": sorted(open_[k].point.conditions for k in replaced)}))
                    if service_of(before_key[3]) == service_of(key[3]) and before.point.unit == point.unit:
                        changes += _price_changes(key, sighting, before.last.observed_at, before.point, point)

        for model in sorted(present_models - listed):
            listed.add(model)
            absent_runs.pop(model, None)
            if not quiet:
                changes.append(Change("new_model", (model, "", "", ""), sighting, None))

        for model in sorted(listed - present_models):
            absent_runs[model] = absent_runs.get(model, 0) + 1
            if absent_runs[model] >= withdrawn_after:
                listed.discard(model)
                gone = [k for k in open_ if k[0] == model]
                last_seen = max(open_[k].last.observed_at for k in gone) if gone else None
                first_absent = min((s for s in sightings if last_seen and s.observed_at > last_seen),
                                   key=lambda s: s.observed_at, default=sighting)
                for k in gone:
                    del open_[k]
                if not baseline:
                    changes.append(Change("withdrawn", (model, "", "", ""), first_absent, last_seen))
        for model in present_models:
            absent_runs.pop(model, None)
        for key in vanished:
            if key[0] in present_models and key in open_:
                # The model is still listed but this price point is gone: it ended here.
                del open_[key]
        previous = sighting
    _mark_reversals(changes)
    return intervals, changes


def _mark_reversals(changes: list[Change]) -> None:
    """A cut later undone by a raise back to (at least) the old price is a reversal, on both;
    not across an alias change, after which the raise may be another model's."""
    by_key: dict[Key, list[Change]] = {}
    for change in changes:
        if change.kind in ("cut", "raise", "alias_change"):
            by_key.setdefault(change.key, []).append(change)
    for series in by_key.values():
        for earlier, later in zip(series, series[1:]):
            if earlier.kind == "cut" and later.kind == "raise" and later.new.price >= earlier.old.price:
                earlier.detail["reversed_by_raise_at"] = later.at.observed_at.isoformat()
                later.detail["reverses_cut_at"] = earlier.at.observed_at.isoformat()
