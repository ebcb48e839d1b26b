"""`inbound parse` as DESIGN §9 fixes it, run as a user would (a subprocess)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.service import assert_valid_data

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cli"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "inbound", "parse", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def lines(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_one_path_prints_one_object() -> None:
    r = run(
        "--received-at",
        "2026-11-22T10:00:00Z",
        "--mail-from",
        "zoe@sender.test",
        "--rcpt-to",
        "support@example.test",
        str(FIXTURES / "plain.eml"),
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)  # one object (pretty-printed), nothing else on stdout
    assert_valid_data(data)
    assert data["subject"] == "Bestellung überfällig"
    assert data["from"] == {"name": "Zoë Example", "address": "zoe@sender.test"}
    assert data["date"] == "2026-11-22T09:58:00+01:00"
    assert data["received_at"] == "2026-11-22T10:00:00Z"
    assert data["envelope"]["mail_from"] == "zoe@sender.test"
    assert data["envelope"]["rcpt_to"] == ["support@example.test"]
    assert data["text"].strip() == "Wo bleibt meine Bestellung?"
    raw = (FIXTURES / "plain.eml").read_bytes()
    assert data["raw"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert data["raw"]["size"] == len(raw)
    assert data["classification"]["kind"] == "message"


def test_the_same_file_gives_the_same_output() -> None:
    args = ("--received-at", "2026-11-22T10:00:00Z", str(FIXTURES / "plain.eml"))
    assert run(*args).stdout == run(*args).stdout


def test_malformed_mime_exits_0_with_defects() -> None:
    r = run(str(FIXTURES / "malformed.eml"))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert_valid_data(data)
    assert data["defects"], "the malformed parts must be described"
    assert "no boundary parameter" in data["text"]


def test_several_paths_give_one_line_each_in_order() -> None:
    paths = [
        FIXTURES / "reply-with-attachment.eml",
        FIXTURES / "plain.eml",
        FIXTURES / "malformed.eml",
    ]
    r = run(*map(str, paths))
    assert r.returncode == 0, r.stderr
    objs = lines(r.stdout)
    assert len(r.stdout.decode().splitlines()) == 3
    assert [o["subject"] for o in objs[:2]] == ["Re: Bestellung", "Bestellung überfällig"]
    reply = objs[0]
    assert_valid_data(reply)
    assert reply["classification"]["kind"] == "reply"
    assert reply["in_reply_to"] == "order-1@example.test"
    assert reply["references"] == ["order-0@example.test", "order-1@example.test"]
    assert "Danke, grüße!" in reply["text"]
    assert reply["stripped_text"].strip() == "Danke, grüße!"
    [att] = reply["attachments"]
    assert att["filename"] == "rechnung.pdf"
    assert att["content_type"] == "application/pdf"
    assert att["size"] == 15
    assert att["sha256"] == hashlib.sha256(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n").hexdigest()


def test_jsonl_with_one_path_prints_one_line() -> None:
    r = run("--jsonl", str(FIXTURES / "plain.eml"))
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 1
    assert lines(r.stdout)[0]["subject"] == "Bestellung überfällig"


def test_stdin() -> None:
    r = run("-", stdin=(FIXTURES / "plain.eml").read_bytes())
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subject"] == "Bestellung überfällig"


def test_missing_file_gives_an_error_line_and_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "missing.eml"
    r = run("--jsonl", str(FIXTURES / "plain.eml"), str(missing), str(FIXTURES / "malformed.eml"))
    assert r.returncode == 1
    objs = lines(r.stdout)
    assert len(objs) == 3
    assert objs[1]["path"] == str(missing)
    assert "error" in objs[1]
    assert objs[2]["defects"]  # the files after the bad one are still parsed


def test_a_directory_is_an_unreadable_file(tmp_path: Path) -> None:
    r = run(str(tmp_path))
    assert r.returncode == 1
    assert json.loads(r.stdout)["path"] == str(tmp_path)


def test_bad_received_at_is_a_usage_error() -> None:
    r = run("--received-at", "yesterday", str(FIXTURES / "plain.eml"))
    assert r.returncode == 2
    assert b"--received-at" in r.stderr
