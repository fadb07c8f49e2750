"""The alerts commands and the exit statuses of `run` and `import` with mail pending."""

from __future__ import annotations

import json

import pytest

from tests.alerting import AFTER, BEFORE, RULE, config_dir, import_page, pricewatch
from tests.alerting import idle_smtp  # noqa: F401  (the fixture `smtp`)
from tests.conftest import write_config
from tests.httpserver import LocalServer


def test_help_lists_the_alert_commands(capsys):
    from pipeline.cli import main

    with pytest.raises(SystemExit):
        main(["alerts", "--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in ("test", "pending", "flush"))


def test_disabled_alerts_send_nothing_and_queue_nothing(tmp_path, db_url, smtp, capsys):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, enabled=False, rule=RULE)
    smtp.start()
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 0
    assert "alerts:" not in capsys.readouterr().out
    assert pricewatch(db_url, config, "alerts", "pending", "--all", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert smtp.messages == []


def test_a_flawed_alerts_file_stops_the_import_before_it_stores(tmp_path, db_url, smtp, capsys):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[{"recipients": ["analyst@example.org"], "kinds": ["cuts"]}])
    assert import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z") == 2
    err = capsys.readouterr().err
    assert err.startswith("pricewatch: alerts.toml rule 1: Invalid enum value 'cuts'") and len(err.splitlines()) == 1
    if db_url.startswith("sqlite"):  # not even the archive's file was made
        assert pricewatch(db_url, config, "prices") == 2 and "no archive at" in capsys.readouterr().err
    else:
        assert pricewatch(db_url, config, "prices", "--format", "json") == 0
        assert json.loads(capsys.readouterr().out) == []


def test_pending_lists_the_outbox(tmp_path, db_url, smtp, capsys):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 3
    capsys.readouterr()
    assert pricewatch(db_url, config, "alerts", "pending", "--format", "json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "pending" and row["recipient"] == "analyst@example.org" and row["attempts"] == 1
    assert row["subject"] == "pricewatch: 3 price cuts — deepseek-v4-pro −50%"
    assert "connection refused" in row["last_error"] and row["message_id"].startswith("<pricewatch.digest.")
    smtp.start()
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert pricewatch(db_url, config, "alerts", "pending") == 0
    assert "(no rows)" in capsys.readouterr().out
    assert pricewatch(db_url, config, "alerts", "pending", "--all", "--format", "csv") == 0
    assert ",sent,digest,analyst@example.org," in capsys.readouterr().out


def test_run_exits_3_with_mail_pending_and_1_when_a_source_failed(tmp_path, db_url, smtp, capsys):
    with LocalServer() as web:
        web.route("/robots.txt", "")
        web.route("/pricing", BEFORE.read_bytes(), headers={"Content-Type": "text/html"})
        web.route("/gone", "", status=404)
        config = write_config(tmp_path / "config", [
            {"id": "deepseek", "vendor": "deepseek", "parser": "deepseek", "urls": [f"{web.url}/pricing"]},
            {"id": "broken", "parser": "deepseek", "urls": [f"{web.url}/gone"]},
        ])
        smtp.write_alerts(config, rule=RULE)
        assert pricewatch(db_url, config, "run", "--source", "deepseek") == 0
        web.route("/pricing", AFTER.read_bytes(), headers={"Content-Type": "text/html"})
        assert pricewatch(db_url, config, "run", "--source", "deepseek") == 3
        assert "3 events" in capsys.readouterr().out
        assert pricewatch(db_url, config, "run") == 1, "a failed source keeps priority over mail pending"
        smtp.start()
        assert pricewatch(db_url, config, "run", "--source", "deepseek") == 0, "the next run delivers"
    assert [m.message["Subject"] for m in smtp.messages] == ["pricewatch: 3 price cuts — deepseek-v4-pro −50%"]
