"""Answers a hostile or broken server controls, byte for byte, beyond tests/test_faults.py:

- header values that once escaped the fetcher as bare exceptions (a traceback, the generic
  reason, the attempt log thrown away): `Retry-After: ²`, a date in the year 10^20, a
  Location with a port out of range or a 64-character label, a robots.txt in the `undefined`
  charset;
- text PostgreSQL refuses (a Content-Type over its column, NUL in robots.txt or in a model
  name, a model name over its column), which once ended the whole run there;
- bytes past an answer's end on a keep-alive connection, which h11 keeps and httpcore once
  gave the next request as its answer (encode/httpx#1474);
- redirects, which once went past robots.txt.
Found by an independent review; each test failed before its fix.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from typing import Callable

import pytest
from sqlalchemy import select

from db.models import Fetch, SourceHealth
from db.session import Database
from pipeline.config import FetchSettings, load_config
from pipeline.errors import Refused
from pipeline.fetch import Fetcher
from pipeline.run import run_all
from tests.conftest import FIXTURES, REPO, write_config
from tests.httpserver import LocalServer

JANUARY = (FIXTURES / "litellm_core" / "2026-01.json").read_bytes()
FEBRUARY = (FIXTURES / "litellm_core" / "2026-02.json").read_bytes()
ALLOW_ALL = b"User-agent: *\nAllow: /\n"
JSON_TYPE = (b"Content-Type", b"application/json")


def answer(status: int, body: bytes = b"", headers: tuple = ()) -> bytes:
    head = b"".join(b"%s: %s\r\n" % (name, value) for name, value in headers)
    return b"HTTP/1.1 %d X\r\n%sContent-Length: %d\r\n\r\n%s" % (status, head, len(body), body)


class RawServer:
    """Answers each request of a keep-alive connection with answers[path]: raw bytes, or a
    function of the request's head (lower-cased) giving them."""

    def __init__(self, host: str, answers: dict[str, bytes | Callable[[str], bytes]]) -> None:
        self.answers = answers
        self.requests: list[str] = []
        self.sock = socket.create_server((host, 0))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(connection,), daemon=True).start()

    def _talk(self, connection: socket.socket) -> None:
        buffered = b""
        with connection:
            try:
                while True:
                    while b"\r\n\r\n" not in buffered:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffered += data
                    request, buffered = buffered.split(b"\r\n\r\n", 1)
                    path = request.split(b" ")[1].decode()
                    self.requests.append(path)
                    reply = self.answers.get(path, answer(404))
                    connection.sendall(reply(request.decode("latin-1").lower()) if callable(reply) else reply)
            except OSError:
                return

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


# -- header values ------------------------------------------------------------------------------

SUPERSCRIPT_TWO = "\u00b2".encode()  # "²": str.isdigit() says True, float() refuses it
YEAR_TOO_BIG = b"Mon, 01 Jan 99999999999999999999 00:00:00 GMT"  # parsedate_to_datetime: OverflowError
LONG_LABEL = b"http://" + b"a" * 64 + b".example/prices"  # getaddrinfo: UnicodeError from IDNA, not gaierror

# the victim host's answers besides an allow-all robots.txt and the page; the reason it fails with
HEADER_CASES = {
    "503_retry_after_superscript_digit": ({"/prices": answer(503, headers=((b"Retry-After", SUPERSCRIPT_TWO),))},
                                          "http_error"),
    "429_retry_after_in_the_year_10^20": ({"/prices": answer(429, headers=((b"Retry-After", YEAR_TOO_BIG),))},
                                          "http_error"),
    "redirect_to_a_port_out_of_range": ({"/prices": answer(302, headers=((b"Location", b"http://127.0.0.1:99999/p"),))},
                                        "refused"),
    "redirect_to_a_64_character_label": ({"/prices": answer(302, headers=((b"Location", LONG_LABEL),))}, "refused"),
    "robots_503_retry_after_superscript_digit": (
        {"/robots.txt": answer(503, headers=((b"Retry-After", SUPERSCRIPT_TWO),))}, "refused"),  # cannot be had
    "robots_redirect_to_a_port_out_of_range": (
        {"/robots.txt": answer(301, headers=((b"Location", b"http://127.0.0.1:99999/robots.txt"),))}, "refused"),
    "robots_in_the_undefined_charset": (  # rules that allow everything: the page is stored
        {"/robots.txt": answer(200, ALLOW_ALL + b"# caf\xe9\n", ((b"Content-Type", b"text/plain; charset=undefined"),))},
        None),
}


@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_a_hostile_header_fails_its_source_with_its_reason_and_no_traceback(tmp_path, case):
    answers, reason = HEADER_CASES[case]
    page = answer(200, JANUARY, (JSON_TYPE,))
    with RawServer("127.0.0.41", {"/robots.txt": answer(200, ALLOW_ALL), "/prices": page, **answers}) as victim, \
            RawServer("127.0.0.42", {"/robots.txt": answer(200, ALLOW_ALL), "/prices": page}) as good:
        config = write_config(tmp_path / "config", [
            {"id": "victim", "parser": "litellm", "urls": [f"{victim.url}/prices"], "aggregator": True},
            {"id": "good", "parser": "litellm", "urls": [f"{good.url}/prices"], "aggregator": True},
        ], timeout_seconds=1, attempt_max_seconds=2, retries=1, retry_after_max_seconds=1)
        db_path = tmp_path / "archive.sqlite"
        done = subprocess.run([sys.executable, "-m", "pipeline", "run"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60, env={**os.environ, "PYTHONPATH": str(REPO), "PRICEWATCH_CONFIG": str(config),
                                               "PRICEWATCH_DB": str(db_path)})
    assert "Traceback" not in done.stderr, done.stderr
    assert "good: ok" in done.stdout, done.stdout
    line = next(line for line in done.stdout.splitlines() if line.startswith("victim: "))
    if reason is None:
        assert line.startswith("victim: ok") and done.returncode == 0, line
        return
    assert line.startswith(f"victim: FAILED [{reason}]") and done.returncode == 1, line
    db = Database(f"sqlite:///{db_path}", migrate=False)
    try:
        with db.session() as session:
            assert session.get(SourceHealth, "victim").last_failure_reason == reason
            if reason == "http_error":  # the answer that came is in the fetch log, with its status
                statuses = session.scalars(select(Fetch.http_status).where(Fetch.source_id == "victim")).all()
                assert {429, 503} & set(statuses), statuses
    finally:
        db.dispose()


# -- text PostgreSQL refuses ----------------------------------------------------------------------

LONG_CONTENT_TYPE = "application/json; charset=utf-8; " + "; ".join(f"p{i}=v{i}" for i in range(45))


def renamed(name: str) -> bytes:
    models = json.loads(JANUARY)
    models[name] = models.pop("gpt-4o")
    return json.dumps(models).encode()


def repriced(text: bytes) -> bytes:
    models = json.loads(JANUARY)
    models["gpt-4o"]["input_cost_per_token"] = "PRICE"
    return json.dumps(models).encode().replace(b'"PRICE"', text)


# the victim's robots.txt, page and headers; its outcome (stored, or the reason it fails with)
TEXT_CASES = {
    "content_type_over_its_column": ("User-agent: *\nAllow: /\n", JANUARY.replace(b"}", b" }", 1),
                                     {"Content-Type": LONG_CONTENT_TYPE}, None),
    "nul_in_robots_txt": ("User-agent: *\nAllow: /\n# \x00\n", JANUARY, {"Content-Type": "application/json"}, None),
    "nul_in_a_model_name": ("", renamed("gpt\x004o"), {"Content-Type": "application/json"}, "layout_drift"),
    "lone_surrogate_in_a_model_name": ("", renamed("gpt-4o").replace(b'"gpt-4o"', b'"gpt-\\ud800"'),
                                       {"Content-Type": "application/json"}, "layout_drift"),
    "model_name_over_its_column": ("", renamed("gpt-4o-" + "x" * 300), {"Content-Type": "application/json"},
                                   "layout_drift"),
    "price_of_70_decimal_places": ("", repriced(b"1e-70"), {"Content-Type": "application/json"}, "bad_price"),
}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_text_a_database_refuses_fails_one_source_not_the_run(tmp_path, db, case):
    robots, page, headers, reason = TEXT_CASES[case]
    with LocalServer(host="127.0.0.71") as victim, LocalServer(host="127.0.0.72") as good:
        victim.route("/robots.txt", robots or "User-agent: *\nAllow: /\n")
        good.route("/robots.txt", "User-agent: *\nAllow: /\n")
        victim.route("/prices", page, headers=headers)
        for i in range(2):
            victim.route(f"/other{i}", JANUARY, headers={"Content-Type": "application/json"})
        good.route("/prices", JANUARY, headers={"Content-Type": "application/json"})
        config = load_config(write_config(tmp_path / "config", [
            {"id": "victim", "parser": "litellm", "urls": [f"{victim.url}/prices"], "aggregator": True},
            *({"id": f"same_host{i}", "parser": "litellm", "urls": [f"{victim.url}/other{i}"], "aggregator": True}
              for i in range(2)),
            {"id": "good", "parser": "litellm", "urls": [f"{good.url}/prices"], "aggregator": True},
        ], retries=0))
        results = run_all(db, config, list(config.sources.values()))
    outcome = {r.source: (r.status, r.reason) for r in results}
    assert {s: outcome[s] for s in ("good", "same_host0", "same_host1")} == dict.fromkeys(
        ("good", "same_host0", "same_host1"), ("ok", None))
    assert outcome["victim"] == (("failed", reason) if reason else ("ok", None))
    with db.session() as session:
        assert session.get(SourceHealth, "victim").consecutive_failures == (1 if reason else 0)


# -- bytes past an answer's end --------------------------------------------------------------------

def test_bytes_past_an_answers_end_are_not_taken_as_the_next_requests_answer():
    """/a's answer comes with a whole stray answer after it (a server that wrote twice)."""
    stray = answer(200, b'{"stray": true}')
    with RawServer("127.0.0.51", {"/a": answer(200, b"page a") + stray, "/b": answer(200, b"page b")}) as server:
        fetcher = Fetcher(FetchSettings(allowed_networks=("127.0.0.0/8",), obey_robots=False,
                                        per_host_delay_seconds=0, retries=0))
        try:
            assert fetcher.fetch(f"{server.url}/a").content == b"page a"
            assert fetcher.fetch(f"{server.url}/b").content == b"page b"
        finally:
            fetcher.close()
    assert server.requests == ["/a", "/b"]


def test_a_304_with_a_body_does_not_fail_the_next_source_on_its_host(tmp_path, db):
    """A server that sends its page along with a 304 (the body a 304 must not have)."""
    def page_a(request: str) -> bytes:
        if 'if-none-match: "a1"' in request:
            return answer(304, headers=((b"ETag", b'"a1"'),)) + JANUARY
        return answer(200, JANUARY, (JSON_TYPE, (b"ETag", b'"a1"')))

    with RawServer("127.0.0.52", {"/robots.txt": answer(200, ALLOW_ALL), "/a": page_a,
                                  "/b": answer(200, FEBRUARY, (JSON_TYPE,))}) as server:
        config = load_config(write_config(tmp_path / "config", [
            {"id": source, "parser": "litellm", "urls": [f"{server.url}/{source}"], "aggregator": True}
            for source in ("a", "b")], retries=0, timeout_seconds=2))
        sources = list(config.sources.values())
        assert [r.status for r in run_all(db, config, sources)] == ["ok", "ok"]
        started = datetime.now(timezone.utc)
        second = run_all(db, config, sources)
    assert [(r.status, r.reason) for r in second] == [("ok", None), ("ok", None)], [r.line() for r in second]
    with db.session() as session:
        assert session.scalars(select(Fetch.outcome).where(Fetch.source_id == "b", Fetch.started_at >= started)
                               ).all() == ["ok"]


def test_bytes_past_a_robots_txt_answers_end_are_not_the_pages_answer():
    stray = answer(200, b'{"stray": true}')
    with RawServer("127.0.0.53", {"/robots.txt": answer(200, ALLOW_ALL) + stray,
                                  "/prices": answer(200, b"the page")}) as server:
        fetcher = Fetcher(FetchSettings(user_agent="pricewatch-test/0.1", allowed_networks=("127.0.0.0/8",),
                                        per_host_delay_seconds=0, retries=0))
        try:
            assert fetcher.fetch(f"{server.url}/prices").content == b"the page"
        finally:
            fetcher.close()


# -- redirects and robots.txt ----------------------------------------------------------------------

def assert_refused_by_robots(url: str) -> None:
    fetcher = Fetcher(FetchSettings(user_agent="pricewatch-test/0.1", allowed_networks=("127.0.0.0/8",),
                                    per_host_delay_seconds=0, retries=0))
    try:
        with pytest.raises(Refused, match="robots.txt disallows"):
            fetcher.fetch(url)
    finally:
        fetcher.close()


def test_a_redirect_to_a_path_robots_txt_disallows_is_not_followed():
    with LocalServer(host="127.0.0.61") as server:
        server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n")
        server.route("/prices", status=302, headers={"Location": "/private/prices"})
        server.route("/private/prices", '{"secret": true}')
        assert_refused_by_robots(f"{server.url}/prices")
    assert server.hits["/private/prices"] == 0


def test_a_redirect_to_another_host_obeys_that_hosts_robots_txt():
    with LocalServer(host="127.0.0.62") as first, LocalServer(host="127.0.0.63") as other:
        first.route("/robots.txt", "User-agent: *\nAllow: /\n")
        first.route("/prices", status=301, headers={"Location": f"{other.url}/prices"})
        other.route("/robots.txt", "User-agent: *\nDisallow: /\n")
        other.route("/prices", '{"elsewhere": true}')
        assert_refused_by_robots(f"{first.url}/prices")
    assert (other.hits["/robots.txt"], other.hits["/prices"]) == (1, 0)
