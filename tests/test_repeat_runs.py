"""Runs that read the very pages of the latest observation are stored as repeats
(store.repeated_observation / store_repeat), without parsing or re-deriving history.

The contract: the archive after any sequence of runs is exactly what re-deriving every
source's intervals and events from its observations gives (store.materialise), so the
shortcut can never publish, lose or move an event."""

import dataclasses
import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import scrapers
from db.models import Event, Observation, PriceInterval, QuoteRow
from db.session import Database
from pipeline.fetch import Fetched
from pipeline.run import ingest
from pipeline.store import materialise

START = datetime(2026, 1, 1, 8, tzinfo=timezone.utc)
MODELS = ("alpha", "beta", "gamma")


STEADY = {f"steady-{n}": 1 for n in range(4)}  # the parser wants five models or more


def page(prices: dict[str, int]) -> bytes:
    """A LiteLLM price list: four steady models and `prices`, each model's input price in
    millionths of a dollar per token (output is four times that)."""
    return json.dumps({model: {"mode": "chat", "litellm_provider": "acme", "input_cost_per_token": f"{price}e-6",
                               "output_cost_per_token": f"{price * 4}e-6"}
                       for model, price in {**STEADY, **prices}.items()}).encode()


def run(db, config, content: bytes, day: int):
    source = config.source("litellm")
    when = START + timedelta(days=day)
    result = ingest(db, config, source, [Fetched(source.urls[0], source.urls[0], 200, content,
                                                 "application/json", when)], when)
    assert result.status == "ok", result.line()
    return result


def archive_state(db) -> tuple:
    with db.session() as session:
        intervals = sorted((i.model, i.dimension, str(i.price), i.first_seen, i.last_seen, i.first_observation_id,
                            i.last_observation_id) for i in session.scalars(select(PriceInterval)))
        events = sorted((e.kind, e.model, e.dimension, str(e.old_price), str(e.new_price), e.observed_at,
                         e.previous_observed_at, e.reversal) for e in session.scalars(select(Event)))
    return intervals, events


def assert_same_as_rederived(db, config) -> None:
    before = archive_state(db)
    with db.transaction() as session:
        assert materialise(session, config, config.source("litellm")) == []
    assert archive_state(db) == before


def test_a_repeat_moves_last_seen_and_shares_the_quote_set(db, config):
    content = page({"alpha": 2, "beta": 3})
    run(db, config, content, 0)
    second, third = run(db, config, content, 1), run(db, config, content, 2)
    assert (second.quotes, second.events, third.quotes) == (12, [], 12)
    with db.session() as session:
        assert session.scalar(select(func.count(func.distinct(Observation.quote_set_id)))) == 1
        assert session.scalar(select(func.count()).select_from(QuoteRow)) == 12
        spans = {(i.first_seen, i.last_seen) for i in session.scalars(select(PriceInterval))}
    assert spans == {(START, START + timedelta(days=2))}
    assert_same_as_rederived(db, config)


def test_repeats_still_count_towards_a_withdrawal(db, config):
    """A model absent from the latest list is pending: the repeats that follow are not
    shortcuts, and the withdrawal comes after `withdrawn_after_runs` of them, as it would."""
    run(db, config, page({"alpha": 2, "beta": 3}), 0)
    without_beta = page({"alpha": 2})
    for day in (1, 2, 3, 4):
        run(db, config, without_beta, day)
    with db.session() as session:
        withdrawn = session.scalars(select(Event).where(Event.kind == "withdrawn")).all()
    assert [(e.model, e.observed_at) for e in withdrawn] == [("beta", START + timedelta(days=1))]
    assert_same_as_rederived(db, config)


def test_a_new_parser_version_reads_the_same_page_again(db, config, monkeypatch):
    content = page({"alpha": 2})
    run(db, config, content, 0)
    newer = dataclasses.replace(scrapers.get_parser("litellm"), version=scrapers.get_parser("litellm").version + 1)
    monkeypatch.setitem(scrapers._REGISTRY, "litellm", newer)
    run(db, config, content, 1)
    with db.session() as session:
        versions = session.scalars(select(Observation.parser_version).order_by(Observation.observed_at)).all()
    assert versions == [newer.version - 1, newer.version]
    assert_same_as_rederived(db, config)


lists = st.dictionaries(st.sampled_from(MODELS), st.sampled_from((2, 3, 5)), min_size=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.tuples(lists, st.integers(1, 3)), min_size=1, max_size=6))
def test_any_sequence_of_runs_matches_a_full_rederivation(config, runs):
    """Lists (each seen 1-3 runs in a row) in any order: with repeats, absences, withdrawals
    and returns, the stored history is what re-deriving it from scratch gives."""
    with tempfile.TemporaryDirectory() as directory:
        db = Database(f"sqlite:///{Path(directory) / 'repeat.sqlite'}")
        day = 0
        for prices, times in runs:
            for _ in range(times):
                run(db, config, page(prices), day)
                day += 1
        assert_same_as_rederived(db, config)
        db.dispose()


def test_only_a_repeat_says_unchanged(db, config):
    """An older copy of the same list is no repeat: its import re-dates the history (the
    prices are now first seen a day earlier), and its line said "0 events, unchanged"."""
    content = page({"alpha": 2})
    run(db, config, content, 0)
    assert run(db, config, content, 1).line() == "litellm: ok (10 prices, 0 events, unchanged)"
    older = run(db, config, content, -1)
    assert older.line() == "litellm: ok (10 prices, 0 events)" and not older.repeat
