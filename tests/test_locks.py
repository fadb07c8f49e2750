"""The per-source lock: overlapping `pricewatch run` processes on one database (SQLite and
PostgreSQL) never fetch or write a source twice; the second one skips it, says so, exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

import db.session
from db.models import Event, Observation
from db.session import Database
from pipeline.locks import source_lock
from tests.conftest import FIXTURES, REPO, write_config
from tests.httpserver import TimedServer, wait_until

JANUARY = (FIXTURES / "litellm_core" / "2026-01.json").read_bytes()
FEBRUARY = (FIXTURES / "litellm_core" / "2026-02.json").read_bytes()


def test_the_lock_is_exclusive_between_runs_and_reentrant_within_one(db):
    def try_elsewhere(source_id: str) -> bool:
        outcome: list[bool] = []

        def attempt() -> None:
            with source_lock(db, source_id) as held:
                outcome.append(held)

        thread = threading.Thread(target=attempt)
        thread.start()
        thread.join()
        return outcome[0]

    with source_lock(db, "deepseek") as held:
        assert held
        with source_lock(db, "deepseek") as again:  # a scheduler job, then run_source
            assert again
        assert not try_elsewhere("deepseek"), "still held after the inner block"
        assert try_elsewhere("openai")
    assert try_elsewhere("deepseek")


def run_process(env, cwd, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "run", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO), **env})


def sources_config(tmp_path, server):
    return write_config(tmp_path / "config", [
        {"id": name, "vendor": "litellm", "parser": "litellm", "urls": [f"{server.url}/{name}.json"]}
        for name in ("slow", "fast")])


def test_an_overlapping_run_skips_the_busy_source_and_exits_0(tmp_path, db_url):
    with TimedServer() as server:
        server.route("/slow.json", JANUARY)
        server.route("/fast.json", FEBRUARY)
        release = server.hold("/slow.json")  # the first run sits in this fetch until released
        env = {"PRICEWATCH_CONFIG": str(sources_config(tmp_path, server)), "PRICEWATCH_DB": db_url}
        first = run_process(env, tmp_path)
        try:
            wait_until(lambda: server.visits_to("/slow.json"))
            second = run_process(env, tmp_path)
            out2, err2 = second.communicate(timeout=60)
        finally:
            release.set()
            out1, err1 = first.communicate(timeout=60)
    assert second.returncode == 0, err2
    assert "slow: skipped (another run holds this source)" in out2.splitlines()
    assert first.returncode == 0, err1
    assert "slow: ok (12 prices, first observation)" in out1.splitlines()
    assert len(server.visits_to("/slow.json")) == 1
    fast_runs = sum(line.startswith("fast: ok (14 prices, ") for out in (out1, out2) for line in out.splitlines())
    database = Database(db_url, migrate=False)
    try:
        with database.session() as session:
            observations = dict(session.execute(select(Observation.source_id, func.count())
                                                .group_by(Observation.source_id)).all())
            events = session.scalar(select(func.count()).select_from(Event))
    finally:
        database.dispose()
    assert observations == {"slow": 1, "fast": fast_runs} and fast_runs >= 1
    assert events == 0


def test_a_killed_run_leaves_no_stale_lock(tmp_path, db_url):
    with TimedServer() as server:
        server.route("/slow.json", JANUARY)
        server.route("/fast.json", FEBRUARY)
        release = server.hold("/slow.json")
        env = {"PRICEWATCH_CONFIG": str(sources_config(tmp_path, server)), "PRICEWATCH_DB": db_url}
        killed = run_process(env, tmp_path, "--source", "slow")
        wait_until(lambda: server.visits_to("/slow.json"))
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
        release.set()
        again = run_process(env, tmp_path, "--source", "slow")
        out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out.startswith("slow: ok"), out


def test_a_long_read_on_sqlite_holds_up_no_writer(tmp_path):
    """Reading sessions begin a deferred transaction: a report still reading does not keep
    the write lock from a run (only writing sessions begin with BEGIN IMMEDIATE)."""
    import sqlite3

    from sqlalchemy import text

    path = tmp_path / "archive.sqlite"
    db = Database(f"sqlite:///{path}")
    with db.session() as reading:
        assert reading.execute(text("SELECT count(*) FROM observations")).scalar_one() == 0  # in a transaction now
        writer = sqlite3.connect(path, timeout=1, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO source_health (source_id, consecutive_failures) VALUES ('acme', 0)")
        writer.execute("COMMIT")
        writer.close()
        assert reading.execute(text("SELECT count(*) FROM source_health")).scalar_one() == 0, "its snapshot holds"
    with db.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM source_health")).scalar_one() == 1
    db.dispose()


def test_on_postgresql_a_writer_frozen_in_its_transaction_holds_the_others_for_a_bounded_time(
        postgres_database, monkeypatch):
    """A machine that freezes or loses its network mid-transaction keeps the write lock until
    PostgreSQL gives up on it: another writer waits `WRITER_WAIT_SECONDS`, then fails with a
    database error, and the frozen session ends after `IDLE_IN_TRANSACTION_SECONDS`."""
    monkeypatch.setattr(db.session, "WRITER_WAIT_SECONDS", 1)
    monkeypatch.setattr(db.session, "IDLE_IN_TRANSACTION_SECONDS", 3)
    url = postgres_database()
    frozen, waiting = Database(url), Database(url)
    try:
        stuck = frozen.transaction()
        stuck.__enter__()  # takes ONE_WRITER, then does nothing more
        started = time.monotonic()
        with pytest.raises(DBAPIError, match="lock timeout"):
            with waiting.transaction() as session:
                session.execute(text("SELECT 1"))
        assert time.monotonic() - started < 10
        time.sleep(3.5)  # past the idle-in-transaction limit: the server has ended the frozen session
        with waiting.transaction() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
        with pytest.raises(DBAPIError):
            stuck.__exit__(None, None, None)
    finally:
        frozen.dispose()
        waiting.dispose()
