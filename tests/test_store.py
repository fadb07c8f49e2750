"""Interval storage and imports, on SQLite and PostgreSQL."""

import dataclasses
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, func, select

import scrapers
from db.models import Event, Observation, PriceInterval, Snapshot, SourceHealth
from pipeline.errors import FetchTimeout, InputError
from pipeline.fetch import Fetched
from pipeline.run import ingest, record_failure
from pipeline.store import store_observation
from tests.conftest import FIXTURES

LITELLM = FIXTURES / "litellm_core"


def at(month: int) -> datetime:
    return datetime(2026, month, 1, 8, tzinfo=timezone.utc)


def load(db, config, name: str, when: datetime):
    source = config.source("litellm")
    page = Fetched(source.urls[0], source.urls[0], 200, (LITELLM / name).read_bytes(), "application/json", when)
    result = ingest(db, config, source, [page], when)
    assert result.status == "ok", result.line()
    return result


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def history_rows(db):
    with db.session() as session:
        return sorted((i.model, i.dimension, str(i.price), i.first_seen, i.last_seen)
                      for i in session.scalars(select(PriceInterval)))


def event_rows(db):
    with db.session() as session:
        return sorted((e.kind, e.model, e.dimension, str(e.old_price), str(e.new_price), e.observed_at,
                       e.previous_observed_at) for e in session.scalars(select(Event)))


def test_unchanged_rerun_adds_no_price_rows(db, config):
    load(db, config, "2026-01.json", at(1))
    rows = count(db, PriceInterval)
    for month in (2, 3, 4):
        load(db, config, "2026-01.json", at(month))
    assert count(db, PriceInterval) == rows
    assert count(db, Snapshot) == 1
    with db.session() as session:
        interval = session.scalars(select(PriceInterval).where(PriceInterval.model == "gpt-4o")).first()
    assert interval.first_seen == at(1) and interval.last_seen == at(4)


def test_a_snapshot_keeps_the_first_sighting_of_its_bytes(db, config):
    """The same bytes seen again later keep one snapshot; seen earlier (a backfill), they move
    its first sighting back."""
    load(db, config, "2026-01.json", at(2))
    load(db, config, "2026-01.json", at(3))
    load(db, config, "2026-01.json", at(1))
    with db.session() as session:
        snapshots = session.scalars(select(Snapshot)).all()
    assert [s.first_seen_at for s in snapshots] == [at(1)]


def test_import_twice_changes_nothing(db, config):
    load(db, config, "2026-01.json", at(1))
    load(db, config, "2026-02.json", at(2))
    before = (history_rows(db), event_rows(db), count(db, Observation))
    result = load(db, config, "2026-02.json", at(2))
    assert result.events == []
    assert (history_rows(db), event_rows(db), count(db, Observation)) == before


def test_the_same_bytes_read_by_a_newer_parser_replace_their_prices(db, config, monkeypatch):
    """A re-import of the same page at the same moment by a newer parser version keeps one
    observation and re-derives history from what the new version reads."""
    load(db, config, "2026-01.json", at(1))
    first_set = quote_set_of(db, observation=1)
    old = scrapers.get_parser("litellm")

    def halve_deepseek_input(page):
        return [dataclasses.replace(q, price=q.price / 2)
                if (q.model, q.dimension) == ("deepseek/deepseek-chat", "input") else q for q in old.parse(page)]

    monkeypatch.setitem(scrapers._REGISTRY, "litellm", dataclasses.replace(old, version=old.version + 1,
                                                                           parse=halve_deepseek_input))
    load(db, config, "2026-01.json", at(1))
    with db.session() as session:
        [observation] = session.scalars(select(Observation)).all()
        interval = session.scalars(select(PriceInterval).where(PriceInterval.model == "deepseek/deepseek-chat",
                                                               PriceInterval.dimension == "input")).one()
    assert observation.parser_version == old.version + 1 and observation.quote_set_id != first_set
    assert interval.price == Decimal("0.135") and interval.first_seen == at(1)


def quote_set_of(db, *, observation: int) -> int:
    with db.session() as session:
        return session.get(Observation, observation).quote_set_id


def test_imports_leave_the_live_health_counters_alone(db, config):
    """A backfill (any date, good page or bad) says nothing of the source today: `status` and
    the operator alerts follow the live runs only."""
    source = config.source("litellm")
    record_failure(db, source, FetchTimeout("no answer in 30s"), [], at=at(5))  # a live run failed in May
    load(db, config, "2026-02.json", at(2))
    load(db, config, "2026-01.json", at(1))  # out of date order, as a backfill goes
    bad = Fetched(source.urls[0], source.urls[0], 200, b'{"note": "moved"}', "application/json", at(3))
    assert ingest(db, config, source, [bad], at(3)).status == "failed"
    with db.session() as session:
        health = session.get(SourceHealth, "litellm")
        assert (health.last_success_at, health.last_failure_at, health.consecutive_failures) == (None, at(5), 1)
        assert health.last_failure_reason == "timeout"


def test_other_bytes_at_an_observed_moment_are_refused(db, config):
    load(db, config, "2026-01.json", at(1))
    source = config.source("litellm")
    with pytest.raises(InputError, match="already has an observation at .* with different content"):
        with db.transaction() as session:
            store_observation(session, config, source, observed_at=at(1), snapshots=[], parser="litellm",
                              parser_version=1, priced=[])
    assert count(db, Observation) == 1


def test_cut_raise_and_new_model_events(db, config):
    for month, name in ((1, "2026-01.json"), (2, "2026-02.json"), (3, "2026-03.json")):
        load(db, config, name, at(month))
    events = event_rows(db)
    assert ("cut", "deepseek/deepseek-chat", "input", "0.27", "0.14", at(2), at(1)) in events
    assert ("raise", "gpt-4o", "output", "10", "12", at(3), at(2)) in events
    assert ("new_model", "qwen/qwen-max", "", "None", "None", at(2), None) in events
    assert len([e for e in events if e[0] in ("cut", "raise")]) == 3


def test_a_change_seen_earlier_keeps_its_event_and_id(db, config):
    """February's prices, backfilled from a copy saved mid-January, date the same cuts earlier:
    the events move (same ids, so no recipient hears of them twice) instead of being remade."""
    load(db, config, "2026-01.json", at(1))
    load(db, config, "2026-02.json", at(2))
    with db.session() as session:
        before = {(e.kind, e.model, e.dimension): (e.id, e.observed_at) for e in session.scalars(select(Event))}
    source = config.source("litellm")
    mid_january = at(1).replace(day=15)
    saved = Fetched(source.urls[0], source.urls[0], 200, (LITELLM / "2026-02.json").read_bytes() + b"\n",
                    "application/json", mid_january)
    assert ingest(db, config, source, [saved], mid_january).status == "ok"
    with db.session() as session:
        after = {(e.kind, e.model, e.dimension): (e.id, e.observed_at) for e in session.scalars(select(Event))}
    assert after.keys() == before.keys() and len(after) > 1
    assert all(after[k] == (before[k][0], mid_january) for k in after)


@pytest.mark.parametrize("order", [(1, 2, 3), (3, 1, 2), (2, 3, 1)])
def test_any_import_order_gives_the_same_history(tmp_path, db, config, order):
    names = {1: "2026-01.json", 2: "2026-02.json", 3: "2026-03.json"}
    for month in order:
        load(db, config, names[month], at(month))
    expected_cuts = {("cut", "deepseek/deepseek-chat", "input"), ("cut", "deepseek/deepseek-chat", "output"),
                     ("raise", "gpt-4o", "output"), ("new_model", "qwen/qwen-max", "")}
    assert {e[:3] for e in event_rows(db)} == expected_cuts
    with db.session() as session:
        gpt = session.scalars(select(PriceInterval).where(PriceInterval.model == "gpt-4o",
                                                          PriceInterval.dimension == "output")
                              .order_by(PriceInterval.first_seen)).all()
    assert [(str(i.price), i.first_seen, i.last_seen) for i in gpt] == [("10", at(1), at(2)), ("12", at(3), at(3))]


def test_money_round_trips_exactly(db, config):
    load(db, config, "2026-01.json", at(1))
    with db.session() as session:
        prices = {i.model: i.price for i in session.scalars(select(PriceInterval).where(
            PriceInterval.dimension == "cached_input"))}
    assert str(prices["deepseek/deepseek-chat"]) == "0.07"


def test_backfills_to_and_fro_never_remake_an_event(db, config):
    """January's list at months 1 and 5, February's at 7 and 3 (backfilled in that order): the
    cuts of month 7 keep their events; the month-3 ones are new.  A first-come matching once
    gave month 7's ids to month 3 and made month 7's cuts again, mailed twice."""
    def load_as(name, month):
        source = config.source("litellm")
        page = Fetched(source.urls[0], source.urls[0], 200, (LITELLM / name).read_bytes() + b" " * month,
                       "application/json", at(month))
        assert ingest(db, config, source, [page], at(month)).status == "ok"

    load_as("2026-01.json", 1)
    load_as("2026-02.json", 7)
    cuts_at = select(Event.id).where(Event.kind == "cut", Event.observed_at == bindparam("at"))
    with db.session() as session:
        month_7 = set(session.scalars(cuts_at, {"at": at(7)}))
    load_as("2026-01.json", 5)
    load_as("2026-02.json", 3)
    with db.session() as session:
        assert set(session.scalars(cuts_at, {"at": at(7)})) == month_7 and len(month_7) == 2
        assert len(set(session.scalars(cuts_at, {"at": at(3)})) - month_7) == 2, "month 3's cuts are new events"


def alias_pages(db, config):
    """`store(day, price, serves)`: one observation of acme-large-latest's input price on the
    mistral source (naming the model behind the alias when `serves` is given), as a parser
    would give it; `recorded()`: its price moves as (id, kind, day, old, new, weighed)."""
    from pipeline.archive import archive
    from pipeline.normalise import normalise

    source = config.source("mistral")

    def store(day: int, price: str, serves: str | None) -> None:
        when = datetime(2026, 5, day, tzinfo=timezone.utc)
        priced = [normalise(scrapers.Quote("acme-large-latest", "input", Decimal(price), "USD",
                                           {"serves": serves} if serves else {}))]
        with db.transaction() as session:
            page = archive(session, f"page {day}".encode(), url=source.urls[0], content_type="text/html", seen_at=when)
            store_observation(session, config, source, observed_at=when, snapshots=[page], parser="mistral",
                              parser_version=4, priced=priced)

    def recorded() -> list[tuple]:
        with db.session() as session:
            return [(e.id, e.kind, e.observed_at.day, str(e.old_price), str(e.new_price), e.verdict is not None)
                    for e in session.scalars(select(Event).where(Event.kind.in_(("cut", "raise", "alias_change")))
                                             .order_by(Event.id))]

    return store, recorded


def test_a_page_read_again_as_naming_the_model_behind_an_alias_keeps_its_event_id(db, config):
    """acme-large-latest from 2 to 1, the pages read by a parser that named no model behind it:
    an alias change.  Read again by one that finds "Acme Large 2" on both pages, it is a cut,
    weighed, under the same id (a new id would be mailed as news); and back again, the same.
    A re-read that also corrects the price keeps the id too."""
    store, recorded = alias_pages(db, config)
    store(1, "2", None)
    store(2, "1", None)
    [(event_id, *_)] = recorded()
    assert recorded() == [(event_id, "alias_change", 2, "2", "1", False)]
    store(1, "2", "Acme Large 2")
    store(2, "1", "Acme Large 2")
    assert recorded() == [(event_id, "cut", 2, "2", "1", True)]
    store(2, "1", "Acme Large 3")
    assert recorded() == [(event_id, "alias_change", 2, "2", "1", False)]
    store(2, "1.5", "Acme Large 2")
    assert recorded() == [(event_id, "cut", 2, "2", "1.5", True)]


def test_a_backfill_that_moves_a_price_move_and_changes_its_kind_keeps_its_event_id(db, config):
    """An alias change recorded on day 3 (day 3's page names no model); a page of day 2 found
    later names the same model as day 1 at day 3's price: the move is a cut, on day 2, still
    under its id."""
    store, recorded = alias_pages(db, config)
    store(1, "2", "Acme Large 2")
    store(3, "1", None)
    [(event_id, *_)] = recorded()
    store(2, "1", "Acme Large 2")
    assert recorded() == [(event_id, "cut", 2, "2", "1", True)]


def test_events_that_change_kind_at_their_moment_keep_their_ids_whatever_else_moves(db, config):
    """The record as an older rule left it: day 4's move recorded as a cut, day 2's cut missing.
    Re-deriving makes day 4's an alias change under its id, and day 2's a new cut: the record
    of day 4 is not moved to day 2 first, which would give day 4's move a new id."""
    from sqlalchemy import delete, update

    store, recorded = alias_pages(db, config)
    for day, price, serves in ((1, "2", "Acme Large 2"), (2, "1", "Acme Large 2"), (3, "2", "Acme Large 2"),
                               (4, "1", None)):
        store(day, price, serves)
    with db.transaction() as session:
        session.execute(delete(Event).where(Event.kind == "cut"))
        session.execute(update(Event).where(Event.kind == "alias_change").values(kind="cut"))
    older = {day: event_id for event_id, _, day, *_ in recorded()}
    store(5, "1", None)
    now = {day: (event_id, kind) for event_id, kind, day, *_ in recorded()}
    assert now[4] == (older[4], "alias_change") and now[3] == (older[3], "raise")
    assert now[2][1] == "cut" and now[2][0] not in older.values()


def test_a_cut_moved_by_a_backfill_is_weighed_again_at_its_new_moment(db, config):
    from pipeline.evidence import weigh_new_cuts

    store, recorded = alias_pages(db, config)
    store(1, "2", "Acme Large 2")
    store(10, "1", "Acme Large 2")

    def held() -> str:
        with db.session() as session:
            cut = session.scalar(select(Event).where(Event.kind == "cut"))
            return next(r["summary"] for r in cut.evidence if r["test"] == "durability")

    with db.transaction() as session:
        weigh_new_cuts(session, config, list(session.scalars(select(Event.id).where(Event.kind == "cut"))))
    assert held().startswith("held 0 days")
    store(5, "1", "Acme Large 2")
    assert held().startswith("held 5 days")


def test_a_change_moved_by_a_backfill_keeps_its_id_before_its_old_moment_is_re_kinded(db, config):
    """A rise from 2 to 3 recorded on day 3.  A page of day 2 found later shows the 3 already,
    naming another model: the move from 2 to 3, an alias change now, is on day 2 under the rise's
    id (it was mailed as that), and day 3's alias naming another model at 3 is the new event.
    Taking the id at its old moment first would mail the move again and never the new one."""
    store, recorded = alias_pages(db, config)
    store(1, "2", "Acme Large 2")
    store(3, "3", "Acme Large 2")
    [(rise, *_)] = recorded()
    store(2, "3", "Acme Large 3")
    [moved, new] = recorded()
    assert moved == (rise, "alias_change", 2, "2", "3", False) and new[1:] == ("alias_change", 3, "3", "3", False)


def test_a_cut_moved_by_a_backfill_is_not_taken_by_an_earlier_change_of_another_kind(db, config):
    """A stale record (day 2's alias change from 2 to 1 missing) and a backfill of day 4 that
    moves the cut from 2 to 1 from day 5 to day 4: the cut keeps its id, and the alias change
    of the same prices on day 2, matched only after every change has looked in its own kind,
    is the new event."""
    from sqlalchemy import delete

    store, recorded = alias_pages(db, config)
    for day, price, serves in ((1, "2", "Acme Large 1"), (2, "1", "Acme Large 2"), (3, "2", "Acme Large 2"),
                               (5, "1", "Acme Large 2")):
        store(day, price, serves)
    with db.transaction() as session:
        session.execute(delete(Event).where(Event.kind == "alias_change"))
    [cut] = [event_id for event_id, kind, *_ in recorded() if kind == "cut"]
    store(4, "1", "Acme Large 2")
    assert {kind: (event_id, day) for event_id, kind, day, *_ in recorded()}["cut"] == (cut, 4)
