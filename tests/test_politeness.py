"""Politeness toward vendors' sites, judged from the side of a real local server: robots.txt
(obeyed, cached, redirects followed), conditional GET, Retry-After within its bound, one
request at a time per host with the configured delay, and a User-Agent that says who we are."""

from __future__ import annotations

import email.utils
import itertools
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from db.models import (
    Event,
    Fetch,
    Observation,
    PriceInterval,
    QuoteRow,
    QuoteSet,
    RobotsFile,
    Snapshot,
)
from db.session import Database
from pipeline.config import FetchSettings, load_config
from pipeline.errors import Refused
from pipeline.fetch import Fetcher
from pipeline.run import _HostQueue, run_all
from tests.conftest import FIXTURES, REPO, write_config
from tests.httpserver import Route, TimedServer

JANUARY = (FIXTURES / "litellm_core" / "2026-01.json").read_bytes()
FEBRUARY = (FIXTURES / "litellm_core" / "2026-02.json").read_bytes()
CONTACT = "https://example.org/pricewatch-contact"


def local_fetcher(**settings) -> Fetcher:
    return Fetcher(FetchSettings(**{"user_agent": "pricewatch-test/0.1", "allowed_networks": ("127.0.0.0/8",),
                                    "per_host_delay_seconds": 0, "backoff_seconds": 0.01, **settings}))


def assert_refused(url: str, reason: str, **settings) -> None:
    fetcher = local_fetcher(**settings)
    try:
        with pytest.raises(Refused, match=reason):
            fetcher.fetch(url)
    finally:
        fetcher.close()


def config_for(tmp_path, server, paths: dict[str, str], **fetch):
    return load_config(write_config(tmp_path / "config", [
        {"id": source_id, "vendor": "litellm", "parser": "litellm", "urls": [f"{server.url}{path}"], "aggregator": True}
        for source_id, path in paths.items()], **fetch))


def test_robots_txt_is_obeyed_and_fetched_once_per_origin_per_day(tmp_path, db):
    with TimedServer() as server:
        # our group (matched by the product token of the User-Agent) replaces the `*` one
        server.route("/robots.txt", "User-agent: *\nDisallow: /\n\n"
                                    "User-agent: pricewatch-test\nDisallow: /private/\nDisallow: /not-for-us/\n")
        for path, page in (("/a.json", JANUARY), ("/b.json", FEBRUARY), ("/private/c.json", JANUARY),
                           ("/not-for-us/d.json", JANUARY)):
            server.route(path, page)
        config = config_for(tmp_path, server, {"a": "/a.json", "b": "/b.json", "c": "/private/c.json",
                                               "d": "/not-for-us/d.json"})
        sources = list(config.sources.values())
        results = {r.source: r for r in run_all(db, config, sources)}
        run_all(db, config, sources)
    assert results["a"].status == results["b"].status == "ok"
    for refused in ("c", "d"):
        assert (results[refused].status, results[refused].reason) == ("failed", "refused")
        assert "robots.txt disallows" in results[refused].message
    assert not server.visits_to("/private/c.json") and not server.visits_to("/not-for-us/d.json")
    assert len(server.visits_to("/robots.txt")) == 1, "kept for a day: the second run asks no robots.txt"


def run_again_with_robots_kept_for(tmp_path, db, server, age: timedelta, *new_robots, **route):
    """Run source `a` once, make its kept robots.txt `age` old, serve `new_robots`, run it again."""
    server.route("/a.json", JANUARY)
    config = config_for(tmp_path, server, {"a": "/a.json"})
    sources = list(config.sources.values())
    run_all(db, config, sources)
    with db.transaction() as session:
        session.execute(update(RobotsFile).values(fetched_at=datetime.now(timezone.utc) - age))
    server.route("/robots.txt", *new_robots, **route)
    [second] = run_all(db, config, sources)
    return second


def test_a_kept_robots_txt_older_than_a_day_is_fetched_again(tmp_path, db):
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nAllow: /\n")
        second = run_again_with_robots_kept_for(tmp_path, db, server, timedelta(hours=25), "User-agent: *\nDisallow: /\n")
    assert len(server.visits_to("/robots.txt")) == 2
    assert (second.status, second.reason) == ("failed", "refused")
    with db.session() as session:
        assert session.scalars(select(RobotsFile.body)).all() == ["User-agent: *\nDisallow: /\n"]


def test_an_unreachable_robots_txt_is_not_kept_and_disallows_all_until_it_can_be_had(tmp_path, db):
    """A 503 says nothing about the rules; RFC 9309 (2.3.1.4) then says to assume complete
    disallow, so the page is not asked for, and the next run asks for robots.txt again instead
    of trusting that answer for a day."""
    with TimedServer() as server:
        server.route("/robots.txt", "busy", status=503)
        server.route("/a.json", JANUARY)
        config = config_for(tmp_path, server, {"a": "/a.json"})
        sources = list(config.sources.values())
        [first] = run_all(db, config, sources)
        run_all(db, config, sources)
    assert (first.status, first.reason) == ("failed", "refused")
    assert "robots.txt of http://127.0.0.1" in first.message and "cannot be had (HTTP 503)" in first.message
    assert len(server.visits_to("/robots.txt")) == 2 and not server.visits_to("/a.json")
    with db.session() as session:
        assert session.scalars(select(RobotsFile)).all() == []


def test_a_kept_robots_txt_stands_while_the_new_one_cannot_be_had(tmp_path, db):
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n")
        second = run_again_with_robots_kept_for(tmp_path, db, server, timedelta(days=3), "busy", status=503)
    assert second.status == "ok"
    assert len(server.visits_to("/robots.txt")) == 2 and len(server.visits_to("/a.json")) == 2


def test_only_the_first_500_kib_of_robots_txt_are_read():
    """RFC 9309 2.5 asks for at least 500 KiB; the rest of a larger file, or of a gzip bomb
    served as robots.txt, is never read into memory."""
    rules = "User-agent: *\nDisallow: /\n" + "# padding\n" * 60_000  # 600 KB
    with TimedServer() as server:
        server.route("/robots.txt", rules)
        server.route("/a.json", JANUARY)
        assert_refused(f"{server.url}/a.json", "robots.txt disallows")
    with TimedServer() as server:
        server.route("/robots.txt", fault="gzip_bomb")
        server.route("/a.json", JANUARY)
        fetcher = local_fetcher()
        tracemalloc.start()
        try:
            assert fetcher.fetch(f"{server.url}/a.json").content == JANUARY  # 200 MB of zeros: no rules
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            fetcher.close()
    assert peak < 8_000_000, f"{peak} bytes at peak for a gzip bomb as robots.txt"


def test_a_trickling_robots_txt_ends_at_the_attempts_time_limit():
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nAllow: /\n" * 10, fault="drip")
        server.route("/a.json", JANUARY)
        fetcher = local_fetcher(attempt_max_seconds=1, timeout_seconds=5)
        started = time.monotonic()
        try:
            with pytest.raises(Refused, match="cannot be had"):
                fetcher.fetch(f"{server.url}/a.json")
        finally:
            fetcher.close()
    assert time.monotonic() - started < 3


class _Clock:
    """The fetcher's `time` module, with the wall clock moved on by `ahead` seconds."""

    ahead = 0.0

    def __getattr__(self, name):
        return getattr(time, name)

    def time(self) -> float:
        return time.time() + self.ahead


def test_robots_txt_is_refreshed_after_its_time_to_live(monkeypatch):
    """A day later (RFC 9309's limit), the kept robots.txt is asked for again.  (The wall clock
    is moved on: a short time to live made this depend on the machine's speed.)"""
    import pipeline.fetch

    clock = _Clock()
    monkeypatch.setattr(pipeline.fetch, "time", clock)
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nAllow: /\n")
        server.route("/a.json", JANUARY)
        fetcher = local_fetcher()
        try:
            fetcher.fetch(f"{server.url}/a.json")
            fetcher.fetch(f"{server.url}/a.json")
            assert len(server.visits_to("/robots.txt")) == 1
            clock.ahead = pipeline.fetch.ROBOTS_TTL_SECONDS + 1
            server.route("/robots.txt", "User-agent: *\nDisallow: /\n")
            with pytest.raises(Refused, match="robots.txt disallows"):
                fetcher.fetch(f"{server.url}/a.json")
        finally:
            fetcher.close()
    assert len(server.visits_to("/robots.txt")) == 2


def test_a_redirected_robots_txt_is_followed():
    with TimedServer() as server:
        server.route("/robots.txt", "", status=301, headers={"Location": "/robots-moved.txt"})
        server.route("/robots-moved.txt", "User-agent: *\nDisallow: /\n")
        server.route("/a.json", JANUARY)
        assert_refused(f"{server.url}/a.json", "robots.txt disallows")
    assert not server.visits_to("/a.json")


def counts(db) -> dict[str, int]:
    with db.session() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Snapshot, QuoteSet, QuoteRow, PriceInterval, Event, Observation)}


def test_a_304_counts_as_unchanged_and_extends_the_intervals(tmp_path, db):
    last_modified = "Sat, 01 Aug 2026 00:00:00 GMT"
    with TimedServer() as server:
        server.route("/p.json", JANUARY, headers={"Content-Type": "application/json", "ETag": '"v1"',
                                                  "Last-Modified": last_modified}, conditional=True)
        config = config_for(tmp_path, server, {"litellm": "/p.json"})
        sources = list(config.sources.values())
        [first] = run_all(db, config, sources)
        before = counts(db)
        [second] = run_all(db, config, sources)
    assert first.status == second.status == "ok" and not second.changed
    sent = server.request_headers["/p.json"][-1]
    assert sent.get("If-None-Match") == '"v1"' and sent.get("If-Modified-Since") == last_modified
    after = counts(db)
    assert after == {**before, "observations": before["observations"] + 1}, "no new price rows, one more sighting"
    with db.session() as session:
        outcomes = session.scalars(select(Fetch.outcome).order_by(Fetch.id)).all()
        last_observed = session.scalar(select(func.max(Observation.observed_at)))
        last_seen = set(session.scalars(select(PriceInterval.last_seen)))
    assert outcomes == ["ok", "not_modified"]
    assert last_seen == {last_observed}, "every interval now runs to the 304's moment"


def test_a_304_is_parsed_again_from_the_archive_by_a_newer_parser(tmp_path, db, monkeypatch):
    """A 304 normally repeats the last observation without reading the page; a new parser
    version must read it, so its bytes come back from the archive."""
    import dataclasses

    import scrapers

    with TimedServer() as server:
        server.route("/p.json", JANUARY, headers={"Content-Type": "application/json", "ETag": '"v1"'},
                     conditional=True)
        config = config_for(tmp_path, server, {"litellm": "/p.json"})
        sources = list(config.sources.values())
        [first] = run_all(db, config, sources)
        newer = dataclasses.replace(scrapers.get_parser("litellm"), version=scrapers.get_parser("litellm").version + 1)
        monkeypatch.setitem(scrapers._REGISTRY, "litellm", newer)
        [second] = run_all(db, config, sources)
    assert first.status == second.status == "ok" and second.quotes == first.quotes and not second.events
    with db.session() as session:
        assert session.scalars(select(Fetch.outcome).order_by(Fetch.id)).all() == ["ok", "not_modified"]
        assert session.scalars(select(Observation.parser_version).order_by(Observation.observed_at)).all() == [
            newer.version - 1, newer.version]
        assert session.scalar(select(func.count()).select_from(Snapshot)) == 1


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize("retry_after, bound, shortest, longest", [
    ("1", 5, 0.95, 3.0),  # honoured
    ("http-date", 5, 0.95, 3.5),  # an HTTP date two seconds ahead (whole seconds: 1 to 2 s)
    ("soon", 5, 0.0, 1.0),  # neither seconds nor a date: the usual short backoff
])
def test_retry_after_is_honoured_within_the_bound(retry_after, bound, shortest, longest):
    with TimedServer() as server:
        value = http_date(2) if retry_after == "http-date" else retry_after
        server.routes["/busy.json"] = Route(status=503, headers={"Retry-After": value}, times=1, then=Route(JANUARY))
        fetcher = local_fetcher(obey_robots=False, retry_after_max_seconds=bound)
        try:
            fetched = fetcher.fetch(f"{server.url}/busy.json")
        finally:
            fetcher.close()
    assert fetched.content == JANUARY
    refused, accepted = server.visits_to("/busy.json")
    assert shortest <= accepted.started - refused.finished <= longest


def test_waiting_out_a_retry_after_does_not_use_up_the_next_requests_time():
    """The host's Retry-After is waited out before the retry's time limit starts."""
    with TimedServer() as server:
        server.routes["/busy.json"] = Route(status=503, headers={"Retry-After": "2"}, times=1, then=Route(JANUARY))
        fetcher = local_fetcher(obey_robots=False, retries=1, retry_after_max_seconds=5, attempt_max_seconds=1)
        try:
            assert fetcher.fetch(f"{server.url}/busy.json").content == JANUARY
        finally:
            fetcher.close()
    assert len(server.visits_to("/busy.json")) == 2


def test_a_host_asking_for_an_hour_off_is_not_asked_again_in_the_run(tmp_path, db):
    """Retry-After speaks for the host: beyond the bound, the source fails at once, and the
    host's other sources fail unasked, instead of each retrying after the bound."""
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nAllow: /\n")
        for path in ("/a.json", "/b.json", "/c.json"):
            server.route(path, status=429, headers={"Retry-After": "3600"})
        config = config_for(tmp_path, server, {"a": "/a.json", "b": "/b.json", "c": "/c.json"},
                            retry_after_max_seconds=1)
        results = run_all(db, config, list(config.sources.values()))
    assert [(r.status, r.reason) for r in results] == [("failed", "http_error")] * 3
    assert len([v for path in ("/a.json", "/b.json", "/c.json") for v in server.visits_to(path)]) == 1
    assert sum("not asked" in r.message for r in results) == 2


def test_one_request_at_a_time_per_host_with_the_configured_delay(tmp_path):
    paths = {f"s{i}": f"/s{i}.json" for i in range(4)}
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nAllow: /\n", delay=0.05)
        for path in paths.values():
            server.route(path, JANUARY, delay=0.1)
        config = config_for(tmp_path, server, paths, per_host_delay_seconds=0.3)
        database = Database(f"sqlite:///{tmp_path / 'archive.sqlite'}")
        try:
            started = time.monotonic()
            results = run_all(database, config, list(config.sources.values()), workers=8)
            elapsed = time.monotonic() - started
        finally:
            database.dispose()
    assert all(r.status == "ok" for r in results)
    visits = sorted(server.visits, key=lambda v: v.started)
    assert len(visits) == 5
    for earlier, later in itertools.pairwise(visits):
        assert later.started - earlier.finished >= 0.29, "a request began before the delay after the last one"
    assert elapsed < 15


def test_a_host_goes_to_one_source_at_a_time_even_when_the_previous_one_ends_late():
    """A source frees its host when its pages are in, and again when it ends; by then the host
    may be fetching the next source's pages, which must keep it."""
    sources = [SimpleNamespace(id=f"s{i}", host=host) for i, host in enumerate(["a", "a", "a", "b"])]
    hosts = _HostQueue(sources, lambda source: source.host)
    first = hosts.take()
    second = hosts.take()
    assert {first[0], second[0]} == {"a", "b"} and hosts.take() is None
    a = first if first[0] == "a" else second
    hosts.release("a", a[1])  # its pages are in: the next source of host a may start
    following = hosts.take()
    assert following[0] == "a" and following[1] != a[1]
    hosts.release("a", a[1])  # the first source ends, after host a went to the next one
    assert hosts.take() is None, "host a handed to a third source while the second still fetches from it"
    hosts.release("a", following[1])
    assert hosts.take()[0] == "a"


def test_the_user_agent_names_the_project_and_the_contact_url(tmp_path, db):
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nAllow: /\n")
        server.route("/a.json", JANUARY)
        config = config_for(tmp_path, server, {"a": "/a.json"}, contact_url=CONTACT)
        run_all(db, config, list(config.sources.values()))
    for path in ("/robots.txt", "/a.json"):
        agent = server.request_headers[path][0]["User-Agent"]
        assert agent.startswith("pricewatch") and f"+{CONTACT}" in agent
    shipped = load_config(REPO / "config").fetch
    agent = Fetcher(shipped).user_agent
    assert agent.startswith("pricewatch/") and shipped.contact_url and shipped.contact_url in agent


def test_a_source_with_an_unknown_parser_fails_without_asking_its_host(tmp_path, db):
    """A misspelt parser name is the config's fault: the vendor is not asked for a page that
    nothing could read, and the other sources are stored as usual."""
    with TimedServer() as server:
        server.route("/robots.txt", "User-agent: *\nAllow: /\n")
        server.route("/a.json", JANUARY)
        server.route("/b.json", JANUARY)
        config = load_config(write_config(tmp_path / "config", [
            {"id": "a", "vendor": "litellm", "parser": "litellm", "urls": [f"{server.url}/a.json"], "aggregator": True},
            {"id": "b", "vendor": "litellm", "parser": "litelm", "urls": [f"{server.url}/b.json"], "aggregator": True},
        ]))
        results = {r.source: r for r in run_all(db, config, list(config.sources.values()))}
    assert results["a"].status == "ok"
    assert (results["b"].status, results["b"].reason) == ("failed", "config_error")
    assert "unknown parser 'litelm'" in results["b"].message
    assert not server.visits_to("/b.json")
    with db.session() as session:
        assert session.scalars(select(Fetch.outcome).where(Fetch.source_id == "b")).all() == ["config_error"]


def test_the_export_tells_fetched_pages_from_imported_ones(tmp_path, db):
    """A price's provenance: bytes pricewatch fetched, or a saved file someone imported (under the
    URL they gave, never passed off as fetched from the source)."""
    from db.queries import export_rows
    from pipeline.cli import main

    with TimedServer() as server:
        server.route("/a.json", JANUARY)
        config = config_for(tmp_path, server, {"a": "/a.json"})
        run_all(db, config, list(config.sources.values()))
    saved = tmp_path / "february.json"
    saved.write_bytes(FEBRUARY)
    mirror = "https://web.archive.org/web/2026/https://x.example/prices.json"
    assert main(["--db", db.url, "--config", str(config.directory), "import", "a", str(saved),
                 "--observed-at", "2020-01-01", "--url", mirror]) == 0
    with db.session() as session:
        rows = export_rows(session)
    assert {(r["provenance"], r["snapshot_url"]) for r in rows} == {("fetched", f"{server.url}/a.json"),
                                                                   ("imported", mirror)}
