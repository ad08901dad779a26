-- 会议纪要 and 议定事项: the minutes the coordination office records after a meeting (a
-- draft until the office's head approves them; then published and never changed, with
-- corrections appended as 补充纪要), and the decisions they carry into the office's
-- ledger (督办台账): progress reports (对账), the office's review of each (查账), the
-- accepted completion (销账), deadline extensions with their reasons, evidence files.
CREATE TABLE consultation_minutes (
    consultation_id TEXT PRIMARY KEY NOT NULL REFERENCES consultations (id),
    attendees TEXT NOT NULL,
    discussion TEXT NOT NULL,
    agenda_notes TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    drafted_by TEXT REFERENCES users (id),
    drafted_at TIMESTAMP NOT NULL,
    approved_by TEXT REFERENCES users (id),
    approved_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX consultation_minutes_state_idx ON consultation_minutes (state, drafted_at);

CREATE TABLE minutes_supplements (
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    position INTEGER NOT NULL,
    body TEXT NOT NULL,
    written_by TEXT REFERENCES users (id),
    written_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consultation_id, position)
);

CREATE TABLE decisions (
    id TEXT PRIMARY KEY NOT NULL,
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    position INTEGER NOT NULL,
    number TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    responsible_unit TEXT NOT NULL REFERENCES departments (code),
    cooperating_units TEXT NOT NULL DEFAULT '',
    mine_id TEXT REFERENCES mines (id),
    due_on DATE NOT NULL,
    state TEXT NOT NULL,
    percent INTEGER NOT NULL DEFAULT 0,
    opened_type TEXT,
    opened_id TEXT,
    entered_at TIMESTAMP,
    closed_at TIMESTAMP,
    escalated_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX decisions_meeting_idx ON decisions (consultation_id, position);
CREATE INDEX decisions_unit_idx ON decisions (responsible_unit, state, due_on, id);
CREATE INDEX decisions_state_idx ON decisions (state, due_on, id);
CREATE INDEX decisions_opened_idx ON decisions (opened_type, opened_id);

-- How many decisions each unit has in each state of the ledger, kept in the transaction
-- of every change of state: the boards read a few rows, not the whole ledger.
CREATE TABLE decision_tallies (
    unit TEXT NOT NULL,
    state TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (unit, state)
);

CREATE TABLE decision_reports (
    id TEXT PRIMARY KEY NOT NULL,
    decision_id TEXT NOT NULL REFERENCES decisions (id),
    body TEXT NOT NULL,
    percent INTEGER NOT NULL,
    done INTEGER NOT NULL,
    reported_by TEXT REFERENCES users (id),
    reported_at TIMESTAMP NOT NULL,
    review TEXT NOT NULL,
    review_reason TEXT NOT NULL DEFAULT '',
    reviewed_by TEXT REFERENCES users (id),
    reviewed_at TIMESTAMP
);
CREATE INDEX decision_reports_decision_idx ON decision_reports (decision_id, reported_at);
CREATE INDEX decision_reports_review_idx ON decision_reports (review, reported_at);

CREATE TABLE decision_extensions (
    decision_id TEXT NOT NULL REFERENCES decisions (id),
    position INTEGER NOT NULL,
    from_on DATE NOT NULL,
    to_on DATE NOT NULL,
    reason TEXT NOT NULL,
    extended_by TEXT REFERENCES users (id),
    extended_at TIMESTAMP NOT NULL,
    PRIMARY KEY (decision_id, position)
);

CREATE TABLE decision_files (
    id TEXT PRIMARY KEY NOT NULL,
    decision_id TEXT NOT NULL REFERENCES decisions (id),
    report_id TEXT NOT NULL REFERENCES decision_reports (id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    uploaded_by TEXT REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX decision_files_decision_idx ON decision_files (decision_id, uploaded_at);

-- A decision's joint inspections are the tasks with basis 会商 and its number as the
-- reference: found by that reference.
CREATE INDEX inspections_basis_ref_idx ON inspections (basis_ref, basis);
