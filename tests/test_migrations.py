"""The schema: Alembic's migrations, the models, and the start-up check that skips Alembic."""

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

import db.session
from db.models import Base, Event
from db.session import MIGRATIONS, Database, head_revision
from pipeline.errors import DatabaseUnavailable


def alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_head_revision_is_alembics_head():
    assert [head_revision()] == ScriptDirectory(str(MIGRATIONS)).get_heads()


def test_migrations_build_what_the_models_describe(db):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_an_older_schema_is_upgraded_when_opened(db_url):
    Database(db_url).dispose()
    older = Database(db_url, migrate=False)
    with older.engine.begin() as connection:
        downgrade(alembic_config(connection), "0003")
    with older.engine.connect() as connection:
        assert "alert_watermark" not in inspect(connection).get_table_names()
    older.dispose()

    reopened = Database(db_url)
    with reopened.engine.connect() as connection:
        assert "alert_watermark" in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
    reopened.dispose()


def test_an_archive_from_a_newer_pricewatch_is_refused_untouched(db_url):
    """A downgraded pricewatch must not run Alembic over a schema it does not know (that
    crashed with Alembic's own traceback), nor write to it."""
    Database(db_url).dispose()
    newer = Database(db_url, migrate=False)
    with newer.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    newer.dispose()

    with pytest.raises(DatabaseUnavailable, match="schema is at revision 9999, newer than this pricewatch knows"):
        Database(db_url)
    untouched = Database(db_url, migrate=False)
    with untouched.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "9999"
    untouched.dispose()


def test_a_read_only_archive_is_read_as_it_is(tmp_path, monkeypatch, capsys):
    """A copy on read-only media (where SQLite may neither lock nor write its WAL index) is
    opened immutable: queries answer, and not a byte is written beside or into the file."""
    import hashlib
    import subprocess
    import sys

    import pipeline.cli
    from tests.conftest import FIXTURES, REPO

    archive = tmp_path / "copy.sqlite"
    page = str(FIXTURES / "litellm_core" / "2026-01.json")
    imported = subprocess.run([sys.executable, "-m", "pipeline", "--db", str(archive), "import", "litellm", page,
                               "--observed-at", "2026-01-01"], cwd=REPO, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    before, files = hashlib.sha256(archive.read_bytes()).hexdigest(), sorted(tmp_path.iterdir())
    monkeypatch.setattr(pipeline.cli, "writable", lambda path: False)  # root may write anything: pretend
    monkeypatch.setattr(db.session, "on_read_only_media", lambda path: True)
    capsys.readouterr()
    assert pipeline.cli.main(["--db", str(archive), "prices", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 5  # five models in the fixture
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == before and sorted(tmp_path.iterdir()) == files


def test_an_archive_another_user_writes_is_read_without_immutable(tmp_path, monkeypatch, capsys):
    """An archive the cron user writes and an analyst only reads: immutable could return wrong
    rows while a run writes, so it is opened plain read-only, and still answers."""
    import subprocess
    import sys

    import pipeline.cli
    from tests.conftest import FIXTURES, REPO

    archive = tmp_path / "shared.sqlite"
    page = str(FIXTURES / "litellm_core" / "2026-01.json")
    assert subprocess.run([sys.executable, "-m", "pipeline", "--db", str(archive), "import", "litellm", page,
                           "--observed-at", "2026-01-01"], cwd=REPO, capture_output=True).returncode == 0
    monkeypatch.setattr(pipeline.cli, "writable", lambda path: False)
    engines = []
    monkeypatch.setattr(db.session, "create_engine", lambda url, **kw: engines.append(url) or create_engine(url, **kw))
    capsys.readouterr()
    assert pipeline.cli.main(["--db", str(archive), "prices", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 5
    assert engines and "mode=ro" in engines[0] and "immutable" not in engines[0]


def test_a_read_only_archive_at_an_older_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    Database(url).dispose()
    older = Database(url, migrate=False)
    with older.engine.begin() as connection:
        downgrade(alembic_config(connection), "0003")
    older.dispose()
    with pytest.raises(DatabaseUnavailable, match="read-only and its schema is at revision 0003, not"):
        Database(url, read_only=True)


def test_a_read_only_copy_with_its_write_ahead_log_is_read_whole(tmp_path):
    """Copied while its last writes were still in the -wal file: opened as immutable, SQLite
    would ignore them and answer from an older (here empty) archive."""
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    live = Database(url)  # left open: its writes stay in live.sqlite-wal
    with live.transaction() as session:
        session.execute(text("INSERT INTO robots_files (origin, fetched_at, body) VALUES ('https://x', '2026-01-01', '')"))
    assert (tmp_path / "live.sqlite-wal").stat().st_size > 0
    copy = Database(url, read_only=True)
    with copy.session() as session:
        assert session.execute(text("SELECT count(*) FROM robots_files")).scalar_one() == 1
    copy.dispose()
    live.dispose()


def test_giving_sqlite_events_autoincrement_keeps_the_alert_log_and_never_reuses_an_id(tmp_path):
    """0007 rebuilds `events` on SQLite.  Foreign keys are on, so dropping the old table cascades
    to alert_log, which must come back whole; and an id the alert watermark has passed, freed
    since by a re-derivation, must not be handed out again (the new event would never be mailed)."""
    from tests.alerting import AFTER, BEFORE, RULE, config_dir, import_page
    from tests.smtpserver import LocalSMTPServer

    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    config = config_dir(tmp_path)
    LocalSMTPServer(tmp_path).write_alerts(config, rule=RULE)  # never started: the digest waits in the outbox
    import_page(url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(url, config, AFTER, "2026-08-14T08:00:00Z") == 3
    older = Database(url, migrate=False)
    told_of = text("SELECT event_id, recipient, message_id FROM alert_log ORDER BY event_id")
    with older.engine.begin() as connection:
        told = connection.execute(told_of).all()
        downgrade(alembic_config(connection), "0006")
        assert connection.execute(told_of).all() == told
        newest = connection.execute(text("SELECT max(id) FROM events")).scalar_one()
        assert connection.execute(text("SELECT last_event_id FROM alert_watermark")).scalar_one() == newest
        connection.execute(text("DELETE FROM alert_log WHERE event_id = :id"), {"id": newest})
        connection.execute(text("DELETE FROM events WHERE id = :id"), {"id": newest})
    older.dispose()

    reopened = Database(url)
    with reopened.engine.connect() as connection:
        assert connection.execute(told_of).all() == [row for row in told if row.event_id != newest]
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    with reopened.transaction() as session:
        first = session.scalars(select(Event).order_by(Event.id).limit(1)).one()
        again = Event(**{column.key: getattr(first, column.key) for column in Event.__table__.columns
                         if column.key != "id"})
        again.observed_at = datetime(2026, 8, 20, 8, tzinfo=timezone.utc)
        session.add(again)
        session.flush()
        assert again.id == newest + 1
    reopened.dispose()


def litellm_page(alias_input: str, other_input: str) -> bytes:
    """A LiteLLM price list of six models: a moving alias, one other model, four that never change."""
    entries = {f"vendor/fixed-{n}": {"litellm_provider": "vendor", "mode": "chat", "input_cost_per_token": f"{n + 1}e-6",
                                     "output_cost_per_token": f"{n + 2}e-6"} for n in range(4)}
    entries["mistral/mistral-large-latest"] = {"litellm_provider": "mistral", "mode": "chat",
                                               "input_cost_per_token": alias_input, "output_cost_per_token": "24e-6"}
    entries["vendor/other"] = {"litellm_provider": "vendor", "mode": "chat", "input_cost_per_token": other_input,
                               "output_cost_per_token": "9e-6"}
    return json.dumps(entries).encode()


def test_recorded_cuts_of_a_moving_alias_become_alias_changes_keeping_their_ids(db_url, config):
    """0008: a cut the older diff stage recorded on `mistral-large-latest` is an alias change
    now, under the same id (a new id would be mailed as news), and the next re-derivation keeps
    it.  A cut of a fixed model stays a cut."""
    from pipeline.fetch import Fetched
    from pipeline.run import ingest

    archive = Database(db_url)
    source = config.source("litellm")
    for day, (alias_input, other_input) in enumerate([("8e-6", "3e-6"), ("0.5e-6", "2e-6"), ("0.5e-6", "1e-6")]):
        when = datetime(2026, 3, 1 + day, 8, tzinfo=timezone.utc)
        page = Fetched(source.urls[0], source.urls[0], 200, litellm_page(alias_input, other_input), "application/json", when)
        assert ingest(archive, config, source, [page], when).status == "ok"
        if day == 1:
            kinds = text("SELECT id, kind, model FROM events WHERE kind IN ('cut', 'alias_change') ORDER BY id")
            with archive.engine.begin() as connection:
                derived = connection.execute(kinds).all()
                assert [(kind, model) for _, kind, model in derived] == [
                    ("alias_change", "mistral/mistral-large-latest"), ("cut", "vendor/other")]
                downgrade(alembic_config(connection), "0007")
                assert [kind for _, kind, _ in connection.execute(kinds)] == ["cut", "cut"]
            archive.dispose()
            archive = Database(db_url)
            with archive.engine.connect() as connection:
                assert connection.execute(kinds).all() == derived
    with archive.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, kind, model FROM events WHERE kind IN ('cut', 'alias_change') "
                                       "ORDER BY id")).all()
    assert rows[:2] == derived and [row.kind for row in rows[2:]] == ["cut"]
    archive.dispose()


def test_taking_alias_changes_back_to_0007_keeps_one_event_a_moment(db_url, config):
    """An alias whose tier bounds moved as it came to name another model, at the same price: a
    tier change and an alias change at one moment.  Before 0008 that was one tier change."""
    from pipeline.archive import archive
    from pipeline.normalise import normalise
    from pipeline.store import store_observation
    from scrapers import Quote

    archive_db = Database(db_url)
    source = config.source("mistral")
    for day, serves, bound in ((1, "Acme 2", 32000), (2, "Acme 3", 128000)):
        when = datetime(2026, 5, day, tzinfo=timezone.utc)
        conditions = {"serves": serves, "context_tokens": {"min": 0, "max": bound}}
        priced = [normalise(Quote("acme-latest", "input", Decimal("3"), "USD", conditions))]
        with archive_db.transaction() as session:
            page = archive(session, f"page {day}".encode(), url=source.urls[0], content_type="text/html", seen_at=when)
            store_observation(session, config, source, observed_at=when, snapshots=[page], parser="mistral",
                              parser_version=3, priced=priced)
    kinds = text("SELECT kind FROM events WHERE model = 'acme-latest' AND kind <> 'new_model' ORDER BY kind")
    with archive_db.engine.begin() as connection:
        assert connection.execute(kinds).scalars().all() == ["alias_change", "tier_change"]
        downgrade(alembic_config(connection), "0007")
        assert connection.execute(kinds).scalars().all() == ["tier_change"]
    archive_db.dispose()
