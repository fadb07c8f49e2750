"""The sanity gate and `pricewatch quarantine`: a unit slip is held back and never published
as a cut until a person releases it; on SQLite and PostgreSQL, with live runs against a
local server."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import select

from db.models import Event, Observation
from db.queries import prices_at
from pipeline.cli import main
from pipeline.config import Config, load_config
from pipeline.fetch import Fetched
from pipeline.run import SourceResult, ingest, run_all
from tests.conftest import FIXTURES, write_config
from tests.httpserver import LocalServer
from tests.smtpserver import LocalSMTPServer

DEEPSEEK_ZH = (FIXTURES / "deepseek" / "zh_flat.html").read_bytes()


def per_thousand_under_a_million_header(page: bytes) -> bytes:
    """The classic slip: the page keeps its "百万tokens" (per 1M) labels but now prints per-1K amounts."""
    return re.sub(rb"<td>([\d.]+)\xe5\x85\x83</td>",  # <td>1元</td> -> <td>0.001元</td>
                  lambda m: b"<td>%s\xe5\x85\x83</td>" % str(Decimal(m[1].decode()) / 1000).encode(), page)


SLIPPED = per_thousand_under_a_million_header(DEEPSEEK_ZH)


@dataclass
class Live:
    """One deepseek source on a local server: `serve` a page, `run` a live pass in process, or `cli`."""

    serve: Callable[[bytes], None]
    run: Callable[[bytes], SourceResult]
    cli: Callable[..., int]
    config: Config


@pytest.fixture
def live(tmp_path, db, db_url):
    with LocalServer() as server:
        directory = write_config(tmp_path / "config", [
            {"id": "deepseek-cn", "vendor": "deepseek", "parser": "deepseek", "urls": [f"{server.url}/pricing"],
             "currency": "CNY", "market": "cn"}])
        config = load_config(directory)

        def serve(page: bytes) -> None:
            server.route("/pricing", page, headers={"Content-Type": "text/html; charset=utf-8"})

        def run(page: bytes) -> SourceResult:
            serve(page)
            [result] = run_all(db, config, [config.source("deepseek-cn")])
            return result

        def cli(*args: str) -> int:
            return main(["--db", db_url, "--config", str(directory), *args])

        yield Live(serve, run, cli, config)


def cuts(db) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == "cut")))


def input_price_now(db) -> Decimal:
    with db.session() as session:
        [row] = [r for r in prices_at(session, datetime.now(timezone.utc) + timedelta(seconds=1), dimension="input")
                 if r.interval.model == "deepseek-v4-flash"]
        return row.interval.price


def statuses(db) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Observation.status).order_by(Observation.observed_at)))


def test_a_unit_slip_is_held_back_and_published_only_when_released(db, live, capsys):
    run, cli = live.run, live.cli
    assert run(DEEPSEEK_ZH).status == "ok"
    capsys.readouterr()

    held = run(SLIPPED)
    assert held.status == "ok" and held.events == [] and "quarantined" in held.message
    assert cuts(db) == [] and input_price_now(db) == Decimal("1"), "a held observation was published"
    assert cli("quarantine") == 0
    listing = capsys.readouterr().out
    assert "deepseek-cn" in listing and "moved more than 20x" in listing and "1→0.001 CNY" in listing

    again = run(SLIPPED)  # still compared with the last accepted prices, so held again
    assert "quarantined" in again.message and statuses(db) == ["ok", "quarantined", "quarantined"]
    with db.session() as session:
        first, second = session.scalars(select(Observation.id).where(Observation.status == "quarantined")
                                        .order_by(Observation.observed_at)).all()

    assert cli("quarantine", "reject", str(first)) == 0
    assert statuses(db) == ["ok", "rejected", "quarantined"] and cuts(db) == []

    capsys.readouterr()
    assert cli("quarantine", "release", str(second)) == 0
    out = capsys.readouterr().out
    assert "released: 6 new events" in out and "cut deepseek-v4-flash input 1 -> 0.001 CNY" in out
    released_cuts = cuts(db)
    assert len(released_cuts) == 6 and all(e.verdict and e.evidence for e in released_cuts), (
        "released cuts must carry a verdict and evidence, like new cuts of a run")
    assert input_price_now(db) == Decimal("0.001")

    accepted = run(SLIPPED)  # the released prices are the new baseline
    assert "quarantined" not in accepted.message and accepted.events == []
    assert cli("quarantine", "list", "--all", "--format", "csv") == 0
    assert "rejected" in capsys.readouterr().out


def test_release_and_reject_refuse_what_is_not_held(db, live, capsys):
    run, cli = live.run, live.cli
    run(DEEPSEEK_ZH)
    with db.session() as session:
        accepted = session.scalar(select(Observation.id))
    assert cli("quarantine", "release", str(accepted)) == 2
    assert cli("quarantine", "reject", str(accepted)) == 2
    assert cli("quarantine", "release", "999999") == 2
    assert "no observation with id 999999" in capsys.readouterr().err


def test_released_cuts_are_mailed_once_and_held_ones_never(db, live, tmp_path, monkeypatch, capsys):
    smtp = LocalSMTPServer(tmp_path)
    for name, value in smtp.credentials_env().items():
        monkeypatch.setenv(name, value)
    smtp.write_alerts(live.config.directory, rule=[{"name": "cuts", "recipients": ["analyst@example.org"],
                                                    "kinds": ["cut"]}])
    smtp.start()
    try:
        for page in (DEEPSEEK_ZH, SLIPPED):  # `pricewatch run`, alert stage included
            live.serve(page)
            assert live.cli("run") == 0
        assert "quarantined" in capsys.readouterr().out and smtp.messages == [], "a held observation was mailed"
        with db.session() as session:
            held = session.scalar(select(Observation.id).where(Observation.status == "quarantined"))
        assert live.cli("quarantine", "release", str(held)) == 0
        assert "alerts: 1 queued" in capsys.readouterr().out
        [message] = smtp.messages
        assert "deepseek-v4-flash" in message.part("plain")
        assert live.cli("run") == 0 and len(smtp.messages) == 1, "the released cuts were mailed again"
    finally:
        smtp.stop()


@pytest.mark.parametrize("page, reason", [
    (DEEPSEEK_ZH.replace(b"<td>1\xe5\x85\x83</td>", b"<td>-1\xe5\x85\x83</td>"), "negative price -1"),
    (DEEPSEEK_ZH.replace(b"<td>6\xe5\x85\x83</td>", b"<td>600\xe5\x85\x83</td>"), "6→600 CNY"),
])
def test_negative_prices_and_large_jumps_are_held(db, live, page, reason):
    run = live.run
    run(DEEPSEEK_ZH)
    assert "quarantined" in run(page).message
    with db.session() as session:
        held = session.scalar(select(Observation).where(Observation.status == "quarantined"))
    assert reason in held.status_reason
    assert [e.kind for e in cuts(db)] == []


def test_a_move_within_the_factor_is_published_at_once(db, live):
    run = live.run
    run(DEEPSEEK_ZH)
    result = run(DEEPSEEK_ZH.replace(b"<td>2\xe5\x85\x83</td>", b"<td>0.5\xe5\x85\x83</td>"))  # a 4x cut
    assert "quarantined" not in result.message and len(result.events) == 1
    assert [(e.model, e.dimension, e.new_price) for e in cuts(db)] == [("deepseek-v4-flash", "output", Decimal("0.5"))]


def test_imports_are_backfills_and_not_gated(db, live):
    config = live.config
    source = config.source("deepseek-cn")
    for day, page in ((1, DEEPSEEK_ZH), (2, SLIPPED)):
        when = datetime(2026, 7, day, tzinfo=timezone.utc)
        ingest(db, config, source, [Fetched(source.urls[0], source.urls[0], 200, page, "text/html", when)], when)
    assert statuses(db) == ["ok", "ok"] and len(cuts(db)) == 6
