"""A real HTTP server on a loopback address that serves pages and misbehaves on command.

Routes are set per test: `server.route("/path", body, status=200, headers={...})`; a status
such as 429 (with a `Retry-After` header), 500 or 503 is just a route, and `then=Route(...)`
with `times=N` serves something else after N hits (a rate limit that lifts).  A fault is
`server.route("/path", body, fault=...)` with one of:

    hang_headers    accept, then say nothing (a read timeout before the headers)
    hang_body       send headers and 100 bytes of `body`, then stall
    drop            close the connection without a word
    truncate        promise twice the body's length, send the body, close
    gzip_cut        the body gzipped and cut at two thirds, with that (consistent) length
    gzip_cut_close  the same with no length, ended by closing the connection
    drip            send headers, then the body a byte every 0.2 s (no read ever times out)
    huge            declare and send 50 MB
    huge_chunked    send 50 MB chunked, with no length declared
    gzip_bomb       200 MB of zeros, gzip-compressed to ~200 KB
    redirect_loop   a 302 to itself
    cloudflare      a 403 Cloudflare "Just a moment..." challenge page

`server.hits[path]` counts requests and `server.hit_times[path]` says when (monotonic).
`LocalServer(host="127.0.0.5", latency=0.05)` listens on another loopback address and
waits before every answer, like a distant host; `conditional=True` on a route answers
304 to a request whose If-None-Match carries the route's ETag.
"""

from __future__ import annotations

import functools
import gzip
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE_BYTES = 50 * 1024 * 1024
CLOUDFLARE_CHALLENGE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                        b"<div id=\"challenge-platform\"></div><script>window._cf_chl_opt={cvId: '3'};</script>"
                        b"</body></html>")


@functools.cache
def gzip_bomb() -> bytes:
    """200 MB of zeros as ~200 KB of gzip, built once per process, a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    megabyte = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(megabyte) for _ in range(200)) + packer.flush()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None
    delay: float = 0.0
    then: "Route | None" = None  # served once the fault has been served `times` times
    times: int = 10**9
    conditional: bool = False  # 304 when If-None-Match names this route's ETag


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a run opens many connections at once; the default 5 would drop some

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up on a fault is the point
            super().handle_error(request, client_address)


class LocalServer:
    def __init__(self, host: str = "127.0.0.1", latency: float = 0.0) -> None:
        self.latency = latency
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.hit_times: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.request_headers: dict[str, list[dict[str, str]]] = {}
        self.stop_event = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm the body would wait
            # for the client's delayed ACK (40 ms on Linux), as no real server makes it wait.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._handle(self)

        self.httpd = _Server((host, 0), Handler)
        # A short poll interval: shutdown() waits for it, and a test may start dozens of servers.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, body: bytes | str = b"", status: int = 200, **kwargs) -> Route:
        body = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=body, status=status, **kwargs)
        return self.routes[path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.hits[path] += 1
            hits = self.hits[path]
            self.hit_times.setdefault(path, []).append(time.monotonic())
            self.request_headers.setdefault(path, []).append(dict(handler.headers))
        if self.latency:
            time.sleep(self.latency)
        route = self.routes.get(path)
        if route is None:
            return self._send(handler, 404, b"not found", {})
        if route.then is not None and hits > route.times:
            route = route.then
        if route.delay:
            time.sleep(route.delay)
        fault = route.fault
        if fault is None:
            etag = route.headers.get("ETag")
            if route.conditional and etag and handler.headers.get("If-None-Match") == etag:
                return self._send(handler, 304, b"", {"ETag": etag})
            return self._send(handler, route.status, route.body, route.headers)
        if fault == "hang_headers":
            self.stop_event.wait(30)
            return None
        if fault == "hang_body":
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(route.body) + 1000))
            handler.end_headers()
            handler.wfile.write(route.body[:100])
            handler.wfile.flush()
            self.stop_event.wait(30)
            return None
        if fault == "drop":
            handler.close_connection = True
            handler.connection.close()
            return None
        if fault == "truncate":
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(route.body) * 2))
            handler.end_headers()
            handler.wfile.write(route.body)
            handler.close_connection = True
            return None
        if fault in ("gzip_cut", "gzip_cut_close"):
            packed = gzip.compress(route.body)
            cut = packed[:len(packed) * 2 // 3]
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            if fault == "gzip_cut_close":
                headers["Connection"] = "close"
                handler.close_connection = True
                handler.protocol_version = "HTTP/1.0"
            return self._send(handler, 200, cut, headers, length=fault == "gzip_cut")
        if fault == "drip":
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(route.body)))
            handler.end_headers()
            try:
                for byte in route.body:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    if self.stop_event.wait(0.2):
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if fault == "huge":
            size = HUGE_BYTES
            handler.send_response(200)
            handler.send_header("Content-Length", str(size))
            handler.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(size // len(chunk)):
                    handler.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if fault == "huge_chunked":
            handler.send_response(200)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(HUGE_BYTES // len(chunk)):
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                handler.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if fault == "gzip_bomb":
            return self._send(handler, 200, gzip_bomb(), {"Content-Encoding": "gzip", "Content-Type": "application/json"})
        if fault == "redirect_loop":
            return self._send(handler, 302, b"", {"Location": path})
        if fault == "cloudflare":
            return self._send(handler, 403, CLOUDFLARE_CHALLENGE,
                              {"Content-Type": "text/html; charset=UTF-8", "cf-mitigated": "challenge", "Server": "cloudflare"})
        raise ValueError(f"unknown fault {fault}")

    @staticmethod
    def _send(handler, status: int, body: bytes, headers: dict[str, str], length: bool = True) -> None:
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            if length and "Content-Length" not in headers:
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if status != 304:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def __enter__(self) -> "LocalServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Visit:
    path: str
    started: float
    finished: float | None = None  # None while the answer is still being made
    held: bool = False  # answered only once the test released the path


class TimedServer(LocalServer):
    """A LocalServer that logs when each request began and ended, so that politeness and
    overlap are judged from the server's side, and that can hold a path's answers until the
    test releases them (an overlap made deterministic rather than timed)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.visits: list[Visit] = []
        self.holds: dict[str, threading.Event] = {}

    def hold(self, path: str) -> threading.Event:
        """Answers to `path` wait until the returned event is set (30 s at most)."""
        self.holds[path] = threading.Event()
        return self.holds[path]

    def visits_to(self, path: str) -> list[Visit]:
        return [v for v in self.visits if v.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        visit = Visit(handler.path, time.monotonic())
        self.visits.append(visit)
        try:
            release = self.holds.get(handler.path)
            if release is not None:
                visit.held = True
                release.wait(30)
            super()._handle(handler)
        finally:
            visit.finished = time.monotonic()

    def __exit__(self, *exc) -> None:
        for release in self.holds.values():
            release.set()
        super().__exit__(*exc)


def wait_until(condition, timeout: float = 30.0) -> None:
    """Poll `condition` (say, "the server has seen this request") until true, or fail the test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the server to see the expected requests")
        time.sleep(0.05)
