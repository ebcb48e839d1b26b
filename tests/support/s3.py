"""Pytest plugin for S3 tests: a moto S3 server on loopback and a fresh bucket per test.

It may not patch boto3 in process; tests talk to the real S3 HTTP API.
"""

from __future__ import annotations
