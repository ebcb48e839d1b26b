"""Suite-wide fixtures: loopback servers on port 0, a clean environment per test."""

from __future__ import annotations

pytest_plugins = [
    "tests.support.s3",
    "tests.support.webhook",
    "tests.support.service",
    "tests.support.django_site",
    "tests.support.postgres",
]
