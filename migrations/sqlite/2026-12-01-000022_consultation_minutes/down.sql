DROP INDEX inspections_basis_ref_idx;
DROP TABLE decision_files;
DROP TABLE decision_extensions;
DROP TABLE decision_reports;
DROP TABLE decision_tallies;
DROP TABLE decisions;
DROP TABLE minutes_supplements;
DROP TABLE consultation_minutes;
