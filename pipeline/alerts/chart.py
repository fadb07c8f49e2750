"""A small price-history chart (PNG) for a digest, drawn with matplotlib's Agg canvas.

The figure is built without pyplot, so no global state or GUI backend is involved.  The
prices are drawn as steps in their published currency; floats are used for the drawing
only, never for a stored or printed amount.
"""

from __future__ import annotations

import io

from db.models import PriceInterval


def price_chart(intervals: list[PriceInterval], title: str) -> bytes:
    """Steps from each interval's first sighting, to the last sighting of the newest one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    from pipeline.report.chart import quiet_rendering

    ordered = sorted(intervals, key=lambda i: i.first_seen)
    times = [i.first_seen for i in ordered] + [ordered[-1].last_seen]
    prices = [float(i.price) for i in ordered] + [float(ordered[-1].price)]
    figure = Figure(figsize=(5.2, 2.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(times, prices, drawstyle="steps-post", marker="o", markersize=3, color="#1f5fa8")
    axes.set_title(title, fontsize=9, loc="left", parse_math=False)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    locator = AutoDateLocator(maxticks=6)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.tick_params(labelsize=7)
    buffer = io.BytesIO()
    with quiet_rendering():  # the layout draws the text too, so it warns as much as the saving
        figure.tight_layout()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
