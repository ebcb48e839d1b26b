"""The RawStore contract, run against every backend: LocalStore and S3Store (on moto).

One suite, parametrized, so the backends cannot drift apart: put, get, delete, list by
prefix, presign, lifecycle, expiry and failures. Where the backends differ by design
(a directory has no URL and no native expiry), each test says what each one must do.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from inbound.errors import PermanentError, StorageError, TransientError
from inbound.retention import lifecycle_rules
from inbound.storage import keys
from inbound.storage.base import ObjectNotFound, RawStore
from inbound.storage.local import LocalStore
from inbound.storage.s3 import S3Store
from tests.support.s3 import S3Bucket

RECEIVED = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
FOREIGN_RULE = {
    "ID": "logs-expire",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 3},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Backend:
    name: str
    store: RawStore
    bucket: S3Bucket | None  # the S3 bucket behind ``store``, None for the local one


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    store: RawStore
    bucket: S3Bucket | None = None
    if request.param == "local":
        store = LocalStore(tmp_path / "store")
    else:
        bucket = request.getfixturevalue("s3_bucket")
        store = S3Store(bucket.settings())
    try:
        yield Backend(name=request.param, store=store, bucket=bucket)
    finally:
        await store.close()


def _sample(size: int, seed: str) -> bytes:
    """Deterministic bytes of every value (not just text), ``size`` long."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


# ---------------------------------------------------------------- put / get / delete


@pytest.mark.parametrize("size", [0, 1, 24 * 1024, 1024 * 1024 + 7])
async def test_put_then_get_returns_the_exact_bytes(backend: Backend, size: int) -> None:
    key = keys.raw_key("msg_roundtrip", RECEIVED)
    data = _sample(size, "roundtrip")
    await backend.store.put(key, data, "message/rfc822")
    assert await backend.store.get(key) == data


@pytest.mark.parametrize("size", [0, 3 * 1024 * 1024 + 5])
async def test_put_file_stores_the_file_and_leaves_no_copy(
    backend: Backend, size: int, tmp_path: Path
) -> None:
    """The spool's path into the store: the local store renames it, S3 streams it."""
    key = keys.raw_key("msg_from_file", RECEIVED)
    data = _sample(size, "file")
    spool = tmp_path / "store" / ".tmp" / "spool-x.part"  # where the SMTP edge spools
    spool.parent.mkdir(parents=True, exist_ok=True)
    spool.write_bytes(data)
    await backend.store.put_file(key, spool, "message/rfc822")
    assert await backend.store.get(key) == data
    assert [o.key for o in await backend.store.list("")] == [key]  # the .tmp file is no object
    if backend.name == "local":
        assert not spool.exists()  # moved into place, not copied


async def test_put_overwrites_the_previous_object(backend: Backend) -> None:
    key = keys.event_key("msg_overwrite", RECEIVED)
    await backend.store.put(key, b'{"v": 1}', "application/json")
    await backend.store.put(key, b'{"v": 2}', "application/json")
    assert await backend.store.get(key) == b'{"v": 2}'


async def test_get_of_a_missing_key_raises_object_not_found(backend: Backend) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        await backend.store.get(keys.raw_key("msg_never_written", RECEIVED))
    # Asking again will not help (errors.py): the worker ends the job, export says "not held".
    assert isinstance(caught.value, PermanentError)
    assert not isinstance(caught.value, TransientError)


async def test_delete_removes_the_object_and_is_idempotent(backend: Backend) -> None:
    key = keys.attachment_key("msg_delete", 1, "report.pdf")
    await backend.store.put(key, b"%PDF-1.7", "application/pdf")
    await backend.store.delete(key)
    with pytest.raises(ObjectNotFound):
        await backend.store.get(key)
    await backend.store.delete(key)  # absent: fine
    await backend.store.delete(keys.attachment_key("msg_never", 1, "x.bin"))
    assert await backend.store.list(keys.ATTACHMENTS) == []


# ---------------------------------------------------------------- list


async def test_list_returns_objects_under_the_prefix_in_key_order(backend: Backend) -> None:
    written = {
        keys.raw_key("msg_b", datetime(2026, 11, 21, tzinfo=UTC)): b"bb",
        keys.raw_key("msg_a", datetime(2026, 11, 22, tzinfo=UTC)): b"a",
        keys.raw_key("msg_c", datetime(2026, 11, 3, tzinfo=UTC)): b"ccc",
        keys.raw_key("msg_d", datetime(2026, 10, 25, tzinfo=UTC)): b"dddd",
        keys.event_key("msg_a", datetime(2026, 11, 22, tzinfo=UTC)): b"{}",
        keys.attachment_key("msg_a", 1, "a.txt"): b"x",
    }
    for key, data in written.items():
        await backend.store.put(key, data, "application/octet-stream")

    raw = await backend.store.list(keys.RAW)
    assert [o.key for o in raw] == sorted(k for k in written if k.startswith(keys.RAW))
    assert [o.size for o in raw] == [len(written[o.key]) for o in raw]
    # A prefix may end inside a path segment: "raw/2026/11/2" is days 20-29 only.
    partial = await backend.store.list("raw/2026/11/2")
    assert [o.key for o in partial] == [
        "raw/2026/11/21/msg_b.eml",
        "raw/2026/11/22/msg_a.eml",
    ]
    assert [o.key for o in await backend.store.list(keys.EVENTS)] == [
        "events/2026/11/22/msg_a.json"
    ]
    assert await backend.store.list("raw/2025/") == []


async def test_list_reports_a_recent_aware_modification_time(backend: Backend) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    await backend.store.put("events/2026/11/22/msg_t.json", b"{}", "application/json")
    (info,) = await backend.store.list(keys.EVENTS)
    assert info.modified.tzinfo is not None
    assert before <= info.modified <= datetime.now(UTC) + timedelta(minutes=5)


async def test_keys_with_a_store_prefix_stay_apart(backend: Backend) -> None:
    mine = keys.raw_key("msg_p", RECEIVED, prefix="tenant-a/")
    theirs = keys.raw_key("msg_p", RECEIVED, prefix="tenant-b/")
    await backend.store.put(mine, b"mine", "message/rfc822")
    await backend.store.put(theirs, b"theirs", "message/rfc822")
    assert [o.key for o in await backend.store.list("tenant-a/raw/")] == [mine]
    assert await backend.store.get(mine) == b"mine"


async def test_s3_list_follows_continuation_pages(s3_bucket: S3Bucket) -> None:
    store = S3Store(s3_bucket.settings())
    store.list_page_size = 2  # S3 pages by 1000; a small page walks the same path
    try:
        written = [f"raw/2026/11/22/msg_{n}.eml" for n in range(5)]
        for key in written:
            await store.put(key, b"x", "message/rfc822")
        assert [o.key for o in await store.list(keys.RAW)] == written
    finally:
        await store.close()


# ---------------------------------------------------------------- presign


async def test_presign_gives_a_url_that_downloads_the_exact_bytes(backend: Backend) -> None:
    key = keys.attachment_key("msg_presign", 2, "Größe & Maß.bin")
    data = _sample(300_000, "presign")
    await backend.store.put(key, data, "application/octet-stream")
    url = await backend.store.presign(key, 600)
    if backend.name == "local":
        assert url is None  # a directory has no URL to hand out
        return
    assert url is not None
    async with httpx.AsyncClient() as client:  # no credentials: the URL alone must do
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == data


# ---------------------------------------------------------------- lifecycle and expiry


async def test_apply_lifecycle_reports_one_line_per_rule(backend: Backend) -> None:
    rules = lifecycle_rules(7, 30)
    lines = await backend.store.apply_lifecycle(rules)
    for rule in rules:
        assert any(rule.prefix in line for line in lines), (rule, lines)


async def test_expire_with_recent_objects_removes_nothing(backend: Backend) -> None:
    key = keys.raw_key("msg_young", RECEIVED)
    await backend.store.put(key, b"young", "message/rfc822")
    now = datetime.now(UTC) + timedelta(days=6)  # younger than raw_days = 7
    assert await backend.store.expire(lifecycle_rules(7, 30), now) == 0
    assert await backend.store.get(key) == b"young"


async def test_local_expire_removes_old_objects_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    try:
        raw = keys.raw_key("msg_old", RECEIVED)
        attachment = keys.attachment_key("msg_old", 1, "big.bin")
        event = keys.event_key("msg_old", RECEIVED)
        other = "notes/keep.txt"  # no rule covers it
        for key in (raw, attachment, event, other):
            await store.put(key, b"data", "application/octet-stream")
        rules = lifecycle_rules(7, 30)
        # Eight days on: past raw_days (raw mail, attachments), not event_days.
        eight_days_on = datetime.now(UTC) + timedelta(days=8)
        assert await store.expire(rules, eight_days_on) == 2
        assert [o.key for o in await store.list("")] == [event, other]
        # A month and more on: the event goes too, the uncovered file never does.
        assert await store.expire(rules, datetime.now(UTC) + timedelta(days=31)) == 1
        assert [o.key for o in await store.list("")] == [other]
    finally:
        await store.close()


async def test_s3_expire_leaves_expiry_to_the_bucket(s3_bucket: S3Bucket) -> None:
    store = S3Store(s3_bucket.settings())
    try:
        key = keys.raw_key("msg_native", RECEIVED)
        await store.put(key, b"x", "message/rfc822")
        far_future = datetime.now(UTC) + timedelta(days=365)
        assert await store.expire(lifecycle_rules(7, 30), far_future) == 0
        assert await store.get(key) == b"x"  # S3's lifecycle rules do this, not we
    finally:
        await store.close()


def _lifecycle(bucket: S3Bucket) -> list[dict[str, object]]:
    rules: list[dict[str, object]] = bucket.client.get_bucket_lifecycle_configuration(
        Bucket=bucket.name
    )["Rules"]
    return rules


async def test_s3_lifecycle_merges_and_keeps_foreign_rules(s3_bucket: S3Bucket) -> None:
    s3_bucket.client.put_bucket_lifecycle_configuration(
        Bucket=s3_bucket.name, LifecycleConfiguration={"Rules": [FOREIGN_RULE]}
    )
    store = S3Store(s3_bucket.settings(prefix="mail/"))
    try:
        rules = lifecycle_rules(7, 30, "mail/")
        lines = await store.apply_lifecycle(rules)
        assert sorted(line.split(":")[0] for line in lines if line.startswith("added")) == [
            "added inbound-mail/attachments",
            "added inbound-mail/events",
            "added inbound-mail/raw",
        ]
        after = _lifecycle(s3_bucket)
        assert FOREIGN_RULE in after
        by_id = {r["ID"]: r for r in after}
        assert by_id["inbound-mail/raw"] == {
            "ID": "inbound-mail/raw",
            "Filter": {"Prefix": "mail/raw/"},
            "Status": "Enabled",
            "Expiration": {"Days": 7},
        }
        assert by_id["inbound-mail/attachments"]["Filter"] == {"Prefix": "mail/attachments/"}
        assert by_id["inbound-mail/events"]["Expiration"] == {"Days": 30}
        assert len(after) == 4

        # Applying the same rules again changes nothing and says so.
        again = await store.apply_lifecycle(rules)
        assert not any(line.startswith(("added", "updated")) for line in again), again
        assert sum(line.startswith("unchanged") for line in again) == 3
        assert _lifecycle(s3_bucket) == after
    finally:
        await store.close()


async def test_s3_lifecycle_updates_only_its_own_changed_rules(s3_bucket: S3Bucket) -> None:
    store = S3Store(s3_bucket.settings())
    try:
        await store.apply_lifecycle(lifecycle_rules(7, 30))
        # Someone shortens event expiry by hand and adds a rule of their own.
        edited = _lifecycle(s3_bucket)
        for rule in edited:
            if rule["ID"] == "inbound-events":
                rule["Expiration"] = {"Days": 2}
        s3_bucket.client.put_bucket_lifecycle_configuration(
            Bucket=s3_bucket.name, LifecycleConfiguration={"Rules": [*edited, FOREIGN_RULE]}
        )
        lines = await store.apply_lifecycle(lifecycle_rules(14, 30))
        changed = sorted(line.split(":")[0] for line in lines if line.startswith("updated"))
        assert changed == [
            "updated inbound-attachments",
            "updated inbound-events",
            "updated inbound-raw",
        ]
        by_id = {r["ID"]: r for r in _lifecycle(s3_bucket)}
        assert by_id["inbound-raw"]["Expiration"] == {"Days": 14}
        assert by_id["inbound-events"]["Expiration"] == {"Days": 30}
        assert by_id["logs-expire"] == FOREIGN_RULE
    finally:
        await store.close()


KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("sse", "kms_key_id"), [(None, None), ("AES256", None), ("aws:kms", KMS_KEY)]
)
async def test_s3_put_sets_content_type_and_sse_and_no_metadata(
    s3_bucket: S3Bucket, sse: str | None, kms_key_id: str | None
) -> None:
    store = S3Store(s3_bucket.settings(sse=sse, kms_key_id=kms_key_id))
    try:
        key = keys.raw_key("msg_headers", RECEIVED)
        await store.put(key, b"From: a@example.com\r\n\r\nhi", "message/rfc822")
        head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=key)
        assert head["ContentType"] == "message/rfc822"
        assert head.get("ServerSideEncryption") == sse
        assert head.get("SSEKMSKeyId") == kms_key_id
        assert head["Metadata"] == {}  # never addresses or subjects in object headers
        assert await store.get(key) == b"From: a@example.com\r\n\r\nhi"
    finally:
        await store.close()


# ---------------------------------------------------------------- failures


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that completes TCP handshakes but never answers a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # never accept(): the kernel queues connections, nobody reads
        yield sock.getsockname()[1]


@pytest.mark.parametrize("down", ["closed_port", "silent_port"])
async def test_s3_unreachable_or_slow_raises_storage_error_within_the_timeout(
    request: pytest.FixtureRequest, s3_bucket: S3Bucket, down: str
) -> None:
    port = request.getfixturevalue(down)
    timeout = 1.0
    store = S3Store(
        s3_bucket.settings(endpoint_url=f"http://127.0.0.1:{port}", timeout_seconds=timeout)
    )
    try:
        for operation in (
            store.put(keys.raw_key("msg_down", RECEIVED), b"x" * 1000, "message/rfc822"),
            store.get(keys.raw_key("msg_down", RECEIVED)),
            store.list(keys.RAW),
        ):
            started = time.monotonic()
            with pytest.raises(StorageError) as caught:
                await operation
            elapsed = time.monotonic() - started
            assert not isinstance(caught.value, ObjectNotFound)
            # The configured timeout bounds the call (boto3's own defaults would take a
            # minute with retries); the wide slack keeps a loaded machine from failing it,
            # since no test may fail on timing alone (house rule 5).
            assert elapsed < timeout * 10, (down, elapsed)
    finally:
        await store.close()


async def test_s3_put_waits_off_the_event_loop(s3_bucket: S3Bucket, silent_port: int) -> None:
    store = S3Store(
        s3_bucket.settings(endpoint_url=f"http://127.0.0.1:{silent_port}", timeout_seconds=1.0)
    )
    try:
        put = asyncio.create_task(store.put("raw/x.eml", b"x", "message/rfc822"))
        # Were the put blocking the loop, it would have run to its end (an error, after
        # the 1 s timeout) before this sleep could return.
        await asyncio.sleep(0.2)
        assert not put.done()
        with pytest.raises(StorageError):
            await put
    finally:
        await store.close()


async def test_local_put_failure_raises_storage_error(tmp_path: Path) -> None:
    root = tmp_path / "not-a-directory"
    root.write_bytes(b"")
    store = LocalStore(root)
    try:
        with pytest.raises(StorageError):
            await store.put(keys.raw_key("msg_fail", RECEIVED), b"x", "message/rfc822")
    finally:
        await store.close()


async def test_a_closed_s3_store_refuses_work(s3_bucket: S3Bucket) -> None:
    store = S3Store(s3_bucket.settings())
    await store.put("raw/a.eml", b"a", "message/rfc822")
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(StorageError):
        await store.get("raw/a.eml")
