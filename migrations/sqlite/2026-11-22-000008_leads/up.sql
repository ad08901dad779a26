-- Problem leads (问题线索): 街镇吹哨、部门报到. Nothing here is ever deleted; every step is
-- an event on the lead's timeline.
CREATE TABLE lead_counters (
    year INTEGER PRIMARY KEY NOT NULL,
    last_number INTEGER NOT NULL
);

CREATE TABLE leads (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL REFERENCES lead_categories(code),
    urgency TEXT NOT NULL,
    source TEXT NOT NULL,
    mine_id TEXT REFERENCES mines(id),
    lon REAL,
    lat REAL,
    township TEXT REFERENCES townships(code),
    state TEXT NOT NULL,
    primary_department TEXT NOT NULL REFERENCES departments(code),
    assisting_departments TEXT NOT NULL,
    routing_reason TEXT NOT NULL,
    substantiated INTEGER,
    raised_by TEXT REFERENCES users(id),
    raised_by_name TEXT NOT NULL,
    raised_unit TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    -- The earliest deadline not yet met (null once closed): the queue's order.
    next_due_at TIMESTAMP,
    overdue INTEGER NOT NULL DEFAULT 0,
    -- pending | disputed while a transfer (转办) is open.
    transfer_state TEXT,
    -- Set when the lead is put to a consultation (提请会商).
    consultation_requested_at TIMESTAMP,
    reopened INTEGER NOT NULL DEFAULT 0,
    -- A duplicate merged into another lead: closed here, followed there.
    merged_into TEXT REFERENCES leads(id),
    closed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX leads_number_key ON leads (number);
CREATE INDEX leads_state_due_idx ON leads (state, next_due_at, id);
CREATE INDEX leads_primary_due_idx ON leads (primary_department, next_due_at, id);
CREATE INDEX leads_township_idx ON leads (township, raised_at, id);
CREATE INDEX leads_raised_by_idx ON leads (raised_by, raised_at, id);
CREATE INDEX leads_mine_idx ON leads (mine_id, state);
CREATE INDEX leads_category_idx ON leads (category, state);
CREATE INDEX leads_category_place_idx ON leads (category, lat, lon);
CREATE INDEX leads_raised_idx ON leads (raised_at, id);
CREATE INDEX leads_overdue_idx ON leads (overdue, next_due_at, id);
CREATE INDEX leads_due_idx ON leads (next_due_at, id);
CREATE INDEX leads_transfer_idx ON leads (transfer_state, next_due_at, id);

-- Every department on a lead, primary or assisting: what a department's queue reads.
CREATE TABLE lead_departments (
    lead_id TEXT NOT NULL REFERENCES leads(id),
    department TEXT NOT NULL REFERENCES departments(code),
    role TEXT NOT NULL,
    -- Copies of the lead's ordering keys, so a department's queue is one index range.
    next_due_at TIMESTAMP,
    raised_at TIMESTAMP NOT NULL,
    PRIMARY KEY (lead_id, department)
);
CREATE INDEX lead_departments_queue_idx ON lead_departments (department, next_due_at, lead_id);
CREATE INDEX lead_departments_raised_idx ON lead_departments (department, raised_at, lead_id);

-- The time limit of each stage, and when it was met.
CREATE TABLE lead_deadlines (
    lead_id TEXT NOT NULL REFERENCES leads(id),
    stage TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    met_at TIMESTAMP,
    escalated_at TIMESTAMP,
    reminded_at TIMESTAMP,
    PRIMARY KEY (lead_id, stage)
);
CREATE INDEX lead_deadlines_escalate_idx ON lead_deadlines (met_at, escalated_at, due_at);
CREATE INDEX lead_deadlines_remind_idx ON lead_deadlines (met_at, reminded_at, due_at);

-- The timeline: raised, routed, acknowledged, verified, comments … with actor, time, note.
CREATE TABLE lead_events (
    id TEXT PRIMARY KEY NOT NULL,
    lead_id TEXT NOT NULL REFERENCES leads(id),
    occurred_at TIMESTAMP NOT NULL,
    actor_id TEXT REFERENCES users(id),
    actor_name TEXT NOT NULL,
    actor_unit TEXT NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    data_json TEXT NOT NULL
);
CREATE INDEX lead_events_lead_idx ON lead_events (lead_id, occurred_at, id);

-- 转办: a transfer from one department to another, answered by the receiver; a disputed one
-- is decided by the coordination office.
CREATE TABLE lead_transfers (
    id TEXT PRIMARY KEY NOT NULL,
    lead_id TEXT NOT NULL REFERENCES leads(id),
    from_department TEXT NOT NULL REFERENCES departments(code),
    to_department TEXT NOT NULL REFERENCES departments(code),
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT REFERENCES users(id),
    requested_at TIMESTAMP NOT NULL,
    answer_note TEXT NOT NULL,
    answered_by TEXT REFERENCES users(id),
    answered_at TIMESTAMP,
    decided_department TEXT REFERENCES departments(code),
    decided_by TEXT REFERENCES users(id),
    decided_at TIMESTAMP
);
CREATE INDEX lead_transfers_lead_idx ON lead_transfers (lead_id, requested_at);
CREATE INDEX lead_transfers_status_idx ON lead_transfers (status, requested_at);

-- The raising township's verdict on each department's response once a lead is closed.
CREATE TABLE lead_evaluations (
    lead_id TEXT NOT NULL REFERENCES leads(id),
    department TEXT NOT NULL REFERENCES departments(code),
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL,
    evaluated_by TEXT REFERENCES users(id),
    evaluated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (lead_id, department)
);
CREATE INDEX lead_evaluations_department_idx ON lead_evaluations (department, evaluated_at);

-- People who follow a lead besides its parties: the raisers of duplicates merged into it.
CREATE TABLE lead_followers (
    lead_id TEXT NOT NULL REFERENCES leads(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (lead_id, user_id)
);

-- Photos and documents on a lead (现场照片、核查证据), kept in the database so that one
-- backup holds everything.
CREATE TABLE lead_attachments (
    id TEXT PRIMARY KEY NOT NULL,
    lead_id TEXT NOT NULL REFERENCES leads(id),
    event_id TEXT REFERENCES lead_events(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    uploaded_by TEXT REFERENCES users(id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_attachments_lead_idx ON lead_attachments (lead_id, uploaded_at);
