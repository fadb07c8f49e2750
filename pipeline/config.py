"""The shipped configuration (`config/`), read into typed objects; any flaw is a ConfigError."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl, urlsplit

import msgspec

from pipeline.errors import ConfigError

_SHIPPED = Path(__file__).resolve().parent.parent / "config"
_INSTALLED = Path(__file__).resolve().parent / "_shipped_config"


def default_config_dir() -> Path:
    env = os.environ.get("PRICEWATCH_CONFIG")
    if env:
        return Path(env)
    return _SHIPPED if _SHIPPED.is_dir() else _INSTALLED


# Numbers in the config, with the range each may take: msgspec checks type and range as the
# config is read, so that a negative delay or a count in quotes is a config error at once, not a
# crash in the middle of a run.
Seconds = Annotated[float, msgspec.Meta(ge=0, le=86_400)]
Timeout = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Bytes = Annotated[int, msgspec.Meta(gt=0)]


@dataclass(frozen=True)
class Schedule:
    cron: str | None = None
    interval_minutes: Annotated[float, msgspec.Meta(ge=1 / 60, le=525_600)] | None = None  # a second to a year
    jitter_seconds: Seconds = 0


@dataclass(frozen=True)
class Source:
    id: str
    vendor: str
    parser: str
    urls: tuple[str, ...]
    currency: str
    market: Literal["intl", "cn"]
    fetch: Literal["direct", "reader"] = "direct"
    aggregator: bool = False
    enabled: bool = True
    schedule: Schedule = Schedule()
    # false: another product's list of the vendor's models (Alibaba's Qwen inside Hologres), whose
    # price stands for a model in `compare` and the peer gap only where no API list prices it.
    headline: bool = True


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = "pricewatch/0.1"
    contact_url: str = ""
    timeout_seconds: Timeout = 30  # to connect, and for each read
    attempt_max_seconds: Timeout = 120  # one request in all (a redirect's hops each), however slowly it trickles
    retries: Count = 3
    backoff_seconds: Seconds = 2
    retry_after_max_seconds: Seconds = 120
    max_bytes: Bytes = 25_000_000
    max_decompressed_bytes: Bytes = 100_000_000
    max_redirects: Count = 5
    per_host_delay_seconds: Seconds = 1.0
    obey_robots: bool = True
    allowed_networks: tuple[str, ...] = ()
    reader_prefix: str = "https://r.jina.ai/"
    proxy: str = ""  # an http:// forward proxy for every fetch, e.g. "http://user:pass@proxy.corp:3128"


@dataclass(frozen=True)
class DiffSettings:
    withdrawn_after_runs: Annotated[int, msgspec.Meta(ge=1)] = 3
    quarantine_factor: Annotated[float, msgspec.Meta(gt=1, le=1_000_000)] = 20
    # A share of its prices a list may lose in one step; beyond it the page is held for review,
    # since a page that half-parses looks like this (1: never).
    quarantine_vanished: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.25


def _positive(settings, *names: str) -> None:
    """Figures the evidence tests divide by or compare with: a zero, a NaN or a sign slip
    would crash or skew the weighing of every cut, so they are refused as the config is read."""
    for name in names:
        value = getattr(settings, name)
        if value is not None and not (value.is_finite() and value > 0):
            raise ValueError(f"{name} must be a positive number, not {value}")


@dataclass(frozen=True)
class MarketPair:
    export: str
    home: str


@dataclass(frozen=True)
class HomeVsExport:
    margin_threshold: Decimal = Decimal("0.10")
    pairs: tuple[MarketPair, ...] = ()

    def __post_init__(self) -> None:
        _positive(self, "margin_threshold")


@dataclass(frozen=True)
class PublishedServing:
    """A vendor's own serving figures, which outrank the estimate for the models they were measured on."""

    vendor: str
    models: tuple[str, ...]
    node_usd_per_hour: Decimal
    output_tokens_per_second: Decimal
    input_tokens_per_second: Decimal | None = None
    measured_on: str | None = None
    source: str | None = None
    # The last day an API name of `models` served the model measured (a moving name such as
    # deepseek-chat later serves another model, whose cost the figures do not tell).
    served_until: dict[str, date] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive(self, "node_usd_per_hour", "output_tokens_per_second", "input_tokens_per_second")

    def covers(self, model: str, on: date) -> bool:
        return model in self.models and (model not in self.served_until or on <= self.served_until[model])


@dataclass(frozen=True)
class CostFloor:
    accelerator: str | None = None
    accelerator_usd_per_hour: Decimal | None = None
    peak_flops: Decimal | None = None
    utilisation: Decimal | None = None
    source: str | None = None
    # A floor is an estimate: a price within this fraction of it (either way) points nowhere.
    uncertainty: Decimal = Decimal("0.25")
    published: tuple[PublishedServing, ...] = ()

    def __post_init__(self) -> None:
        _positive(self, "accelerator_usd_per_hour", "peak_flops", "utilisation", "uncertainty")

    @property
    def can_estimate(self) -> bool:
        return None not in (self.accelerator_usd_per_hour, self.peak_flops, self.utilisation)


@dataclass(frozen=True)
class IndependentHosts:
    near_ratio: Decimal = Decimal("0.8")
    far_ratio: Decimal = Decimal("0.5")
    # What an aggregator calls a vendor's own endpoint when it is not the vendor's id.
    own_endpoints: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive(self, "near_ratio", "far_ratio")


@dataclass(frozen=True)
class PeerGap:
    note: str = ""


@dataclass(frozen=True)
class Durability:
    held_days: Annotated[int, msgspec.Meta(ge=1)] = 90


@dataclass(frozen=True)
class AnalysisSettings:
    """config/analysis.toml: the assumptions of the evidence tests (pipeline/evidence.py)."""

    home_vs_export: HomeVsExport = HomeVsExport()
    cost_floor: CostFloor = CostFloor()
    independent_hosts: IndependentHosts = IndependentHosts()
    peer_gap: PeerGap = PeerGap()
    durability: Durability = Durability()


@dataclass(frozen=True)
class CanonicalModel:
    id: str
    vendor: str
    open_weights: bool | None = None
    params_total_b: float | None = None
    params_active_b: float | None = None
    group: str | None = None
    aliases: tuple[str, ...] = ()
    source_note: str = ""


@dataclass
class Config:
    directory: Path
    sources: dict[str, Source]
    fetch: FetchSettings
    diff: DiffSettings
    models: dict[str, CanonicalModel] = field(default_factory=dict)
    analysis: AnalysisSettings = AnalysisSettings()
    alerts: dict[str, Any] = field(default_factory=dict)

    def source(self, source_id: str) -> Source:
        try:
            return self.sources[source_id]
        except KeyError:
            raise ConfigError(f"unknown source {source_id!r} (known: {', '.join(sorted(self.sources))})") from None

    def canonical(self, model: str) -> str:
        """One id for a model across sources: `deepseek/deepseek-v4-flash` → `deepseek-v4-flash`."""
        return self._alias_index().get(model.lower()) or self._alias_index().get(_strip_prefix(model).lower()) or _strip_prefix(model).lower()

    def _alias_index(self) -> dict[str, str]:
        index = getattr(self, "_aliases", None)
        if index is None:
            index = {}
            for model in self.models.values():
                index[model.id.lower()] = model.id
                for alias in model.aliases:
                    index.setdefault(alias.lower(), model.id)
            self._aliases = index
        return index


def _strip_prefix(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def _read_toml(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"missing config file {path}")
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8; a file saved as Latin-1 is not
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def typed_table(cls, data: dict[str, Any], where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table, not {type(data).__name__}")
    known = cls.__dataclass_fields__
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: {exc}{_choices(cls, str(exc))}") from None


def _choices(cls, message: str) -> str:
    """For a value outside a Literal field's choices, the choices (msgspec names only the value)."""
    field = re.search(r"Invalid enum value .* at `\$\.(\w+)", message)
    if not field:
        return ""
    pending, choices = [get_type_hints(cls).get(field[1])], []
    while pending:
        hint = pending.pop()
        if get_origin(hint) is Literal:
            choices += get_args(hint)
        else:
            pending += [arg for arg in get_args(hint) if arg is not Ellipsis]
    return f" (expected one of: {', '.join(map(str, choices))})" if choices else ""


def _source(raw: dict[str, Any]) -> Source:
    where = f"source {raw.get('id', '?')!r}"
    for key in ("id", "vendor", "parser", "urls", "currency", "market"):
        if key not in raw:
            raise ConfigError(f"{where}: missing '{key}'")
    schedule = typed_table(Schedule, raw.get("schedule", {}), f"{where} schedule")
    source = typed_table(Source, {**raw, "schedule": schedule}, where)  # types first: every URL is a string below
    if not source.urls:
        raise ConfigError(f"{where}: 'urls' must be a non-empty list")
    for url in source.urls:
        if flaw := url_flaw(url):
            raise ConfigError(f"{where}: a URL {flaw}")
    return source


def url_flaw(url: str) -> str | None:
    """Why `url` cannot be a page's address (worded to follow "a URL" or "--url"), or None:
    only http and https, and no credentials, which would end up in logs and in the archive
    (the reason does not echo such a URL: it holds the secret)."""
    try:
        parts = urlsplit(url)
        parts.port  # read for its check: a port out of range raises here, not mid-run
    except ValueError as exc:  # "http://[x": an unclosed IPv6 literal
        return f"does not parse ({exc})"
    if "@" in parts.netloc:
        return "must not carry credentials (user:password@): they would end up in logs and in the archive"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http or https address (only http and https URLs are allowed), not {url!r}"
    secret = next((key for key, _value in parse_qsl(parts.query) if _SECRET_KEY.fullmatch(key)), None)
    if secret:  # a public price list needs none; named, not echoed
        return (f"must not carry a secret in its query ({secret}=...): it would end up in logs, mail and the "
                "archive")
    return None


# Query keys that carry credentials: api_key, access_token, signature, X-Amz-Credential...
_SECRET_KEY = re.compile(r"(?i)(x-amz-)?((api|access|auth|private|secret|client)[_-]?)?"
                         r"(key|token|secret|password|passwd|pwd|signature|sig|credential|auth)")


def _proxy_parses(proxy: str) -> bool:
    """Whether `proxy` reads as scheme, credentials, host and port and nothing else: an
    unencoded "/" or "#" in a password would otherwise turn the rest into a path, or the
    password into a port, found only mid-run, in a traceback that prints it."""
    parts = urlsplit(proxy)
    try:
        parts.port
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path in ("", "/")
            and not parts.query and not parts.fragment)


def _fetch_settings(raw: dict[str, Any]) -> FetchSettings:
    settings = typed_table(FetchSettings, raw, "[fetch]")
    if settings.proxy and not _proxy_parses(settings.proxy):  # not echoed: it may hold a password
        raise ConfigError("[fetch]: proxy must be an http:// or https:// URL, http://[user:password@]host[:port], "
                          "with any / # ? @ : in the user or password percent-encoded (%2F %23 %3F %40 %3A)")
    for network in settings.allowed_networks:
        try:
            ipaddress.ip_network(network)
        except ValueError as exc:
            raise ConfigError(f"[fetch]: allowed_networks: {exc}") from None
    return settings


def _analysis(raw: dict[str, Any]) -> AnalysisSettings:
    """Each table of analysis.toml checked on its own, so that a misspelt key in one is named."""
    section_types = {section.name: type(section.default) for section in fields(AnalysisSettings)}
    unknown = set(raw) - set(section_types)
    if unknown:
        raise ConfigError(f"analysis.toml: unknown table(s) {', '.join(sorted(unknown))}")
    return AnalysisSettings(**{name: typed_table(section_types[name], table, f"analysis.toml [{name}]")
                               for name, table in raw.items()})


def array_of_tables(raw: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    entries = raw.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(f"{where}: '{key}' must be an array of tables ([[{key}]])")
    return entries


def _models(directory: Path) -> dict[str, CanonicalModel]:
    models: dict[str, CanonicalModel] = {}
    files = sorted((directory / "models").glob("*.toml")) if (directory / "models").is_dir() else []
    for path in files:
        for raw in array_of_tables(_read_toml(path, True), "model", path.name):
            model = typed_table(CanonicalModel, raw, f"{path.name} model {raw.get('id', '?')!r}")
            models[model.id] = model
    return models


def load_config(directory: str | Path | None = None) -> Config:
    directory = Path(directory) if directory else default_config_dir()
    if not directory.is_dir():
        raise ConfigError(f"config directory not found: {directory}")
    raw = _read_toml(directory / "sources.toml", True)
    sources: dict[str, Source] = {}
    for entry in array_of_tables(raw, "source", "sources.toml"):
        source = _source(entry)
        if source.id in sources:
            raise ConfigError(f"source {source.id!r} is defined twice")
        sources[source.id] = source
    return Config(
        directory=directory,
        sources=sources,
        fetch=_fetch_settings(raw.get("fetch", {})),
        diff=typed_table(DiffSettings, raw.get("diff", {}), "[diff]"),
        models=_models(directory),
        analysis=_analysis(_read_toml(directory / "analysis.toml", False)),
        alerts=_read_toml(directory / "alerts.toml", False),
    )
