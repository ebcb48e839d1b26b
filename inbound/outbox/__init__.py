"""The outbox: messages accepted and the delivery jobs that carry them to webhooks."""
