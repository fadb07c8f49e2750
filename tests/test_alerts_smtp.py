"""SMTP sessions against a real server: STARTTLS, implicit TLS, plain, AUTH, and one-line errors."""

from __future__ import annotations

import pytest

from tests.alerting import config_dir, pricewatch
from tests.smtpserver import PASSWORD, USER, LocalSMTPServer


def send_test(tmp_path, server, capsys, *extra, **smtp_overrides) -> tuple[int, str, str]:
    config = config_dir(tmp_path)
    server.write_alerts(config, smtp=server.smtp_settings(**smtp_overrides),
                        operator={"recipients": ["ops@example.org"]})
    status = pricewatch(f"sqlite:///{tmp_path / 'unused.sqlite'}", config, "alerts", "test", *extra)
    printed = capsys.readouterr()
    return status, printed.out, printed.err


@pytest.mark.parametrize("tls, auth", [("starttls", True), ("implicit", True), ("none", False)])
def test_each_tls_mode_delivers(tmp_path, monkeypatch, capsys, tls, auth):
    monkeypatch.setenv("PW_TEST_SMTP_USER", USER)
    monkeypatch.setenv("PW_TEST_SMTP_PASSWORD", PASSWORD)
    with LocalSMTPServer(tmp_path, tls=tls, auth=auth) as server:
        status, out, err = send_test(tmp_path, server, capsys, "--to", "me@example.org")
    assert status == 0, err
    assert f"test message sent to me@example.org via 127.0.0.1:{server.port} (250 2.0.0 queued)" in out
    (mail,) = server.messages
    assert mail.message["Subject"] == "pricewatch: test message" and mail.rcpt_tos == ["me@example.org"]
    assert server.logins == ([USER] if auth else [])


def test_without_to_the_configured_recipients_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PW_TEST_SMTP_USER", USER)
    monkeypatch.setenv("PW_TEST_SMTP_PASSWORD", PASSWORD)
    with LocalSMTPServer(tmp_path) as server:
        assert send_test(tmp_path, server, capsys)[0] == 0
    assert [m.rcpt_tos for m in server.messages] == [["ops@example.org"]]


@pytest.mark.parametrize("password, overrides, status, message", [
    ("wrong-password", {}, 1, "[smtp unavailable] smtp 127.0.0.1:{port}: 535 5.7.8 Authentication"),
    (PASSWORD, {"ca_file": ""}, 1, "TLS certificate not trusted"),
    (None, {}, 2, "environment variable PW_TEST_SMTP_PASSWORD is not set"),
    (PASSWORD, {"tls": "none"}, 2, "refusing to send credentials without TLS"),
    ("gehéim-Päss", {}, 1, "[smtp unavailable] smtp 127.0.0.1:{port}: the user name or password is not ASCII"),
])
def test_failures_are_one_line_without_secrets(tmp_path, monkeypatch, capsys, password, overrides, status, message):
    monkeypatch.setenv("PW_TEST_SMTP_USER", USER)
    if password:
        monkeypatch.setenv("PW_TEST_SMTP_PASSWORD", password)
    else:
        monkeypatch.delenv("PW_TEST_SMTP_PASSWORD", raising=False)
    with LocalSMTPServer(tmp_path) as server:
        result, _, err = send_test(tmp_path, server, capsys, "--to", "me@example.org", **overrides)
    assert result == status
    assert message.format(port=server.port) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "wrong-password" not in err and PASSWORD not in err and not (password and password in err)
    assert server.messages == []


def test_a_server_that_is_down_is_one_line(tmp_path, capsys):
    server = LocalSMTPServer(tmp_path, tls="none", auth=False)  # never started
    status, _, err = send_test(tmp_path, server, capsys, "--to", "me@example.org")
    assert status == 1
    assert err.strip() == f"pricewatch: [smtp unavailable] smtp 127.0.0.1:{server.port}: connection refused"


def test_a_non_ascii_address_is_one_line_and_nothing_is_sent(tmp_path, capsys):
    with LocalSMTPServer(tmp_path, tls="none", auth=False) as server:
        status, _, err = send_test(tmp_path, server, capsys, "--to", "ünï@exämple.org")
    assert status == 2 and server.messages == []
    assert err == ("pricewatch: --to 'ünï@exämple.org' is not a plain ASCII mail address (internationalised "
                   "addresses need SMTPUTF8, which pricewatch does not use)\n")
