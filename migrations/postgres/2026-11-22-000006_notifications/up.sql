-- The in-app inbox. Notices are written in the same transaction as the change that causes
-- them; whom they go to is decided in src/notify.rs.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_inbox_idx ON notifications (user_id, read_at, created_at, id);
CREATE INDEX notifications_entity_idx ON notifications (entity_type, entity_id);
