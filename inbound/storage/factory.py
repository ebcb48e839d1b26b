"""Choose and build the raw store from Settings: the local directory or an S3 bucket.

The composition root (app, CLI) calls ``open_store``; everything else receives the
RawStore it returns and never learns which backend it is. ``key_prefix`` and
``retention_rules`` give callers the matching key prefix and expiry rules. This module
may not do I/O itself; boto3 is imported only when the S3 backend is chosen, so the
embedded default never pays for it.
"""

from __future__ import annotations

from inbound.config import Settings
from inbound.errors import ConfigError
from inbound.retention import lifecycle_rules
from inbound.storage.base import LifecycleRule, RawStore
from inbound.storage.local import LocalStore


def open_store(settings: Settings) -> RawStore:
    """LocalStore(settings.data_dir), or S3Store(settings.s3) when the backend is "s3"."""
    if settings.storage_backend == "s3":
        if settings.s3 is None:
            raise ConfigError("storage.s3.bucket", 'required when storage.backend = "s3"')
        # Imported here: boto3 takes ~0.15 s to import, which local users never need.
        from inbound.storage.s3 import S3Store

        return S3Store(settings.s3)
    return LocalStore(settings.data_dir)


def key_prefix(settings: Settings) -> str:
    """The prefix every key of this store starts with: pass it to storage/keys.py."""
    if settings.storage_backend == "s3" and settings.s3 is not None:
        return settings.s3.prefix
    return ""


def retention_rules(settings: Settings) -> list[LifecycleRule]:
    """The expiry rules for this store: apply_lifecycle at start, expire in the sweeper."""
    return lifecycle_rules(settings.raw_days, settings.event_days, key_prefix(settings))
