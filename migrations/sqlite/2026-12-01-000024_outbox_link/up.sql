-- Which page a message is about (the notice's link, e.g. /consultations/{id}), so the
-- page can say which of its emails could not be delivered.
ALTER TABLE outbox ADD COLUMN link TEXT;
CREATE INDEX outbox_dead_link_idx ON outbox (link) WHERE status = 'dead';
