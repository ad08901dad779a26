-- A township's lists (`?township=`, a township user's own view, the map of its area) read
-- the township's open leads by deadline, or its closed ones newest first, as one index
-- range each. The one index by township and time of raising served neither order for open
-- leads, so both databases walked the district's whole open list by deadline and tested
-- each lead's township: at 2 000 000 leads, 0.4–1 s for a township with no open lead, and
-- 3.4 s for its closed leads. Each lead is in exactly one of the two indexes, as it was in
-- the one before, so a raise writes no more.
DROP INDEX leads_township_idx;
CREATE INDEX leads_township_due_idx ON leads (township, next_due_at, id)
    WHERE next_due_at IS NOT NULL;
CREATE INDEX leads_township_closed_idx ON leads (township, raised_at, id)
    WHERE next_due_at IS NULL;
