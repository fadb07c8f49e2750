"""Stage 1, fetch: get a page politely, within bounds, and log every attempt.

Bounds: a timeout per attempt, a fixed number of retries with backoff (Retry-After is
honoured up to a cap), a cap on the body and on its decompressed size, a cap on
redirects, and refusal of any hop to a non-http(s) URL or to a private, loopback or
link-local address unless config allows that network (checked again on the very address
each connection is made to: see _GuardedBackend).  Politeness: robots.txt, one
request at a time per host with a delay, a User-Agent naming the project, and
conditional GET so that an unchanged page costs a 304.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
import httpx
from protego import Protego

from pipeline.config import FetchSettings
from scrapers._walls import WALL_HEAD, wall_in
from pipeline.errors import (
    Blocked,
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RedirectLoop,
    Refused,
    TooLarge,
)

if TYPE_CHECKING:  # only named in a type: fetching needs no database layer
    from pipeline.archive import Archived

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
ROBOTS_TTL_SECONDS = 24 * 3600  # RFC 9309 2.4: a cached robots.txt is not used for more than a day
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 2.3.1.2: follow at least five redirects


def bot_wall(content: bytes, headers: httpx.Headers | dict | None = None) -> str | None:
    """The name of the bot wall this response is, or None."""
    if headers and str(headers.get("cf-mitigated", "")).lower() == "challenge":
        return "Cloudflare challenge (cf-mitigated header)"
    marker = wall_in(content[:WALL_HEAD].decode("utf-8", errors="replace"))
    return f"bot wall ({marker})" if marker else None


@dataclass
class Attempt:
    url: str
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    http_status: int | None = None
    bytes: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def duration_ms(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


@dataclass
class Fetched:
    url: str
    final_url: str
    status: int
    content: bytes
    content_type: str | None
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    # A 304: the archived snapshot the page still is.  Its bytes are loaded (pipeline.run) only
    # if the page must be parsed again.
    archived: Archived | None = None


@dataclass(frozen=True)
class Validators:
    """What we last saw of a URL, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


class RobotsStore(Protocol):
    """Where robots.txt files are kept between runs (pipeline.run.RobotsArchive keeps them in
    the database): origin -> (fetched at, epoch seconds; body, None for no rules)."""

    def get(self, origin: str) -> tuple[float, str | None] | None: ...

    def put(self, origin: str, fetched_at: float, body: str | None) -> None: ...


class HostGate:
    """One request at a time per host, at least `delay` seconds apart."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    def hold(self, host: str) -> "_HostSlot":
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        return _HostSlot(self, host, lock)


class _HostSlot:
    def __init__(self, gate: HostGate, host: str, lock: threading.Lock) -> None:
        self.gate, self.host, self.lock = gate, host, lock

    def __enter__(self) -> None:
        self.lock.acquire()
        wait = self.gate._last.get(self.host, 0) + self.gate.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def __exit__(self, *exc) -> None:
        self.gate._last[self.host] = time.monotonic()
        self.lock.release()


def _forbidden(address: str, allowed: list) -> bool:
    """A private, loopback, link-local (or otherwise non-public) address no allowed network holds."""
    ip = ipaddress.ip_address(address)
    return ((ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
             or ip.is_unspecified) and not any(ip in network for network in allowed))


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host once, when the connection is made, and connects only to an address that
    passes the check.  Checking a name apart from the connection is not enough: httpcore would
    resolve it again, and a hostile DNS server can answer a public address to the check and
    127.0.0.1 or 169.254.169.254 to the connection (DNS rebinding).  TLS is unaffected: httpcore
    passes the URL's host, not the IP, to start_tls as server_hostname (SNI and verification)."""

    def __init__(self, allowed: list, proxy_host: str | None = None) -> None:
        self.allowed = allowed
        self.proxy_host = proxy_host  # the operator's own proxy, reached wherever it is

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options=None) -> httpcore.NetworkStream:
        if host == self.proxy_host:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        usable = [address for address in addresses if not _forbidden(address, self.allowed)]
        if not usable:
            raise Refused(f"refusing to connect to {host}: it resolves only to private, loopback or link-local "
                          f"addresses ({', '.join(addresses)})")
        for address in usable:  # an IP literal: the parent's create_connection does not resolve it again
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error


class _PoolPerHost:
    """httpcore pools, one per origin, behind the one interface httpx's transport uses.

    httpcore's pool scans every connection it holds, and polls each idle one's socket, for
    every request and every response closed: with one pool for twenty hosts, 200 unchanged
    sources took 0.37 s in sequence, and 0.32 s with a pool per host.  Politeness sends one
    request at a time per host (HostGate), so each pool holds a connection or two."""

    def __init__(self, make_pool) -> None:
        self._make_pool = make_pool
        self._pools: dict[tuple, httpcore.ConnectionInterface] = {}
        self._guard = threading.Lock()

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        origin = (request.url.scheme, request.url.host, request.url.port)
        pool = self._pools.get(origin)
        if pool is None:
            with self._guard:
                pool = self._pools.setdefault(origin, self._make_pool())
        return pool.handle_request(request)

    def close(self) -> None:
        with self._guard:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def __enter__(self) -> _PoolPerHost:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with its pools connecting through _GuardedBackend, directly or through
    the configured proxy.  httpx 0.28 takes no network backend (encode/httpx#3749 proposes one),
    so the pool is rebuilt with httpx's defaults, one per host (_PoolPerHost)."""

    def __init__(self, allowed: list, proxy: str = "") -> None:
        ssl_context = httpx.create_ssl_context()  # loaded once (it costs 15 ms), for every pool
        super().__init__(verify=ssl_context)
        self._pool.close()
        parts = urlsplit(proxy)
        limits = {"ssl_context": ssl_context, "max_connections": 10, "max_keepalive_connections": 2,
                  "keepalive_expiry": 5.0, "network_backend": _GuardedBackend(allowed, parts.hostname)}
        if not proxy:
            self._pool = _PoolPerHost(lambda: httpcore.ConnectionPool(**limits))
            return
        auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._pool = _PoolPerHost(lambda: httpcore.HTTPProxy(
            proxy_url=f"{parts.scheme}://{parts.hostname}:{port}", proxy_auth=auth, **limits))


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Fetcher:
    """A polite HTTP client for one run; safe to share between threads."""

    def __init__(self, settings: FetchSettings, *, transport: httpx.BaseTransport | None = None,
                 sleep=time.sleep, robots_store: RobotsStore | None = None) -> None:
        self.settings = settings
        self.sleep = sleep
        self.robots_store = robots_store
        self.gate = HostGate(settings.per_host_delay_seconds)
        self._robots: dict[str, tuple[float, Protego | None]] = {}  # origin -> (when loaded, rules)
        self._robots_lock = threading.Lock()
        self._robots_locks: dict[str, threading.Lock] = {}
        self._allowed = [ipaddress.ip_network(n) for n in settings.allowed_networks]
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            follow_redirects=False,
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport if transport is not None else _GuardedTransport(self._allowed, settings.proxy),
        )

    @property
    def user_agent(self) -> str:
        agent = self.settings.user_agent
        if self.settings.contact_url and self.settings.contact_url not in agent:
            agent = f"{agent} (+{self.settings.contact_url})"
        return agent

    def close(self) -> None:
        self.client.close()

    # -- checks -------------------------------------------------------------------------
    def check_url(self, url: str) -> None:
        """Refuse a URL early, naming it: a scheme other than http(s), credentials, or a host that
        resolves to a forbidden address now.  Only an early answer: the connection is checked
        again, on the address it is made to, by _GuardedBackend."""
        parts = urlsplit(url)
        if "@" in parts.netloc:  # not echoed: it would put the credentials in the log and the archive
            raise Refused("refusing a URL that carries credentials (user:password@)")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"refusing non-http(s) URL {url!r}")
        for address in self._addresses(parts.hostname, parts.port):
            if _forbidden(address, self._allowed):
                raise Refused(f"refusing {url}: {address} is a private, loopback or link-local address")

    def _addresses(self, host: str, port: int | None) -> list[str]:
        """The addresses `host` stands for here.  Through a proxy, only a literal address: the
        proxy resolves names (and is often the only one here that can)."""
        if self.settings.proxy:
            try:
                return [str(ipaddress.ip_address(host))]
            except ValueError:
                return []
        try:
            return [info[4][0] for info in socket.getaddrinfo(host, port or 0, proto=socket.IPPROTO_TCP)]
        except socket.gaierror as exc:
            raise FetchError(f"cannot resolve {host}: {exc.strerror}") from None

    def robots_allow(self, url: str) -> bool:
        if not self.settings.obey_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:  # one lock per origin: a slow robots.txt holds up its own host only
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            cached = self._robots.get(origin)
            if cached is None or time.time() - cached[0] > ROBOTS_TTL_SECONDS:
                cached = self._robots[origin] = self._load_robots(origin)
        robots = cached[1]
        return robots is None or robots.can_fetch(url, self.settings.user_agent.split("/")[0])

    def _load_robots(self, origin: str) -> tuple[float, Protego | None]:
        """When the origin's rules were fetched (epoch seconds), and the rules (None: no rules):
        the kept copy while it is under a day old, else fetched now and kept."""
        kept = self.robots_store.get(origin) if self.robots_store else None
        if kept is not None and time.time() - kept[0] <= ROBOTS_TTL_SECONDS:
            fetched_at, body = kept
        else:
            fetched_at, (body, definite) = time.time(), self._fetch_robots(origin)
            if definite and self.robots_store:
                self.robots_store.put(origin, fetched_at, body)
        return fetched_at, None if body is None else Protego.parse(body)

    def _fetch_robots(self, origin: str) -> tuple[str | None, bool]:
        """The origin's robots.txt, following redirects (often http to https, or to www.), and
        whether that answer is definite.  None means no rules: no robots.txt (definite), or none
        reachable (not definite: not kept, so the next run asks again)."""
        url = f"{origin}/robots.txt"
        try:
            for _hop in range(ROBOTS_MAX_REDIRECTS + 1):
                with self.gate.hold(urlsplit(url).netloc):
                    response = self.client.get(url, timeout=min(10, self.settings.timeout_seconds))
                if not response.has_redirect_location:
                    break
                url = urljoin(url, response.headers["location"])
                self.check_url(url)
            else:
                return None, False
        except (httpx.HTTPError, FetchError):
            return None, False
        if response.status_code >= 500 or response.status_code == 429:
            return None, False
        if response.status_code != 200 or len(response.content) > 500_000:
            return None, True
        return response.text, True

    # -- the fetch ------------------------------------------------------------------------
    def fetch(self, url: str, validators: Validators | None = None) -> Fetched:
        """GET `url`, or raise a FetchError whose `attempts` says what was tried."""
        attempts: list[Attempt] = []
        try:
            self.check_url(url)
            if not self.robots_allow(url):
                raise Refused(f"robots.txt disallows {url}")
            for number in range(1, self.settings.retries + 2):
                try:
                    return self._attempt(url, number, validators, attempts)
                except _Retry as retry:
                    if number > self.settings.retries:
                        raise retry.error from None
                    self.sleep(retry.wait if retry.wait is not None
                               else self.settings.backoff_seconds * 2 ** (number - 1))
            raise AssertionError("unreachable")
        except FetchError as error:
            error.attempts = attempts  # type: ignore[attr-defined]
            if not attempts:
                now = _now()
                attempts.append(Attempt(url, 1, now, now, error.reason, error=str(error)))
            raise

    def _attempt(self, url: str, number: int, validators: Validators | None, attempts: list[Attempt]) -> Fetched:
        started = _now()
        current = url
        log = Attempt(url, number, started, started, "error")
        attempts.append(log)
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        try:
            for _hop in range(self.settings.max_redirects + 1):
                with self.gate.hold(urlsplit(current).netloc):
                    with self.client.stream("GET", current, headers=headers) as response:
                        log.http_status = response.status_code
                        if response.has_redirect_location:
                            target = urljoin(current, response.headers.get("location", ""))
                            self.check_url(target)
                            current = target
                            continue
                        content = self._read_capped(response, log)
                        return self._judge(url, current, response, content, log, attempts)
            raise RedirectLoop(f"too many redirects (more than {self.settings.max_redirects}) from {url}")
        except httpx.TimeoutException as exc:
            self._fail(log, "timeout", f"timed out: {exc.__class__.__name__}")
            raise _Retry(FetchTimeout(f"timed out fetching {url} ({exc.__class__.__name__})"))
        except (httpx.TransportError, httpx.DecodingError) as exc:
            self._fail(log, "connection_error", f"{exc.__class__.__name__}: {exc}")
            raise _Retry(ConnectionFailed(f"connection failed for {url}: {exc.__class__.__name__}: {exc}"))
        except FetchError as error:
            self._fail(log, error.reason, str(error))
            raise
        finally:
            log.finished_at = _now()

    def _read_capped(self, response: httpx.Response, log: Attempt) -> bytes:
        """The body, decompressed here rather than by httpx so that no step can outgrow the cap:
        httpx inflates each network chunk whole, and 64 KB of a gzip bomb is 64 MB."""
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.settings.max_bytes:
            raise TooLarge(f"body of {declared} bytes is above the cap of {self.settings.max_bytes}")
        inflaters = _inflaters(response.headers.get("content-encoding", ""))
        body, raw = bytearray(), 0
        for chunk in response.iter_raw():
            raw += len(chunk)
            if raw > self.settings.max_bytes:
                raise TooLarge(f"body above the cap of {self.settings.max_bytes} bytes")
            for inflater in inflaters:
                chunk = inflater.inflate(chunk, self.settings.max_decompressed_bytes - len(body))
            body += chunk
            if len(body) > self.settings.max_decompressed_bytes:
                raise TooLarge(f"decompressed body above the cap of {self.settings.max_decompressed_bytes} bytes")
        log.bytes = len(body)
        return bytes(body)

    def _judge(self, url: str, final: str, response: httpx.Response, content: bytes, log: Attempt,
               attempts: list[Attempt]) -> Fetched:
        status = response.status_code
        wall = bot_wall(content, response.headers)
        if wall:
            raise Blocked(f"{wall} at {final} (HTTP {status})")
        if status == 304:
            log.outcome = "not_modified"
            return Fetched(url, final, status, b"", None, _now(), not_modified=True, attempts=attempts)
        if status in RETRYABLE_STATUS:
            log.outcome, log.error = "http_error", f"HTTP {status}"
            raise _Retry(HTTPStatusError(f"HTTP {status} from {final}", status=status), self._retry_after(response))
        if status >= 400:
            raise HTTPStatusError(f"HTTP {status} from {final}", status=status)
        log.outcome = "ok"
        log.etag = response.headers.get("etag")
        log.last_modified = response.headers.get("last-modified")
        return Fetched(url, final, status, content, response.headers.get("content-type"), _now(),
                       etag=log.etag, last_modified=log.last_modified, attempts=attempts)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):  # neither seconds nor an HTTP date: back off as usual
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            seconds = (parsed - _now()).total_seconds()
        return max(0.0, min(seconds, self.settings.retry_after_max_seconds))

    @staticmethod
    def _fail(log: Attempt, outcome: str, error: str) -> None:
        log.outcome, log.error = outcome, error


class _Inflater:
    """One layer of gzip or deflate, inflated at most `room + 1` bytes at a time."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.raw_deflate_tried = False
        self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS)

    def inflate(self, data: bytes, room: int) -> bytes:
        try:
            out = self.decoder.decompress(data, max(room, 0) + 1)
        except zlib.error as exc:
            if self.encoding == "deflate" and not self.raw_deflate_tried:  # servers send raw deflate too
                self.raw_deflate_tried = True
                self.decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.inflate(data, room)
            raise httpx.DecodingError(f"bad {self.encoding} body: {exc}") from None
        self.raw_deflate_tried = True
        return out  # anything left in decoder.unconsumed_tail means more than `room`: the caller refuses it


def _inflaters(content_encoding: str) -> list[_Inflater]:
    """Decoders in the order to apply them (the header lists them in the order applied)."""
    names = [name.strip().lower() for name in content_encoding.split(",") if name.strip()]
    return [_Inflater(name) for name in reversed(names) if name in ("gzip", "x-gzip", "deflate")]


class _Retry(Exception):
    def __init__(self, error: FetchError, wait: float | None = None) -> None:
        self.error, self.wait = error, wait
