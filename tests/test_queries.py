"""The read side (db.queries) on a constructed history, on SQLite and PostgreSQL: prices in
force at interval boundaries, history by listed or canonical id, failed runs and outages,
export rows with provenance, and the README's example queries on the views."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from db.models import Fetch
from db.queries import export_rows, failed_runs, history, interval_counts, prices_at, source_outages
from tests.report_history import at, build, write_config


@pytest.fixture
def archive(db, tmp_path):
    config = write_config(tmp_path / "config")
    build(db, config)
    return db, config


def acme_large_output(db, moment):
    with db.session() as session:
        return [(r.interval.price, r.usd) for r in prices_at(session, moment, dimension="output")
                if r.interval.source_id == "acme" and r.interval.model == "acme-large"
                and r.interval.conditions_key == "{}"]


AS_OF = [
    (at(0) - timedelta(microseconds=1), []),               # before the source's first observation
    (at(0), [Decimal("10")]),                              # exactly at the first observation
    (at(10), [Decimal("10")]),                             # exactly at the old price's last sighting
    (at(20) - timedelta(microseconds=1), [Decimal("10")]),  # after it, before the cut was observed
    (at(20), [Decimal("8")]),                              # exactly at the observation showing the cut
    (at(26), [Decimal("8")]),                              # while the source was failing: last known price
    (at(400), [Decimal("8")]),                             # long after the last observation
]


def test_prices_in_force_at_interval_boundaries(archive):
    db, _ = archive
    assert [[price for price, _ in acme_large_output(db, moment)] for moment, _ in AS_OF] == [
        expected for _, expected in AS_OF]


def test_prices_convert_at_the_rate_of_the_date_asked(archive):
    db, _ = archive
    with db.session() as session:
        rows = {(r.interval.source_id, r.interval.dimension): r for r in prices_at(session, at(40))
                if r.interval.model == "acme-large" and r.interval.conditions_key == "{}"}
    cny = rows[("acme-cn", "output")]
    assert cny.fx_date == "2026-04-10"
    assert abs(cny.eur - Decimal(50) / Decimal("7.9967")) < Decimal("1e-9")
    assert abs(cny.usd - Decimal(50) / Decimal("7.9967") * Decimal("1.1711")) < Decimal("1e-9")
    assert rows[("acme", "output")].usd == 8


def test_aggregator_rows_for_a_covered_model_are_superseded(archive):
    db, _ = archive
    with db.session() as session:
        flags = {r.interval.model: r.superseded for r in prices_at(session, at(40), dimension="output")
                 if r.interval.source_id == "hub"}
    assert flags == {"acme/acme-large": True, "quux/quux-1": False}


def test_history_by_listed_or_canonical_id_and_span(archive):
    db, _ = archive
    with db.session() as session:
        canonical = {(i.source_id, i.model) for i in history(session, "acme-large", dimension="output")}
        listed = {(i.source_id, i.model) for i in history(session, "acme/acme-large")}
        # [since, until] keeps the intervals whose observed span overlaps it, boundaries included.
        def acme(since, until):
            return [str(i.price) for i in history(session, "acme-large", dimension="output", since=since,
                                                  until=until) if i.source_id == "acme" and i.conditions_key == "{}"]
        span = acme(at(10), at(20))
        after = acme(at(10) + timedelta(microseconds=1), None)
        before = acme(None, at(20) - timedelta(microseconds=1))
    assert canonical == {("acme", "acme-large"), ("acme-cn", "acme-large"), ("resell", "acme-large"),
                         ("hub", "acme/acme-large")}
    assert listed == {("hub", "acme/acme-large")}
    assert (span, after, before) == (["10", "8"], ["8"], ["10"])


def test_failed_runs_and_outages(archive):
    db, _ = archive
    with db.transaction() as session:
        # A live run of resell whose first attempt timed out and whose retry succeeded: no failure.
        session.add_all([
            Fetch(source_id="resell", url="https://resell.test/pricing", attempt=1, started_at=at(40),
                  finished_at=at(40), outcome="timeout"),
            Fetch(source_id="resell", url="https://resell.test/pricing", attempt=2, started_at=at(40),
                  finished_at=at(40), outcome="ok"),
            # bolt: a page that came but did not parse (attempt 0), and no success after it.
            Fetch(source_id="bolt", url="https://bolt.test/pricing", attempt=1, started_at=at(45),
                  finished_at=at(45), outcome="ok"),
            Fetch(source_id="bolt", url="https://bolt.test/pricing", attempt=0, started_at=at(45),
                  finished_at=at(45), outcome="layout_drift"),
        ])
    with db.session() as session:
        failures = failed_runs(session)
        outages = source_outages(session)
        only_acme = source_outages(session, ["acme"])
    assert failures == {"acme": [at(25), at(27)], "bolt": [at(45)]}
    assert outages == {"acme": [(at(25), at(30))], "bolt": [(at(45), None)]}
    assert only_acme == {"acme": [(at(25), at(30))]}


def test_export_rows_carry_provenance(archive):
    db, _ = archive
    with db.session() as session:
        rows = export_rows(session, since=at(15), until=at(25))
    cut = next(r for r in rows if r["source"] == "acme" and r["dimension"] == "output" and not r["conditions"])
    assert cut["price"] == Decimal("8") and cut["first_seen"] == at(20) and cut["last_seen"] == at(40)
    assert cut["snapshot_url"] == "https://acme.test/pricing" and len(cut["snapshot_sha256"]) == 64
    assert cut["fetched_at"] == at(20) and cut["parser_version"] == 1
    cny = next(r for r in rows if r["source"] == "acme-cn" and r["dimension"] == "output")
    assert cny["fx_date"] == "2026-03-02" and cny["fx_rate_per_eur"] == Decimal("8.0512")
    assert cny["usd_per_eur"] == Decimal("1.1698")
    assert all(r["last_seen"] >= at(15) and r["first_seen"] <= at(25) for r in rows)
    assert not any(r["price"] == Decimal("10") and r["source"] == "acme" for r in rows)  # ended on day 10


def test_interval_counts(archive):
    db, _ = archive
    with db.session() as session:
        counts = interval_counts(session, "output")
    assert counts[("acme", "acme-large")] == 3  # 10, then 8, and the batch price
    assert counts[("bolt", "bolt-pro")] == 3


README_QUERIES = [
    # Prices in force now, cheapest output first, in USD at the rate of the day they were first seen.
    ("SELECT source, model, price, currency, usd_at_first_seen FROM prices_current "
     "WHERE dimension = 'output' AND conditions = '{}' ORDER BY CAST(usd_at_first_seen AS REAL)"),
    # Every price a model ever had, with the archived page it was read from.
    ("SELECT source, price, currency, first_seen, last_seen, snapshot_url FROM price_history "
     "WHERE canonical_model = 'acme-large' AND dimension = 'output' AND conditions = '{}' ORDER BY first_seen"),
    # How many times each source changed a price (new intervals of a price point after its first).
    ("SELECT source, SUM(n - 1) AS changes FROM (SELECT source, COUNT(*) AS n FROM price_history "
     "GROUP BY source, model, dimension, conditions) AS points GROUP BY source ORDER BY changes DESC"),
]


def test_readme_example_queries_run_on_the_views(archive):
    db, _ = archive
    with db.engine.connect() as connection:
        cheapest, history_rows, changes = (connection.execute(text(q)).all() for q in README_QUERIES)
    assert cheapest[0][:2] == ("acme", "acme-small") and cheapest[-1][:2] == ("hub", "quux/quux-1")
    assert [(r[1], r[2]) for r in history_rows if r[0] == "acme"] == [("10", "USD"), ("8", "USD")]
    assert [(r[0], int(r[1])) for r in changes][0] == ("acme", 1)
