DELETE FROM lead_stat_days WHERE length(day) = 7;
