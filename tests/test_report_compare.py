"""Comparative tables on a constructed history with known answers (tests/report_history.py):
headline choice, peer ratios, the wide `prices` table in three currencies, `compare`,
`history` with its events, and the biggest moves."""

import csv
import io
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from db.models import PriceInterval
from db.queries import PriceRow
from pipeline.cli import main
from pipeline.diff import is_standard
from pipeline.report.html import render_report
from pipeline.report.compare import (
    PROMOTION,
    SPECIAL_TIER,
    STANDARD_TIER,
    UNCONDITIONAL,
    headline,
    headline_steps,
    moves,
    peer_table,
    pick,
)
from tests.conftest import REPO
from tests.report_history import CNY_PER_EUR_DAY40, MODELS, USD_PER_EUR_DAY40, at, build, observe, write_config


def interval(price: str, conditions: str = "{}", first: int = 0, last: int = 0) -> PriceInterval:
    return PriceInterval(price=Decimal(price), conditions_key=conditions, first_seen=at(first), last_seen=at(last))


def test_headline_prefers_unconditional_then_cheapest_standard_tier():
    flat, batch = interval("10"), interval("5", '{"batch":true}')
    assert headline([batch, flat]) == (flat, UNCONDITIONAL)
    low = interval("4", '{"context_tokens":{"max":128000,"min":0}}')
    high = interval("6", '{"context_tokens":{"max":null,"min":128000}}')
    off_peak, peak = interval("0.66", '{"time_window":"off_peak"}'), interval("1.32", '{"time_window":"peak"}')
    assert headline([high, batch, low]) == (low, STANDARD_TIER)
    assert headline([off_peak, peak]) == (peak, STANDARD_TIER)
    flex, priority = interval("3", '{"tier":"flex"}'), interval("9", '{"tier":"priority"}')
    assert headline([priority, flex]) == (flex, SPECIAL_TIER)
    assert headline([]) is None
    assert is_standard({"mode": "thinking", "context_tokens": {"min": 0, "max": 32000}})
    assert not is_standard({"fine_tuned": True}) and not is_standard({"tier": "free"})


def test_a_promotion_is_no_standard_price():
    """A promotional price (a flag beside the conditions, with the list price kept) is what a
    customer pays only while it lasts: the regular tier is the headline when there is one."""
    promo = PriceInterval(price=Decimal("0.28"), list_price=Decimal("1.10"), promo=True, conditions_key="{}")
    assert headline([promo]) == (promo, PROMOTION)
    long_context = interval("0.55", '{"context_tokens":{"max":null,"min":64000}}')
    assert headline([promo, long_context]) == (long_context, STANDARD_TIER)


def test_prices_in_other_units_never_stand_for_a_per_token_list():
    """Google lists an image model's output per 1M tokens (120) and, in batch, per image
    (0.067): the per-image price is not 1,800 times cheaper."""
    per_token = PriceInterval(price=Decimal("120"), unit="token", conditions_key="{}")
    per_image = PriceInterval(price=Decimal("0.067"), unit="image", conditions_key="{}")
    assert headline([per_image, per_token]) == (per_token, UNCONDITIONAL)
    assert headline([per_image]) == (per_image, UNCONDITIONAL)


def test_an_aggregator_s_own_listing_stands_before_a_route_through_a_host(tmp_path):
    """LiteLLM lists deepseek-chat under its own name (0.42) and as OpenRouter's route,
    `openrouter/deepseek/deepseek-chat` (0.28): the model's own listing is its price."""
    config = write_config(tmp_path / "config")

    def row(model: str, price: str) -> PriceRow:
        listed = PriceInterval(source_id="litellm", model=model, price=Decimal(price), currency="USD", unit="token",
                               conditions_key="{}", aggregator=True, market="intl")
        return PriceRow(listed, Decimal(price), None, None)

    chosen = pick([row("openrouter/deepseek/deepseek-chat", "0.28"), row("deepseek-chat", "0.42")], config)
    assert (chosen.row.interval.model, chosen.via, chosen.basis) == ("deepseek-chat", "aggregator", UNCONDITIONAL)


def test_another_product_s_list_stands_for_a_model_only_where_no_api_list_prices_it():
    """Alibaba lists qwen3.7-max in Model Studio (the API) at 18 CNY, half its 36 CNY list price
    for a time, and inside Hologres at 43.2 CNY with no promotion.  Ranked on the basis alone,
    the Hologres price (unconditional) stood for the model: 2.4x what the API charges."""
    from pipeline.config import load_config

    config = load_config(REPO / "config")

    def row(source_id: str, price: str, promo: bool = False) -> PriceRow:
        listed = PriceInterval(source_id=source_id, vendor="alibaba", model="qwen3.7-max", price=Decimal(price),
                               list_price=Decimal("36") if promo else None, promo=promo, currency="CNY",
                               unit="token", conditions_key="{}", aggregator=False, market="cn")
        return PriceRow(listed, Decimal(price) / 7, None, None)

    chosen = pick([row("alibaba-hologres", "43.2"), row("alibaba-cn", "18", promo=True)], config)
    assert (chosen.row.interval.source_id, chosen.via, chosen.basis) == ("alibaba-cn", "vendor", PROMOTION)
    alone = pick([row("alibaba-hologres", "43.2")], config)
    assert (alone.row.interval.source_id, alone.via) == ("alibaba-hologres", "other product")


def test_headline_steps_follow_the_headline_through_tier_changes_and_gaps():
    flat = interval("0.28", first=0, last=10)
    peak = interval("1.32", '{"time_window":"peak"}', first=20, last=30)
    off_peak = interval("0.66", '{"time_window":"off_peak"}', first=20, last=30)
    steps, keys = headline_steps([flat, peak, off_peak], lambda i: i.price,
                                 observed=[at(d) for d in (0, 10, 20, 30, 40)], outages=[(at(12), at(20))])
    assert steps == [(at(0), Decimal("0.28")), (at(12), None), (at(20), Decimal("1.32")), (at(40), None)]
    assert keys == {"{}", '{"time_window":"peak"}'}


@pytest.fixture
def archive(db, db_url, tmp_path):
    config = write_config(tmp_path / "config")
    build(db, config)
    return db, db_url, config


def run(capsys, archive, *args) -> str:
    _, db_url, config = archive
    assert main(["--db", db_url, "--config", str(config.directory), *args]) == 0
    return capsys.readouterr().out


def test_peer_ratios_with_known_answers(archive):
    db, _, config = archive
    with db.session() as session:
        table = peer_table(session, config, at(40), dimension="output")
        small = peer_table(session, config, at(40), group="small")
    frontier = [(r["model"], r["usd"], r["to_cheapest"], r["to_median"], r["source"], r["via"], r["basis"])
                for r in table if r["group"] == "frontier"]
    assert frontier == [
        ("bolt-pro", 4, Decimal("1.00"), Decimal("0.50"), "bolt", "vendor", STANDARD_TIER),
        ("acme-large", 8, Decimal("2.00"), Decimal("1.00"), "acme", "vendor", UNCONDITIONAL),  # not resell's 7
        ("quux-1", 20, Decimal("5.00"), Decimal("2.50"), "hub", "aggregator", UNCONDITIONAL),
    ]
    bolt = table[0]
    assert bolt["conditions"] == {"context_tokens": {"max": 128000, "min": 0}}
    assert (bolt["since"], bolt["snapshot_id"] is not None) == (at(0), True)
    assert (table[1]["since"], table[1]["last_seen"]) == (at(20), at(40))  # acme-large's price since the cut
    assert [(r["model"], r["to_cheapest"], r["to_median"]) for r in small] == [
        ("acme-small", Decimal("1.00"), Decimal("1.00"))]


def test_an_earlier_date_compares_the_prices_then(archive):
    db, _, config = archive
    with db.session() as session:
        table = peer_table(session, config, at(10), group="frontier")
    assert [(r["model"], r["usd"], r["to_median"]) for r in table] == [
        ("bolt-pro", 4, Decimal("0.40")), ("acme-large", 10, Decimal("1.00")), ("quux-1", 20, Decimal("2.00"))]


def test_compare_command_prints_the_peer_table(capsys, archive):
    rows = list(csv.DictReader(io.StringIO(run(capsys, archive, "compare", "--at", "2026-04-11", "--group",
                                               "frontier", "--format", "csv"))))
    assert [(r["model"], r["to_cheapest"], r["to_median"], r["source"]) for r in rows] == [
        ("bolt-pro", "1", "0.5", "bolt"), ("acme-large", "2", "1", "acme"), ("quux-1", "5", "2.5", "hub")]
    assert rows[2]["listed_as"] == "quux/quux-1" and rows[2]["via"] == "aggregator"
    table = run(capsys, archive, "compare", "--at", "2026-04-11")
    assert "to_cheapest" in table.splitlines()[0] and "small" in table
    _, db_url, config = archive
    assert main(["--db", db_url, "--config", str(config.directory), "compare", "--group", "nosuch"]) == 2
    assert "unknown peer group 'nosuch' (known: frontier, small)" in capsys.readouterr().err


def test_prices_wide_table_in_published_currency_usd_and_eur(capsys, archive):
    out = run(capsys, archive, "prices", "--at", "2026-04-11T08:00:00Z", "--format", "csv")
    rows = {(r["source"], r["model"], r["conditions"]): r for r in csv.DictReader(io.StringIO(out))}
    acme = rows[("acme", "acme-large", "")]
    assert (acme["input"], acme["output"], acme["input_usd"], acme["output_usd"]) == ("2", "8", "2", "8")
    assert acme["fx_date"] == "2026-04-10" and acme["snapshot_ids"]
    cny = rows[("acme-cn", "acme-large", "")]
    assert (cny["currency"], cny["input"], cny["output"]) == ("CNY", "10", "50")
    assert abs(Decimal(cny["output_eur"]) - 50 / CNY_PER_EUR_DAY40) < Decimal("1e-9")
    assert abs(Decimal(cny["output_usd"]) - 50 / CNY_PER_EUR_DAY40 * USD_PER_EUR_DAY40) < Decimal("1e-9")
    assert rows[("acme", "acme-large", '{"batch":true}')]["output"] == "5"
    assert rows[("hub", "acme/acme-large", "")]["superseded"] == "yes"
    assert rows[("hub", "quux/quux-1", "")]["superseded"] == ""
    assert ("bolt", "bolt-mini", "") not in rows  # no longer listed on day 40

    header = run(capsys, archive, "prices", "--currency", "EUR", "--format", "csv").splitlines()[0].split(",")
    assert "output_eur" in header and "output_usd" not in header and "output" not in header
    header = run(capsys, archive, "prices", "--currency", "native", "--format", "csv").splitlines()[0].split(",")
    assert "output" in header and "fx_date" not in header and "output_usd" not in header
    header = run(capsys, archive, "prices", "--dimension", "input", "--format", "csv").splitlines()[0].split(",")
    assert "input_usd" in header and "output" not in header


def test_prices_as_of_a_date_and_the_long_layout(capsys, archive):
    def acme_output(*args):
        out = run(capsys, archive, "prices", "--vendor", "acme", "--format", "csv", *args)
        return [r["output"] for r in csv.DictReader(io.StringIO(out)) if r["source"] == "acme"
                and r["model"] == "acme-large" and not r["conditions"]]

    assert acme_output("--at", "2026-03-21") == ["10"]             # end of the day before the cut
    assert acme_output("--at", "2026-03-22") == ["8"]              # a bare date is the end of that day
    assert acme_output("--at", "2026-03-22T07:59:59Z") == ["10"]
    assert acme_output("--at", "2026-03-22T08:00:00Z") == ["8"]
    assert acme_output("--at", "2026-03-01") == []
    long = list(csv.DictReader(io.StringIO(run(capsys, archive, "prices", "--long", "--format", "csv",
                                               "--dimension", "output", "--currency", "USD"))))
    assert {"price", "usd", "superseded"} <= set(long[0]) and "eur" not in long[0]
    assert {r["dimension"] for r in long} == {"output"}
    table = run(capsys, archive, "prices")
    assert "input_usd" in table.splitlines()[0] and "canonical_model" not in table.splitlines()[0]


def test_history_shows_intervals_and_the_events_of_the_span(capsys, archive):
    document = json.loads(run(capsys, archive, "history", "acme/acme-large", "--dimension", "output",
                              "--since", "2026-03-15", "--format", "json"))
    assert {(i["source"], i["price"]) for i in document["intervals"]} == {
        ("acme", "8"), ("acme", "5"), ("acme-cn", "50"), ("resell", "7"), ("hub", "9")}
    assert [(e["kind"], e["old_price"], e["new_price"], e["verdict"]) for e in document["events"]] == [
        ("cut", "10", "8", "inconclusive")]
    before = json.loads(run(capsys, archive, "history", "acme-large", "--until", "2026-03-21", "--format", "json"))
    assert before["events"] == [] and "8" not in {i["price"] for i in before["intervals"] if i["source"] == "acme"}
    sheet = list(csv.DictReader(io.StringIO(run(capsys, archive, "history", "acme-large", "--format", "csv"))))
    assert {r["record"] for r in sheet} == {"interval", "event"}
    assert next(r for r in sheet if r["record"] == "event")["kind"] == "cut"
    table = run(capsys, archive, "history", "acme-large", "--since", "2026-03-15")
    assert "events from 2026-03-15 to now: 1" in table


def test_history_lists_a_source_s_prices_in_time_order(capsys, archive):
    """acme splits acme-large's output into peak hours on day 50: the peak price came last,
    though it listed before the day-0 and day-20 prices, ordered by conditions."""
    db, _, config = archive
    observe(db, config, "acme", 50, [("acme-large", "output", {"time_window": "peak"}, "9")])
    document = json.loads(run(capsys, archive, "history", "acme-large", "--dimension", "output", "--vendor", "acme",
                              "--format", "json"))
    listed = [(i["source"], i["first_seen"]) for i in document["intervals"]]
    assert listed == sorted(listed), listed


def test_biggest_moves_are_dated_by_the_observation_that_showed_them(archive):
    db, _, _ = archive
    with db.session() as session:
        month = moves(session, at(40), 30)
        week = moves(session, at(40), 7)
        with_aggregators = moves(session, at(40), 40, aggregators=True)
    assert [(m["source"], m["model"], m["dimension"], m["old_price"], m["new_price"], m["change_pct"], m["changed_at"])
            for m in month] == [("acme", "acme-large", "output", 10, 8, Decimal("-20.00"), at(20))]
    assert week == []
    assert not any(m["source"] == "hub" for m in with_aggregators)  # the hub's prices did not move
    assert datetime(2026, 3, 22, 8, tzinfo=timezone.utc) == month[0]["changed_at"]


def test_a_model_its_vendor_no_longer_lists_is_no_peer_whatever_an_aggregator_shows(db, tmp_path):
    """bolt stopped listing bolt-mini on day 40; an aggregator (LiteLLM keeps retired models for
    months) still shows it at 0.1 after that.  It was a peer while bolt sold it, not since."""
    models = [*MODELS, {"id": "bolt-mini", "vendor": "bolt", "group": "frontier", "aliases": ["bolt/bolt-mini"]}]
    config = write_config(tmp_path / "config", models=models)
    build(db, config)
    observe(db, config, "hub", 40.5, [("acme/acme-large", "output", {}, "9"), ("quux/quux-1", "output", {}, "20"),
                                      ("bolt/bolt-mini", "output", {}, "0.1")])
    with db.session() as session:
        while_sold = {r["model"]: r["via"] for r in peer_table(session, config, at(10.5), group="frontier")}
        after = {r["model"] for r in peer_table(session, config, at(41), group="frontier")}
    assert while_sold["bolt-mini"] == "vendor"
    assert "bolt-mini" not in after and after == {"bolt-pro", "acme-large", "quux-1"}


def test_a_moving_alias_s_move_is_marked_as_one(db, tmp_path):
    """acme-latest named Acme Large at 10, then Acme Huge at 30: the biggest move of the month,
    marked as the alias moving, while acme-small's cut on the same page is a plain move."""
    config = write_config(tmp_path / "config")
    build(db, config)
    for day, serves, price in ((41, "Acme Large", "10"), (71, "Acme Huge", "30")):
        observe(db, config, "acme", day, [("acme-latest", "output", {"serves": serves}, price),
                                          ("acme-small", "output", {}, "1" if day == 41 else "0.9")])
    with db.session() as session:
        found = {m["model"]: m["alias_moved"] for m in moves(session, at(75), 30)}
        page = render_report(session, config, at(75))
    assert found == {"acme-latest": True, "acme-small": False}
    assert page.count("a moving alias: it may name another model now") == 1  # in the 30-day table only
