DROP TABLE hazards;
DROP TABLE inspection_results;
DROP TABLE inspection_task_items;
DROP TABLE inspection_inspectors;
DROP TABLE inspection_departments;
DROP TABLE inspections;
DROP TABLE inspection_counters;
DROP TABLE inspection_items;
ALTER TABLE users DROP COLUMN certificate_number;
