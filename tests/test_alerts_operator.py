"""Operator alerts through a real SMTP server: once per outage, once on recovery."""

from __future__ import annotations

from tests.alerting import BEFORE, config_dir, import_page
from tests.alerting import listening_smtp  # noqa: F401  (the fixture `smtp`)
from tests.conftest import FIXTURES

BOT_WALL = FIXTURES / "deepseek" / "challenge.html"
NO_TABLE = FIXTURES / "deepseek" / "no_table.html"


def subjects(smtp) -> list[str]:
    return [m.message["Subject"] for m in smtp.messages]


def test_operator_alerts_fire_once_per_outage_and_once_on_recovery(tmp_path, db_url, smtp):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"], "failures_in_a_row": 2,
                                        "blocked": True, "layout_drift": False})
    steps = [  # page, day, exit status, subjects sent by then
        (BOT_WALL, 1, 1, ["pricewatch operator: deepseek failing (blocked, 1 run in a row)"]),
        (BOT_WALL, 2, 1, []),
        (NO_TABLE, 3, 1, []),  # still the same outage
        (BEFORE, 4, 0, ["pricewatch operator: deepseek recovered"]),
        (BEFORE, 5, 0, []),
        (NO_TABLE, 6, 1, []),  # layout drift alone is off here, and 1 < 2 failures
        (NO_TABLE, 7, 1, ["pricewatch operator: deepseek failing (layout drift, 2 runs in a row)"]),
        (NO_TABLE, 8, 1, []),
        (BEFORE, 9, 0, ["pricewatch operator: deepseek recovered"]),
    ]
    expected: list[str] = []
    for page, day, status, sent in steps:
        assert import_page(db_url, config, page, f"2026-08-{day:02d}T08:00:00Z") == status, day
        expected += sent
        assert subjects(smtp) == expected, day
    assert all(m.rcpt_tos == ["ops@example.org"] for m in smtp.messages)
    outage = smtp.messages[0].part("plain")
    assert "[blocked] bot wall" in outage and "Failed runs in a row: 1" in outage
    assert "2026-08-01 08:00 UTC" in smtp.messages[1].part("plain")  # when the outage began


def test_a_short_outage_below_every_trigger_sends_nothing(tmp_path, db_url, smtp):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, operator={"recipients": ["ops@example.org"], "failures_in_a_row": 3,
                                        "blocked": False, "layout_drift": False})
    for page, day in ((BOT_WALL, 1), (NO_TABLE, 2), (BEFORE, 3), (BOT_WALL, 4), (BEFORE, 5)):
        import_page(db_url, config, page, f"2026-08-{day:02d}T08:00:00Z")
    assert smtp.messages == []
