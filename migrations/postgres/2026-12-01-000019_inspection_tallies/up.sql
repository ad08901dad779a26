-- The targets' figures answer at once: each (month of the visit, department) keeps its
-- counts, written in the transaction of every change (store::tally); department '' is the
-- district, where a task, a rating and a hazard count once. Filled here from the records.
CREATE TABLE inspection_tallies (
    month TEXT NOT NULL,
    department TEXT NOT NULL,
    tasks BIGINT NOT NULL DEFAULT 0,
    joint_tasks BIGINT NOT NULL DEFAULT 0,
    ratings BIGINT NOT NULL DEFAULT 0,
    satisfied BIGINT NOT NULL DEFAULT 0,
    hazards BIGINT NOT NULL DEFAULT 0,
    hazards_closed BIGINT NOT NULL DEFAULT 0,
    overrides BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, department)
);

INSERT INTO inspection_tallies (month, department, tasks, joint_tasks, ratings, satisfied, hazards, hazards_closed, overrides)
SELECT month, department, SUM(tasks), SUM(joint_tasks), SUM(ratings), SUM(satisfied), SUM(hazards), SUM(hazards_closed), SUM(overrides)
FROM (
    SELECT to_char(i.window_from, 'YYYY-MM') AS month, u.department AS department, 1 AS tasks,
        CASE WHEN EXISTS (SELECT 1 FROM inspection_departments j WHERE j.inspection_id = i.id AND j.role = 'joint') THEN 1 ELSE 0 END AS joint_tasks,
        0 AS ratings, 0 AS satisfied, 0 AS hazards, 0 AS hazards_closed,
        CASE WHEN i.override_kind IS NOT NULL AND u.department IN (i.lead_department, '') THEN 1 ELSE 0 END AS overrides
    FROM inspections i
    JOIN (SELECT inspection_id, department FROM inspection_departments
          UNION ALL SELECT id, '' FROM inspections) u ON u.inspection_id = i.id
    WHERE i.state <> 'cancelled'
    UNION ALL
    SELECT to_char(i.window_from, 'YYYY-MM'), u.department, 0, 0, 1,
        CASE WHEN r.verdict IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END, 0, 0, 0
    FROM inspection_ratings r
    JOIN inspections i ON i.id = r.inspection_id
    JOIN (SELECT inspection_id, department FROM inspection_departments
          UNION ALL SELECT id, '' FROM inspections) u ON u.inspection_id = i.id
    UNION ALL
    SELECT to_char(i.window_from, 'YYYY-MM'), u.department, 0, 0, 0, 0, 1, CASE WHEN h.state = 'closed' THEN 1 ELSE 0 END, 0
    FROM hazards h
    JOIN inspections i ON i.id = h.inspection_id
    JOIN (SELECT id, responsible_department AS department FROM hazards
          UNION ALL SELECT id, '' FROM hazards) u ON u.id = h.id
) t
GROUP BY month, department;

-- Overdue hazards depend on the day: counted from the open hazards of the period's visits.
ALTER TABLE hazards ADD COLUMN visit_on DATE NOT NULL DEFAULT '1970-01-01';
UPDATE hazards SET visit_on = (SELECT i.window_from FROM inspections i WHERE i.id = hazards.inspection_id);
CREATE INDEX hazards_visit_idx ON hazards (visit_on, state);

-- The open-hazard queues read only open hazards, soonest due first: an index of those alone
-- (the queries name the same condition, `state <> 'closed'`, as a literal).
CREATE INDEX hazards_open_idx ON hazards (responsible_department, rectify_by, id) WHERE state <> 'closed';
CREATE INDEX hazards_open_all_idx ON hazards (rectify_by, id) WHERE state <> 'closed';
