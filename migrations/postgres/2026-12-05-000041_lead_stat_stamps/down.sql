DROP TABLE lead_stat_stamps;
