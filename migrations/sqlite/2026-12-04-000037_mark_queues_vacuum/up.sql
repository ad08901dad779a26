-- PostgreSQL only (autovacuum settings of the statistics marks); SQLite reuses deleted
-- rows' pages as it goes. Kept so both backends number their migrations alike.
SELECT 1;
