-- Permits (证照): 谁审批、谁监管 — the issuing department records and supervises them.
-- Status is derived from the dates unless a department suspended, revoked or cancelled it.
CREATE TABLE permits (
    id TEXT PRIMARY KEY NOT NULL,
    mine_id TEXT NOT NULL REFERENCES mines(id),
    permit_type TEXT NOT NULL REFERENCES permit_types(code),
    issuing_department TEXT NOT NULL REFERENCES departments(code),
    number TEXT NOT NULL,
    holder TEXT NOT NULL,
    issued_on DATE NOT NULL,
    expires_on DATE,
    mineral TEXT NOT NULL DEFAULT '',
    scale_10k_t_per_year DOUBLE PRECISION,
    area_km2 DOUBLE PRECISION,
    elevation_top_m DOUBLE PRECISION,
    elevation_bottom_m DOUBLE PRECISION,
    notes TEXT NOT NULL DEFAULT '',
    status_override TEXT,
    override_reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX permits_type_number_key ON permits (permit_type, number);
CREATE INDEX permits_mine_idx ON permits (mine_id, permit_type);
CREATE INDEX permits_expires_idx ON permits (expires_on, id);
CREATE INDEX permits_type_expires_idx ON permits (permit_type, expires_on, id);
CREATE INDEX permits_department_idx ON permits (issuing_department, expires_on, id);
CREATE INDEX permits_number_idx ON permits (number);
