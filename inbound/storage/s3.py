"""The S3 backend: raw mail, events and attachments in a bucket of any S3-compatible service.

The one module that imports boto3 and botocore (AWS S3, MinIO, Ceph RGW, Cloudflare R2,
Wasabi: anything ``endpoint_url`` points at). Responsibilities:

* one shared client, built lazily in the store's own small thread pool, with a bounded
  connection pool, signature v4, the configured addressing style, and retries bounded so
  that a dead endpoint gives up within ``timeout_seconds`` (attempts x per-attempt
  timeouts fit in it);
* every blocking call runs in that pool via ``loop.run_in_executor``, never on the loop,
  and is bounded by ``asyncio.timeout(timeout_seconds)``: a timeout, an unreachable
  endpoint or any botocore error becomes ``StorageError`` (SMTP 451);
* ``put_object`` with the caller's Content-Type and the configured server-side
  encryption, and no user metadata at all (nothing personal ever lands in object
  headers); object keys are full keys, prefix included (storage/keys.py builds them);
* merging inbound's lifecycle rules into the bucket's configuration without touching
  rules it did not create (``merge_lifecycle`` is pure and tested on its own).

It may not log or print credentials (they come from the standard AWS chain, and this
module never reads them), put addresses or subjects into object metadata, decide policy
(which rules, which keys: retention.py and keys.py do), or block the event loop.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from inbound.errors import StorageError
from inbound.storage.base import LIFECYCLE_ID_PREFIX, LifecycleRule, ObjectInfo, ObjectNotFound

if TYPE_CHECKING:
    from inbound.config import S3Settings

_T = TypeVar("_T")

# AWS Signature Version 4 query authentication: X-Amz-Expires is at most 604800 s
# (7 days). "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
PRESIGN_MAX_SECONDS = 7 * 24 * 3600
# Attempts per call (the first try plus retries). Each attempt gets an equal share of
# timeout_seconds for connecting and for reading, so the whole call fits in it.
_ATTEMPTS = 3
# Threads that run boto3 calls. boto3 spends ~1.6-3 ms of CPU per small put (STYLE.md,
# Library traps); more threads than this only add contention on a 2-core machine.
DEFAULT_THREADS = 4
# Error codes S3 and compatible services answer for a missing object or lifecycle.
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_NO_LIFECYCLE = frozenset({"NoSuchLifecycleConfiguration", "NoSuchLifecycle"})
# Answers of services that keep no versions (ListObjectVersions not offered).
_NO_VERSIONS = frozenset({"NotImplemented", "MethodNotAllowed", "501", "405"})
# Days a non-current version (what an expiry leaves in a versioned bucket) is kept: the
# least S3 allows (NoncurrentDays >= 1), so expired mail is gone a day later at most.
NONCURRENT_DAYS = 1
# Rule elements inbound never writes (NoncurrentVersionExpiration: except in a versioned
# bucket); one of them on an inbound rule means it was edited.
_FOREIGN_ACTIONS = (
    "Transitions",
    "NoncurrentVersionTransitions",
    "NoncurrentVersionExpiration",
    "AbortIncompleteMultipartUpload",
)


class S3Store:
    """A RawStore in one bucket; keys are full object keys, ``settings.prefix`` included."""

    # ListObjectsV2 returns at most 1000 keys per call (S3 API reference, MaxKeys).
    list_page_size = 1000

    def __init__(self, settings: S3Settings, *, threads: int | None = None) -> None:
        self.settings = settings
        workers = threads or min(DEFAULT_THREADS, settings.max_pool_connections)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inbound-s3")
        self._client_lock = threading.Lock()
        self._client_obj: Any = None
        self._closed = False

    # ------------------------------------------------------------ plumbing

    def _client(self) -> Any:
        """The shared client, created on first use in a pool thread (reading the
        credential chain may touch files or the instance metadata service)."""
        with self._client_lock:
            if self._client_obj is None:
                s = self.settings
                per_attempt = max(s.timeout_seconds / _ATTEMPTS, 0.1)
                config = Config(
                    signature_version="s3v4",
                    s3={"addressing_style": s.addressing_style},
                    max_pool_connections=s.max_pool_connections,
                    connect_timeout=per_attempt,
                    read_timeout=per_attempt,
                    retries={"mode": "standard", "total_max_attempts": _ATTEMPTS},
                    # botocore >= 1.36 adds CRC32 checksums to every upload by default;
                    # several S3-compatible services reject them. Send them only where
                    # the API requires one (PutBucketLifecycleConfiguration).
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                # A session of our own: the module-level default session is shared state.
                session = boto3.session.Session()
                self._client_obj = session.client(
                    "s3", endpoint_url=s.endpoint_url, region_name=s.region, config=config
                )
            return self._client_obj

    async def _run(self, what: str, fn: Callable[[Any], _T], *, key: str | None = None) -> _T:
        """Run ``fn(client)`` in the pool within the timeout; any failure -> StorageError
        (ObjectNotFound(key) when S3 says ``key`` is not there)."""
        if self._closed:
            raise StorageError(f"s3 {what}: the store is closed")
        loop = asyncio.get_running_loop()

        def call() -> _T:
            return fn(self._client())

        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                return await loop.run_in_executor(self._pool, call)
        except TimeoutError:
            raise StorageError(
                f"s3 {what}: no answer within {self.settings.timeout_seconds:g} s"
            ) from None
        except ClientError as exc:
            code = _error_code(exc)
            if key is not None and code in _NOT_FOUND:
                raise ObjectNotFound(key) from None
            raise StorageError(f"s3 {what} failed: {code}") from exc
        except BotoCoreError as exc:
            # The class names the failure (EndpointConnectionError, ReadTimeoutError,
            # NoCredentialsError...); its text may hold the URL, with the key, so not that.
            raise StorageError(f"s3 {what} failed: {type(exc).__name__}") from exc

    # ------------------------------------------------------------ RawStore

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        params = self._put_params(key, content_type, len(data))
        await self._run("put", lambda c: c.put_object(Body=data, **params))

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """One ``put_object`` streaming the file (botocore rewinds it on a retry)."""

        def upload(client: Any) -> Any:
            with path.open("rb") as body:
                params = self._put_params(key, content_type, path.stat().st_size)
                return client.put_object(Body=body, **params)

        try:
            await self._run("put", upload)
        except OSError as exc:
            raise StorageError(f"s3 put failed: cannot read the spool ({exc.strerror})") from exc

    def _put_params(self, key: str, content_type: str, size: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
        }
        if self.settings.sse is not None:
            params["ServerSideEncryption"] = self.settings.sse
            if self.settings.kms_key_id is not None:
                params["SSEKMSKeyId"] = self.settings.kms_key_id
        return params

    async def get(self, key: str) -> bytes:
        def fetch(client: Any) -> bytes:
            response = client.get_object(Bucket=self.settings.bucket, Key=key)
            body = response["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        return await self._run("get", fetch, key=key)

    async def delete(self, key: str) -> None:
        """Remove ``key`` and, in a versioned bucket, every version of it.

        A plain DeleteObject in a versioned bucket only adds a delete marker and keeps
        every older version, so an erased message would still be there: this lists the
        key's versions and delete markers and deletes each by its version id. Services
        without versioning (or without ListObjectVersions) get the plain delete, which
        S3 answers 204 for a key that is not there: idempotent, as the Protocol asks.
        """
        await self._run(
            "delete", functools.partial(_delete_every_version, self.settings.bucket, key)
        )

    async def list(self, prefix: str) -> list[ObjectInfo]:
        # One call per page of up to 1000 keys, each within the timeout: a large bucket
        # takes long in total, but a stalled endpoint is still noticed after one timeout.
        out: builtins.list[ObjectInfo] = []
        params: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Prefix": prefix,
            "MaxKeys": self.list_page_size,
        }
        while True:
            page = await self._run("list", functools.partial(_list_page, dict(params)))
            for item in page.get("Contents", []):
                out.append(
                    ObjectInfo(
                        key=item["Key"],
                        size=item["Size"],
                        # botocore hands some timestamps back in local time.
                        modified=item["LastModified"].astimezone(UTC),
                    )
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
            params["ContinuationToken"] = token
        return sorted(out, key=lambda o: o.key)

    async def presign(self, key: str, expires_seconds: int) -> str | None:
        expires = max(1, min(expires_seconds, PRESIGN_MAX_SECONDS))

        def sign(client: Any) -> str:
            url: str = client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.settings.bucket, "Key": key},
                ExpiresIn=expires,
            )
            return url

        return await self._run("presign", sign)

    async def apply_lifecycle(self, rules: builtins.list[LifecycleRule]) -> builtins.list[str]:
        bucket = self.settings.bucket

        def read(client: Any) -> dict[str, Any]:
            try:
                current: dict[str, Any] = client.get_bucket_lifecycle_configuration(Bucket=bucket)
            except ClientError as exc:
                if _error_code(exc) in _NO_LIFECYCLE:
                    return {"Rules": []}
                raise
            return current

        def versioning(client: Any) -> bool | None:
            try:
                state = client.get_bucket_versioning(Bucket=bucket).get("Status")
            except ClientError as exc:
                code = _error_code(exc)
                if code in _NO_VERSIONS:
                    return False  # a service that keeps no versions (R2, some gateways)
                if code in ("AccessDenied", "403"):
                    return None  # a key without s3:GetBucketVersioning: say so, go on
                raise
            return state in ("Enabled", "Suspended")  # suspended still holds old versions

        current = await self._run("get lifecycle", read)
        versioned = await self._run("get versioning", versioning)
        merged, lines, changed = merge_lifecycle(
            current.get("Rules", []), rules, versioned=bool(versioned)
        )
        if versioned is None:
            lines.append(
                "could not read the bucket's versioning (s3:GetBucketVersioning denied):"
                " the rules expire current versions only"
            )
        if not changed:
            return lines
        params: dict[str, Any] = {"Bucket": bucket, "LifecycleConfiguration": {"Rules": merged}}
        if "TransitionDefaultMinimumObjectSize" in current:
            # A bucket-wide setting the owner chose; PUT resets it unless sent back.
            params["TransitionDefaultMinimumObjectSize"] = current[
                "TransitionDefaultMinimumObjectSize"
            ]
        await self._run("put lifecycle", lambda c: c.put_bucket_lifecycle_configuration(**params))
        return lines

    async def expire(self, rules: builtins.list[LifecycleRule], now: datetime) -> int:
        return 0  # S3 expires objects itself, from the lifecycle rules apply_lifecycle wrote

    async def sweep_temporary(self, now: datetime) -> int:
        # put_object is all or nothing: a killed writer leaves no partial object, and
        # this store never starts a multipart upload that could be left incomplete.
        return 0

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # A thread still waiting on a dead endpoint ends on the client's own timeouts,
        # which can take longer than ours (botocore also waits up to 1 s per attempt for
        # "100 Continue"). Wait for it off the loop, but no longer than timeout_seconds;
        # a straggler then finishes on its own and the process exit joins it.
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
        except TimeoutError:
            return  # the client stays open for the straggler; nothing else uses it
        if self._client_obj is not None:
            self._client_obj.close()


def _delete_every_version(bucket: str, key: str, client: Any) -> None:
    doomed: list[dict[str, str]] = []
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
    try:
        while True:
            page = client.list_object_versions(**params)
            for item in (*page.get("Versions", []), *page.get("DeleteMarkers", [])):
                if item["Key"] == key:  # the prefix also matches longer keys
                    doomed.append({"Key": key, "VersionId": item["VersionId"]})
            if not page.get("IsTruncated"):
                break
            params["KeyMarker"] = page.get("NextKeyMarker")
            params["VersionIdMarker"] = page.get("NextVersionIdMarker")
    except ClientError as exc:
        if _error_code(exc) not in _NO_VERSIONS:
            raise
        doomed = []
    if not doomed or all(d["VersionId"] == "null" for d in doomed):
        client.delete_object(Bucket=bucket, Key=key)  # never versioned: one plain delete
        return
    # DeleteObjects takes at most 1000 keys per request (S3 API reference).
    for start in range(0, len(doomed), 1000):
        answer = client.delete_objects(
            Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True}
        )
        if answer.get("Errors"):
            codes = sorted({str(e.get("Code")) for e in answer["Errors"]})
            raise StorageError(f"s3 delete failed for {len(answer['Errors'])} versions: {codes}")


def _list_page(params: dict[str, Any], client: Any) -> dict[str, Any]:
    page: dict[str, Any] = client.list_objects_v2(**params)
    return page


# ---------------------------------------------------------------- lifecycle merge


def merge_lifecycle(
    existing: Sequence[Mapping[str, Any]], rules: list[LifecycleRule], *, versioned: bool = False
) -> tuple[list[dict[str, Any]], list[str], bool]:
    """Merge ``rules`` into a bucket's lifecycle rules, as S3 returns them.

    In a ``versioned`` bucket an expiry only adds a delete marker and the mail itself
    stays as a non-current version; there each inbound rule also expires non-current
    versions after ``NONCURRENT_DAYS``, so the retention promise holds (a day late at most).

    Rules inbound did not create (ID not starting with LIFECYCLE_ID_PREFIX) pass through
    untouched and in place; so do inbound rules not in ``rules`` (another prefix's, or an
    older release's). A rule of ``rules`` replaces the one with its ID when that differs,
    and is appended when absent. Returns the new rule list, one line per rule saying
    what happened, and whether anything changed (nothing to write otherwise).
    """
    if bad := [r.id for r in rules if not r.id.startswith(LIFECYCLE_ID_PREFIX)]:
        raise ValueError(f"lifecycle rule ids {bad} lack {LIFECYCLE_ID_PREFIX!r}")
    wanted = {r.id: r for r in rules}
    merged: list[dict[str, Any]] = []
    lines: list[str] = []
    seen: set[str] = set()
    changed = False
    foreign = 0
    for old in existing:
        rule_id = str(old.get("ID", ""))
        rule = wanted.get(rule_id)
        if rule is None:
            merged.append(dict(old))
            if rule_id.startswith(LIFECYCLE_ID_PREFIX):
                lines.append(f"left alone {rule_id}: not in this configuration")
            else:
                foreign += 1
            continue
        if rule_id in seen:
            changed = True  # a duplicate ID (S3 refuses them): keep one
            continue
        seen.add(rule_id)
        if _matches(old, rule, versioned=versioned):
            merged.append(dict(old))
            lines.append(f"unchanged {_describe(rule, versioned=versioned)}")
        else:
            merged.append(_to_s3(rule, versioned=versioned))
            lines.append(
                f"updated {_describe(rule, versioned=versioned)} (was: {_describe_s3(old)})"
            )
            changed = True
    for new in rules:
        if new.id not in seen:
            merged.append(_to_s3(new, versioned=versioned))
            lines.append(f"added {_describe(new, versioned=versioned)}")
            changed = True
    if foreign:
        lines.append(f"kept {foreign} rule(s) inbound did not create")
    return merged, lines, changed


def _to_s3(rule: LifecycleRule, *, versioned: bool = False) -> dict[str, Any]:
    # Filter + Expiration Days: the subset AWS, MinIO, Ceph RGW, R2 and Wasabi share; the
    # non-current expiry only where the bucket keeps versions (services without versioning,
    # such as R2, never see it).
    s3_rule: dict[str, Any] = {
        "ID": rule.id,
        "Filter": {"Prefix": rule.prefix},
        "Status": "Enabled",
        "Expiration": {"Days": rule.days},
    }
    if versioned:
        s3_rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": NONCURRENT_DAYS}
    return s3_rule


def _rule_prefix(rule: Mapping[str, Any]) -> str | None:
    filt = rule.get("Filter")
    if isinstance(filt, Mapping):
        # And/Tag/size filters are not what inbound writes: no plain prefix to compare.
        prefix = filt.get("Prefix") if set(filt) <= {"Prefix"} else None
        return None if prefix is None else str(prefix)
    legacy = rule.get("Prefix")  # the pre-2018 form, still returned by some services
    return None if legacy is None else str(legacy)


def _matches(old: Mapping[str, Any], rule: LifecycleRule, *, versioned: bool = False) -> bool:
    expiration = old.get("Expiration")
    foreign = [a for a in _FOREIGN_ACTIONS if a in old]
    if versioned:
        noncurrent = old.get("NoncurrentVersionExpiration")
        if not isinstance(noncurrent, Mapping) or dict(noncurrent) != {
            "NoncurrentDays": NONCURRENT_DAYS
        }:
            return False
        foreign.remove("NoncurrentVersionExpiration")
    return (
        old.get("Status") == "Enabled"
        and _rule_prefix(old) == rule.prefix
        and isinstance(expiration, Mapping)
        and expiration.get("Days") == rule.days
        and "Date" not in expiration
        and not foreign
    )


def _describe(rule: LifecycleRule, *, versioned: bool = False) -> str:
    also = f", older versions {NONCURRENT_DAYS} day after" if versioned else ""
    return f"{rule.id}: {rule.prefix} expires after {rule.days} days{also}"


def _describe_s3(old: Mapping[str, Any]) -> str:
    expiration = old.get("Expiration")
    days = expiration.get("Days") if isinstance(expiration, Mapping) else None
    return f"{old.get('Status')}, prefix {_rule_prefix(old)!r}, {days} days"


def _error_code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
