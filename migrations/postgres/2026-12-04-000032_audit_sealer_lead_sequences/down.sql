-- Back to the counter rows: each year's counter takes its sequence's last value.
DO $$
DECLARE r RECORD;
DECLARE last BIGINT;
BEGIN
    FOR r IN SELECT c.relname AS name, substring(c.relname from 13)::int AS year
             FROM pg_class c WHERE c.relkind = 'S' AND c.relname ~ '^lead_number_[0-9]{4}$' LOOP
        EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %I', r.name)
            INTO last;
        INSERT INTO lead_counters (year, last_number) VALUES (r.year, last)
            ON CONFLICT (year) DO UPDATE SET last_number = GREATEST(lead_counters.last_number, EXCLUDED.last_number);
        EXECUTE format('DROP SEQUENCE %I', r.name);
    END LOOP;
END $$;

-- Unsealed entries cannot go back into a chain without positions: seal them first.
DROP INDEX audit_log_unsealed_idx;
DROP INDEX audit_log_seq_idx;
DROP INDEX audit_log_entity_idx;
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, seq);
DROP INDEX audit_log_actor_idx;
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash SET NOT NULL;
ALTER TABLE audit_log ADD PRIMARY KEY (seq);
ALTER TABLE audit_log DROP COLUMN id;
