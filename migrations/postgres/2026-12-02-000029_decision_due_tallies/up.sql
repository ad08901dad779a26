-- Live decisions (open or awaiting review) by unit and month of their deadline, kept in
-- the transaction of each change: the boards' overdue count sums the months before this
-- one and counts only this month's days, instead of every live decision past its
-- deadline (5 000 rows at province scale).
CREATE TABLE decision_due_tallies (
    unit TEXT NOT NULL,
    month TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month)
);
INSERT INTO decision_due_tallies (unit, month, n)
SELECT responsible_unit, to_char(due_on, 'YYYY-MM'), COUNT(*)
FROM decisions WHERE state IN ('open', 'reported')
GROUP BY 1, 2;
