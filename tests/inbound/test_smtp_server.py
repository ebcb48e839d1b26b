"""The listening socket of SmtpServer: SO_REUSEPORT for several acceptor processes."""

from __future__ import annotations

import asyncio
import smtplib

import pytest

from inbound.accept import Accepted, Arrival
from inbound.outbox.model import Envelope, NewJob
from inbound.smtp.handler import Handler
from inbound.smtp.server import SmtpServer


async def _never(arrival: Arrival, env: Envelope, jobs: list[NewJob]) -> Accepted:
    raise AssertionError("no DATA in this test")


def _server(port: int, *, reuse_port: bool) -> SmtpServer:
    handler = Handler(routes=(), domains=(), max_recipients=10, accept=_never)
    return SmtpServer(
        handler,
        host="127.0.0.1",
        port=port,
        hostname="mx.test",
        max_message_bytes=1000,
        reuse_port=reuse_port,
    )


def test_reuse_port_lets_two_servers_share_one_port() -> None:
    async def run() -> None:
        first = _server(0, reuse_port=True)
        _, port = await first.start()
        second = _server(port, reuse_port=True)
        assert (await second.start())[1] == port
        loop = asyncio.get_running_loop()
        code, _ = await loop.run_in_executor(None, _noop, port)
        assert code == 250
        await first.stop(1.0)
        await second.stop(1.0)

    asyncio.run(run())


def test_without_reuse_port_the_port_is_exclusive() -> None:
    async def run() -> None:
        first = _server(0, reuse_port=False)
        _, port = await first.start()
        with pytest.raises(OSError):
            await _server(port, reuse_port=False).start()
        await first.stop(1.0)

    asyncio.run(run())


def _noop(port: int) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        return s.noop()


def test_later_sessions_copy_the_first_sessions_set_up_exactly() -> None:
    """A session made from the prototype has what aiosmtpd's own __init__ would set up."""
    import inspect
    import types

    from inbound.smtp.server import _SMTP, _bare_protocol, _Prototype

    async def run() -> None:
        server = _server(0, reuse_port=False)
        first = server._factory()  # the full aiosmtpd set-up
        assert isinstance(server._prototype, _Prototype)
        fast = server._factory()
        slow = _SMTP(
            server.handler,
            server.tracker,
            server.limits,
            hostname=server.hostname,
            ident="inbound ESMTP",
            decode_data=False,
            enable_SMTPUTF8=True,
            data_size_limit=server.max_message_bytes,
            tls_context=None,
            loop=asyncio.get_running_loop(),
        )
        assert set(vars(fast)) == set(vars(slow))
        # asyncio's protocol state (reader, futures) is made fresh for every session.
        loop = asyncio.get_running_loop()
        per_session = set(vars(_bare_protocol(loop)))
        for name, expected in vars(slow).items():
            got = vars(fast)[name]
            if name in per_session:
                assert type(got) is type(expected), name
                if got is not None and not isinstance(got, bool | asyncio.AbstractEventLoop):
                    assert got is not vars(first)[name], name
                continue
            if name == "_smtp_methods":
                assert got.keys() == expected.keys()
                for key, method in got.items():
                    assert isinstance(method, types.MethodType)
                    assert method.__self__ is fast  # bound to its own session
                    assert method.__func__ is expected[key].__func__
                continue
            if name == "_auth_methods":
                assert got.keys() == expected.keys()
                for key, impl in got.items():
                    assert impl.is_builtin == expected[key].is_builtin
                    if impl.is_builtin:
                        assert impl.method.__self__ is fast
                continue
            if callable(expected) and inspect.ismethod(expected):
                assert got.__func__ is expected.__func__
                continue
            assert got == expected, name

    asyncio.run(run())


def test_many_sessions_in_a_row_each_get_their_own_state() -> None:
    async def run() -> None:
        server = _server(0, reuse_port=False)
        _, port = await server.start()
        loop = asyncio.get_running_loop()
        for _ in range(3):
            code, _ = await loop.run_in_executor(None, _noop, port)
            assert code == 250
        await server.stop(1.0)

    asyncio.run(run())


@pytest.mark.parametrize(
    "arg",
    [
        "",
        "<>",
        "<a@b.test>",
        " <a@b.test> SIZE=10",
        "a@b.test",
        "<@relay.test:a@b.test>",
        '<"quoted local"@b.test>',
        "<a@b.test",
        "<a@[127.0.0.1]>",
        "<jörg@bücher.test> SMTPUTF8",
        "<a(comment)@b.test>",
        "not an address",
        "<" + "x" * 300 + "@b.test>",
    ],
)
def test_our_address_parse_answers_as_aiosmtpds_own(arg: str) -> None:
    """_getaddr is aiosmtpd's, without the class it made per call: same results."""
    from aiosmtpd.smtp import SMTP

    from inbound.smtp.server import _SMTP

    ours = _SMTP.__new__(_SMTP)
    theirs = SMTP.__new__(SMTP)
    assert ours._getaddr(arg) == SMTP._getaddr(theirs, arg)
    ours.local_part_limit = theirs.local_part_limit = 64
    assert ours._getaddr(arg) == SMTP._getaddr(theirs, arg)
