"""Digests end to end: two imported DeepSeek pages with a cut, delivered to a real SMTP server
(STARTTLS and AUTH) on SQLite and PostgreSQL; one digest, the right content, never twice."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from db.models import AlertLog, Event, OutboxMessage
from db.session import Database
from pipeline.alerts.config import alert_settings
from pipeline.alerts.digest import amount, percent, queue_digests, subject
from pipeline.config import load_config
from pipeline.fetch import Fetched
from pipeline.run import ingest
from tests.alerting import (
    AFTER,
    BEFORE,
    DEEPSEEK_URL,
    EVIL_MODEL,
    RULE,
    config_dir,
    import_page,
    import_that_dies_before_alerting,
    litellm_pages,
    pricewatch,
)
from tests.alerting import listening_smtp  # noqa: F401  (the fixture `smtp`)
from tests.conftest import vendor_page
from tests.smtpserver import USER, LocalSMTPServer


def test_two_imports_with_a_cut_deliver_one_correct_digest(tmp_path, db_url, smtp, capsys):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, charts=1, rule=[{"name": "deepseek", "recipients": ["analyst@example.org"],
                                               "vendors": ["deepseek"], "kinds": ["cut"], "min_change_pct": 10}])
    assert import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z") == 0
    assert smtp.messages == [], "the first observation is the baseline: no alert"
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 0
    assert "alerts: 1 queued, 1 sent, 0 pending" in capsys.readouterr().out

    assert len(smtp.messages) == 1 and smtp.logins == [USER]
    mail = smtp.messages[0]
    assert mail.rcpt_tos == ["analyst@example.org"] and mail.mail_from == "pricewatch@example.org"
    assert mail.message["Subject"] == "pricewatch: 3 price cuts — deepseek-v4-pro −50%"
    text, html = mail.part("plain"), mail.part("html")
    assert "price per 1M tokens: 1.74 USD → 0.87 USD" in text
    assert "in USD: $1.74 → $0.87" in text
    assert re.search(r"in EUR: €1\.\d+ → €0\.\d+ \(ECB reference rate of 2026-08-1\d\)", text)
    assert "0.87 USD → 0.435 USD" in text and "0.00725 USD → 0.003625 USD" in text
    output = text[text.index("deepseek-v4-pro output"):]
    assert "verdict: inconclusive" in output  # V4's serving cost is unpublished: no floor to weigh it on
    tests = re.findall(r"^     - (\w+): (dumping|advantage|neither)\. .+$", output.split("\n\n")[0], re.MULTILINE)
    assert [name for name, _ in tests] == ["home_vs_export", "below_cost", "independent_hosts", "peer_gap",
                                           "durability"]
    assert ("below_cost", "neither") in tests
    assert f"source URL: {DEEPSEEK_URL}" in text

    db = Database(db_url)
    with db.session() as session:
        cut = session.scalars(select(Event).where(Event.dimension == "output")).one()
        row = session.scalars(select(OutboxMessage)).one()
    db.dispose()
    assert f"archived snapshot: {cut.snapshot_id} (sha256 " in text
    assert f"pricewatch explain {cut.id}" in text
    assert f'<a href="{DEEPSEEK_URL}">' in html and "inconclusive" in html
    assert (row.status, row.attempts, mail.message["Message-ID"]) == ("sent", 1, row.message_id)
    chart = [part for part in mail.message.walk() if part.get_content_type() == "image/png"]
    assert len(chart) == 1 and chart[0].get_content().startswith(b"\x89PNG")
    assert f'src="cid:{chart[0]["Content-ID"].strip("<>")}"' in html


def test_a_second_run_delivers_nothing(tmp_path, db_url, smtp):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[{"name": "all", "recipients": ["analyst@example.org"]}])
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z")
    assert len(smtp.messages) == 1
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 0  # the same import again
    assert import_page(db_url, config, AFTER, "2026-08-15T08:00:00Z") == 0  # a later, unchanged page
    assert import_page(db_url, config, BEFORE, "2026-08-01T08:00:00Z") == 0  # a backfill before the baseline
    assert pricewatch(db_url, config, "alerts", "flush") == 0
    assert len(smtp.messages) == 1


def test_html_escapes_a_scraped_model_name(tmp_path, db_url, smtp):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[
        {"name": "aggregators too", "recipients": ["wide@example.org"], "aggregator_events": True},
        {"name": "first party only", "recipients": ["narrow@example.org"]},
    ])
    before, after = litellm_pages(tmp_path)
    import_page(db_url, config, before, "2026-01-01T08:00:00Z", source="litellm")
    assert import_page(db_url, config, after, "2026-02-01T08:00:00Z", source="litellm") == 0
    assert [m.rcpt_tos for m in smtp.messages] == [["wide@example.org"]], "aggregator events are opt-in"
    mail = smtp.messages[0]
    html = mail.part("html")
    assert "<script" not in html
    assert "evil-&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert EVIL_MODEL in mail.part("plain")  # plain text is not markup
    assert mail.message["Subject"].startswith(f"pricewatch: 2 price cuts — {EVIL_MODEL} −50%")


def test_control_characters_in_a_scraped_name_show_as_escapes_and_break_nothing(tmp_path, db_url, smtp):
    """A model id carrying CR LF, a lone dot line, a terminal escape and U+2028: the text part
    shows them escaped, no header or recipient is added, and the HTML part arrives whole."""
    model = "evil\r\nBcc: victim@evil.org\r\n.\r\nx\x1b[31m\u2028y\x85z"
    config = config_dir(tmp_path)
    smtp.write_alerts(config, charts=2, rule=[{"name": "all", "recipients": ["wide@example.org"],
                                               "aggregator_events": True}])
    before, after = litellm_pages(tmp_path, model)
    import_page(db_url, config, before, "2026-01-01T08:00:00Z", source="litellm")
    assert import_page(db_url, config, after, "2026-02-01T08:00:00Z", source="litellm") == 0
    (mail,) = smtp.messages
    assert mail.rcpt_tos == ["wide@example.org"] and "Bcc" not in mail.message and mail.message.defects == []
    assert r"— evil Bcc: victim@evil.org . x\x1b[31m y z −50%" in mail.message["Subject"]
    lines = mail.part("plain").replace("\r\n", "\n").split("\n")
    assert r"1. evil\r\nBcc: victim@evil.org\r\n.\r\nx\x1b[31m\u2028y\x85z input — price cut −50%" in lines
    assert [line for line in lines if re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)] == []
    html = mail.part("html")
    assert "1. evil Bcc: victim@evil.org . x\x1b[31m y z input — price cut −50%" in " ".join(html.split())
    assert html.rstrip().endswith("</html>") and html.count('src="cid:chart-') == 2


def test_an_event_is_queued_once_per_recipient(tmp_path, db):
    directory = config_dir(tmp_path)
    LocalSMTPServer(tmp_path).write_alerts(directory, rule=[
        {"name": "a", "recipients": ["one@example.org", "two@example.org"]},
        {"name": "b", "recipients": ["two@example.org"], "kinds": ["cut"]},
    ])
    config = load_config(directory)
    settings = alert_settings(config)
    source = config.source("deepseek")
    for page, day in ((BEFORE, 2), (AFTER, 14)):
        when = datetime(2026, 8, day, 8, tzinfo=timezone.utc)
        result = ingest(db, config, source, [Fetched(DEEPSEEK_URL, DEEPSEEK_URL, 200, page.read_bytes(),
                                                     "text/html", when)], when)
    assert len(result.events) == 3
    now = datetime.now(timezone.utc)
    with db.transaction() as session:
        assert queue_digests(session, config, settings, result.events, now) == 2
    with db.transaction() as session:
        assert queue_digests(session, config, settings, result.events, now) == 0
    with db.session() as session:
        logged = session.execute(select(AlertLog.recipient, AlertLog.event_id)).all()
        recipients = session.scalars(select(OutboxMessage.recipient)).all()
    assert sorted(recipients) == ["one@example.org", "two@example.org"]
    assert len(logged) == 2 * 3


def test_subject_and_amounts():
    def event(kind, model, pct=None):
        return Event(kind=kind, model=model, change_pct=pct)

    events = [event("cut", "a", Decimal("-50.00")), event("cut", "b", Decimal("-33.33")),
              event("raise", "c", Decimal("12.5")), event("new_model", "d"), event("cut", "a", Decimal("-20"))]
    assert subject(events) == "pricewatch: 3 price cuts, 1 price rise, 1 new model — a −50%, b −33.3%, c +12.5%, …"
    aliased = [event("alias_change", "mistral-large-latest", Decimal("-93.75")), event("cut", "mistral-embed", Decimal("-10"))]
    assert subject(aliased) == ("pricewatch: 1 price cut, 1 price of a moving alias changed — mistral-embed −10%, "
                                "mistral-large-latest alias −93.8%"), "a price cut is named before an alias change"
    assert subject([event("withdrawn", "x\nSubject: injected")]) == \
        "pricewatch: 1 model withdrawn — x Subject: injected (withdrawn)"
    assert amount(Decimal("0.389366272825")) == "0.389366" and amount(Decimal("1.74")) == "1.74"
    assert amount(Decimal("0")) == "0" and amount(None) == "n/a"
    assert percent(Decimal("-50.00")) == "−50%" and percent(Decimal("12.50")) == "+12.5%"


def test_real_deepseek_pages_give_one_digest(tmp_path, db_url, smtp):
    """The published move to peak/off-peak prices (2026-08-14 → 2026-08-17): price rises."""
    before = vendor_page("deepseek/markdown_mirror/2026-08-14_en_pricing.md")
    after = vendor_page("deepseek/markdown_mirror/2026-08-17_en_pricing.md")
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[{"name": "rises", "recipients": ["analyst@example.org"], "kinds": ["raise"]}])
    assert import_page(db_url, config, before, "2026-08-14T08:00:00Z") == 0
    assert import_page(db_url, config, after, "2026-08-17T08:00:00Z") == 0
    (mail,) = smtp.messages
    assert re.fullmatch(r"pricewatch: \d+ price rises — deepseek-v4-\w+ \+\d+(\.\d)?%, .+", mail.message["Subject"])
    text = mail.part("plain")
    assert "price per 1M tokens: 0.87 USD → 3.96 USD" in text and "conditions: time_window=peak" in text
    assert f"source URL: {DEEPSEEK_URL}" in text and "archived snapshot: 2 (sha256 " in text


def test_events_of_a_run_that_died_before_its_alert_stage_are_sent_by_the_next(tmp_path, db_url, smtp):
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[{"name": "all", "recipients": ["analyst@example.org"]}])
    assert import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z") == 0  # alerts on, baseline stored
    died = import_that_dies_before_alerting(db_url, config, AFTER, datetime(2026, 8, 14, 8, tzinfo=timezone.utc))
    assert len(died.events) == 3 and smtp.messages == []
    assert import_page(db_url, config, AFTER, "2026-08-15T08:00:00Z") == 0  # the next run, no new events
    assert len(smtp.messages) == 1 and "3 price cuts" in smtp.messages[0].message["Subject"]
    assert import_page(db_url, config, AFTER, "2026-08-16T08:00:00Z") == 0
    assert len(smtp.messages) == 1


def test_a_new_archive_whose_first_runs_died_before_alerting_mails_their_events(tmp_path, db_url, smtp):
    """Alerts on from the start, and the first two runs killed between their store and their alert
    stage: the third run mails the second's events (the watermark comes with the schema)."""
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=RULE)
    import_that_dies_before_alerting(db_url, config, BEFORE, datetime(2026, 8, 2, 8, tzinfo=timezone.utc))
    died = import_that_dies_before_alerting(db_url, config, AFTER, datetime(2026, 8, 14, 8, tzinfo=timezone.utc))
    assert len(died.events) == 3 and smtp.messages == []
    assert import_page(db_url, config, AFTER, "2026-08-15T08:00:00Z") == 0
    assert [m.message["Subject"] for m in smtp.messages] == ["pricewatch: 3 price cuts — deepseek-v4-pro −50%"]


def test_switching_alerts_on_mails_nothing_of_the_archives_past(tmp_path, db_url, smtp):
    config = config_dir(tmp_path)
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 0  # a cut, with alerts off
    smtp.write_alerts(config, rule=RULE)
    assert import_page(db_url, config, AFTER, "2026-08-15T08:00:00Z") == 0
    assert smtp.messages == []


def litellm_list(prices: list[str]) -> bytes:
    """A LiteLLM price file of models model-0, model-1, ... at these prices per token."""
    return json.dumps({f"model-{n}": {"mode": "chat", "input_cost_per_token": price, "output_cost_per_token": price}
                       for n, price in enumerate(prices)}).encode()


def test_an_event_id_freed_by_a_backfill_is_not_handed_out_again(tmp_path, db_url, smtp):
    """A backfill that disproves a withdrawal deletes the newest event.  SQLite, without
    AUTOINCREMENT, would give its id to the next new event, at or below the watermark: had that
    event's run died before alerting, no later stage would ever mail it."""
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[{"name": "all", "recipients": ["analyst@example.org"], "aggregator_events": True}])
    full, without_last, cut = (tmp_path / name for name in ("full.json", "without-last.json", "cut.json"))
    full.write_bytes(litellm_list(["2e-6"] * 6))
    without_last.write_bytes(litellm_list(["2e-6"] * 5))  # model-5 is missing
    cut.write_bytes(litellm_list(["1e-6"] + ["2e-6"] * 4))
    import_page(db_url, config, full, "2026-03-01T08:00:00Z", source="litellm")
    for day in (2, 3, 4):  # missing from three runs in a row: withdrawn
        assert import_page(db_url, config, without_last, f"2026-03-0{day}T08:00:00Z", source="litellm") == 0
    assert import_page(db_url, config, full, "2026-03-03T12:00:00Z", source="litellm") == 0  # it was there after all
    died = import_that_dies_before_alerting(db_url, config, cut, datetime(2026, 3, 5, 8, tzinfo=timezone.utc),
                                            source="litellm")
    assert died.events
    assert import_page(db_url, config, cut, "2026-03-06T08:00:00Z", source="litellm") == 0
    db = Database(db_url)
    with db.session() as session:
        events = set(session.scalars(select(Event.id)))
        told = set(session.scalars(select(AlertLog.event_id)))
    db.dispose()
    assert set(died.events) <= events and events == told


def test_a_digest_too_large_for_one_message_goes_in_parts(tmp_path, smtp, monkeypatch):
    """1,700 models cut at once on an aggregator made one 10.5 MB digest, over Postfix's default
    size limit: refused whole, and every event in it was lost.  Parts of at most
    MAX_EVENTS_PER_DIGEST events each carry every event once (here 2 per part)."""
    import pipeline.alerts.digest

    monkeypatch.setattr(pipeline.alerts.digest, "MAX_EVENTS_PER_DIGEST", 2)
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    config = config_dir(tmp_path)
    smtp.write_alerts(config, rule=[{"name": "all", "recipients": ["analyst@example.org"]}])
    import_page(db_url, config, BEFORE, "2026-08-02T08:00:00Z")
    assert import_page(db_url, config, AFTER, "2026-08-14T08:00:00Z") == 0
    db = Database(db_url)
    with db.session() as session:
        events = session.scalars(select(Event.id)).all()
        logged = session.execute(select(AlertLog.event_id, AlertLog.message_id)).all()
    db.dispose()
    parts = -(-len(events) // 2)
    assert parts > 1 and len(smtp.messages) == parts
    assert sorted(event_id for event_id, _ in logged) == sorted(events)  # every event told once
    assert {message_id for _, message_id in logged} == {m.message["Message-ID"] for m in smtp.messages}
    assert [m.message["Subject"].endswith(f"(part {n} of {parts})") for n, m in enumerate(smtp.messages, 1)] == [
        True] * parts
