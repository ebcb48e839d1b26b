"""The one exception tree of the service, split by what the caller does next.

    InboundError
    ├── ConfigError          start-up stops; the message names the key and what is wrong
    ├── TransientError       try again later: SMTP 451, delivery retried
    │   ├── StorageError     the raw store could not write or read
    │   └── OutboxError      the outbox could not commit
    └── PermanentError       will not work by retrying: SMTP 5xx, delivery refused

Exceptions never reach an SMTP client as text: the handler maps them to a fixed reply
line (inbound/smtp/replies.py), so nothing internal leaks to the peer.
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
