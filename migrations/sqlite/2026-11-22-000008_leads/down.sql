DROP TABLE lead_followers;
DROP TABLE lead_evaluations;
DROP TABLE lead_transfers;
DROP TABLE lead_events;
DROP TABLE lead_deadlines;
DROP TABLE lead_departments;
DROP TABLE leads;
DROP TABLE lead_counters;
