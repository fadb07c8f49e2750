"""USD and EUR from the ECB's reference rates, as every stored conversion makes them."""

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from pipeline.fx import ecb_rates


def test_a_cny_price_converts_at_the_day_s_rates():
    """13 April 2026: 7.9827 CNY and 1.1684 USD to the euro."""
    converted = ecb_rates().convert(Decimal("1.5"), "CNY", date(2026, 4, 13))
    assert converted.eur == Decimal("0.187906347476")
    assert converted.usd == Decimal("0.219549776391")
    assert (converted.fx_date, converted.per_eur, converted.usd_per_eur) == (
        date(2026, 4, 13), Decimal("7.9827"), Decimal("1.1684"))


def test_a_usd_price_is_usd_even_before_the_ecb_s_first_rate():
    """The ECB's rates start in January 1999: a 1998 USD price has no EUR, but its USD is itself."""
    converted = ecb_rates().convert(Decimal("0.5"), "USD", date(1998, 6, 1))
    assert (converted.usd, converted.eur, converted.fx_date) == (Decimal("0.5"), None, None)
    assert ecb_rates().convert(Decimal("0.5"), "CNY", date(1998, 6, 1)).usd is None


def test_status_says_when_the_bundled_rates_are_stale(tmp_path, monkeypatch, capsys):
    """The table ends when the package release was made; later figures use its last rate."""
    import pipeline.commands
    from pipeline.cli import main
    from tests.conftest import FIXTURES

    page = str(FIXTURES / "litellm_core" / "2026-01.json")
    db = str(tmp_path / "a.sqlite")
    assert main(["--db", db, "import", "litellm", page, "--observed-at", "2026-01-01"]) == 0
    newest = ecb_rates().newest()
    monkeypatch.setattr(pipeline.commands, "today_utc", lambda: datetime.combine(newest, time(), timezone.utc))
    capsys.readouterr()
    assert main(["--db", db, "status"]) == 0 and "ECB rates" not in capsys.readouterr().out
    later = datetime.combine(newest + timedelta(days=30), time(), timezone.utc)
    monkeypatch.setattr(pipeline.commands, "today_utc", lambda: later)
    assert main(["--db", db, "status"]) == 0
    assert f"ECB rates: the bundled table ends {newest} (30 days ago)" in capsys.readouterr().out
