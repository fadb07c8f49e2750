"""Stage 1, fetch: get a page politely, within bounds, and log every attempt.

Bounds: a timeout per read and a time limit per request (a server trickling a byte a
second never times out a read), a fixed number of retries with backoff, a cap on the body
and on its decompressed size (a body cut short inside its compression is refused, not
read as a shorter page), a cap on redirects, and refusal of any hop to a non-http(s) URL
or to an address off the public internet (private, loopback, link-local, shared, reserved)
unless config allows that network
(checked again on the very address each connection is made to: see _GuardedBackend).
Politeness: robots.txt (RFC 9309: while it cannot be had, a kept copy stands, else
nothing may be fetched), one request at a time per host with a delay, Retry-After for the
whole host (one beyond the cap ends the fetch, and the run asks that host nothing more),
a User-Agent naming the project, and conditional GET so that an unchanged page costs a 304.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import socket
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterator, Protocol
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
import httpx
from protego import Protego

from pipeline.config import FetchSettings
from scrapers import decode_body
from scrapers._walls import WALL_HEAD, wall_in
from pipeline.errors import (
    BadBody,
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
ROBOTS_MAX_BYTES = 512_000  # RFC 9309 2.5: parse at least the first 500 KiB
ROBOTS_RETRY_SECONDS = 3600  # a robots.txt that could not be had is asked for again after this


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
    """One request at a time per host, at least `delay` seconds apart, and none before the time
    a Retry-After from that host named: it speaks for the host, not for one URL."""

    def __init__(self, delay: float, max_wait: float, sleep=time.sleep) -> None:
        self.delay, self.max_wait, self.sleep = delay, max_wait, sleep
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._not_before: dict[str, tuple[float, int]] = {}  # host -> (monotonic time, the HTTP status that asked)
        self._guard = threading.Lock()

    def hold(self, host: str) -> "_HostSlot":
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        return _HostSlot(self, host, lock)

    def defer(self, host: str, seconds: float, status: int) -> None:
        """The host answered `status` asking for no request in the next `seconds` (Retry-After)."""
        until = time.monotonic() + seconds
        with self._guard:
            if until > self._not_before.get(host, (0.0, status))[0]:
                self._not_before[host] = (until, status)

    def refuse_if_deferred(self, host: str) -> None:
        """Refuse to ask `host` anything while it asked, by a Retry-After beyond `max_wait`, for no request."""
        wait, status = self.deferred(host)
        if wait > self.max_wait:
            raise HTTPStatusError(f"{host} answered HTTP {status} asking for no request in the next {wait:.0f} s "
                                  f"(Retry-After), longer than retry_after_max_seconds = {self.max_wait:g}: not asked",
                                  status=status)

    def deferred(self, host: str) -> tuple[float, int | None]:
        """Seconds until the host takes requests again (0: now), and the status that asked for it."""
        until, status = self._not_before.get(host, (0.0, None))
        return max(0.0, until - time.monotonic()), status


class _HostSlot:
    def __init__(self, gate: HostGate, host: str, lock: threading.Lock) -> None:
        self.gate, self.host, self.lock = gate, host, lock

    def __enter__(self) -> None:
        self.lock.acquire()
        try:  # checked again under the lock: another thread may have been told to wait an hour meanwhile
            self.gate.refuse_if_deferred(self.host)
        except HTTPStatusError:
            self.lock.release()
            raise
        wait = max(self.gate._last.get(self.host, 0) + self.gate.delay - time.monotonic(),
                   self.gate.deferred(self.host)[0])
        if wait > 0:
            self.gate.sleep(wait)

    def __exit__(self, *exc) -> None:
        self.gate._last[self.host] = time.monotonic()
        self.lock.release()


def _forbidden(address: str, allowed: list) -> bool:
    """An address that is not on the public internet (private, loopback, link-local, shared
    like 100.64.0.0/10 where clouds put their metadata services, reserved, multicast), or an
    IPv6 one that embeds such an IPv4 address (mapped, 6to4, Teredo, NAT64, compatible,
    translated), and no allowed network holds."""
    ip = ipaddress.ip_address(address)
    if any(ip in network for network in allowed):
        return False
    embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ()), _last_32_bits(ip)] if ip.version == 6 else []
    return any(not each.is_global or each.is_multicast for each in [ip, *filter(None, embedded)])


# IPv6 forms whose last 32 bits are the IPv4 address reached: NAT64 (RFC 6052, 8215), and the
# IPv4-compatible (::a.b.c.d, RFC 4291) and IPv4-translated (::ffff:0:a.b.c.d, RFC 2765) forms,
# which Python counts as global.
_IPV4_IN_LAST_32_BITS = tuple(ipaddress.ip_network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96",
                                                                    "::ffff:0:0:0/96"))


def _last_32_bits(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if any(ip in net for net in _IPV4_IN_LAST_32_BITS) else None


def _redirect_target(current: str, location: str) -> str:
    """Where a redirect from `current` points; Refused when its Location does not parse."""
    try:
        return urljoin(current, location)
    except ValueError as exc:  # "http://[": an unclosed IPv6 literal
        raise Refused(f"refusing a redirect from {current} to a URL that does not parse ({exc})") from None


def _literal_address(host: str) -> str | None:
    """The address a host written as one stands for, in any form a resolver reads (127.0.0.1,
    2130706433, 0x7f.1, 127.1, [::1]), or None for a name."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


_request_deadline = threading.local()  # this thread's current request: when it must end, and if it ran out


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Reads in this thread end `seconds` from now (after the host's politeness wait, not during it)."""
    _request_deadline.at, _request_deadline.ran_out = time.monotonic() + seconds, False
    try:
        yield
    finally:
        _request_deadline.at = None


def _ran_out() -> bool:
    """Whether the last request of this thread timed out on its deadline rather than on one read."""
    return getattr(_request_deadline, "ran_out", False)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads end at the current request's deadline.  httpx's timeouts are
    per read, so a server trickling a byte a second, headers or body, would hold a run (and
    its host) for as long as it liked."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        self.overfed = False  # the server sent more than its answer: never reuse this connection

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        deadline = getattr(_request_deadline, "at", None)
        left = None if deadline is None else deadline - time.monotonic()
        if left is None or (timeout is not None and timeout <= left):
            return self._stream.read(max_bytes, timeout)
        try:
            if left <= 0:
                raise httpcore.ReadTimeout("the request ran out of time")
            return self._stream.read(max_bytes, left)
        except httpcore.ReadTimeout:
            _request_deadline.ran_out = True
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        if info == "is_readable" and self.overfed:  # how httpcore's pool asks whether an idle connection died
            return True
        return self._stream.get_extra_info(info)


def _drop_if_overfed(response: httpx.Response) -> None:
    """Keep a connection out of the pool when its server sent bytes past this answer's end (a
    304 with a body, an answer written twice): h11 keeps them, and httpcore would hand them to
    the connection's next request as its answer (encode/httpx#1474).  Only h11 sees them,
    reached here through httpx's and httpcore's private attributes, at the versions
    constraints.txt pins (tests/test_hostile_answers.py fails if they move)."""
    state = response.stream
    for name in ("_stream", "_httpcore_stream", "_stream", "_connection", "_h11_state"):
        state = getattr(state, name, None)
    stream = response.extensions.get("network_stream")
    if state is not None and state.trailing_data[0] and isinstance(stream, _DeadlineStream):
        stream.overfed = True


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
            return _DeadlineStream(super().connect_tcp(host, port, timeout, local_address, socket_options))
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        usable = [address for address in addresses if not _forbidden(address, self.allowed)]
        if not usable:
            raise Refused(f"refusing to connect to {host}: it resolves only to addresses off the public "
                          f"internet: private, loopback, link-local, shared or reserved ({', '.join(addresses)})")
        for address in usable:  # an IP literal: the parent's create_connection does not resolve it again
            try:
                return _DeadlineStream(super().connect_tcp(address, port, timeout, local_address, socket_options))
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
        self.gate = HostGate(settings.per_host_delay_seconds, settings.retry_after_max_seconds, sleep)
        self._robots: dict[str, _Robots] = {}
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
        try:
            parts = urlsplit(url)
            port = parts.port  # "http://[", a port of 99999: ValueError
            host = httpx.URL(url).host  # as it goes on the wire: "127。0。0。1" is 127.0.0.1 there
        except (ValueError, httpx.InvalidURL) as exc:
            raise Refused(f"refusing {url!r}: it does not parse ({exc})") from None
        if "@" in parts.netloc:  # not echoed: it would put the credentials in the log and the archive
            raise Refused("refusing a URL that carries credentials (user:password@)")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"refusing non-http(s) URL {url!r}")
        if "%" in host:  # a proxy may decode "%31%32%37.0.0.1" to 127.0.0.1; no public name has one
            raise Refused(f"refusing {url}: its host is percent-encoded")
        for address in self._addresses(host, port):
            if _forbidden(address, self._allowed):
                raise Refused(f"refusing {url}: {address} is off the public internet "
                              "(private, loopback, link-local, shared or reserved)")

    def _addresses(self, host: str, port: int | None) -> list[str]:
        """The addresses `host` stands for here.  Through a proxy, only an address written as one
        (in any form the proxy's resolver reads), and localhost: the proxy resolves names (and
        is often the only one here that can)."""
        if self.settings.proxy:
            host = host.rstrip(".")  # "localhost." and "127.0.0.1." are the same names
            if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
                return ["127.0.0.1"]
            literal = _literal_address(host)
            return [literal] if literal else []
        try:
            return [info[4][0] for info in socket.getaddrinfo(host, port or 0, proto=socket.IPPROTO_TCP)]
        except socket.gaierror as exc:
            raise FetchError(f"cannot resolve {host}: {exc.strerror}") from None
        except UnicodeError as exc:  # a label over 63 characters, which the resolver's IDNA codec refuses
            raise Refused(f"refusing {host}: not a host name ({exc})") from None

    def check_robots(self, url: str) -> None:
        """Refuse `url` when its origin's robots.txt disallows it, or cannot be had and no copy
        of it is kept: RFC 9309 2.3.1.4 then says to assume that everything is disallowed."""
        if not self.settings.obey_robots:
            return
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:  # one lock per origin: a slow robots.txt holds up its own host only
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            robots = self._robots.get(origin)
            if robots is None or time.time() > robots.expires:
                robots = self._robots[origin] = self._load_robots(origin)
        if robots.unreachable:
            raise Refused(f"robots.txt of {origin} cannot be had ({robots.unreachable}) and no copy is kept: "
                          "everything counts as disallowed until it can (RFC 9309)")
        if robots.rules is not None and not robots.rules.can_fetch(url, self.settings.user_agent.split("/")[0]):
            raise Refused(f"robots.txt disallows {url}")

    def _load_robots(self, origin: str) -> _Robots:
        """The origin's rules: the kept copy while it is under a day old, else fetched now and
        kept.  When it cannot be fetched, the kept copy stands, however old."""
        kept = self.robots_store.get(origin) if self.robots_store else None
        if kept is not None and time.time() - kept[0] <= ROBOTS_TTL_SECONDS:
            return _Robots(kept[0] + ROBOTS_TTL_SECONDS, kept[1])
        fetched_at = time.time()
        try:
            body = self._fetch_robots(origin)
        except _RobotsUnreachable as why:
            if kept is not None:
                return _Robots(fetched_at + ROBOTS_RETRY_SECONDS, kept[1])
            return _Robots(fetched_at + ROBOTS_RETRY_SECONDS, None, unreachable=str(why))
        if self.robots_store:
            self.robots_store.put(origin, fetched_at, body)
        return _Robots(fetched_at + ROBOTS_TTL_SECONDS, body)

    def _fetch_robots(self, origin: str) -> str | None:
        """The origin's robots.txt (its first 500 KiB), following redirects (often http to https,
        or to www.); None when there is none (a 4xx: no rules, RFC 9309 2.3.1.3).  Raises
        _RobotsUnreachable on a 5xx, a 429 or a network error."""
        url = f"{origin}/robots.txt"
        try:
            for _hop in range(ROBOTS_MAX_REDIRECTS + 1):
                host = urlsplit(url).netloc
                with self.gate.hold(host), _deadline(self.settings.attempt_max_seconds), \
                        self.client.stream("GET", url, timeout=min(10, self.settings.timeout_seconds)) as response:
                    if response.has_redirect_location:
                        url = _redirect_target(url, response.headers["location"])
                        self.check_url(url)
                        continue
                    status = response.status_code
                    if status >= 500 or status == 429:
                        self.gate.defer(host, self._retry_after(response) or 0, status)
                        raise _RobotsUnreachable(f"HTTP {status}")
                    if status != 200:
                        return None
                    return decode_body(self._read_body(response, keep=ROBOTS_MAX_BYTES),
                                       response.headers.get("content-type"))
            return None  # more redirects than RFC 9309 asks to follow: as if there were none
        except (httpx.HTTPError, httpx.InvalidURL, FetchError) as exc:
            raise _RobotsUnreachable(exc.__class__.__name__) from None

    # -- the fetch ------------------------------------------------------------------------
    def fetch(self, url: str, validators: Validators | None = None) -> Fetched:
        """GET `url`, or raise a FetchError whose `attempts` says what was tried."""
        attempts: list[Attempt] = []
        try:
            self.check_url(url)
            self.gate.refuse_if_deferred(urlsplit(url).netloc)  # before robots.txt, which it would refuse too
            self.check_robots(url)
            for number in range(1, self.settings.retries + 2):
                try:
                    return self._attempt(url, number, validators, attempts)
                except _Retry as retry:
                    if number > self.settings.retries:
                        raise retry.error from None
                    if retry.wait is None:  # else the host's Retry-After holds the next request back (HostGate)
                        self.sleep(self.settings.backoff_seconds * 2 ** (number - 1))
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
                host = urlsplit(current).netloc
                with self.gate.hold(host), _deadline(self.settings.attempt_max_seconds), \
                        self.client.stream("GET", current, headers=headers) as response:
                    log.http_status = response.status_code
                    if not response.has_redirect_location:
                        content = self._read_body(response)
                        log.bytes = len(content)
                        return self._judge(url, current, response, content, log, attempts, validators)
                    target = _redirect_target(current, response.headers.get("location", ""))
                # Checked with the host's turn given back: the target's robots.txt may be on another host.
                self.check_url(target)
                self.check_robots(target)  # a redirect's target is fetched like any page (RFC 9309)
                current = target
            raise RedirectLoop(f"too many redirects (more than {self.settings.max_redirects}) from {url}")
        except httpx.TimeoutException as exc:
            why = exc.__class__.__name__
            if _ran_out():
                why = f"no complete answer within attempt_max_seconds = {self.settings.attempt_max_seconds:g}"
            self._fail(log, "timeout", f"timed out: {why}")
            raise _Retry(FetchTimeout(f"timed out fetching {url} ({why})"))
        except BadBody as error:
            self._fail(log, error.reason, str(error))
            raise _Retry(error) if error.retryable else error
        except httpx.InvalidURL as exc:  # a Location httpx cannot even parse: "javascript:...", "http:\\host"
            error = Refused(f"refusing a redirect from {current} to a URL that does not parse ({exc})")
            self._fail(log, error.reason, str(error))
            raise error from None
        except httpx.TransportError as exc:
            self._fail(log, "connection_error", f"{exc.__class__.__name__}: {exc}")
            raise _Retry(ConnectionFailed(f"connection failed for {url}: {exc.__class__.__name__}: {exc}"))
        except FetchError as error:
            self._fail(log, error.reason, str(error))
            raise
        finally:
            log.finished_at = _now()

    def _read_body(self, response: httpx.Response, *, keep: int | None = None) -> bytes:
        """The body, decompressed here rather than by httpx so that no step can outgrow the cap:
        httpx inflates each network chunk whole, and 64 KB of a gzip bomb is 64 MB.  With `keep`,
        only the first `keep` bytes are wanted: reading stops there, and the rest is no error.
        A body read to its end leaves its connection out of the pool if more came after it."""
        declared = response.headers.get("content-length")
        if keep is None and declared and declared.isdigit() and int(declared) > self.settings.max_bytes:
            raise TooLarge(f"body of {declared} bytes is above the cap of {self.settings.max_bytes}")
        inflaters: list[_Inflater] | None = None  # made at the first byte: a 304 may name a coding and send nothing
        cap = keep if keep is not None else self.settings.max_decompressed_bytes
        body, raw = bytearray(), 0
        for chunk in response.iter_raw():
            if inflaters is None:
                inflaters = _inflaters(response.headers.get("content-encoding", ""))
            raw += len(chunk)
            if raw > self.settings.max_bytes:
                raise TooLarge(f"body above the cap of {self.settings.max_bytes} bytes")
            for inflater in inflaters:
                chunk = inflater.inflate(chunk, cap - len(body))
            body += chunk
            if len(body) > cap:
                if keep is not None:
                    return bytes(body[:keep])
                raise TooLarge(f"decompressed body above the cap of {self.settings.max_decompressed_bytes} bytes")
        for inflater in inflaters or ():
            inflater.finish()
        _drop_if_overfed(response)
        return bytes(body)

    def _judge(self, url: str, final: str, response: httpx.Response, content: bytes, log: Attempt,
               attempts: list[Attempt], validators: Validators | None) -> Fetched:
        status = response.status_code
        wall = bot_wall(content, response.headers)
        if wall:
            raise Blocked(f"{wall} at {final} (HTTP {status})")
        if status == 304:
            if not (validators and (validators.etag or validators.last_modified)):
                raise HTTPStatusError(f"HTTP 304 from {final} to a request that named no version to compare with",
                                      status=status)
            log.outcome = "not_modified"
            return Fetched(url, final, status, b"", None, _now(), not_modified=True, attempts=attempts)
        if status in RETRYABLE_STATUS:
            log.outcome, log.error = "http_error", f"HTTP {status}"
            error = HTTPStatusError(f"HTTP {status} from {final}", status=status)
            wait = self._retry_after(response)
            if wait is not None:
                self.gate.defer(urlsplit(final).netloc, wait, status)
                if wait > self.settings.retry_after_max_seconds:  # not worth a retry, nor any request to that host
                    raise HTTPStatusError(f"HTTP {status} from {final}, asking for no request in the next "
                                          f"{wait:.0f} s (Retry-After), longer than retry_after_max_seconds "
                                          f"= {self.settings.retry_after_max_seconds:g}", status=status)
            raise _Retry(error, wait)
        if 300 <= status < 400:  # a redirect with a Location was followed: this one has none
            raise HTTPStatusError(f"HTTP {status} from {final} without a Location to follow", status=status)
        if status >= 400:
            raise HTTPStatusError(f"HTTP {status} from {final}", status=status)
        log.outcome = "ok"
        log.etag = response.headers.get("etag")
        log.last_modified = response.headers.get("last-modified")
        return Fetched(url, final, status, content, response.headers.get("content-type"), _now(),
                       etag=log.etag, last_modified=log.last_modified, attempts=attempts)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        """Seconds to wait by the response's Retry-After: whole seconds or an HTTP date (RFC 9110
        10.2.3); None when it has none, or something else (then the usual backoff applies)."""
        value = response.headers.get("retry-after", "").strip()
        if value.isascii() and value.isdigit():  # "²" is a digit to isdigit()
            return float(value)
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # the year 99999999999999999999
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return max(0.0, (parsed - _now()).total_seconds())

    @staticmethod
    def _fail(log: Attempt, outcome: str, error: str) -> None:
        log.outcome, log.error = outcome, error


class _Inflater:
    """One layer of gzip or deflate, inflated at most `room + 1` bytes at a time.  A gzip body
    may hold several members, one after the other; one that ends unfinished was cut short."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.gzip = encoding in ("gzip", "x-gzip")
        self.raw_deflate_tried = False
        self.decoder = self._decoder()

    def _decoder(self):
        return zlib.decompressobj(zlib.MAX_WBITS | 16 if self.gzip else zlib.MAX_WBITS)

    def inflate(self, data: bytes, room: int) -> bytes:
        try:
            out = self.decoder.decompress(data, max(room, 0) + 1)
            while self.gzip and self.decoder.eof and self.decoder.unused_data[:2] == b"\x1f\x8b" and len(out) <= room:
                following, self.decoder = self.decoder.unused_data, self._decoder()
                out += self.decoder.decompress(following, max(room - len(out), 0) + 1)
        except zlib.error as exc:
            if self.encoding == "deflate" and not self.raw_deflate_tried:  # servers send raw deflate too
                self.raw_deflate_tried = True
                self.decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.inflate(data, room)
            raise BadBody(f"corrupt {self.encoding} body: {exc}") from None
        self.raw_deflate_tried = True
        return out  # anything left in decoder.unconsumed_tail means more than `room`: the caller refuses it

    def finish(self) -> None:
        """At the end of the body: refuse one cut short inside its compressed stream."""
        if not self.decoder.eof:
            raise BadBody(f"body cut short: its {self.encoding} stream ends unfinished")


# Compressions we do not decode (and do not ask for): read as the page, they would be garbage.
_UNDECODED = {"br", "zstd", "compress", "x-compress"}

# Each layer's decoder holds its own window: thousands of them, in a header under 100 KB, took
# 640 MB however small the body.  urllib3 stops at five too (CVE-2025-66418).
MAX_CODINGS = 5


def _inflaters(content_encoding: str) -> list[_Inflater]:
    """Decoders in the order to apply them (the header lists them in the order applied).  We
    ask for gzip or deflate only; a compression we cannot decode is refused, and any other
    token (misconfigured servers send `utf-8`, `none`, `binary`) is no coding at all."""
    names = [name.strip().lower() for name in content_encoding.split(",") if name.strip()]
    unreadable = [name for name in names if name in _UNDECODED]
    if unreadable:
        raise BadBody(f"body in Content-Encoding {', '.join(unreadable)}, which was not asked for", retryable=False)
    layers = [name for name in reversed(names) if name in ("gzip", "x-gzip", "deflate")]
    if len(layers) > MAX_CODINGS:
        raise BadBody(f"body compressed {len(layers)} times over (Content-Encoding), more than {MAX_CODINGS}",
                      retryable=False)
    return [_Inflater(name) for name in layers]


@dataclass(frozen=True)
class _Robots:
    """An origin's robots.txt as this fetcher holds it, until `expires` (epoch seconds)."""

    expires: float
    body: str | None  # None: no rules
    unreachable: str | None = None  # why it could not be had, when no copy is kept either

    @functools.cached_property
    def rules(self) -> Protego | None:
        return None if self.body is None else Protego.parse(self.body)


class _RobotsUnreachable(Exception):
    pass


class _Retry(Exception):
    def __init__(self, error: FetchError, wait: float | None = None) -> None:
        self.error, self.wait = error, wait
