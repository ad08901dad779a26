-- A stamp per period of the kept statistics (a day `YYYY-MM-DD` or a month `YYYY-MM`),
-- new whenever the rollup changes what the period holds: its counts, its histograms, or
-- (for a month) the raised and closed series of any of its days. Each process keeps the
-- periods it has read, decoded, under their stamps, so a request reads the stamps of its
-- periods and only the periods whose stamp it has not seen (after a rollup: today and
-- this month), not a year of rows and histograms. A stamp is random: two databases never
-- share one, and one period's stamp always stands for the same content.
CREATE TABLE lead_stat_stamps (
    period TEXT PRIMARY KEY NOT NULL,
    stamp TEXT NOT NULL
);
INSERT INTO lead_stat_stamps (period, stamp)
SELECT period, lower(hex(randomblob(16)))
FROM (
    SELECT day AS period FROM lead_stat_days
    UNION SELECT substr(day, 1, 7) FROM lead_stat_days
    UNION SELECT period FROM lead_stat_hours
) p;
