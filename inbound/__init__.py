"""inbound: a self-hosted inbound mail gateway (SMTP in, signed JSON webhooks out)."""

__version__ = "0.1.0"
