-- The PostgreSQL outbox, at the level of the SQLite store's version 3. Times are
-- timestamptz; JSON blobs (envelope, recipient lists, counts) are text holding JSON,
-- exactly what the SQLite backend stores, so both read and write them the same way.
CREATE TABLE messages (
    id text PRIMARY KEY,
    received_at timestamptz NOT NULL,
    raw_key text NOT NULL,
    raw_size bigint NOT NULL,
    raw_sha256 text NOT NULL,
    raw_expires_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    envelope text NOT NULL,
    wrapped_key bytea,
    raw_deleted boolean NOT NULL DEFAULT false,
    indexed boolean NOT NULL DEFAULT false
);
CREATE INDEX messages_expires ON messages (expires_at);
CREATE INDEX messages_raw_expires ON messages (raw_expires_at) WHERE NOT raw_deleted;
CREATE INDEX messages_unindexed ON messages (received_at) WHERE NOT indexed;
CREATE TABLE message_addresses (
    message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    hash text NOT NULL,
    PRIMARY KEY (hash, message_id)
);
CREATE INDEX message_addresses_message ON message_addresses (message_id);
CREATE TABLE jobs (
    id text PRIMARY KEY,
    message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    route text NOT NULL,
    rcpt_to text NOT NULL,
    mailbox_hash text,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    lease_until timestamptz,
    claimed_by text,
    boot_id text,
    updated_at timestamptz NOT NULL
);
CREATE INDEX jobs_pending ON jobs (next_attempt_at) WHERE status = 'pending';
CREATE INDEX jobs_sending ON jobs (lease_until) WHERE status = 'sending';
CREATE INDEX jobs_message ON jobs (message_id);
CREATE INDEX jobs_created ON jobs (created_at);
CREATE TABLE attempts (
    job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    n integer NOT NULL,
    at timestamptz NOT NULL,
    outcome text NOT NULL,
    status_code integer,
    detail text,
    duration_ms integer,
    response text,
    kind text,
    PRIMARY KEY (job_id, n)
);
CREATE TABLE audit (
    id text PRIMARY KEY,
    at timestamptz NOT NULL,
    action text NOT NULL,
    operator text NOT NULL,
    address_hash text NOT NULL,
    message_ids text NOT NULL,
    counts text NOT NULL
);
CREATE TABLE install (
    key text PRIMARY KEY,
    value text NOT NULL
);
