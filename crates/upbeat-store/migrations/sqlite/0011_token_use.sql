-- Tokens an operator can recognise and revoke: the first characters of the token as shown once at
-- creation (never enough to authenticate), and when it was last used, to the minute.
-- Tokens made before this migration have no prefix; they are revoked by name.
ALTER TABLE tokens ADD COLUMN prefix TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
-- `token revoke` finds a token by name or prefix.
CREATE INDEX tokens_by_name ON tokens (name);
CREATE INDEX tokens_by_prefix ON tokens (prefix) WHERE prefix IS NOT NULL;
