"""Fixtures of the auth tests: the suite's DNS server, a fresh resolver and authenticator,
and the real spam filters (started once per session, on first use)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from inbound.auth.check import Authenticator
from inbound.auth.resolver import Resolver, ResolverSettings
from inbound.auth.settings import AuthSettings
from tests.support import dns as test_dns
from tests.support import spam_daemons


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


@pytest.fixture(scope="session")
def real_spamd() -> Iterator[spam_daemons.Spamd]:
    daemon = spam_daemons.Spamd()
    print(daemon.timings())  # shown with -s: what a first run costs
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def real_rspamd() -> Iterator[spam_daemons.Rspamd]:
    daemon = spam_daemons.Rspamd(test_dns.shared().address)
    print(daemon.timings())
    yield daemon
    daemon.stop()
