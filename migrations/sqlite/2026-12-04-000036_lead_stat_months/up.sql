-- Whole months of the kept lead statistics get their own count rows (day 'YYYY-MM'), so a
-- year reads 12 keys instead of every day's rows; the rollup keeps them from now on. The
-- raised and closed series stay per day.
INSERT INTO lead_stat_days (day, metric, unit, n)
SELECT substr(day, 1, 7), metric, unit, CAST(SUM(n) AS BIGINT)
FROM lead_stat_days
WHERE length(day) = 10 AND metric NOT IN ('raised', 'closed_on')
GROUP BY substr(day, 1, 7), metric, unit;
