-- 月度报送 (seed 001): each responsible unit files last month's progress on its open
-- decisions by the 6th, drafted by its officer and signed off by its head (or filed with
-- an explanation when the head cannot sign in time). Reminders are sent once per unit,
-- month and reminder day.
CREATE TABLE monthly_reports (
    id TEXT PRIMARY KEY NOT NULL,
    month TEXT NOT NULL,
    unit TEXT NOT NULL REFERENCES departments (code),
    state TEXT NOT NULL,
    drafted_by TEXT REFERENCES users (id),
    drafted_at TIMESTAMP NOT NULL,
    approved_by TEXT REFERENCES users (id),
    approved_at TIMESTAMP,
    explanation TEXT NOT NULL DEFAULT '',
    filed_at TIMESTAMP,
    late INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (month, unit)
);

CREATE TABLE monthly_report_items (
    report_id TEXT NOT NULL REFERENCES monthly_reports (id),
    decision_id TEXT NOT NULL REFERENCES decisions (id),
    body TEXT NOT NULL,
    percent INTEGER NOT NULL,
    PRIMARY KEY (report_id, decision_id)
);
CREATE INDEX monthly_report_items_decision_idx ON monthly_report_items (decision_id);

CREATE TABLE monthly_report_reminders (
    month TEXT NOT NULL,
    unit TEXT NOT NULL,
    day INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (month, unit, day)
);

-- Which decisions a unit owes a month's report on: the live ones entered before the month
-- ended, and those closed since it began (two index ranges, whatever the ledger's size).
CREATE INDEX decisions_live_entered_idx ON decisions (state, entered_at, responsible_unit);
CREATE INDEX decisions_closed_at_idx ON decisions (state, closed_at, entered_at, responsible_unit);
-- What entered the ledger in a month (the leadership's summary).
CREATE INDEX decisions_entered_at_idx ON decisions (entered_at);
