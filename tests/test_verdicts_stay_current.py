"""A stored cut's verdict is the one its archive gives, whatever the order it was filled in.

`events`, the report and the alert rules' `verdicts` filter read the verdict stored with each
cut (pipeline.store weighs it when the cut is stored).  It used to be weighed once: a home
list imported after the export list's cut, a source stored after another in the same run, or
a cut that went on to hold `held_days`, left the stored verdict at what the archive held at
first, while `explain` said otherwise.  Each test here failed then."""

import json
import random
import tempfile
from datetime import datetime, timedelta, timezone
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
