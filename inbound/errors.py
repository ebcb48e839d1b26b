"""The one exception tree of the service, split by what the caller does next.

    InboundError             everything inbound raises on purpose
    ├── ConfigError          start-up stops: one line naming the key and what is wrong
    ├── SchemaTooNew         start-up stops: the outbox was migrated by a newer release
    ├── TransientError       try again later: SMTP 451 4.3.0, a delivery stays on its schedule
    │   ├── StorageError     the raw store could not write or read (a disk, S3, a timeout)
    │   ├── OutboxError      the outbox could not commit or read (a lock, a full disk)
    │   ├── AcceptFailed     accept(): the message is not durable, so no 250 (the sender retries)
    │   ├── Unresolved       the webhook host did not resolve now (a DNS blip): retried
    │   └── LookupFailed     a sender-check DNS lookup failed: that verdict is temperror
    ├── PermanentError       retrying cannot help: the job ends (failed), nothing waits on it
    │   ├── Refused          the webhook URL may not be called (not https, a non-public address)
    │   └── ObjectNotFound   the object is not there (expired, erased): nothing left to send
    └── Defect               state that should not exist (a bug, a wrong key, a tampered blob):
        └── SealError        a sealed object does not open; kept and retried, logged loudly

What each caller does with each branch:

* The SMTP edge answers ``451`` for a TransientError and for anything unexpected (a
  Defect or a bug): never a permanent 5xx for mail we could have taken.
* The delivery worker records a TransientError or a Defect as an attempt and retries on
  the schedule (a job is never dropped on a bug or on data it cannot open yet: the
  operator may fix the install secret); a PermanentError ends the job as ``failed``.
* Maintenance commands (erase, export, show) treat ObjectNotFound as "not held" and stop
  with one line on anything else, rather than report a store they could not read as empty.

Exceptions never reach an SMTP client as text: the handler maps them to a fixed reply
line (inbound/smtp/replies.py), so nothing internal leaks to the peer. Classes are defined
where they are raised (``Refused`` in delivery/urlguard.py, ``ObjectNotFound`` in
storage/base.py, ``SealError`` in crypto.py, ``LookupFailed`` in auth/resolver.py, which
never lets it out of the sender checks); ``tests/inbound/test_errors.py`` checks that
this drawing is the real tree.
"""

from __future__ import annotations


class InboundError(Exception):
    """Root of everything inbound raises on purpose."""


class ConfigError(InboundError):
    """Bad configuration: ``key`` names where, the message says what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config error at {key}: {problem}")
        self.key = key
        self.problem = problem


class SchemaTooNew(InboundError):
    """The outbox's schema is newer than this code knows: start-up stops, nothing is touched."""


class TransientError(InboundError):
    """Failed now, may work later (451 to an SMTP client, a retry for a delivery)."""


class StorageError(TransientError):
    """The raw store could not complete an operation."""


class OutboxError(TransientError):
    """The outbox could not commit or read."""


class AcceptFailed(TransientError):
    """The message could not be made durable; the client gets 451 and retries."""


class PermanentError(InboundError):
    """Retrying will not help."""


class Defect(InboundError):
    """Something is in a state it should never be in: logged with its cause, never a 5xx,
    never a dropped job (the worker retries it on the schedule while someone looks)."""
