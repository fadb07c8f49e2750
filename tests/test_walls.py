"""Bot walls: every registered parser turns a challenge page into `Blocked`, never quotes or drift."""

import pytest

from pipeline.errors import Blocked
from scrapers import Page, all_parsers
from scrapers._walls import wall_in

CHALLENGE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
             b"<script>window._cf_chl_opt={cvId:'3'};</script>Enable JavaScript and cookies to continue</body></html>")


@pytest.mark.parametrize("name", sorted(all_parsers()))
def test_every_parser_reports_a_challenge_page_as_blocked(name):
    with pytest.raises(Blocked):
        all_parsers()[name].parse(Page(CHALLENGE, url="https://vendor.example/pricing"))


def test_a_normal_page_loading_cloudflare_scripts_is_not_a_wall():
    page = '<html><head><script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script></head></html>'
    assert wall_in(page) is None
