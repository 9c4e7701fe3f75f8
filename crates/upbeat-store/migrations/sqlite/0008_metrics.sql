-- Values of metric monitors, pushed or pulled, kept as long as raw samples are.
CREATE TABLE metric_points (
    monitor_id TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    value      REAL    NOT NULL
);
CREATE INDEX metric_points_by_monitor ON metric_points (monitor_id, at);
