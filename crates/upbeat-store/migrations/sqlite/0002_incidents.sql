-- Incidents written by people, their updates, the audit of edits, and idempotency keys.

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    impact      TEXT NOT NULL,
    status      TEXT NOT NULL,
    -- Component id -> status, as JSON.
    components  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX incidents_by_start ON incidents (started_at);

CREATE TABLE incident_updates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    created_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    components  TEXT NOT NULL,
    guid_hash   TEXT NOT NULL UNIQUE,
    deleted_at  INTEGER
);
CREATE INDEX incident_updates_by_incident ON incident_updates (incident_id, created_at);

-- What an update was before each edit or deletion.
CREATE TABLE incident_update_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id   INTEGER NOT NULL REFERENCES incident_updates (id),
    action      TEXT NOT NULL,
    old_status  TEXT NOT NULL,
    old_body    TEXT NOT NULL,
    old_created_at INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    at          INTEGER NOT NULL
);

-- A retried POST with the same key and token returns what the first one created.
CREATE TABLE idempotency_keys (
    token_id     INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    incident_id  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
);

ALTER TABLE events ADD COLUMN incident_id INTEGER;
ALTER TABLE events ADD COLUMN update_id INTEGER;
