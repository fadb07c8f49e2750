"""One SMTP session (standard library smtplib): STARTTLS, implicit TLS or none, optional AUTH.

`send()` speaks the mail transaction itself instead of calling `smtplib.sendmail`, for one
reason: it calls `before_end_of_data` after the whole message has gone out but before the
final "." that commits it.  Until that dot the server holds an open transaction that it
must discard if the connection drops (RFC 5321, 3.8), so a crash anywhere before it sends
nothing.  The outbox records "sending" in that callback; only a crash between the dot and
the recorded reply leaves a message whose fate is unknown.

Errors: the MailError branch of pipeline/errors.py (one line on the CLI, exit 1).

Credentials come from the environment variables named in the config; they are passed to
smtplib's AUTH and never put in a message, a log line or an error.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from typing import Callable

from pipeline.alerts.config import SMTPSettings, address_flaw
from pipeline.errors import (
    ConfigError,
    DeliveryUncertain,
    MailError,
    MessageDeferred,
    MessageRejected,
    SMTPUnavailable,
)


# RFC 5321 4.5.3.2.6: a server may take ten minutes to accept a message after its final dot
# (content scanning); a client that gives up sooner cannot know whether it has the message,
# and sends it again at every flush.
END_OF_DATA_SECONDS = 600


def describe(error: BaseException) -> str:
    """A short, credential-free account of what went wrong."""
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        return f"{error.smtp_code} {' '.join(text.split())}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({error.verify_message})"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, socket.gaierror):
        return f"host not found ({error.strerror})"
    text = str(error).strip()
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


def _dot_stuffed(content: bytes) -> bytes:
    """The DATA payload without its final dot: CRLF line ends, leading dots doubled."""
    content = re.sub(rb"\r?\n", b"\r\n", content)
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", content)


class SMTPSession:
    """A logged-in connection to the configured server, for one or more messages."""

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SMTPSession":
        self.open()
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.close()
        else:  # a mail transaction may be open: a QUIT would go out as message text, or read its reply
            self._abort()

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.settings.ca_file or None)
        except OSError as error:
            raise ConfigError(f"alerts.toml [smtp]: cannot read ca_file {self.settings.ca_file}: "
                              f"{error.strerror or error}") from None

    def open(self) -> None:
        settings = self.settings
        credentials = settings.credentials()
        context = self._tls_context() if settings.tls != "none" else None
        try:
            if settings.tls == "implicit":
                self._smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                              context=context)
            else:
                self._smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
            self._smtp.ehlo()
            if settings.tls == "starttls":
                self._smtp.starttls(context=context)
                self._smtp.ehlo()
            if credentials is not None:
                self._smtp.login(*credentials)
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise SMTPUnavailable(f"smtp {settings.address}: {describe(error)}") from None
        except UnicodeEncodeError:  # smtplib encodes AUTH as ASCII
            self.close()
            raise SMTPUnavailable(f"smtp {settings.address}: the user name or password is not ASCII, "
                                  "which SMTP AUTH cannot send") from None

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            self._smtp.close()
        self._smtp = None

    def _abort(self) -> None:
        """Drop the connection without QUIT: the server discards the open transaction."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _reset(self) -> None:
        """End the open mail transaction, so the next message can go; or the connection, if even that fails."""
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._abort()

    def _refused(self, code: int, reply: bytes, step: str) -> MailError:
        text = " ".join(reply.decode("utf-8", "replace").split())
        self._reset()
        kind = MessageRejected if 500 <= code < 600 else MessageDeferred
        return kind(f"smtp {self.settings.address}: {step} refused: {code} {text}")

    def _unsendable(self, sender: str, recipient: str, error: ValueError) -> MessageRejected:
        """smtplib would not write this envelope (an address not in ASCII, a line break): the
        message can never go as it is, but the session can still carry the next one."""
        self._reset()
        flaws = [f"{address!r} {flaw}" for address in (sender, recipient) if (flaw := address_flaw(address))]
        return MessageRejected(f"smtp {self.settings.address}: not sent: {'; '.join(flaws) or describe(error)}")

    def send(self, sender: str, recipient: str, content: bytes, *,
             before_end_of_data: Callable[[], None] = lambda: None) -> str:
        """Send `content` to `recipient`; return the server's acceptance reply."""
        if self._smtp is None:
            raise SMTPUnavailable(f"smtp {self.settings.address}: the connection was closed")
        smtp = self._smtp
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                raise self._refused(code, reply, "MAIL FROM")
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise self._refused(code, reply, f"RCPT TO {recipient}")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise self._refused(code, reply, "DATA")
            smtp.send(_dot_stuffed(content))
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._abort()
            raise SMTPUnavailable(f"smtp {self.settings.address}: {describe(error)}") from None
        except ValueError as error:  # raised before the command went out: nothing of it reached the server
            raise self._unsendable(sender, recipient, error) from None
        try:
            before_end_of_data()
        except BaseException:
            self._abort()
            raise
        try:
            smtp.sock.settimeout(max(self.settings.timeout_seconds, END_OF_DATA_SECONDS))
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
            smtp.sock.settimeout(self.settings.timeout_seconds)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._abort()
            raise DeliveryUncertain(f"smtp {self.settings.address}: connection lost after the end of the "
                                    f"message, before the server's reply ({describe(error)})") from None
        if code != 250:
            raise self._refused(code, reply, "end of data")
        return f"{code} {' '.join(reply.decode('utf-8', 'replace').split())}"
