"""`config/alerts.toml` read into typed settings: the SMTP server, the rules and the operator.

A rule says who hears of which events.  Its filters are ANDed, and an empty list means
"any".  `min_change_pct` applies to events that have a price change (cuts, raises,
promotions, tier changes); events without one (a new model, a withdrawal) are let through
by `kinds` alone.  A non-empty `verdicts` keeps only weighed cuts with one of those verdicts.
Events seen only through an aggregator (OpenRouter, LiteLLM) match only rules with
`aggregator_events = true`.

Credentials are never in this file: `[smtp]` names the environment variables that hold them.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field, replace
from decimal import Decimal
from email.utils import parseaddr
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import msgspec

from pipeline.config import Config, Count, Timeout, array_of_tables, typed_table
from pipeline.errors import ConfigError

if TYPE_CHECKING:  # only named in a signature: reading the settings needs no database layer
    from db.models import Event

EventKind = Literal["cut", "raise", "promo_start", "promo_end", "tier_change", "alias_change", "new_model", "withdrawn"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
Verdict = Literal["dumping-consistent", "advantage-consistent", "inconclusive"]


@dataclass(frozen=True)
class SMTPSettings:
    host: str = "localhost"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    tls: Literal["starttls", "implicit", "none"] = "starttls"  # implicit: SMTPS; none: a local relay only
    username_env: str = ""  # the NAME of the environment variable holding the user; empty: no AUTH
    password_env: str = ""
    ca_file: str = ""  # a PEM bundle to trust for this server besides the system's
    timeout_seconds: Timeout = 30  # the socket refuses a negative one, mid-delivery
    retry_seconds: Annotated[int, msgspec.Meta(ge=1)] = 300  # serve: how often pending mail is tried again

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def credentials(self) -> tuple[str, str] | None:
        """(user, password) from the environment, or None when no AUTH is configured."""
        if not self.username_env:
            return None
        values = []
        for name in (self.username_env, self.password_env):
            value = os.environ.get(name) if name else None
            if not value:
                raise ConfigError(f"alerts.toml [smtp]: environment variable {name or '(password_env unset)'} "
                                  "is not set")
            values.append(value)
        return values[0], values[1]


@dataclass(frozen=True)
class Rule:
    name: str
    recipients: tuple[str, ...]
    sources: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    kinds: tuple[EventKind, ...] = ()
    min_change_pct: Decimal = Decimal(0)
    verdicts: tuple[Verdict, ...] = ()
    aggregator_events: bool = False

    def matches(self, event: Event) -> bool:
        if self.sources and event.source_id not in self.sources:
            return False
        if self.vendors and event.vendor not in self.vendors:
            return False
        if self.models and not any(fnmatch.fnmatchcase(name.lower(), pattern.lower())
                                   for pattern in self.models for name in (event.model, event.canonical_model)):
            return False
        if self.kinds and event.kind not in self.kinds:
            return False
        if event.change_pct is not None and abs(event.change_pct) < self.min_change_pct:
            return False
        if self.verdicts and event.verdict not in self.verdicts:
            return False
        return self.aggregator_events or not event.via_aggregator


@dataclass(frozen=True)
class OperatorSettings:
    recipients: tuple[str, ...] = ()
    failures_in_a_row: Count = 3  # 0: no alert on the count alone
    blocked: bool = True  # alert at the first failure behind a bot wall
    layout_drift: bool = True  # alert at the first failure because the page left its layout
    held: bool = True  # alert when the sanity gate holds a page back for review (once per held page)


@dataclass(frozen=True)
class AlertSettings:
    enabled: bool = False
    sender: str = "pricewatch <pricewatch@localhost>"
    charts: Count = 3  # inline price-history charts per digest; 0 for none
    smtp: SMTPSettings = SMTPSettings()
    operator: OperatorSettings = OperatorSettings()
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def sender_domain(self) -> str:
        """The right-hand side of every Message-ID and chart Content-ID this archive makes."""
        return self.sender_address.split("@")[1]

    def recipients(self) -> list[str]:
        """Everyone the configuration mails, rules first, without repeats."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            seen.update(dict.fromkeys(rule.recipients))
        seen.update(dict.fromkeys(self.operator.recipients))
        return list(seen)


NOT_ASCII = ("is not a plain ASCII mail address (internationalised addresses need SMTPUTF8, "
             "which pricewatch does not use)")


def address_flaw(value: str) -> str | None:
    """What keeps `value` out of an SMTP envelope, worded to follow it ("is not a mail address"),
    or None.  smtplib writes MAIL FROM and RCPT TO in ASCII: any other address fails at delivery."""
    address = parseaddr(value)[1]
    if address != value or address.count("@") != 1 or not all(address.split("@")):
        return "is not a mail address"
    return None if address.isascii() else NOT_ASCII


def _addresses(values: tuple[str, ...], where: str) -> tuple[str, ...]:
    """The addresses, each with its domain in lower case (domains know no case, RFC 5321 2.4),
    so that one mailbox spelt two ways in two rules gets one digest."""
    for value in values:
        if flaw := address_flaw(value):
            raise ConfigError(f"alerts.toml {where}: {value!r} {flaw}")
    return tuple(dict.fromkeys(f"{local}@{domain.lower()}" for local, domain in (v.rsplit("@", 1) for v in values)))


def _smtp(data: dict[str, Any]) -> SMTPSettings:
    settings = typed_table(SMTPSettings, data, "alerts.toml [smtp]")
    if settings.username_env and not settings.password_env:
        raise ConfigError("alerts.toml [smtp]: username_env is set but password_env is not")
    if settings.username_env and settings.tls == "none":
        raise ConfigError("alerts.toml [smtp]: refusing to send credentials without TLS (tls = \"none\")")
    return settings


def _rule(data: dict[str, Any], index: int) -> Rule:
    where = f"rule {data.get('name', index + 1)!r}"
    rule = typed_table(Rule, {"name": f"rule {index + 1}", **data}, f"alerts.toml {where}")
    if not rule.recipients:
        raise ConfigError(f"alerts.toml {where}: 'recipients' must name at least one address")
    recipients = _addresses(rule.recipients, where)
    if not rule.min_change_pct.is_finite():
        raise ConfigError(f"alerts.toml {where}: 'min_change_pct' must be a number")
    return replace(rule, recipients=recipients, min_change_pct=abs(rule.min_change_pct))


def _operator(data: dict[str, Any]) -> OperatorSettings:
    settings = typed_table(OperatorSettings, data, "alerts.toml [operator]")
    return replace(settings, recipients=_addresses(settings.recipients, "[operator]"))


def alert_settings(config: Config) -> AlertSettings:
    """The alert settings of `config` (alerts.toml); absent means disabled."""
    raw = dict(config.alerts)
    if "rules" in raw:  # not a misspelt field to ignore: the rules would silently vanish
        raise ConfigError("alerts.toml: unknown key(s) rules (rules are [[rule]] tables)")
    rules = array_of_tables(raw, "rule", "alerts.toml")
    raw.pop("rule", None)
    raw.update(smtp=_smtp(raw.get("smtp", {})), operator=_operator(raw.get("operator", {})),
               rules=tuple(_rule(rule, index) for index, rule in enumerate(rules)))
    settings = typed_table(AlertSettings, raw, "alerts.toml")
    if "\r" in settings.sender or "\n" in settings.sender:  # a header line: found at the first mail, mid-run
        raise ConfigError(f"alerts.toml: sender {settings.sender!r} must be one line")
    if flaw := address_flaw(settings.sender_address):
        raise ConfigError(f"alerts.toml: sender {settings.sender!r} {flaw}")
    for rule in settings.rules if settings.enabled else ():  # off, no mail can be lost (the shipped file)
        _known(rule, "vendors", {source.vendor for source in config.sources.values()})
        _known(rule, "sources", set(config.sources))
    return settings


def _known(rule: Rule, field: str, configured: set[str]) -> None:
    """A rule's filter must name what the config has: a misspelt vendor would match no event,
    silently, and the alert stage's watermark would move past the events it meant."""
    unknown = [name for name in getattr(rule, field) if name not in configured]
    if unknown:
        raise ConfigError(f"alerts.toml rule {rule.name!r}: {field} {', '.join(map(repr, unknown))} "
                          f"not in sources.toml (it has {', '.join(sorted(configured))})")
