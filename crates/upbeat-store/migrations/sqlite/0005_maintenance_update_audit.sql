-- Maintenance updates can be edited or removed; what they were is kept.
ALTER TABLE maintenance_updates ADD COLUMN deleted_at INTEGER;

CREATE TABLE maintenance_update_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id INTEGER NOT NULL REFERENCES maintenance_updates (id),
    action    TEXT NOT NULL,
    old_body  TEXT NOT NULL,
    actor     TEXT NOT NULL,
    at        INTEGER NOT NULL
);
