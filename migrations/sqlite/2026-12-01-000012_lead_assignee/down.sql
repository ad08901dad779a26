DROP INDEX leads_assignee_idx;
ALTER TABLE leads DROP COLUMN assigned_at;
ALTER TABLE leads DROP COLUMN assignee_id;
