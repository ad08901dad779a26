-- Foundation: reference data, accounts, the audit chain.
-- Portable types only (see STACK.md): ids and codes as TEXT, booleans as INTEGER 0/1,
-- times as UTC TIMESTAMP. Keep this file and its PostgreSQL twin in step.

CREATE TABLE system_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    duties TEXT NOT NULL DEFAULT '',
    is_coordination_office INTEGER NOT NULL DEFAULT 0,
    email TEXT,
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE townships (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE lead_categories (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    primary_department TEXT NOT NULL REFERENCES departments(code),
    assisting_departments TEXT NOT NULL DEFAULT '',
    basis TEXT NOT NULL DEFAULT '',
    mining_related INTEGER NOT NULL DEFAULT 0,
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_categories_primary_department_idx ON lead_categories (primary_department);

CREATE TABLE permit_types (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    issuing_department TEXT NOT NULL REFERENCES departments(code),
    expiry_warning_days INTEGER NOT NULL DEFAULT 60,
    notes TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX permit_types_issuing_department_idx ON permit_types (issuing_department);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL,
    department TEXT REFERENCES departments(code),
    township TEXT REFERENCES townships(code),
    mine_id TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    token_version INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    last_login_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_department_idx ON users (department);
CREATE INDEX users_township_idx ON users (township);
CREATE INDEX users_mine_id_idx ON users (mine_id);
CREATE INDEX users_role_idx ON users (role, username);
CREATE INDEX users_email_idx ON users (email);

-- Append-only, hash-chained record of every change (检查全过程记录、可追溯).
-- seq is assigned from audit_head inside the writing transaction, so it has no gaps:
-- a missing number means a removed entry.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
