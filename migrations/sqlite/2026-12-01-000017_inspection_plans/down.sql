DROP INDEX inspections_plan_idx;
ALTER TABLE inspections DROP COLUMN plan_id;
DROP TABLE inspection_plans;
