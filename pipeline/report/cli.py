"""Commands `compare`, `chart`, `report` and `export`: arguments and printing only."""

from __future__ import annotations

import sys

from pipeline.cli import EXIT_OK, moment_arg, open_database, output_path, span_args
from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.output import FORMATS, render

# Columns the terminal table leaves to --format csv / json, to fit a screen.
TERMINAL_LEAVES_OUT = ("listed_as", "last_seen", "fx_date")


def add_commands(commands) -> None:
    compare = commands.add_parser("compare", help="a peer group's models side by side, with ratios to the "
                                                  "cheapest and to the group median")
    compare.add_argument("--at", help="date or date-time (default: now)")
    compare.add_argument("--group", help="peer group (config/models/*.toml `group`; default: every group)")
    compare.add_argument("--dimension", default="output")
    compare.add_argument("--format", choices=FORMATS, default="table")
    compare.set_defaults(handler=cmd_compare)

    chart = commands.add_parser("chart", help="a step chart of price over time (PNG or SVG)")
    chart.add_argument("models", nargs="+", metavar="MODEL")
    chart.add_argument("--dimension", default="output")
    chart.add_argument("--currency", choices=("USD", "EUR", "native"), default="USD")
    chart.add_argument("--source", action="append", default=[], metavar="ID", help="only these sources")
    chart.add_argument("--since")
    chart.add_argument("--until")
    chart.add_argument("--log", action="store_true", help="logarithmic price axis")
    chart.add_argument("-o", "--output", required=True, metavar="FILE.png|FILE.svg")
    chart.set_defaults(handler=cmd_chart)

    report = commands.add_parser("report", help="one self-contained static HTML page: tables, moves, charts, events")
    report.add_argument("--at", help="date or date-time (default: now)")
    report.add_argument("--aggregators", action="store_true", help="include aggregator events and moves")
    report.add_argument("-o", "--output", required=True, metavar="FILE.html")
    report.set_defaults(handler=cmd_report)

    export = commands.add_parser("export", help="the full price history with provenance columns")
    export.add_argument("--since")
    export.add_argument("--until")
    export.add_argument("--format", choices=("csv", "json", "parquet"),
                        help="default: from the file's suffix")
    export.add_argument("-o", "--output", required=True, metavar="FILE")
    export.set_defaults(handler=cmd_export)


def cmd_compare(args, config: Config) -> int:
    from db.queries import require_known
    from pipeline.report.compare import PEER_COLUMNS, for_terminal, peer_table

    at = moment_arg(args.at)
    db = open_database(args)
    with db.session() as session:
        require_known(session, dimension=args.dimension)
        rows = peer_table(session, config, at, dimension=args.dimension, group=args.group)
    if not rows:
        print(f"pricewatch: no {args.dimension} price in force on {at.date()} for "
              f"{'group ' + repr(args.group) if args.group else 'any peer group'}", file=sys.stderr)
    if args.format == "table":
        render(for_terminal(rows), [c for c in PEER_COLUMNS if c not in TERMINAL_LEAVES_OUT], "table")
    else:
        render(rows, PEER_COLUMNS, args.format)
    return EXIT_OK


def cmd_chart(args, config: Config) -> int:
    from db.queries import require_known
    from pipeline.report import chart

    path = output_path(args)
    chart.image_format(path)
    since, until = span_args(args.since, args.until)
    db = open_database(args)
    with db.session() as session:
        require_known(session, dimension=args.dimension)
        series = chart.build_series(session, config, args.models, dimension=args.dimension, currency=args.currency,
                                    since=since, until=until, sources=args.source)
        if not series:
            raise InputError(f"no {args.dimension} prices for {', '.join(args.models)}"
                             + (f" on {', '.join(args.source)}" if args.source else ""))
        outages = chart.outage_spans(session, series)
    figure = chart.draw(series, title=f"{', '.join(args.models)}: {args.dimension} price",
                        ylabel=chart.ylabel(args.currency, args.dimension), log=args.log, outages=outages)
    if since or until:
        figure.axes[0].set_xlim(left=since, right=until)
    chart.save(figure, path)
    marks = sum(len(s.events) for s in series)
    print(f"wrote {path}: {len(series)} series, {marks} events marked, {len(outages)} failing spans shaded")
    return EXIT_OK


def cmd_report(args, config: Config) -> int:
    from pipeline.report.html import render_report

    at = moment_arg(args.at)
    path = output_path(args)
    db = open_database(args)
    with db.session() as session:
        page = render_report(session, config, at, aggregators=args.aggregators)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path} ({len(page.encode('utf-8')) // 1024} KB)")
    return EXIT_OK


def cmd_export(args, config: Config) -> int:
    from pipeline.report.export import export, format_for

    path = output_path(args)
    fmt = format_for(path, args.format)
    since, until = span_args(args.since, args.until)
    db = open_database(args)
    with db.session() as session:
        count = export(session, path, fmt, since=since, until=until)
    print(f"wrote {path}: {count} price intervals ({fmt})")
    return EXIT_OK
