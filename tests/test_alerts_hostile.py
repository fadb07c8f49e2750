"""Mail servers and alert settings that once lost, repeated or hid alerts: a server slow to
accept a message, a deferral that never ends, a sender with a line break, a vendor filter
that names no source, one mailbox spelt two ways, and `serve` with mail left pending or
rejected.  Found by an independent review; each test failed before its fix."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from db.models import AlertLog, Event, OutboxMessage
from db.session import Database
from pipeline.alerts.config import alert_settings
from pipeline.alerts.digest import queue_digests
from pipeline.alerts.message import compose, new_message_id
from pipeline.alerts.outbox import enqueue
from tests.alerting import AFTER, BEFORE, config_dir, import_page, pricewatch
from tests.alerting import idle_smtp  # noqa: F401  (the fixture `smtp`, started by each test)
from pipeline.config import load_config
from tests.conftest import REPO, write_config
from tests.httpserver import TimedServer, wait_until
from tests.test_schedule import start_serve, stop

SENDER = "pricewatch <pricewatch@example.org>"


def queue(db_url: str, *recipients: str) -> list[str]:
    """A message to each recipient, queued in the outbox as the alert stage queues digests."""
    db = Database(db_url)
    ids, now = [], datetime.now(timezone.utc)
    with db.transaction() as session:
        for recipient in recipients:
            mid = new_message_id("digest", "example.org")
            content = compose(sender=SENDER, recipient=recipient, subject=f"s {recipient}", message_id=mid,
                              date=now, text=f"hello {recipient}\n")
            enqueue(session, kind="digest", message_id=mid, sender=SENDER, recipient=recipient,
                    subject=f"s {recipient}", content=content, at=now)
            ids.append(mid)
    db.dispose()
    return ids


def outbox(db_url: str) -> list[tuple[str, str]]:
    db = Database(db_url, migrate=False)
    with db.session() as session:
        rows = [(row.recipient, row.status) for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    db.dispose()
    return rows


# -- the outbox ---------------------------------------------------------------------------------

def test_a_server_slow_to_accept_a_message_gets_it_once(tmp_path, smtp):
    """It takes longer than timeout_seconds to answer the final dot (content scanning; RFC 5321
    gives it ten minutes): giving up then made every flush send it again, ahead of the rest."""
    smtp.start()
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    config = config_dir(tmp_path)
    smtp.write_alerts(config, smtp=smtp.smtp_settings(timeout_seconds=1))
    slow, quick = queue(db_url, "slow@example.org", "quick@example.org")
    smtp.on_data = lambda content: time.sleep(1.6) if b"slow@example.org" in content else None
    for _ in range(2):
        assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert [m.message["Message-ID"] for m in smtp.messages] == [slow, quick]
    assert outbox(db_url) == [("slow@example.org", "sent"), ("quick@example.org", "sent")]


def test_a_deferral_says_why_the_mail_waits(tmp_path, smtp, capsys):
    smtp.start()
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    config = config_dir(tmp_path)
    smtp.write_alerts(config)
    queue(db_url, "full@example.org")
    smtp.refuse["full@example.org"] = "452 4.2.2 mailbox full"
    capsys.readouterr()
    assert pricewatch(db_url, config, "alerts", "flush") == 3
    assert "452 4.2.2 mailbox full" in capsys.readouterr().err


# -- settings -------------------------------------------------------------------------------------

@pytest.mark.parametrize("alerts, message", [
    ({"sender": "pricewatch\n <pricewatch@example.org>"}, "must be one line"),
    ({"rule": [{"name": "deepseek", "recipients": ["a@example.org"], "vendors": ["DeepSeek"]}]},
     "vendors 'DeepSeek' not in sources.toml"),
    ({"rule": [{"name": "one", "recipients": ["a@example.org"], "sources": ["deepseek-intl"]}]},
     "sources 'deepseek-intl' not in sources.toml"),
])
def test_settings_that_would_fail_or_match_nothing_are_refused_before_anything_is_stored(tmp_path, smtp, capsys,
                                                                                           alerts, message):
    """A line break in the sender failed at the first digest, after the store, with a traceback;
    a misspelt vendor matched no event, and the watermark moved past the events it meant."""
    smtp.start()
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    config = config_dir(tmp_path)
    smtp.write_alerts(config, **alerts)
    capsys.readouterr()
    assert import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z") == 2
    assert message in capsys.readouterr().err


def test_one_mailbox_spelt_two_ways_in_two_rules_gets_one_digest(tmp_path, smtp):
    smtp.start()
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[{"name": "cuts", "recipients": ["analyst@example.org"], "kinds": ["cut"]},
                                    {"name": "deepseek", "recipients": ["analyst@Example.ORG"], "vendors": ["deepseek"]}])
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 0
    assert [m.rcpt_tos for m in smtp.messages] == [["analyst@example.org"]]


def test_the_shipped_alerts_file_switched_off_does_not_check_rules_against_a_trimmed_config(tmp_path):
    """With alerts off no mail can be lost: the shipped rules name vendors a trimmed sources.toml lacks."""
    config = config_dir(tmp_path)  # deepseek and litellm only
    shutil.copy(REPO / "config" / "alerts.toml", config / "alerts.toml")
    assert import_page(f"sqlite:///{tmp_path / 'a.sqlite'}", config, BEFORE, "2026-08-02T08:00:00Z") == 0


def test_a_recipient_told_under_an_older_spelling_is_not_told_again(tmp_path, smtp):
    """alert_log rows from before domains were lower-cased keep `Analyst@Example.ORG`."""
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    config = config_dir(tmp_path)
    smtp.write_alerts(config, enabled=False, rule=[{"name": "all", "recipients": ["Analyst@Example.ORG"]}])
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z")
    smtp.write_alerts(config, rule=[{"name": "all", "recipients": ["Analyst@Example.ORG"]}])
    loaded = load_config(config)
    db = Database(db_url)
    try:
        with db.transaction() as session:
            ids, now = list(session.scalars(select(Event.id))), datetime.now(timezone.utc)
            enqueue(session, kind="digest", message_id="<old@example.org>", sender="pricewatch@example.org",
                    recipient="Analyst@Example.ORG", subject="before the upgrade", content=b"told", at=now)
            session.flush()
            session.add_all([AlertLog(event_id=i, recipient="Analyst@Example.ORG", message_id="<old@example.org>",
                                      created_at=now) for i in ids])
        with db.transaction() as session:
            assert ids and queue_digests(session, loaded, alert_settings(loaded), ids, now) == 0
            session.rollback()
    finally:
        db.dispose()


# -- serve ----------------------------------------------------------------------------------------

def serve_deepseek(tmp_path, smtp, db_url: str, until, **smtp_overrides) -> str:
    """`pricewatch serve` over one source whose page has moved since the archive's copy; stopped
    once `until()` holds; its log."""
    with TimedServer() as server:
        server.route("/pricing", AFTER.read_bytes(), headers={"Content-Type": "text/html"})
        server.route("/robots.txt", "User-agent: *\nAllow: /\n")
        config = write_config(tmp_path / "config", [
            {"id": "deepseek", "vendor": "deepseek", "parser": "deepseek", "urls": [f"{server.url}/pricing"],
             "schedule": {"interval_minutes": 60}}])
        smtp.write_alerts(config, smtp=smtp.smtp_settings(**smtp_overrides),
                          rule=[{"name": "all", "recipients": ["analyst@example.org"]}])
        import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")  # the archive knows the old prices
        serve = start_serve(tmp_path, {"PRICEWATCH_CONFIG": str(config), "PRICEWATCH_DB": db_url,
                                       **smtp.credentials_env()})
        try:
            until()
        finally:
            _, stderr = stop(serve)
    return stderr


def test_serve_delivers_pending_mail_once_the_server_is_back(tmp_path, smtp):
    """Not at the source's next slot, an hour (or a day) away."""
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"

    def down_then_up():
        wait_until(lambda: outbox(db_url) == [("analyst@example.org", "pending")], timeout=20)
        smtp.start()
        wait_until(lambda: outbox(db_url) == [("analyst@example.org", "sent")], timeout=20)

    stderr = serve_deepseek(tmp_path, smtp, db_url, down_then_up, retry_seconds=1)
    assert len(smtp.messages) == 1
    assert "event=alerts source=outbox status=ok sent=1" in stderr, stderr


def test_serve_logs_a_rejected_digest_as_rejected(tmp_path, smtp):
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    smtp.refuse["analyst@example.org"] = "550 5.7.1 relaying denied"
    smtp.start()
    stderr = serve_deepseek(tmp_path, smtp, db_url,
                            lambda: wait_until(lambda: outbox(db_url) == [("analyst@example.org", "rejected")],
                                               timeout=20))
    [line] = [line for line in stderr.splitlines() if "event=alerts" in line]
    assert "status=rejected" in line and "rejected=1" in line, line
