"""Pytest plugin for S3 tests: moto's S3 server on loopback and a fresh bucket per test.

Tests talk to the real S3 HTTP API: ``ThreadedMotoServer`` listens on 127.0.0.1 and a
free port, started once per session; nothing patches boto3 in process. Per test, the
``s3_env`` fixture points the standard AWS credential chain at dummy keys through
``monkeypatch`` (so nothing leaks into other tests' environment, and no real credentials
or ``~/.aws`` files are ever read), and ``s3_bucket`` creates a bucket of its own.

boto3 appears here besides ``inbound/storage/s3.py`` on purpose: the tests inspect the
bucket (lifecycle configuration, object headers) with an independent client instead of
trusting the adapter under test to report on itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from inbound.config import S3Settings

# Dummy credentials for moto, which accepts any; never real ones.
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"
# Short enough that failure tests are quick, long enough for a loaded 2-core CI box.
TEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Bucket:
    """A fresh bucket on the moto server, and a client to inspect it with."""

    endpoint_url: str
    name: str
    client: Any  # a boto3 S3 client (boto3 ships no type information)

    def settings(self, **changes: Any) -> S3Settings:
        """S3Settings for this bucket; keyword arguments override fields."""
        values: dict[str, Any] = {
            "bucket": self.name,
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "addressing_style": "path",
            "timeout_seconds": TEST_TIMEOUT_SECONDS,
        }
        values.update(changes)
        return S3Settings(**values)


def s3_client(endpoint_url: str) -> Any:
    """A boto3 S3 client for the moto server, with explicit dummy credentials."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on 127.0.0.1 and a free port, for the session."""
    # werkzeug logs one line per request at INFO; keep test output readable.
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug_log.setLevel(level)


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials for the standard AWS chain, for this test only."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # Never read the developer's ~/.aws files, never ask an instance metadata service.
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/inbound-tests/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/inbound-tests/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3_bucket(moto_endpoint: str, s3_env: None) -> Iterator[S3Bucket]:
    """A new, empty bucket for this test (unique name; the server lives all session)."""
    client = s3_client(moto_endpoint)
    name = f"inbound-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    try:
        yield S3Bucket(endpoint_url=moto_endpoint, name=name, client=client)
    finally:
        # Free the server's memory: delete what the test left, then the bucket.
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
        for page in pages:
            for item in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)
        client.close()


@pytest.fixture
def s3_settings(s3_bucket: S3Bucket) -> S3Settings:
    """S3Settings pointing at this test's bucket (path-style, dummy chain credentials)."""
    return s3_bucket.settings()
