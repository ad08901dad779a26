-- Lead statistics from kept figures (issue 17): a period reads a few rows per day and one
-- histogram per month instead of grouping every lead of the period.
--
-- Every change that can move a figure appends a mark naming the Beijing day it touches (the
-- day the lead was raised, and the days it was closed): triggers, so no write path can
-- forget it, and an insert, so writers share no row. The rollup job (one at a time, holding
-- lead_stat_rollup's row) takes the marks and counts those days again from the leads;
-- until it has, a statistics request counts the marked days itself, so figures are never
-- behind.
CREATE TABLE lead_stat_marks (
    id BIGSERIAL PRIMARY KEY,
    day TEXT NOT NULL
);
CREATE INDEX lead_stat_marks_day_idx ON lead_stat_marks (day);

-- Per Beijing day: metric (received, acknowledged, acknowledged_on_time, verified_on_time,
-- closed, evaluated, satisfied: by department; whistles: by township; raised, closed_on:
-- unit '') and its count.
CREATE TABLE lead_stat_days (
    day TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, metric, unit)
);

-- Hours to report in and to close, bucketed, per day (YYYY-MM-DD) and per whole month
-- (YYYY-MM): one line per department and kind, "bucket:count" pairs.
CREATE TABLE lead_stat_hours (
    period TEXT PRIMARY KEY NOT NULL,
    buckets TEXT NOT NULL
);

-- "Overdue now" without reading every open lead: open leads per primary department and
-- Beijing day of their next deadline, kept like the rest. A change of a lead's deadline,
-- state or department marks the deadline days it leaves and enters.
CREATE TABLE lead_due_marks (
    id BIGSERIAL PRIMARY KEY,
    day TEXT NOT NULL
);
CREATE INDEX lead_due_marks_day_idx ON lead_due_marks (day);
CREATE TABLE lead_due_days (
    day TEXT NOT NULL,
    unit TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, unit)
);

-- The rollup's row: held for the length of a round, so one instance rolls up at a time.
CREATE TABLE lead_stat_rollup (
    id INTEGER PRIMARY KEY NOT NULL,
    rolled_at TIMESTAMP
);
INSERT INTO lead_stat_rollup (id, rolled_at) VALUES (1, NULL);

CREATE FUNCTION lead_stat_day(t TIMESTAMP) RETURNS TEXT
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_char(t + interval '8 hours', 'YYYY-MM-DD') $$;

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

-- A deadline's time or its meeting moves the report-in figures of the lead's day (the
-- deadlines are written with the lead, whose insert marks the day).
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

-- The leads recorded so far: every day they were raised or closed, and every deadline day
-- of an open lead, is counted by the rollup.
INSERT INTO lead_due_marks (day)
SELECT DISTINCT lead_stat_day(next_due_at) FROM leads WHERE next_due_at IS NOT NULL;
INSERT INTO lead_stat_marks (day)
SELECT DISTINCT lead_stat_day(raised_at) FROM leads
UNION
SELECT DISTINCT lead_stat_day(closed_at) FROM leads WHERE closed_at IS NOT NULL;
