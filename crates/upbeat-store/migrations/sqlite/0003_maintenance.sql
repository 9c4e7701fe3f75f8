-- Scheduled maintenance windows, their updates, and outages marked as in maintenance.

CREATE TABLE maintenances (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT NOT NULL,
    scheduled_for   INTEGER NOT NULL,
    scheduled_until INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX maintenances_by_end ON maintenances (scheduled_until);

CREATE TABLE maintenance_components (
    maintenance_id INTEGER NOT NULL REFERENCES maintenances (id),
    component      TEXT NOT NULL,
    PRIMARY KEY (maintenance_id, component)
);
CREATE INDEX maintenance_components_by_component ON maintenance_components (component);

CREATE TABLE maintenance_updates (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    maintenance_id INTEGER NOT NULL REFERENCES maintenances (id),
    created_at     INTEGER NOT NULL,
    body           TEXT NOT NULL
);

-- 1 when the outage started inside a maintenance window of its monitor's component.
ALTER TABLE outages ADD COLUMN in_maintenance INTEGER NOT NULL DEFAULT 0;
