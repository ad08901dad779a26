-- 年度检查计划: each lead department's plan of joint inspections for a year, approved by
-- the coordination office and published unless exempt; tasks carried out under it.
CREATE TABLE inspection_plans (
    id TEXT PRIMARY KEY,
    year INTEGER NOT NULL,
    lead_department TEXT NOT NULL REFERENCES departments (code),
    joint_departments TEXT NOT NULL DEFAULT '',
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    target_count INTEGER NOT NULL,
    scope TEXT NOT NULL,
    content TEXT NOT NULL,
    exempt_from_publication INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    approved_by TEXT REFERENCES users (id),
    approved_at TIMESTAMP,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX inspection_plans_year_idx ON inspection_plans (year, lead_department);
ALTER TABLE inspections ADD COLUMN plan_id TEXT REFERENCES inspection_plans (id);
CREATE INDEX inspections_plan_idx ON inspections (plan_id);
