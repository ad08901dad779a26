-- The raised and closed series of a period read two metrics of every day in it; by the
-- primary key (day, metric, unit) that read every metric of every day (a year: some
-- 20 000 rows for 730, 3 ms of each year's statistics). By metric first, it reads its own.
CREATE INDEX lead_stat_days_series_idx ON lead_stat_days (metric, day);
