"""Fixtures of the auth tests: the suite's DNS server, a fresh resolver and authenticator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inbound.auth.check import Authenticator
from inbound.auth.resolver import Resolver, ResolverSettings
from inbound.auth.settings import AuthSettings
from tests.support import dns as test_dns


@pytest.fixture
def dns_server() -> test_dns.DnsServer:
    return test_dns.shared()


@pytest.fixture
def resolver(dns_server: test_dns.DnsServer) -> Resolver:
    return Resolver(
        ResolverSettings(nameservers=(("127.0.0.1", dns_server.port),), timeout_seconds=2.0)
    )


@pytest.fixture
async def authenticator(resolver: Resolver) -> AsyncIterator[Authenticator]:
    auth = Authenticator(AuthSettings(), hostname="mx.test", resolver=resolver)
    yield auth
    await auth.close()
