-- 我吹的哨: a township user's open leads by deadline, read as one index range instead of
-- sorting every lead the user ever raised (p99 400 ms on PostgreSQL for 50 000 leads).
CREATE INDEX leads_raised_by_due_idx ON leads (raised_by, next_due_at, id);
