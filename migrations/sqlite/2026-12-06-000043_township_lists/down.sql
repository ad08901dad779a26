DROP INDEX leads_township_closed_idx;
DROP INDEX leads_township_due_idx;
CREATE INDEX leads_township_idx ON leads (township, raised_at, id);
