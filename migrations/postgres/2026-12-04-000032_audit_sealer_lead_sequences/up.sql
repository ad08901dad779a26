-- Writes that share no row (issue 17).
--
-- The audit trail: writers append entries under an id from a sequence, with no chain fields;
-- one sealer at a time (it holds audit_head's row for the batch) gives them their chain
-- position (seq), the previous entry's hash and their own, in the order it seals them.
-- Entries written before this migration keep their seq and hashes; their id is their seq.
ALTER TABLE audit_log ADD COLUMN id BIGINT;
UPDATE audit_log SET id = seq;
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
SELECT setval('audit_log_id_seq', COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, false);
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq');
ALTER TABLE audit_log ALTER COLUMN id SET NOT NULL;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (id);
ALTER TABLE audit_log ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL;
CREATE UNIQUE INDEX audit_log_seq_idx ON audit_log (seq);
-- What the sealer reads: the entries still waiting, oldest first.
CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE seq IS NULL;
-- The lists page newest first by id (sealed or not).
DROP INDEX audit_log_entity_idx;
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id);
DROP INDEX audit_log_actor_idx;
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);

-- Lead numbers: a sequence per year (lead_number_YYYY), created on the year's first lead,
-- instead of the year's counter row every raise locked until its commit. The years counted
-- so far go on from where their counter stood.
DO $$
DECLARE r RECORD;
BEGIN
    FOR r IN SELECT year, last_number FROM lead_counters LOOP
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS lead_number_%s START WITH %s',
                       r.year, r.last_number + 1);
    END LOOP;
END $$;
