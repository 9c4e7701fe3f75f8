-- Heartbeat pings and pushes as received, and each heartbeat monitor's ping URL uuid.
CREATE TABLE pings (
    id          INTEGER PRIMARY KEY,
    monitor_id  TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    exit_status INTEGER,
    rid         TEXT,
    method      TEXT    NOT NULL,
    remote      TEXT,
    user_agent  TEXT,
    body        BLOB    NOT NULL,
    truncated   INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER
);
CREATE INDEX pings_by_monitor ON pings (monitor_id, id);

ALTER TABLE monitors ADD COLUMN ping_uuid TEXT;
-- Every ping ever received, including those the log no longer keeps.
ALTER TABLE monitors ADD COLUMN pings_total INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX monitors_by_ping_uuid ON monitors (ping_uuid);
