"""``inbound deliveries show``, ``redeliver --status --since``, ``retry``: operators' commands.

Jobs are made by the real service (SMTP in, a receiver that answers 500 or 410), then the
commands run in-process on the same outbox file, as an operator would run them beside a
running server.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbound import cli
from inbound.clock import FakeClock
from inbound.outbox.model import JobStatus
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver


@pytest.fixture
def clock() -> FakeClock:
    """The commands use the wall clock, so the service's fake clock starts at it too."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """cli.main() sets up logging for a process; give pytest's handlers back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def _jobs(tmp_path: Path, receiver: Receiver, clock: FakeClock) -> Running:
    running = Running(settings_for(tmp_path, routes=[webhook_route(receiver.url)]), clock=clock)
    receiver.respond((500, {}), 410)
    assert running.send(message("one"))[0] == 250  # 500: pending with a next attempt
    assert running.deliver() == 1
    assert running.send(message("two"))[0] == 250  # 410: refused for good
    assert running.deliver() == 1
    return running


def test_deliveries_lists_next_only_for_jobs_that_have_one_and_show_gives_attempts(
    tmp_path: Path, receiver: Receiver, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    running = _jobs(tmp_path, receiver, clock)
    try:
        status, out, _ = _run(capsys, "deliveries", "--data-dir", str(tmp_path))
        assert status == 0
        lines = {line.split()[3]: line for line in out.splitlines()}
        assert set(lines) == {"pending", "refused"}
        assert "next=" in lines["pending"] and "next=" not in lines["refused"]
        pending_id = lines["pending"].split()[0]
        status, out, _ = _run(capsys, "deliveries", "show", pending_id, "--data-dir", str(tmp_path))
        assert status == 0
        assert out.splitlines()[0].startswith(f"{pending_id}  msg_")
        assert "#1 " in out and "retry" in out and "HTTP 500" in out and "kind=message" in out
        status, _, err = _run(capsys, "deliveries", "show", "job_nope", "--data-dir", str(tmp_path))
        assert status == 1 and "no job job_nope" in err
    finally:
        running.stop()


def test_retry_makes_a_pending_job_due_now_and_refuses_others(
    tmp_path: Path, receiver: Receiver, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    running = _jobs(tmp_path, receiver, clock)
    try:
        jobs = {j.status: j for j in running.call(running.service.outbox.jobs())}
        pending, refused = jobs[JobStatus.PENDING], jobs[JobStatus.REFUSED]
        assert running.deliver() == 0  # not due for a minute or more
        status, out, _ = _run(capsys, "retry", pending.id, "--data-dir", str(tmp_path))
        assert status == 0 and "due now" in out
        status, _, err = _run(capsys, "retry", refused.id, "--data-dir", str(tmp_path))
        assert status == 1 and "not pending" in err
        clock.advance(1)  # a second, not the minute of the schedule
        assert running.deliver() == 1
        job = running.call(running.service.outbox.job(pending.id))
        assert job is not None and (job.status, job.attempts) == (JobStatus.DELIVERED, 2)
    finally:
        running.stop()


def test_redeliver_by_status_since_requeues_only_matching_jobs(
    tmp_path: Path, receiver: Receiver, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    running = _jobs(tmp_path, receiver, clock)
    try:
        data = ["--data-dir", str(tmp_path)]
        later = (clock.now() + timedelta(hours=1)).isoformat()
        status, out, _ = _run(capsys, "redeliver", "--status", "refused", "--since", later, *data)
        assert status == 0 and out.strip().endswith("0 refused jobs queued again")
        since = (clock.now() - timedelta(minutes=5)).isoformat()
        status, out, _ = _run(capsys, "redeliver", "--status", "refused", "--since", since, *data)
        assert status == 0 and "1 refused jobs queued again" in out
        statuses = sorted(j.status.value for j in running.call(running.service.outbox.jobs()))
        assert statuses == ["pending", "pending"]
        for bad, needle in (
            (["--status", "refused"], "--since"),
            (["--status", "nope", "--since", since], "one of pending"),
            (["--status", "failed", "--since", "yesterday"], "not an ISO 8601 time"),
            ([], "give a JOB_ID"),
        ):
            status, _, err = _run(capsys, "redeliver", *bad, *data)
            assert status == 2 and needle in err, (bad, err)
    finally:
        running.stop()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:  # argparse keeps its subcommands here, nowhere public
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in _subparsers(sub).items()})
    return out


def test_help_explains_every_flag_and_every_state(capsys: pytest.CaptureFixture[str]) -> None:
    subs = _subparsers(cli.build_parser())
    for name in ("deliveries", "deliveries show", "redeliver", "retry", "serve"):
        for action in subs[name]._actions:
            if action.option_strings or action.dest not in ("help",):
                assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
    for command in (["deliveries"], ["deliveries", "show"], ["redeliver"], ["retry"]):
        with pytest.raises(SystemExit):
            cli.main([*command, "--help"])
        text = capsys.readouterr().out
        for state in JobStatus:
            assert f"  {state.value} " in text, (command, state)
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    assert "--admin-listen HOST:PORT" in capsys.readouterr().out
