"""Operator alerts through a real SMTP server: once per outage, once on recovery.

Outages are live runs against a local vendor server that serves, run after run, the page
each step names.  Imports never alert the operator: a backfilled page says nothing of the
source today."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.alerting import BEFORE, config_dir, import_page, pricewatch, run_that_dies_before_alerting
from tests.alerting import listening_smtp  # noqa: F401  (the fixture `smtp`)
from tests.conftest import FIXTURES, write_config
from tests.httpserver import LocalServer

BOT_WALL = FIXTURES / "deepseek" / "challenge.html"
NO_TABLE = FIXTURES / "deepseek" / "no_table.html"


def subjects(smtp) -> list[str]:
    return [m.message["Subject"] for m in smtp.messages]


@pytest.fixture
def vendor():
    with LocalServer() as server:
        yield server


def live_config(tmp_path: Path, server: LocalServer) -> Path:
    return write_config(tmp_path / "config", [
        {"id": "deepseek", "vendor": "deepseek", "parser": "deepseek", "urls": [f"{server.url}/pricing"]}])


def run_serving(db_url: str, config: Path, server: LocalServer, page: Path) -> int:
    """`pricewatch run` while the vendor's page is `page`."""
    server.route("/pricing", page.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
    return pricewatch(db_url, config, "run")


def test_operator_alerts_fire_once_per_outage_and_once_on_recovery(tmp_path, db_url, smtp, vendor):
    config = live_config(tmp_path, vendor)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"], "failures_in_a_row": 2,
                                        "blocked": True, "layout_drift": False})
    steps = [  # the page served, the run's exit status, subjects sent by then
        (BOT_WALL, 1, ["pricewatch operator: deepseek failing (blocked, 1 run in a row)"]),
        (BOT_WALL, 1, []),
        (NO_TABLE, 1, []),  # still the same outage
        (BEFORE, 0, ["pricewatch operator: deepseek recovered"]),
        (BEFORE, 0, []),
        (NO_TABLE, 1, []),  # layout drift alone is off here, and 1 < 2 failures
        (NO_TABLE, 1, ["pricewatch operator: deepseek failing (layout drift, 2 runs in a row)"]),
        (NO_TABLE, 1, []),
        (BEFORE, 0, ["pricewatch operator: deepseek recovered"]),
    ]
    expected: list[str] = []
    for step, (page, status, sent) in enumerate(steps):
        assert run_serving(db_url, config, vendor, page) == status, step
        expected += sent
        assert subjects(smtp) == expected, step
    assert all(m.rcpt_tos == ["ops@example.org"] for m in smtp.messages)
    outage = smtp.messages[0].part("plain")
    assert "[blocked] bot wall" in outage and "Failed runs in a row: 1" in outage
    assert re.search(r"failing since \d{4}-\d\d-\d\d \d\d:\d\d UTC", smtp.messages[1].part("plain"))


def test_imports_never_alert_the_operator(tmp_path, db_url, smtp):
    """A backfill of a bot wall or of a page that lost its table, dated any day, is no outage
    of the live source, and a good one is no recovery."""
    config = config_dir(tmp_path)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"], "failures_in_a_row": 1})
    for page, day, status in ((BOT_WALL, 1, 1), (NO_TABLE, 2, 1), (BEFORE, 3, 0), (NO_TABLE, 4, 1)):
        assert import_page(db_url, config, page, f"2025-08-{day:02d}T08:00:00Z") == status, day
    assert smtp.messages == []


def test_a_short_outage_below_every_trigger_sends_nothing(tmp_path, db_url, smtp, vendor):
    config = live_config(tmp_path, vendor)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"], "failures_in_a_row": 3,
                                        "blocked": False, "layout_drift": False})
    for page in (BOT_WALL, NO_TABLE, BEFORE, BOT_WALL, BEFORE):
        run_serving(db_url, config, vendor, page)
    assert smtp.messages == []


def china_config(tmp_path: Path, server: LocalServer) -> Path:
    """deepseek-cn, whose page tests.test_quarantine makes slip into a per-1K price: held for review."""
    return write_config(tmp_path / "config", [{"id": "deepseek-cn", "vendor": "deepseek", "parser": "deepseek",
                                               "currency": "CNY", "market": "cn", "urls": [f"{server.url}/pricing"]}])


def test_a_page_held_for_review_is_told_once(tmp_path, db_url, smtp, vendor, capsys):
    """The sanity gate holding a page back is the operator's to decide: one mail naming the
    commands; the same page read again by later runs adds no review item and no mail."""
    from tests.test_quarantine import DEEPSEEK_ZH, SLIPPED

    config = china_config(tmp_path, vendor)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"]})
    for page in (DEEPSEEK_ZH, SLIPPED, SLIPPED, SLIPPED):
        vendor.route("/pricing", page, headers={"Content-Type": "text/html; charset=utf-8"})
        assert pricewatch(db_url, config, "run") == 0
    assert subjects(smtp) == ["pricewatch operator: deepseek-cn held for review"]
    text = smtp.messages[0].part("plain")
    assert "moved more than 20x" in text and "pricewatch quarantine release 2" in text
    capsys.readouterr()
    assert pricewatch(db_url, config, "quarantine", "--format", "json") == 0
    assert [row["id"] for row in json.loads(capsys.readouterr().out)] == [2]


def test_a_page_held_by_a_run_that_died_before_its_alert_stage_is_told_by_the_next(tmp_path, db_url, smtp, vendor):
    """The run that held the page is killed, or stopped by a Ctrl-C, after its store: the next
    runs read the same page again (no new hold of their own), and the first of them tells it, once."""
    from tests.test_quarantine import DEEPSEEK_ZH, SLIPPED

    config = china_config(tmp_path, vendor)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"]})
    vendor.route("/pricing", DEEPSEEK_ZH, headers={"Content-Type": "text/html; charset=utf-8"})
    assert pricewatch(db_url, config, "run") == 0
    vendor.route("/pricing", SLIPPED, headers={"Content-Type": "text/html; charset=utf-8"})
    (died,) = run_that_dies_before_alerting(db_url, config)
    assert died.hold == "new" and smtp.messages == []
    for _ in range(2):
        assert pricewatch(db_url, config, "run") == 0
    assert subjects(smtp) == ["pricewatch operator: deepseek-cn held for review"]
    assert "pricewatch quarantine release 2" in smtp.messages[0].part("plain")


def test_outages_and_recoveries_stored_by_runs_that_died_before_alerting_are_told(tmp_path, db_url, smtp, vendor):
    """Failures and successes are read from source_health, not from the run at hand: an outage
    whose runs all died before alerting is told late, as a failure since recovered; a recovery
    whose run died is told by the next stage, before the outage that came after it."""
    config = live_config(tmp_path, vendor)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"], "failures_in_a_row": 2,
                                        "blocked": True, "layout_drift": False})
    assert run_serving(db_url, config, vendor, BEFORE) == 0
    steps = [  # the page served, whether the run dies before its alert stage, subjects sent by the end of it
        (BOT_WALL, True, []),
        (BEFORE, False, ["pricewatch operator: deepseek failed (blocked), recovered since"]),
        (BOT_WALL, False, ["pricewatch operator: deepseek failing (blocked, 1 run in a row)"]),
        (BEFORE, True, []),
        (NO_TABLE, False, ["pricewatch operator: deepseek recovered"]),  # a new outage, 1 < 2 failures
        (NO_TABLE, False, ["pricewatch operator: deepseek failing (layout drift, 2 runs in a row)"]),
    ]
    expected: list[str] = []
    for step, (page, dies, sent) in enumerate(steps):
        if dies:
            vendor.route("/pricing", page.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
            run_that_dies_before_alerting(db_url, config)
        else:
            run_serving(db_url, config, vendor, page)
        expected += sent
        assert subjects(smtp) == expected, step
    late = smtp.messages[0].part("plain")
    assert "failed: [blocked] bot wall" in late and "stopped before their alert stage" in late


def test_a_source_removed_from_the_config_is_no_outage_to_report(tmp_path, db_url, smtp, vendor):
    """Its last failure stays in source_health; switching operator mail on must not report it."""
    config = live_config(tmp_path, vendor)
    assert run_serving(db_url, config, vendor, BOT_WALL) == 1  # blocked, alerts still off
    write_config(config, [{"id": "deepseek-cn", "vendor": "deepseek", "parser": "deepseek", "currency": "CNY",
                           "market": "cn", "urls": [f"{vendor.url}/pricing"]}])
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"], "blocked": True})
    assert run_serving(db_url, config, vendor, BEFORE) == 0
    assert subjects(smtp) == []
