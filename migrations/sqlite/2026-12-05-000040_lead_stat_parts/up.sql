-- Lead statistics kept lead by lead (issue 17); see the PostgreSQL migration of the same
-- name. A change notes the lead; the rollup keeps each lead's part in the figures and adds
-- the difference to the kept figures; a request adds it for the leads changed since.
DROP TRIGGER leads_stat_insert;
DROP TRIGGER leads_stat_update;
DROP TRIGGER lead_deadlines_stat_update;
DROP TRIGGER lead_evaluations_stat_insert;
DROP TRIGGER lead_evaluations_stat_update;
DROP TRIGGER lead_evaluations_stat_delete;
DROP TABLE lead_stat_marks;

CREATE TABLE lead_stat_changes (
    id INTEGER PRIMARY KEY NOT NULL,
    lead_id TEXT NOT NULL
);
CREATE INDEX lead_stat_changes_lead_idx ON lead_stat_changes (lead_id);

CREATE TABLE lead_stat_parts (
    lead_id TEXT PRIMARY KEY NOT NULL,
    parts TEXT NOT NULL
);

CREATE TRIGGER leads_stat_insert AFTER INSERT ON leads
BEGIN
    INSERT INTO lead_stat_changes (lead_id) VALUES (NEW.id);
    INSERT INTO lead_due_marks (day)
        SELECT date(NEW.next_due_at, '+8 hours') WHERE NEW.next_due_at IS NOT NULL;
END;

CREATE TRIGGER leads_stat_update AFTER UPDATE ON leads
    WHEN OLD.raised_at IS NOT NEW.raised_at
      OR OLD.state IS NOT NEW.state
      OR OLD.closed_at IS NOT NEW.closed_at
      OR OLD.primary_department IS NOT NEW.primary_department
      OR OLD.merged_into IS NOT NEW.merged_into
      OR OLD.source IS NOT NEW.source
      OR OLD.raised_unit IS NOT NEW.raised_unit
      OR OLD.next_due_at IS NOT NEW.next_due_at
BEGIN
    INSERT INTO lead_stat_changes (lead_id) VALUES (NEW.id);
    INSERT INTO lead_due_marks (day)
        SELECT date(NEW.next_due_at, '+8 hours') WHERE NEW.next_due_at IS NOT NULL;
    INSERT INTO lead_due_marks (day)
        SELECT date(OLD.next_due_at, '+8 hours')
        WHERE OLD.next_due_at IS NOT NULL AND OLD.next_due_at IS NOT NEW.next_due_at;
END;

CREATE TRIGGER lead_deadlines_stat_update AFTER UPDATE ON lead_deadlines
    WHEN NEW.stage IN ('acknowledge', 'verify')
     AND (OLD.met_at IS NOT NEW.met_at OR OLD.due_at IS NOT NEW.due_at)
BEGIN
    INSERT INTO lead_stat_changes (lead_id) VALUES (NEW.lead_id);
END;

CREATE TRIGGER lead_evaluations_stat_insert AFTER INSERT ON lead_evaluations
BEGIN
    INSERT INTO lead_stat_changes (lead_id) VALUES (NEW.lead_id);
END;
CREATE TRIGGER lead_evaluations_stat_update AFTER UPDATE ON lead_evaluations
BEGIN
    INSERT INTO lead_stat_changes (lead_id) VALUES (NEW.lead_id);
END;
CREATE TRIGGER lead_evaluations_stat_delete AFTER DELETE ON lead_evaluations
BEGIN
    INSERT INTO lead_stat_changes (lead_id) VALUES (OLD.lead_id);
END;

DELETE FROM lead_stat_days;
DELETE FROM lead_stat_hours;
INSERT INTO lead_stat_changes (lead_id) SELECT id FROM leads ORDER BY raised_at, id;
