DROP INDEX hazards_open_all_idx;
DROP INDEX hazards_open_idx;
DROP INDEX hazards_visit_idx;
ALTER TABLE hazards DROP COLUMN visit_on;
DROP TABLE inspection_tallies;
