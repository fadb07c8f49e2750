"""The outbox against a real SMTP server: an outage loses nothing and sends nothing twice;
a delivering process killed mid-transaction leaves no duplicate, or killed after the server
accepted, at most one extra copy under the same Message-ID (the documented worst case)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

from sqlalchemy import select

from db.models import Base, OutboxMessage
from db.session import Database
from pipeline.alerts.message import new_message_id
from pipeline.alerts.outbox import enqueue
from tests.alerting import AFTER, BEFORE, RULE, config_dir, import_page, pricewatch
from tests.alerting import idle_smtp  # noqa: F401  (the fixture `smtp`)
from tests.conftest import REPO
from tests.smtpserver import PASSWORD


def outbox(db_url: str) -> list[OutboxMessage]:
    db = Database(db_url)
    with db.session() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    db.dispose()
    return rows


def queue_one_digest_while_down(db_url, config) -> OutboxMessage:
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 3, "stored fine, mail pending"
    (row,) = outbox(db_url)
    assert row.status == "pending"
    return row


def flush_in_subprocess(db_url, config, smtp) -> subprocess.Popen:
    env = {**os.environ, **smtp.credentials_env(), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "pipeline", "--db", db_url, "--config", str(config), "alerts",
                             "flush"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_with_the_server_down_mail_waits_then_goes_exactly_once(tmp_path, db_url, smtp, capsys):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    row = queue_one_digest_while_down(db_url, config)
    err = capsys.readouterr().err
    assert f"mail pending: smtp 127.0.0.1:{smtp.port}: connection refused" in err
    assert pricewatch(db_url, config, "alerts", "flush") == 3  # still down
    assert outbox(db_url)[0].attempts == 2

    smtp.start()
    assert pricewatch(db_url, config, "alerts", "pending") == 0
    assert "analyst@example.org" in capsys.readouterr().out
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert "alerts: 1 sent, 0 pending" in capsys.readouterr().out
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert import_page(db_url, config, AFTER, "2026-08-15T08:00:00Z") == 0  # the next run: nothing new
    assert [m.message["Message-ID"] for m in smtp.messages] == [row.message_id]
    assert outbox(db_url)[0].status == "sent"


def test_a_crash_before_the_end_of_data_sends_no_duplicate(tmp_path, db_url, smtp):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    queue_one_digest_while_down(db_url, config)
    smtp.start()
    process: list[subprocess.Popen] = []
    smtp.on_rcpt = lambda address: (process[0].kill(), process[0].wait())
    process.append(flush_in_subprocess(db_url, config, smtp))
    assert process[0].wait(timeout=60) < 0, "killed by the server hook"
    assert smtp.messages == [] and outbox(db_url)[0].status == "pending"

    smtp.on_rcpt = None
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert len(smtp.messages) == 1 and outbox(db_url)[0].status == "sent"


def test_a_crash_after_the_server_accepted_resends_once_under_the_same_message_id(tmp_path, db_url, smtp, capsys):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    row = queue_one_digest_while_down(db_url, config)
    smtp.start()
    process: list[subprocess.Popen] = []
    smtp.on_data = lambda content: (process[0].kill(), process[0].wait())
    process.append(flush_in_subprocess(db_url, config, smtp))
    assert process[0].wait(timeout=60) < 0, "killed between the server's acceptance and the record"
    assert len(smtp.messages) == 1
    interrupted = outbox(db_url)[0]
    assert interrupted.status == "sending" and interrupted.handed_over_at is not None

    smtp.on_data = None
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert "1 of them sent again under the same Message-ID" in capsys.readouterr().out
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    first, second = smtp.messages
    assert first.message["Message-ID"] == second.message["Message-ID"] == row.message_id
    assert first.content == second.content, "the same bytes, so receivers can drop the copy"
    final = outbox(db_url)[0]
    assert (final.status, final.attempts) == ("sent", 3)  # refused while down, killed, re-sent


def test_a_ctrl_c_after_the_end_of_data_waits_for_the_reply_and_sends_no_duplicate(tmp_path, db_url, smtp):
    """One SIGINT while the server is committing the message: the flush records its 250, then
    stops (exit 130), and the next flush has nothing to send again."""
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    queue_one_digest_while_down(db_url, config)
    smtp.start()
    process: list[subprocess.Popen] = []
    smtp.on_data = lambda content: process[0].send_signal(signal.SIGINT)
    process.append(flush_in_subprocess(db_url, config, smtp))
    assert process[0].wait(timeout=60) == 130, "interrupted, once the reply was recorded"
    (row,) = outbox(db_url)
    assert (row.status, row.server_reply) == ("sent", "250 2.0.0 queued")

    smtp.on_data = None
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert len(smtp.messages) == 1


def test_a_refused_recipient_is_rejected_not_retried(tmp_path, db_url, smtp, capsys):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE + [{"name": "typo", "recipients": ["nobody@example.org"]}])
    smtp.refuse["nobody@example.org"] = "550 5.1.1 no such user"
    smtp.start()
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 0
    assert "1 sent, 1 rejected (`pricewatch alerts pending` says why), 0 pending" in capsys.readouterr().out
    rejected = [row for row in outbox(db_url) if row.status == "rejected"]
    assert len(rejected) == 1 and "550 5.1.1 no such user" in rejected[0].last_error
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert pricewatch(db_url, config, "alerts", "pending") == 0
    assert "nobody@example.org" in capsys.readouterr().out
    assert [m.rcpt_tos for m in smtp.messages] == [["analyst@example.org"]]


def test_messages_that_can_never_go_are_rejected_and_do_not_hold_back_the_rest(tmp_path, db, db_url, smtp, capsys):
    """Messages queued before alerts.toml refused non-ASCII addresses: smtplib cannot write their
    envelope, so each is rejected with the reason, and the digest queued behind them goes."""
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    with db.transaction() as session:
        for sender, recipient in (("pricewatch <pricewatch@example.org>", "ünï@exämple.org"),
                                  ("pw <pw@exämple.org>", "analyst@example.org")):
            enqueue(session, kind="test", message_id=new_message_id("test", "example.org"), sender=sender,
                    recipient=recipient, subject="queued under an older config", content=b"Subject: old\r\n\r\n",
                    at=datetime.now(timezone.utc))
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 3, "the digest waits behind them"
    capsys.readouterr()
    smtp.start()
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    printed = capsys.readouterr()
    assert printed.out == "alerts: 1 sent, 2 rejected (`pricewatch alerts pending` says why), 0 pending\n"
    assert printed.err == ""
    assert [m.message["Subject"] for m in smtp.messages] == ["pricewatch: 3 price cuts — deepseek-v4-pro −50%"]
    recipient, sender, digest = outbox(db_url)
    assert (recipient.status, sender.status, digest.status) == ("rejected", "rejected", "sent")
    not_ascii = "is not a plain ASCII mail address (internationalised addresses need SMTPUTF8, which pricewatch"
    assert f"not sent: 'ünï@exämple.org' {not_ascii}" in recipient.last_error
    assert f"not sent: 'pw@exämple.org' {not_ascii}" in sender.last_error
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert len(smtp.messages) == 1


def test_credentials_stay_out_of_the_database_the_logs_and_the_config(tmp_path, db_url, smtp, capsys, caplog):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    smtp.start()
    caplog.set_level(logging.DEBUG, logger="pricewatch")
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert pricewatch(db_url, config, "-v", "import", "deepseek", str(AFTER), "--observed-at",
                      "2026-08-14T08:00:00Z") == 0
    assert len(smtp.messages) == 1
    printed = capsys.readouterr()
    assert PASSWORD not in printed.out + printed.err + caplog.text
    assert all(PASSWORD not in path.read_text() for path in config.glob("*.toml"))
    db = Database(db_url)
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                assert PASSWORD.encode() not in repr(tuple(row)).encode(), table.name
    db.dispose()
