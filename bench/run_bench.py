"""pricewatch's benchmark: one command, one table of figures.

    .venv/bin/python bench/run_bench.py

needs the test extras (`pip install -e '.[test]'`) and, for the comparison row, urlwatch in
a virtualenv of its own (the bench makes one when it is missing; `--urlwatch PATH` points at
an existing `urlwatch` executable instead):

    python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install urlwatch

What it measures, all against local servers (tests/httpserver.py) on loopback addresses:

1. `pricewatch run` (the CLI, in a child process) over N=200 pages on 20 hosts
   (127.0.0.101-120), each answering after 50 ms: the wall time, its ratio to the floor the
   politeness rules allow (pages per host x (latency + per-host delay): one request at a
   time per host), and CPU time per page; beside it, the pipeline alone (the same run timed
   inside its process, start-up excluded).  Three runs in a row: on an empty archive (every
   page new), with nothing changed (304s), and with a cut on every tenth page; each the
   median of `--repeat` such series.  On the empty archive, also the pipeline alone with its
   store stage taken out: how much of the target a first run has left for storing; and bare
   fetching, the same requests made by httpx alone (one thread per host, robots.txt first,
   nothing else): what a Python client can get near the floor on this machine at all.
2. urlwatch over the same 200 pages in the same invocation, and the ratio of wall times.
3. A hundred unchanged re-runs (conditional GET answered 304, in process): the bytes the
   SQLite file grows per source per run.
4. A synthetic ten-year archive (300 models on 20 sources, one observation a day, a price
   change somewhere every day): the median latency of `history`, `prices --at` and
   `compare` (the CLI, start-up included), and of the diff stage for one run (store one
   new observation and re-derive the source's intervals and events).

No figure here is asserted by the test suite; tests check behaviour, this file measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import tomli_w  # the test extra: the bench runs from a checkout

from tests.httpserver import LocalServer

DEFAULT_URLWATCH_VENV = Path("/tmp/bench-venv")


@dataclass
class Row:
    figure: str
    value: str
    note: str = ""


# -- the pages ---------------------------------------------------------------------------------

def price_list(page: int, version: int, models: int = 20) -> bytes:
    """A LiteLLM-style price list of 20 models (60 prices), distinct per page; each `version`
    cuts one price (model 0's input) by 1%."""
    entries = {"sample_spec": {"input_cost_per_token": 0.0, "mode": "one of: chat, embedding, completion"}}
    for n in range(models):
        entries[f"vendor{page}/model-{n}"] = {
            "max_tokens": 128000, "litellm_provider": f"vendor{page}", "mode": "chat",
            "input_cost_per_token": f"{(n + 1) * (100 - (version if n == 0 else 0))}e-9",
            "output_cost_per_token": f"{(n + 1) * 400}e-9",
            "cache_read_input_token_cost": f"{(n + 1) * 10}e-9",
        }
    return json.dumps(entries, indent=1).encode()


class Farm:
    """`hosts` local servers on 127.0.0.101.., `pages` pages spread over them, each answering after `latency`."""

    def __init__(self, stack: ExitStack, pages: int, hosts: int, latency: float) -> None:
        self.servers = [stack.enter_context(LocalServer(host=f"127.0.0.{101 + h}", latency=latency))
                        for h in range(hosts)]
        self.pages = pages
        for server in self.servers:
            server.route("/robots.txt", "User-agent: *\nAllow: /\n")

    def url(self, page: int) -> str:
        return f"{self.servers[page % len(self.servers)].url}/p{page}.json"

    def publish(self, version_of: Callable[[int], int]) -> None:
        """Serve version `version_of(page)` of every page, with an ETag (a 304 to a matching If-None-Match)."""
        for page in range(self.pages):
            version = version_of(page)
            self.servers[page % len(self.servers)].route(
                f"/p{page}.json", price_list(page, version), conditional=True,
                headers={"Content-Type": "application/json", "ETag": f'"p{page}v{version}"'})


def write_pricewatch_config(directory: Path, farm: Farm, pages: range, delay: float) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fetch = {"user_agent": "pricewatch-bench/0.1", "timeout_seconds": 10, "retries": 1, "backoff_seconds": 0.1,
             "per_host_delay_seconds": delay, "obey_robots": True, "allowed_networks": ["127.0.0.0/8"]}
    sources = [{"id": f"p{page}", "vendor": f"vendor{page}", "parser": "litellm", "urls": [farm.url(page)],
                "currency": "USD", "market": "intl", "aggregator": True} for page in pages]
    (directory / "sources.toml").write_text(tomli_w.dumps({"fetch": fetch, "source": sources}))
    return directory


# -- timing a child process ----------------------------------------------------------------------

@dataclass
class Timed:
    wall: float
    cpu: float
    returncode: int
    output: str


def timed(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Timed:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(wall, cpu, result.returncode, result.stdout + result.stderr)


def medians(runs: list[Timed]) -> tuple[float, float]:
    """The median wall time and the median CPU time of repeated runs."""
    return statistics.median(t.wall for t in runs), statistics.median(t.cpu for t in runs)


def pricewatch(*args: str, cwd: Path, env: dict[str, str]) -> Timed:
    return timed([sys.executable, "-m", "pipeline", *args], cwd=cwd, env={"PYTHONPATH": str(REPO), **env})


# The same run timed inside its process, from the first fetch to the last store: what the
# pipeline itself takes, without the interpreter and its libraries starting (about 0.35 s).
# With `parse-only`, the store stage is taken out: each source's pages are fetched, parsed and
# normalised, and nothing is stored, which is what a first run would take if storing were free.
PIPELINE_ALONE = """
import json, sys, time
import pipeline.run
from db.session import Database
from pipeline.config import load_config
from pipeline.normalise import normalise_all
from scrapers import Page

def parse_only(db, config, source, pages, observed_at, **_):
    quotes, _version = pipeline.run.parse_pages(source, [Page(p.content, p.final_url, p.content_type) for p in pages])
    return pipeline.run.SourceResult(source.id, "ok", quotes=len(normalise_all(quotes)))

if sys.argv[3:] == ["parse-only"]:
    pipeline.run.ingest = parse_only
config, db = load_config(sys.argv[1]), Database(sys.argv[2])
wall, cpu = time.perf_counter(), time.process_time()
results = pipeline.run.run_all(db, config, [s for s in config.sources.values() if s.enabled])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "failed": [r.line() for r in results if r.status != "ok"]}))
"""


def timed_script(what: str, script: str, *args: str, cwd: Path | None = None) -> Timed:
    """The wall and CPU time a child Python running `script` measures of itself and prints (JSON),
    with the checkout importable; `what` names it if it fails."""
    result = subprocess.run([sys.executable, "-c", script, *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout)
    if figures.get("failed"):
        raise SystemExit(f"{what} failed:\n" + "\n".join(figures["failed"]))
    return Timed(figures["wall"], figures["cpu"], 0, "")


def pipeline_alone(config: Path, database: Path, cwd: Path, *mode: str) -> Timed:
    return timed_script("the in-process run", PIPELINE_ALONE, str(config), f"sqlite:///{database}", *mode, cwd=cwd)


# The first run's requests (robots.txt, then each page, one host per thread) made by httpx alone.
BARE_FETCHING = """
import json, sys, threading, time, httpx
by_host = {}
for url in json.loads(sys.argv[1]):
    by_host.setdefault(url.split("/")[2], []).append(url)
client = httpx.Client(limits=httpx.Limits(max_connections=len(by_host), max_keepalive_connections=len(by_host)))

def fetch(host, urls):
    for url in [f"http://{host}/robots.txt", *urls]:
        client.get(url).raise_for_status()

threads = [threading.Thread(target=fetch, args=item) for item in by_host.items()]
wall, cpu = time.perf_counter(), time.process_time()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


def bare_fetching(urls: list[str]) -> Timed:
    return timed_script("bare fetching", BARE_FETCHING, json.dumps(urls))


def urlwatch_executable(explicit: str | None) -> Path | None:
    """The urlwatch to compare with: `explicit`, or the one in /tmp/bench-venv (installed there
    from PyPI on first use, apart from pricewatch's own environment)."""
    if explicit:
        return Path(explicit)
    candidate = DEFAULT_URLWATCH_VENV / "bin" / "urlwatch"
    if not candidate.exists():
        subprocess.run(["python3", "-m", "venv", str(DEFAULT_URLWATCH_VENV)], check=False)
        subprocess.run([str(DEFAULT_URLWATCH_VENV / "bin" / "pip"), "install", "-q", "urlwatch"], check=False)
    return candidate if candidate.exists() else None


def urlwatch(executable: Path, workdir: Path) -> Timed:
    return timed([str(executable), "--urls", "urls.yaml", "--config", "urlwatch.yaml", "--cache", "cache.db",
                  "--hooks", "hooks.py"], cwd=workdir)


# -- 1 and 2: a run over 200 pages, beside urlwatch ----------------------------------------------

SCENARIOS = (  # label, version of each page
    ("empty archive, every page new", lambda page: 0),
    ("nothing changed (conditional GET, 304)", lambda page: 0),
    ("one price cut on every 10th page", lambda page: 1 if page % 10 == 0 else 0),
)


def bench_runs(args, work: Path) -> list[Row]:
    """The three scenarios in order, `--repeat` times from an empty archive (and an empty
    urlwatch cache); each figure is the median of the repeats, since one run on a shared
    machine varies by a fifth."""
    # Bytecode as after any first run (PYTHONDONTWRITEBYTECODE would otherwise make every
    # timed start-up compile the project's modules again).
    subprocess.run([sys.executable, "-m", "compileall", "-q", "pipeline", "db", "scrapers"], cwd=REPO, check=True)
    pages_per_host = -(-args.pages // args.hosts)
    floor = pages_per_host * (args.latency + args.delay)
    rows = [Row("politeness floor", f"{floor:.2f} s",
                f"{pages_per_host} pages per host x ({args.latency * 1000:.0f} ms latency + "
                f"{args.delay * 1000:.0f} ms per-host delay); the first run also asks each host for robots.txt")]
    ours: dict[str, list[Timed]] = {label: [] for label, _ in SCENARIOS}
    alone: dict[str, list[Timed]] = {label: [] for label, _ in SCENARIOS}
    theirs: dict[str, list[Timed]] = {label: [] for label, _ in SCENARIOS}
    storing_nothing: list[Timed] = []  # the first scenario with the store stage taken out
    bare: list[Timed] = []  # its requests, by httpx alone
    executable = urlwatch_executable(args.urlwatch)
    with ExitStack() as stack:
        farm = Farm(stack, args.pages, args.hosts, args.latency)
        config = write_pricewatch_config(work / "config", farm, range(args.pages), args.delay)
        for repeat in range(args.repeat):
            env = {"PRICEWATCH_CONFIG": str(config), "PRICEWATCH_DB": str(work / f"bench{repeat}.sqlite")}
            uw_dir = work / f"urlwatch{repeat}"
            uw_dir.mkdir()
            (uw_dir / "urls.yaml").write_text("---\n".join(f"name: p{p}\nurl: {farm.url(p)}\n"
                                                           for p in range(args.pages)))
            for label, version_of in SCENARIOS:
                farm.publish(version_of)
                run = pricewatch("run", cwd=work, env=env)
                if run.returncode != 0:
                    raise SystemExit(f"pricewatch run failed:\n{run.output[-3000:]}")
                ours[label].append(run)
                alone[label].append(pipeline_alone(config, work / f"alone{repeat}.sqlite", work))
                if label == SCENARIOS[0][0]:
                    storing_nothing.append(pipeline_alone(config, work / f"unstored{repeat}.sqlite", work, "parse-only"))
                    bare.append(bare_fetching([farm.url(page) for page in range(args.pages)]))
                if executable:
                    theirs[label].append(urlwatch(executable, uw_dir))
    verdicts: list[tuple[str, bool]] = []  # scenario, whether it meets the target
    for label, _ in SCENARIOS:
        wall, cpu = medians(ours[label])
        rows.append(Row(f"(1) pricewatch run, {args.pages} pages on {args.hosts} hosts: {label}", f"{wall:.2f} s",
                        f"{wall / floor:.2f}x the floor; CPU {cpu / args.pages * 1000:.1f} ms per page "
                        f"(start-up included); median of {args.repeat}"))
        wall_alone, cpu_alone = medians(alone[label])
        rows.append(Row("    the pipeline alone (the same run timed in its process, start-up excluded)",
                        f"{wall_alone:.2f} s", f"{wall_alone / floor:.2f}x the floor; CPU "
                        f"{cpu_alone / args.pages * 1000:.1f} ms per page"))
        if label == SCENARIOS[0][0]:
            unstored_wall, unstored_cpu = medians(storing_nothing)
            rows.append(Row("    the same, storing nothing (fetch, parse and normalise only)", f"{unstored_wall:.2f} s",
                            f"{unstored_wall / floor:.2f}x the floor; CPU {unstored_cpu / args.pages * 1000:.1f} ms per "
                            f"page: what is left of {TARGET_RATIO}x the floor for storing"))
            bare_wall, bare_cpu = medians(bare)
            rows.append(Row("    bare fetching: the same requests by httpx alone, one thread per host",
                            f"{bare_wall:.2f} s", f"{bare_wall / floor:.2f}x the floor; CPU "
                            f"{bare_cpu / args.pages * 1000:.1f} ms per page: the nearest a Python client gets "
                            "to the floor here"))
        if not theirs[label]:
            rows.append(Row("(2) urlwatch, same pages", "skipped", "no urlwatch (see --urlwatch)"))
            continue
        their_wall, their_cpu = medians(theirs[label])
        rows.append(Row("(2) urlwatch, same pages, same state", f"{their_wall:.2f} s",
                        f"pricewatch / urlwatch = {wall / their_wall:.2f} (the pipeline alone "
                        f"{wall_alone / their_wall:.2f}); urlwatch CPU "
                        f"{their_cpu / args.pages * 1000:.1f} ms per page"))
        verdicts.append((label, wall_alone <= TARGET_RATIO * floor and wall_alone < their_wall))
    if verdicts:
        rows.append(Row(f"    target: the pipeline within {TARGET_RATIO}x the floor and below urlwatch",
                        f"{sum(met for _, met in verdicts)} of {len(verdicts)}",
                        "; ".join(f"{label}: {'met' if met else 'NOT met'}" for label, met in verdicts)))
    return rows


TARGET_RATIO = 1.5  # issue 8's done-when, for the pipeline's wall time over the 200 pages


# -- 3: a hundred unchanged re-runs -----------------------------------------------------------------

def sqlite_bytes(path: Path) -> int:
    """Bytes in use in a SQLite file (WAL folded in, free pages not counted)."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    connection.close()
    return page_size * (pages - free)


def bench_reruns(args, work: Path) -> list[Row]:
    from db.session import Database
    from pipeline.config import load_config
    from pipeline.run import run_all

    sources = args.hosts  # one page per host: every run is one request per host
    with ExitStack() as stack:
        farm = Farm(stack, sources, args.hosts, 0.0)
        farm.publish(lambda page: 0)
        config = load_config(write_pricewatch_config(work / "rerun-config", farm, range(sources), 0.0))
        path = work / "rerun.sqlite"
        db = Database(f"sqlite:///{path}")
        run_all(db, config, list(config.sources.values()))
        before, seconds = sqlite_bytes(path), []
        for _ in range(args.reruns):
            started = time.perf_counter()
            results = run_all(db, config, list(config.sources.values()))
            seconds.append(time.perf_counter() - started)
            assert all(r.status == "ok" and not r.events for r in results), [r.line() for r in results]
        grown = sqlite_bytes(path) - before
        db.dispose()
    per = grown / sources / args.reruns
    tenth = max(1, args.reruns // 10)
    return [Row(f"(3) {args.reruns} unchanged re-runs of {sources} sources (304s)", f"{per:.0f} B",
                f"SQLite growth per source per run ({grown / 1e6:.2f} MB in all)"),
            Row("    time of one re-run, first tenth vs last tenth",
                f"{statistics.median(seconds[:tenth]) * 1000:.0f} ms",
                f"-> {statistics.median(seconds[-tenth:]) * 1000:.0f} ms (as the archive grows by a run each time)")]


# -- 4: a synthetic ten-year archive -------------------------------------------------------------------

ARCHIVE_START = datetime(2016, 1, 1, 8, tzinfo=timezone.utc)


def write_archive_config(directory: Path, sources: int, models: int) -> Path:
    """Sources arch0.. (half in CNY on the Chinese market) and their models, in ten peer groups."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = [{"id": f"arch{k}", "vendor": f"vendor{k}", "parser": "litellm", "urls": [f"https://vendor{k}.example/"],
                "currency": "CNY" if k % 2 else "USD", "market": "cn" if k % 2 else "intl"} for k in range(sources)]
    (directory / "sources.toml").write_text(tomli_w.dumps({"source": entries}))
    (directory / "models").mkdir(exist_ok=True)
    (directory / "models" / "synthetic.toml").write_text(tomli_w.dumps({"model": [
        {"id": f"m{k}-{n}", "vendor": f"vendor{k}", "group": f"g{n % 10}"}
        for k in range(sources) for n in range(models)]}))
    shutil.copy(REPO / "config" / "analysis.toml", directory / "analysis.toml")
    return directory


def build_archive(db, config, days: int, sources: int, models: int, seed: int = 2016) -> None:
    """One observation per source per day for `days` days; every day two prices somewhere move
    by up to 30%.  Written straight into the tables (as `pricewatch import` of every day would,
    without parsing), then each source's intervals and events are derived once."""
    from sqlalchemy import insert, select

    from db.models import Observation, ObservationPage
    from pipeline.normalise import Priced
    from pipeline.store import content_digest, materialise, quote_set

    rng = random.Random(seed)
    prices = {(k, n, dim): Decimal(rng.randint(5, 400)) / 10 for k in range(sources) for n in range(models)
              for dim in ("input", "output")}
    current: dict[int, tuple[int, int, str]] = {}  # source -> snapshot id, quote set id, digest of its list
    with db.transaction() as session:
        rows = []
        for day in range(days):
            moved = {rng.randrange(sources) for _ in range(2)} if day else set(range(sources))
            for k in moved:
                if day:
                    key = (k, rng.randrange(models), rng.choice(("input", "output")))
                    prices[key] = max(Decimal("0.01"), (prices[key] * Decimal(rng.randint(70, 130)) / 100)
                                      .quantize(Decimal("0.01")))
                currency = config.source(f"arch{k}").currency
                priced = [Priced(f"m{k}-{n}", dim, {}, currency, "token", prices[(k, n, dim)], None, False)
                          for n in range(models) for dim in ("input", "output")]
                snapshot = archive_page(session, priced, ARCHIVE_START + timedelta(days=day))
                current[k] = (snapshot.id, quote_set(session, priced), content_digest([snapshot.sha256]))
            for k in range(sources):
                rows.append({"source_id": f"arch{k}", "observed_at": ARCHIVE_START + timedelta(days=day, minutes=k),
                             "content_digest": current[k][2], "parser": "litellm", "parser_version": 1,
                             "quote_set_id": current[k][1], "status": "ok", "created_at": datetime.now(timezone.utc),
                             "snapshot_id": current[k][0]})
        session.execute(insert(Observation), [{c: r[c] for c in r if c != "snapshot_id"} for r in rows])
        ids = {(source_id, at): id_ for source_id, at, id_ in session.execute(
            select(Observation.source_id, Observation.observed_at, Observation.id))}
        session.execute(insert(ObservationPage), [
            {"observation_id": ids[(r["source_id"], r["observed_at"])], "position": 0, "snapshot_id": r["snapshot_id"]}
            for r in rows])
    for k in range(sources):
        with db.transaction() as session:
            materialise(session, config, config.source(f"arch{k}"))


def archive_page(session, priced, at: datetime):
    """A snapshot standing for the page a list was read from (its content is the list)."""
    from pipeline.archive import archive

    content = json.dumps([[p.model, p.dimension, str(p.price)] for p in priced]).encode()
    return archive(session, content, url="https://vendor.example/", content_type="application/json", seen_at=at)


def median_seconds(work, times: int = 5) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_archive(args, work: Path) -> list[Row]:
    from sqlalchemy import select

    from db.models import Observation, QuoteRow
    from db.session import Database
    from pipeline.config import load_config
    from pipeline.normalise import Priced
    from pipeline import store as store_module
    from pipeline.store import store_observation

    days, sources, models = args.years * 365, 20, args.models // 20
    config_dir = write_archive_config(work / "archive-config", sources, models)
    config = load_config(config_dir)
    path = work / "archive.sqlite"
    db = Database(f"sqlite:///{path}")
    started = time.perf_counter()
    build_archive(db, config, days, sources, models)
    built = time.perf_counter() - started
    env = {"PRICEWATCH_CONFIG": str(config_dir), "PRICEWATCH_DB": str(path)}
    middle = (ARCHIVE_START + timedelta(days=days // 2)).date().isoformat()

    def cli(*command: str) -> float:
        def once():
            result = pricewatch(*command, cwd=work, env=env)
            if result.returncode != 0:
                raise SystemExit(f"pricewatch {' '.join(command)} failed:\n{result.output[-2000:]}")
        return median_seconds(once)

    rows = [Row(f"(4) synthetic archive: {args.years} years, {sources * models} models on {sources} sources",
                f"{os.path.getsize(path) / 1e6:.0f} MB", f"{days * sources} observations, 2 price moves a day; "
                f"built in {built:.0f} s"),
            Row("    history MODEL (CLI, median of 5)", f"{cli('history', 'm3-7'):.2f} s", "start-up included"),
            Row("    prices --at DATE (CLI, median of 5)", f"{cli('prices', '--at', middle):.2f} s",
                f"{sources * models * 2} prices in force"),
            Row("    compare --group g1 --at DATE (CLI, median of 5)",
                f"{cli('compare', '--group', 'g1', '--at', middle):.2f} s", f"{sources} models in the group")]
    new_day = ARCHIVE_START + timedelta(days=days)
    cold, warm = [], []
    for k in range(5):  # the next two days' runs of five sources, each with one price cut by 10%
        source = config.source(f"arch{k}")
        for day, samples in ((0, cold), (1, warm)):
            if samples is cold:  # as in a new `pricewatch run` process: no quote set read yet
                store_module._SET_ROWS.clear()
                store_module._POINTS.clear()
            with db.transaction() as session:
                last = session.scalars(select(Observation).where(Observation.source_id == source.id)
                                       .order_by(Observation.observed_at.desc()).limit(1)).first()
                rows_ = session.scalars(select(QuoteRow).where(QuoteRow.quote_set_id == last.quote_set_id)
                                        .order_by(QuoteRow.model, QuoteRow.dimension)).all()
                priced = [Priced(r.model, r.dimension, {}, r.currency, r.unit,
                                 r.price * (Decimal("0.9") if i == 0 else 1), None, False) for i, r in enumerate(rows_)]
                snapshot = archive_page(session, priced, new_day + timedelta(days=day))
                started = time.perf_counter()
                store_observation(session, config, source, observed_at=new_day + timedelta(days=day),
                                  snapshots=[snapshot], parser="litellm", parser_version=1, priced=priced)
                samples.append(time.perf_counter() - started)
    db.dispose()
    rows.append(Row("    diff stage for one run (store + re-derive one source)",
                    f"{statistics.median(cold) * 1000:.0f} ms", f"median of 5 sources, {days} observations each, in a "
                    f"new process; {statistics.median(warm) * 1000:.0f} ms with the quote sets already read (serve)"))
    return rows


SECTIONS = {"runs": bench_runs, "reruns": bench_reruns, "archive": bench_archive}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each server waits before answering")
    parser.add_argument("--delay", type=float, default=0.0, help="pricewatch's per-host delay between requests")
    parser.add_argument("--urlwatch", help="an urlwatch executable (default: /tmp/bench-venv, made if missing)")
    parser.add_argument("--repeat", type=int, default=3, help="times each run of section 1 is measured (median)")
    parser.add_argument("--reruns", type=int, default=100)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append",
                        help="run only this section (repeatable; default: all)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pricewatch-bench-"))
    rows = [Row("machine", f"{os.cpu_count()} CPUs", f"{cpu_model()}; Python {platform.python_version()}; "
                f"{platform.system()} {platform.release()}")]
    try:
        for name, section in SECTIONS.items():
            if not args.only or name in args.only:
                rows += section(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r.figure) for r in rows)
    for row in rows:
        print(f"{row.figure:<{width}}  {row.value:>9}  {row.note}")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
