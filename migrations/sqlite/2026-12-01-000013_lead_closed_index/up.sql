-- Leads closed in a period (the weekly figures of the statistics).
CREATE INDEX leads_closed_idx ON leads (closed_at);
