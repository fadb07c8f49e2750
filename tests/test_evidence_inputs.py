"""Which prices each evidence test weighs (pipeline/evidence.py): the subject's own version, not
another the list also shows; no aggregator price as a vendor's, no vendor endpoint as an
independent host; no ratio of prices in two units; no serving floor for a model it was not
measured on; a reversed cut weighed again.  Found by an independent review; each failed before."""

import mimetypes
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

from sqlalchemy import select

from db.models import Event
from pipeline.archive import archive
from pipeline.evidence import below_cost, home_vs_export, independent_hosts, weigh_event
from pipeline.fetch import Fetched
from pipeline.normalise import Priced
from pipeline.run import ingest
from pipeline.store import store_observation
from pipeline.evidence import weigh_new_cuts
from tests.conftest import vendor_page

DAY = datetime(2026, 7, 17, 8, tzinfo=timezone.utc)  # a Friday; ECB 7.7501 CNY and 1.1435 USD per EUR


def price(model, value, currency="USD", dimension="output", unit="token", **conditions) -> Priced:
    return Priced(model, dimension, conditions, currency, unit, D(value), None, False)


def store(db, config, source_id, when, priced):
    """As pipeline.run.ingest does: store the observation, then weigh its new cuts, in one transaction."""
    with db.transaction() as session:
        snapshot = archive(session, f"{source_id}{when}{priced}".encode(), url="https://x", content_type=None,
                           seen_at=when)
        _, events = store_observation(session, config, config.source(source_id), observed_at=when,
                                      snapshots=[snapshot], parser="test", parser_version=1, priced=priced)
        weigh_new_cuts(session, config, [e.id for e in events])


def cuts(db, source_id, model):
    with db.session() as session:
        return [(e.observed_at, e.verdict, {t["test"]: t for t in e.evidence or []}) for e in session.scalars(
            select(Event).where(Event.kind == "cut", Event.source_id == source_id, Event.model == model)
            .order_by(Event.observed_at))]


# -- durability ---------------------------------------------------------------------------------


def test_a_cut_reversed_later_is_weighed_again(db, config):
    """Once a raise undoes it, durability points to dumping ("later reversed by a raise"), as
    `explain` says; the stored verdict (the report's, `events --format json`'s) once kept "too
    early to tell"."""
    store(db, config, "deepseek", DAY, [price("deepseek-v4-pro", "1.00")])
    store(db, config, "deepseek", DAY + timedelta(days=10), [price("deepseek-v4-pro", "0.50")])
    store(db, config, "deepseek", DAY + timedelta(days=20), [price("deepseek-v4-pro", "1.00")])
    with db.session() as session:
        event = session.scalar(select(Event).where(Event.kind == "cut"))
        explained, _ = weigh_event(session, config, event)
        stored = {t["test"]: t for t in event.evidence}["durability"]
    assert event.reversal and explained == "dumping-consistent"
    assert (event.verdict, stored["points_to"]) == ("dumping-consistent", "dumping"), stored["summary"]


# -- independent hosts ----------------------------------------------------------------------------


def test_vendor_own_openrouter_endpoint_is_not_an_independent_host(db, config):
    """OpenRouter names Moonshot's own endpoint "Moonshot AI" (and Zhipu's "Z.AI"): the test
    drops only a provider spelled like the vendor id (`moonshot`), so the vendor's own endpoint,
    at its own price, is "the cheapest independent host".  The real independent host charges
    $2.50 against $1.00 first-party: 0.40x, "far below every independent host"."""
    store(db, config, "moonshot", DAY, [price("kimi-k2-0711-preview", "1.00")])
    store(db, config, "openrouter-endpoints", DAY, [
        price("moonshotai/kimi-k2", "1.00", provider="Moonshot AI"),
        price("moonshotai/kimi-k2", "2.50", provider="Together")])
    with db.session() as session:
        from db.models import PriceInterval
        subject = session.scalar(select(PriceInterval).where(PriceInterval.source_id == "moonshot"))
        result = independent_hosts(session, config, subject, DAY)
    hosts = [i["conditions"].get("provider") for i in result.inputs if i.get("role") == "host"]
    assert "Moonshot AI" not in hosts, result.summary
    assert (result.figure, result.points_to) == ("0.4000", "dumping"), result.summary


def test_aggregator_cut_is_not_a_first_party_price_nor_its_own_host(db, config):
    """A cut of one host's endpoint on OpenRouter is weighed with that aggregator price labelled
    "first party", against a list of "independent hosts" that includes the very same endpoint:
    $0.50 vs the cheapest host $0.50 (itself), 1.00x, "advantage"."""
    store(db, config, "openrouter-endpoints", DAY, [
        price("deepseek/deepseek-r1", "1.00", provider="Together"),
        price("deepseek/deepseek-r1", "2.00", provider="Fireworks")])
    store(db, config, "openrouter-endpoints", DAY + timedelta(days=1), [
        price("deepseek/deepseek-r1", "0.50", provider="Together"),
        price("deepseek/deepseek-r1", "2.00", provider="Fireworks")])
    (_, _, tests), = cuts(db, "openrouter-endpoints", "deepseek/deepseek-r1")
    result = tests["independent_hosts"]
    first_party = [i for i in result["inputs"] if i.get("role") == "first party"]
    assert not any(i["source"] == "openrouter-endpoints" for i in first_party), result["summary"]
    hosts = [i["conditions"].get("provider") for i in result["inputs"] if i.get("role") == "host"]
    assert "Together" not in hosts, result["summary"]


# -- home vs export -------------------------------------------------------------------------------


def test_home_vs_export_says_no_home_price_while_one_is_in_force(db, config):
    """Z.ai lists GLM-5 flat ($3.20), bigmodel.cn by context tier (18 / 22 CNY): the test finds
    no price with the export's conditions and says "no zhipu price in force for this model",
    which the archive contradicts (two are in force, snapshot-cited)."""
    store(db, config, "zai", DAY, [price("glm-5", "3.2")])
    store(db, config, "zhipu", DAY, [price("glm-5", "18", "CNY", context_tokens={"min": 0, "max": 32000}),
                                     price("glm-5", "22", "CNY", context_tokens={"min": 32000, "max": None})])
    from db.models import PriceInterval
    with db.session() as session:
        subject = session.scalar(select(PriceInterval).where(PriceInterval.source_id == "zai"))
        result = home_vs_export(session, config, subject, DAY)
    assert "no zhipu price in force" not in result.summary, result.summary


def test_home_vs_export_real_zhipu_and_zai_pages(tmp_path, config):
    """The same on the real pages: bigmodel.cn (2026-07-17) prices GLM-5 output at 18 / 22 CNY by
    context tier and docs.z.ai (2026-05-08) at $3.20; `analyze glm-5` says "no zhipu price in
    force for this model on 2026-07-17"."""
    from db.models import PriceInterval
    from db.session import Database

    database = Database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    for source_id, relative in (("zai", "zhipu/2026-05-08_docs_z_ai_pricing_jina_markdown.md"),
                                ("zhipu", "zhipu/2026-07-17_bigmodel_cn_pricing.html")):
        path = vendor_page(relative)
        source = config.source(source_id)
        when = datetime.fromisoformat(path.name[:10]).replace(hour=8, tzinfo=timezone.utc)
        page = Fetched(source.urls[0], source.urls[0], 200, path.read_bytes(), mimetypes.guess_type(path)[0], when)
        assert ingest(database, config, source, [page], when).status == "ok"
    at = datetime(2026, 7, 17, 23, 59, tzinfo=timezone.utc)
    with database.session() as session:
        home = session.scalars(select(PriceInterval).where(
            PriceInterval.source_id == "zhipu", PriceInterval.canonical_model == "glm-5",
            PriceInterval.dimension == "output")).all()
        subject = session.scalar(select(PriceInterval).where(
            PriceInterval.source_id == "zai", PriceInterval.canonical_model == "glm-5",
            PriceInterval.dimension == "output"))
        result = home_vs_export(session, config, subject, at)
    database.dispose()
    assert sorted(str(h.price) for h in home) == ["18", "22"]
    assert "no zhipu price in force" not in result.summary, result.summary


# -- below cost -----------------------------------------------------------------------------------


def test_below_cost_compares_a_price_per_second_with_a_floor_per_1m_tokens(db, config):
    """LiteLLM reads `output_cost_per_second` as an `output` price per second; below_cost divides
    it by a floor per 1M output tokens and says "$0.0100 per 1M output tokens is 0.28x the serving
    floor": a ratio of two different units, and a false claim about the price."""
    store(db, config, "litellm", DAY, [price("open-mixtral-8x7b", "0.01", unit="second")])
    from db.models import PriceInterval
    with db.session() as session:
        subject = session.scalar(select(PriceInterval).where(PriceInterval.source_id == "litellm"))
        result = below_cost(session, config, subject, DAY)
    assert result.points_to is None and result.figure is None, result.summary


def test_v3_serving_floor_applied_to_deepseek_v3_2(tmp_path, config):
    """The 2025-12-20 page prices deepseek-chat / deepseek-reasoner as "DeepSeek-V3.2" at $0.42
    output.  analysis.toml keeps DeepSeek's V3/R1 serving figures to "only the models it was
    measured on", and deepseek-v3.2 itself has no floor; yet both cuts of that day are weighed
    "1.40x the serving floor ... measured on DeepSeek-V3/R1; above cost" and stored
    advantage-consistent on that test alone."""
    from db.session import Database

    database = Database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    source = config.source("deepseek")
    for relative in ("deepseek/text_dumps/2025-02-26_en_docs_text_dump.md",
                     "deepseek/text_dumps/2025-12-20_en_pricing_md.md"):
        path = vendor_page(relative)
        when = datetime.fromisoformat(path.name[:10]).replace(hour=8, tzinfo=timezone.utc)
        page = Fetched(source.urls[0], source.urls[0], 200, path.read_bytes(), "text/markdown", when)
        assert ingest(database, config, source, [page], when).status == "ok"
    assert "DeepSeek-V3.2" in path.read_text()
    with database.session() as session:
        weighed = [(e.model, e.verdict, {t["test"]: t for t in e.evidence}["below_cost"])
                   for e in session.scalars(select(Event).where(Event.kind == "cut", Event.dimension == "output"))]
    database.dispose()
    assert weighed, "no output cut on 2025-12-20"
    for model, verdict, test in weighed:
        assert "DeepSeek-V3/R1" not in test["summary"], (model, verdict, test["summary"])


def test_home_vs_export_weighs_the_subject_not_another_listed_version(db, config):
    """BytePlus lists two dated versions of one canonical model (the real 2026-08-18 page has
    seed-2-0-lite-260228 and seed-2-0-lite-260428, both doubao-seed-2.0-lite).  The test keeps one
    interval per source (`{i.source_id: i ...}`), so a cut of one version is weighed as the
    other's price: $1.00 cut on 260228, $2.00 still on 260428, home 10 CNY ($1.4756 on 2026-07-17):
    the subject's margin is +47.6% (dumping), the other's -26.2%."""
    store(db, config, "byteplus", DAY, [price("seed-2-0-lite-260228", "1.00"), price("seed-2-0-lite-260428", "2.00")])
    store(db, config, "volcengine", DAY, [price("seed-2-0-lite-260428", "10", "CNY")])
    from db.models import PriceInterval
    with db.session() as session:
        results = {}
        for subject in session.scalars(select(PriceInterval).where(PriceInterval.source_id == "byteplus")):
            assert subject.canonical_model == "doubao-seed-2.0-lite"
            result = home_vs_export(session, config, subject, DAY)
            export = next(i for i in result.inputs if i["role"] == "export")
            results[subject.model] = (export["model"], D(export["price"]), result.points_to)
    assert results == {"seed-2-0-lite-260228": ("seed-2-0-lite-260228", D(1), "dumping"),
                       "seed-2-0-lite-260428": ("seed-2-0-lite-260428", D(2), None)}, results
