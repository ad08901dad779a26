-- 关闭退出 (issue 16): the checklist templates (reference data, seeded from
-- config/reference.toml and kept by admins), closure cases with their tasks, files and
-- acceptances, and the watch on closed mines with its patrols.

CREATE TABLE closure_task_templates (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- The owning department's code, or OWNER: the department that owns the case.
    department TEXT NOT NULL,
    -- The case kinds the task belongs to, comma-separated.
    kinds TEXT NOT NULL,
    -- Days from the decision to the task's deadline.
    due_days INTEGER NOT NULL,
    -- The permit whose cancellation the task is (completing it cancels the permit).
    permit_type TEXT,
    -- Who is told besides the owning department (供电单位、民爆物品供应单位 …).
    notified TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL,
    active INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The last case number of each year (GB-2026-001).
CREATE TABLE closure_counters (
    year INTEGER PRIMARY KEY NOT NULL,
    last_number INTEGER NOT NULL
);

CREATE TABLE closure_cases (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL UNIQUE,
    mine_id TEXT NOT NULL REFERENCES mines (id),
    kind TEXT NOT NULL,
    owner_department TEXT NOT NULL REFERENCES departments (code),
    decision_number TEXT NOT NULL,
    decided_on DATE NOT NULL,
    issuing_body TEXT NOT NULL,
    basis TEXT NOT NULL,
    basis_ref TEXT NOT NULL DEFAULT '',
    target_on DATE NOT NULL,
    state TEXT NOT NULL,
    -- The mine's status before the case moved it to closing.
    status_before TEXT NOT NULL,
    -- Tailings pond closure (闭库销号): the planned stop, the design's deadline (about 12
    -- months before it), and the one extension of up to six months.
    stop_on DATE,
    design_due_on DATE,
    extended_months INTEGER NOT NULL DEFAULT 0,
    extension_reason TEXT NOT NULL DEFAULT '',
    extended_by TEXT REFERENCES users (id),
    extended_at TIMESTAMP,
    accepted_on DATE,
    reminded_at TIMESTAMP,
    escalated_at TIMESTAMP,
    opened_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
-- One live case per mine: the check in the use case says so in Chinese, this guards a race.
CREATE UNIQUE INDEX closure_cases_live_idx ON closure_cases (mine_id) WHERE state <> 'accepted';
CREATE INDEX closure_cases_state_idx ON closure_cases (state, target_on, id);
CREATE INDEX closure_cases_kind_idx ON closure_cases (kind, state, id);
CREATE INDEX closure_cases_owner_idx ON closure_cases (owner_department, state, id);
CREATE INDEX closure_cases_mine_idx ON closure_cases (mine_id, created_at);
CREATE INDEX closure_cases_basis_idx ON closure_cases (basis, basis_ref);

CREATE TABLE closure_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES closure_cases (id),
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    department TEXT NOT NULL REFERENCES departments (code),
    due_on DATE NOT NULL,
    state TEXT NOT NULL,
    permit_type TEXT,
    notified TEXT NOT NULL DEFAULT '',
    -- Why the office added it (empty for a task of the template).
    added_reason TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    done_by TEXT REFERENCES users (id),
    done_at TIMESTAMP,
    reminded_at TIMESTAMP,
    escalated_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX closure_tasks_case_idx ON closure_tasks (case_id, position);
CREATE INDEX closure_tasks_queue_idx ON closure_tasks (department, state, due_on, id);
CREATE INDEX closure_tasks_due_idx ON closure_tasks (state, due_on, department, id);

CREATE TABLE closure_files (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES closure_cases (id),
    -- The task it is evidence of; none for the decision document or the acceptance report.
    task_id TEXT REFERENCES closure_tasks (id),
    purpose TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    uploaded_by TEXT REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX closure_files_case_idx ON closure_files (case_id, uploaded_at);

CREATE TABLE closure_acceptances (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES closure_cases (id),
    accepted_on DATE NOT NULL,
    accepted INTEGER NOT NULL,
    conclusion TEXT NOT NULL,
    -- The tasks to redo when not accepted, comma-separated ids.
    redo TEXT NOT NULL DEFAULT '',
    recorded_by TEXT REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX closure_acceptances_case_idx ON closure_acceptances (case_id, recorded_at);

-- Each participating department confirms the acceptance (会签).
CREATE TABLE closure_acceptance_units (
    acceptance_id TEXT NOT NULL REFERENCES closure_acceptances (id),
    department TEXT NOT NULL REFERENCES departments (code),
    confirmed_by TEXT REFERENCES users (id),
    confirmed_at TIMESTAMP,
    PRIMARY KEY (acceptance_id, department)
);
CREATE INDEX closure_acceptance_units_open_idx ON closure_acceptance_units (department, confirmed_at);

-- The watch on a closed mine (or banned site): one row each, with its last patrol.
CREATE TABLE closure_watch (
    mine_id TEXT PRIMARY KEY NOT NULL REFERENCES mines (id),
    case_id TEXT NOT NULL REFERENCES closure_cases (id),
    closed_on DATE NOT NULL,
    last_patrol_on DATE,
    last_patrol_outcome TEXT
);
CREATE INDEX closure_watch_closed_idx ON closure_watch (closed_on, mine_id);
CREATE INDEX closure_watch_patrol_idx ON closure_watch (last_patrol_on, mine_id);

CREATE TABLE closure_patrols (
    id TEXT PRIMARY KEY NOT NULL,
    mine_id TEXT NOT NULL REFERENCES mines (id),
    outcome TEXT NOT NULL,
    note TEXT NOT NULL,
    patrolled_on DATE NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    photo_name TEXT,
    photo_type TEXT,
    photo BYTEA,
    lead_id TEXT,
    patrolled_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX closure_patrols_mine_idx ON closure_patrols (mine_id, created_at);

-- Cases by kind, owner and state, kept in the transaction of each change (the board);
-- for accepted cases `days` sums the days from decision to acceptance.
CREATE TABLE closure_tallies (
    kind TEXT NOT NULL,
    department TEXT NOT NULL,
    state TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    days BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, department, state)
);

-- The watch on illegal restart finds a new lead's point among closed mines' former
-- boundaries: the flag (kept by the register when a mine is closed) leads their box index.
ALTER TABLE mine_boundaries ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
UPDATE mine_boundaries SET closed = 1 WHERE mine_id IN (SELECT id FROM mines WHERE status = 'closed');
CREATE INDEX mine_boundaries_closed_idx ON mine_boundaries (closed, min_x, max_x, min_y, max_y);
