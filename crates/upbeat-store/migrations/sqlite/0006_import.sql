-- Imports: monitors, incidents and windows brought in from another status page, and what an
-- import covers.

-- 'config' for monitors from the configuration, 'import' for monitors known only from an import;
-- starting with a configuration leaves imported monitors alone.
ALTER TABLE monitors ADD COLUMN origin TEXT NOT NULL DEFAULT 'config';
-- Milliseconds between checks; a longer gap between samples is time without data.
ALTER TABLE monitors ADD COLUMN interval_ms INTEGER NOT NULL DEFAULT 0;

-- Where an imported incident or window came from (`betterstack:607839`), so importing it again
-- finds it. NULL for what was written here.
ALTER TABLE incidents ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX incidents_by_source_key ON incidents (source_key);
ALTER TABLE maintenances ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX maintenances_by_source_key ON maintenances (source_key);

-- Spans during which a monitor counts as watched without samples: what an import speaks for.
CREATE TABLE coverage (
    monitor_id TEXT NOT NULL,
    start_at   INTEGER NOT NULL,
    end_at     INTEGER NOT NULL,
    PRIMARY KEY (monitor_id, start_at, end_at)
);
