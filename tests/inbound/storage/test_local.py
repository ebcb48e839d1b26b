"""LocalStore's own rules: keys that leave the store are refused; concurrent puts share fsyncs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inbound.errors import StorageError
from inbound.storage import local
from inbound.storage.local import LocalStore


@pytest.mark.parametrize(
    "key", ["../outside", "raw/../../outside", "/etc/passwd", ".tmp/x.part", "", "a/\0b", "./."]
)
async def test_keys_that_leave_the_store_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "store")
    try:
        with pytest.raises(StorageError, match="escapes"):
            await store.put(key, b"x", "text/plain")
        with pytest.raises(StorageError, match="escapes"):
            await store.get(key)
    finally:
        await store.close()
    assert not (tmp_path / "outside").exists()


async def test_concurrent_puts_share_directory_fsyncs_and_all_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    real = local._fsync_dir

    def counting(path: Path) -> None:
        synced.append(path)
        real(path)

    monkeypatch.setattr(local, "_fsync_dir", counting)
    store = LocalStore(tmp_path / "store")
    try:
        await store.put("raw/2026/12/04/first.eml", b"warm", "message/rfc822")
        synced.clear()
        keys = [f"raw/2026/12/04/m{i}.eml" for i in range(40)]
        await asyncio.gather(*(store.put(k, k.encode(), "message/rfc822") for k in keys))
        for k in keys:
            assert await store.get(k) == k.encode()
    finally:
        await store.close()
    target = tmp_path / "store" / "raw" / "2026" / "12" / "04"
    assert set(synced) == {target}
    assert 1 <= len(synced) < len(keys)  # grouped: fewer directory fsyncs than puts
    assert not list((tmp_path / "store" / ".tmp").iterdir())  # no temporary file left


async def test_a_failed_rename_fails_that_put_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    try:
        (tmp_path / "store").mkdir()
        (tmp_path / "store" / "blocked").write_bytes(b"a file where a directory must go")
        results = await asyncio.gather(
            store.put("blocked/x.eml", b"no", "message/rfc822"),
            store.put("fine/y.eml", b"yes", "message/rfc822"),
            return_exceptions=True,
        )
        assert isinstance(results[0], StorageError)
        assert results[1] is None
        assert await store.get("fine/y.eml") == b"yes"
    finally:
        await store.close()
    assert not list((tmp_path / "store" / ".tmp").iterdir())
