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
# RFC 3463 §3.4 X.3.1 "Mail system full": the in-flight DATA byte budget is spent (or
# the spool's disk is); RFC 5321 §4.2.2 452 "insufficient system storage".
NO_ROOM = "452 4.3.1 Insufficient system storage, try again later"
# RFC 6531 §3.5: a non-ASCII address in a transaction without the SMTPUTF8 parameter.
NEEDS_SMTPUTF8 = "553 5.6.7 Non-ASCII address requires SMTPUTF8"
# RFC 3463 §3.5 X.5.4 "Invalid command arguments": bytes that are not UTF-8 (RFC 6531
# allows UTF-8 only, SMTPUTF8 or not), so nothing we accept can fail later on its bytes.
NOT_UTF8 = "501 5.5.4 Invalid characters in command (not UTF-8)"
# A NUL byte in a command (Postfix answers 501 too); RFC 3463 X.5.2 "Syntax error".
NUL_IN_COMMAND = "501 5.5.2 NUL character in command"
# RFC 3207 §4 + RFC 3463 X.7.0: server.require_tls and MAIL before STARTTLS.
TLS_REQUIRED = "530 5.7.0 Must issue a STARTTLS command first"
# RFC 5321 §4.5.3.2: a session idle (or too slow) past the server's timeout is closed.
TIMEOUT = "421 4.4.2 Timeout exceeded, closing connection"
# aiosmtpd's own text, with the RFC 3463 code added: a command over 512 octets.
COMMAND_TOO_LONG = "500 5.5.2 Command line too long"
# RFC 5321 §4.2.4 502 "Command not implemented": AUTH on an MX that takes no logins.
NO_AUTH = "502 5.5.1 AUTH not available on this server"
