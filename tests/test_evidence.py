"""Each evidence test on a hand-computed example (pipeline.evidence)."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from db.models import PriceInterval
from pipeline.archive import archive
from pipeline.evidence import below_cost, durability, home_vs_export, independent_hosts, peer_gap, verdict, weigh
from pipeline.normalise import Priced
from pipeline.store import store_observation

DAY = datetime(2026, 7, 17, 8, tzinfo=timezone.utc)  # ECB: 7.7501 CNY and 1.1435 USD per EUR


def price(model, value, currency="USD", dimension="output", **conditions) -> Priced:
    promo = conditions.pop("promo", False)
    return Priced(model, dimension, conditions, currency, "token", D(value), None, promo)


def store(db, config, source_id, when, priced):
    with db.transaction() as session:
        snapshot = archive(session, f"{source_id}{when}{priced}".encode(), url="https://x", content_type=None,
                           seen_at=when)
        store_observation(session, config, config.source(source_id), observed_at=when, snapshots=[snapshot],
                          parser="test", parser_version=1, priced=priced)


def interval(session, source_id, model, dimension="output", conditions="{}"):
    return session.scalar(select(PriceInterval).where(
        PriceInterval.source_id == source_id, PriceInterval.model == model, PriceInterval.dimension == dimension,
        PriceInterval.conditions_key == conditions).order_by(PriceInterval.first_seen.desc()).limit(1))


def test_home_vs_export_margin_at_the_same_day_ecb_rate(db, config):
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "1.00")])
    store(db, config, "deepseek-cn", DAY, [price("deepseek-v4-pro", "10", "CNY")])
    with db.session() as session:
        result = home_vs_export(session, config, interval(session, "deepseek", "deepseek-v4-pro"), DAY)
    # 10 CNY / 7.7501 * 1.1435 = $1.47546..., margin (1.47546 - 1) / 1 = +47.5%
    assert result.figure == "0.4755" and result.points_to == "dumping"
    assert [i["role"] for i in result.inputs] == ["export", "home (normal value)"]


def test_export_at_or_above_home_is_not_dumping(db, config):
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "2.00")])
    store(db, config, "deepseek-cn", DAY, [price("deepseek-v4-pro", "10", "CNY")])
    with db.session() as session:
        result = home_vs_export(session, config, interval(session, "deepseek", "deepseek-v4-pro"), DAY)
    assert result.points_to is None and result.figure.startswith("-0.26")


def test_export_a_little_below_home_is_said_so(db, config):
    """$1.40 against 10 CNY = $1.4755: home is above export, by less than the threshold."""
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "1.40")])
    store(db, config, "deepseek-cn", DAY, [price("deepseek-v4-pro", "10", "CNY")])
    with db.session() as session:
        result = home_vs_export(session, config, interval(session, "deepseek", "deepseek-v4-pro"), DAY)
    assert result.points_to is None
    assert "margin +5.4%, home 5.4% above export, within the 10% threshold: not consistent with dumping" in result.summary


@pytest.mark.parametrize("value, ratio, points", [
    ("1.00", "3.3300", "advantage"), ("0.15", "0.4995", "dumping"),
    ("0.2970", "0.9890", None), ("0.3600", "1.1988", None),  # within 25% either way: an estimate cannot tell
])
def test_below_cost_with_the_vendor_published_floor(db, config, value, ratio, points):
    # DeepSeek V3/R1: $16 per node-hour / (14,800 tokens/s x 3600) = $0.3003 per 1M output tokens.
    store(db, config, "deepseek", DAY, [price("deepseek-v3", value)])
    with db.session() as session:
        result = below_cost(session, config, interval(session, "deepseek", "deepseek-v3"), DAY)
    assert (result.figure, result.points_to) == (ratio, points)
    assert "measured on DeepSeek-V3/R1" in result.summary


def test_no_floor_for_a_model_the_published_figures_were_not_measured_on(db, config):
    """DeepSeek V4's parameters are unpublished, and V3's serving figures are not V4's."""
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "0.15")])
    with db.session() as session:
        result = below_cost(session, config, interval(session, "deepseek", "deepseek-v4-pro"), DAY)
    assert (result.figure, result.points_to) == (None, None) and result.summary.startswith("no cost floor")


def test_below_cost_estimate_from_active_parameters(db, config):
    # GLM-4.5, 32B active: 989e12 x 0.4 / (2 x 32e9) = 6,181.25 tokens/s per H100 at $2/h
    # -> $2 / (6,181.25 x 3600) x 1e6 = $0.08988 per 1M; $0.22 is 2.4478x that.
    store(db, config, "zai", DAY, [price("glm-4.5", "0.22")])
    with db.session() as session:
        result = below_cost(session, config, interval(session, "zai", "glm-4.5"), DAY)
    assert result.figure == "2.4478" and result.points_to == "advantage"
    assert "estimate from active parameters" in result.summary


def test_independent_hosts_near_the_first_party_price_points_to_advantage(db, config):
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "1.00")])
    store(db, config, "openrouter-endpoints", DAY, [
        price("deepseek/deepseek-v4-pro", "1.10", provider="Together"),
        price("deepseek/deepseek-v4-pro", "1.50", provider="Fireworks"),
        price("deepseek/deepseek-v4-pro", "0.90", provider="DeepSeek")])  # the vendor itself is not independent
    with db.session() as session:
        result = independent_hosts(session, config, interval(session, "deepseek", "deepseek-v4-pro"), DAY)
    assert result.figure == "0.9091" and result.points_to == "advantage"


def test_peer_gap_is_a_figure_not_a_verdict(db, config):
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "1.00")])
    store(db, config, "anthropic", DAY, [price("claude-opus-4-5", "25")])
    store(db, config, "google", DAY, [price("gemini-2.5-pro", "10")])
    with db.session() as session:
        result = peer_gap(session, config, interval(session, "deepseek", "deepseek-v4-pro"), DAY)
    # Group "frontier" less the subject itself: 10 and 25 -> median $17.50, 17.5x this price.
    assert result.figure == "17.5000" and result.points_to is None
    assert [(i["peer"], D(i["usd"])) for i in result.inputs] == [("claude-opus-4-5", 25), ("gemini-2.5-pro", 10)]


def test_durability_promo_and_held_cut(db, config):
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "1.00", promo=True)])
    store(db, config, "deepseek", DAY + timedelta(days=1), [price("deepseek-v4-flash", "0.5")])
    store(db, config, "deepseek", DAY + timedelta(days=101), [price("deepseek-v4-flash", "0.5")])
    with db.session() as session:
        promo = durability(session, config, interval(session, "deepseek", "deepseek-v4-pro"), DAY)
        held = durability(session, config, interval(session, "deepseek", "deepseek-v4-flash"), DAY + timedelta(days=101))
    assert promo.points_to == "dumping" and "promotion" in promo.summary
    assert held.points_to == "advantage" and held.figure == "100"
    with db.session() as session:  # `analyze --at` a day after the price came: what was seen by then
        early = durability(session, config, interval(session, "deepseek", "deepseek-v4-flash"), DAY + timedelta(days=2))
    assert (early.points_to, early.figure) == (None, "1")


def test_durability_of_a_price_that_has_since_ended_says_so(db, config):
    """A cut that the next observation replaced did not hold "so far": it was last seen on day
    0, and the next observation (day 3) showed another price."""
    store(db, config, "deepseek", DAY, [price("deepseek-v4-flash", "0.5")])
    store(db, config, "deepseek", DAY + timedelta(days=3), [price("deepseek-v4-flash", "0.4")])
    with db.session() as session:
        ended = session.scalar(select(PriceInterval).where(PriceInterval.price == D("0.5")))
        result = durability(session, config, ended, DAY + timedelta(days=5))
    assert result.points_to is None and "so far" not in result.summary
    assert f"last seen {DAY:%Y-%m-%d}, and the source's next observation, on {DAY + timedelta(days=3):%Y-%m-%d}" \
        in result.summary, result.summary


def test_a_price_whose_conditions_were_reworded_has_not_ended(db, config):
    """New peak hours start another interval at the same price: the price held on."""
    peak = {"time_window": "peak"}
    store(db, config, "deepseek", DAY, [price("deepseek-v4-flash", "0.5", **peak, time_window_hours="01:00-04:00 UTC")])
    store(db, config, "deepseek", DAY + timedelta(days=3),
          [price("deepseek-v4-flash", "0.5", **peak, time_window_hours="01:00-04:00 UTC Mon-Fri")])
    with db.session() as session:
        first = session.scalar(select(PriceInterval).order_by(PriceInterval.first_seen).limit(1))
        result = durability(session, config, first, DAY + timedelta(days=5))
    assert "so far" in result.summary and "next observation" not in result.summary


def test_verdict_counts_only_computed_tests(db, config):
    store(db, config, "deepseek", DAY, [price("deepseek-chat", "1.00")])
    with db.session() as session:
        result, tests = weigh(session, config, interval(session, "deepseek", "deepseek-chat"), DAY)
    # Only below_cost could be computed (3.33x the floor): advantage; the others say why they could not.
    assert result == "advantage-consistent"
    assert [t.points_to for t in tests] == [None, "advantage", None, None, None]
    assert verdict([]) == "inconclusive"
