"""`pricewatch alerts test | pending | flush`: try the mail settings, see and deliver the outbox.

Exit codes: 0 done; 1 the test message could not be sent; 2 a usage or config error;
3 (`flush`) messages still wait in the outbox, e.g. because the server is down.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from pipeline.alerts import EXIT_MAIL_PENDING
from pipeline.alerts.config import address_flaw, alert_settings
from pipeline.alerts.message import compose, new_message_id
from pipeline.alerts.smtp import SMTPSession
from pipeline.cli import EXIT_OK, open_database
from pipeline.config import Config
from pipeline.errors import ConfigError, InputError
from pipeline.output import FORMATS, render

# The outbox (and with it the database layer) is imported inside the handlers, as in
# pipeline.quarantine, so that building the CLI (every command, --help) does not pay for it.

PENDING_COLUMNS = ["id", "status", "kind", "recipient", "subject", "attempts", "created_at", "last_attempt_at",
                   "sent_at", "last_error", "message_id"]


def cmd_test(args, config: Config) -> int:
    settings = alert_settings(config)
    recipients = args.to or settings.recipients()
    if not recipients:
        raise ConfigError("no recipient: pass --to ADDR, or name recipients in config/alerts.toml")
    for recipient in recipients:
        if flaw := address_flaw(recipient):
            raise InputError(f"--to {recipient!r} {flaw}")
    now = datetime.now(timezone.utc)
    smtp = settings.smtp
    text = (f"This is a test message from pricewatch, sent {now:%Y-%m-%d %H:%M UTC}.\n\n"
            f"Server {smtp.address}, TLS: {smtp.tls}, AUTH: {'yes' if smtp.username_env else 'no'}.\n"
            f"Alerts are {'enabled' if settings.enabled else 'disabled (enabled = false in alerts.toml)'}.\n")
    with SMTPSession(smtp) as session:
        for recipient in recipients:
            content = compose(sender=settings.sender, recipient=recipient, subject="pricewatch: test message",
                              message_id=new_message_id("test", settings.sender_domain), date=now, text=text)
            reply = session.send(settings.sender_address, recipient, content)
            print(f"test message sent to {recipient} via {smtp.address} ({reply})")
    return EXIT_OK


def cmd_pending(args, config: Config) -> int:
    from pipeline.alerts.outbox import listing

    db = open_database(args)
    rows = [{column: getattr(message, column) for column in PENDING_COLUMNS}
            for message in listing(db, include_sent=args.all)]
    render(rows, PENDING_COLUMNS, args.format)
    return EXIT_OK


def cmd_flush(args, config: Config) -> int:
    from pipeline.alerts.outbox import flush

    settings = alert_settings(config)
    db = open_database(args)
    report = flush(db, settings)
    print(f"alerts: {report.line()}")
    if report.error:
        print(f"pricewatch: mail pending: {report.error}", file=sys.stderr)
    return EXIT_MAIL_PENDING if report.pending else EXIT_OK


def add_commands(commands) -> None:
    alerts = commands.add_parser("alerts", help="change alerts by email: test the settings, list or deliver the outbox")
    subcommands = alerts.add_subparsers(dest="alerts_command", required=True, parser_class=type(alerts))
    test = subcommands.add_parser("test", help="send one test message with the [smtp] settings of alerts.toml")
    test.add_argument("--to", action="append", metavar="ADDR",
                      help="recipient (repeatable; default: every recipient in alerts.toml)")
    test.set_defaults(handler=cmd_test)
    pending = subcommands.add_parser("pending", help="list the outbox: messages not yet sent, or rejected")
    pending.add_argument("--all", action="store_true", help="include the messages already sent")
    pending.add_argument("--format", choices=FORMATS, default="table")
    pending.set_defaults(handler=cmd_pending)
    subcommands.add_parser("flush", help="deliver what waits in the outbox (exit 3 if some still waits)") \
        .set_defaults(handler=cmd_flush)
