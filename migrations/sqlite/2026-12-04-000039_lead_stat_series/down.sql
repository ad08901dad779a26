DROP INDEX lead_stat_days_series_idx;
