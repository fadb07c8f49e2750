"""The fetcher, unit-level with respx: retries, Retry-After, caps, bot walls, conditional GET."""

import gzip
import zlib

import httpx
import pytest
import respx

from pipeline.config import FetchSettings
from pipeline.errors import BadBody, Blocked, HTTPStatusError, Refused, TooLarge
from pipeline.fetch import Fetcher, HostGate, Validators

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
                                     httpx.Response(200, text="fine")])
    assert fetcher.fetch(URL).content == b"fine"
    assert fetcher.waits == [pytest.approx(7.0, abs=0.5)]


@respx.mock
def test_a_retry_after_beyond_the_cap_ends_the_fetch_and_spares_the_host(fetcher):
    """Asked for no request in the next 9999 s, a retry after our 30 s cap would ignore the
    host; the source fails at once, and so does the next fetch from that host, unasked."""
    route = respx.get(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}),
                                             httpx.Response(429, headers={"Retry-After": "9999"})])
    with pytest.raises(HTTPStatusError, match="no request in the next 9999 s"):
        fetcher.fetch(URL)
    with pytest.raises(HTTPStatusError, match=r"answered HTTP 429 asking for no request in the next 999\d s .*: not asked"):
        fetcher.fetch("https://vendor.example/other-page")
    assert route.call_count == 2 and fetcher.waits == [pytest.approx(7.0, abs=0.5)]


@respx.mock
@pytest.mark.parametrize("value", ["-30", "nan", "1e3", "soon"])
def test_a_retry_after_that_is_not_seconds_nor_a_date_gets_the_usual_backoff(fetcher, value):
    respx.get(URL).mock(side_effect=[httpx.Response(503, headers={"Retry-After": value}),
                                     httpx.Response(200, text="fine")])
    assert fetcher.fetch(URL).content == b"fine"
    assert fetcher.waits == [0.5]


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


PAGE = b'{"model": {"input_cost_per_token": 3e-06}}' * 20


@respx.mock
@pytest.mark.parametrize("encoding, body", [
    ("gzip", gzip.compress(PAGE)),
    ("gzip", gzip.compress(PAGE[:300]) + gzip.compress(PAGE[300:])),  # two members, one after the other
    ("gzip", gzip.compress(PAGE) + b"\0\0 trailing junk"),  # junk after the end, as browsers allow
    ("deflate", zlib.compress(PAGE)),
    ("deflate", zlib.compress(PAGE)[2:-4]),  # raw deflate, as some servers send
    ("gzip, gzip", gzip.compress(gzip.compress(PAGE))),
], ids=["gzip", "gzip-two-members", "gzip-trailing-junk", "deflate", "raw-deflate", "gzip-twice"])
def test_compressed_bodies_are_read_whole(fetcher, encoding, body):
    respx.get(URL).respond(200, content=body, headers={"Content-Encoding": encoding})
    assert fetcher.fetch(URL).content == PAGE


@respx.mock
@pytest.mark.parametrize("encoding, body, message", [
    ("gzip", gzip.compress(PAGE)[:-30], "cut short: its gzip stream ends unfinished"),
    ("deflate", zlib.compress(PAGE)[:-10], "cut short: its deflate stream ends unfinished"),
    ("br", PAGE, "Content-Encoding br, which was not asked for"),
])
def test_a_body_cut_short_or_in_another_coding_is_a_bad_body(fetcher, encoding, body, message):
    """A gzip stream cut short decodes to a page cut short, which can still parse, to wrong
    prices; it is tried again, a coding we cannot decode is not.  (A corrupt body is in
    tests/test_faults.py: respx decodes a mocked body itself.)"""
    route = respx.get(URL).mock(return_value=httpx.Response(  # a stream: httpx would decode `content=` at once
        200, headers={"Content-Encoding": encoding}, stream=httpx.ByteStream(body)))
    with pytest.raises(BadBody, match=message) as caught:
        fetcher.fetch(URL)
    tries = 1 if encoding == "br" else 3
    assert route.call_count == tries and [a.outcome for a in caught.value.attempts] == ["bad_body"] * tries


@respx.mock
@pytest.mark.parametrize("status", [304, 503])
def test_an_empty_answer_naming_a_compression_is_read_as_empty(fetcher, status):
    """Servers send `Content-Encoding: gzip` on a 304 with no body: that is no gzip stream cut short."""
    route = respx.get(URL).mock(side_effect=[
        httpx.Response(status, headers={"Content-Encoding": "gzip", "Retry-After": "1"}, stream=httpx.ByteStream(b"")),
        httpx.Response(200, text="fine")])
    fetched = fetcher.fetch(URL, Validators(etag='"v1"'))
    assert fetched.not_modified if status == 304 else fetched.content == b"fine"
    assert route.call_count == (1 if status == 304 else 2)


@respx.mock
def test_a_content_encoding_that_names_no_compression_is_ignored(fetcher):
    respx.get(URL).respond(200, content=PAGE, headers={"Content-Encoding": "utf-8"})
    assert fetcher.fetch(URL).content == PAGE


@respx.mock
def test_a_304_to_a_request_without_validators_is_no_unchanged_page(fetcher):
    respx.get(URL).respond(304)
    with pytest.raises(HTTPStatusError, match="named no version to compare with"):
        fetcher.fetch(URL)
    assert fetcher.fetch(URL, Validators(etag='"v1"')).not_modified


@respx.mock
def test_a_redirect_without_a_location_is_an_http_error(fetcher):
    respx.get(URL).respond(302, text="moved, somewhere")
    with pytest.raises(HTTPStatusError, match="HTTP 302 .* without a Location"):
        fetcher.fetch(URL)


def test_a_host_slot_refuses_once_taken_if_the_host_asked_meanwhile_for_more_than_the_cap():
    """Another thread may learn of a Retry-After: 3600 between this one's early check and its
    turn at the host: the slot checks again, and lets go of the host instead of sleeping an hour."""
    waits = []
    gate = HostGate(0, max_wait=5, sleep=waits.append)
    gate.defer("vendor.example", 3600, 429)
    with pytest.raises(HTTPStatusError, match="HTTP 429 asking for no request in the next 3600 s"):
        with gate.hold("vendor.example"):
            pass
    assert waits == []
    with gate.hold("other.example"):  # another host, and the lock of this one was let go
        pass
    assert gate.hold("vendor.example").lock.acquire(blocking=False)
