-- 指派: the officer of the primary department a head gave the lead to (我的待办).
ALTER TABLE leads ADD COLUMN assignee_id TEXT REFERENCES users (id);
ALTER TABLE leads ADD COLUMN assigned_at TIMESTAMP;
CREATE INDEX leads_assignee_idx ON leads (assignee_id, next_due_at, id);
