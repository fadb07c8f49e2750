"""Operator mistakes the CLI must answer with one line and a non-zero exit, the archive untouched:
an output path naming the archive, a --db naming another program's SQLite file or no file at
all, an empty date, a URL that does not parse, a config file or an argument that is not UTF-8;
and odd but valid archives that once ended in a traceback (a log chart with nothing above 0,
a price too large for Parquet).  Found by an independent review; each test failed before its fix.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest

from tests.conftest import FIXTURES, REPO
from tests.test_cli import assert_one_line, pricewatch

LITELLM = FIXTURES / "litellm_core"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two LiteLLM lists, a month apart: shared by the tests that only read it."""
    database = tmp_path_factory.mktemp("archive") / "a.sqlite"
    for month in ("2026-01", "2026-02"):
        imported = pricewatch("--db", str(database), "import", "litellm", str(LITELLM / f"{month}.json"),
                              "--observed-at", f"{month}-05", cwd=database.parent)
        assert imported.returncode == 0, imported.stderr
    return database


def counts(database) -> tuple[int, int] | str:
    try:
        with sqlite3.connect(database) as connection:
            found = connection.execute("SELECT (SELECT COUNT(*) FROM observations), (SELECT COUNT(*) FROM events)"
                                       ).fetchone()
        connection.close()
    except sqlite3.DatabaseError as exc:
        return f"archive unreadable: {exc}"
    return found


def litellm_with(tmp_path, name: str, **models: tuple[float, float]):
    """The 2026-01 LiteLLM fixture with these models added (per-token input and output prices)."""
    page = json.loads((LITELLM / "2026-01.json").read_text())
    for model, (input_price, output_price) in models.items():
        page[model] = {"input_cost_per_token": input_price, "output_cost_per_token": output_price,
                       "litellm_provider": "openai", "mode": "chat"}
    path = tmp_path / name
    path.write_text(json.dumps(page))
    return path


def imported(tmp_path, page, when: str = "2026-01-05", source: str = "litellm"):
    database = tmp_path / "a.sqlite"
    result = pricewatch("--db", str(database), "import", source, str(page), "--observed-at", when, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return database


# -- the archive itself --------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["report", "-o", "{db}"], ["export", "--format", "csv", "-o", "{db}"],
                                     ["export", "--format", "csv", "-o", "{db}-wal"]])
def test_an_output_naming_the_archive_is_refused(tmp_path, archive, command):
    """A tab-completion slip in data/: the report written over the archive would lose it all."""
    database = shutil.copy(archive, tmp_path / "a.sqlite")
    before = counts(database)
    result = pricewatch("--db", str(database), *[part.format(db=database) for part in command], cwd=tmp_path)
    assert_one_line(result, 2, "it is the archive itself")
    assert counts(database) == before


@pytest.mark.parametrize("command", [["status"], ["events"], ["prices"], ["import", "litellm", "{page}", "--observed-at", "2026-01-05"]])
def test_another_programs_sqlite_file_is_refused_and_left_alone(tmp_path, command):
    other = tmp_path / "notes.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        connection.execute("INSERT INTO notes (body) VALUES ('precious')")
    connection.close()
    result = pricewatch("--db", str(other), *[part.format(page=LITELLM / "2026-01.json") for part in command],
                        cwd=tmp_path)
    assert_one_line(result, 2, "is not a pricewatch archive (it holds notes)")
    with sqlite3.connect(other) as connection:
        assert [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == [
            "notes"]
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    connection.close()


def test_a_query_on_an_empty_file_is_refused_like_a_missing_one(tmp_path):
    (tmp_path / "empty.sqlite").touch()
    assert_one_line(pricewatch("--db", str(tmp_path / "empty.sqlite"), "status", cwd=tmp_path), 2, "no archive at")
    assert (tmp_path / "empty.sqlite").stat().st_size == 0


@pytest.mark.parametrize("database", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_an_archive_in_memory_is_refused(tmp_path, database):
    """`--db "sqlite:///$ARCHIVE"` with ARCHIVE unset: an import would say "ok", and keep nothing."""
    result = pricewatch("--db", database, "import", "litellm", str(LITELLM / "2026-01.json"),
                        "--observed-at", "2026-01-05", cwd=tmp_path)
    assert_one_line(result, 2, "names no file")


def test_another_programs_live_wal_file_is_refused_and_left_alone(tmp_path):
    """Its tables committed but not yet checkpointed: only the WAL file holds them."""
    other = tmp_path / "notes.sqlite"
    connection = sqlite3.connect(other)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        connection.commit()
        result = pricewatch("--db", str(other), "status", cwd=tmp_path)
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    finally:
        connection.close()
    assert_one_line(result, 2, "is not a pricewatch archive")
    assert tables == ["notes"]


def test_a_query_on_a_mistyped_path_leaves_no_file_behind(tmp_path):
    assert_one_line(pricewatch("--db", str(tmp_path / "typo.sqlite"), "status", cwd=tmp_path), 2, "no archive at")
    assert not (tmp_path / "typo.sqlite").exists()


# -- arguments and config -----------------------------------------------------------------------

@pytest.mark.parametrize("args", [["prices", "--at", ""], ["compare", "--at", ""], ["analyze", "gpt-4o", "--at", ""],
                                  ["events", "--since", ""], ["history", "gpt-4o", "--until", ""]])
def test_an_empty_date_is_refused_like_any_malformed_date(tmp_path, archive, args):
    """`--at "$DAY"` with DAY unset once answered today's table, saying nothing of the date."""
    assert_one_line(pricewatch("--db", str(archive), *args, cwd=tmp_path), 2, "not an ISO 8601")


@pytest.mark.parametrize("args", [["history", b"\xff"], ["prices", "--vendor", b"\xff"], ["events", "--vendor", b"\xff"],
                                  ["chart", b"\xff", "-o", "c.svg"],
                                  ["import", "litellm", "{page}", "--observed-at", "2026-01-06", "--url",
                                   b"http://x.example/\xff"]])
def test_an_argument_that_is_not_utf8_is_refused(tmp_path, archive, args):
    """Bytes from a Latin-1 terminal reach Python as lone surrogates, which no driver takes."""
    database = shutil.copy(archive, tmp_path / "a.sqlite")
    page = litellm_with(tmp_path, "changed.json", **{"another-model": (1e-6, 2e-6)})
    argv = [os.fsdecode(arg) if isinstance(arg, bytes) else arg.format(page=page) for arg in args]
    assert_one_line(pricewatch("--db", str(database), *argv, cwd=tmp_path), 2, "not UTF-8")
    assert counts(database) == counts(archive)


NOT_UTF8 = os.fsdecode(b"caf\xe9")  # a name saved by a Latin-1 system: any bytes make a POSIX file name


@pytest.mark.parametrize("args", [["report", "-o", NOT_UTF8 + ".html"], ["export", "-o", NOT_UTF8 + ".csv"],
                                  ["--db", f"{NOT_UTF8}/a.sqlite", "status"],
                                  ["--config", NOT_UTF8, "parse", "litellm", str(LITELLM / "2026-01.json")]])
def test_a_file_name_that_is_not_utf8_is_taken(tmp_path, archive, args):
    """The arguments that name files are not compared with the archive: the file system takes any bytes."""
    (tmp_path / NOT_UTF8).mkdir()
    shutil.copy(archive, tmp_path / NOT_UTF8 / "a.sqlite")
    shutil.copytree(REPO / "config", tmp_path / NOT_UTF8, dirs_exist_ok=True)
    result = pricewatch(*([] if args[0] == "--db" else ["--db", str(archive)]), *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_an_empty_observed_at_of_parse_is_refused(tmp_path):
    result = pricewatch("parse", "litellm", str(LITELLM / "2026-01.json"), "--observed-at", "", cwd=tmp_path)
    assert_one_line(result, 2, "not an ISO 8601")


def test_an_import_url_that_does_not_parse_is_refused(tmp_path):
    result = pricewatch("--db", str(tmp_path / "a.sqlite"), "import", "litellm", str(LITELLM / "2026-01.json"),
                        "--observed-at", "2026-01-05", "--url", "http://[x", cwd=tmp_path)
    assert_one_line(result, 2, "does not parse")


def test_a_config_url_that_does_not_parse_is_a_config_error(tmp_path):
    config = shutil.copytree(REPO / "config", tmp_path / "config")
    url = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
    sources = config / "sources.toml"
    assert url in sources.read_text()
    sources.write_text(sources.read_text().replace(url, "http://[x", 1))
    result = pricewatch("--config", str(config), "parse", "litellm", str(LITELLM / "2026-01.json"), cwd=tmp_path)
    assert_one_line(result, 2, "does not parse")


@pytest.mark.parametrize("name", ["sources.toml", "alerts.toml", "analysis.toml", "models/openai.toml"])
def test_a_config_file_not_in_utf8_is_a_config_error(tmp_path, name):
    """`# café` saved by an old editor in Latin-1."""
    config = shutil.copytree(REPO / "config", tmp_path / "config")
    with (config / name).open("ab") as handle:
        handle.write(b"# caf\xe9\n")
    result = pricewatch("--config", str(config), "parse", "litellm", str(LITELLM / "2026-01.json"), cwd=tmp_path)
    assert_one_line(result, 2, f"{name.split('/')[-1]}: not UTF-8 (byte 0xe9")


# -- odd but valid archives -----------------------------------------------------------------------

def test_a_log_chart_with_nothing_above_zero_is_drawn_on_a_linear_axis(tmp_path):
    """OpenRouter lists dozens of `:free` models at 0: matplotlib cannot log-scale them."""
    database = imported(tmp_path, litellm_with(tmp_path, "free.json", **{"free-model": (0.0, 0.0)}))
    result = pricewatch("--db", str(database), "chart", "free-model", "--log", "-o", str(tmp_path / "c.svg"),
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.svg").exists()


def test_a_report_with_no_usd_for_a_vendor_is_written(tmp_path):
    """A CNY list from before the ECB's first rates (1999) has no USD: its log chart draws nothing."""
    database = imported(tmp_path, FIXTURES / "deepseek" / "zh_flat.html", "1998-06-01", "deepseek-cn")
    result = pricewatch("--db", str(database), "report", "-o", str(tmp_path / "r.html"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_price_too_large_for_parquet_is_refused_and_csv_still_exports_it(tmp_path):
    """Imports are not gated: 1e4 per token is 1e10 per 1M, beyond the default 28 digits at scale 18."""
    pytest.importorskip("pyarrow")
    database = imported(tmp_path, litellm_with(tmp_path, "big.json", **{"big-model": (1e4, 2e4)}))
    assert pricewatch("--db", str(database), "export", "-o", str(tmp_path / "e.csv"), cwd=tmp_path).returncode == 0
    assert pricewatch("--db", str(database), "export", "-o", str(tmp_path / "e.parquet"), cwd=tmp_path).returncode == 0
    database = imported(tmp_path, litellm_with(tmp_path, "huge.json", **{"huge-model": (1e15, 2e15)}), "2026-01-06")
    result = pricewatch("--db", str(database), "export", "-o", str(tmp_path / "f.parquet"), cwd=tmp_path)
    assert_one_line(result, 2, "does not fit Parquet's decimal(38, 18)")
