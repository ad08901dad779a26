-- The email outbox: written in the transaction of the change that causes it, delivered by
-- the worker in the service, claimed with a lease so that one instance sends each message.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    user_id TEXT REFERENCES users(id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    leased_by TEXT,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX outbox_message_id_key ON outbox (message_id);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_user_idx ON outbox (user_id);
CREATE INDEX outbox_created_idx ON outbox (created_at, id);

-- Per user and kind of notice: whether it also comes by email (the inbox always gets it).
CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    email INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Permit expiry reminders already sent: one per permit, expiry date and lead time, so a
-- reminder goes once, and a renewed permit (new expiry date) is reminded afresh.
CREATE TABLE permit_reminders (
    permit_id TEXT NOT NULL REFERENCES permits(id),
    expires_on DATE NOT NULL,
    lead_days INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (permit_id, expires_on, lead_days)
);
