"""Shared fixtures: the real vendor pages (skipped when absent) and parser helpers."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scrapers import Page, Quote, get_parser

REPO = Path(__file__).resolve().parents[1]
VENDOR_PAGES = Path(os.environ.get("PRICEWATCH_VENDOR_PAGES", REPO.parent / "shared" / "vendor-pages"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def vendor_page(relative: str) -> Path:
    """A real page under ../shared/vendor-pages, or a clean skip when the folder is absent."""
    path = VENDOR_PAGES / relative
    if not path.exists():
        pytest.skip(f"real vendor page not available: {relative}")
    return path


def assert_pages_covered(folder: str, covered: set[str]) -> None:
    """Every real page under `folder` (sub-folders too) is one of `covered` (paths relative to
    vendor-pages): the pages a conformance test reads, and those it names as not its parser's."""
    files = (VENDOR_PAGES / folder).glob("**/*")
    pages = {p.relative_to(VENDOR_PAGES).as_posix() for p in files if p.is_file() and p.name != "PROVENANCE.md"}
    assert pages <= covered, f"real pages without a conformance case: {sorted(pages - covered)}"


# -- parsers: run one on a page, look up its quotes -------------------------------------------


def parse_page(parser_name: str, page: Path | bytes | str, url: str = "") -> list[Quote]:
    """The quotes the named parser reads from a saved page (a Path), raw bytes, or text."""
    if isinstance(page, Path):
        content = page.read_bytes()
    elif isinstance(page, str):
        content = page.encode("utf-8")
    else:
        content = page
    return get_parser(parser_name).parse(Page(content, url=url))


def one_quote(quotes: list[Quote], model: str, dimension: str, *, unit: str | None = "token",
              currency: str | None = None, **conditions) -> Quote:
    """The one quote of `model` and `dimension` whose conditions are exactly `conditions`, of
    `currency` when given (pages quote USD and EUR side by side); it must be priced per `unit`
    (None: any unit)."""
    hits = [q for q in quotes if q.model == model and q.dimension == dimension and q.conditions == conditions
            and (currency is None or q.currency == currency)]
    assert len(hits) == 1, (model, dimension, currency, conditions, hits)
    assert unit is None or hits[0].unit == unit, (model, dimension, conditions, hits[0])
    return hits[0]


def assert_unique_keys(quotes: list[Quote]) -> None:
    """No two quotes share model, dimension and conditions: one price each on a one-currency page."""
    keys = [(q.model, q.dimension, json.dumps(q.conditions, sort_keys=True)) for q in quotes]
    assert len(keys) == len(set(keys)), "two prices for the same model, dimension and conditions"


def router_markdown(html: str) -> str:
    """The MDContent markdown inside a Volcengine page's `window._ROUTER_DATA`, read apart from
    the parser's own reading of it, so a test can feed the parser that markdown alone."""
    payload = json.loads(re.search(r"window\._ROUTER_DATA\s*=\s*(\{.*?\})\s*</script>", html, re.S).group(1))

    def walk(obj):
        if isinstance(obj, dict):
            if isinstance(obj.get("MDContent"), str):
                return obj["MDContent"]
            obj = list(obj.values())
        if isinstance(obj, list):
            for item in obj:
                found = walk(item)
                if found:
                    return found
        return None

    return walk(payload)


# -- databases: every store/diff/query test runs on SQLite and, when configured, PostgreSQL --------

PG_URL = os.environ.get("PRICEWATCH_TEST_PG")
# pw_<pid of the test session>_<random>: the pid tells a later session which leftovers are stale.
TEST_DATABASE = re.compile(r"pw_(\d+)_[0-9a-f]+")


def _session_alive(name: str) -> bool:
    match = TEST_DATABASE.fullmatch(name)
    if not match:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, and another user's
    return True


def _drop_database(admin, name: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_server():
    """An admin engine on the test server. It first drops the databases of test sessions that
    were killed before their teardown: left to pile up, they once made the server's crash
    recovery outlast CI's start-up wait."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set PRICEWATCH_TEST_PG; .ci/run does)")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        names = connection.execute(text(r"SELECT datname FROM pg_database WHERE datname LIKE 'pw\_%'")).scalars()
        stale = [name for name in names if not _session_alive(name)]
    for name in stale:
        _drop_database(admin, name)
    yield admin
    admin.dispose()


@pytest.fixture
def postgres_database(postgres_server):
    """Makes new empty databases on the test server, so tests never see each other's rows, and
    drops them when the test ends."""
    made = []

    def make() -> str:
        name = f"pw_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with postgres_server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return PG_URL.rsplit("/", 1)[0] + "/" + name

    yield make
    for name in made:
        _drop_database(postgres_server, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite'}"
    return request.getfixturevalue("postgres_database")()


@pytest.fixture
def db(db_url):
    from db.session import Database

    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def another_db(request, db_url, tmp_path):
    """A second, empty database of the same kind as `db`."""
    from db.session import Database

    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'another.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_database")()
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def config():
    from pipeline.config import load_config

    return load_config(REPO / "config")


def write_config(directory: Path, sources: list[dict], **fetch) -> Path:
    """A config dir with these sources, pointing at a local server: fast, loopback allowed."""
    import shutil

    import tomli_w

    directory.mkdir(parents=True, exist_ok=True)
    settings = {"user_agent": "pricewatch-test/0.1", "timeout_seconds": 2, "retries": 2, "backoff_seconds": 0.01,
                "retry_after_max_seconds": 1, "per_host_delay_seconds": 0, "obey_robots": True,
                "allowed_networks": ["127.0.0.0/8"], **fetch}
    entries = []
    for source in sources:
        entry = {"vendor": source.get("id"), "currency": "USD", "market": "intl", "fetch": "direct", **source}
        entries.append(entry)
    (directory / "sources.toml").write_text(tomli_w.dumps({"fetch": settings, "source": entries}))
    if (REPO / "config" / "models").is_dir():
        shutil.copytree(REPO / "config" / "models", directory / "models", dirs_exist_ok=True)
    for name in ("analysis.toml",):
        if (REPO / "config" / name).exists():
            shutil.copy(REPO / "config" / name, directory / name)
    return directory
