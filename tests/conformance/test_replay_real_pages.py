"""Replays of the real archived pages: the changes history really had, and only those."""

from datetime import datetime, timezone

from sqlalchemy import select

from db.models import Event, PriceInterval
from pipeline.fetch import Fetched
from pipeline.run import ingest
from tests.conftest import vendor_page

DEEPSEEK_EN = [
    "text_dumps/2025-02-08_en_docs_text_dump.md",
    "text_dumps/2025-02-26_en_docs_text_dump.md",
    "text_dumps/2025-12-20_en_pricing_md.md",
    "markdown_mirror/2026-08-02_en_pricing.md",
    "markdown_mirror/2026-08-08_en_pricing.md",
    "markdown_mirror/2026-08-13_en_pricing.md",
    "markdown_mirror/2026-08-14_en_pricing.md",
    "markdown_mirror/2026-08-17_en_pricing.md",
    "raw_html_excerpts/2026-09-05_en_pricing_table_excerpt_arthurcolle-dsco.html",
]


def dated(relative: str) -> datetime:
    name = relative.rsplit("/", 1)[-1]
    return datetime.fromisoformat(name[:10]).replace(tzinfo=timezone.utc)


def load(db, config, source_id: str, relative: str, hour: int = 0) -> None:
    path = vendor_page(relative if relative.startswith(("litellm/", "mistral/")) else f"deepseek/{relative}")
    source = config.source(source_id)
    when = dated(relative).replace(hour=hour)
    result = ingest(db, config, source, [Fetched(source.urls[0], source.urls[0], 200, path.read_bytes(), None, when)],
                    when)
    assert result.status == "ok", result.line()


def events(db):
    with db.session() as session:
        return [(e.kind, e.model, e.dimension, e.conditions_key, e.old_price, e.new_price, e.observed_at.date().isoformat())
                for e in session.scalars(select(Event).order_by(Event.observed_at, Event.id))]


def intervals(db):
    with db.session() as session:
        return sorted((i.model, i.dimension, i.conditions_key, str(i.price), i.first_seen, i.last_seen)
                      for i in session.scalars(select(PriceInterval)))


def test_litellm_copies_in_either_order_give_the_same_history(db, another_db, config):
    files = ["litellm/2024-01-30_tokencost-copy_model_prices.json",
             "litellm/2026-07-24_model_prices_and_context_window.json"]
    for relative in files:
        load(db, config, "litellm", relative)
    for relative in reversed(files):
        load(another_db, config, "litellm", relative)
    assert intervals(db) == intervals(another_db)
    assert events(db) == events(another_db)
    history = intervals(db)
    assert ("gpt-4", "input", "{}", "30", datetime(2024, 1, 30, tzinfo=timezone.utc),
            datetime(2026, 7, 24, tzinfo=timezone.utc)) in history
    moves = {(k, m, d, str(o), str(n)) for k, m, d, _c, o, n, _at in events(db) if k in ("cut", "raise")}
    # Real cuts between the two copies (Azure's GPT-3.5 Turbo, Bedrock's Claude Instant) ...
    assert ("cut", "azure/gpt-35-turbo", "input", "1.5", "0.5") in moves
    assert ("cut", "anthropic.claude-instant-v1", "input", "1.63", "0.8") in moves
    # ... and none where the list did not move (GPT-4 stayed at $30 / $60).
    assert not {m for m in moves if m[1] == "gpt-4"}
    assert len(moves) == 41  # 28 cuts and 13 raises
    assert all(e[6] == "2026-07-24" for e in events(db))


def test_deepseek_replay_gives_the_real_changes(db, config):
    for relative in DEEPSEEK_EN:
        load(db, config, "deepseek", relative)
    seen = events(db)
    price_moves = [e for e in seen if e[0] in ("cut", "raise")]
    # No change between the identical flat lists of 2026-08-02 .. 08-14.
    assert not [e for e in seen if "2026-08-03" <= e[6] <= "2026-08-14" and e[0] != "withdrawn"]
    # The V4 peak/off-peak repricing of 2026-08-16, first seen on 08-17: twelve raises, e.g. v4-pro output.
    august = [e for e in price_moves if e[6] == "2026-08-17"]
    assert len(august) == 12 and {e[0] for e in august} == {"raise"}
    assert ("raise", "deepseek-v4-pro", "output", '{"time_window":"off_peak"}') in {e[:4] for e in august}
    pro_out = {e[3]: (e[4], e[5]) for e in august if e[1] == "deepseek-v4-pro" and e[2] == "output"}
    assert {k: (str(a), str(b)) for k, (a, b) in pro_out.items()} == {
        '{"time_window":"off_peak"}': ("0.87", "1.98"), '{"time_window":"peak"}': ("0.87", "3.96")}
    # The February 2025 promotion on deepseek-chat ended; V4 replaced deepseek-chat/-reasoner.
    assert ("promo_end", "deepseek-chat", "input") in {e[:3] for e in seen if e[6] == "2025-02-26"}
    assert {(e[0], e[1]) for e in seen if e[0] in ("new_model", "withdrawn")} == {
        ("new_model", "deepseek-v4-flash"), ("new_model", "deepseek-v4-pro"),
        ("new_model", "deepseek-v4-flash-vision-exp"),
        ("withdrawn", "deepseek-chat"), ("withdrawn", "deepseek-reasoner")}
    # V3.2's flat prices of 2025-12-20 replace the standard and off-peak ones of 2025-02-26: each
    # is weighed against the standard price ($0.27 input, $1.10 output), not the off-peak one.
    december = {(e[0], e[1], e[2]): (str(e[4]), str(e[5])) for e in price_moves if e[6] == "2025-12-20"}
    assert december[("raise", "deepseek-chat", "input")] == ("0.27", "0.28")
    assert december[("cut", "deepseek-chat", "output")] == ("1.1", "0.42")
    # The 09-05 page restricts peak hours to Monday-Friday: a conditions change at unchanged prices.
    september = [e for e in seen if e[6] == "2026-09-05" and e[0] != "new_model"]
    assert september and {e[0] for e in september} == {"tier_change"} and all(e[4] == e[5] for e in september)


def test_mistral_s_moving_aliases_change_generation_without_a_false_cut(db, config):
    """mistral-large-latest was Mistral Large (2402) at $8 in the 2024 docs and is Mistral Large 3
    at $0.5 on the 2026 pricing page: alias changes, not 94% cuts.  So is the euro price of
    2024-02-23 (8 then 7.3 the same day): "Mistral-large" names no generation.  A fixed id that
    moved is still a cut (mistral-embed in euros), and the 2024 text dump, which names no model
    behind the aliases, changes nothing at unchanged prices."""
    for relative, hour in [("mistral/docs_source/2024-01-03_docs_mistral_ai_platform_pricing.md", 0),
                           ("mistral/docs_source/2024-02-23_docs_mistral_ai_platform_pricing.md", 8),
                           ("mistral/docs_source/2024-02-23b_docs_mistral_ai_platform_pricing_add_usd.md", 20),
                           ("mistral/docs_source/2024-02-26_docs_mistral_ai_platform_pricing.md", 0),
                           ("mistral/docs_source/2024-03-07_docs_mistral_ai_platform_pricing.md", 0),
                           ("mistral/2024-04-01_mistral_pricing_text.js", 0),
                           ("mistral/2026-05-08_mistral_ai_pricing.html", 0)]:
        load(db, config, "mistral", relative, hour)
    seen = events(db)
    priced = {(e[0], e[1], e[2], str(e[4]), str(e[5])) for e in seen if e[0] in ("cut", "raise", "alias_change")}
    assert ("alias_change", "mistral-large-latest", "input", "8", "0.5") in priced
    assert ("alias_change", "mistral-large-latest", "input", "8", "7.3") in priced  # in euros
    assert ("cut", "mistral-embed", "input", "0.1", "0.09") in priced
    assert not [e for e in priced if e[0] != "alias_change" and e[1].endswith("-latest")]
    assert not [e for e in seen if e[6] == "2024-04-01" and e[0] not in ("new_model", "withdrawn")]


def test_deepseek_home_and_export_lists_give_a_margin(db, config):
    from pipeline.evidence import home_vs_export

    load(db, config, "deepseek", "markdown_mirror/2026-08-17_en_pricing.md")
    load(db, config, "deepseek-cn", "markdown_mirror/2026-08-17_zh-cn_pricing.md")
    at = datetime(2026, 8, 17, 12, tzinfo=timezone.utc)
    with db.session() as session:
        subject = session.scalar(select(PriceInterval).where(
            PriceInterval.source_id == "deepseek", PriceInterval.model == "deepseek-v4-pro",
            PriceInterval.dimension == "output", PriceInterval.conditions_key == '{"time_window":"peak"}'))
        result = home_vs_export(session, config, subject, at)
    # 27 CNY at the ECB rate of 2026-08-17 against $3.96.
    assert result.figure is not None and result.points_to is None
    assert {i["source"] for i in result.inputs} == {"deepseek", "deepseek-cn"}
    home = next(i for i in result.inputs if i["source"] == "deepseek-cn")
    assert home["price"] == "27" and home["currency"] == "CNY" and home["fx_date"] == "2026-08-17"
    assert all(i["snapshot_id"] for i in result.inputs)
