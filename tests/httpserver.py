"""A real HTTP server on 127.0.0.1 that serves pages and misbehaves on command.

Routes are set per test: `server.route("/path", body, status=200, headers={...})`, or a
fault: `server.fault("/path", "hang_headers" | "hang_body" | "drop" | "truncate" | "huge" |
"gzip_bomb" | "redirect_loop" | "retry_after")`.  `server.hits[path]` counts requests.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None
    delay: float = 0.0
    then: "Route | None" = None  # served once the fault has been served `times` times
    times: int = 10**9


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.request_headers: dict[str, list[dict[str, str]]] = {}
        self.stop_event = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, path: str, body: bytes | str = b"", status: int = 200, **kwargs) -> Route:
        body = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=body, status=status, **kwargs)
        return self.routes[path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        self.hits[path] += 1
        self.request_headers.setdefault(path, []).append(dict(handler.headers))
        route = self.routes.get(path)
        if route is None:
            return self._send(handler, 404, b"not found", {})
        if route.then is not None and self.hits[path] > route.times:
            route = route.then
        if route.delay:
            time.sleep(route.delay)
        fault = route.fault
        if fault is None:
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
        if fault == "huge":
            size = 50 * 1024 * 1024
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
                for _ in range(800):
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                handler.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if fault == "gzip_bomb":
            bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)
            return self._send(handler, 200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
        if fault == "redirect_loop":
            return self._send(handler, 302, b"", {"Location": path})
        raise ValueError(f"unknown fault {fault}")

    @staticmethod
    def _send(handler, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            if "Content-Length" not in headers:
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
