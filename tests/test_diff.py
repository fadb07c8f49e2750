"""Event detection on constructed histories (pipeline.diff.walk is pure)."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

from pipeline.diff import Point, Sighting, walk

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
IN = ("m", "input", "USD", "{}")
OUT = ("m", "output", "USD", "{}")


def sight(day: int, points: dict, digest: str | None = None, version: int = 1) -> Sighting:
    return Sighting(day, T0 + timedelta(days=day), digest or f"content-{day}", version,
                    {k: Point(D(v[0]), None if len(v) < 2 else v[1], len(v) > 2 and v[2], "token", day)
                     if isinstance(v, tuple) else Point(D(v), None, False, "token", day) for k, v in points.items()})


def kinds(changes):
    return [(c.kind, c.key[0], c.key[1]) for c in changes]


def test_baseline_emits_nothing_and_identical_runs_extend_one_interval():
    intervals, changes = walk([sight(0, {IN: "1"}), sight(1, {IN: "1"}), sight(2, {IN: "1"})])
    assert changes == []
    assert len(intervals) == 1 and intervals[0].last.observation_id == 2


def test_cut_and_raise_carry_old_new_and_dates():
    _, changes = walk([sight(0, {IN: "1"}), sight(1, {IN: "0.5"}), sight(2, {IN: "0.75"})])
    assert kinds(changes) == [("cut", "m", "input"), ("raise", "m", "input")]
    cut = changes[0]
    assert (cut.old.price, cut.new.price, cut.change_pct) == (D("1"), D("0.5"), D("-50.00"))
    assert cut.previous_at == T0 and cut.at.observed_at == T0 + timedelta(days=1)


def test_decimal_equality_no_event_for_same_value_written_differently():
    _, changes = walk([sight(0, {IN: "1.50"}), sight(1, {IN: "1.5"})])
    assert changes == []


def test_new_model_and_withdrawn_after_n_absent_runs():
    other = ("n", "input", "USD", "{}")
    history = [sight(0, {IN: "1"}), sight(1, {IN: "1", other: "2"}), sight(2, {other: "2"}),
               sight(3, {other: "2"}), sight(4, {other: "2"})]
    _, changes = walk(history, withdrawn_after=3)
    assert kinds(changes) == [("new_model", "n", ""), ("withdrawn", "m", "")]
    withdrawn = changes[1]
    assert withdrawn.at.observed_at == T0 + timedelta(days=2)
    assert withdrawn.previous_at == T0 + timedelta(days=1)


def test_absent_for_fewer_runs_than_n_is_not_withdrawn():
    _, changes = walk([sight(0, {IN: "1", OUT: "2"}), sight(1, {OUT: "2"}), sight(2, {IN: "1", OUT: "2"})],
                      withdrawn_after=3)
    assert changes == []


def test_promo_start_and_end():
    promo = (D("0.5"), D("1"), True)
    _, changes = walk([sight(0, {IN: "1"}), sight(1, {IN: promo}), sight(2, {IN: "1"})])
    assert kinds(changes) == [("cut", "m", "input"), ("promo_start", "m", "input"),
                              ("raise", "m", "input"), ("promo_end", "m", "input")]
    assert changes[0].detail.get("reversed_by_raise_at")


def test_tier_change_when_conditions_move():
    low = ("m", "input", "USD", '{"context_tokens":{"max":32000,"min":0}}')
    new_low = ("m", "input", "USD", '{"context_tokens":{"max":64000,"min":0}}')
    _, changes = walk([sight(0, {low: "1"}), sight(1, {new_low: "1"})])
    assert kinds(changes) == [("tier_change", "m", "input")]


def test_reparse_of_same_content_is_not_a_vendor_change():
    _, changes = walk([sight(0, {IN: "1"}, digest="same"), sight(1, {IN: "0.1"}, digest="same", version=2)])
    assert changes == []


def test_out_of_order_input_gives_the_same_history():
    a, b, c = sight(0, {IN: "1"}), sight(1, {IN: "0.5"}), sight(2, {IN: "0.5"})
    assert kinds(walk([c, a, b])[1]) == kinds(walk([a, b, c])[1]) == [("cut", "m", "input")]


def test_a_unit_change_is_a_tier_change_never_a_cut_or_raise():
    """OpenAI's image output went from $0.20 per image to $16 per 1M image tokens: not +7900%."""
    per_image = Point(D("0.20"), None, False, "image", 0)
    per_tokens = Point(D("16"), None, False, "token", 1)
    first = Sighting(0, T0, "a", 1, {OUT: per_image})
    second = Sighting(1, T0 + timedelta(days=1), "b", 1, {OUT: per_tokens})
    _, changes = walk([first, second])
    assert kinds(changes) == [("tier_change", "m", "output")]
    assert changes[0].detail == {"old_conditions": "{}", "old_unit": "image", "new_unit": "token"}
    assert changes[0].change_pct is None
    batch = ("m", "output", "USD", '{"batch":true}')
    third = Sighting(2, T0 + timedelta(days=2), "c", 1, {batch: Point(D("0.10"), None, False, "image", 2)})
    _, changes = walk([first, second, third])
    assert kinds(changes)[1:] == [("tier_change", "m", "output")], "a replaced tier in another unit: no price change"


def test_a_batch_price_appearing_as_the_standard_one_vanishes_is_no_cut():
    """OpenAI's 2026-05-08 page showed o3-deep-research only in its Batch table ($5): the
    standard $10 was gone from the capture, not cut by half."""
    batch = ("m", "input", "USD", '{"batch":true}')
    _, changes = walk([sight(0, {IN: "10", OUT: "40"}), sight(1, {batch: "5", OUT: "40"})])
    assert kinds(changes) == [("tier_change", "m", "input")]
    assert (changes[0].old.price, changes[0].new.price) == (D("10"), D("5"))


def test_a_flat_price_split_into_dearer_peak_and_off_peak_prices_is_a_raise_in_each():
    """DeepSeek, 2026-08-16: a flat $0.87 became $3.96 at peak and $1.98 off-peak."""
    peak = ("m", "output", "USD", '{"time_window":"peak"}')
    off_peak = ("m", "output", "USD", '{"time_window":"off_peak"}')
    _, changes = walk([sight(0, {OUT: "0.87"}), sight(1, {peak: "3.96", off_peak: "1.98"})])
    assert sorted(kinds(changes)) == [("raise", "m", "output")] * 2 + [("tier_change", "m", "output")] * 2


def test_a_flat_price_that_replaces_peak_and_off_peak_ones_is_weighed_against_the_peak():
    """DeepSeek, 2025-12-20: $0.27 standard and $0.135 off-peak input became a flat $0.28, and
    $1.10 / $0.55 output a flat $0.42.  Paired by place in price order, the one flat price took
    over the cheapest (off-peak) one: a +107% raise of input, and an output cut of 24% instead of
    62%.  The standard price is the one the flat price replaces."""
    peak, off_peak = '{"time_window":"peak"}', '{"time_window":"off_peak"}'
    _, changes = walk([sight(0, {("m", "input", "USD", peak): "0.27", ("m", "input", "USD", off_peak): "0.135",
                                 ("m", "output", "USD", peak): "1.10", ("m", "output", "USD", off_peak): "0.55"}),
                       sight(1, {IN: "0.28", OUT: "0.42"})])
    moved = {(c.kind, c.key[1]): (c.old.price, c.new.price) for c in changes if c.kind in ("cut", "raise")}
    assert moved == {("raise", "input"): (D("0.27"), D("0.28")), ("cut", "output"): (D("1.10"), D("0.42"))}


def test_new_context_bounds_with_a_new_price_are_a_tier_change_and_a_cut():
    low = ("m", "input", "USD", '{"context_tokens":{"max":32000,"min":0}}')
    new_low = ("m", "input", "USD", '{"context_tokens":{"max":64000,"min":0}}')
    _, changes = walk([sight(0, {low: "1"}), sight(1, {new_low: "0.8"})])
    assert kinds(changes) == [("tier_change", "m", "input"), ("cut", "m", "input")]


def served(day: int, model: str, price: str, serves: str | None) -> Sighting:
    """A sighting of one moving alias's input price, naming the model it serves when given."""
    conditions = "{}" if serves is None else json.dumps({"serves": serves})
    return Sighting(day, T0 + timedelta(days=day), f"content-{day}", 1,
                    {(model, "input", "USD", "{}"): Point(D(price), None, False, "token", day, conditions)})


def test_a_moving_alias_repriced_is_an_alias_change_never_a_cut():
    """mistral-large-latest went from Mistral Large 2402 ($8) to Mistral Large 3 ($0.5): a new
    model behind the name, not a 94% cut.  Nor is a price moving on an alias whose page does
    not name what it serves: the name may have moved."""
    _, changes = walk([served(0, "mistral-large-latest", "8", "Mistral-large"),
                       served(1, "mistral-large-latest", "0.5", "Mistral Large 3")])
    assert kinds(changes) == [("alias_change", "mistral-large-latest", "input")]
    assert (changes[0].old.price, changes[0].new.price, changes[0].change_pct) == (D("8"), D("0.5"), D("-93.75"))
    _, changes = walk([served(0, "xai/grok-4-latest", "3", None), served(1, "xai/grok-4-latest", "2", None)])
    assert kinds(changes) == [("alias_change", "xai/grok-4-latest", "input")]
    _, changes = walk([served(0, "kimi-latest-8k", "3", None), served(1, "kimi-latest-8k", "2", "Kimi")])
    assert kinds(changes) == [("alias_change", "kimi-latest-8k", "input")]


def test_a_moving_alias_cut_on_the_model_it_still_serves_is_a_cut():
    """The page names the same model before and after (spelt alike or not): a real cut."""
    _, changes = walk([served(0, "mistral-large-latest", "8", "Mistral-large"),
                       served(1, "mistral-large-latest", "4", "Mistral Large")])
    assert kinds(changes) == [("cut", "mistral-large-latest", "input")]


def test_a_moving_alias_naming_another_model_at_the_same_price_is_an_alias_change_alone():
    _, changes = walk([served(0, "mistral-small-latest", "0.1", "Mistral Small 3.2"),
                       served(1, "mistral-small-latest", "0.1", "Mistral Small 4")])
    assert kinds(changes) == [("alias_change", "mistral-small-latest", "input")]
    _, changes = walk([served(0, "mistral-small-latest", "0.1", None),
                       served(1, "mistral-small-latest", "0.1", "Mistral Small 4")])
    assert changes == []  # a newer parser starting to name it: nothing moved


def test_latest_inside_a_word_is_no_moving_alias():
    from pipeline.diff import moving_alias
    assert moving_alias("chatgpt-4o-latest") and moving_alias("mistral/codestral-latest")
    assert moving_alias("oci/cohere.command-latest") and moving_alias("kimi-latest-128k")
    assert not moving_alias("gpt-4o-2024-08-06") and not moving_alias("latestmodel-7b")
    _, changes = walk([served(0, "latestmodel-7b", "2", None), served(1, "latestmodel-7b", "1", None)])
    assert kinds(changes) == [("cut", "latestmodel-7b", "input")]


def test_a_moving_alias_keeps_its_promotions():
    """Only the cut or raise gives way to the alias change: a promotion starting on an alias
    (price down, the list price kept) is told as on any price."""
    key = ("chat-latest", "input", "USD", "{}")
    promo = Point(D("1"), D("2"), True, "token", 1)
    _, changes = walk([Sighting(0, T0, "c0", 1, {key: Point(D("2"), None, False, "token", 0)}),
                       Sighting(1, T0 + timedelta(days=1), "c1", 1, {key: promo})])
    assert kinds(changes) == [("alias_change", "chat-latest", "input"), ("promo_start", "chat-latest", "input")]


def test_no_reversal_is_read_across_an_alias_change():
    """Large 2 cut from 8 to 4, then the alias names Large 3 at 0.5, then Large 3 is raised to 9:
    the raise does not undo the cut, which was another model's."""
    _, changes = walk([served(0, "mistral-large-latest", "8", "Mistral Large 2"),
                       served(1, "mistral-large-latest", "4", "Mistral Large 2"),
                       served(2, "mistral-large-latest", "0.5", "Mistral Large 3"),
                       served(3, "mistral-large-latest", "9", "Mistral Large 3")])
    assert kinds(changes) == [("cut", "mistral-large-latest", "input"), ("alias_change", "mistral-large-latest", "input"),
                              ("raise", "mistral-large-latest", "input")]
    assert all(not change.detail for change in changes)


def context(low: int, high: int | None) -> tuple:
    return ("m", "input", "USD", json.dumps({"context_tokens": {"max": high, "min": low}}, sort_keys=True,
                                            separators=(",", ":")))


def moves(changes):
    return [(c.kind, json.loads(c.key[3]), c.old.price, c.new.price) for c in changes if c.kind in ("cut", "raise")]


def test_a_tier_bound_that_moves_at_unchanged_prices_is_no_cut():
    """Gemini's $2 up to 200k tokens and $4 above, the bound moved to 256k: each new tier takes
    over the old one at its price, not the dearest one vanished (which read as a 50% cut)."""
    _, changes = walk([sight(0, {context(0, 200000): "2", context(200000, None): "4"}),
                       sight(1, {context(0, 256000): "2", context(256000, None): "4"})])
    assert moves(changes) == [] and kinds(changes) == [("tier_change", "m", "input")] * 2


def test_tier_bounds_that_move_with_their_prices_pair_in_price_order():
    _, changes = walk([sight(0, {context(0, 200000): "2", context(200000, None): "4"}),
                       sight(1, {context(0, 256000): "1.5", context(256000, None): "3"})])
    assert sorted(moves(changes), key=lambda move: move[2]) == [
        ("cut", {"context_tokens": {"max": 256000, "min": 0}}, D("2"), D("1.5")),
        ("cut", {"context_tokens": {"max": None, "min": 256000}}, D("4"), D("3"))]


def test_a_host_an_aggregator_drops_for_a_cheaper_one_is_no_cut():
    """OpenRouter: Together ($3) stops serving a model and Novita ($0.70) starts; no host
    changed a price."""
    together, novita = ("m", "input", "USD", '{"provider":"Together"}'), ("m", "input", "USD", '{"provider":"Novita"}')
    _, changes = walk([sight(0, {together: "3"}), sight(1, {novita: "0.7"})])
    assert kinds(changes) == [("tier_change", "m", "input")]


def test_a_cache_write_split_into_5_minute_and_1_hour_prices_is_no_raise():
    """The flat cache-write price was the 5-minute one; the dearer 1-hour write is a new product."""
    flat = ("m", "cache_write", "USD", "{}")
    five, hour = ("m", "cache_write", "USD", '{"cache_ttl":"5m"}'), ("m", "cache_write", "USD", '{"cache_ttl":"1h"}')
    _, changes = walk([sight(0, {flat: "3.75"}), sight(1, {five: "3.75", hour: "6"})])
    assert kinds(changes) == [("tier_change", "m", "cache_write")] * 2


def test_tiers_halved_as_their_bound_moves_pair_in_price_order_not_by_equal_price():
    """$2 / $4 become $1 / $2: the new upper tier's $2 equals the old lower tier's, and pairing
    on equal prices first read the lower tier as a 75% cut and the upper as unchanged."""
    for lower, upper in (("1", "2"), ((D("1"), D("2"), True), (D("2"), D("4"), True))):  # and as a promotion
        _, changes = walk([sight(0, {context(0, 200000): "2", context(200000, None): "4"}),
                           sight(1, {context(0, 256000): lower, context(256000, None): upper})])
        assert sorted(moves(changes), key=lambda move: move[2]) == [
            ("cut", {"context_tokens": {"max": 256000, "min": 0}}, D("2"), D("1")),
            ("cut", {"context_tokens": {"max": None, "min": 256000}}, D("4"), D("2"))]


def test_a_tier_added_beside_unchanged_ones_leaves_them_unchanged():
    """Not as many tiers appear as vanished: those at their old prices keep them, and the new
    short-prompt tier is compared with the nearest price, $2 (it once read as a 75% cut from $4)."""
    _, changes = walk([sight(0, {context(0, 200000): "2", context(200000, None): "4"}),
                       sight(1, {context(0, 32000): "1", context(32000, 256000): "2", context(256000, None): "4"})])
    assert moves(changes) == [("cut", {"context_tokens": {"max": 32000, "min": 0}}, D("2"), D("1"))]


def test_context_tiers_flattened_are_compared_with_the_base_tier():
    """A flat $0.60 replacing $0.80 up to 128K and $2.40 above is a 25% cut of what a customer
    pays by default (the base tier, compare's headline), not a 75% one of the long-context
    price.  (Found by a review of the fix above, which compared it with the dearest.)"""
    low = ("m", "input", "USD", '{"context_tokens":{"max":128000,"min":0}}')
    high = ("m", "input", "USD", '{"context_tokens":{"min":128000}}')
    _, changes = walk([sight(0, {low: "0.80", high: "2.40", OUT: "2"}), sight(1, {IN: "0.60", OUT: "2"})])
    moved = {(c.kind, c.key[1]): (c.old.price, c.new.price) for c in changes if c.kind in ("cut", "raise")}
    assert moved == {("cut", "input"): (D("0.80"), D("0.60"))}


def test_a_flat_price_equal_to_the_old_off_peak_one_is_a_cut_of_the_peak_one():
    """Off-peak's $0.55 for every hour is a 50% cut for peak hours, not no change."""
    peak, off_peak = '{"time_window":"peak"}', '{"time_window":"off_peak"}'
    _, changes = walk([sight(0, {("m", "output", "USD", peak): "1.10", ("m", "output", "USD", off_peak): "0.55"}),
                       sight(1, {OUT: "0.55"})])
    moved = {(c.kind, c.key[1]): (c.old.price, c.new.price) for c in changes if c.kind in ("cut", "raise")}
    assert moved == {("cut", "output"): (D("1.10"), D("0.55"))}


def _tier(low, high):
    return ("m", "input", "USD", json.dumps({"context_tokens": {"max": high, "min": low}},
                                            separators=(",", ":"), sort_keys=True))


def test_a_tier_dropped_while_the_bounds_move_leaves_the_others_unchanged():
    """Three context tiers ($2, $4, $8) become two at new bounds, at $2 and $8: the middle one
    is gone, and no price of the others moved."""
    _, changes = walk([sight(0, {_tier(0, 32000): "2", _tier(32000, 128000): "4", _tier(128000, None): "8"}),
                       sight(1, {_tier(0, 64000): "2", _tier(64000, None): "8"})])
    assert not [c for c in changes if c.kind in ("cut", "raise")], [(c.kind, c.old, c.new) for c in changes]


def test_three_tiers_merged_into_two_with_every_price_cut_publishes_no_raise():
    """$1 / $2 / $4 (0-32K, 32-128K, 128-256K) become $0.80 up to 128K and $3.20 above, every
    price 20% lower: no customer pays more.  Paired by "cheapest" alone, the $3.20 tier took over
    the $2 one, a 60% raise (a review's test)."""
    _, changes = walk([sight(0, {_tier(0, 32000): "1", _tier(32000, 128000): "2", _tier(128000, 256000): "4"}),
                       sight(1, {_tier(0, 128000): "0.80", _tier(128000, 1000000): "3.20"})])
    moves = [(c.kind, c.old.price, c.new.price) for c in changes if c.kind in ("cut", "raise")]
    assert not [m for m in moves if m[0] == "raise"], moves


def _mode_tier(mode, low, high):
    return ("m", "input", "USD", json.dumps({"context_tokens": {"max": high, "min": low}, "mode": mode},
                                            sort_keys=True, separators=(",", ":")))


def test_context_tiers_flattened_within_a_mode_are_compared_with_that_modes_base_tier():
    """Thinking $2 up to 32K and $4 above become one thinking price, $3 (non-thinking likewise,
    $0.50 / $1 to $0.80).  As without modes (test_context_tiers_flattened_are_compared_with_the_
    base_tier), the flat price is weighed against the base tier: a 50% raise for thinking, not a
    25% cut of the long-context price.  Places in price order counted across both modes once
    paired it with the dearest (a review's test)."""
    thinking = ("m", "input", "USD", '{"mode":"thinking"}')
    non_thinking = ("m", "input", "USD", '{"mode":"non_thinking"}')
    _, changes = walk([sight(0, {_mode_tier("thinking", 0, 32000): "2", _mode_tier("thinking", 32000, None): "4",
                                 _mode_tier("non_thinking", 0, 32000): "0.5",
                                 _mode_tier("non_thinking", 32000, None): "1"}),
                       sight(1, {thinking: "3", non_thinking: "0.8"})])
    moved = {(c.kind, c.key[3]): (c.old.price, c.new.price) for c in changes if c.kind in ("cut", "raise")}
    assert moved == {("raise", '{"mode":"thinking"}'): (D("2"), D("3")),
                     ("raise", '{"mode":"non_thinking"}'): (D("0.5"), D("0.8"))}
