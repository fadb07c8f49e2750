"""Shared fixtures: the real vendor pages (skipped when absent) and parser helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENDOR_PAGES = Path(os.environ.get("PRICEWATCH_VENDOR_PAGES", REPO.parent / "shared" / "vendor-pages"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def vendor_page(relative: str) -> Path:
    """A real page under ../shared/vendor-pages, or a clean skip when the folder is absent."""
    path = VENDOR_PAGES / relative
    if not path.exists():
        pytest.skip(f"real vendor page not available: {relative}")
    return path


def vendor_pages(folder: str, pattern: str = "*") -> list[Path]:
    """Every real page of a vendor folder matching `pattern` (empty list when absent)."""
    base = VENDOR_PAGES / folder
    return sorted(p for p in base.glob(pattern) if p.name != "PROVENANCE.md") if base.exists() else []


# -- databases: every store/diff/query test runs on SQLite and, when configured, PostgreSQL --------

import uuid

from sqlalchemy import create_engine, text

PG_URL = os.environ.get("PRICEWATCH_TEST_PG")


def _fresh_postgres_database() -> str:
    """A new empty database on the test server, so tests never see each other's rows."""
    name = f"pw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite'}"
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set PRICEWATCH_TEST_PG; .ci/run does)")
    return _fresh_postgres_database()


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

    url = f"sqlite:///{tmp_path / 'another.sqlite'}" if db_url.startswith("sqlite") else _fresh_postgres_database()
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
