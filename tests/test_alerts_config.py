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
    ({"enabled": "yes"}, "'enabled' must be bool"),
    ({"colour": "red"}, "unknown key(s) colour"),
    ({"rule": [{"recipients": ["a@example.org"], "kinds": ["crash"]}]}, "unknown kinds crash"),
    ({"rule": [{"recipients": ["not an address"]}]}, "'not an address' is not a mail address"),
    ({"rule": [{"name": "empty", "recipients": []}]}, "rule 'empty': 'recipients' must name at least one"),
    ({"rule": [{"recipients": ["a@example.org"], "min_change_pct": "lots"}]}, "'min_change_pct' must be a number"),
    ({"smtp": {"tls": "ssl"}}, "tls must be one of starttls, implicit, none"),
    ({"smtp": {"tls": "none", "username_env": "U", "password_env": "P"}}, "refusing to send credentials"),
    ({"smtp": {"password": "hunter2"}}, "unknown key(s) password"),
    ({"smtp": {"timeout_seconds": -1}}, "timeout_seconds must be above 0"),
    ({"smtp": {"port": 0}}, "port must be from 1 to 65535"),
    ({"operator": {"recipients": ["ops@example.org"], "failures_in_a_row": -1}}, "failures_in_a_row must be"),
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
