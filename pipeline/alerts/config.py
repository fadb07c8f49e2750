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
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.errors import ConfigError

if TYPE_CHECKING:  # only named in a signature: reading the settings needs no database layer
    from db.models import Event

EVENT_KINDS = ("cut", "raise", "promo_start", "promo_end", "tier_change", "new_model", "withdrawn")
VERDICTS = ("dumping-consistent", "advantage-consistent", "inconclusive")
TLS_MODES = ("starttls", "implicit", "none")


@dataclass(frozen=True)
class SMTPSettings:
    host: str = "localhost"
    port: int = 587
    tls: str = "starttls"  # starttls, implicit (SMTPS) or none (a local relay only)
    username_env: str = ""  # the NAME of the environment variable holding the user; empty: no AUTH
    password_env: str = ""
    ca_file: str = ""  # a PEM bundle to trust for this server besides the system's
    timeout_seconds: float = 30

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
    kinds: tuple[str, ...] = ()
    min_change_pct: Decimal = Decimal(0)
    verdicts: tuple[str, ...] = ()
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
    failures_in_a_row: int = 3  # 0: no alert on the count alone
    blocked: bool = True  # alert at the first failure behind a bot wall
    layout_drift: bool = True  # alert at the first failure because the page left its layout


@dataclass(frozen=True)
class AlertSettings:
    enabled: bool = False
    sender: str = "pricewatch <pricewatch@localhost>"
    charts: int = 3  # inline price-history charts per digest; 0 for none
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


def _check_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"alerts.toml {where}: unknown key(s) {', '.join(sorted(unknown))}")


def _strings(data: dict[str, Any], key: str, where: str, *, choices: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"alerts.toml {where}: '{key}' must be a list of strings")
    bad = [v for v in value if choices and v not in choices]
    if bad:
        raise ConfigError(f"alerts.toml {where}: unknown {key} {', '.join(bad)} (known: {', '.join(choices)})")
    return tuple(value)


def _addresses(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _strings(data, key, where)
    for value in values:
        if not is_address(value):
            raise ConfigError(f"alerts.toml {where}: {value!r} is not a mail address")
    return values


def is_address(value: str) -> bool:
    address = parseaddr(value)[1]
    return address == value and address.count("@") == 1 and all(address.split("@"))


def _typed(data: dict[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    value = data.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"alerts.toml {where}: '{key}' must be {kind.__name__}")
    return value


def _smtp(data: dict[str, Any]) -> SMTPSettings:
    where = "[smtp]"
    _check_keys(data, set(SMTPSettings.__dataclass_fields__), where)
    defaults = SMTPSettings()
    settings = SMTPSettings(
        host=_typed(data, "host", str, defaults.host, where),
        port=_typed(data, "port", int, defaults.port, where),
        tls=_typed(data, "tls", str, defaults.tls, where),
        username_env=_typed(data, "username_env", str, "", where),
        password_env=_typed(data, "password_env", str, "", where),
        ca_file=_typed(data, "ca_file", str, "", where),
        timeout_seconds=_typed(data, "timeout_seconds", float, defaults.timeout_seconds, where),
    )
    if settings.tls not in TLS_MODES:
        raise ConfigError(f"alerts.toml [smtp]: tls must be one of {', '.join(TLS_MODES)}")
    if not 0 < settings.port < 65536:
        raise ConfigError("alerts.toml [smtp]: port must be from 1 to 65535")
    if not 0 < settings.timeout_seconds <= 86_400:  # the socket refuses a negative one, mid-delivery
        raise ConfigError("alerts.toml [smtp]: timeout_seconds must be above 0 and at most a day")
    if settings.username_env and not settings.password_env:
        raise ConfigError("alerts.toml [smtp]: username_env is set but password_env is not")
    if settings.username_env and settings.tls == "none":
        raise ConfigError("alerts.toml [smtp]: refusing to send credentials without TLS (tls = \"none\")")
    return settings


def _rule(data: dict[str, Any], index: int) -> Rule:
    where = f"rule {data.get('name', index + 1)!r}"
    _check_keys(data, set(Rule.__dataclass_fields__), where)
    recipients = _addresses(data, "recipients", where)
    if not recipients:
        raise ConfigError(f"alerts.toml {where}: 'recipients' must name at least one address")
    try:
        threshold = Decimal(str(data.get("min_change_pct", 0)))
    except InvalidOperation:
        raise ConfigError(f"alerts.toml {where}: 'min_change_pct' must be a number") from None
    return Rule(
        name=_typed(data, "name", str, f"rule {index + 1}", where),
        recipients=recipients,
        sources=_strings(data, "sources", where),
        vendors=_strings(data, "vendors", where),
        models=_strings(data, "models", where),
        kinds=_strings(data, "kinds", where, choices=EVENT_KINDS),
        min_change_pct=abs(threshold),
        verdicts=_strings(data, "verdicts", where, choices=VERDICTS),
        aggregator_events=_typed(data, "aggregator_events", bool, False, where),
    )


def _operator(data: dict[str, Any]) -> OperatorSettings:
    where = "[operator]"
    _check_keys(data, set(OperatorSettings.__dataclass_fields__), where)
    failures = _typed(data, "failures_in_a_row", int, 3, where)
    if failures < 0:
        raise ConfigError("alerts.toml [operator]: failures_in_a_row must be 0 (off) or more")
    return OperatorSettings(recipients=_addresses(data, "recipients", where), failures_in_a_row=failures,
                            blocked=_typed(data, "blocked", bool, True, where),
                            layout_drift=_typed(data, "layout_drift", bool, True, where))


def alert_settings(config: Config) -> AlertSettings:
    """The alert settings of `config` (alerts.toml); absent means disabled."""
    raw = config.alerts
    _check_keys(raw, {"enabled", "sender", "charts", "smtp", "operator", "rule"}, "(top level)")
    defaults = AlertSettings()
    sender = _typed(raw, "sender", str, defaults.sender, "(top level)")
    if not is_address(parseaddr(sender)[1]):
        raise ConfigError(f"alerts.toml: sender {sender!r} holds no mail address")
    rules = raw.get("rule", [])
    if not isinstance(rules, list):
        raise ConfigError("alerts.toml: rules are [[rule]] tables")
    charts = _typed(raw, "charts", int, defaults.charts, "(top level)")
    if charts < 0:
        raise ConfigError("alerts.toml: charts must be 0 or more")
    return AlertSettings(
        enabled=_typed(raw, "enabled", bool, False, "(top level)"),
        sender=sender,
        charts=charts,
        smtp=_smtp(raw.get("smtp", {})),
        operator=_operator(raw.get("operator", {})),
        rules=tuple(_rule(rule, index) for index, rule in enumerate(rules)),
    )
