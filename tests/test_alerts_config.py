"""alerts.toml: the shipped file is harmless, rules filter as documented, flaws are ConfigErrors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.models import Event
from pipeline.alerts.config import Rule, alert_settings
from pipeline.config import load_config
from pipeline.errors import ConfigError
from tests.conftest import REPO


def test_the_shipped_config_mails_no_one():
    settings = alert_settings(load_config(REPO / "config"))
    assert settings.enabled is False
    assert settings.rules and settings.operator.recipients
    assert (settings.smtp.username_env, settings.smtp.password_env) == ("PRICEWATCH_SMTP_USER",
                                                                        "PRICEWATCH_SMTP_PASSWORD")


def event(**values) -> Event:
    defaults = dict(kind="cut", source_id="deepseek", vendor="deepseek", model="deepseek-v4-pro",
                    canonical_model="deepseek-v4-pro", change_pct=Decimal("-50"), verdict="inconclusive",
                    via_aggregator=False)
    return Event(**{**defaults, **values})


@pytest.mark.parametrize("rule, values, expected", [
    ({}, {}, True),
    ({"sources": ("deepseek-cn",)}, {}, False),
    ({"vendors": ("deepseek", "zhipu")}, {}, True),
    ({"models": ("DeepSeek-*",)}, {}, True),  # globs ignore case
    ({"models": ("deepseek-v4-pro",)}, {"model": "deepseek/deepseek-v4-pro"}, True),  # the canonical id matches
    ({"models": ("glm-*",)}, {}, False),
    ({"kinds": ("raise",)}, {}, False),
    ({"min_change_pct": Decimal(60)}, {}, False),
    ({"min_change_pct": Decimal(50)}, {"change_pct": Decimal("50")}, True),  # absolute, both directions
    ({"min_change_pct": Decimal(10)}, {"kind": "new_model", "change_pct": None}, True),  # no % to compare
    ({"verdicts": ("dumping-consistent",)}, {}, False),
    ({"verdicts": ("dumping-consistent",)}, {"kind": "new_model", "verdict": None}, False),
    ({}, {"via_aggregator": True}, False),
    ({"aggregator_events": True}, {"via_aggregator": True}, True),
])
def test_rule_filters(rule, values, expected):
    assert Rule(name="r", recipients=("a@example.org",), **rule).matches(event(**values)) is expected


@pytest.mark.parametrize("alerts, message", [
    ({"enabled": "yes"}, "alerts.toml: Expected `bool`, got `str` - at `$.enabled`"),
    ({"colour": "red"}, "unknown key(s) colour"),
    ({"rule": [{"recipients": ["a@example.org"], "kinds": ["crash"]}]}, "rule 1: Invalid enum value 'crash' - at `$.kinds[0]` (expected one of: cut, raise,"),
    ({"rule": [{"recipients": ["not an address"]}]}, "'not an address' is not a mail address"),
    ({"rule": [{"recipients": ["ünï@exämple.org"]}]}, "rule 1: 'ünï@exämple.org' is not a plain ASCII mail address"),
    ({"operator": {"recipients": ["öps@example.org"]}}, "[operator]: 'öps@example.org' is not a plain ASCII"),
    ({"sender": "pw <pw@exämple.org>"}, "alerts.toml: sender 'pw <pw@exämple.org>' is not a plain ASCII"),
    ({"rule": [{"name": "empty", "recipients": []}]}, "rule 'empty': 'recipients' must name at least one"),
    ({"rule": [{"recipients": ["a@example.org"], "min_change_pct": "lots"}]}, "Invalid decimal string"),
    ({"rule": [{"recipients": ["a@example.org"], "min_change_pct": "NaN"}]}, "'min_change_pct' must be a number"),
    ({"rules": [{"recipients": ["a@example.org"]}]}, "unknown key(s) rules (rules are [[rule]] tables)"),
    ({"smtp": {"port": 70000}}, "Expected `int` <= 65535 - at `$.port`"),
    ({"smtp": {"tls": "ssl"}}, "(expected one of: starttls, implicit, none)"),
    ({"smtp": {"tls": "none", "username_env": "U", "password_env": "P"}}, "refusing to send credentials"),
    ({"smtp": {"password": "hunter2"}}, "unknown key(s) password"),
    ({"smtp": {"timeout_seconds": -1}}, "Expected `float` > 0.0 - at `$.timeout_seconds`"),
    ({"smtp": {"port": 0}}, "Expected `int` >= 1 - at `$.port`"),
    ({"operator": {"recipients": ["ops@example.org"], "failures_in_a_row": -1}}, "[operator]: Expected `int` >= 0 - at `$.failures_in_a_row`"),
])
def test_flaws_are_config_errors(tmp_path, alerts, message):
    import tomli_w

    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "sources.toml").write_text("")
    (directory / "alerts.toml").write_text(tomli_w.dumps(alerts))
    with pytest.raises(ConfigError) as caught:
        alert_settings(load_config(directory))
    assert message in str(caught.value)


def test_a_display_name_may_be_any_script(tmp_path):
    """Only the envelope address must be ASCII: the From header encodes the name (RFC 2047)."""
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "sources.toml").write_text("")
    (directory / "alerts.toml").write_text('sender = "价格观察 <pricewatch@example.org>"\n')
    assert alert_settings(load_config(directory)).sender_address == "pricewatch@example.org"
