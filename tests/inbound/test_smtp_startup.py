"""Start-up that explains itself (issue 16 item 8): TLS files and the listen address.

Before: a missing certificate passed check-config, then `serve` died with a traceback; a
port in use printed a 27-line traceback. Now both are one line naming the key or address.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trustme


def _inbound(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inbound", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _config(tmp_path: Path, cert: Path, key: Path, listen: str = "127.0.0.1:0") -> Path:
    path = tmp_path / "inbound.toml"
    path.write_text(
        f'[server]\nlisten = "{listen}"\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
        f'[storage]\ndata_dir = "{tmp_path / "data"}"\n'
    )
    return path


def _pair(tmp_path: Path, name: str) -> tuple[Path, Path]:
    issued = trustme.CA().issue_cert("mx.test")
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return cert, key


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("case", ["missing cert", "missing key", "not pem", "wrong key"])
def test_bad_tls_files_are_one_line_in_check_config_and_serve(tmp_path: Path, case: str) -> None:
    cert, key = _pair(tmp_path, "a")
    _, other_key = _pair(tmp_path, "b")
    expected_key = "server.tls_key" if case in ("missing key", "wrong key") else "server.tls_cert"
    if case == "missing cert":
        cert = tmp_path / "nope.crt"
    elif case == "missing key":
        key = tmp_path / "nope.key"
    elif case == "not pem":
        cert.write_text("hello\n")
    else:
        key = other_key
    config = _config(tmp_path, cert, key)
    commands = [["check-config", str(config)]]
    if case == "missing cert":  # serve reads the config the same way: one case shows it
        commands.append(["serve", "--config", str(config)])
    for command in commands:
        line = _one_line(_inbound(tmp_path, *command))
        assert expected_key in line, line


def test_a_port_in_use_is_one_line_naming_the_address(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path, "a")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = _config(tmp_path, cert, key, listen=f"127.0.0.1:{port}")
        line = _one_line(_inbound(tmp_path, "serve", "--config", str(config)))
    assert "server.listen" in line and f"127.0.0.1:{port} is already in use" in line, line
