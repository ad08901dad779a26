-- The statistics marks are queues: every change adds a row and the rollup deletes it
-- seconds later. Left to the default (a fifth of the table dead), a bulk load's millions
-- of deleted marks stayed until autovacuum came round, and every statistics request read
-- them (480 ms to find the 3 days still marked among 3.8 million dead rows; 0.7 ms once
-- vacuumed). Vacuum and analyze them after every 10 000 changes instead.
ALTER TABLE lead_stat_marks SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
    autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000
);
ALTER TABLE lead_due_marks SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
    autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000
);
