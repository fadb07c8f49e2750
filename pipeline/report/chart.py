"""Step charts of price over time, drawn with matplotlib's Agg renderer (no display needed).

A price is known only at the moments a source was observed, and it holds until the next
observation shows another: so the chart is a step function (`drawstyle="steps-post"`), never
a line between observations, with a dot where each price was first seen.  One series per
(model, source, list currency) plots that list's headline price (unconditional, else the
cheapest standard tier: `pipeline.report.compare.headline_steps`), so a tier reshuffle does
not scatter it into pieces.  Where the source was failing (`db.queries.source_outages`,
shaded) or the model was missing from an observation, the line breaks: a gap, not a guess.
Events are marked on the line where they were observed.
"""

from __future__ import annotations

import bisect
import io
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Iterator, Sequence

from matplotlib import rc_context
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Event, Observation, PriceInterval
from db.queries import events, history, source_outages
from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.output import visible
from pipeline.report.compare import VIA_RANK, Steps, headline_steps, route_depth, via

# Drawn in this order, larger first, so that a cut or raise shows on top of a tier change
# observed at the same moment.
EVENT_MARKERS = {"tier_change": ("s", 11), "alias_change": ("P", 10), "new_model": ("o", 9), "withdrawn": ("X", 9),
                 "promo_start": ("D", 8), "promo_end": ("d", 8), "cut": ("v", 8), "raise": ("^", 8)}
MIN_PADDING = timedelta(days=7)


@dataclass
class Series:
    """One plotted line: `steps` are (from, value) pairs, each value holding until the next
    pair; None is a gap.  The last pair marks where the line ends."""

    model: str
    source: str
    list_currency: str
    currency: str  # what the values are in: USD, EUR, or the list's own currency
    aggregator: bool
    steps: Steps
    events: list[tuple[datetime, Decimal, str, int]] = field(default_factory=list)

    @property
    def label(self) -> str:
        listed = f" ({self.list_currency} list)" if self.list_currency != self.currency else ""
        return plain_text(f"{self.model} · {self.source}{listed}" + (" (aggregator)" if self.aggregator else ""))

    def value_at(self, moment: datetime) -> Decimal | None:
        """The value in force at `moment`, or the last one before it when the line broke there."""
        index = bisect.bisect_right([t for t, _ in self.steps], moment)
        return next((value for _, value in reversed(self.steps[:index]) if value is not None), None)


def plain_text(text: str) -> str:
    """Text for matplotlib as it is: a scraped `$` must not start mathtext, and a control
    character, escaped, must not make the SVG ill-formed XML."""
    return visible(text).replace("$", r"\$")


def _display(currency: str):
    return {"USD": lambda i: i.usd, "EUR": lambda i: i.eur}.get(currency, lambda i: i.price)


def build_series(session: Session, config: Config, models: Sequence[str], *, dimension: str = "output",
                 currency: str = "USD", since: datetime | None = None, until: datetime | None = None,
                 sources: Sequence[str] = ()) -> list[Series]:
    """The lines to draw for `models` (ids as listed, or canonical): the lists of `sources`, or
    else of the model's own vendor, else of its resellers, else of aggregators, else of another
    product (compare.via).  USD and EUR
    values are at the ECB rate of the day each price was first seen, so an exchange-rate move
    is no step."""
    names = set(models) | {config.canonical(m) for m in models}
    lists: dict[tuple[str, str, str], list[PriceInterval]] = {}
    for interval in history(session, *names, dimension=dimension):
        if not sources or interval.source_id in sources:
            key = (config.canonical(interval.model), interval.source_id, interval.currency)
            lists.setdefault(key, []).append(interval)
    for (canonical, _, _), group in lists.items():  # an aggregator's own listing, not a route through a host
        depth = min(route_depth(i.model, canonical) for i in group)
        group[:] = [i for i in group if route_depth(i.model, canonical) == depth]
    if not sources:
        rank = {key: VIA_RANK[via(group[0], config)] for key, group in lists.items()}
        best: dict[str, int] = {}
        for (canonical, _, _), value in rank.items():
            best[canonical] = min(value, best.get(canonical, value))
        lists = {key: group for key, group in lists.items() if rank[key] == best[key[0]]}
    drawn_sources = sorted({source for _, source, _ in lists})
    outages = source_outages(session, drawn_sources)
    observed: dict[str, list[datetime]] = {}
    for source_id, observed_at in session.execute(
            select(Observation.source_id, Observation.observed_at)
            .where(Observation.status == "ok", Observation.source_id.in_(drawn_sources))
            .order_by(Observation.observed_at)):
        observed.setdefault(source_id, []).append(observed_at)
    found = events(session, model=sorted(names), since=since, until=until)
    series = []
    for (canonical, source_id, native), group in sorted(lists.items()):
        steps, keys = headline_steps(group, _display(currency), observed=observed.get(source_id, []),
                                     outages=outages.get(source_id, []))
        steps = _clip(steps, since, until)
        if not steps:
            continue
        line = Series(canonical, source_id, native, native if currency == "native" else currency,
                      group[0].aggregator, steps)
        line.events = _marks(line, [e for e in found if e.source_id == source_id and e.currency in (native, "")
                                    and config.canonical(e.model) == canonical
                                    and (e.dimension == dimension and e.conditions_key in keys or not e.dimension)])
        series.append(line)
    return series


def _clip(steps: Steps, since: datetime | None, until: datetime | None) -> Steps:
    """The steps within [since, until]: the headline is chosen over the whole history first,
    so that a window never makes a batch price the headline because the list price lay
    outside it.  A line that goes on past `until` ends there."""
    if until is not None and steps[0][0] > until:
        return []
    if until is not None and steps[-1][0] > until:
        inside = [step for step in steps if step[0] <= until]
        steps = inside + ([(until, inside[-1][1])] if inside[-1][1] is not None else [])
    if since is not None and steps[0][0] < since:
        earlier = [step for step in steps if step[0] <= since]
        later = [step for step in steps if step[0] > since]
        if not later and earlier[-1][0] < since:
            return []  # the line ended before the window
        steps = ([(since, earlier[-1][1])] if earlier[-1][1] is not None else []) + later
    return steps


def _marks(line: Series, found: list[Event]) -> list[tuple[datetime, Decimal, str, int]]:
    marks = []
    for event in found:
        value = line.value_at(event.observed_at)
        if value is not None:
            marks.append((event.observed_at, value, event.kind, event.id))
    return marks


def outage_spans(session: Session, series: list[Series]) -> list[tuple[str, datetime, datetime | None]]:
    """The failing spans of the sources drawn, for shading."""
    outages = source_outages(session, sorted({s.source for s in series}))
    return [(source, start, end) for source, spans in sorted(outages.items()) for start, end in spans]


def draw(series: list[Series], *, title: str, ylabel: str, log: bool = False,
         outages: Sequence[tuple[str, datetime, datetime | None]] = (), size: tuple[float, float] = (10, 5.5),
         ident: str = "chart") -> Figure:
    """The step chart; `ident` prefixes the SVG ids of lines, markers and shading (so that
    several charts can sit in one HTML page, and tests can find a line)."""
    # A log axis cannot show a price of 0, or none at all (no USD before the ECB's first rates).
    log = log and any(value is not None and value > 0 for line in series for _, value in line.steps)
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    axes = figure.add_subplot()
    start = min(s.steps[0][0] for s in series)
    end = max(s.steps[-1][0] for s in series)
    for number, line in enumerate(series):
        xs = [moment for moment, _ in line.steps]
        ys = [_plottable(value, log) for _, value in line.steps]
        (drawn,) = axes.plot(xs, ys, drawstyle="steps-post", linewidth=2, marker="o", markersize=4,
                             label=line.label, gid=f"{ident}-series-{number}")
        for kind, (marker, size_points) in EVENT_MARKERS.items():
            marks = [(moment, _plottable(value, log)) for moment, value, k, _ in line.events if k == kind]
            if marks:
                axes.plot([m for m, _ in marks], [v for _, v in marks], linestyle="none", marker=marker,
                          markersize=size_points, color=drawn.get_color(), markeredgecolor="black",
                          gid=f"{ident}-events-{number}-{kind}")
    labelled = set()
    for index, (source, failing_from, failing_to) in enumerate(o for o in outages if o[1] < end):
        axes.axvspan(failing_from, min(failing_to or end, end), color="#888888", alpha=0.18, linewidth=0,
                     label=None if source in labelled else f"{source} failing", gid=f"{ident}-outage-{index}")
        labelled.add(source)
    for kind in sorted({k for line in series for _, _, k, _ in line.events}):
        axes.plot([], [], linestyle="none", marker=EVENT_MARKERS[kind][0], color="white", markeredgecolor="black",
                  label=kind.replace("_", " "))
    padding = max((end - start) * 0.03, MIN_PADDING)
    axes.set_xlim(start - padding, end + padding)
    if log:
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_title(plain_text(title))
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return figure


def _plottable(value: Decimal | None, log: bool) -> float:
    if value is None or (log and value <= 0):
        return math.nan
    return float(value)


def ylabel(currency: str, dimension: str) -> str:
    money = "published currency" if currency == "native" else currency
    return f"{money} per 1M tokens ({dimension})"


def image_format(path: Path) -> str:
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise InputError(f"chart file must end in .png or .svg, not {path.name!r}")
    return kind


@contextmanager
def quiet_rendering() -> Iterator[None]:
    """Silences the two notes matplotlib prints while drawing that say nothing wrong with the
    chart: a glyph missing from the fonts (a name in a script they lack draws as boxes) and
    a date span its tick intervals fit badly (it still picks the nearest)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        warnings.filterwarnings("ignore", message="AutoDateLocator was unable to pick", category=UserWarning)
        yield


def save(figure: Figure, path: Path, *, salt: str = "pricewatch") -> None:
    """PNG or SVG by the file's suffix; the SVG is deterministic (no date, salted ids)."""
    kind = image_format(path)
    try:
        with rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}), quiet_rendering():
            figure.savefig(path, format=kind, metadata={"Date": None} if kind == "svg" else {"Software": "pricewatch"})
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def svg_text(figure: Figure, *, salt: str) -> str:
    """The figure as an <svg> element to inline in HTML (no XML prolog, ids unique per salt)."""
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}), quiet_rendering():
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]
