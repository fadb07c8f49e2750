"""Fault injection: `pricewatch run` against local servers that misbehave on command.

Two runs share one archive.  In the first, every source's page behaves; in the second,
each "victim" source's server has one fault (its own loopback host, so that the faults run
side by side and the suite stays fast) while a healthy source keeps answering.  For every
fault the victim must fail with its specific reason (printed, in `fetches.outcome` and in
`source_health`), the healthy source must still be stored, retries must stay bounded and
wait out Retry-After, the run's peak memory must stay near the clean run's, the victim's
prices, observations and events must be exactly as the first run left them, and the exit
status must be 1.  SQLite only: the fault handling is the same code on either database,
and the crash suite (tests/test_crash.py) covers PostgreSQL.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from db.models import Event, Fetch, Observation, PriceInterval, Snapshot, SourceHealth
from db.session import Database
from tests.conftest import FIXTURES, REPO, write_config
from tests.httpserver import LocalServer, Route

LITELLM = (FIXTURES / "litellm_core" / "2026-01.json").read_bytes()
DEEPSEEK_ZH = (FIXTURES / "deepseek" / "zh_flat.html").read_bytes()
JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
# Small caps, so that "bounded" is measurable: a process that buffered a 50 MB body or a
# 200 MB gzip bomb would show it in its peak memory.
CAPS = {"max_bytes": 2_000_000, "max_decompressed_bytes": 8_000_000}
MEMORY_MARGIN_KB = 40_000

# victim id: (its page in the second run, the reason it must fail with, requests it may cost)
FAULTS = {
    "429_retry_after": (Route(status=429, headers={"Retry-After": "1"}), "http_error", 2),
    "500": (Route(b"Internal Server Error", status=500), "http_error", 2),
    "503": (Route(b"Service Unavailable", status=503), "http_error", 2),
    "503_retry_after_3600": (Route(status=503, headers={"Retry-After": "3600"}), "http_error", 1),
    "hang_before_headers": (Route(fault="hang_headers"), "timeout", 2),
    "hang_mid_body": (Route(LITELLM, fault="hang_body"), "timeout", 2),
    "dropped_connection": (Route(fault="drop"), "connection_error", 2),
    "truncated_body": (Route(LITELLM, fault="truncate"), "connection_error", 2),
    "gzip_cut_short": (Route(LITELLM, fault="gzip_cut"), "bad_body", 2),
    "gzip_cut_at_close": (Route(LITELLM, fault="gzip_cut_close"), "bad_body", 2),
    "gzip_corrupt": (Route(gzip.compress(LITELLM)[:10] + b"\xff" * 20, headers={"Content-Encoding": "gzip", **JSON}),
                     "bad_body", 2),
    "brotli_not_asked_for": (Route(LITELLM, headers={"Content-Encoding": "br", **JSON}), "bad_body", 1),
    "slow_drip": (Route(LITELLM, fault="drip"), "timeout", 2),
    "redirect_without_location": (Route(status=302), "http_error", 1),
    "304_to_no_validators": (Route(status=304), "http_error", 1),
    "50_mb_declared": (Route(fault="huge"), "too_large", 1),
    "50_mb_chunked": (Route(fault="huge_chunked"), "too_large", 1),
    "gzip_bomb": (Route(fault="gzip_bomb"), "too_large", 1),
    "redirect_loop": (Route(fault="redirect_loop"), "redirect_loop", 6),
    "cloudflare_challenge": (Route(fault="cloudflare"), "blocked", 1),
    "challenge_with_200": (Route(b"<html><title>Just a moment...</title><div id='challenge-platform'></div></html>",
                                 headers=HTML), "blocked", 1),
    "empty_page": (Route(b"", headers=JSON), "layout_drift", 1),
    "garbage_page": (Route(random.Random(8).randbytes(20_000), headers={"Content-Type": "application/octet-stream"}),
                     "layout_drift", 1),
    "json_of_something_else": (Route(b'{"error": "moved", "models": []}', headers=JSON), "layout_drift", 1),
}
# victim id: its two pages' routes in the second run, for sources that fail after some requests went well
LOGGED = {
    "second_page_fails": {"/more": Route(b"Service Unavailable", status=503)},
    "rate_limit_then_drift": {"/prices": Route(status=429, headers={"Retry-After": "1"}, times=1,
                                               then=Route(b'{"error": "moved"}', headers=JSON))},
}
# victim id: its (HTML) page in the second run; a deepseek page that changed its layout
DRIFTS = {
    "table_gone": (FIXTURES / "deepseek" / "no_table.html").read_bytes(),
    "table_became_divs": DEEPSEEK_ZH.replace(b"<table", b"<div").replace(b"</table>", b"</div>"),
    "currency_gone": DEEPSEEK_ZH.replace("元".encode(), b""),
    "empty_html": b"",
}

# Runs `python -m pipeline ARGS` and, at exit, writes the process's peak resident memory
# (VmHWM, kB) to the file named first.  VmHWM is the child's own: the RSS figures of
# wait4/getrusage would inherit the test process's high-water mark across fork and exec.
MEASURED = """
import atexit, runpy, sys
report = sys.argv.pop(1)
def write_peak():
    with open("/proc/self/status") as status, open(report, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM")))
atexit.register(write_peak)
runpy.run_module("pipeline", run_name="__main__", alter_sys=True)
"""


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    peak_kb: int

    def line(self, source: str) -> str:
        return next((line for line in self.stdout.splitlines() if line.startswith(f"{source}: ")), "")


def pricewatch(*args: str, cwd, env: dict[str, str]) -> Finished:
    """Run the CLI in a child process and read its own peak resident memory."""
    peak = cwd / "peak_kb.txt"
    result = subprocess.run([sys.executable, "-c", MEASURED, str(peak), *args], cwd=cwd, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO), **env}, timeout=120)
    return Finished(result.returncode, result.stdout, result.stderr, int(peak.read_text()))


@dataclass
class SourceState:
    """What the archive holds for one source."""

    intervals: list[tuple]
    events: list[tuple]
    observations: int
    health: SourceHealth | None
    fetches: list[tuple[str, int]]


def archive_of(db_path, source_id: str) -> SourceState:
    db = Database(f"sqlite:///{db_path}", migrate=False)
    try:
        with db.session() as session:
            intervals = sorted((i.model, i.dimension, i.conditions_key, str(i.price), i.first_seen, i.last_seen)
                               for i in session.scalars(select(PriceInterval).where(PriceInterval.source_id == source_id)))
            events = sorted((e.kind, e.model, e.dimension, e.observed_at)
                            for e in session.scalars(select(Event).where(Event.source_id == source_id)))
            observations = len(session.scalars(select(Observation.id).where(Observation.source_id == source_id)).all())
            fetches = [(f.outcome, f.attempt) for f in session.scalars(
                select(Fetch).where(Fetch.source_id == source_id).order_by(Fetch.id))]
            return SourceState(intervals, events, observations, session.get(SourceHealth, source_id), fetches)
    finally:
        db.dispose()


@dataclass
class Runs:
    first: Finished
    second: Finished
    before: dict[str, SourceState]
    after: dict[str, SourceState]
    hit_times: dict[str, list[float]]
    requests: dict[str, int]  # in the second run, robots.txt included
    snapshot_digests: set[str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    tmp_path = tmp_path_factory.mktemp("faults")
    db_path = tmp_path / "archive.sqlite"
    victims = [*FAULTS, *DRIFTS, "rate_limit_lifts", "wrong_charset", *LOGGED]
    with ExitStack() as stack:
        servers = {name: stack.enter_context(LocalServer(host=f"127.0.0.{10 + i}"))
                   for i, name in enumerate(["good", *victims])}
        sources = [{"id": "good", "parser": "litellm", "urls": [f"{servers['good'].url}/prices"], "aggregator": True}]
        for name in victims:
            page = {"urls": [f"{servers[name].url}/prices"] + ([f"{servers[name].url}/more"] if name in LOGGED else [])}
            if name in DRIFTS or name == "wrong_charset":
                sources.append({"id": name, "parser": "deepseek", "currency": "CNY", "market": "cn", **page})
            else:
                sources.append({"id": name, "parser": "litellm", **page})
        config = write_config(tmp_path / "config", sources, timeout_seconds=1, attempt_max_seconds=2, retries=1,
                              retry_after_max_seconds=1, **CAPS)
        env = {"PRICEWATCH_CONFIG": str(config), "PRICEWATCH_DB": str(db_path)}

        for name, server in servers.items():
            if name in DRIFTS:
                server.route("/prices", DEEPSEEK_ZH, headers=HTML)
            elif name == "wrong_charset":
                server.route("/prices", DEEPSEEK_ZH.replace(b'<meta charset="UTF-8">', b""),
                             headers={"Content-Type": "text/html; charset=iso-8859-1"})
            else:
                server.route("/prices", LITELLM, headers=JSON)
                server.route("/more", LITELLM, headers=JSON)
        first = pricewatch("run", cwd=tmp_path, env=env)
        before = {name: archive_of(db_path, name) for name in ["good", *victims]}

        for server in servers.values():
            server.hits.clear()
            server.hit_times.clear()
        for name, (route, _reason, _requests) in FAULTS.items():
            servers[name].routes["/prices"] = route
        for name, page in DRIFTS.items():
            servers[name].route("/prices", page, headers=HTML)
        servers["rate_limit_lifts"].routes["/prices"] = Route(status=429, headers={"Retry-After": "1"}, times=1,
                                                              then=Route(LITELLM, headers=JSON))
        for name, routes in LOGGED.items():
            servers[name].routes.update(routes)
        second = pricewatch("run", cwd=tmp_path, env=env)
        after = {name: archive_of(db_path, name) for name in ["good", *victims]}
        hit_times = {name: list(server.hit_times.get("/prices", [])) for name, server in servers.items()}
        requests = {name: sum(server.hits.values()) for name, server in servers.items()}
    return Runs(first, second, before, after, hit_times, requests, _snapshot_digests(db_path))


def _snapshot_digests(db_path) -> set[str]:
    db = Database(f"sqlite:///{db_path}", migrate=False)
    try:
        with db.session() as session:
            return set(session.scalars(select(Snapshot.sha256)))
    finally:
        db.dispose()


def test_the_first_run_stores_every_source(runs):
    assert runs.first.returncode == 0, runs.first.stdout + runs.first.stderr
    assert all(state.intervals and state.observations == 1 for state in runs.before.values())


def test_the_second_run_exits_1_and_still_stores_the_healthy_source(runs):
    assert runs.second.returncode == 1, runs.second.stdout + runs.second.stderr
    assert "Traceback" not in runs.second.stderr
    assert runs.second.line("good").startswith("good: ok")
    good = runs.after["good"]
    assert good.observations == 2 and good.health.consecutive_failures == 0


@pytest.mark.parametrize("victim", list(FAULTS))
def test_a_fault_fails_its_source_with_its_reason_and_writes_no_price(runs, victim):
    _route, reason, requests = FAULTS[victim]
    assert runs.second.line(victim).startswith(f"{victim}: FAILED [{reason}]"), runs.second.stdout
    assert len(runs.hit_times[victim]) == requests, f"{len(runs.hit_times[victim])} requests, expected {requests}"
    before, after = runs.before[victim], runs.after[victim]
    assert after.health.last_failure_reason == reason and after.health.consecutive_failures == 1
    assert after.health.last_success_at == before.health.last_success_at
    new_attempts = after.fetches[len(before.fetches):]
    assert reason in {outcome for outcome, _ in new_attempts} and all(n <= 2 for _o, n in new_attempts)
    assert (after.intervals, after.events, after.observations) == (before.intervals, before.events, 1), (
        "a failed fetch changed the source's prices, events or observations")


def test_retry_after_is_waited_out_and_a_longer_one_than_allowed_is_not_retried(runs):
    first, second = runs.hit_times["429_retry_after"]
    assert second - first >= 1.0, "the retry came before Retry-After: 1"
    assert "no request in the next 3600 s" in runs.second.line("503_retry_after_3600")


def test_a_trickling_answer_ends_at_the_attempts_time_limit(runs):
    first, second = runs.hit_times["slow_drip"]
    assert 1.8 <= second - first < 4.0, "the first attempt did not end at attempt_max_seconds = 2"
    assert "no complete answer within attempt_max_seconds" in runs.second.line("slow_drip")


def test_a_rate_limit_that_lifts_is_waited_out_and_stored(runs):
    times = runs.hit_times["rate_limit_lifts"]
    assert runs.second.line("rate_limit_lifts").startswith("rate_limit_lifts: ok")
    assert len(times) == 2 and times[1] - times[0] >= 1.0
    assert runs.after["rate_limit_lifts"].fetches[-2:] == [("http_error", 1), ("ok", 2)]
    assert runs.after["rate_limit_lifts"].observations == 2


def test_memory_stays_bounded_under_50_mb_bodies_and_a_gzip_bomb(runs):
    assert runs.second.peak_kb < runs.first.peak_kb + MEMORY_MARGIN_KB, (
        f"peak memory {runs.second.peak_kb} kB against {runs.first.peak_kb} kB for the clean run")


@pytest.mark.parametrize("victim", list(DRIFTS))
def test_a_changed_layout_fails_as_drift_and_leaves_the_history_untouched(runs, victim):
    assert runs.second.line(victim).startswith(f"{victim}: FAILED [layout_drift]"), runs.second.stdout
    before, after = runs.before[victim], runs.after[victim]
    assert (after.intervals, after.events, after.observations) == (before.intervals, before.events, 1), (
        "a drifted page changed prices, events or observations (e.g. 'withdrawn' models)")
    assert after.health.last_failure_reason == "layout_drift" and after.fetches[-1][0] == "layout_drift"
    assert hashlib.sha256(DRIFTS[victim]).hexdigest() in runs.snapshot_digests, "the drifted page is kept as evidence"


@pytest.mark.parametrize("victim, outcomes", [
    ("second_page_fails", [("ok", 1), ("http_error", 1), ("http_error", 2)]),
    ("rate_limit_then_drift", [("http_error", 1), ("ok", 2), ("ok", 1), ("layout_drift", 0)]),
])
def test_every_request_of_a_failed_source_is_in_the_fetch_log(runs, victim, outcomes):
    """What the pages that did come cost is evidence too: the log holds every request."""
    before, after = runs.before[victim], runs.after[victim]
    assert sorted(after.fetches[len(before.fetches):]) == sorted(outcomes)
    assert runs.requests[victim] == len([n for _outcome, n in outcomes if n])
    assert (after.intervals, after.events, after.observations) == (before.intervals, before.events, 1)


def test_a_utf8_chinese_page_declared_latin1_still_parses(runs):
    assert runs.first.line("wrong_charset").startswith("wrong_charset: ok")
    prices = {(model, dimension): price for model, dimension, _c, price, _f, _l in runs.before["wrong_charset"].intervals}
    assert prices == {("deepseek-v4-flash", "cached_input"): "0.02", ("deepseek-v4-pro", "cached_input"): "0.025",
                      ("deepseek-v4-flash", "input"): "1", ("deepseek-v4-pro", "input"): "3",
                      ("deepseek-v4-flash", "output"): "2", ("deepseek-v4-pro", "output"): "6"}
