"""Crash consistency: `pricewatch run` killed with SIGKILL at varied points, on SQLite and PostgreSQL.

The archive goes through a few steps; at each step the local server publishes a new
version of every source's price list.  Each step first starts runs and kills them (during
start-up and migrations, after the k-th request, a little after it, while pages are being
stored), then lets one run finish.  After every kill and every finished run the database
must pass its integrity checks (SQLite's `integrity_check` and `foreign_key_check`; on both
databases, queries for orphans and half-derived rows), every stored snapshot must
decompress to bytes whose sha256 is its key, and the finished run must store every source.
At the end the events must be exactly those of the same versions ingested without any
crash, and so must the alerts, mailed to a local SMTP server: every event in exactly one
digest, every message delivered, none under two Message-IDs (a kill between hand-over and the
recorded reply may resend a message, with the same Message-ID: the documented limit).

The same holds, deterministically, at statements spread over the migrations (SIGKILL), and over
an import and a `quarantine release` (a Ctrl-C): the process signals itself as it sends its
k-th statement to the archive.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, inspect, select

from db.models import (
    AlertLog,
    Event,
    Observation,
    ObservationPage,
    PriceInterval,
    QuoteRow,
    OutboxMessage,
    QuoteSet,
    Snapshot,
)
from db.session import Database
from pipeline.config import load_config
from pipeline.fetch import Fetched
from pipeline.run import ingest
from tests.conftest import REPO, write_config
from tests.httpserver import LocalServer
from tests.smtpserver import LocalSMTPServer

SOURCES = [f"s{n}" for n in range(8)]
HOSTS = ["127.0.0.1", "127.0.0.2"]
STEPS = 3
# Where each killed run dies: (pages the servers must have served first, then seconds to wait).
# A run fetches 8 pages (and robots.txt, until a run has kept it) and stores each source as its
# page comes in; None counts from the start, which lands in start-up or in the migrations of a
# new database.
KILL_POINTS = [[(None, 0.15), (8, 0.02)], [(2, 0.0), (8, 0.08)], [(8, 0.15)]]


def price_list(source: str, step: int) -> bytes:
    """Source `source`'s LiteLLM-style price list at `step`: prices fall, a model arrives at step 2."""
    models = {f"{source}-model-{n}": {"mode": "chat", "input_cost_per_token": f"{(n + 1) * (10 - step)}e-7",
                                      "output_cost_per_token": f"{(n + 1) * (20 - step % 2)}e-7"}
              for n in range(6)}
    if step >= 2:
        models[f"{source}-late-model"] = {"mode": "chat", "input_cost_per_token": "1e-6", "output_cost_per_token": "2e-6"}
    return json.dumps(models, sort_keys=True).encode()


def run_cli(env: dict[str, str], cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "run"], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO), **env})


def kill_at(child: subprocess.Popen, servers: list[LocalServer], pages: int | None, wait: float) -> bool:
    """SIGKILL `child` at the given point; True when it was still running then."""
    deadline = time.monotonic() + 30
    while pages is not None and sum(n for s in servers for path, n in s.hits.items()
                                       if path != "/robots.txt") < pages:
        if child.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.001)
    time.sleep(wait)
    killed = child.poll() is None
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    return killed


def check_consistency(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.split(":///", 1)[1]) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        connection.close()
    db = Database(db_url, migrate=False)
    try:
        tables = inspect(db.engine).get_table_names()
        if "observations" not in tables:  # killed during the first migration: all of it rolled back
            assert [t for t in tables if t != "alembic_version"] == [], f"a half-applied migration: {tables}"
            return
        with db.session() as session:
            for snapshot in session.scalars(select(Snapshot)):
                content = zlib.decompress(snapshot.content)
                assert hashlib.sha256(content).hexdigest() == snapshot.sha256, f"snapshot {snapshot.id} half-written"
                assert len(content) == snapshot.size and len(snapshot.content) == snapshot.compressed_size
            pageless = select(Observation.id).where(~select(ObservationPage.observation_id).where(
                ObservationPage.observation_id == Observation.id).exists())
            assert session.scalars(pageless).all() == [], "observations without their pages"
            # (a page held for a non-numeric price has an empty set: only a published one must have rows)
            empty_sets = select(QuoteSet.id).where(
                ~select(QuoteRow.id).where(QuoteRow.quote_set_id == QuoteSet.id).exists(),
                select(Observation.id).where(Observation.quote_set_id == QuoteSet.id,
                                             Observation.status == "ok").exists())
            assert session.scalars(empty_sets).all() == [], "published quote sets without their rows"
            ok = select(Observation.id).where(Observation.status == "ok")
            assert session.scalar(select(func.count()).select_from(PriceInterval).where(
                PriceInterval.last_observation_id.not_in(ok) | PriceInterval.first_observation_id.not_in(ok))) == 0
            assert session.scalar(select(func.count()).select_from(Event).where(Event.observation_id.not_in(ok))) == 0
            # Intervals are derived with their observations: each source's newest ok observation ends some interval.
            newest = (select(Observation.source_id, func.max(Observation.observed_at).label("at"))
                      .where(Observation.status == "ok").group_by(Observation.source_id))
            for source_id, at in session.execute(newest):
                assert session.scalar(select(func.count()).select_from(PriceInterval).where(
                    PriceInterval.source_id == source_id, PriceInterval.last_seen == at)) > 0, source_id
    finally:
        db.dispose()


def event_multiset(db_url: str) -> Counter:
    db = Database(db_url, migrate=False)
    try:
        with db.session() as session:
            return Counter((e.source_id, e.kind, e.model, e.dimension, e.conditions_key, e.currency,
                            e.old_price, e.new_price) for e in session.scalars(select(Event)))
    finally:
        db.dispose()


def reference_events(tmp_path, config) -> Counter:
    """The events of the same versions ingested in order, with no crash."""
    url = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    db = Database(url)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for step in range(STEPS):
        when = start + timedelta(days=step)
        for source_id in SOURCES:
            source = config.source(source_id)
            page = Fetched(source.urls[0], source.urls[0], 200, price_list(source_id, step), "application/json", when)
            assert ingest(db, config, source, [page], when).status == "ok"
    db.dispose()
    return event_multiset(url)


def check_alerts(db_url: str, smtp: LocalSMTPServer) -> None:
    """Every event in exactly one digest to the analyst, every message delivered, and what the
    server received is the outbox's messages, each under its one Message-ID."""
    db = Database(db_url, migrate=False)
    try:
        with db.session() as session:
            events = session.scalars(select(Event.id)).all()
            told = Counter(session.scalars(select(AlertLog.event_id).where(AlertLog.recipient == ANALYST)))
            outbox = {row.message_id: row.status for row in session.scalars(select(OutboxMessage))}
    finally:
        db.dispose()
    assert events and told == Counter(events), "an event mailed never, or in two digests"
    assert set(outbox.values()) == {"sent"}, outbox
    assert {m.message["Message-ID"] for m in smtp.messages} == set(outbox)


ANALYST = "analyst@example.org"


def test_sigkill_at_varied_points_loses_and_duplicates_nothing(tmp_path, db_url):
    with ExitStack() as stack:
        servers = [stack.enter_context(LocalServer(host=host, latency=0.04)) for host in HOSTS]
        sources = [{"id": s, "parser": "litellm", "urls": [f"{servers[n % len(servers)].url}/{s}.json"]}
                   for n, s in enumerate(SOURCES)]
        config_dir = write_config(tmp_path / "config", sources, timeout_seconds=5)
        smtp = stack.enter_context(LocalSMTPServer(tmp_path))
        smtp.write_alerts(config_dir, rule=[{"name": "all", "recipients": [ANALYST]}])
        env = {"PRICEWATCH_CONFIG": str(config_dir), "PRICEWATCH_DB": db_url, **smtp.credentials_env()}
        landed = 0
        for step in range(STEPS):
            for n, source in enumerate(SOURCES):
                servers[n % len(servers)].route(f"/{source}.json", price_list(source, step),
                                                headers={"Content-Type": "application/json"})
            for pages, wait in KILL_POINTS[step]:
                for server in servers:
                    server.hits.clear()
                landed += kill_at(run_cli(env, tmp_path), servers, pages, wait)
                check_consistency(db_url)
            finished = run_cli(env, tmp_path)
            stdout, stderr = finished.communicate(timeout=120)
            assert finished.returncode == 0, stdout + stderr
            assert [line.split(":")[0] for line in stdout.splitlines() if ": ok" in line] == SOURCES, stdout
            check_consistency(db_url)
        check_alerts(db_url, smtp)
    assert landed >= sum(len(points) for points in KILL_POINTS) - 1, "the kills came too late to test anything"
    assert event_multiset(db_url) == reference_events(tmp_path, load_config(config_dir))


# A process that sends itself `signal` as it sends its `target`-th statement to the archive
# (with target 0: as a transaction is about to commit, after printing how many came before),
# running the CLI with the other arguments, or, given `--open URL`, only opening (migrating) it.
SIGNAL_AT = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

number, target, sent = getattr(signal, sys.argv[1]), int(sys.argv[2]), [0]

@event.listens_for(Engine, "before_cursor_execute")
def _statement(*_):
    sent[0] += 1
    if sent[0] == target:
        os.kill(os.getpid(), number)

@event.listens_for(Engine, "commit")
def _commit(*_):
    if target == 0:
        print(sent[0], flush=True)
        os.kill(os.getpid(), number)

if sys.argv[3] == "--open":
    from db.session import Database
    Database(sys.argv[4])
else:
    from pipeline.cli import main
    sys.exit(main(sys.argv[3:]))
"""


def signal_at(name: str, target: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SIGNAL_AT, name, str(target), *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})


def migrate_and_die(db_url: str, target: int) -> subprocess.CompletedProcess:
    return signal_at("SIGKILL", target, "--open", db_url)


def archive_state(db_url: str) -> dict:
    """The schema revision, and the rows that migrations rebuild or rewrite (events and the
    alert log, which 0007 copies around) or must leave alone."""
    db = Database(db_url, migrate=False)
    try:
        with db.engine.connect() as connection:
            def rows(query: str) -> list:
                return [tuple(row) for row in connection.exec_driver_sql(query)]
            return {"revision": rows("SELECT version_num FROM alembic_version"),
                    "events": rows("SELECT id, kind, model, dimension, old_price, new_price FROM events ORDER BY id"),
                    "told": rows("SELECT event_id, recipient, message_id FROM alert_log ORDER BY event_id, recipient"),
                    "outbox": rows("SELECT message_id, status FROM outbox ORDER BY message_id"),
                    "intervals": rows("SELECT id, model, price, last_seen FROM price_intervals ORDER BY id"),
                    "snapshots": rows("SELECT id, sha256 FROM snapshots ORDER BY id")}
    finally:
        db.dispose()


def test_sigkill_inside_the_migrations_leaves_the_older_archive_whole(tmp_path, db_url):
    """An archive at schema 0003 is opened by a process killed at statements spread over all the
    migrations since (0007 rebuilds `events` and copies the alert log around it), and just
    before they commit.  Each time the archive must still be the older one, with every row; then
    a process left alone upgrades it to what it was before it was taken back."""
    from alembic.command import downgrade

    from tests.alerting import AFTER, BEFORE, RULE, config_dir, import_page
    from tests.test_migrations import alembic_config, litellm_page

    config = config_dir(tmp_path)
    LocalSMTPServer(tmp_path).write_alerts(config, rule=RULE)  # never started: the digest waits in the outbox
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 3
    archive_db, loaded = Database(db_url), load_config(config)  # and a moving alias's move, which 0008 converts
    litellm = loaded.source("litellm")
    for day, alias_input in ((15, "8e-6"), (16, "0.5e-6")):
        when = datetime(2026, 8, day, 8, tzinfo=timezone.utc)
        page = Fetched(litellm.urls[0], litellm.urls[0], 200, litellm_page(alias_input, "3e-6"), "application/json", when)
        assert ingest(archive_db, loaded, litellm, [page], when).status == "ok"
    archive_db.dispose()
    upgraded = archive_state(db_url)
    assert upgraded["events"] and upgraded["told"] and upgraded["outbox"]
    assert "alias_change" in {kind for _, kind, *_ in upgraded["events"]}
    older = Database(db_url, migrate=False)
    with older.engine.begin() as connection:
        downgrade(alembic_config(connection), "0003")
    older.dispose()
    before = archive_state(db_url)
    assert before["revision"] == [("0003",)] and "alias_change" not in {kind for _, kind, *_ in before["events"]}

    counted = migrate_and_die(db_url, 0)
    assert counted.returncode == -signal.SIGKILL, counted.stderr
    statements = int(counted.stdout)
    assert archive_state(db_url) == before
    for target in sorted({1, *range(statements // 8, statements + 1, max(1, statements // 8))}):
        died = migrate_and_die(db_url, target)
        assert died.returncode == -signal.SIGKILL, (target, died.stderr)
        if db_url.startswith("sqlite"):
            check_consistency(db_url)
        assert archive_state(db_url) == before, f"killed at statement {target} of {statements}"

    Database(db_url).dispose()
    assert archive_state(db_url) == upgraded
    check_consistency(db_url)


def stored_rows(db_url: str) -> dict:
    """What an import stores (the outbox aside: the alert stage may be the part interrupted)."""
    state = archive_state(db_url)
    del state["outbox"], state["told"]
    db = Database(db_url, migrate=False)
    try:
        with db.engine.connect() as connection:
            state["observations"] = [tuple(row) for row in connection.exec_driver_sql(
                "SELECT id, source_id, observed_at, quote_set_id, status FROM observations ORDER BY id")]
    finally:
        db.dispose()
    return state


def interrupt_throughout(db_url: str, command: list[str], before: dict) -> tuple[Counter, dict | None]:
    """Run `command` again and again, each time with a Ctrl-C at a later statement, until one
    comes too late to stop it.  Each must end with one line and exit 130 (or 0, or 3 for mail
    pending, when it came too late), leaving the archive checked and either as `before` or
    as the one state the command makes; returns how often each happened, and that state."""
    outcomes, after, target = Counter(), None, 1
    while True:
        interrupted = signal_at("SIGINT", target, *command)
        state = stored_rows(db_url)
        if interrupted.returncode != 130:
            assert interrupted.returncode in (0, 3), interrupted.stderr
            return outcomes, state
        assert interrupted.stderr.splitlines()[-1:] == ["pricewatch: interrupted"], interrupted.stderr
        assert "Traceback" not in interrupted.stderr, interrupted.stderr
        if state != before:
            after = after or state
            assert state == after, f"running the command again changed the archive (statement {target})"
        outcomes["stored" if state != before else "rolled back"] += 1
        check_consistency(db_url)
        target += max(1, target // 3)


def test_ctrl_c_at_any_statement_of_an_import_stores_the_page_whole_or_not_at_all(tmp_path, db_url):
    """A Ctrl-C lands at statements spread over an import (migrations checked, the store, the alert
    stage): the command ends with one line and exit 130, or with 0 when it came too late to stop
    anything; the archive then holds the page whole or not at all, and passes its checks."""
    from tests.alerting import AFTER, BEFORE, RULE, config_dir, import_page

    config = config_dir(tmp_path)
    LocalSMTPServer(tmp_path).write_alerts(config, rule=RULE)  # never started: the digest waits in the outbox
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    before = stored_rows(db_url)
    outcomes, _ = interrupt_throughout(db_url, ["--db", db_url, "--config", str(config), "import", "deepseek",
                                                str(AFTER), "--observed-at", "2026-08-14T08:00:00Z"], before)
    assert outcomes["rolled back"] >= 5, outcomes
    clean = f"sqlite:///{tmp_path / 'clean.sqlite'}"
    import_page(clean, config, BEFORE, "2026-08-02T08:00:00Z")
    import_page(clean, config, AFTER, "2026-08-14T08:00:00Z")
    assert len(stored_rows(db_url)["events"]) == len(stored_rows(clean)["events"]) > len(before["events"])


def test_ctrl_c_at_any_statement_of_a_release_publishes_the_held_page_whole_or_not_at_all(tmp_path, db_url):
    """`quarantine release` of a unit slip, with a Ctrl-C at statements spread over it: the page
    stays held with nothing published, or is published whole, with its six cuts, once."""
    from tests.test_quarantine import DEEPSEEK_ZH, SLIPPED, serving

    db = Database(db_url)
    with LocalServer() as server:
        live = serving(server, tmp_path, db, db_url, {"id": "deepseek-cn", "vendor": "deepseek", "parser": "deepseek",
                                                      "currency": "CNY", "market": "cn"}, "text/html; charset=utf-8")
        live.run(DEEPSEEK_ZH)
        assert live.run(SLIPPED).hold == "new"
    with db.session() as session:
        held = session.scalar(select(Observation.id).where(Observation.status == "quarantined"))
    db.dispose()
    before = stored_rows(db_url)
    outcomes, after = interrupt_throughout(
        db_url, ["--db", db_url, "--config", str(tmp_path / "config"), "quarantine", "release", str(held)], before)
    assert outcomes["rolled back"] >= 5, outcomes
    assert [status for _, _, _, _, status in after["observations"]] == ["ok", "ok"]
    assert [kind for _, kind, *_ in after["events"]].count("cut") == 6
