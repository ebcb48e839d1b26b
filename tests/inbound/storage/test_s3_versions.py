"""Deleting from a versioned bucket leaves no version behind (issue 13 item 4).

A plain DeleteObject in a versioned bucket only adds a delete marker: every earlier
version of an erased message would stay readable by anyone with s3:GetObjectVersion.
S3Store.delete removes each version and marker of exactly that key. Checked on moto's
real S3 API with an independent client.
"""

from __future__ import annotations

from typing import Any

from inbound.storage.s3 import S3Store
from tests.support.s3 import S3Bucket


def _versions(bucket: S3Bucket, prefix: str = "") -> list[tuple[str, str]]:
    page: dict[str, Any] = bucket.client.list_object_versions(Bucket=bucket.name, Prefix=prefix)
    found = [(v["Key"], "version") for v in page.get("Versions", [])]
    found += [(m["Key"], "marker") for m in page.get("DeleteMarkers", [])]
    return sorted(found)


def remove_all_versions(bucket: S3Bucket) -> None:
    """Leave the bucket empty for the fixture's cleanup (which knows no versions)."""
    page: dict[str, Any] = bucket.client.list_object_versions(Bucket=bucket.name)
    for item in (*page.get("Versions", []), *page.get("DeleteMarkers", [])):
        bucket.client.delete_object(
            Bucket=bucket.name, Key=item["Key"], VersionId=item["VersionId"]
        )


async def test_delete_in_a_versioned_bucket_removes_every_version_of_the_key(
    s3_bucket: S3Bucket,
) -> None:
    s3_bucket.client.put_bucket_versioning(
        Bucket=s3_bucket.name, VersioningConfiguration={"Status": "Enabled"}
    )
    store = S3Store(s3_bucket.settings())
    try:
        for body in (b"first", b"second", b"third"):  # three versions: e.g. event re-puts
            await store.put("events/msg_1.json", body, "application/json")
        await store.put("events/msg_1.json.bak", b"another key", "text/plain")
        s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key="events/msg_1.json")
        await store.put("events/msg_1.json", b"fourth", "application/json")
        assert len(_versions(s3_bucket, "events/msg_1.json")) == 6  # 4 versions, 1 marker, .bak
        await store.delete("events/msg_1.json")
        assert _versions(s3_bucket) == [("events/msg_1.json.bak", "version")]
        await store.delete("events/msg_1.json")  # absent: still fine
        await store.delete("events/never.json")
    finally:
        await store.close()
        remove_all_versions(s3_bucket)


async def test_delete_in_a_plain_bucket_is_one_plain_delete(s3_bucket: S3Bucket) -> None:
    store = S3Store(s3_bucket.settings())
    try:
        await store.put("raw/msg_2.eml", b"x", "message/rfc822")
        await store.delete("raw/msg_2.eml")
        await store.delete("raw/msg_2.eml")
        assert _versions(s3_bucket) == []
    finally:
        await store.close()
