"""`pricewatch export`: the history as CSV, JSON and Parquet, with provenance columns, exact
money, and a one-line error when pyarrow is missing."""

import csv
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from db.session import Database
from pipeline.cli import main
from pipeline.report.export import COLUMNS
from tests.report_history import at, build, write_config


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    config = write_config(directory / "config")
    url = f"sqlite:///{directory / 'archive.sqlite'}"
    database = Database(url)
    build(database, config)
    database.dispose()
    return ["--db", url, "--config", str(config.directory)]


def the_cut(rows):
    return next(r for r in rows if r["source"] == "acme" and r["model"] == "acme-large"
                and r["dimension"] == "output" and r["price"] in ("8", Decimal("8")))


def test_csv_and_json_carry_provenance_and_exact_money(archive, tmp_path, capsys):
    assert main([*archive, "export", "-o", str(tmp_path / "history.csv")]) == 0
    assert "price intervals (csv)" in capsys.readouterr().out
    with (tmp_path / "history.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    cut = the_cut(rows)
    assert (cut["first_seen"], cut["last_seen"], cut["snapshot_url"]) == (
        "2026-03-22T08:00:00+00:00", "2026-04-11T08:00:00+00:00", "https://acme.test/pricing")
    assert cut["fetched_at"] == cut["first_seen"] and len(cut["snapshot_sha256"]) == 64
    assert cut["provenance"] == "imported"  # the constructed history stores pages without a fetch
    assert cut["parser_version"] == "1" and cut["fx_date"] == "2026-03-20" and cut["usd"] == "8"
    cny = next(r for r in rows if r["source"] == "acme-cn" and r["dimension"] == "output")
    assert (cny["price"], cny["currency"], cny["fx_rate_per_eur"], cny["usd_per_eur"]) == ("50", "CNY", "8.0512",
                                                                                          "1.1698")

    assert main([*archive, "export", "--format", "json", "--since", "2026-03-15", "--until", "2026-03-25",
                 "-o", str(tmp_path / "span.data")]) == 0
    document = json.loads((tmp_path / "span.data").read_text())
    assert set(document[0]) == set(COLUMNS) and the_cut(document)["snapshot_id"] == int(cut["snapshot_id"])
    assert not any(r["source"] == "acme" and r["price"] == "10" for r in document)  # last seen on day 10


def test_parquet_keeps_decimals_and_utc_times(archive, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")
    assert main([*archive, "export", "-o", str(tmp_path / "history.parquet")]) == 0
    table = parquet.read_table(tmp_path / "history.parquet")
    assert table.column_names == COLUMNS
    rows = table.to_pylist()
    cut = the_cut(rows)
    assert cut["price"] == Decimal("8") and cut["first_seen"] == at(20)
    assert cut["first_seen"].tzinfo is not None and cut["aggregator"] is False
    cny = next(r for r in rows if r["source"] == "acme-cn" and r["dimension"] == "output")
    assert abs(cny["eur"] - Decimal(50) / Decimal("8.0512")) < Decimal("1e-11")
    batch = next(r for r in rows if r["source"] == "acme" and json.loads(r["conditions"]) == {"batch": True})
    assert batch["price"] == Decimal("5")
    assert datetime(2026, 3, 2, 8, tzinfo=timezone.utc) == next(r["fetched_at"] for r in rows if r["source"] == "hub")


def test_parquet_without_pyarrow_is_one_clear_line(archive, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert main([*archive, "export", "--format", "parquet", "-o", str(tmp_path / "history.pq")]) == 2
    error = capsys.readouterr().err
    assert error == "pricewatch: parquet export needs pyarrow: pip install 'pricewatch[parquet]'\n"


def test_unknown_format_and_unwritable_file(archive, tmp_path, capsys):
    assert main([*archive, "export", "-o", str(tmp_path / "history.xlsx")]) == 2
    assert "say --format csv|json|parquet" in capsys.readouterr().err
    assert main([*archive, "export", "-o", str(tmp_path / "missing" / "history.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err
