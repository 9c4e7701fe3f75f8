-- Subscribers to incidents and maintenance, by email (double opt-in) or webhook.
CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    -- email or webhook
    kind            TEXT    NOT NULL,
    -- An email address (as given, compared lowercased) or a URL.
    address         TEXT    NOT NULL,
    address_key     TEXT    NOT NULL,
    -- JSON array of component ids; [] for all of them.
    components      TEXT    NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    -- When the last confirmation mail was asked for: asking again sooner sends nothing, so the
    -- form cannot be used to flood someone's inbox.
    requested_at    INTEGER,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    UNIQUE (kind, address_key)
);
-- Fan-out pages through active subscribers by id.
CREATE INDEX subscribers_active ON subscribers (id) WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL;

-- What the event log's subscriber and maintenance events are about.
ALTER TABLE events ADD COLUMN maintenance_id INTEGER;
ALTER TABLE events ADD COLUMN subscriber_id INTEGER;

-- Values the nodes must share, made once: the key that signs subscription links.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
