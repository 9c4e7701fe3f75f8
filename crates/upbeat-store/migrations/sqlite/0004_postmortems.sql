-- An incident's postmortem: Markdown, published at a time of its own.
ALTER TABLE incidents ADD COLUMN postmortem_body TEXT;
ALTER TABLE incidents ADD COLUMN postmortem_published_at INTEGER;
