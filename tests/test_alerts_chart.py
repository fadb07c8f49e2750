"""Charts draw without a word on stderr: a model named in a script the fonts lack (boxes are
drawn), or a span of hours that matplotlib's date ticks fit badly, is no warning."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from db.models import PriceInterval
from pipeline.alerts.chart import price_chart
from pipeline.cli import main
from tests.report_history import build, observe, write_config

CJK_MODEL = "qwen/通义千问-ü-max"


def test_a_digest_chart_of_a_few_hours_named_in_cjk_is_quiet():
    start = datetime(2026, 8, 14, 8, tzinfo=timezone.utc)
    intervals = [PriceInterval(first_seen=start, last_seen=start, price=Decimal(2)),
                 PriceInterval(first_seen=start + timedelta(hours=3), last_seen=start + timedelta(hours=3),
                               price=Decimal(1))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = price_chart(intervals, f"{CJK_MODEL} output (CNY per 1M tokens) on qwen")
    assert [str(w.message) for w in caught] == []
    assert png.startswith(b"\x89PNG")


def test_the_chart_command_on_a_cjk_model_is_quiet(db, db_url, tmp_path, capsys):
    config = write_config(tmp_path / "config")
    build(db, config)
    for day, price in ((41, "3"), (45, "2")):
        observe(db, config, "hub", day, [(CJK_MODEL, "output", {}, price)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(["--db", db_url, "--config", str(config.directory), "chart", CJK_MODEL,
                       "-o", str(tmp_path / "c.svg")])
    assert status == 0 and capsys.readouterr().err == ""
    assert [str(w.message) for w in caught] == []
