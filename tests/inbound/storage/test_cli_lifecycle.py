"""``inbound storage apply-lifecycle`` against moto: it merges, prints what changed, and
changes nothing the second time. Run as a user would, in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.s3 import S3Bucket

FOREIGN_RULE = {
    "ID": "backups-expire",
    "Filter": {"Prefix": "backups/"},
    "Status": "Enabled",
    "Expiration": {"Days": 365},
}


def _config(tmp_path: Path, bucket: S3Bucket) -> Path:
    path = tmp_path / "inbound.toml"
    path.write_text(
        f"""
[storage]
backend = "s3"
data_dir = "{tmp_path / "data"}"

[storage.s3]
bucket = "{bucket.name}"
prefix = "prod"
endpoint_url = "{bucket.endpoint_url}"
region = "us-east-1"
addressing_style = "path"
timeout_seconds = 5

[retention]
raw_days = 3
event_days = 14
metadata_days = 14
""",
        encoding="utf-8",
    )
    return path


def _apply(config: Path) -> subprocess.CompletedProcess[str]:
    # The child inherits this test's environment: s3_env's dummy credentials only.
    return subprocess.run(
        [sys.executable, "-m", "inbound", "storage", "apply-lifecycle", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )


def test_apply_lifecycle_prints_changes_and_is_idempotent(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    s3_bucket.client.put_bucket_lifecycle_configuration(
        Bucket=s3_bucket.name, LifecycleConfiguration={"Rules": [FOREIGN_RULE]}
    )
    config = _config(tmp_path, s3_bucket)

    first = _apply(config)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "added inbound-prod/raw: prod/raw/ expires after 3 days",
        "added inbound-prod/attachments: prod/attachments/ expires after 3 days",
        "added inbound-prod/events: prod/events/ expires after 14 days",
        "kept 1 rule(s) inbound did not create",
    ]
    rules = s3_bucket.client.get_bucket_lifecycle_configuration(Bucket=s3_bucket.name)["Rules"]
    assert rules[0] == FOREIGN_RULE
    assert len(rules) == 4

    second = _apply(config)
    assert second.returncode == 0, second.stderr
    assert [line.split(" ", 1)[0] for line in second.stdout.splitlines()] == [
        "unchanged",
        "unchanged",
        "unchanged",
        "kept",
    ]
    again = s3_bucket.client.get_bucket_lifecycle_configuration(Bucket=s3_bucket.name)["Rules"]
    assert again == rules


def test_apply_lifecycle_in_a_versioned_bucket_expires_old_versions_too(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    # An expiry in a versioned bucket only adds a delete marker: without a non-current
    # rule the mail would stay as an old version for good (retention broken).
    s3_bucket.client.put_bucket_versioning(
        Bucket=s3_bucket.name, VersioningConfiguration={"Status": "Enabled"}
    )
    config = _config(tmp_path, s3_bucket)
    first = _apply(config)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == (
        "added inbound-prod/raw: prod/raw/ expires after 3 days, older versions 1 day after"
    )
    rules = s3_bucket.client.get_bucket_lifecycle_configuration(Bucket=s3_bucket.name)["Rules"]
    assert len(rules) == 3
    assert all(r["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1} for r in rules)
    second = _apply(config)
    assert second.returncode == 0, second.stderr
    assert [line.split(" ", 1)[0] for line in second.stdout.splitlines()] == ["unchanged"] * 3
