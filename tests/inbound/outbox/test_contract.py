"""The outbox contract: every Protocol method, the same tests over SQLite and PostgreSQL.

Each test runs twice (``outbox`` is parametrised in conftest.py); "two processes" are two
outbox objects on one store. A behaviour one backend has and the other lacks fails here.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from inbound.errors import ConfigError
from inbound.outbox import schema
from inbound.outbox.base import Outbox
from inbound.outbox.model import Attempt, AuditRecord, Claimant, Envelope, JobStatus, NewJob
from tests.inbound.outbox.conftest import NOW, OutboxFactory, row

A = Claimant(node="mx1/0", boot="boot-a")
B = Claimant(node="mx2/0", boot="boot-b")
LEASE = 30.0


def jobs(*routes: str) -> list[NewJob]:
    return [NewJob(route=r, rcpt_to=("b@y.test",), mailbox_hash=None) for r in routes]


async def test_enqueue_commits_message_and_jobs_then_claim_hands_them_out(outbox: Outbox) -> None:
    ids = await outbox.enqueue(row("msg_1"), jobs("support", "privacy"))
    assert len(ids) == 2 and len(set(ids)) == 2 and all(i.startswith("evt_") for i in ids)
    claimed = await outbox.claim_due(NOW, 10, LEASE, A)
    assert sorted(j.id for j in claimed) == sorted(ids)
    job = claimed[0]
    assert job.status is JobStatus.SENDING and job.attempts == 0
    assert job.claimed_by == A.node and job.lease_until == NOW + timedelta(seconds=LEASE)
    assert job.message == row("msg_1")  # every column comes back as it went in
    assert await outbox.claim_due(NOW, 10, LEASE, B) == []  # held: nobody else gets them


async def test_claim_respects_limit_and_due_time(outbox: Outbox) -> None:
    for i in range(5):
        await outbox.enqueue(row(f"msg_{i}", at=NOW + timedelta(seconds=i)), jobs("r"))
    assert await outbox.claim_due(NOW - timedelta(seconds=1), 10, LEASE, A) == []
    first = await outbox.claim_due(NOW + timedelta(seconds=10), 2, LEASE, A)
    assert [j.message.id for j in first] == ["msg_0", "msg_1"]  # oldest due first
    rest = await outbox.claim_due(NOW + timedelta(seconds=10), 10, LEASE, B)
    assert [j.message.id for j in rest] == ["msg_2", "msg_3", "msg_4"]


async def test_an_expired_lease_lets_another_worker_take_the_job(outbox: Outbox) -> None:
    [job_id] = await outbox.enqueue(row("msg_1"), jobs("r"))
    await outbox.claim_due(NOW, 1, LEASE, A)
    assert await outbox.claim_due(NOW + timedelta(seconds=LEASE - 1), 1, LEASE, B) == []
    [taken] = await outbox.claim_due(NOW + timedelta(seconds=LEASE), 1, LEASE, B)
    assert taken.id == job_id and taken.claimed_by == B.node
    # The first worker's claim is gone: renewing it keeps nothing.
    assert await outbox.renew([job_id], NOW + timedelta(seconds=LEASE), LEASE, A) == set()


async def test_renewal_keeps_a_job_from_being_claimed_again(outbox: Outbox) -> None:
    [job_id] = await outbox.enqueue(row("msg_1"), jobs("r"))
    await outbox.claim_due(NOW, 1, LEASE, A)
    for step in range(1, 6):  # a slow job: five renewals, each before the lease runs out
        at = NOW + timedelta(seconds=step * 20)
        assert await outbox.claim_due(at, 1, LEASE, B) == []
        assert await outbox.renew([job_id, "evt_unknown"], at, LEASE, A) == {job_id}
    [job] = await outbox.jobs(JobStatus.SENDING)
    assert job.lease_until == NOW + timedelta(seconds=100 + LEASE)
    assert await outbox.claim_due(NOW + timedelta(seconds=100 + LEASE), 1, LEASE, B) != []


async def test_a_restarted_node_takes_back_its_own_claims_at_once(outbox: Outbox) -> None:
    await outbox.enqueue(row("msg_1"), jobs("r", "s"))
    held = await outbox.claim_due(NOW, 10, LEASE, A)
    assert len(held) == 2
    # Same node, same boot (a second claim by the live process): nothing comes back.
    assert await outbox.claim_due(NOW + timedelta(seconds=1), 10, LEASE, A) == []
    # Another node must wait out the lease...
    assert await outbox.claim_due(NOW + timedelta(seconds=1), 10, LEASE, B) == []
    # ...but the same node under a new boot (the process died and started again) takes
    # its earlier boot's claims immediately.
    restarted = Claimant(node=A.node, boot="boot-a2")
    back = await outbox.claim_due(NOW + timedelta(seconds=1), 10, LEASE, restarted)
    assert sorted(j.id for j in back) == sorted(j.id for j in held)
    assert await outbox.renew([j.id for j in held], NOW, LEASE, A) == set()  # old boot lost them


async def test_record_stores_attempts_and_moves_the_job(outbox: Outbox) -> None:
    [job_id] = await outbox.enqueue(row("msg_1"), jobs("r"))
    await outbox.claim_due(NOW, 1, LEASE, A)
    retry_at = NOW + timedelta(minutes=1)
    first = Attempt(
        job_id=job_id, n=1, at=NOW, outcome="retry", status_code=500, detail="x", duration_ms=7
    )
    assert await outbox.record(job_id, first, JobStatus.PENDING, retry_at)
    job = await outbox.job(job_id)
    assert job is not None and job.status is JobStatus.PENDING and job.attempts == 1
    assert job.next_attempt_at == retry_at and job.lease_until is None
    assert await outbox.next_due() == retry_at
    assert await outbox.claim_due(retry_at - timedelta(seconds=1), 1, LEASE, A) == []
    [again] = await outbox.claim_due(retry_at, 1, LEASE, A)
    second = Attempt(job_id=job_id, n=2, at=retry_at, outcome="delivered", status_code=200)
    assert await outbox.record(again.id, second, JobStatus.DELIVERED, None)
    assert await outbox.attempts(job_id) == [first, second]
    done = await outbox.job(job_id)
    assert done is not None and done.status is JobStatus.DELIVERED and done.attempts == 2
    assert await outbox.next_due() is None
    assert await outbox.unfinished_jobs("msg_1") == 0


async def test_record_of_an_erased_job_says_so(outbox: Outbox) -> None:
    [job_id] = await outbox.enqueue(row("msg_1"), jobs("r"))
    await outbox.claim_due(NOW, 1, LEASE, A)
    counts = await outbox.delete_messages(["msg_1"])  # erased while in flight
    assert counts == {"messages": 1, "jobs": 1, "attempts": 0}
    attempt = Attempt(job_id=job_id, n=1, at=NOW, outcome="delivered", status_code=200)
    assert not await outbox.record(job_id, attempt, JobStatus.DELIVERED, None)
    assert await outbox.attempts(job_id) == []
    assert await outbox.renew([job_id], NOW, LEASE, A) == set()


async def test_next_due_counts_running_leases(outbox: Outbox) -> None:
    assert await outbox.next_due() is None
    await outbox.enqueue(row("msg_1", at=NOW + timedelta(seconds=5)), jobs("r"))
    assert await outbox.next_due() == NOW + timedelta(seconds=5)
    await outbox.claim_due(NOW + timedelta(seconds=5), 1, LEASE, A)
    assert await outbox.next_due() == NOW + timedelta(seconds=5 + LEASE)


async def test_listing_jobs_and_requeue(outbox: Outbox) -> None:
    ids = []
    for i in range(3):
        ids += await outbox.enqueue(row(f"msg_{i}", at=NOW + timedelta(seconds=i)), jobs("r"))
    assert [j.id for j in await outbox.jobs()] == list(reversed(ids))  # newest first
    assert [j.id for j in await outbox.jobs(limit=2)] == list(reversed(ids))[:2]
    [claimed] = await outbox.claim_due(NOW, 1, LEASE, A)
    assert [j.id for j in await outbox.jobs(JobStatus.SENDING)] == [claimed.id]
    assert await outbox.job("evt_none") is None
    assert not await outbox.requeue(claimed.id, NOW)  # still in flight: not requeued
    attempt = Attempt(job_id=claimed.id, n=1, at=NOW, outcome="failed")
    await outbox.record(claimed.id, attempt, JobStatus.FAILED, None)
    later = NOW + timedelta(hours=1)
    assert await outbox.requeue(claimed.id, later)
    job = await outbox.job(claimed.id)
    assert job is not None and job.status is JobStatus.PENDING and job.next_attempt_at == later
    assert not await outbox.requeue("evt_none", later)


async def test_jobs_of_a_message_and_unfinished_count(outbox: Outbox) -> None:
    ids = await outbox.enqueue(row("msg_1"), jobs("a", "b", "c"))
    await outbox.enqueue(row("msg_2"), jobs("a"))
    assert sorted(j.id for j in await outbox.jobs_of("msg_1")) == sorted(ids)
    assert {j.route for j in await outbox.jobs_of("msg_1")} == {"a", "b", "c"}
    assert await outbox.unfinished_jobs("msg_1") == 3
    claimed = await outbox.claim_due(NOW, 10, LEASE, A)
    mine = next(j for j in claimed if j.message.id == "msg_1")
    await outbox.record(
        mine.id, Attempt(job_id=mine.id, n=1, at=NOW, outcome="x"), JobStatus.SKIPPED, None
    )
    assert await outbox.unfinished_jobs("msg_1") == 2  # sending ones count as unfinished


async def test_messages_by_id_expiry_and_raw_deleted(outbox: Outbox) -> None:
    await outbox.enqueue(row("msg_old", raw_days=1, metadata_days=2), jobs("r"))
    await outbox.enqueue(row("msg_new", at=NOW + timedelta(days=1)), jobs("r"))
    assert await outbox.message("msg_none") is None
    assert await outbox.message("msg_old") == row("msg_old", raw_days=1, metadata_days=2)
    assert [m.id for m in await outbox.messages()] == ["msg_old", "msg_new"]
    day = NOW + timedelta(days=1)
    assert [m.id for m in await outbox.raw_expired(day)] == ["msg_old"]
    assert await outbox.expired(day) == []
    await outbox.mark_raw_deleted("msg_old")
    assert await outbox.raw_expired(day) == []
    old = await outbox.message("msg_old")
    assert old is not None and old.raw_deleted and old.wrapped_key is not None
    await outbox.mark_raw_deleted("msg_old", forget_key=True)
    old = await outbox.message("msg_old")
    assert old is not None and old.wrapped_key is None  # crypto-shredded
    assert [m.id for m in await outbox.expired(NOW + timedelta(days=2))] == ["msg_old"]


async def test_delete_messages_removes_everything_they_own(outbox: Outbox) -> None:
    h = "c" * 64
    ids = await outbox.enqueue(row("msg_1", hashes=(h,)), jobs("a", "b"))
    await outbox.enqueue(row("msg_2", hashes=(h,)), jobs("a"))
    await outbox.claim_due(NOW, 10, LEASE, A)
    for n, job_id in enumerate(ids, start=1):
        attempt = Attempt(job_id=job_id, n=1, at=NOW, outcome="retry", status_code=500 + n)
        await outbox.record(job_id, attempt, JobStatus.PENDING, NOW + timedelta(minutes=1))
    counts = await outbox.delete_messages(["msg_1", "msg_none"])
    assert counts == {"messages": 1, "jobs": 2, "attempts": 2}
    assert await outbox.message("msg_1") is None
    assert await outbox.jobs_of("msg_1") == []
    assert [await outbox.attempts(i) for i in ids] == [[], []]
    assert [m.id for m in await outbox.messages_by_address(h)] == ["msg_2"]
    assert await outbox.delete_messages([]) == {"messages": 0, "jobs": 0, "attempts": 0}


async def test_address_index(outbox: Outbox) -> None:
    env_hash, header_hash = "e" * 64, "f" * 64
    await outbox.enqueue(row("msg_1", hashes=(env_hash,)), jobs("r"))
    await outbox.enqueue(row("msg_2"), jobs("r"))
    assert [m.id for m in await outbox.messages_by_address(env_hash)] == ["msg_1"]
    assert [m.id for m in await outbox.unindexed()] == ["msg_1", "msg_2"]
    await outbox.add_addresses("msg_2", [header_hash, env_hash])
    await outbox.add_addresses("msg_2", [header_hash])  # idempotent
    assert [m.id for m in await outbox.unindexed()] == ["msg_1"]
    assert [m.id for m in await outbox.messages_by_address(env_hash)] == ["msg_1", "msg_2"]
    assert [m.id for m in await outbox.messages_by_address(header_hash)] == ["msg_2"]
    await outbox.add_addresses("msg_gone", [header_hash])  # an erased message: no orphan row
    assert [m.id for m in await outbox.messages_by_address(header_hash)] == ["msg_2"]
    assert await outbox.messages_by_address("0" * 64) == []


async def test_audit_log_round_trip(outbox: Outbox) -> None:
    first = AuditRecord(
        id="aud_1",
        at=NOW,
        action="erase",
        operator="cli:root",
        address_hash="a" * 64,
        message_ids=("msg_1", "msg_2"),
        counts={"messages": 2, "objects": 4},
    )
    second = AuditRecord(
        id="aud_2",
        at=NOW + timedelta(seconds=1),
        action="export",
        operator="cli:root",
        address_hash="b" * 64,
        message_ids=(),
        counts={"messages": 0},
    )
    await outbox.add_audit(second)
    await outbox.add_audit(first)
    assert await outbox.audits() == [first, second]


async def test_envelopes_keep_any_text_the_smtp_edge_accepted(outbox: Outbox) -> None:
    # Undecodable bytes arrive as lone surrogates (surrogateescape), and NUL is legal in
    # Python text but not in PostgreSQL's: both must survive the round trip.
    envelope = Envelope(
        mail_from="j\udcf6rg@b\u00fccher.test",
        rcpt_to=("\u7528\u6237@\u4f8b\u5b50.test", "nul\x00@x.test"),
        remote_ip="2001:db8::1",
        helo="h\x00lo",
        tls=False,
    )
    message = dataclasses.replace(row("msg_1"), envelope=envelope)
    await outbox.enqueue(message, jobs("r"))
    stored = await outbox.message("msg_1")
    assert stored is not None and stored.envelope == envelope


async def test_install_fingerprint_is_recorded_once_and_checked(
    outbox: Outbox, outbox_factory: OutboxFactory
) -> None:
    await outbox.check_install("fp-1")
    await outbox.check_install("fp-1")
    other = outbox_factory()  # another node on the same store
    await other.open()
    try:
        await other.check_install("fp-1")
        with pytest.raises(ConfigError) as err:
            await other.check_install("fp-2")
        assert err.value.key == "privacy.install_secret"
    finally:
        await other.close()


async def test_migrate_reports_the_version_and_applies_nothing_twice(
    outbox: Outbox, outbox_factory: OutboxFactory
) -> None:
    backend = "sqlite" if type(outbox).__name__ == "SqliteOutbox" else "postgres"
    report = await outbox.migrate()
    assert report.version == schema.latest(backend)
    other = outbox_factory()
    try:
        again = await other.migrate()
        assert again == schema.Report(version=schema.latest(backend), applied=())
    finally:
        await other.close()


async def test_concurrent_claims_from_several_processes_never_share_a_job(
    outbox: Outbox, outbox_factory: OutboxFactory
) -> None:
    for i in range(40):
        await outbox.enqueue(row(f"msg_{i:02d}"), jobs("r"))
    others = [outbox_factory() for _ in range(3)]
    for other in others:
        await other.open()
    try:
        claimants = [Claimant(node=f"n{i}/0", boot=f"b{i}") for i in range(4)]
        boxes = [outbox, *others]

        async def drain(box: Outbox, who: Claimant) -> list[str]:
            got: list[str] = []
            while batch := await box.claim_due(NOW, 3, LEASE, who):
                got += [j.id for j in batch]
            return got

        results = await asyncio.gather(
            *(drain(b, c) for b, c in zip(boxes, claimants, strict=True))
        )
        every = [job_id for got in results for job_id in got]
        assert len(every) == 40 and len(set(every)) == 40
    finally:
        for other in others:
            await other.close()


async def test_wait_for_work_wakes_on_enqueue_and_times_out_otherwise(outbox: Outbox) -> None:
    await outbox.wait_for_work(0.05)  # whatever was pending from the start
    assert not await outbox.wait_for_work(0.05)
    waiter = asyncio.create_task(outbox.wait_for_work(10.0))
    await asyncio.sleep(0.05)
    await outbox.enqueue(row("msg_1"), jobs("r"))
    assert await asyncio.wait_for(waiter, 5.0)


async def test_existing_names_the_messages_that_have_a_row(outbox: Outbox) -> None:
    for i in range(3):
        await outbox.enqueue(row(f"msg_{i}"), jobs("r"))
    await outbox.delete_messages(["msg_1"])
    many = [f"msg_x{i}" for i in range(1200)] + ["msg_0", "msg_1", "msg_2"]
    assert await outbox.existing(many) == {"msg_0", "msg_2"}
    assert await outbox.existing([]) == set()


async def test_forget_personal_data_keeps_only_what_the_audit_needs(outbox: Outbox) -> None:
    h = "9" * 64
    [job_id] = await outbox.enqueue(
        row("msg_1", hashes=(h,)), [NewJob(route="r", rcpt_to=("b@y.test",), mailbox_hash="tag")]
    )
    [job] = await outbox.claim_due(NOW, 1, LEASE, A)
    attempt = Attempt(job_id=job_id, n=1, at=NOW, outcome="delivered", status_code=200)
    await outbox.record(job_id, attempt, JobStatus.DELIVERED, None)
    await outbox.forget_personal_data("msg_1")
    await outbox.forget_personal_data("msg_none")  # an erased message: nothing to do
    kept = await outbox.message("msg_1")
    assert kept is not None
    assert kept.envelope == Envelope(mail_from="", rcpt_to=(), remote_ip=None, helo=None, tls=True)
    assert kept.wrapped_key is None and kept.raw_deleted
    assert (kept.raw_key, kept.raw_sha256, kept.received_at) == (
        job.message.raw_key,
        job.message.raw_sha256,
        job.message.received_at,
    )
    [after] = await outbox.jobs_of("msg_1")
    assert after.rcpt_to == () and after.mailbox_hash is None
    assert after.status is JobStatus.DELIVERED and after.route == "r"
    assert await outbox.attempts(job_id) == [attempt]
    assert await outbox.messages_by_address(h) == []
    assert await outbox.unindexed() == []  # nothing left to index later either


async def test_retry_now_requeue_matching_and_due_stats(outbox: Outbox) -> None:
    ids = []
    for i in range(3):
        ids += await outbox.enqueue(row(f"msg_{i}", at=NOW + timedelta(seconds=i)), jobs("r"))
    assert await outbox.due_stats(NOW - timedelta(seconds=1)) == (0, None)
    assert await outbox.due_stats(NOW + timedelta(seconds=5)) == (3, NOW)
    claimed = await outbox.claim_due(NOW + timedelta(seconds=5), 3, LEASE, A)
    # a lapsed lease counts as due again, from when it lapsed
    lapsed = NOW + timedelta(seconds=5 + LEASE)
    assert await outbox.due_stats(lapsed) == (3, lapsed)
    later = NOW + timedelta(hours=1)
    outcomes = [JobStatus.PENDING, JobStatus.FAILED, JobStatus.FAILED]
    for n, (job, status) in enumerate(zip(claimed, outcomes, strict=True)):
        at = NOW + timedelta(minutes=n)
        attempt = Attempt(job_id=job.id, n=1, at=at, outcome=status.value)
        await outbox.record(job.id, attempt, status, later if status is JobStatus.PENDING else None)
    pending, failed_early, failed_late = (j.id for j in claimed)
    assert not await outbox.retry_now(failed_early, NOW)  # not pending
    assert await outbox.retry_now(pending, NOW + timedelta(minutes=5))
    now_due = await outbox.job(pending)
    assert now_due is not None and now_due.next_attempt_at == NOW + timedelta(minutes=5)
    # Only jobs that reached their status in [since, until) come back.
    window = await outbox.requeue_matching(
        JobStatus.FAILED, NOW + timedelta(minutes=2), None, NOW + timedelta(hours=2)
    )
    assert window == [failed_late]
    assert await outbox.requeue_matching(JobStatus.PENDING, NOW, None, NOW) == []
    rest = await outbox.requeue_matching(
        JobStatus.FAILED, NOW, NOW + timedelta(minutes=2), NOW + timedelta(hours=2)
    )
    assert rest == [failed_early]
    assert {j.status for j in await outbox.jobs()} == {JobStatus.PENDING}
    await outbox.ping()
