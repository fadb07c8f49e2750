"""The done-when check on real pages: an archive built by importing the shared vendor pages
(../shared/vendor-pages) at their capture dates gives a peer table with ratios, a correct
step chart and a readable report, each figure traceable to a snapshot.  Skipped cleanly
when the folder is absent; SQLite only (the query tests cover PostgreSQL)."""

import mimetypes
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from selectolax.lexbor import LexborHTMLParser

from db.models import Snapshot
from db.queries import prices_at
from db.session import Database
from pipeline.cli import main
from pipeline.fetch import Fetched
from pipeline.report import chart
from pipeline.report.compare import peer_table, wide_table
from pipeline.run import ingest
from tests.conftest import REPO, VENDOR_PAGES
from tests.test_report_html import chromium

PAGES = {
    "deepseek": ["deepseek/markdown_mirror/*_en_pricing.md", "deepseek/text_dumps/*_en_*",
                 "deepseek/raw_html_excerpts/*_en_*.html"],
    "deepseek-cn": ["deepseek/markdown_mirror/*_zh-cn_pricing.md", "deepseek/raw_html/*zh-cn*.html"],
    "openai": ["openai/*_jina_markdown.md"],
    "anthropic": ["anthropic/*_scraped_markdown.md", "anthropic/*_claude_com_pricing.html"],
    "google": ["google/*_ai_google_dev_*_jina_markdown.md"],
    "mistral": ["mistral/*_mistral_ai_pricing.html"],
    "xai": ["xai/*_jina_markdown.md"],
    "volcengine": ["volcengine_doubao/*_volcengine_docs_*.html"],
    "byteplus": ["volcengine_doubao/*_byteplus_*.html"],
    "zhipu": ["zhipu/*_bigmodel_cn_pricing.html"],
    "zai": ["zhipu/*_docs_z_ai_pricing*"],
    "moonshot-cn": ["moonshot/*_platform_kimi_com_*.html"],
    "tencent": ["tencent_hunyuan/*_tokenhub_pricing.html"],
}
AT = datetime(2026, 8, 10, 23, 59, tzinfo=timezone.utc)  # before DeepSeek's peak / off-peak prices


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    if not (VENDOR_PAGES / "deepseek").is_dir():
        pytest.skip("the shared vendor pages are not available")
    from pipeline.config import load_config

    config = load_config(REPO / "config")
    directory = tmp_path_factory.mktemp("real")
    url = f"sqlite:///{directory / 'archive.sqlite'}"
    database = Database(url)
    for source_id, patterns in PAGES.items():
        source = config.source(source_id)
        for path in sorted(p for pattern in patterns for p in VENDOR_PAGES.glob(pattern)):
            observed_at = datetime.fromisoformat(path.name[:10]).replace(hour=8, tzinfo=timezone.utc)
            page = Fetched(source.urls[0], source.urls[0], 200, path.read_bytes(), mimetypes.guess_type(path)[0],
                           observed_at)
            result = ingest(database, config, source, [page], observed_at)
            assert result.status == "ok", (path, result.line())
    yield database, url, config, directory
    database.dispose()


def test_compare_gives_the_peer_table_with_ratios_from_evidence(archive, capsys):
    database, url, config, _ = archive
    with database.session() as session:
        frontier = {r["model"]: r for r in peer_table(session, config, AT, group="frontier")}
    opus, deepseek = frontier["claude-opus-4-7"], frontier["deepseek-v4-pro"]
    assert (opus["usd"], opus["source"], opus["basis"]) == (25, "anthropic", "unconditional")
    assert (deepseek["usd"], deepseek["source"], deepseek["since"].date().isoformat()) == (
        Decimal("0.87"), "deepseek", "2026-08-02")
    assert float(opus["to_cheapest"] / deepseek["to_cheapest"]) == pytest.approx(25 / 0.87, rel=0.01)
    assert len({r["vendor"] for r in frontier.values()}) >= 6
    assert all(r["snapshot_id"] and r["source"] and r["since"] for r in frontier.values())
    with database.session() as session:
        later = {r["model"]: r for r in peer_table(session, config, datetime(2026, 9, 6, tzinfo=timezone.utc),
                                                   group="frontier")}
    # Peak / off-peak prices since 2026-08-17; the peak hours were reworded on 2026-09-05.
    assert (later["deepseek-v4-pro"]["usd"], later["deepseek-v4-pro"]["basis"]) == (
        Decimal("3.96"), "cheapest standard tier")
    assert later["deepseek-v4-pro"]["since"].date().isoformat() == "2026-08-17"
    assert main(["--db", url, "compare", "--at", "2026-08-10", "--group", "frontier"]) == 0
    printed = capsys.readouterr().out
    assert "claude-opus-4-7" in printed and "to_median" in printed.splitlines()[0]


def test_every_figure_traces_to_an_archived_snapshot(archive):
    database, _, _, _ = archive
    with database.session() as session:
        rows = wide_table(prices_at(session, AT))
        snapshots = {s.id: s.url for s in session.query(Snapshot)}
    assert len(rows) > 300
    flat = {(r["source"], r["model"]): r for r in rows if r["conditions"] == {}}
    deepseek, cn = flat[("deepseek", "deepseek-v4-flash")], flat[("deepseek-cn", "deepseek-v4-flash")]
    assert (deepseek["input"], deepseek["cached_input"], deepseek["output"]) == (
        Decimal("0.14"), Decimal("0.0028"), Decimal("0.28"))
    assert (cn["currency"], cn["output"]) == ("CNY", Decimal("2")) and cn["output_usd"] < Decimal("0.3")
    for row in rows:
        assert all(int(s) in snapshots for s in row["snapshot_ids"].split(";"))


def test_chart_of_a_real_price_steps_on_the_day_it_changed(archive, tmp_path):
    database, _, config, _ = archive
    with database.session() as session:
        series = chart.build_series(session, config, ["deepseek-v4-flash"], sources=["deepseek"])
    day = lambda text: datetime.fromisoformat(text).replace(hour=8, tzinfo=timezone.utc)  # noqa: E731
    assert series[0].steps == [(day("2026-08-02"), Decimal("0.28")), (day("2026-08-17"), Decimal("1.32")),
                               (day("2026-09-05"), Decimal("1.32"))]
    figure = chart.draw(series, title="deepseek-v4-flash", ylabel=chart.ylabel("USD", "output"))
    chart.save(figure, tmp_path / "deepseek.svg")
    assert "deepseek-v4-flash · deepseek" in (tmp_path / "deepseek.svg").read_text()


def test_report_opens_as_a_readable_page(archive, tmp_path):
    _, url, _, _ = archive
    page = tmp_path / "report.html"
    assert main(["--db", url, "report", "--at", "2026-09-06", "-o", str(page)]) == 0
    html = LexborHTMLParser(page.read_text())
    assert len(html.css("#current-prices tbody tr")) > 200 and len(html.css("figure svg")) >= 8
    assert len(html.css("#moves-30 tbody tr")) >= 4
    loaded = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert loaded.returncode == 0 and ":CONSOLE" not in loaded.stderr
    assert len(LexborHTMLParser(loaded.stdout).css("#peers-frontier tbody tr")) >= 20
