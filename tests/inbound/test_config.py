"""Configuration: bad values stop start-up with a message naming the key and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inbound.config import Secret, from_mapping, load
from inbound.errors import ConfigError
from tests.support.webhook import SECRET

GOOD_ROUTE = {
    "name": "support",
    "recipients": ["support@example.com"],
    "url": "https://hooks.example.com/in",
    "secret": SECRET,
}


def _load(raw: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    return from_mapping(raw, environ or {}, {})


@pytest.mark.parametrize(
    ("raw", "key", "problem"),
    [
        ({"server": {"listne": "x"}}, "server.listne", "unknown key"),
        ({"colour": 1}, "colour", "unknown key"),
        ({"routes": [{**GOOD_ROUTE, "retries": 3}]}, "routes[0].retries", "unknown key"),
        ({"server": {"max_recipients": "100"}}, "server.max_recipients", "must be an integer"),
        ({"server": {"domains": "example.com"}}, "server.domains", "must be an array"),
        ({"retention": {"raw_days": 0}}, "retention.raw_days", "at least 1"),
        (
            {"delivery": {"allow_private_webhooks": "yes"}},
            "delivery.allow_private_webhooks",
            "true or false",
        ),
        (
            {"routes": [{**GOOD_ROUTE, "url": "ftp://x.example.com/"}]},
            "routes[0].url",
            "http(s) URL",
        ),
        ({"routes": [{**GOOD_ROUTE, "url": "not a url"}]}, "routes[0].url", "http(s) URL"),
        (
            {"routes": [{**GOOD_ROUTE, "url": "http://hooks.example.com/"}]},
            "routes[0].url",
            "must be https",
        ),
        ({"routes": [{**GOOD_ROUTE, "url": "https://10.0.0.5/"}]}, "routes[0].url", "non-public"),
        (
            {"routes": [{**GOOD_ROUTE, "url": "https://169.254.169.254/"}]},
            "routes[0].url",
            "non-public",
        ),
        ({"routes": [{**GOOD_ROUTE, "url": "https://localhost/"}]}, "routes[0].url", "localhost"),
        ({"routes": [{**GOOD_ROUTE, "secret": "hunter2"}]}, "routes[0].secret", "whsec_"),
        ({"routes": [{**GOOD_ROUTE, "secret": "whsec_!!!"}]}, "routes[0].secret", "base64"),
        (
            {"routes": [{**GOOD_ROUTE, "secret": "whsec_c2hvcnQ="}]},
            "routes[0].secret",
            "24-64 bytes",
        ),
        (
            {"routes": [{k: v for k, v in GOOD_ROUTE.items() if k != "secret"}]},
            "routes[0].secret",
            "required",
        ),
        (
            {"routes": [{"name": "x", "recipients": ["a@example.com"]}]},
            "routes[0].url",
            "missing route target",
        ),
        ({"routes": [{**GOOD_ROUTE, "recipients": []}]}, "routes[0].recipients", "at least one"),
        (
            {"routes": [{**GOOD_ROUTE, "recipients": ["support"]}]},
            "routes[0].recipients[0]",
            "user@domain",
        ),
        ({"routes": [{**GOOD_ROUTE, "kinds": ["spam"]}]}, "routes[0].kinds[0]", "unknown kind"),
        ({"routes": [GOOD_ROUTE, GOOD_ROUTE]}, "routes[1].name", "duplicate"),
        (
            {"routes": [{**GOOD_ROUTE, "by_kind": {"bounce": {"secret": SECRET}}}]},
            "routes[0].by_kind.bounce.url",
            "missing route target",
        ),
        ({"storage": {"backend": "ftp"}}, "storage.backend", '"local" or "s3"'),
        ({"storage": {"backend": "s3"}}, "storage.s3.bucket", "required"),
        (
            {"storage": {"backend": "s3", "s3": {"bucket": "b", "sse": "rot13"}}},
            "storage.s3.sse",
            "AES256",
        ),
        ({"server": {"listen": "localhost"}}, "server.listen", "HOST:PORT"),
        ({"server": {"tls_cert": "/x.pem"}}, "server.tls_key", "go together"),
        (
            {"retention": {"raw_days": 10, "metadata_days": 5}},
            "retention.metadata_days",
            "at least",
        ),
    ],
)
def test_bad_config_names_the_key(raw: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(raw)
    assert info.value.key == key
    assert problem in info.value.problem
    assert key in str(info.value)


def test_defaults_with_no_config_at_all() -> None:
    s = load(None, {})
    assert (s.listen_host, s.listen_port) == ("127.0.0.1", 2525)
    assert s.domains == ("localhost",)
    assert s.data_dir == Path("inbound-data")
    assert s.outbox_file == Path("inbound-data/outbox.sqlite3")
    assert (s.raw_days, s.metadata_days, s.max_recipients) == (7, 30, 100)
    assert s.max_message_bytes == 30 * 1024 * 1024
    [route] = s.routes
    assert route.target is None and route.recipients == ("*@localhost",)


def test_environment_overrides_file_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "inbound.toml"
    path.write_text(
        '[server]\nlisten = "0.0.0.0:25"\ndomains = ["a.example"]\n[retention]\nraw_days = 3\n'
    )
    s = load(
        path,
        {"INBOUND_LISTEN": "127.0.0.1:2626", "INBOUND_RAW_DAYS": "2"},
        {"listen": "127.0.0.1:2727"},
    )
    assert (s.listen_host, s.listen_port) == ("127.0.0.1", 2626)
    assert s.raw_days == 2
    assert s.domains == ("a.example",)
    s = load(path, {}, {"listen": "127.0.0.1:2727", "data_dir": str(tmp_path / "d")})
    assert s.listen_port == 2727 and s.data_dir == tmp_path / "d"


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load(None, {"INBOUND_RAW_DAYS": "seven"})
    assert info.value.key == "INBOUND_RAW_DAYS"


def test_route_domains_are_served_and_private_urls_need_the_switch() -> None:
    route = {**GOOD_ROUTE, "url": "http://127.0.0.1:8080/hook"}
    with pytest.raises(ConfigError):
        _load({"routes": [route]})
    s = _load({"routes": [route]}, {"INBOUND_ALLOW_PRIVATE_WEBHOOKS": "1"})
    assert "example.com" in s.domains


def test_secrets_never_print() -> None:
    s = _load({"routes": [GOOD_ROUTE]})
    text = repr(s)
    assert SECRET not in text
    assert SECRET[6:] not in text
    assert s.routes[0].target is not None
    assert s.routes[0].target.secrets[0].reveal() == SECRET
    assert str(Secret("x")) == "Secret('**********')"


def test_command_line_webhook_may_be_loopback_http() -> None:
    s = from_mapping(
        {},
        {},
        {"webhook": "http://127.0.0.1:9/hook", "secret": SECRET, "domains": ["example.test"]},
    )
    cli = s.routes[-1]
    assert cli.target is not None and cli.target.trusted
    assert cli.recipients == ("*@example.test",)
    assert s.domains == ("example.test",)  # --domain replaces the default "localhost"


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inbound", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_command(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[server]\ndomains = ["example.com"]\n\n[[routes]]\nname = "support"\n'
        'recipients = ["*@example.com"]\nurl = "https://hooks.example.com/x"\n'
        f'secret = "{SECRET}"\n'
    )
    r = _check(good)
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[routes]]\nname = "support"\nrecipients = ["*@example.com"]\nurl = "https://h.example.com/"\n'
        'secret = "nope"\n'
    )
    r = _check(bad)
    assert r.returncode == 2
    assert "routes[0].secret" in r.stderr and "whsec_" in r.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    r = _check(broken)
    assert r.returncode == 2 and "not valid TOML" in r.stderr
    r = _check(tmp_path / "absent.toml")
    assert r.returncode == 2 and "file not found" in r.stderr


def test_serve_with_bad_config_stops_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nmax_recipients = -1\n")
    r = subprocess.run(
        [sys.executable, "-m", "inbound", "serve", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "server.max_recipients" in r.stderr
