DROP TRIGGER lead_evaluations_stat ON lead_evaluations;
DROP TRIGGER lead_deadlines_stat_update ON lead_deadlines;
DROP TRIGGER leads_stat_update ON leads;
DROP TRIGGER leads_stat_insert ON leads;
DROP FUNCTION lead_stat_change_of_lead();
DROP FUNCTION lead_stat_change_lead();
DROP TABLE lead_stat_parts;
DROP TABLE lead_stat_changes;

CREATE TABLE lead_stat_marks (
    id BIGSERIAL PRIMARY KEY,
    day TEXT NOT NULL
);
CREATE INDEX lead_stat_marks_day_idx ON lead_stat_marks (day);
ALTER TABLE lead_stat_marks SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
    autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000
);

CREATE FUNCTION lead_stat_mark_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_stat_marks (day) VALUES (lead_stat_day(NEW.raised_at));
    IF NEW.closed_at IS NOT NULL THEN
        INSERT INTO lead_stat_marks (day) VALUES (lead_stat_day(NEW.closed_at));
    END IF;
    IF NEW.next_due_at IS NOT NULL THEN
        INSERT INTO lead_due_marks (day) VALUES (lead_stat_day(NEW.next_due_at));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.next_due_at IS NOT NULL AND OLD.next_due_at IS DISTINCT FROM NEW.next_due_at THEN
            INSERT INTO lead_due_marks (day) VALUES (lead_stat_day(OLD.next_due_at));
        END IF;
        IF OLD.raised_at IS DISTINCT FROM NEW.raised_at THEN
            INSERT INTO lead_stat_marks (day) VALUES (lead_stat_day(OLD.raised_at));
        END IF;
        IF OLD.closed_at IS NOT NULL AND OLD.closed_at IS DISTINCT FROM NEW.closed_at THEN
            INSERT INTO lead_stat_marks (day) VALUES (lead_stat_day(OLD.closed_at));
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER leads_stat_insert AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_stat_mark_lead();
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
    EXECUTE FUNCTION lead_stat_mark_lead();

CREATE FUNCTION lead_stat_mark_of_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_stat_marks (day)
    SELECT lead_stat_day(l.raised_at) FROM leads l
    WHERE l.id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.lead_id ELSE NEW.lead_id END);
    RETURN NULL;
END $$;

CREATE TRIGGER lead_deadlines_stat_update AFTER UPDATE ON lead_deadlines
    FOR EACH ROW
    WHEN (NEW.stage IN ('acknowledge', 'verify')
          AND (OLD.met_at IS DISTINCT FROM NEW.met_at OR OLD.due_at IS DISTINCT FROM NEW.due_at))
    EXECUTE FUNCTION lead_stat_mark_of_lead();
CREATE TRIGGER lead_evaluations_stat AFTER INSERT OR UPDATE OR DELETE ON lead_evaluations
    FOR EACH ROW EXECUTE FUNCTION lead_stat_mark_of_lead();

DELETE FROM lead_stat_days;
DELETE FROM lead_stat_hours;
INSERT INTO lead_stat_marks (day)
SELECT DISTINCT lead_stat_day(raised_at) FROM leads
UNION
SELECT DISTINCT lead_stat_day(closed_at) FROM leads WHERE closed_at IS NOT NULL;
