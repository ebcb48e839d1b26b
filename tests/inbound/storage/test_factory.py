"""open_store picks the backend the settings name; the prefix and rules follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound.config import S3Settings, Settings
from inbound.errors import ConfigError
from inbound.storage.factory import key_prefix, open_store, retention_rules
from inbound.storage.local import LocalStore
from inbound.storage.s3 import S3Store


async def test_local_is_the_default(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = open_store(settings)
    try:
        assert isinstance(store, LocalStore)
        assert store.root == tmp_path
        assert key_prefix(settings) == ""
        assert [r.prefix for r in retention_rules(settings)] == ["raw/", "attachments/", "events/"]
    finally:
        await store.close()


async def test_s3_backend_gets_the_s3_settings() -> None:
    s3 = S3Settings(bucket="mail-bucket", prefix="prod/")
    settings = Settings(storage_backend="s3", s3=s3, raw_days=3, event_days=10)
    store = open_store(settings)  # builds no client yet: no network, no credentials
    try:
        assert isinstance(store, S3Store)
        assert store.settings is s3
        assert key_prefix(settings) == "prod/"
        assert [(r.prefix, r.days) for r in retention_rules(settings)] == [
            ("prod/raw/", 3),
            ("prod/attachments/", 3),
            ("prod/events/", 10),
        ]
    finally:
        await store.close()


def test_s3_backend_without_a_bucket_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(Settings(storage_backend="s3", s3=None))
    assert caught.value.key == "storage.s3.bucket"
