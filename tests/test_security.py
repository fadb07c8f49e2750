"""Security checks: what pricewatch fetches, what it decompresses, what it writes down, and how
it talks to the database.

- only http(s) URLs, from config or from a redirect; never a URL carrying credentials;
- redirects to private, loopback, link-local or unspecified addresses are refused unless a
  configured network allows them (these tests allow 127.0.0.0/8 only), and checked again on
  the address each connection is made to, so that a name rebound after the check (DNS
  rebinding) is refused too;
- gzip and deflate bodies are inflated within the cap (the bomb cases are in test_faults), in
  at most MAX_CODINGS layers;
- no database credential in the output of any command, in the logs of `-v`, or in any row;
- no SQL built from formatted strings (only bound parameters), checked over the source tree,
  with one documented exception: CREATE DATABASE in tests/conftest.py, which cannot bind a name;
- every Jinja2 environment escapes what it renders (scraped model names end up in HTML).
"""

from __future__ import annotations

import ast
import functools
import gzip
import os
import re
import socket
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import String, Text, create_engine, select

from pipeline.config import FetchSettings, load_config
from pipeline.errors import BadBody, ConfigError, Refused, TooLarge
from pipeline.fetch import MAX_CODINGS, Fetcher
from pipeline.run import run_all
from tests.conftest import PG_URL, REPO, write_config
from tests.httpserver import LocalServer

LOOPBACK_ONLY = FetchSettings(obey_robots=False, per_host_delay_seconds=0, retries=0, timeout_seconds=2,
                              allowed_networks=("127.0.0.0/8",), max_bytes=100_000, max_decompressed_bytes=1_000_000)


@pytest.fixture
def fetcher():
    fetcher = Fetcher(LOOPBACK_ONLY)
    yield fetcher
    fetcher.close()


# -- URLs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://vendor.example/prices.csv", "gopher://vendor.example/",
                                 "javascript:alert(1)", "data:text/html,<b>0.1元</b>", "//vendor.example/pricing"])
def test_config_accepts_only_http_and_https(tmp_path, url):
    directory = write_config(tmp_path, [{"id": "s", "parser": "litellm", "urls": [url]}])
    with pytest.raises(ConfigError, match="only http and https"):
        load_config(directory)


def test_config_refuses_a_url_with_credentials_without_echoing_them(tmp_path):
    directory = write_config(tmp_path, [{"id": "s", "parser": "litellm", "urls": ["https://bob:hunter2@vendor.example/"]}])
    with pytest.raises(ConfigError, match="must not carry credentials") as caught:
        load_config(directory)
    assert "hunter2" not in caught.value.line()


@pytest.mark.parametrize("target, why", [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # the cloud metadata service
    ("http://10.0.0.5/admin", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[::1]:8080/", "loopback (IPv6, outside the allowed 127.0.0.0/8)"),
    ("http://[fe80::1]/", "link-local IPv6"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("http://100.100.100.200/latest/meta-data/", "shared (100.64.0.0/10): Alibaba Cloud's metadata service"),
    ("http://[2002:a9fe:a9fe::]/", "6to4 embedding 169.254.169.254"),
    ("http://[::ffff:a9fe:a9fe]/", "IPv4-mapped 169.254.169.254"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64 to 169.254.169.254"),
    ("http://[::a9fe:a9fe]/", "IPv4-compatible 169.254.169.254, which Python counts as global"),
    ("http://[::ffff:0:a9fe:a9fe]/", "IPv4-translated 169.254.169.254, which Python counts as global"),
    ("http://%31%36%39.254.169.254/latest/meta-data/", "percent-encoded host: a proxy may decode it"),
    ("http://[", "does not parse (ValueError from urljoin)"),
    ("http://127.0.0.1:99999/", "does not parse (a port out of range)"),
    ("javascript:alert(1)", "not http(s)"),
    ("http:\\\\127.0.0.1\\prices", "does not parse"),
    ("file:///etc/passwd", "not http(s)"),
    ("ftp://127.0.0.1/prices", "not http(s)"),
    ("http://bob:hunter2@127.0.0.1/prices", "credentials"),
])
def test_a_redirect_to_a_forbidden_place_is_refused_before_it_is_requested(fetcher, target, why):
    with LocalServer() as server:
        server.route("/pricing", status=302, headers={"Location": target})
        with pytest.raises(Refused) as caught:
            fetcher.fetch(f"{server.url}/pricing")
        assert server.hits["/pricing"] == 1, why
    assert "hunter2" not in str(caught.value)


def test_an_unexpected_error_while_fetching_fails_that_source_and_the_run_goes_on(tmp_path, db, monkeypatch):
    """A fetcher bug met on one hostile answer must not end the run, unrecorded, for every source."""
    real_fetch = Fetcher.fetch

    def fetch(self, url, validators=None):
        if "/broken" in url:
            raise RuntimeError("a bug")
        return real_fetch(self, url, validators)

    monkeypatch.setattr(Fetcher, "fetch", fetch)
    with LocalServer() as server:
        server.route("/good.json", (REPO / "tests" / "fixtures" / "litellm_core" / "2026-01.json").read_bytes())
        config = load_config(write_config(tmp_path, [
            {"id": "broken", "parser": "litellm", "urls": [f"{server.url}/broken"]},
            {"id": "good", "parser": "litellm", "urls": [f"{server.url}/good.json"]}]))
        broken, good = run_all(db, config, list(config.sources.values()))
    assert (broken.status, broken.reason, good.status) == ("failed", "fetch_error", "ok")
    assert "RuntimeError: a bug" in broken.message


def test_a_database_failure_while_fetching_is_the_runs_not_a_sources(tmp_path, db, monkeypatch):
    """The catch-all above is for fetcher bugs: a database gone mid-run must end the run with its
    one line, not count as every source's failure (and page the operator for each)."""
    from sqlalchemy.exc import OperationalError

    def fetch(self, url, validators=None):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Fetcher, "fetch", fetch)
    config = load_config(write_config(tmp_path, [{"id": "a", "parser": "litellm", "urls": ["http://127.0.0.1/a"]}]))
    with pytest.raises(OperationalError):
        run_all(db, config, list(config.sources.values()))


def test_a_redirect_within_an_allowed_network_is_followed(fetcher):
    with LocalServer() as first, LocalServer(host="127.0.0.2") as second:
        second.route("/prices", "fine")
        first.route("/pricing", status=301, headers={"Location": f"{second.url}/prices"})
        assert fetcher.fetch(f"{first.url}/pricing").content == b"fine"


def test_loopback_is_refused_when_no_network_is_allowed():
    fetcher = Fetcher(FetchSettings(obey_robots=False, per_host_delay_seconds=0, retries=0))
    try:
        with LocalServer() as server:
            server.route("/pricing", "prices")
            with pytest.raises(Refused, match="loopback"):
                fetcher.fetch(f"{server.url}/pricing")
            assert server.hits["/pricing"] == 0
    finally:
        fetcher.close()


PUBLIC = "93.184.216.34"


def rebound(monkeypatch, name: str, *answers: str) -> list[str]:
    """Make `name` resolve to each of `answers` in turn (the last from then on), like a hostile DNS
    server, other hosts as usual; returns the answers given so far."""
    real, given = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        given.append(answers[min(len(given), len(answers) - 1)])
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (given[-1], port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


def test_a_name_rebound_to_loopback_after_the_check_is_refused_when_it_connects(monkeypatch):
    fetcher = Fetcher(FetchSettings(obey_robots=False, per_host_delay_seconds=0, retries=0))
    try:
        with LocalServer() as server:
            server.route("/pricing", "prices")
            given = rebound(monkeypatch, "vendor.test", PUBLIC, "127.0.0.1")
            with pytest.raises(Refused, match=r"vendor\.test: .*loopback.*\(127\.0\.0\.1\)") as caught:
                fetcher.fetch(f"http://vendor.test:{server.httpd.server_address[1]}/pricing")
            assert sum(server.hits.values()) == 0
    finally:
        fetcher.close()
    assert given == [PUBLIC, "127.0.0.1"]  # the early check, then the connection: one resolution each
    assert [(a.outcome, a.error) for a in caught.value.attempts] == [("refused", caught.value.message)]


def test_a_name_rebound_to_loopback_connects_when_loopback_is_allowed(fetcher, monkeypatch):
    with LocalServer() as server:
        server.route("/pricing", "prices")
        given = rebound(monkeypatch, "vendor.test", PUBLIC, "127.0.0.1")
        assert fetcher.fetch(f"http://vendor.test:{server.httpd.server_address[1]}/pricing").content == b"prices"
        assert server.hits["/pricing"] == 1
    assert given == [PUBLIC, "127.0.0.1"]


def test_a_redirect_to_a_name_rebound_to_the_metadata_service_is_refused_when_it_connects(fetcher, monkeypatch):
    given = rebound(monkeypatch, "metadata.test", PUBLIC, "169.254.169.254")
    real, connected = socket.create_connection, []
    monkeypatch.setattr(socket, "create_connection",
                        lambda address, *a, **k: connected.append(address[0]) or real(address, *a, **k))
    with LocalServer() as server:
        server.route("/pricing", status=302, headers={"Location": "http://metadata.test/latest/meta-data/"})
        with pytest.raises(Refused, match=r"metadata\.test: .*link-local.*\(169\.254\.169\.254\)"):
            fetcher.fetch(f"{server.url}/pricing")
        assert server.hits["/pricing"] == 1
    assert given == [PUBLIC, "169.254.169.254"]
    assert connected == ["127.0.0.1"]  # the first hop only: nothing was sent towards the metadata service


# -- decompression within the caps -----------------------------------------------------------

PAGE = b'{"gpt-4o": {"input_cost_per_token": 2.5e-06}}' * 100


@pytest.mark.parametrize("encoding, body", [
    ("gzip", gzip.compress(PAGE)),
    ("deflate", zlib.compress(PAGE)),
    ("deflate", zlib.compress(PAGE)[2:-4]),  # raw deflate, which some servers send for "deflate"
    ("gzip, gzip", gzip.compress(gzip.compress(PAGE))),
    (", ".join(["gzip"] * MAX_CODINGS), functools.reduce(lambda body, _: gzip.compress(body), range(MAX_CODINGS), PAGE)),
    ("identity", PAGE),
])
def test_compressed_bodies_are_inflated(fetcher, encoding, body):
    with LocalServer() as server:
        server.route("/p", body, headers={"Content-Encoding": encoding})
        assert fetcher.fetch(f"{server.url}/p").content == PAGE


@pytest.mark.parametrize("encoding, pack", [("deflate", zlib.compress), ("gzip", gzip.compress)])
def test_a_bomb_is_refused_at_the_decompressed_cap(fetcher, encoding, pack):
    bomb = pack(b"\0" * 20_000_000)  # ~20 KB on the wire, 20 MB inflated, cap 1 MB
    with LocalServer() as server:
        server.route("/p", bomb, headers={"Content-Encoding": encoding})
        with pytest.raises(TooLarge, match="decompressed"):
            fetcher.fetch(f"{server.url}/p")


def test_a_long_chain_of_codings_is_refused_before_a_decoder_is_made(fetcher):
    """One decoder per listed coding, each with its own window: 6000 layers around five bytes,
    81 KB on the wire, took 145 MB whatever the caps."""
    layers, body = 6000, b"hello"
    for _ in range(layers):
        packer = zlib.compressobj(0)
        body = packer.compress(body) + packer.flush()
    with LocalServer() as server:
        server.route("/p", body, headers={"Content-Encoding": ",".join(["deflate"] * layers)})
        tracemalloc.start()
        try:
            with pytest.raises(BadBody, match=f"compressed {layers} times over"):
                fetcher.fetch(f"{server.url}/p")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 10_000_000


# -- credentials -----------------------------------------------------------------------------

def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), **env}, timeout=120)
    return result.stdout + result.stderr


needs_postgres = pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured (set PRICEWATCH_TEST_PG)")


@needs_postgres
def test_no_database_credential_in_output_logs_or_rows(tmp_path, postgres_database):
    url = postgres_database()
    parts = urlsplit(url)
    assert parts.password, "the test server URL must carry a password for this test to mean anything"
    userinfo = f"{parts.username}:{parts.password}@"
    litellm = (REPO / "tests" / "fixtures" / "litellm_core" / "2026-01.json").read_bytes()
    with LocalServer() as server:
        server.route("/prices.json", litellm, headers={"Content-Type": "application/json"})
        config = write_config(tmp_path / "config", [
            {"id": "litellm", "parser": "litellm", "urls": [f"{server.url}/prices.json"]},
            {"id": "gone", "parser": "litellm", "urls": [f"{server.url}/gone.json"]}])
        env = {"PRICEWATCH_CONFIG": str(config), "PRICEWATCH_DB": url}
        output = "".join(run_cli(*args, cwd=tmp_path, env=env)
                         for args in (["-v", "run"], ["db", "upgrade"], ["db", "stats"], ["status"], ["-v", "events"]))
    assert "litellm: ok" in output and "gone: FAILED" in output
    assert userinfo not in output and url not in output
    engine = create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    try:
        from db.models import Base

        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
                for row in connection.execute(select(*columns)) if columns else []:
                    assert not any(value and userinfo in value for value in row), f"credential in {table.name}"
    finally:
        engine.dispose()


@needs_postgres
def test_a_wrong_database_password_is_not_echoed(tmp_path):
    parts = urlsplit(PG_URL)
    url = f"postgresql://{parts.username}:Wr0ngS3cret@{parts.hostname}:{parts.port or 5432}/postgres"
    output = run_cli("status", cwd=tmp_path, env={"PRICEWATCH_DB": url})
    assert "Wr0ngS3cret" not in output


@pytest.mark.parametrize("url", ["postgresql://pw@127.0.0.1:1/db?password=Wr0ngS3cret",
                                 "postgresql:///db?host=127.0.0.1&port=1&user=pw&sslpassword=Wr0ngS3cret"])
@pytest.mark.parametrize("command", ["status", "db upgrade"])
def test_a_database_password_in_the_query_is_not_echoed(tmp_path, url, command):
    output = run_cli(*command.split(), cwd=tmp_path, env={"PRICEWATCH_DB": url})
    assert "[database error]" in output and "Wr0ngS3cret" not in output


@pytest.mark.parametrize("query", ["api_key=Sk3cretKey", "access_token=Sk3cretKey", "X-Amz-Signature=Sk3cretKey",
                                   "lang=en&token=Sk3cretKey"])
def test_config_refuses_a_secret_in_a_url_query_without_echoing_it(tmp_path, query):
    """Pricing pages are public: a token in a URL would end up in the fetch log, error lines,
    mail and exports."""
    directory = write_config(tmp_path, [{"id": "s", "parser": "litellm", "urls": [f"https://vendor.example/p?{query}"]}])
    with pytest.raises(ConfigError, match="must not carry a secret in its query") as caught:
        load_config(directory)
    assert "Sk3cretKey" not in caught.value.line()


def test_a_proxy_password_that_does_not_parse_is_a_config_error_that_does_not_echo_it(tmp_path):
    """An unencoded / or # in the password: urlsplit reads the password as a port, found
    mid-run, in a traceback that printed it."""
    directory = write_config(tmp_path, [{"id": "s", "parser": "litellm", "urls": ["https://vendor.example/p"]}],
                             proxy="http://pwuser:Hunter2/Secret#9@proxy.corp.example:3128")
    with pytest.raises(ConfigError, match="percent-encoded") as caught:
        load_config(directory)
    assert "Hunter2" not in caught.value.line()


# -- SQL and templates, over the source tree -------------------------------------------------

SOURCE_DIRS = ("pipeline", "db", "scrapers", "tests", "bench")
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|WITH|VACUUM|TRUNCATE|GRANT)\b", re.I)
SQL_CALLS = {"text", "execute", "exec_driver_sql", "executemany", "executescript"}
# (file, the statement it builds): formatted SQL we accept, each for a reason.
DOCUMENTED_EXCEPTIONS = {
    ("tests/conftest.py", "CREATE DATABASE"),  # a database name cannot be a bound parameter
    ("tests/conftest.py", "DROP DATABASE"),  # nor can the name of the one a test drops
}


def python_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS if (REPO / d).is_dir() for p in (REPO / d).rglob("*.py")
                  if ".venv" not in p.parts)


def _literal_text(node: ast.AST) -> str:
    """The constant text of a formatted string expression (what a reader would call its SQL)."""
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _literal_text(node.left) or _literal_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _literal_text(node.func.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def _is_formatted(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return bool(_literal_text(node))
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
        and bool(_literal_text(node.func.value))


def _call_name(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def formatted_sql(path: Path) -> list[tuple[int, str]]:
    """(line, statement start) of every SQL string built by formatting, in one file."""
    found: dict[int, str] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if _is_formatted(node) and SQL_START.match(_literal_text(node)):
            found[node.lineno] = _literal_text(node).strip()
        elif isinstance(node, ast.Call) and _call_name(node) in SQL_CALLS and node.args and _is_formatted(node.args[0]):
            found[node.lineno] = _literal_text(node.args[0]).strip()
    return sorted(found.items())


def test_the_sql_check_catches_formatted_statements(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('session.execute(text(f"SELECT * FROM events WHERE id = {event_id}"))\n'
                      'cursor.execute("DELETE FROM snapshots WHERE sha256 = \'%s\'" % digest)\n'
                      'query = "UPDATE outbox SET status = {}".format(status)\n'
                      'session.execute(text("SELECT 1 WHERE :x"), {"x": 1})\n')
    assert [line for line, _ in formatted_sql(sample)] == [1, 2, 3]


def test_sql_uses_only_bound_parameters():
    offenders = []
    for path in python_files():
        relative = path.relative_to(REPO).as_posix()
        for line, statement in formatted_sql(path):
            if not any(relative == f and statement.upper().startswith(s) for f, s in DOCUMENTED_EXCEPTIONS):
                offenders.append(f"{relative}:{line}: {statement[:60]!r}")
    assert offenders == [], "SQL built by string formatting (use bound parameters):\n" + "\n".join(offenders)


def test_every_jinja_environment_escapes_html():
    unescaped = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _call_name(node) in ("Environment", "Template"):
                autoescape = next((k.value for k in node.keywords if k.arg == "autoescape"), None)
                if autoescape is None or (isinstance(autoescape, ast.Constant) and not autoescape.value):
                    unescaped.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert unescaped == [], "Jinja2 environments without autoescape: " + ", ".join(unescaped)
