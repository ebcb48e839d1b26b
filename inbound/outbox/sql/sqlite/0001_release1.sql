-- The schema of the first release, exactly (its stores carry no version table: this
-- migration finds every table there already and changes nothing).
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    received_at REAL NOT NULL,
    raw_key TEXT NOT NULL,
    raw_size INTEGER NOT NULL,
    raw_sha256 TEXT NOT NULL,
    raw_expires_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    envelope TEXT NOT NULL,
    wrapped_key BLOB,
    raw_deleted INTEGER NOT NULL DEFAULT 0,
    indexed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_expires ON messages(expires_at);
CREATE TABLE IF NOT EXISTS message_addresses (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    PRIMARY KEY (hash, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    route TEXT NOT NULL,
    rcpt_to TEXT NOT NULL,
    mailbox_hash TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS jobs_message ON jobs(message_id);
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    action TEXT NOT NULL,
    operator TEXT NOT NULL,
    address_hash TEXT NOT NULL,
    message_ids TEXT NOT NULL,
    counts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    at REAL NOT NULL,
    outcome TEXT NOT NULL,
    status_code INTEGER,
    detail TEXT,
    duration_ms INTEGER,
    PRIMARY KEY (job_id, n)
);
