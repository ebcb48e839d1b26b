"""Crash safety: `inbound serve` SIGKILLed at random while mail arrives (issue 16, battery).

A few hundred messages go in from four sender threads while the whole service (its
process group; now and then a single child, where it has children) is killed at random
moments and restarted. Every Message-ID that got a 250 must reach the webhook, verified;
repeats of one job share its webhook-id; nothing answers 5xx; the outbox passes SQLite's
integrity check; and what the kills left (raw objects without a row, temporary files)
is gone after one sweep. ``bench/chaos.py`` runs the same with thousands of messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import chaos

pytestmark = pytest.mark.chaos


@pytest.mark.timeout(90)
def test_nothing_accepted_is_lost_under_random_sigkills(tmp_path: Path) -> None:
    report = chaos.run(
        tmp_path,
        messages=200,
        threads=4,
        kills=8,
        child_share=0.5,
        send_seconds=50.0,  # a bound, not a speed target: typically done in ~25 s
        settle_seconds=20.0,
    )
    print("\n".join(report.lines()))
    assert report.kills == 9, report.lines()  # eight in the stream, one after it
    assert report.not_accepted == [], report.lines()  # every message got its 250 in the end
    assert report.lost_ids == [], report.lines()
    assert report.accepted == report.delivered == report.sent
    assert report.permanent_replies == 0
    assert report.unverified == 0
    assert report.unexplained_resends == 0
    assert report.integrity == "ok"
    assert report.left_after_sweep == 0 and report.rows_without_raw == 0
