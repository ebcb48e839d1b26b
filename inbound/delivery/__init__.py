"""Delivery: outbox jobs -> signed webhook POSTs, retried on a persisted schedule."""
