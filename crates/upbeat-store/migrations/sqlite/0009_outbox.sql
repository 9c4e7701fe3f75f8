-- The outbox: one row per message to one recipient, derived from the event log. It carries ids,
-- never payloads: the message is rendered when it is sent.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    -- The event and the recipient: a message is enqueued, and sent, once.
    key             TEXT    NOT NULL UNIQUE,
    event_seq       INTEGER NOT NULL,
    recipient       TEXT    NOT NULL,
    -- pending, sent or dead (given up on; visible in the API).
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- Who is sending it, until when: another worker or node claims it only after that.
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

-- How far each reader of the event log has got.
CREATE TABLE outbox_cursors (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
