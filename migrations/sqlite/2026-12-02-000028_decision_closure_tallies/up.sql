-- Closed decisions by unit and month of closure (Beijing time), kept in the transaction
-- that closes each: the month's owed reports count "closed since the month began" from
-- these few rows instead of every decision closed since (4 600 rows at province scale,
-- the slowest statement of the boards under load).
CREATE TABLE decision_closure_tallies (
    unit TEXT NOT NULL,
    month TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month)
);
INSERT INTO decision_closure_tallies (unit, month, n)
SELECT responsible_unit, strftime('%Y-%m', closed_at, '+8 hours'), COUNT(*)
FROM decisions WHERE state = 'closed' AND closed_at IS NOT NULL
GROUP BY 1, 2;
