-- Idempotency-Key on creating POSTs: a retry with the same key returns the first response.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL REFERENCES users(id),
    idem_key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
