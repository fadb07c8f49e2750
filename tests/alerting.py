"""Shared steps of the alert tests: a config with a DeepSeek source, imports, the CLI in process,
and commands that die between their store and their alert stage."""

from __future__ import annotations

import json
import mimetypes
from datetime import datetime
from pathlib import Path

import pytest

from db.session import Database
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.fetch import Fetched
from pipeline.run import SourceResult, ingest, run_all
from tests.conftest import FIXTURES, write_config
from tests.smtpserver import LocalSMTPServer

PAGES = FIXTURES / "alerts"
BEFORE, AFTER = PAGES / "deepseek_2026-08-02.html", PAGES / "deepseek_2026-08-14.html"
DEEPSEEK_URL = "https://api-docs.deepseek.com/quick_start/pricing"
LITELLM_URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
EVIL_MODEL = "evil-<script>alert(1)</script>"
RULE = [{"name": "all", "recipients": ["analyst@example.org"]}]


def _smtp_server(tmp_path: Path, monkeypatch) -> LocalSMTPServer:
    server = LocalSMTPServer(tmp_path)
    for name, value in server.credentials_env().items():
        monkeypatch.setenv(name, value)
    return server


# A test module imports one of these two; each is the fixture `smtp` there.
@pytest.fixture(name="smtp")
def idle_smtp(tmp_path, monkeypatch):
    """A local SMTP server, credentials in the environment, not listening until the test starts
    it (so that it can first see what happens while mail cannot go out)."""
    server = _smtp_server(tmp_path, monkeypatch)
    yield server
    server.stop()


@pytest.fixture(name="smtp")
def listening_smtp(tmp_path, monkeypatch):
    """A local SMTP server, credentials in the environment, listening."""
    with _smtp_server(tmp_path, monkeypatch) as server:
        yield server


def config_dir(tmp_path: Path) -> Path:
    """deepseek (first party) and litellm (an aggregator) sources; no alerts.toml yet."""
    return write_config(tmp_path / "config", [
        {"id": "deepseek", "vendor": "deepseek", "parser": "deepseek", "urls": [DEEPSEEK_URL]},
        {"id": "litellm", "vendor": "litellm", "parser": "litellm", "urls": [LITELLM_URL], "aggregator": True},
    ])


def pricewatch(db_url: str, config: Path, *args: str) -> int:
    return main(["--db", db_url, "--config", str(config), *args])


def import_page(db_url: str, config: Path, page: Path, observed_at: str, source: str = "deepseek") -> int:
    return pricewatch(db_url, config, "import", source, str(page), "--observed-at", observed_at)


# What a command killed (or stopped by one Ctrl-C, which lets the source in flight commit)
# between its store and its alert stage leaves behind: everything stored, nothing queued.

def import_that_dies_before_alerting(db_url: str, config: Path, page: Path, observed_at: datetime,
                                     source: str = "deepseek") -> SourceResult:
    loaded = load_config(config)
    url = loaded.source(source).urls[0]
    fetched = Fetched(url, url, 200, page.read_bytes(), mimetypes.guess_type(page.name)[0], observed_at)
    db = Database(db_url)
    try:
        return ingest(db, loaded, loaded.source(source), [fetched], observed_at)
    finally:
        db.dispose()


def run_that_dies_before_alerting(db_url: str, config: Path) -> list[SourceResult]:
    loaded = load_config(config)
    db = Database(db_url)
    try:
        return run_all(db, loaded, [source for source in loaded.sources.values() if source.enabled])
    finally:
        db.dispose()


def litellm_pages(directory: Path, model: str = EVIL_MODEL) -> tuple[Path, Path]:
    """Two LiteLLM price files in which `model` (by default named with a <script> tag) is cut by half."""
    base = json.loads((FIXTURES / "litellm_core" / "2026-01.json").read_text())
    pages = []
    for name, price in (("before.json", 2e-06), ("after.json", 1e-06)):
        data = {**base, model: {"input_cost_per_token": price, "output_cost_per_token": price * 2,
                                "litellm_provider": "deepseek", "mode": "chat"}}
        path = directory / name
        path.write_text(json.dumps(data))
        pages.append(path)
    return pages[0], pages[1]
