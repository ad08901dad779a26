-- Mail taken in by the intake (SMTP listener or POST /api/v1/intake/email) from a known
-- sender: stored before the sender is told it was accepted, then processed into a lead or
-- a comment. One row per Message-ID (or per content hash when a message has none), so a
-- message delivered twice is processed once. Mail refused before it is stored (unknown
-- sender, malformed, too large, failed DKIM) is only logged.
CREATE TABLE inbound_messages (
    id TEXT PRIMARY KEY NOT NULL,
    message_key TEXT NOT NULL,
    message_id TEXT,
    channel TEXT NOT NULL,
    mail_from TEXT,
    sender TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    subject TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    raw BLOB NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    notes TEXT NOT NULL DEFAULT '',
    lead_id TEXT REFERENCES leads(id),
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP
);
CREATE UNIQUE INDEX inbound_messages_key ON inbound_messages (message_key);
CREATE INDEX inbound_messages_status_idx ON inbound_messages (status, id);
CREATE INDEX inbound_messages_sender_idx ON inbound_messages (sender, id);
CREATE INDEX inbound_messages_user_idx ON inbound_messages (user_id, received_at);
CREATE INDEX inbound_messages_lead_idx ON inbound_messages (lead_id, id);

-- Senders are found by address, compared case-insensitively.
CREATE INDEX users_email_lower_idx ON users (lower(email));
