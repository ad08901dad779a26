-- 综合查一次 (seed 002): the item catalogue, inspection tasks with their departments,
-- inspectors and items, each department's results, and the hazards found.
ALTER TABLE users ADD COLUMN certificate_number TEXT NOT NULL DEFAULT '';

CREATE TABLE inspection_items (
    code TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES departments (code),
    name TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    joinable INTEGER NOT NULL DEFAULT 1,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX inspection_items_department_idx ON inspection_items (department, code);

CREATE TABLE inspection_counters (
    kind TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (kind, year)
);

CREATE TABLE inspections (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL UNIQUE,
    mine_id TEXT NOT NULL REFERENCES mines (id),
    lead_department TEXT NOT NULL REFERENCES departments (code),
    state TEXT NOT NULL,
    window_from DATE NOT NULL,
    window_to DATE NOT NULL,
    basis TEXT NOT NULL,
    basis_ref TEXT NOT NULL DEFAULT '',
    lead_id TEXT REFERENCES leads (id),
    override_kind TEXT,
    override_reason TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    archived_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    cancel_reason TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX inspections_mine_idx ON inspections (mine_id, window_from, id);
CREATE INDEX inspections_state_idx ON inspections (state, window_from, id);
CREATE INDEX inspections_lead_idx ON inspections (lead_id);

CREATE TABLE inspection_departments (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    department TEXT NOT NULL REFERENCES departments (code),
    role TEXT NOT NULL,
    recorded_at TIMESTAMP,
    PRIMARY KEY (inspection_id, department)
);
CREATE INDEX inspection_departments_department_idx ON inspection_departments (department, inspection_id);

CREATE TABLE inspection_inspectors (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    department TEXT NOT NULL,
    name TEXT NOT NULL,
    certificate_number TEXT NOT NULL,
    PRIMARY KEY (inspection_id, user_id)
);

CREATE TABLE inspection_task_items (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_code TEXT NOT NULL REFERENCES inspection_items (code),
    department TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_code)
);

CREATE TABLE inspection_results (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_code TEXT NOT NULL,
    department TEXT NOT NULL,
    mine_id TEXT NOT NULL REFERENCES mines (id),
    outcome TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    recognised_from TEXT REFERENCES inspections (id),
    recorded_by TEXT REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (inspection_id, item_code)
);
-- The latest result of an item on a mine (结果互认).
CREATE INDEX inspection_results_mine_item_idx ON inspection_results (mine_id, item_code, recorded_at);

CREATE TABLE hazards (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    mine_id TEXT NOT NULL REFERENCES mines (id),
    item_code TEXT NOT NULL,
    grade TEXT NOT NULL,
    standard_item TEXT,
    description TEXT NOT NULL,
    rectify_by DATE NOT NULL,
    responsible_department TEXT NOT NULL REFERENCES departments (code),
    state TEXT NOT NULL,
    escalated_at TIMESTAMP,
    reinspected_at TIMESTAMP,
    reinspection_note TEXT NOT NULL DEFAULT '',
    closed_at TIMESTAMP,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX hazards_department_idx ON hazards (responsible_department, state, rectify_by, id);
CREATE INDEX hazards_mine_idx ON hazards (mine_id, created_at);
CREATE INDEX hazards_due_idx ON hazards (state, rectify_by);
CREATE INDEX hazards_inspection_idx ON hazards (inspection_id);
