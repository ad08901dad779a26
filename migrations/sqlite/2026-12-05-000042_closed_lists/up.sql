-- The closed leads' lists (newest first) read an index of closed leads in their order.
-- SQLite's statistics give one average number of rows per value of `next_due_at`, blind to
-- the hundreds of thousands of closed leads that share NULL, so it searched the open
-- queues' indexes for `next_due_at IS NULL` and sorted every closed lead of the department:
-- 5.3 s at p50 for a department's first page of closed leads at 2 000 000 leads
-- (BENCHMARKS.md, fifth part). The queues' indexes now hold open leads only, and each
-- closed list has a partial index of its own, so the choice no longer rests on statistics.
DROP INDEX lead_departments_queue_idx;
CREATE INDEX lead_departments_queue_idx ON lead_departments (department, next_due_at, lead_id)
    WHERE next_due_at IS NOT NULL;
CREATE INDEX lead_departments_closed_idx ON lead_departments (department, raised_at, lead_id)
    WHERE next_due_at IS NULL;
DROP INDEX leads_due_idx;
-- The open leads by deadline carry their department and state, so that counting a day's
-- open leads per department ("overdue now", lead_due_days) reads the index alone.
CREATE INDEX leads_due_idx ON leads (next_due_at, id, primary_department, state)
    WHERE next_due_at IS NOT NULL;
CREATE INDEX leads_closed_raised_idx ON leads (raised_at, id) WHERE next_due_at IS NULL;
-- Every other index with `next_due_at` after a leading column (state, overdue, transfer
-- state, assignee, primary department, raiser) would otherwise be searched, or skip-scanned
-- where that column has few values, for `next_due_at IS NULL` in the same way.
DROP INDEX leads_state_due_idx;
CREATE INDEX leads_state_due_idx ON leads (state, next_due_at, id) WHERE next_due_at IS NOT NULL;
DROP INDEX leads_overdue_idx;
CREATE INDEX leads_overdue_idx ON leads (overdue, next_due_at, id) WHERE next_due_at IS NOT NULL;
DROP INDEX leads_transfer_idx;
CREATE INDEX leads_transfer_idx ON leads (transfer_state, next_due_at, id) WHERE next_due_at IS NOT NULL;
DROP INDEX leads_assignee_idx;
CREATE INDEX leads_assignee_idx ON leads (assignee_id, next_due_at, id) WHERE next_due_at IS NOT NULL;
DROP INDEX leads_primary_due_idx;
CREATE INDEX leads_primary_due_idx ON leads (primary_department, next_due_at, id) WHERE next_due_at IS NOT NULL;
DROP INDEX leads_raised_by_due_idx;
CREATE INDEX leads_raised_by_due_idx ON leads (raised_by, next_due_at, id) WHERE next_due_at IS NOT NULL;
