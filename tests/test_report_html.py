"""`pricewatch report`: one self-contained page, every scraped string escaped, rendered in a
real headless Chromium (Debian's `chromium`, which `.ci/run` installs): no console message,
the tables hold the expected rows, and a screenshot is taken."""

import re
import shutil
import subprocess

import pytest
from PIL import Image
from selectolax.lexbor import LexborHTMLParser

from db.session import Database
from pipeline.cli import main
from tests.report_history import at, build, observe, write_config

HOSTILE_MODEL = '<script>alert("pw")</script>$x$'
HOSTILE_CONDITION = "</td><img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of the constructed history, plus a reseller listing a model whose name and
    conditions are markup (as a hostile or broken page could make them)."""
    directory = tmp_path_factory.mktemp("report")
    config = write_config(directory / "config")
    url = f"sqlite:///{directory / 'archive.sqlite'}"
    database = Database(url)
    build(database, config)
    observe(database, config, "resell", 41, [("acme-large", "output", {}, "7"),
                                             (HOSTILE_MODEL, "output", {"region": HOSTILE_CONDITION}, "3")])
    database.dispose()
    page = directory / "report.html"
    assert main(["--db", url, "--config", str(config.directory), "report", "--at", at(41).isoformat(),
                 "-o", str(page)]) == 0
    return page


def test_every_scraped_string_is_escaped(report):
    html = report.read_text()
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#34;pw&#34;)&lt;/script&gt;$x$" in html  # the table cell
    assert "&lt;/td&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    # The chart legend names the canonical id (the part after the last "/", lower-cased): its
    # markup is escaped by matplotlib, and its "$" did not start TeX math.
    assert "script&gt;$x$ · resell</text>" in html


def test_the_page_needs_no_network(report):
    html = report.read_text()
    page = LexborHTMLParser(html)
    assert "default-src 'none'" in page.css_first('meta[http-equiv="Content-Security-Policy"]').attributes["content"]
    assert page.css("[src], link, script, iframe, object, embed, img") == []
    assert "@import" not in html and set(re.findall(r"url\((.)", html)) == {"#"}  # SVG clip paths only
    # The only links out are the sources' pages, to follow by hand.
    assert set(re.findall(r'href="([^"#][^"]*)"', html)) == {f"https://{s}.test/pricing"
                                                             for s in ("acme", "acme-cn", "bolt", "resell", "hub")}


def test_sections_and_links_to_each_explanation(report):
    page = LexborHTMLParser(report.read_text())
    frontier = [[td.text(deep=False, strip=True) for td in tr.css("td")] for tr in page.css("#peers-frontier tbody tr")]
    assert [(row[0], row[4], row[5]) for row in frontier] == [
        ("bolt-pro", "1.00", "0.50"), ("acme-large", "2.00", "1.00"), ("quux-1", "5.00", "2.50")]
    moves = [[td.text(strip=True) for td in tr.css("td")] for tr in page.css("#moves-30 tbody tr")]
    assert moves[0][:7] == ["acme", "acme-large", "acme", "output", "10 USD", "8 USD", "-20.00%"]
    assert {f.attributes["id"] for f in page.css("figure")} == {"chart-acme", "chart-bolt", "chart-resell"}
    assert page.css_first("#chart-acme svg") is not None
    links = {a.attributes["href"][1:] for a in page.css("#events-table a")}
    anchors = {node.attributes["id"] for node in page.css("article.explanation")}
    assert links == anchors and len(links) >= 2
    cut = next(node for node in page.css("article.explanation") if "cut of acme-large" in node.text())
    assert "Verdict: inconclusive" in cut.text(separator=" ", strip=True)
    assert "durability" in cut.text() and "peer_gap" in cut.text()  # the evidence tests, with their summaries


def chromium(*args, profile):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium package)")
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=90)


def test_chromium_renders_the_page_without_console_messages(report, tmp_path):
    loaded = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri(), profile=tmp_path / "p1")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert ":CONSOLE" not in loaded.stderr, [line for line in loaded.stderr.splitlines() if "CONSOLE" in line]
    dom = LexborHTMLParser(loaded.stdout)
    assert len(dom.css("#peers-frontier tbody tr")) == 3
    current = [tr.css_first("td").text(strip=True) for tr in dom.css("#current-prices tbody tr") if tr.css_first("td")]
    assert "acme-large" in current and "bolt-pro" in current and HOSTILE_MODEL in current
    assert len(dom.css("#sources-table tbody tr")) == 5
    shot = tmp_path / "report.png"
    taken = chromium(f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri(), profile=tmp_path / "p2")
    assert taken.returncode == 0, taken.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 2000)
        darkest, lightest = image.convert("L").getextrema()
        assert darkest < 60 and lightest > 200  # text on a light page, not a blank one
