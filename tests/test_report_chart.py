"""Step charts on a constructed history (tests/report_history.py): the steps fall on the
observation dates, a failing source and a model no longer listed leave gaps, events are
marked, and the files are valid PNG and SVG whose drawn path has the steps where they belong."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.report import chart
from tests.report_history import at, build, write_config

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def archive(db, db_url, tmp_path):
    config = write_config(tmp_path / "config")
    build(db, config)
    return db, db_url, config


def series_of(db, config, models, **options):
    with db.session() as session:
        return {(s.model, s.source): s for s in chart.build_series(session, config, models, **options)}


def test_steps_fall_on_observations_and_break_where_the_source_failed(archive):
    db, _, config = archive
    lines = series_of(db, config, ["acme-large", "bolt-mini"])
    acme = lines[("acme-large", "acme")]
    assert acme.steps == [(at(0), 10), (at(20), 8), (at(25), None), (at(30), 8), (at(40), 8)]
    assert [(moment, value, kind) for moment, value, kind, _ in acme.events] == [(at(20), 8, "cut")]
    assert lines[("bolt-mini", "bolt")].steps == [(at(0), Decimal("0.5")), (at(40), None)]  # gone on day 40
    # The model's own vendor's lists only: not the reseller's, not the aggregator's.
    assert set(lines) == {("acme-large", "acme"), ("acme-large", "acme-cn"), ("bolt-mini", "bolt")}
    assert lines[("acme-large", "acme-cn")].label == "acme-large · acme-cn (CNY list)"


def test_currencies_and_sources(archive):
    db, _, config = archive
    native = series_of(db, config, ["acme-large"], currency="native")[("acme-large", "acme-cn")]
    assert (native.currency, native.steps) == ("CNY", [(at(0), 50), (at(30), 50)])
    eur = series_of(db, config, ["acme-large"], currency="EUR")[("acme-large", "acme-cn")]
    assert abs(eur.steps[0][1] - Decimal(50) / Decimal("8.0512")) < Decimal("1e-9")  # ECB rate of 2026-03-02
    chosen = series_of(db, config, ["acme-large"], sources=["resell", "hub"])
    assert set(chosen) == {("acme-large", "resell"), ("acme-large", "hub")}
    assert set(series_of(db, config, ["quux-1"])) == {("quux-1", "hub")}  # only an aggregator lists it
    window = series_of(db, config, ["acme-large"], since=at(21), until=at(35))[("acme-large", "acme")]
    assert window.steps == [(at(21), 8), (at(25), None), (at(30), 8), (at(35), 8)]
    assert window.events == []  # the cut was observed before the window
    assert series_of(db, config, ["bolt-mini"], since=at(41)) == {}


def path_vertices(svg_file, gid):
    """The (x, y) runs of the first path drawn in the SVG group `gid`, split at each move-to."""
    root = ET.parse(svg_file).getroot()
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == gid)
    d = next(p.get("d") for p in group.iter(f"{SVG}path"))
    runs = []
    for command, x, y in re.findall(r"([ML])\s*(-?[\d.]+)\s+(-?[\d.]+)", d):
        if command == "M":
            runs.append([])
        if not runs[-1] or runs[-1][-1] != (float(x), float(y)):  # steps-post repeats the last vertex
            runs[-1].append((float(x), float(y)))
    return runs


def test_svg_path_is_a_step_function_with_steps_at_the_right_dates(archive, tmp_path):
    db, _, config = archive
    with db.session() as session:
        lines = chart.build_series(session, config, ["acme-large"], sources=["acme"])
        outages = chart.outage_spans(session, lines)
    assert [(source, start, end) for source, start, end in outages] == [("acme", at(25), at(30))]
    figure = chart.draw(lines, title="acme-large", ylabel=chart.ylabel("USD", "output"), outages=outages)
    chart.save(figure, tmp_path / "acme.svg")
    before_gap, after_gap = path_vertices(tmp_path / "acme.svg", "chart-series-0")
    # Day 0 at 10, a vertical step down to 8 on day 20, flat to the failure on day 25; again from day 30.
    (x0, y10), (x20, y10b), (x20b, y8), (x25, y8b) = before_gap
    assert x20 == x20b and y10 == y10b and y8 == y8b and y8 > y10  # SVG y grows downwards
    assert (x20 - x0) / (x25 - x0) == pytest.approx(20 / 25, rel=1e-3)
    (x30, y8c), (x40, y8d) = after_gap
    assert y8c == y8d == y8 and (x30 - x0) / (x40 - x0) == pytest.approx(30 / 40, rel=1e-3)
    root = ET.parse(tmp_path / "acme.svg").getroot()
    ids = {g.get("id") for g in root.iter(f"{SVG}g")}
    assert {"chart-events-0-cut", "chart-outage-0"} <= ids
    assert "acme failing" in (tmp_path / "acme.svg").read_text()
    again = chart.draw(lines, title="acme-large", ylabel=chart.ylabel("USD", "output"), outages=outages)
    chart.save(again, tmp_path / "again.svg")
    assert (tmp_path / "again.svg").read_bytes() == (tmp_path / "acme.svg").read_bytes()  # deterministic


def test_chart_command_writes_png_and_log_svg(archive, tmp_path, capsys):
    _, db_url, config = archive
    base = ["--db", db_url, "--config", str(config.directory), "chart"]
    assert main([*base, "acme-large", "bolt-pro", "quux-1", "-o", str(tmp_path / "peers.png")]) == 0
    assert "4 series" in capsys.readouterr().out
    with Image.open(tmp_path / "peers.png") as image:
        assert image.format == "PNG" and image.size == (1000, 550)
    assert main([*base, "acme-large", "--log", "--currency", "EUR", "--since", "2026-03-10", "-o",
                 str(tmp_path / "log.svg")]) == 0
    text = (tmp_path / "log.svg").read_text()
    assert text.startswith("<?xml") and "EUR per 1M tokens (output)" in text
    ET.parse(tmp_path / "log.svg")
    assert main([*base, "acme-large", "-o", str(tmp_path / "chart.gif")]) == 2
    assert "must end in .png or .svg" in capsys.readouterr().err
    assert main([*base, "no-such-model", "-o", str(tmp_path / "none.png")]) == 2
    assert "no output prices for no-such-model" in capsys.readouterr().err


def test_log_scale_hides_zero_prices_instead_of_failing(archive):
    db, _, config = archive
    with db.session() as session:
        lines = chart.build_series(session, config, ["acme-large"], sources=["acme"])
    lines[0].steps[0] = (lines[0].steps[0][0], Decimal(0))
    figure = chart.draw(lines, title="zero", ylabel="USD", log=True)
    assert figure.axes[0].get_yscale() == "log"
    chart.svg_text(figure, salt="zero")  # renders


def test_a_control_character_in_a_label_leaves_the_svg_well_formed():
    """A scraped model name with an escape character: XML 1.0 allows no such character,
    so an SVG holding it raw is not an image at all."""
    label = chart.plain_text("evil\x1b[31m $5 \x0c")
    assert label == r"evil\x1b[31m \$5 \x0c"
    ET.fromstring(f"<svg><text>{label}</text></svg>")
