-- Claims name their holder (issue 16): the node and the boot of the process. A node
-- that starts again takes back its earlier boot's claims at once.
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE jobs ADD COLUMN boot_id TEXT;
CREATE INDEX jobs_lease ON jobs(status, lease_until);
CREATE INDEX messages_raw_expires ON messages(raw_deleted, raw_expires_at);
-- One row per installation fact; 'install_fingerprint' proves which install secret
-- this outbox belongs to, so a node with another secret refuses to start.
CREATE TABLE install (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
