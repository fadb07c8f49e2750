"""The fetcher, unit-level with respx: retries, Retry-After, caps, bot walls, conditional GET."""

import httpx
import pytest
import respx

from pipeline.config import FetchSettings
from pipeline.errors import Blocked, HTTPStatusError, Refused, TooLarge
from pipeline.fetch import Fetcher, Validators

URL = "https://vendor.example/pricing"


@pytest.fixture
def fetcher(monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.216.34", 0))])
    waits = []
    f = Fetcher(FetchSettings(retries=2, backoff_seconds=0.5, retry_after_max_seconds=30, obey_robots=False,
                              per_host_delay_seconds=0, max_bytes=1000, max_decompressed_bytes=5000),
                sleep=waits.append)
    f.waits = waits
    yield f
    f.close()


@respx.mock
def test_user_agent_and_success(fetcher):
    route = respx.get(URL).respond(200, text="<table>ok</table>", headers={"ETag": '"v1"'})
    fetched = fetcher.fetch(URL)
    assert fetched.content == b"<table>ok</table>" and fetched.etag == '"v1"'
    assert route.calls[0].request.headers["user-agent"].startswith("pricewatch")
    assert [a.outcome for a in fetched.attempts] == ["ok"]


@respx.mock
def test_retries_are_bounded_with_backoff(fetcher):
    route = respx.get(URL).respond(503)
    with pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(URL)
    assert route.call_count == 3
    assert fetcher.waits == [0.5, 1.0]
    assert [a.outcome for a in caught.value.attempts] == ["http_error"] * 3


@respx.mock
def test_retry_after_is_honoured_within_the_cap(fetcher):
    respx.get(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}),
                                     httpx.Response(429, headers={"Retry-After": "9999"}),
                                     httpx.Response(200, text="fine")])
    assert fetcher.fetch(URL).content == b"fine"
    assert fetcher.waits == [7.0, 30.0]


@respx.mock
def test_client_errors_are_not_retried(fetcher):
    route = respx.get(URL).respond(404)
    with pytest.raises(HTTPStatusError):
        fetcher.fetch(URL)
    assert route.call_count == 1


@respx.mock
def test_size_cap(fetcher):
    respx.get(URL).respond(200, content=b"x" * 5000)
    with pytest.raises(TooLarge):
        fetcher.fetch(URL)


@respx.mock
def test_cloudflare_challenge_is_blocked_not_retried(fetcher):
    route = respx.get(URL).respond(403, text="<html><title>Just a moment...</title>challenge-platform</html>",
                                   headers={"cf-mitigated": "challenge"})
    with pytest.raises(Blocked):
        fetcher.fetch(URL)
    assert route.call_count == 1


@respx.mock
def test_conditional_get_sends_validators_and_reads_304(fetcher):
    route = respx.get(URL).respond(304)
    fetched = fetcher.fetch(URL, Validators(etag='"v1"', last_modified="Sat, 01 Aug 2026 00:00:00 GMT"))
    assert fetched.not_modified
    sent = route.calls[0].request.headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"].startswith("Sat")


def test_only_http_and_https(fetcher):
    with pytest.raises(Refused):
        fetcher.fetch("file:///etc/passwd")


@respx.mock
def test_redirect_to_a_private_address_is_refused(monkeypatch):
    addresses = {"vendor.example": "93.184.216.34", "internal.example": "10.0.0.5"}
    monkeypatch.setattr("socket.getaddrinfo", lambda host, *a, **k: [(2, 1, 6, "", (addresses[host], 0))])
    fetcher = Fetcher(FetchSettings(obey_robots=False, per_host_delay_seconds=0))
    respx.get(URL).respond(302, headers={"Location": "http://internal.example/admin"})
    with pytest.raises(Refused, match="private"):
        fetcher.fetch(URL)
