"""A stored cut's verdict is the one its archive gives, whatever the order it was filled in.

`events`, the report and the alert rules' `verdicts` filter read the verdict stored with each
cut (pipeline.store weighs it when the cut is stored).  It used to be weighed once: a home
list imported after the export list's cut, a source stored after another in the same run, or
a cut that went on to hold `held_days`, left the stored verdict at what the archive held at
first, while `explain` said otherwise.  Each test here failed then."""

import functools
import json
import random
import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from db.models import Event
from db.session import Database
from pipeline.evidence import weigh_event
from pipeline.fetch import Fetched
from pipeline.run import ingest
from tests.test_evidence_inputs import price, store

DAY = datetime(2026, 7, 17, 8, tzinfo=timezone.utc)  # ECB: 7.7501 CNY and 1.1435 USD per EUR


def stored_and_fresh(db, config) -> list[tuple]:
    """Each cut's stored verdict and home-vs-export reading, beside what weighing it now gives."""
    with db.session() as session:
        found = []
        for event in session.scalars(select(Event).where(Event.kind == "cut").order_by(Event.observed_at)):
            verdict, results = weigh_event(session, config, event)
            stored = {t["test"]: t["summary"] for t in event.evidence or []}
            fresh = {r.test: r.summary for r in results}
            found.append((event.model, event.observed_at, event.verdict, stored.get("home_vs_export"),
                          verdict, fresh["home_vs_export"]))
        return found


def assert_current(db, config) -> list[tuple]:
    found = stored_and_fresh(db, config)
    for model, at, *stored, verdict, home in found:
        assert tuple(stored) == (verdict, home), (model, at)
    return found


def read(db, config, source_id: str, when, content: bytes, priced, version: int = 1) -> None:
    """Store `priced` as what parser `version` read from `content` (the same bytes read again by
    a newer parser re-read that observation), and weigh its new cuts, as ingest does."""
    from pipeline.archive import archive
    from pipeline.evidence import weigh_new_cuts
    from pipeline.store import store_observation

    with db.transaction() as session:
        snapshot = archive(session, content, url="https://x", content_type=None, seen_at=when)
        _, events = store_observation(session, config, config.source(source_id), observed_at=when,
                                      snapshots=[snapshot], parser="test", parser_version=version, priced=priced)
        weigh_new_cuts(session, config, [e.id for e in events])


# -- another list stored after the cut ------------------------------------------------------------


def test_home_list_imported_after_the_export_cut(db, config):
    """Z.ai cuts GLM-5 output from $4.00 to $3.20 on day 10; bigmodel.cn's list of day 5
    (30 CNY, $4.43) is imported afterwards.  The stored verdict said "no zhipu price in force"
    and inconclusive; weighed on the archive, the home price is 38% above the export one."""
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zai", DAY + timedelta(days=10), [price("glm-5", "3.20")])
    store(db, config, "zhipu", DAY + timedelta(days=5), [price("glm-5", "30", "CNY")])
    (found,) = assert_current(db, config)
    assert "margin +38" in found[3] and found[2] == "dumping-consistent", found


def test_a_later_home_list_moves_the_verdict_back(db, config):
    """The reverse: a cut weighed on a home price that a backfill then shows had already
    changed by the cut's moment (30 CNY, then 20 CNY from day 8)."""
    store(db, config, "zhipu", DAY, [price("glm-5", "30", "CNY")])
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zai", DAY + timedelta(days=10), [price("glm-5", "3.20")])
    assert stored_and_fresh(db, config)[0][2] == "dumping-consistent"
    store(db, config, "zhipu", DAY + timedelta(days=8), [price("glm-5", "20", "CNY")])  # itself a cut, at home
    found = [cut for cut in assert_current(db, config) if cut[1] == DAY + timedelta(days=10)]
    assert len(found) == 1 and "export not below the home price" in found[0][3], found


def test_a_home_list_withdrawn_before_the_cut(db, config):
    """A backfill of a home list that no longer shows the model, between its last price and
    the cut: from then on no home price is in force, though no interval of it changed."""
    store(db, config, "zhipu", DAY, [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")])
    store(db, config, "zhipu", DAY + timedelta(days=20), [price("glm-4.6", "10", "CNY")])
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zai", DAY + timedelta(days=10), [price("glm-5", "3.20")])
    store(db, config, "zhipu", DAY + timedelta(days=8), [price("glm-4.6", "10", "CNY")])
    (found,) = assert_current(db, config)
    assert "no zhipu price in force" in found[3], found


histories = st.lists(st.sampled_from(("3.20", "4.00", "5.00")), min_size=2, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=histories, home=st.lists(st.sampled_from(("20", "30", None)), min_size=1, max_size=4),
       seed=st.integers(0, 2 ** 16))
def test_any_import_order_stores_the_verdicts_weighing_gives(config, export, home, seed):
    """Two lists of one vendor (Z.ai export, bigmodel.cn home), a price every few days each,
    stored in any order: every stored verdict is the one weighing the archive gives."""
    observations = [("zai", DAY + timedelta(days=3 * n), [price("glm-5", value)]) for n, value in enumerate(export)]
    observations += [("zhipu", DAY + timedelta(days=3 * n + 1),
                      [price("glm-4.6", "10", "CNY")] + ([price("glm-5", value, "CNY")] if value else []))
                     for n, value in enumerate(home)]
    random.Random(seed).shuffle(observations)
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{Path(directory) / 'order.sqlite'}")
        for source_id, when, priced in observations:
            store(database, config, source_id, when, priced)
        assert_current(database, config)
        database.dispose()


# -- a cut that went on to hold ---------------------------------------------------------------------


def litellm_page(alpha: int, beta: int = 7) -> bytes:
    """A LiteLLM list of five models or more (what the parser wants), alpha's output price in
    millionths of a dollar per token."""
    models = {"alpha": alpha, "beta": beta, **{f"steady-{n}": 1 for n in range(4)}}
    return json.dumps({model: {"mode": "chat", "litellm_provider": "acme", "input_cost_per_token": "1e-6",
                               "output_cost_per_token": f"{value}e-6"} for model, value in models.items()}).encode()


def run(db, config, content: bytes, day: int) -> None:
    source = config.source("litellm")
    when = DAY + timedelta(days=day)
    page = Fetched(source.urls[0], source.urls[0], 200, content, "application/json", when)
    assert ingest(db, config, source, [page], when, live=True).status == "ok"


def alpha_cut(db) -> tuple[str, str]:
    with db.session() as session:
        event = session.scalar(select(Event).where(Event.kind == "cut", Event.model == "alpha",
                                                   Event.dimension == "output"))
        return event.verdict, {t["test"]: t for t in event.evidence}["durability"]["points_to"]


def test_a_cut_that_held_90_days_on_unchanged_pages(db, config):
    """Unchanged pages are stored as repeats (store_repeat), with no re-derivation: the cut
    of day 1 held 94 days by day 95, and its durability points to advantage."""
    run(db, config, litellm_page(3), 0)
    run(db, config, litellm_page(2), 1)
    assert alpha_cut(db) == ("inconclusive", None)
    for day in (2, 50, 90):
        run(db, config, litellm_page(2), day)
    assert alpha_cut(db) == ("inconclusive", None)
    run(db, config, litellm_page(2), 95)
    assert alpha_cut(db) == ("advantage-consistent", "advantage")
    assert_current(db, config)


def test_a_cut_that_held_90_days_while_another_price_moved(db, config):
    """The same through a full re-derivation: on day 95 another model's price changes."""
    run(db, config, litellm_page(3), 0)
    run(db, config, litellm_page(2), 1)
    run(db, config, litellm_page(2, beta=6), 95)
    assert alpha_cut(db) == ("advantage-consistent", "advantage")
    assert_current(db, config)


def test_a_cut_that_ended_says_so_in_any_order(db, another_db, config):
    """Z.ai's cut of day 10 is last seen that day: the next observation, on day 40, shows
    another price.  Stored in time order, its durability kept "held 0 days so far: too early to
    tell" (weighed on day 10); stored the other way round, it said it had ended.  (The real
    DeepSeek cuts of 2025-02-26, next seen changed on 2025-12-20, did the same.)"""
    observations = [(DAY, "4.00"), (DAY + timedelta(days=10), "3.20"), (DAY + timedelta(days=40), "3.00")]
    for database, order in ((db, observations), (another_db, observations[::-1])):
        for when, value in order:
            store(database, config, "zai", when, [price("glm-5", value)])
    said = []
    for database in (db, another_db):
        with database.session() as session:
            event = session.scalar(select(Event).where(Event.kind == "cut").order_by(Event.observed_at).limit(1))
            fresh = {r.test: r.summary for r in weigh_event(session, config, event)[1]}["durability"]
            said.append(({t["test"]: t["summary"] for t in event.evidence}["durability"], fresh))
    assert said[0] == said[1], said
    assert said[0][0] == said[0][1] and "next observation, on 2026-08-26" in said[0][0], said


def test_a_backfill_that_shortens_a_held_cut(db, config):
    """An import that shows the cut undone before day 90 takes the advantage back."""
    run(db, config, litellm_page(3), 0)
    run(db, config, litellm_page(2), 1)
    run(db, config, litellm_page(2), 95)
    assert alpha_cut(db)[0] == "advantage-consistent"
    source = config.source("litellm")
    when = DAY + timedelta(days=40)
    page = Fetched(source.urls[0], source.urls[0], 200, litellm_page(4), "application/json", when)
    assert ingest(db, config, source, [page], when).status == "ok"
    assert alpha_cut(db)[1] != "advantage"
    assert_current(db, config)


# -- a price in force across runs without it (found by a review of the first version) -------------


def test_a_backfill_that_ends_a_price_held_across_an_absence(db, config):
    """bigmodel.cn lists GLM-5 at 30 CNY on day 0, leaves it out on day 2 (not yet withdrawn),
    shows 30 CNY again on day 8: one interval, in force throughout, so Z.ai's cut on day 3 is
    weighed on 30 CNY.  A backfill of day 5 (20 CNY) ends that interval at day 0: on day 3 no
    home price is in force, but the stored verdict still weighs 30 CNY."""
    store(db, config, "zhipu", DAY, [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")])
    store(db, config, "zhipu", DAY + timedelta(days=2), [price("glm-4.6", "10", "CNY")])
    store(db, config, "zhipu", DAY + timedelta(days=8), [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")])
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zai", DAY + timedelta(days=3), [price("glm-5", "3.20")])
    assert_current(db, config)  # holds here: dumping-consistent on 30 CNY
    store(db, config, "zhipu", DAY + timedelta(days=5), [price("glm-5", "20", "CNY"), price("glm-4.6", "10", "CNY")])
    assert_current(db, config)


def test_a_home_price_back_after_one_absent_run_in_live_order(db, config):
    """All stored in time order, as live runs would: bigmodel.cn leaves GLM-5 out of one run
    (day 2), Z.ai cuts on day 3 (weighed then: no zhipu price in force), and bigmodel.cn shows
    the same 30 CNY again on day 5.  The interval now runs from day 0 to day 5, so on day 3 the
    home price was in force (intervals_in_force), and weighing the cut gives dumping-consistent."""
    store(db, config, "zhipu", DAY, [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")])
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zhipu", DAY + timedelta(days=2), [price("glm-4.6", "10", "CNY")])
    store(db, config, "zai", DAY + timedelta(days=3), [price("glm-5", "3.20")])
    store(db, config, "zhipu", DAY + timedelta(days=5), [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")])
    assert_current(db, config)


def test_a_reparse_that_reads_a_missed_home_price(db, config):
    """bigmodel.cn's page of day 5 was read without GLM-5 (parser 1) and Z.ai's cut of day 7 was
    weighed on no home price; parser 2 reads 30 CNY on the same bytes.  GLM-5's interval now
    runs to day 5 and is in force on day 7, but the stored verdict is not weighed again."""
    stored = functools.partial(read, db, config)
    stored("zhipu", DAY, b"home day 0", [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")])
    stored("zhipu", DAY + timedelta(days=5), b"home day 5", [price("glm-4.6", "10", "CNY")])
    stored("zai", DAY, b"export day 0", [price("glm-5", "4.00")])
    stored("zai", DAY + timedelta(days=7), b"export day 7", [price("glm-5", "3.20")])
    assert_current(db, config)  # holds: no zhipu price in force on day 7
    stored("zhipu", DAY + timedelta(days=5), b"home day 5",
           [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")], version=2)
    assert_current(db, config)


def test_a_released_home_page_after_one_absent_run(db, db_url, config):
    """The same through `pricewatch quarantine release`: bigmodel.cn's page of day 5 shows GLM-5
    again at 30 CNY after leaving it out on day 2, and is held (GLM-4.6 jumped 100x).  Released,
    it makes the day-0 interval run to day 5: on Z.ai's cut of day 3 the home price was in force."""
    from sqlalchemy import select

    from db.models import Observation
    from pipeline.archive import archive
    from pipeline.cli import main
    from pipeline.store import store_observation
    from tests.conftest import REPO

    store(db, config, "zhipu", DAY, [price("glm-5", "30", "CNY"), price("glm-4.6", "10", "CNY")])
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zhipu", DAY + timedelta(days=2), [price("glm-4.6", "10", "CNY")])
    store(db, config, "zai", DAY + timedelta(days=3), [price("glm-5", "3.20")])
    with db.transaction() as session:
        when = DAY + timedelta(days=5)
        snapshot = archive(session, b"home day 5", url="https://x", content_type=None, seen_at=when)
        status, _ = store_observation(session, config, config.source("zhipu"), observed_at=when, snapshots=[snapshot],
                                      parser="test", parser_version=1, gate=True,
                                      priced=[price("glm-5", "30", "CNY"), price("glm-4.6", "1000", "CNY")])
        assert status == "quarantined"
        held = session.scalar(select(Observation.id).where(Observation.status == "quarantined"))
    assert main(["--db", db_url, "--config", str(REPO / "config"), "quarantine", "release", str(held)]) == 0
    assert_current(db, config)


# -- the end of a price, and a price re-read (found by a review of the durability wording) ---------


def durability_of_first_cut(db, config) -> tuple[str, str]:
    """The stored durability summary of the earliest cut, beside the one weighing it now gives."""
    with db.session() as session:
        event = session.scalar(select(Event).where(Event.kind == "cut").order_by(Event.observed_at).limit(1))
        fresh = {r.test: r.summary for r in weigh_event(session, config, event)[1]}["durability"]
        return {t["test"]: t["summary"] for t in event.evidence}["durability"], fresh


def test_a_backfill_between_last_sighting_and_next_observation_redates_the_end(db, config):
    """Z.ai cuts GLM-5 to $3.20 on day 10; the next observation, on day 40, shows $3.00: the
    stored durability says "the source's next observation, on 2026-08-26".  A page of day 20
    ($3.00 already) is then imported: the next observation after the last sighting is now day 20.
    The cut's interval row does not change (same last_seen, still ended), and the stored reading
    once kept day 40 while `explain` said day 20."""
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zai", DAY + timedelta(days=10), [price("glm-5", "3.20")])
    store(db, config, "zai", DAY + timedelta(days=40), [price("glm-5", "3.00")])
    store(db, config, "zai", DAY + timedelta(days=20), [price("glm-5", "3.00")])
    stored, fresh = durability_of_first_cut(db, config)
    assert stored == fresh


def test_a_price_replaced_then_back_later_has_ended(db, config):
    """Z.ai cuts GLM-5 to $3.20 on day 10, shows $3.00 on day 40, and $3.20 again on day 50.
    `_ended` once took any later interval at the same price for "its conditions reworded", so
    the day-10 cut's durability read "held 0 days so far ... too early to tell" although the
    next observation (day 40) showed another price; and, stored in time order, the day-50 store
    flipped that answer without touching the day-10 interval, so the stored reading and
    `explain` disagreed."""
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zai", DAY + timedelta(days=10), [price("glm-5", "3.20")])
    store(db, config, "zai", DAY + timedelta(days=40), [price("glm-5", "3.00")])
    store(db, config, "zai", DAY + timedelta(days=50), [price("glm-5", "3.20")])
    stored, fresh = durability_of_first_cut(db, config)
    assert stored == fresh and "next observation, on 2026-08-26" in fresh, (stored, fresh)


def test_a_reparse_that_reads_the_cut_price_as_a_promotion_weighs_the_cut_again(db, config):
    """DeepSeek's page of day 10 is read by parser 1 as a plain $0.50 (a cut from $1.00); parser 2
    reads the same bytes as $0.50 promotional, list price $1.00.  The cut keeps its prices and
    its interval its key and sightings, so nothing weighed it again: the stored durability
    stayed "too early to tell" (verdict inconclusive) while weighing said "marked as a
    promotion" (dumping-consistent)."""
    from pipeline.normalise import Priced

    stored = functools.partial(read, db, config, "deepseek")
    stored(DAY, b"day 0", [price("deepseek-v4-pro", "1.00")])
    stored(DAY + timedelta(days=10), b"day 10", [price("deepseek-v4-pro", "0.50")])
    promo = Priced("deepseek-v4-pro", "output", {}, "USD", "token", D("0.50"), D("1.00"), True)
    stored(DAY + timedelta(days=10), b"day 10", [promo], version=2)
    with db.session() as session:
        event = session.scalar(select(Event).where(Event.kind == "cut"))
        verdict, results = weigh_event(session, config, event)
        stored_durability = {t["test"]: t["summary"] for t in event.evidence}["durability"]
        assert (event.verdict, stored_durability) == (verdict, results[-1].summary)


def test_a_reparse_that_reads_a_new_point_at_the_cut_price_on_the_next_observation(db, config):
    """deepseek-v4-pro is cut to $0.50 on day 10; the page of day 40 shows $0.40: the cut's price
    ended there.  Parser 2 reads the same day-40 bytes with a batch price too, $0.50.  No interval
    of the cut changes, so nothing weighs it again; `_ended` once found that batch interval at
    $0.50 starting on day 40 and called the end a rewording (a review's test)."""
    stored = functools.partial(read, db, config, "deepseek")
    stored(DAY, b"day 0", [price("deepseek-v4-pro", "1.00")])
    stored(DAY + timedelta(days=10), b"day 10", [price("deepseek-v4-pro", "0.50")])
    stored(DAY + timedelta(days=40), b"day 40", [price("deepseek-v4-pro", "0.40")])
    stored(DAY + timedelta(days=40), b"day 40", [price("deepseek-v4-pro", "0.40"),
                                                 price("deepseek-v4-pro", "0.50", batch=True)], version=2)
    stored_durability, fresh = durability_of_first_cut(db, config)
    assert stored_durability == fresh


def test_a_batch_price_at_the_old_price_is_no_rewording(db, config):
    """Z.ai cuts GLM-5 output to $3.20 on day 10; day 40 shows $3.00, and a new batch price of
    $3.20.  The cut's price ended on day 40; `_ended` once matched any interval of the model and
    dimension at $3.20 starting then, whatever its service (a review's test)."""
    store(db, config, "zai", DAY, [price("glm-5", "4.00")])
    store(db, config, "zai", DAY + timedelta(days=10), [price("glm-5", "3.20")])
    store(db, config, "zai", DAY + timedelta(days=40), [price("glm-5", "3.00"), price("glm-5", "3.20", batch=True)])
    stored, fresh = durability_of_first_cut(db, config)
    assert "next observation, on 2026-08-26" in fresh, (stored, fresh)


def test_a_tier_reaching_the_cut_price_is_no_rewording_of_it(db, config):
    """Z.ai: GLM-5 output $4 up to 32K and $8 above; day 10 cuts the base tier to $3.20; day 40
    shows the base tier at $3.00 and the long tier cut to $3.20.  The base tier's $3.20 ended on
    day 40 (its own conditions show $3.00 then); the long tier's new $3.20, same service and
    standing, is no rewording of it (a review's test)."""
    base, long = {"min": 0, "max": 32000}, {"min": 32000, "max": None}
    store(db, config, "zai", DAY, [price("glm-5", "4.00", context_tokens=base),
                                   price("glm-5", "8.00", context_tokens=long)])
    store(db, config, "zai", DAY + timedelta(days=10), [price("glm-5", "3.20", context_tokens=base),
                                                        price("glm-5", "8.00", context_tokens=long)])
    store(db, config, "zai", DAY + timedelta(days=40), [price("glm-5", "3.00", context_tokens=base),
                                                        price("glm-5", "3.20", context_tokens=long)])
    stored, fresh = durability_of_first_cut(db, config)
    assert "next observation, on 2026-08-26" in fresh, (stored, fresh)


# -- what it costs: only the cuts whose inputs changed ------------------------------------------------


def test_an_older_unchanged_page_weighs_no_later_cut_again(db, config, monkeypatch):
    """Cost: a history imported newest first (an import is "any order").  Each older bigmodel.cn
    page at the same price re-keys the baseline interval (its first observation moves), and the
    span from the old first observation on, through every later cut of the model in any
    source, is taken as changed, though the home price in force from then on is the same:
    each such import weighs every one of those cuts again (O(pages x cuts))."""
    import pipeline.evidence

    for day in range(10, 70, 10):  # five Z.ai cuts, days 20..60
        store(db, config, "zai", DAY + timedelta(days=day), [price("glm-5", f"{10 - day // 10}.00")])
    store(db, config, "zhipu", DAY + timedelta(days=8), [price("glm-5", "30", "CNY")])
    assert_current(db, config)
    weighed = []
    real = pipeline.evidence.weigh_event
    monkeypatch.setattr(pipeline.evidence, "weigh_event", lambda *a: weighed.append(a[2].id) or real(*a))
    for day in (6, 4, 2):  # older pages, same 30 CNY: nothing changes on or after day 8
        store(db, config, "zhipu", DAY + timedelta(days=day), [price("glm-5", "30", "CNY")])
    assert_current(db, config)
    assert weighed == [], f"{len(weighed)} weighings of cuts whose inputs did not change"


def test_a_list_no_test_reads_weighs_no_cut_again(db, config, monkeypatch):
    """Cost: LiteLLM's list is an aggregator's without a `provider` (no independent host) and in
    no home/export pair, so its GLM-5 price is an input to no stored test of a GLM-5 cut (the
    peer gap of GLM-5 reads the other models of its group).  Importing its history (a git log of
    one JSON file, hundreds of versions) still weighs every later GLM-5 cut of every source
    again, once per imported version that re-keys or changes an interval."""
    import pipeline.evidence

    for day in range(10, 70, 10):
        store(db, config, "zai", DAY + timedelta(days=day), [price("glm-5", f"{10 - day // 10}.00")])
    weighed = []
    real = pipeline.evidence.weigh_event
    monkeypatch.setattr(pipeline.evidence, "weigh_event", lambda *a: weighed.append(a[2].id) or real(*a))
    for day in (8, 6, 4):  # newest first, as a walk back through a git log goes
        store(db, config, "litellm", DAY + timedelta(days=day), [price("glm-5", "3.00")])
    assert_current(db, config)
    assert weighed == [], f"{len(weighed)} weighings of cuts whose inputs did not change"


def test_a_later_sighting_reads_only_the_durability_again(db, config, monkeypatch):
    """A price that ends or has held 90 days changes the durability test alone: the store
    refreshes that test, not the four whose inputs did not move (on a ten-year archive the peer
    gap's query alone took 40 ms a cut, at every run that ended one)."""
    import pipeline.evidence

    run(db, config, litellm_page(3), 0)
    run(db, config, litellm_page(2), 1)
    weighed = []
    real = pipeline.evidence.weigh_event
    monkeypatch.setattr(pipeline.evidence, "weigh_event", lambda *a: weighed.append(a[2].id) or real(*a))
    run(db, config, litellm_page(2), 95)  # a repeat: held 94 days
    run(db, config, litellm_page(1), 96)  # ended by another cut, itself weighed (new)
    assert alpha_cut(db) == ("advantage-consistent", "advantage")
    assert len(weighed) == 1, weighed
    assert_current(db, config)
