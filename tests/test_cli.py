"""The CLI contract: one-line errors, exit codes, parse --json, and a run against a real local server."""

import csv
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, REPO, write_config
from tests.httpserver import LocalServer

LITELLM = FIXTURES / "litellm_core"


def pricewatch(*args, cwd, env=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, timeout=120)


def assert_one_line(result, exit_code: int, message: str) -> None:
    """The CLI's contract for bad input: this exit status, and one line holding `message`, no traceback."""
    assert result.returncode == exit_code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def litellm_config(tmp_path, **fetch):
    """A config with one LiteLLM source on a port nothing answers: these tests never fetch."""
    return write_config(tmp_path / "config", [{"id": "litellm", "parser": "litellm",
                                               "urls": ["http://127.0.0.1:9/prices.json"]}], **fetch)


@pytest.mark.parametrize("args, message", [
    (["parse", "nosuch", "x"], "unknown source 'nosuch'"),
    (["parse", "litellm", "/no/such/file"], "cannot read /no/such/file"),
    (["import", "litellm", str(LITELLM / "2026-01.json"), "--observed-at", "yesterday"], "not an ISO 8601"),
    (["import", "litellm", str(LITELLM / "2026-01.json"), "--observed-at", "2999-01-05"], "is in the future"),
    (["history"], "the following arguments are required"),
    # the ends of the calendar (these were OverflowError tracebacks), and swapped or huge arguments
    (["import", "litellm", str(LITELLM / "2026-01.json"), "--observed-at", "0001-01-01T00:00:00+01:00"],
     "outside the dates pricewatch takes"),
    (["prices", "--at", "9999-12-31T23:00:00-05:00"], "outside the dates pricewatch takes"),
    (["events", "--since", "2026-08-18", "--until", "2026-08-01"], "--since 2026-08-18 is after --until 2026-08-01"),
    (["quarantine", "release", "99999999999999999999"], "'99999999999999999999' is not an id"),
    (["explain", "0"], "'0' is not an id"),
    (["import", "litellm", str(LITELLM / "2026-01.json"), "--observed-at", "2026-01-05", "--url", "file:///tmp/x"],
     "--url must be an http or https address"),
    (["import", "litellm", str(LITELLM / "2026-01.json"), "--observed-at", "2026-01-05", "--url",
      "https://me:s3cret@x.example/"], "--url must not carry credentials"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = pricewatch(*args, cwd=tmp_path)
    assert_one_line(result, 2, message)


@pytest.mark.parametrize("fetch, message", [
    ({"retries": "three"}, "[fetch]: Expected `int`, got `str` - at `$.retries`"),
    ({"per_host_delay_seconds": -5}, "[fetch]: Expected `float` >= 0.0 - at `$.per_host_delay_seconds`"),
    ({"timeout_seconds": 0}, "[fetch]: Expected `float` > 0.0 - at `$.timeout_seconds`"),
    ({"obey_robots": "no"}, "[fetch]: Expected `bool`, got `str` - at `$.obey_robots`"),
    ({"allowed_networks": ["127.0.0.0/8", "loopback"]}, "[fetch]: allowed_networks: 'loopback' does not appear"),
])
def test_a_setting_of_the_wrong_type_or_range_is_a_config_error_before_any_fetch(tmp_path, fetch, message):
    """Each of these crashed mid-run, after fetching, or (obey_robots = "no") was read as true."""
    config = litellm_config(tmp_path, **fetch)
    result = pricewatch("--config", str(config), "--db", str(tmp_path / "a.sqlite"), "run", cwd=tmp_path)
    assert_one_line(result, 2, message)
    assert not (tmp_path / "a.sqlite").exists()


@pytest.mark.parametrize("typo, message", [
    (('margin_threshold = 0.10', 'margin_threshold = "ten"'),
     "analysis.toml [home_vs_export]: Invalid decimal string - at `$.margin_threshold`"),
    (('held_days = 90', 'held_days = "ninety"'), "analysis.toml [durability]: Expected `int`, got `str`"),
    (('utilisation = "0.40"', 'utilisation = "0"'), "[cost_floor]: utilisation must be a positive number, not 0"),
    (('node_usd_per_hour = "16"', 'node_usd_per_hour = "sixteen"'), "at `$.published[0].node_usd_per_hour`"),
    (('far_ratio', 'farr_ratio'), "analysis.toml [independent_hosts]: unknown key(s) farr_ratio"),
])
def test_a_flaw_in_the_evidence_settings_stops_the_import_before_it_stores(tmp_path, typo, message):
    """Each of these used to crash the weighing of the first cut, which rolled back the very
    observation that held the cut: a typo in an analysis knob lost archive data."""
    config = litellm_config(tmp_path)
    analysis = config / "analysis.toml"
    assert typo[0] in analysis.read_text()
    analysis.write_text(analysis.read_text().replace(typo[0], typo[1], 1))
    result = pricewatch("--config", str(config), "--db", str(tmp_path / "a.sqlite"), "import", "litellm",
                        str(LITELLM / "2026-01.json"), "--observed-at", "2026-01-05", cwd=tmp_path)
    assert_one_line(result, 2, message)
    assert not (tmp_path / "a.sqlite").exists()


SOURCE = """
id = "litellm"
vendor = "LiteLLM"
parser = "litellm"
currency = "USD"
market = "intl"
"""


@pytest.mark.parametrize("sources_toml, message", [
    ("fetch = 5\n[[source]]" + SOURCE + 'urls = ["https://x.example/"]\n', "[fetch]: must be a table, not int"),
    ("[source]" + SOURCE + 'urls = ["https://x.example/"]\n', "'source' must be an array of tables ([[source]])"),
    ("[[source]]" + SOURCE + "urls = [5]\n", "source 'litellm': Expected `str`, got `int` - at `$.urls[0]`"),
    ("[[source]]" + SOURCE + 'urls = ["https://x.example/"]\nschedule = 5\n', "schedule: must be a table, not int"),
    ("[[source]]" + SOURCE.replace('"intl"', '"eu"') + 'urls = ["https://x.example/"]\n',
     "Invalid enum value 'eu' - at `$.market` (expected one of: intl, cn)"),
])
def test_a_config_of_the_wrong_shape_is_one_line(tmp_path, sources_toml, message):
    """Each of these crashed the loader itself with a TypeError or an AttributeError."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text(sources_toml)
    result = pricewatch("--config", str(config), "--db", str(tmp_path / "a.sqlite"), "status", cwd=tmp_path)
    assert_one_line(result, 2, message)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("database, exit_code, message", [
    ("a-directory.sqlite", 1, "[database error] cannot open sqlite:///"),
    ("not-sqlite.sqlite", 1, "file is not a database"),
    ("postgresql://pricewatch:s3cret@127.0.0.1:{port}/archive", 1, "[database error] cannot open "
                                                                    "postgresql://pricewatch:***@127.0.0.1"),
    ("sqlite:////proc/no-such-dir/x.sqlite", 2, "no directory /proc/no-such-dir for the archive x.sqlite"),
    ("weird://pricewatch:s3cret@host/archive", 2, "bad database URL 'weird://pricewatch:***@host/archive'"),
    ("postgresql://pricewatch:s3cret@host:port/archive", 2, "bad database URL"),
    # unencoded `/` and `@` in the password: all of it masked, in the driver's echo too
    ("postgresql://pricewatch:s3cret/x@127.0.0.1:{port}/archive", 1, "postgresql://pricewatch:***@127.0.0.1:"),
    ("postgresql://pricewatch:s3cret@SECRETPART@127.0.0.1:{port}/archive", 1, "pricewatch:***@127.0.0.1:"),
])
def test_a_database_that_cannot_be_opened_is_one_line_without_its_password(tmp_path, database, exit_code, message):
    (tmp_path / "a-directory.sqlite").mkdir()
    (tmp_path / "not-sqlite.sqlite").write_text("a page someone saved under the wrong name\n")
    result = pricewatch("--db", database.format(port=_closed_port()), "db", "upgrade", cwd=tmp_path)
    assert_one_line(result, exit_code, message)
    assert "s3cret" not in result.stderr and "SECRETPART" not in result.stderr


def test_a_run_on_a_mistyped_path_makes_no_directories(tmp_path):
    """`serve` or `run` with --db naming a folder that is not there stops at once, instead of
    building the folders and an empty archive there (only the default ./data/ is made)."""
    mistyped = tmp_path / "nonexist" / "dir" / "db.sqlite"
    assert_one_line(pricewatch("--db", str(mistyped), "run", cwd=tmp_path), 2, f"no directory {mistyped.parent}")
    assert not (tmp_path / "nonexist").exists()


def test_a_query_on_a_mistyped_path_makes_no_archive(tmp_path):
    """Only the commands that store create a SQLite file: a query on a typo answered from a new,
    empty archive, as if nothing had ever been seen, and left its directories behind."""
    mistyped = tmp_path / "nonexist" / "dir" / "db.sqlite"
    for command in (["status"], ["prices"], ["events"], ["history", "deepseek-chat"], ["db", "stats"]):
        result = pricewatch("--db", str(mistyped), *command, cwd=tmp_path)
        assert_one_line(result, 2, f"no archive at {mistyped}")
    assert not (tmp_path / "nonexist").exists()


@pytest.mark.parametrize("args, message", [
    (["prices", "--dimension", "bogus"], "no price in the archive has the dimension 'bogus' (known: cached_input,"),
    (["prices", "--vendor", "NoSuch"], "no price in the archive has the vendor or source 'NoSuch' (known: litellm)"),
    (["events", "--vendor", "NoSuch"], "the vendor or source 'NoSuch'"),
    (["history", "gpt-4o", "--dimension", "outptu"], "the dimension 'outptu'"),
    (["compare", "--dimension", "bogus"], "the dimension 'bogus'"),
    (["history", "no-such-model"], "no price in the archive for model 'no-such-model'"),
])
def test_a_vendor_or_dimension_the_archive_never_saw_is_an_error_not_an_empty_answer(tmp_path, args, message):
    database = tmp_path / "a.sqlite"
    page = str(LITELLM / "2026-01.json")
    assert pricewatch("--db", str(database), "import", "litellm", page, "--observed-at", "2026-01-01",
                      cwd=tmp_path).returncode == 0
    assert_one_line(pricewatch("--db", str(database), *args, cwd=tmp_path), 2, message)


def test_a_database_failing_mid_command_is_one_line_and_exit_1(tmp_path):
    """A damaged archive (here a table gone) fails the command with the driver's own line."""
    database = tmp_path / "damaged.sqlite"
    assert pricewatch("--db", str(database), "db", "upgrade", cwd=tmp_path).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE price_intervals")
    connection.close()
    result = pricewatch("--db", str(database), "prices", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "pricewatch: [database error] no such table: price_intervals"


def test_a_page_without_prices_is_layout_drift_not_zero_quotes(tmp_path):
    page = tmp_path / "empty.json"
    page.write_text('{"note": "we moved our prices"}')
    result = pricewatch("parse", "litellm", str(page), cwd=tmp_path)
    assert result.returncode == 1
    assert "layout" in result.stderr.lower() or "no prices" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_parse_json_follows_the_quote_contract(tmp_path):
    result = pricewatch("parse", "litellm", str(LITELLM / "2026-01.json"), "--json", "--observed-at", "2026-01-05",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    quotes = json.loads(result.stdout)
    chat = {(q["model"], q["dimension"]): q for q in quotes}
    q = chat[("deepseek/deepseek-chat", "input")]
    assert q["price"] == "0.27" and q["currency"] == "USD" and q["usd"] == "0.27"
    assert q["aggregator"] is True and q["market"] == "intl" and q["source"] == "litellm"
    assert set(q) >= {"source", "vendor", "model", "dimension", "price", "currency", "usd", "eur", "conditions",
                      "list_price", "market", "aggregator"}
    assert not (tmp_path / "data").exists(), "parse must not touch a database"


def test_run_against_a_real_server_stores_and_reports(tmp_path):
    with LocalServer() as server:
        server.route("/prices.json", (LITELLM / "2026-01.json").read_bytes(),
                     headers={"Content-Type": "application/json", "ETag": '"a"'})
        server.route("/gone.json", "", status=404)
        server.route("/robots.txt", "User-agent: *\nDisallow: /private\n")
        config = write_config(tmp_path / "config", [
            {"id": "litellm", "parser": "litellm", "urls": [f"{server.url}/prices.json"], "aggregator": True},
            {"id": "broken", "parser": "litellm", "urls": [f"{server.url}/gone.json"]},
            {"id": "private", "parser": "litellm", "urls": [f"{server.url}/private/prices.json"]},
        ])
        env = {"PRICEWATCH_CONFIG": str(config), "PRICEWATCH_DB": str(tmp_path / "db.sqlite")}
        first = pricewatch("run", cwd=tmp_path, env=env)
        assert first.returncode == 1, first.stderr
        assert "litellm: ok" in first.stdout
        assert "broken: FAILED [http_error]" in first.stdout
        assert "private: FAILED [refused] robots.txt disallows" in first.stdout
        server.route("/prices.json", "", status=304)
        second = pricewatch("run", "--source", "litellm", cwd=tmp_path, env=env)
        assert second.returncode == 0 and "unchanged" in second.stdout
        assert server.request_headers["/prices.json"][-1].get("If-None-Match") == '"a"'
        status = pricewatch("status", cwd=tmp_path, env=env)
        assert "broken" in status.stdout and "http_error" in status.stdout
        prices = pricewatch("prices", "--long", "--format", "csv", cwd=tmp_path, env=env)
        assert "gpt-4o,input,,2.5,USD" in prices.stdout


def test_building_the_cli_loads_no_database_layer(tmp_path):
    """Every command's parser (and --help, and `parse`, which needs no archive) is built without
    SQLAlchemy: the command modules import the database layer in their handlers."""
    probe = "import sys, pipeline.cli; pipeline.cli.build_parser(); print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'db.'))))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    """`pricewatch parse ... | head -1` and the like: a closed pipe is exit 0 and no traceback."""
    child = subprocess.Popen([sys.executable, "-m", "pipeline", "parse", "litellm", str(LITELLM / "2026-01.json")],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    child.stdout.close()  # before the child writes: its first write meets a closed pipe
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0
    assert "Traceback" not in stderr


def test_a_saved_page_above_the_fetchers_cap_is_refused_unread(tmp_path):
    """`import` and `parse` read a local file with the cap a fetched page has, not whole: a
    wrong path to a disk image should not fill the memory."""
    config = litellm_config(tmp_path, max_decompressed_bytes=1000)
    page = LITELLM / "2026-01.json"
    for command in (["parse", "litellm", str(page)],
                    ["import", "litellm", str(page), "--observed-at", "2026-01-05"]):
        result = pricewatch("--config", str(config), "--db", str(tmp_path / "a.sqlite"), *command, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip() == f"pricewatch: {page} is larger than 1,000 bytes ([fetch] max_decompressed_bytes)"
    assert not (tmp_path / "a.sqlite").exists()


def archive_with_cuts_of(tmp_path, db_url: str, model: str):
    """A config, and an archive of two LiteLLM lists in which `model`'s prices were cut."""
    from tests.alerting import config_dir, import_page, litellm_pages

    config = config_dir(tmp_path)
    before, after = litellm_pages(tmp_path, model)
    import_page(db_url, config, before, "2026-01-01T08:00:00Z", source="litellm")
    import_page(db_url, config, after, "2026-02-01T08:00:00Z", source="litellm")
    return config


def test_a_scraped_control_character_cannot_break_a_terminal_table(tmp_path, db_url, capsys):
    """The `events` table writes a model id's CR LF and escape sequence as escapes, one row per
    event; CSV and JSON keep the name exact (CSV quotes it)."""
    from tests.alerting import pricewatch as cli

    model = "evil\r\nBcc: victim@evil.org\x1b[31m\u2028y"
    config = archive_with_cuts_of(tmp_path, db_url, model)
    capsys.readouterr()
    assert cli(db_url, config, "events", "--kind", "cut") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and r"evil\r\nBcc: victim@evil.org\x1b[31m\u2028y" in lines[2]
    assert cli(db_url, config, "events", "--kind", "cut", "--format", "json") == 0
    assert [e["model"] for e in json.loads(capsys.readouterr().out)] == [model, model]


def test_scraped_text_reaches_no_terminal_raw_and_no_spreadsheet_as_a_formula(tmp_path, db_url, capsys):
    """A bidi override turns a line around on screen; `=HYPERLINK(...)` runs in a spreadsheet.
    The terminal shows both escaped, CSV prefixes the formula with `'` (numbers, negative
    ones too, stay numbers), and JSON keeps the name exact."""
    from tests.alerting import pricewatch as cli

    model = '=HYPERLINK("http://evil.example","x")\u202e'
    config = archive_with_cuts_of(tmp_path, db_url, model)
    capsys.readouterr()
    assert cli(db_url, config, "events", "--kind", "cut") == 0
    table = capsys.readouterr().out
    assert "\u202e" not in table and r'=HYPERLINK("http://evil.example","x")\u202e' in table
    assert cli(db_url, config, "events", "--kind", "cut", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["model"] for row in rows] == ["'" + model] * 2
    assert all(row["change_pct"].startswith("-") for row in rows)
    assert cli(db_url, config, "events", "--kind", "cut", "--format", "json") == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["model"] for e in events] == [model, model]
    assert cli(db_url, config, "explain", str(events[0]["id"])) == 0
    assert "\u202e" not in capsys.readouterr().out


def test_a_failure_line_escapes_what_it_quotes_from_a_page():
    from pipeline.errors import LayoutDrift
    from pipeline.run import SourceResult

    error = LayoutDrift("no 'endpoints' list for \x1b]0;PWNED\x07\x1b[2J", source="openrouter-endpoints")
    assert error.line() == r"openrouter-endpoints: [layout drift] no 'endpoints' list for \x1b]0;PWNED\x07\x1b[2J"
    result = SourceResult("openrouter-endpoints", "failed", error.reason, error.message)
    assert "\x1b" not in result.line() and r"\x1b]0;PWNED" in result.line()


def test_explain_cites_the_page_the_event_came_from_and_weighs_only_cuts(tmp_path, db_url, capsys):
    """`explain` printed the source's configured URL, not the page an import was saved from
    (`--url`), and gave a raise "verdict: inconclusive" with five tests, while `events` and
    the report weigh only cuts."""
    from tests.alerting import config_dir, litellm_pages
    from tests.alerting import pricewatch as cli

    config = config_dir(tmp_path)
    cheaper, dearer = litellm_pages(tmp_path, "acme-large")
    saved_from = "https://raw.githubusercontent.com/BerriAI/litellm/abc123/model_prices_and_context_window.json"
    for page, day in ((dearer, "2026-01-01"), (cheaper, "2026-02-01"), (dearer, "2026-03-01")):
        assert cli(db_url, config, "import", "litellm", str(page), "--observed-at", f"{day}T08:00:00Z",
                   "--url", saved_from) == 0
    capsys.readouterr()
    assert cli(db_url, config, "events", "--format", "json") == 0
    events = {(e["kind"], e["dimension"]): e["id"] for e in json.loads(capsys.readouterr().out)}
    assert cli(db_url, config, "explain", str(events[("cut", "input")])) == 0
    cut = capsys.readouterr().out
    assert f"page: {saved_from};" in cut and "verdict:" in cut
    assert cli(db_url, config, "explain", str(events[("raise", "input")])) == 0
    raise_ = capsys.readouterr().out
    assert "not weighed: only cuts are" in raise_ and "verdict:" not in raise_
