"""``delete_after_delivery`` keeps no personal data once every job is delivered (issue 16, item 10).

Before, the raw mail, event and data key went, but the message row kept its envelope
(sender, recipients, client IP, HELO) for ``metadata_days``, the jobs their recipients
and the index the keyed hashes of every address. Now only what the audit needs stays:
ids, times, sizes, the sha256, routes, statuses and attempts. The files of the data dir
are searched byte by byte for the addresses after the service has stopped.
"""

from __future__ import annotations

from pathlib import Path

from inbound.accept import address_hash
from inbound.clock import FakeClock
from inbound.outbox.model import JobStatus
from tests.support.service import Running, message, settings_for
from tests.support.webhook import SECRET, Receiver

SENDER = "frida.q4x@sender.test"
RCPT = "support+case77k@example.test"
OTHER = "billing@example.test"
HELO = "helo-z8r.client.test"


def _route(name: str, recipient: str, url: str, **extra: object) -> dict[str, object]:
    return {"name": name, "recipients": [recipient], "url": url, "secret": SECRET, **extra}


def _files_holding(root: Path, needles: list[bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            hits = [n.decode() for n in needles if n.lower() in data]
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


def test_the_row_keeps_no_address_once_every_job_is_delivered(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    settings = settings_for(
        tmp_path,
        routes=[
            _route("support", "support@example.test", receiver.url, delete_after_delivery=True),
            _route("billing", OTHER, receiver.url, delete_after_delivery=True),
        ],
    )
    running = Running(settings, clock=clock)
    try:
        with running.smtp() as s:
            s.ehlo(HELO)
            s.sendmail(SENDER, [RCPT, OTHER], message(sender=f"Frida <{SENDER}>").as_bytes())
        receiver.respond(200, 500)  # one route delivered, the other to be retried
        running.deliver()
        outbox = running.service.outbox
        [msg] = running.call(outbox.messages())
        # One job still pending: the message is still needed, addresses and all.
        assert msg.envelope.mail_from == SENDER and not msg.raw_deleted
        clock.advance(3600)
        running.deliver()
        jobs = running.call(outbox.jobs_of(msg.id))
        [msg] = running.call(outbox.messages())
        index_key = running.service.index_key
        indexed = running.call(outbox.messages_by_address(address_hash(index_key, SENDER)))
        attempts = [running.call(outbox.attempts(j.id)) for j in jobs]
    finally:
        running.stop()
    assert len(receiver.events()) == 3
    # What the audit needs is still there...
    assert {j.status for j in jobs} == {JobStatus.DELIVERED}
    assert sorted(len(a) for a in attempts) == [1, 2]
    assert msg.raw_sha256 and msg.raw_size > 0 and msg.raw_deleted and msg.wrapped_key is None
    # ...and nothing that names a person.
    assert msg.envelope.mail_from == "" and msg.envelope.rcpt_to == ()
    assert msg.envelope.remote_ip is None and msg.envelope.helo is None
    assert all(j.rcpt_to == () and j.mailbox_hash is None for j in jobs)
    assert indexed == []
    needles = [SENDER.encode(), b"support+case77k", OTHER.encode(), HELO.encode(), b"case77k"]
    assert _files_holding(tmp_path, needles) == {}
