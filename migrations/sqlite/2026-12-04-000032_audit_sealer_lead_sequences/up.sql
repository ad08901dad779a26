-- Writes that share no row (issue 17). On SQLite the single writer seals each entry as it
-- is written (the chain fields are never empty here); the table takes the same shape as on
-- PostgreSQL, where writers append under an id and one sealer links the entries later.
-- Entries written before this migration keep their seq and hashes; their id is their seq.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT,
    occurred_at TIMESTAMP NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT,
    hash TEXT
);
INSERT INTO audit_log_new (id, seq, occurred_at, actor_id, actor_name, entity_type, entity_id,
                           action, before_json, after_json, prev_hash, hash)
SELECT seq, seq, occurred_at, actor_id, actor_name, entity_type, entity_id,
       action, before_json, after_json, prev_hash, hash
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE UNIQUE INDEX audit_log_seq_idx ON audit_log (seq);
CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE seq IS NULL;
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
