"""A real SMTP server on 127.0.0.1 (aiosmtpd) with STARTTLS or implicit TLS, AUTH, and hooks.

The TLS certificate comes from a throwaway CA (trustme) whose PEM is written to `ca_file`,
for the client's `ca_file` setting.  `messages` holds every accepted message, parsed.  The
server can be stopped and started again on the same port, to play an outage; `on_rcpt` and
`on_data` run inside the server at RCPT and after the final dot (before the 250 reply),
which is where a test kills a delivering process; `refuse[address]` is the reply (e.g.
"550 ...") the server gives to RCPT TO that address.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "pricewatch-user", "s3cret-Pa55-do-not-log"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    message: EmailMessage

    def part(self, subtype: str) -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalSMTPServer:
    def __init__(self, directory: Path, *, tls: str = "starttls", auth: bool = True) -> None:
        self.tls, self.auth = tls, auth
        self.port = free_port()
        self.messages: list[Received] = []
        self.logins: list[str] = []
        self.on_rcpt: Callable[[str], None] | None = None
        self.on_data: Callable[[bytes], None] | None = None
        self.refuse: dict[str, str] = {}
        authority = trustme.CA()
        self.ca_file = directory / "smtp-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_file))
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(self._server_context)
        self._controller: Controller | None = None

    def smtp_settings(self, **overrides) -> dict:
        """The [smtp] table of alerts.toml for this server."""
        settings = {"host": "127.0.0.1", "port": self.port, "tls": self.tls, "ca_file": str(self.ca_file),
                    "timeout_seconds": 5}
        if self.auth:
            settings.update(username_env="PW_TEST_SMTP_USER", password_env="PW_TEST_SMTP_PASSWORD")
        return {**settings, **overrides}

    @staticmethod
    def credentials_env() -> dict[str, str]:
        return {"PW_TEST_SMTP_USER": USER, "PW_TEST_SMTP_PASSWORD": PASSWORD}

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.on_rcpt:
            self.on_rcpt(address)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content,
                                      email.message_from_bytes(content, policy=email.policy.default)))
        if self.on_data:
            self.on_data(content)
        return "250 2.0.0 queued"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append(auth_data.login.decode())
            valid = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
            return AuthResult(success=valid, handled=False)
        return AuthResult(success=False, handled=False)

    def write_alerts(self, config_dir: Path, **alerts) -> Path:
        """config/alerts.toml for this server: enabled, with the given rules, operator and options."""
        import tomli_w

        settings = {"enabled": True, "sender": "pricewatch <pricewatch@example.org>", "charts": 0,
                    "smtp": self.smtp_settings(), **alerts}
        path = config_dir / "alerts.toml"
        path.write_text(tomli_w.dumps(settings))
        return path

    def start(self) -> "LocalSMTPServer":
        kwargs: dict = {}
        if self.tls == "starttls":
            kwargs.update(tls_context=self._server_context, require_starttls=True)
        elif self.tls == "implicit":  # aiosmtpd sees TLS only when it came by STARTTLS: tell it AUTH is safe
            kwargs.update(ssl_context=self._server_context, auth_require_tls=False)
        if self.auth:
            kwargs.update(authenticator=self._authenticate, auth_required=self.tls == "starttls")
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, server_hostname="localhost",
                                      **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "LocalSMTPServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
