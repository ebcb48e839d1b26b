"""The naive stack of issue 12: what a first prototype of inbound's own pipeline looks like.

One process, one event loop: aiosmtpd; in ``handle_DATA`` the raw message is written to a
spool file and fsynced, then ``250``; a task per message then parses it with flanker,
puts the raw bytes to S3 with boto3 (in the default thread pool, boto3 blocks), and POSTs
a JSON event signed as Standard Webhooks do with one ``httpx.AsyncClient``. No outbox,
no retries: the yardstick ``bench/side_by_side.py`` measures inbound against.
``--discard`` makes it the bare aiosmtpd baseline (the handler answers 250, keeps nothing).

    python bench/naive_stack.py --port 2526 --spool DIR --s3 http://127.0.0.1:5000 \
        --bucket naive --webhook http://127.0.0.1:8080/hook --secret whsec_...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
from aiosmtpd.smtp import SMTP
from flanker import mime


class Naive:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.spool = Path(args.spool)
        self.spool.mkdir(parents=True, exist_ok=True)
        self.discard = bool(args.discard)
        self.tasks: set[asyncio.Task[None]] = set()
        if not self.discard:
            self.s3 = boto3.client(
                "s3",
                endpoint_url=args.s3,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",  # noqa: S106  (moto on loopback)
            )
            self.client = httpx.AsyncClient(timeout=30)
            self.key = base64.b64decode(args.secret.removeprefix("whsec_"))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.discard:
            return "250 OK"
        raw: bytes = envelope.content
        name = uuid.uuid4().hex
        with (self.spool / name).open("wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        task = asyncio.create_task(self.deliver(name, raw, list(envelope.rcpt_tos)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return f"250 OK queued as {name}"

    async def deliver(self, name: str, raw: bytes, rcpts: list[str]) -> None:
        msg = mime.from_string(raw)
        text = ""
        attachments = []
        for part in msg.walk(with_self=True):
            if part.content_type.is_singlepart():
                if part.content_type.main == "text" and not text:
                    text = part.body
                elif part.content_type.main != "text":
                    attachments.append(
                        {"content_type": str(part.content_type), "size": len(part.body or b"")}
                    )
        event = {
            "id": name,
            "subject": msg.subject,
            "from": msg.headers.get("From"),
            "to": rcpts,
            "text": text,
            "attachments": attachments,
        }
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None,
            lambda: self.s3.put_object(Bucket=self.args.bucket, Key=f"raw/{name}", Body=raw),
        )
        body = json.dumps(event).encode()
        ts = str(int(time.time()))
        mac = hmac.new(self.key, f"{name}.{ts}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "webhook-id": name,
            "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
            "content-type": "application/json",
        }
        try:
            await self.client.post(self.args.webhook, content=body, headers=headers)
        except httpx.HTTPError as exc:
            print(f"naive: POST failed: {exc!r}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spool", required=True)
    parser.add_argument("--s3", default="")
    parser.add_argument("--bucket", default="naive")
    parser.add_argument("--webhook", default="")
    parser.add_argument("--secret", default="")
    parser.add_argument("--discard", action="store_true")
    args = parser.parse_args()
    handler = Naive(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="naive.test", decode_data=False, data_size_limit=64 << 20),
        "127.0.0.1",
        args.port,
        backlog=1024,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"naive listening on {args.port}", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
