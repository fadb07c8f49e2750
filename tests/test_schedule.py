"""`pricewatch serve`: slots and plans, then real `serve` processes against a real local server."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
import zlib
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from db.models import Event, Fetch, Observation, ObservationPage, Snapshot
from db.session import Database
from pipeline.config import Schedule, Source, typed_table
from pipeline.errors import ConfigError
from pipeline.schedule import GridTrigger, _line, next_runs, plan_for
from tests.conftest import FIXTURES, REPO, write_config
from tests.httpserver import Route, TimedServer, wait_until

UTC = timezone.utc
JANUARY = (FIXTURES / "litellm_core" / "2026-01.json").read_bytes()
FEBRUARY = (FIXTURES / "litellm_core" / "2026-02.json").read_bytes()
EVERY_SECOND = {"interval_minutes": 1 / 60}
EVERY_SECOND_JITTERED = {"interval_minutes": 1 / 60, "jitter_seconds": 0.5}  # the two processes seldom meet


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def scheduled(**schedule) -> Source:
    """A source with this schedule, its types and ranges checked as load_config does."""
    return Source("s", "s", "litellm", ("https://vendor.example/prices",), "USD", "intl",
                  schedule=typed_table(Schedule, schedule, "source 's' schedule"))


# -- slots and plans -------------------------------------------------------------------------------

def test_interval_slots_are_counted_from_the_epoch_so_every_process_agrees():
    hourly = GridTrigger(3600)
    assert hourly.get_next_fire_time(None, at("2026-07-17T09:30:00")) == at("2026-07-17T10:00:00")
    assert hourly.get_next_fire_time(None, at("2026-07-17T10:00:00")) == at("2026-07-17T10:00:00")
    # after a run that jitter made late, the next slot is still on the grid
    assert hourly.get_next_fire_time(at("2026-07-17T10:04:31"), at("2026-07-17T10:05:00")) == at("2026-07-17T11:00:00")
    assert GridTrigger(1).get_next_fire_time(at("2026-07-17T10:00:00"), at("2026-07-17T10:00:00")) == at(
        "2026-07-17T10:00:01")


def test_crontab_day_numbers_mean_what_they_mean_in_crontab():
    saturday = at("2026-11-28T00:00:00")  # APScheduler 3 alone would read 0 as Monday
    assert plan_for(scheduled(cron="0 6 * * 0")).slot_after(saturday) == at("2026-11-29T06:00:00")
    assert plan_for(scheduled(cron="0 6 * * 7")).slot_after(saturday) == at("2026-11-29T06:00:00")
    assert plan_for(scheduled(cron="0 6 * * 1-5")).slot_after(saturday) == at("2026-11-30T06:00:00")
    assert plan_for(scheduled(cron="0 6 * * sat")).slot_after(saturday) == at("2026-11-28T06:00:00")


def test_a_slot_is_due_once_whoever_serves_it():
    plan = plan_for(scheduled(cron="15 * * * *", jitter_seconds=300))
    assert plan.grace == 1800, "half an hourly period"
    assert plan.due(None, at("2026-07-17T10:18:00")), "a source never fetched is due"
    assert plan.due(at("2026-07-17T09:17:00"), at("2026-07-17T10:18:00"))
    assert not plan.due(at("2026-07-17T10:16:10"), at("2026-07-17T10:18:00")), "served by another process"
    assert plan.due(at("2026-07-17T10:14:59"), at("2026-07-17T10:18:00")), "fetched before the slot began"
    assert plan.next_run(at("2026-07-17T10:16:10"), at("2026-07-17T10:18:00")) == at("2026-07-17T11:15:00")
    assert plan_for(scheduled(cron="30 5 * * *", jitter_seconds=900)).grace == 43200
    assert plan_for(scheduled()) is None


@pytest.mark.parametrize("schedule, message", [
    ({"cron": "15 * * * *", "interval_minutes": 60}, "not both"),
    ({"cron": "61 * * * *"}, "maximum value"),
    ({"cron": "15 * * *"}, "expected 5 fields"),
    ({"cron": "0 6 1 * 1"}, "not both"),
    ({"cron": "0 6 * * 8"}, "bad day of week"),
    ({"cron": "0 0 30 2 *"}, "never fires"),
    ({"interval_minutes": 0}, "Expected `float` >= 0.01666"),  # a second
    ({"interval_minutes": 99999999999}, "Expected `float` <= 525600"),  # a year (this one was an OverflowError)
    ({"cron": 15}, "Expected `str | null`, got `int`"),
    ({"cron": "15 * * * *", "jitter_seconds": 3600}, "shorter than the period"),
    ({"interval_minutes": 60, "jitter_seconds": -1}, "jitter_seconds"),
])
def test_a_wrong_schedule_is_a_config_error_naming_the_source(schedule, message):
    with pytest.raises(ConfigError, match=message) as caught:
        plan_for(scheduled(**schedule))
    assert "source 's'" in str(caught.value)


def test_next_run_comes_from_the_last_live_fetch(db, tmp_path):
    from pipeline.config import load_config

    config = load_config(write_config(tmp_path / "config", [
        {"id": "hourly", "parser": "litellm", "urls": ["https://vendor.example/a"], "schedule": {"cron": "15 * * * *"}},
        {"id": "manual", "parser": "litellm", "urls": ["https://vendor.example/b"]},
    ]))
    now = at("2026-07-17T10:18:00")
    with db.transaction() as session:
        session.add(Fetch(source_id="hourly", url="https://vendor.example/a", attempt=1, outcome="ok",
                          started_at=at("2026-07-17T10:16:00"), finished_at=at("2026-07-17T10:16:01")))
    with db.session() as session:
        assert next_runs(session, config, now) == {"hourly": at("2026-07-17T11:15:00")}
    with db.transaction() as session:  # an import (attempt 0) is not a live fetch
        session.add(Fetch(source_id="hourly", url="https://vendor.example/a", attempt=0, outcome="layout_drift",
                          started_at=at("2026-07-17T10:17:00"), finished_at=at("2026-07-17T10:17:00")))
    with db.session() as session:
        assert next_runs(session, config, at("2026-07-17T11:20:00")) == {"hourly": at("2026-07-17T11:20:00")}


# -- real `serve` processes --------------------------------------------------------------------------

def start_serve(cwd, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "serve"], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO), **env})


def pricewatch(*args, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env}, timeout=60)


def stop(process: subprocess.Popen) -> tuple[str, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("scraped", ["gpt-4o\u202e0.1", "gpt-4o\u2028ts=2026-01-01T00:00:00Z event=job status=ok",
                                     "gpt-4o\x9b2J"])
def test_scraped_text_in_a_job_line_is_escaped(caplog, scraped):
    """A job's message quotes scraped model names (a drift names the row): a bidi override, a
    line separator or a C1 control must not turn the line around, start a fake one, or reach
    a terminal; json.dumps escapes C0 only."""
    with caplog.at_level(logging.INFO, logger="pricewatch.schedule"):
        _line(event="job", source="openai", status="failed", message=f"{scraped} output: two prices")
    [record] = caplog.records
    assert not any(c in record.getMessage() for c in "\u202e\u2028\x9b")
    assert json.loads(record.getMessage().split("message=", 1)[1]) == f"{scraped} output: two prices"


def job_lines(stderr: str, status: str) -> list[str]:
    return [line for line in stderr.splitlines() if "event=job" in line and f"status={status}" in line]


def assert_nothing_half_written(db_url: str) -> tuple[int, int]:
    """Every snapshot whole, every observation with its pages; return (observations, ok fetches)."""
    database = Database(db_url, migrate=False)
    try:
        with database.session() as session:
            for snapshot in session.scalars(select(Snapshot)):
                content = zlib.decompress(snapshot.content)
                assert len(content) == snapshot.size and hashlib.sha256(content).hexdigest() == snapshot.sha256
            observations = session.scalars(select(Observation)).all()
            for observation in observations:
                pages = session.scalar(select(func.count()).select_from(ObservationPage)
                                       .where(ObservationPage.observation_id == observation.id))
                assert pages == 1
            ok = session.scalar(select(func.count()).select_from(Fetch).where(Fetch.outcome == "ok",
                                                                             Fetch.snapshot_id.is_not(None)))
            return len(observations), ok
    finally:
        database.dispose()


def test_serve_archives_on_schedule_and_stops_cleanly_on_sigterm(tmp_path, db_url):
    with TimedServer() as server:
        server.route("/prices.json", JANUARY, headers={"Content-Type": "application/json"})
        server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n")
        config = write_config(tmp_path / "config", [
            {"id": "litellm", "parser": "litellm", "urls": [f"{server.url}/prices.json"], "aggregator": True,
             "schedule": EVERY_SECOND},
        ])
        env = {"PRICEWATCH_CONFIG": str(config), "PRICEWATCH_DB": db_url}
        serve = start_serve(tmp_path, env)
        try:
            wait_until(lambda: len([v for v in server.visits_to("/prices.json") if v.finished]) >= 3)
            release = server.hold("/prices.json")
            wait_until(lambda: any(v.held for v in server.visits_to("/prices.json")))  # a run is mid-fetch
            serve.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert serve.poll() is None, "serve must let the in-flight run finish"
            release.set()
            lines = []
            while not (lines and lines[-1].rstrip().endswith("event=stopped")):
                lines.append(serve.stderr.readline())
                assert lines[-1], "serve ended before it logged event=stopped"
            with contextlib.suppress(ProcessLookupError):
                serve.send_signal(signal.SIGTERM)  # impatient: a second signal once all is stored changes nothing
            _, rest = serve.communicate(timeout=30)
            stderr = "".join(lines) + rest
        finally:
            stop(serve)
        status = pricewatch("status", cwd=tmp_path, env=env)
    assert serve.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "event=stopping signal=SIGTERM" in stderr and stderr.rstrip().endswith("event=stopped")
    visits = server.visits_to("/prices.json")
    assert visits[-1].held and sum(v.held for v in visits) == 1, "no run may start after SIGTERM"
    assert len(job_lines(stderr, "ok")) == len(visits), "one line per job"
    observations, ok_fetches = assert_nothing_half_written(db_url)
    assert observations == ok_fetches == len(visits), "the in-flight run was stored whole"
    assert len(server.visits_to("/robots.txt")) == 1, "robots.txt is cached across jobs"
    assert "next_run" in status.stdout.splitlines()[0]


def test_two_serve_processes_on_one_database_share_the_slots(tmp_path, db_url):
    with TimedServer() as server:
        server.routes["/a.json"] = Route(JANUARY, delay=0.2, times=3, then=Route(FEBRUARY, delay=0.2))
        server.route("/b.json", FEBRUARY, delay=0.1)
        config = write_config(tmp_path / "config", [
            {"id": "a", "vendor": "litellm", "parser": "litellm", "urls": [f"{server.url}/a.json"], "aggregator": True,
             "schedule": EVERY_SECOND_JITTERED},
            {"id": "b", "vendor": "litellm", "parser": "litellm", "urls": [f"{server.url}/b.json"], "aggregator": True,
             "schedule": EVERY_SECOND_JITTERED},
        ])
        env = {"PRICEWATCH_CONFIG": str(config), "PRICEWATCH_DB": db_url}
        upgrade = pricewatch("db", "upgrade", cwd=tmp_path, env=env)  # once, before the machines start
        assert upgrade.returncode == 0, upgrade.stderr
        first, second = start_serve(tmp_path, env), start_serve(tmp_path, env)
        try:
            wait_until(lambda: len([v for v in server.visits_to("/a.json") if v.finished]) >= 4)
            logs = [stop(first)[1], stop(second)[1]]
        finally:
            stop(first), stop(second)
    assert first.returncode == second.returncode == 0, logs
    assert not any("Traceback" in log or "status=error" in log for log in logs), logs
    assert job_lines("".join(logs), "skipped"), "the two processes met on a slot"
    # Which process wins a slot is up to the jitter, so either may do all the work in a short run.
    assert all(job_lines(log, "ok") or job_lines(log, "skipped") for log in logs), "both processes took part"
    fetches = 0
    database = Database(db_url, migrate=False)
    try:
        with database.session() as session:
            for source, path in (("a", "/a.json"), ("b", "/b.json")):
                visits = sorted(server.visits_to(path), key=lambda v: v.started)
                fetches += len(visits)
                for earlier, later in itertools.pairwise(visits):
                    assert later.started >= earlier.finished, f"two fetches of {source} at once"
                starts = session.scalars(select(Fetch.started_at).where(Fetch.source_id == source)).all()
                slots = [int(started.timestamp()) for started in starts]
                assert len(slots) == len(set(slots)) == len(visits), "one fetch per one-second slot at most"
                stored = session.scalar(select(func.count()).select_from(Observation)
                                        .where(Observation.source_id == source))
                assert stored == len(visits), "one observation per fetch, none twice"
            kinds = session.execute(select(Event.kind, func.count()).where(Event.source_id == "a")
                                    .group_by(Event.kind)).all()
            duplicates = session.execute(
                select(Event.source_id, Event.model, Event.dimension, Event.kind, func.count())
                .group_by(Event.source_id, Event.model, Event.dimension, Event.kind)
                .having(func.count() > 1)).all()
    finally:
        database.dispose()
    assert dict(kinds) == {"new_model": 1, "cut": 2}, "qwen-max new, deepseek-chat cut twice; none at the first run"
    assert duplicates == []
    assert len(job_lines("".join(logs), "ok")) == fetches, "each slot run by one process"
