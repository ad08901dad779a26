-- Lead statistics kept lead by lead (issue 17). Until now a change marked the day it
-- touched, and until the rollup had counted that day again a request counted it from the
-- leads: at a province's 5 500 leads a day, some 600 ms for each such day, and today is
-- marked by every lead raised. Now a change notes the lead; the rollup keeps each lead's
-- part in the figures (lead_stat_parts) and adds the difference between its new part and
-- the kept one to the kept figures, and a request adds the same difference for the leads
-- changed since the rollup: work in proportion to the changes, not to the leads of a day.
DROP TRIGGER lead_evaluations_stat ON lead_evaluations;
DROP TRIGGER lead_deadlines_stat_update ON lead_deadlines;
DROP TRIGGER leads_stat_update ON leads;
DROP TRIGGER leads_stat_insert ON leads;
DROP FUNCTION lead_stat_mark_of_lead();
DROP FUNCTION lead_stat_mark_lead();
DROP TABLE lead_stat_marks;

-- The leads changed since the rollup took their notes: an insert per change, so writers
-- share no row; a queue, vacuumed often (as the marks were, migration 000037).
CREATE TABLE lead_stat_changes (
    id BIGSERIAL PRIMARY KEY,
    lead_id TEXT NOT NULL
);
CREATE INDEX lead_stat_changes_lead_idx ON lead_stat_changes (lead_id);
ALTER TABLE lead_stat_changes SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
    autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000
);

-- Each lead's part in the kept figures, as the rollup last counted it: one line per count
-- ("day<TAB>metric<TAB>unit") and per duration ("day<TAB>kind<TAB>unit<TAB>ms").
CREATE TABLE lead_stat_parts (
    lead_id TEXT PRIMARY KEY NOT NULL,
    parts TEXT NOT NULL
);

CREATE FUNCTION lead_stat_change_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_stat_changes (lead_id) VALUES (NEW.id);
    IF NEW.next_due_at IS NOT NULL THEN
        INSERT INTO lead_due_marks (day) VALUES (lead_stat_day(NEW.next_due_at));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.next_due_at IS NOT NULL AND OLD.next_due_at IS DISTINCT FROM NEW.next_due_at THEN
            INSERT INTO lead_due_marks (day) VALUES (lead_stat_day(OLD.next_due_at));
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER leads_stat_insert AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_stat_change_lead();
CREATE TRIGGER leads_stat_update AFTER UPDATE ON leads
    FOR EACH ROW
    WHEN (OLD.raised_at IS DISTINCT FROM NEW.raised_at
          OR OLD.state IS DISTINCT FROM NEW.state
          OR OLD.closed_at IS DISTINCT FROM NEW.closed_at
          OR OLD.primary_department IS DISTINCT FROM NEW.primary_department
          OR OLD.merged_into IS DISTINCT FROM NEW.merged_into
          OR OLD.source IS DISTINCT FROM NEW.source
          OR OLD.raised_unit IS DISTINCT FROM NEW.raised_unit
          OR OLD.next_due_at IS DISTINCT FROM NEW.next_due_at)
    EXECUTE FUNCTION lead_stat_change_lead();

CREATE FUNCTION lead_stat_change_of_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_stat_changes (lead_id)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.lead_id ELSE NEW.lead_id END);
    RETURN NULL;
END $$;

CREATE TRIGGER lead_deadlines_stat_update AFTER UPDATE ON lead_deadlines
    FOR EACH ROW
    WHEN (NEW.stage IN ('acknowledge', 'verify')
          AND (OLD.met_at IS DISTINCT FROM NEW.met_at OR OLD.due_at IS DISTINCT FROM NEW.due_at))
    EXECUTE FUNCTION lead_stat_change_of_lead();
CREATE TRIGGER lead_evaluations_stat AFTER INSERT OR UPDATE OR DELETE ON lead_evaluations
    FOR EACH ROW EXECUTE FUNCTION lead_stat_change_of_lead();

-- The figures kept so far were counted by day; they are counted again lead by lead, every
-- lead noted once (until the rollup has, a request counts its period from the leads).
DELETE FROM lead_stat_days;
DELETE FROM lead_stat_hours;
INSERT INTO lead_stat_changes (lead_id) SELECT id FROM leads ORDER BY raised_at, id;
