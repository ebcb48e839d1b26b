"""A webhook body over 1 MiB is sent whole, with its Content-Length and no warning
(aiohttp warns on large raw-bytes bodies, an error under the suite's filterwarnings)."""

from __future__ import annotations

import hashlib

from inbound.delivery.sender import Sender
from tests.support.webhook import Receiver


async def test_a_body_over_one_mebibyte_is_posted_whole() -> None:
    receiver = Receiver()
    sender = Sender(1)
    body = b'{"x": "' + b"a" * (3 * 2**20) + b'"}'
    try:
        resp = await sender.post(receiver.url, body, {"content-type": "application/json"})
    finally:
        await sender.close()
        receiver.close()
    assert resp.status_code == 200, resp
    [delivery] = receiver.deliveries
    assert int(delivery.headers["content-length"]) == len(body)
    assert hashlib.sha256(delivery.body).digest() == hashlib.sha256(body).digest()
