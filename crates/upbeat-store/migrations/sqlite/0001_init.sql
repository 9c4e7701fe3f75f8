-- upbeat's first schema. Migrations are append-only: never edit this file, add 0002_*.sql.
-- Times are integers: milliseconds since the Unix epoch, UTC.

CREATE TABLE monitors (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    component  TEXT,
    public     INTEGER NOT NULL,
    -- 1 while the monitor is in the configuration; removed monitors keep their history.
    active     INTEGER NOT NULL DEFAULT 1,
    -- The state machine's MonitorState as JSON; NULL until the first change.
    state      TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE samples (
    monitor_id    TEXT NOT NULL,
    at            INTEGER NOT NULL,
    up            INTEGER NOT NULL,
    latency_us    INTEGER NOT NULL,
    dns_us        INTEGER,
    connect_us    INTEGER,
    tls_us        INTEGER,
    first_byte_us INTEGER,
    http_status   INTEGER,
    error_kind    TEXT,
    error_message TEXT
);
CREATE INDEX samples_by_monitor ON samples (monitor_id, at);
CREATE INDEX samples_by_time ON samples (at);

-- Samples older than the retention, rolled up per monitor and hour (latencies of good checks).
CREATE TABLE sample_hours (
    monitor_id     TEXT NOT NULL,
    hour           INTEGER NOT NULL,
    checks         INTEGER NOT NULL,
    failures       INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_min_us INTEGER,
    latency_max_us INTEGER,
    latency_p50_us INTEGER,
    latency_p95_us INTEGER,
    latency_p99_us INTEGER,
    PRIMARY KEY (monitor_id, hour)
);

CREATE TABLE outages (
    id         TEXT PRIMARY KEY,
    monitor_id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    cause      TEXT NOT NULL
);
CREATE INDEX outages_by_monitor ON outages (monitor_id, started_at);
CREATE INDEX outages_by_start ON outages (started_at);

-- The event log that feeds (and later alerts and caches) derive from.
-- dedup_key makes replaying a transition a no-op.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    monitor_id TEXT,
    outage_id  TEXT,
    dedup_key  TEXT NOT NULL UNIQUE,
    payload    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_time ON events (at);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
