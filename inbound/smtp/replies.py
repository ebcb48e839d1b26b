"""Every reply line inbound's SMTP edge sends on purpose (DESIGN §3).

Codes are RFC 5321 §4.2 basic codes with RFC 3463 enhanced status codes; the text after
them is fixed here, so no exception text or internal detail ever reaches a client.
"""

from __future__ import annotations

# 250 after the raw message and its delivery jobs are durable (RFC 5321 §4.1.1.4).
QUEUED = "250 2.0.0 OK queued as {id}"
OK_SENDER = "250 2.1.0 Sender OK"
OK_RECIPIENT = "250 2.1.5 Recipient OK"
# RFC 3463 §3.2 X.1.1 "Bad destination mailbox address": a served domain, no such route.
UNKNOWN_USER = "550 5.1.1 Mailbox unknown"
# RFC 3463 §3.8 X.7.1 "Delivery not authorized": a domain we do not serve; never relay.
RELAY_DENIED = "550 5.7.1 Relaying denied"
# RFC 3463 §3.6 X.5.3 "Too many recipients" (4xx: send the rest in another transaction).
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
# RFC 3463 §3.4 X.3.4 "Message too big for system"; RFC 1870 §6.
TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"
# RFC 3463 §3.4 X.3.0 "Other or undefined mail system status": storage/outbox failed.
TRY_AGAIN = "451 4.3.0 Temporary failure, please try again later"
# RFC 3463 §3.4 X.3.2 "System not accepting network messages": shutting down.
SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"
# An exception outside DATA: a fixed line, never the exception's text.
INTERNAL_ERROR = "451 4.3.0 Internal error, please try again later"
BAD_ADDRESS = "553 5.1.3 Bad address syntax"
# RFC 3463 §3.8 X.7.0 "Other or undefined security status": too many connections from one
# client (or in all); RFC 5321 §3.8 lets a server close with 421 at greeting.
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections, try again later"
# RFC 3463 §3.8 X.7.1 "Delivery not authorized, message refused", temporary: a client
# over its message rate is asked to come back later.
RATE_LIMITED = "450 4.7.1 Too many messages from your address, try again later"
