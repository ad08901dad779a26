-- Open closure tasks by department and month of their deadline, kept in the transaction of
-- each change: the board's overdue count per department sums the months before this one and
-- counts only this month's days, instead of grouping every open task past its deadline.
CREATE TABLE closure_due_tallies (
    department TEXT NOT NULL,
    month TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (department, month)
);
INSERT INTO closure_due_tallies (department, month, n)
SELECT department, substr(due_on, 1, 7), COUNT(*)
FROM closure_tasks WHERE state = 'open'
GROUP BY 1, 2;
