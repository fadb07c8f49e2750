"""The sanity gate and `pricewatch quarantine`: a unit slip, or a page with a non-numeric
price, is held back and never published until a person releases it; on SQLite and
PostgreSQL, with live runs against a local server."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import select

import scrapers
import scrapers.litellm
from db.models import Event, Observation, ObservationPage, PriceInterval, QuoteRow, Snapshot, SourceHealth
from db.queries import prices_at
from pipeline.archive import snapshot_bytes
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


def serving(server: LocalServer, tmp_path, db, db_url, source: dict, content_type: str) -> Live:
    """A one-source config whose page `server` serves at /pricing."""
    directory = write_config(tmp_path / "config", [{**source, "urls": [f"{server.url}/pricing"]}])
    config = load_config(directory)

    def serve(page: bytes) -> None:
        server.route("/pricing", page, headers={"Content-Type": content_type})

    def run(page: bytes) -> SourceResult:
        serve(page)
        [result] = run_all(db, config, [config.source(source["id"])])
        return result

    def cli(*args: str) -> int:
        return main(["--db", db_url, "--config", str(directory), *args])

    return Live(serve, run, cli, config)


@pytest.fixture
def live(tmp_path, db, db_url):
    with LocalServer() as server:
        yield serving(server, tmp_path, db, db_url, {"id": "deepseek-cn", "vendor": "deepseek", "parser": "deepseek",
                                                      "currency": "CNY", "market": "cn"}, "text/html; charset=utf-8")


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
    assert f"ok ({held.quotes} prices held back, none published)" in held.line()
    assert cuts(db) == [] and input_price_now(db) == Decimal("1"), "a held observation was published"
    assert cli("quarantine") == 0
    listing = capsys.readouterr().out
    assert "deepseek-cn" in listing and "moved more than 20x" in listing and "1→0.001 CNY" in listing

    again = run(SLIPPED)  # the very page held: it is that held observation again, not a second review item
    assert again.hold == "again" and "still held back, none published" in again.line()
    assert statuses(db) == ["ok", "quarantined"] and cuts(db) == []
    resaved = run(SLIPPED + b"<!-- saved again -->")  # other bytes: still compared with the accepted prices
    assert resaved.hold == "new" and statuses(db) == ["ok", "quarantined", "quarantined"]
    capsys.readouterr()
    assert cli("status") == 0
    assert re.search(r"^deepseek-cn\s.*\s0\s+2$", capsys.readouterr().out, re.MULTILINE), "2 pages awaiting review"
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
    listed = capsys.readouterr().out
    assert "rejected" in listed
    assert cli("quarantine", "--all", "--format", "csv") == 0, "README: quarantine [list] [--all] [--format ...]"
    assert capsys.readouterr().out == listed


def test_an_import_of_a_held_page_is_not_swallowed_as_held_again(db, live):
    """Only live runs are gated: importing the held page's bytes later stores them, as the same
    file imported at an earlier date would be (any import order gives the same history)."""
    assert live.run(DEEPSEEK_ZH).status == "ok" and live.run(SLIPPED).hold == "new"
    source = live.config.source("deepseek-cn")
    later = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    imported = ingest(db, live.config, source, [Fetched(source.urls[0], source.urls[0], 200, SLIPPED, "text/html",
                                                        later)], later)
    assert (imported.status, imported.hold) == ("ok", None) and statuses(db)[-1] == "ok"


def test_release_and_reject_refuse_what_is_not_held(db, live, capsys):
    run, cli = live.run, live.cli
    run(DEEPSEEK_ZH)
    with db.session() as session:
        accepted = session.scalar(select(Observation.id))
    assert cli("quarantine", "release", str(accepted)) == 2
    assert cli("quarantine", "reject", str(accepted)) == 2
    assert cli("quarantine", "release", "999999") == 2
    assert "no observation with id 999999" in capsys.readouterr().err
    assert run(SLIPPED).hold == "new"
    with db.session() as session:
        held = session.scalar(select(Observation.id).where(Observation.status == "quarantined"))
    assert cli("quarantine", "reject", str(held)) == 0
    assert cli("quarantine", "release", str(held)) == 2, "a rejection is final, as the README says"
    assert f"observation {held} is rejected, not quarantined" in capsys.readouterr().err
    assert cuts(db) == []


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


# -- a non-numeric price where a number belongs ------------------------------------------------

LITELLM = (FIXTURES / "litellm" / "model_prices_2026.json").read_bytes()


def litellm_with(model: str, key: str, value) -> bytes:
    payload = json.loads(LITELLM)
    payload[model][key] = value
    return json.dumps(payload).encode()


NOT_A_NUMBER = litellm_with("gpt-4o", "input_cost_per_token", "N/A")
HELD_REASON = "non-numeric price: gpt-4o input_cost_per_token: not a number: 'N/A'"


@pytest.fixture
def litellm_live(tmp_path, db, db_url):
    with LocalServer() as server:
        yield serving(server, tmp_path, db, db_url, {"id": "litellm", "parser": "litellm", "aggregator": True},
                      "application/json")


def intervals(db) -> list[tuple]:
    with db.session() as session:
        return [(i.model, i.dimension, i.conditions_key, i.price, i.first_seen, i.last_seen, i.first_observation_id,
                 i.last_observation_id) for i in session.scalars(select(PriceInterval).order_by(PriceInterval.id))]


def all_events(db) -> list[tuple]:
    with db.session() as session:
        return [(e.id, e.kind, e.model, e.dimension, e.observation_id)
                for e in session.scalars(select(Event).order_by(Event.id))]


def held_ids(db) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(Observation.id).where(Observation.status_reason.is_not(None))
                                    .order_by(Observation.observed_at)))


def test_a_non_numeric_price_is_held_with_its_page_and_no_prices(db, litellm_live, capsys):
    run, cli = litellm_live.run, litellm_live.cli
    assert run(LITELLM).status == "ok"
    published, events = intervals(db), all_events(db)
    assert published

    runs = litellm_live.config.diff.withdrawn_after_runs + 1  # more than it takes to call a model withdrawn
    for run_number in range(runs):  # each a little different, so that each is held anew
        held = run(NOT_A_NUMBER + b" " * run_number)
        assert (held.status, held.quotes, held.events, held.hold) == ("ok", 0, [], "new")
        assert held.message == "quarantined for review (pricewatch quarantine)"
        assert held.line().endswith(": ok (the page held back, none published); quarantined for review "
                                    "(pricewatch quarantine)")
    assert intervals(db) == published, "a held observation touched the published intervals"
    assert all_events(db) == events, "a held observation made events (a withdrawal, a cut)"
    assert statuses(db) == ["ok"] + ["quarantined"] * runs
    same_page = run(NOT_A_NUMBER + b" " * (runs - 1))
    assert same_page.hold == "again" and statuses(db) == ["ok"] + ["quarantined"] * runs

    with db.session() as session:
        for observation in session.scalars(select(Observation).where(Observation.status == "quarantined")):
            assert observation.status_reason == HELD_REASON
            assert (observation.parser, observation.parser_version) == ("litellm", scrapers.get_parser("litellm").version)
            assert session.scalars(select(QuoteRow).where(QuoteRow.quote_set_id == observation.quote_set_id)).all() == []
            [snapshot_id] = session.scalars(select(ObservationPage.snapshot_id)
                                            .where(ObservationPage.observation_id == observation.id))
            assert snapshot_bytes(session.get(Snapshot, snapshot_id)).rstrip(b" ") == NOT_A_NUMBER, "the page was not kept"
        health = session.get(SourceHealth, "litellm")
        assert health.consecutive_failures == 0 and health.last_failure_at is None

    capsys.readouterr()
    assert cli("quarantine", "list", "--format", "json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(row["status"], row["prices"], row["reason"]) for row in listing] == [("quarantined", 0, HELD_REASON)] * runs


def test_release_is_refused_while_the_price_is_still_non_numeric(db, litellm_live, capsys):
    run, cli = litellm_live.run, litellm_live.cli
    run(LITELLM)
    run(NOT_A_NUMBER)
    published, events = intervals(db), all_events(db)
    [held] = held_ids(db)

    capsys.readouterr()
    refusal = (f"pricewatch: observation {held} still has a non-numeric price (gpt-4o input_cost_per_token: "
               "not a number: 'N/A'): fix the parser and release again, or reject it\n")
    assert cli("quarantine", "release", str(held)) == 2
    assert capsys.readouterr().err == refusal
    assert statuses(db) == ["ok", "quarantined"] and intervals(db) == published and all_events(db) == events

    assert cli("quarantine", "reject", str(held)) == 0
    assert statuses(db) == ["ok", "rejected"]
    capsys.readouterr()
    assert cli("quarantine", "release", str(held)) == 2  # a rejection is final
    assert capsys.readouterr().err == f"pricewatch: observation {held} is rejected, not quarantined\n"
    assert statuses(db) == ["ok", "rejected"] and intervals(db) == published and all_events(db) == events

    fixed = run(LITELLM)  # the page fixed upstream: the held run left no trace in the history
    assert fixed.status == "ok" and fixed.events == [] and "quarantined" not in fixed.message
    assert [row[:4] for row in intervals(db)] == [row[:4] for row in published]


def test_release_after_a_parser_fix_publishes_the_reparsed_prices(db, litellm_live, monkeypatch, capsys):
    run, cli = litellm_live.run, litellm_live.cli
    run(LITELLM)
    assert "quarantined" in run(litellm_with("gpt-4o", "input_cost_per_token", "0.000005 USD")).message
    [held] = held_ids(db)

    # The parser fix: a new version that reads a price with its currency code after it.
    read = scrapers.litellm.json_price
    monkeypatch.setattr(scrapers.litellm, "json_price",
                        lambda value, field: read(value.removesuffix(" USD") if isinstance(value, str) else value, field))
    monkeypatch.setitem(scrapers._REGISTRY, "litellm", dataclasses.replace(scrapers.get_parser("litellm"), version=2))

    capsys.readouterr()
    assert cli("quarantine", "release", str(held)) == 0
    out = capsys.readouterr().out
    assert "released: 1 new events" in out and "raise gpt-4o input 2.5 -> 5 USD" in out
    with db.session() as session:
        observation = session.get(Observation, held)
        assert (observation.status, observation.parser_version) == ("ok", 2)
        rows = session.scalars(select(QuoteRow).where(QuoteRow.quote_set_id == observation.quote_set_id)).all()
        assert len(rows) == len(scrapers.get_parser("litellm").parse(scrapers.Page(LITELLM)))
        [row] = [r for r in prices_at(session, datetime.now(timezone.utc) + timedelta(seconds=1), dimension="input")
                 if r.interval.model == "gpt-4o" and r.interval.conditions_key == "{}"]
        assert row.interval.price == Decimal("5") and row.interval.first_observation_id == held


def test_an_import_with_a_non_numeric_price_fails_as_a_parse_error(db, litellm_live, tmp_path, capsys):
    page = tmp_path / "prices.json"
    page.write_bytes(NOT_A_NUMBER)
    assert litellm_live.cli("import", "litellm", str(page), "--observed-at", "2026-07-01T08:00:00Z") == 1
    assert capsys.readouterr().out == (
        "litellm: FAILED [non_numeric_price] gpt-4o input_cost_per_token: not a number: 'N/A'\n")
    assert statuses(db) == []


def test_a_page_that_half_parses_is_held_not_withdrawn(db, litellm_live):
    """A renamed key that the parser no longer reads (here the output price) would leave the
    other prices: success in appearance, then 'withdrawn' prices.  A list that shrinks by more
    than a quarter at once is held for review instead."""
    run = litellm_live.run
    assert run(LITELLM).status == "ok"
    published = intervals(db)
    payload = json.loads(LITELLM)
    for entry in payload.values():
        if isinstance(entry, dict):
            for key in [k for k in entry if k.startswith("output_cost_per_token")]:
                entry[key.replace("per_token", "per_1k_tokens")] = entry.pop(key)
    for _ in range(litellm_live.config.diff.withdrawn_after_runs + 1):
        held = run(json.dumps(payload).encode())
        assert held.hold in ("new", "again"), held.line()
    assert intervals(db) == published and all_events(db) == []
    with db.session() as session:
        [reason] = session.scalars(select(Observation.status_reason).where(Observation.status == "quarantined"))
    assert "the list shrank from 52 to" in reason and "gpt-4o output" in reason


@pytest.mark.parametrize("named_after, held", [("Acme Large 3", False), ("Acme Large 2", True), (None, True)])
def test_a_moving_alias_may_jump_only_when_its_page_names_another_model(db, config, named_after, held):
    """acme-large-latest from $60 to $1 (60x): the page naming another model behind the alias
    explains it (an alias_change, published); the same model, or none named, may be a slip."""
    from pipeline.archive import archive
    from pipeline.normalise import normalise
    from pipeline.store import store_observation
    from scrapers import Quote

    source = config.source("mistral")
    for day, price, serves in ((1, "60", "Acme Large 2"), (2, "1", named_after)):
        when = datetime(2026, 5, day, tzinfo=timezone.utc)
        priced = [normalise(Quote("acme-large-latest", "input", Decimal(price), "USD",
                                  {"serves": serves} if serves else {}))]
        with db.transaction() as session:
            snapshot = archive(session, f"{day}".encode(), url=source.urls[0], content_type="text/html", seen_at=when)
            status, events = store_observation(session, config, source, observed_at=when, snapshots=[snapshot],
                                               parser="mistral", parser_version=3, priced=priced, gate=True)
    assert status == ("quarantined" if held else "ok")
    assert [e.kind for e in events] == ([] if held else ["alias_change"])
