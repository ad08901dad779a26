DROP INDEX outbox_dead_link_idx;
ALTER TABLE outbox DROP COLUMN link;
