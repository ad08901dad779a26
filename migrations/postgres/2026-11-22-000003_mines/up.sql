-- The mine register (矿山台账): every mine in every status, with its daily safety
-- supervisor and risk grade (严防漏管失控), and the history of every change to them.
CREATE TABLE mines (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    enterprise_name TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    township TEXT NOT NULL REFERENCES townships(code),
    mine_type TEXT NOT NULL,
    mineral TEXT NOT NULL,
    mining_method TEXT NOT NULL,
    status TEXT NOT NULL,
    supervisor_department TEXT REFERENCES departments(code),
    risk_grade TEXT,
    last_inspected_on DATE,
    address TEXT NOT NULL DEFAULT '',
    contact_name TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    licence_number TEXT NOT NULL DEFAULT '',
    tailings_capacity_10k_m3 DOUBLE PRECISION,
    tailings_dam_height_m DOUBLE PRECISION,
    tailings_grade INTEGER,
    tailings_safety TEXT,
    tailings_evaluated_on DATE,
    tailings_overhead INTEGER NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX mines_name_idx ON mines (name, id);
CREATE INDEX mines_township_idx ON mines (township, name, id);
CREATE INDEX mines_type_idx ON mines (mine_type, name, id);
CREATE INDEX mines_status_idx ON mines (status, name, id);
CREATE INDEX mines_risk_grade_idx ON mines (risk_grade, name, id);
CREATE INDEX mines_supervisor_idx ON mines (supervisor_department, name, id);
CREATE INDEX mines_credit_code_idx ON mines (credit_code);
CREATE INDEX mines_tailings_idx ON mines (tailings_grade, tailings_safety);
CREATE INDEX mines_updated_idx ON mines (updated_at, id);

-- Status, grade and supervisor changes with who, when, why and on what assessment.
CREATE TABLE mine_changes (
    id TEXT PRIMARY KEY NOT NULL,
    mine_id TEXT NOT NULL REFERENCES mines(id),
    kind TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    reason TEXT NOT NULL,
    assessment TEXT NOT NULL DEFAULT '',
    assessed_on DATE,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX mine_changes_mine_idx ON mine_changes (mine_id, occurred_at);
CREATE INDEX mine_changes_kind_idx ON mine_changes (kind, occurred_at);
