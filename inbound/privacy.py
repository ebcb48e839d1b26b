"""Erase and export everything inbound holds about one address (DESIGN §8).

"About X" means: X is the envelope sender or a recipient, appears in From, Sender, To,
Cc or Reply-To, or is the failed recipient of a bounce (or the reported recipient of a
complaint). Lookups go through the outbox's index of keyed hashes (HMAC with the install
secret), filled at accept (envelope) and at delivery (headers); messages not delivered
yet are indexed on the spot, so nothing scans storage and no plain address is indexed.

Erasing removes raw mail, events, attachments, the message rows with their delivery jobs
and attempts (pending deliveries are thereby cancelled), destroys the message's data key
and truncates the SQLite WAL, so no byte of it is left in any file of the data dir. Each
erase or export writes an audit record that proves it happened without keeping the
address: its keyed hash, the message ids, the counts.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from inbound import crypto
from inbound.accept import address_hash
from inbound.outbox.base import AddressIndex, AuditLog, Deliveries, MessageStore
from inbound.outbox.model import AuditRecord, MessageRow
from inbound.sealed import SealedObjects
from inbound.storage import keys
from inbound.storage.base import ObjectNotFound
from inbound.sweeper import Sweeper
from parsers import Classification, Hints, ParsedMessage, classify, parse


def addresses_of(parsed: ParsedMessage, verdict: Classification) -> list[str]:
    """Every address a message is about, beyond its envelope."""
    found = [a.address for a in (*parsed.to, *parsed.cc, *parsed.reply_to) if a.address]
    for one in (parsed.from_, parsed.sender):
        if one is not None and one.address:
            found.append(one.address)
    if verdict.bounce is not None:
        found.extend(verdict.bounce.recipients)
        if verdict.bounce.recipient:
            found.append(verdict.bounce.recipient)
    if verdict.complaint is not None and verdict.complaint.original_recipient:
        found.append(verdict.complaint.original_recipient)
    return found


class PrivacyOutbox(MessageStore, AddressIndex, AuditLog, Deliveries, Protocol):
    """What erase and export use of the outbox: rows, the index, the audit log, jobs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Privacy:
    objects: SealedObjects
    outbox: PrivacyOutbox
    sweeper: Sweeper
    index_key: bytes
    prefix: str = ""

    async def index_pending(self) -> int:
        """Index the header addresses of messages the worker has not reached yet."""
        count = 0
        for msg in await self.outbox.unindexed():
            parsed = await self._parsed(msg)
            if parsed is None:
                await self.outbox.add_addresses(msg.id, [])
                continue
            verdict = classify(parsed, Hints(rcpt_to=msg.envelope.rcpt_to), msg.received_at)
            found = addresses_of(parsed, verdict)
            await self.outbox.add_addresses(
                msg.id, sorted({address_hash(self.index_key, a) for a in found})
            )
            count += 1
        return count

    async def find(self, address: str) -> list[MessageRow]:
        await self.index_pending()
        return await self.outbox.messages_by_address(address_hash(self.index_key, address))

    async def erase(
        self, address: str, *, operator: str, now: datetime, dry_run: bool = False
    ) -> AuditRecord:
        found = await self.find(address)
        counts = {"messages": len(found), "objects": 0, "jobs": 0, "attempts": 0}
        if not dry_run:
            for msg in found:
                counts["objects"] += await self.sweeper.delete_objects(
                    msg.id, msg.raw_key, msg.received_at
                )
            removed = await self.outbox.delete_messages([m.id for m in found])
            counts.update(jobs=removed["jobs"], attempts=removed["attempts"])
        else:
            for msg in found:
                counts["jobs"] += len(await self.outbox.jobs_of(msg.id))
        record = AuditRecord(
            id=f"aud_{uuid.uuid4().hex}",
            at=now,
            action="erase-dry-run" if dry_run else "erase",
            operator=operator,
            address_hash=address_hash(self.index_key, address),
            message_ids=tuple(m.id for m in found),
            counts=counts,
        )
        await self.outbox.add_audit(record)
        return record

    async def export(self, address: str, out: Path, *, operator: str, now: datetime) -> AuditRecord:
        found = await self.find(address)
        messages = [await self._export_one(msg) for msg in found]
        document = {
            "exported_at": now.isoformat(),
            "address": address,  # the file is for the data subject: it names them
            "messages": messages,
        }
        _write_private(out, json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"))
        record = AuditRecord(
            id=f"aud_{uuid.uuid4().hex}",
            at=now,
            action="export",
            operator=operator,
            address_hash=address_hash(self.index_key, address),
            message_ids=tuple(m.id for m in found),
            counts={"messages": len(found)},
        )
        await self.outbox.add_audit(record)
        return record

    async def _export_one(self, msg: MessageRow) -> dict[str, Any]:
        dek = self.objects.data_key(msg.id, msg.wrapped_key)
        raw = None if msg.raw_deleted else await self._get(dek, msg.raw_key)
        event_bytes = await self._get(dek, keys.event_key(msg.id, msg.received_at, self.prefix))
        jobs = []
        for job in await self.outbox.jobs_of(msg.id):
            attempts = await self.outbox.attempts(job.id)
            jobs.append(
                {
                    "id": job.id,
                    "route": job.route,
                    "status": job.status.value,
                    "attempts": [
                        {"at": a.at.isoformat(), "outcome": a.outcome, "status_code": a.status_code}
                        for a in attempts
                    ],
                }
            )
        return {
            "id": msg.id,
            "received_at": msg.received_at.isoformat(),
            "envelope": msg.envelope.to_dict(),
            "raw": {
                "key": msg.raw_key,
                "sha256": msg.raw_sha256,
                "expired": msg.raw_deleted,
                "base64": None if raw is None else base64.b64encode(raw).decode("ascii"),
            },
            "event": None if event_bytes is None else json.loads(event_bytes),
            "deliveries": jobs,
        }

    async def _get(self, dek: bytes | None, key: str) -> bytes | None:
        """The object, or None when it is not held (gone, or its key destroyed).

        A store that cannot answer now (TransientError) stops the export: reporting
        "nothing held" for mail we could not read would be a false answer to a request.
        """
        try:
            return await self.objects.get(dek, key)
        except (ObjectNotFound, crypto.SealError):
            return None

    async def _parsed(self, msg: MessageRow) -> ParsedMessage | None:
        if msg.raw_deleted:
            return None
        raw = await self._get(self.objects.data_key(msg.id, msg.wrapped_key), msg.raw_key)
        return None if raw is None else parse(raw, msg.received_at)


def _write_private(path: Path, data: bytes) -> None:
    """The export holds personal data: readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
