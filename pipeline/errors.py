"""The one error tree of pricewatch.

    PricewatchError                  anything the CLI prints as one line
    ├── ConfigError                  bad config file, unknown source, bad argument   (exit 2)
    ├── InputError                   unreadable file, malformed date                  (exit 2)
    ├── FetchError                   the page could not be had                        (source failed)
    │   ├── FetchTimeout             no answer in time
    │   ├── ConnectionFailed         refused, reset or dropped connection
    │   ├── RedirectLoop             more redirects than allowed
    │   ├── HTTPStatusError          4xx/5xx after the retries
    │   ├── TooLarge                 body or decompressed body above the cap
    │   ├── BadBody                  a body cut short or corrupt in its compression, or in an
    │   │                            encoding we never asked for
    │   ├── Blocked                  a bot wall / challenge page
    │   └── Refused                  robots.txt, a forbidden scheme or address
    ├── ParseError                   the page came, but held no prices we trust       (source failed)
    │   ├── LayoutDrift              what the parser expects is not there
    │   └── BadPrice                 a price text that is not a price
    │       └── NonNumericPrice      a number belongs there, the page printed something else
    │                                (a live run quarantines the observation instead)
    ├── DatabaseUnavailable          the database cannot be opened or reached, or fails mid-command
    └── MailError                    an alert could not be delivered (it waits in the outbox)
        ├── SMTPUnavailable          server unreachable, or refused TLS or AUTH: nothing sent
        ├── MessageDeferred          a 4xx reply: try again later
        ├── MessageRejected          a 5xx reply: the server will not take it
        └── DeliveryUncertain        the connection broke after the final dot, before the reply

Every error carries a `reason` code (stored in `fetches.outcome`) and, where known,
the source id, so that the one line printed says which source failed and why.
"""

from __future__ import annotations

from pipeline.output import visible


class PricewatchError(Exception):
    reason = "error"
    exit_code = 1

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        return self._prefixed(self.message)

    def line(self) -> str:
        """The one line the CLI prints: source, kind of failure, and what was missing."""
        label = "" if self.exit_code == 2 else f"[{self.reason.replace('_', ' ')}] "
        return visible(self._prefixed(label + self.message))  # the message may quote a scraped page

    def _prefixed(self, text: str) -> str:
        return f"{self.source}: {text}" if self.source else text


class ConfigError(PricewatchError):
    reason = "config_error"
    exit_code = 2


class InputError(PricewatchError):
    reason = "input_error"
    exit_code = 2


class FetchError(PricewatchError):
    reason = "fetch_error"


class FetchTimeout(FetchError):
    reason = "timeout"


class ConnectionFailed(FetchError):
    reason = "connection_error"


class RedirectLoop(FetchError):
    reason = "redirect_loop"


class HTTPStatusError(FetchError):
    reason = "http_error"

    def __init__(self, message: str, *, status: int, source: str | None = None) -> None:
        super().__init__(message, source=source)
        self.status = status


class TooLarge(FetchError):
    reason = "too_large"


class BadBody(FetchError):
    reason = "bad_body"

    def __init__(self, message: str, *, retryable: bool = True, source: str | None = None) -> None:
        super().__init__(message, source=source)
        self.retryable = retryable  # a body cut short may come whole next time; a coding we cannot read never


class Blocked(FetchError):
    reason = "blocked"


class Refused(FetchError):
    reason = "refused"


class ParseError(PricewatchError):
    reason = "parse_error"


class LayoutDrift(ParseError):
    reason = "layout_drift"


class BadPrice(ParseError):
    reason = "bad_price"


class NonNumericPrice(BadPrice):
    """Dropping such a value would report the model withdrawn, and reading the digits before
    a garble ("$0.l4" as $0) a false cut, so a live run holds the observation for review."""

    reason = "non_numeric_price"
    held = "non-numeric price: "  # how the status_reason of the observation a live run holds begins


class DatabaseUnavailable(PricewatchError):
    """Not a wrong input but a database that is not there for us (a missing server, a file that
    is not SQLite, a full disk): nothing half-done is kept, since every write is a transaction."""

    reason = "database_error"


class MailError(PricewatchError):
    reason = "mail_error"


class SMTPUnavailable(MailError):
    reason = "smtp_unavailable"


class MessageDeferred(MailError):
    reason = "mail_deferred"


class MessageRejected(MailError):
    reason = "mail_rejected"


class DeliveryUncertain(MailError):
    reason = "mail_uncertain"
