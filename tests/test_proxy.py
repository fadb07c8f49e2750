"""Fetching through `[fetch] proxy`: every request goes to the operator's proxy, which resolves
names itself, so pricewatch checks only the addresses written in URLs."""

from __future__ import annotations

import base64
import http.client
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest

from pipeline.config import FetchSettings, load_config
from pipeline.errors import ConfigError, Refused
from pipeline.fetch import Fetcher
from pipeline.run import run_all
from tests.conftest import FIXTURES, write_config
from tests.httpserver import LocalServer, _Server

JANUARY = (FIXTURES / "litellm_core" / "2026-01.json").read_bytes()


class ForwardProxy:
    """A plain HTTP forward proxy on 127.0.0.1 that sends each host name to a local server."""

    def __init__(self, upstreams: dict[str, LocalServer]) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # host, path, Proxy-Authorization
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                target = urlsplit(self.path)
                proxy.seen.append((target.hostname, target.path, self.headers.get("Proxy-Authorization")))
                upstream = upstreams[target.hostname].httpd.server_address
                connection = http.client.HTTPConnection(*upstream[:2], timeout=5)
                connection.request("GET", target.path, headers={k: v for k, v in self.headers.items()
                                                                if not k.lower().startswith("proxy-")})
                answer = connection.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                connection.close()

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, credentials: str = "") -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{credentials}{host}:{port}"

    def __enter__(self) -> ForwardProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_run_goes_through_the_proxy_for_names_only_the_proxy_can_resolve(tmp_path, db):
    with LocalServer() as vendor, ForwardProxy({"prices.vendor.invalid": vendor}) as proxy:
        vendor.route("/robots.txt", "User-agent: *\nAllow: /\n")
        vendor.route("/p.json", JANUARY, headers={"Content-Type": "application/json"})
        config = load_config(write_config(tmp_path / "config", [
            {"id": "litellm", "parser": "litellm", "urls": ["http://prices.vendor.invalid/p.json"], "aggregator": True}],
            allowed_networks=[], proxy=proxy.url("pricewatch:s3cret@")))
        [result] = run_all(db, config, list(config.sources.values()))
    assert result.status == "ok", result.line()
    assert [(host, path) for host, path, _ in proxy.seen] == [("prices.vendor.invalid", "/robots.txt"),
                                                             ("prices.vendor.invalid", "/p.json")]
    assert {auth for _, _, auth in proxy.seen} == {"Basic " + base64.b64encode(b"pricewatch:s3cret").decode()}


@pytest.mark.parametrize("url, why", [
    *((url, "off the public internet") for url in [
        "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/prices",
        # the forms a proxy's resolver reads as 127.0.0.1, and names that are always loopback
        "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://127.1/", "http://0/",
        "http://127\u30020\u30020\u30021/", "http://localhost/", "http://api.localhost/", "http://localhost./",
        "http://127.0.0.1./",
        "http://2852039166/latest/meta-data/",  # 169.254.169.254 as one number
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud's metadata service, in 100.64.0.0/10
    ]),
    # not names for the proxy to resolve: one that decodes them (as WHATWG and Go's URL parsers
    # do) would connect to 127.0.0.1, the metadata service, localhost
    *((url, "percent-encoded") for url in ["http://%31%32%37.0.0.1/", "http://%31%36%39.254.169.254/latest/meta-data/",
                                           "http://%6c%6f%63%61%6c%68%6f%73%74/"]),
])
def test_through_a_proxy_an_address_written_in_a_url_is_still_refused(url, why):
    fetcher = Fetcher(FetchSettings(obey_robots=False, proxy="http://127.0.0.1:9"))
    try:
        with pytest.raises(Refused, match=why):
            fetcher.fetch(url)
    finally:
        fetcher.close()


@pytest.mark.parametrize("proxy", ["socks5://127.0.0.1:1080", "proxy.corp:3128", "http://user:hunter2@"])
def test_a_proxy_that_is_not_an_http_url_is_a_config_error_that_does_not_echo_it(tmp_path, proxy):
    directory = write_config(tmp_path / "config", [{"id": "a", "parser": "litellm", "urls": ["https://a.example/"]}],
                             proxy=proxy)
    with pytest.raises(ConfigError) as error:
        load_config(directory)
    assert "proxy must be an http:// or https:// URL" in str(error.value) and "hunter2" not in str(error.value)
