-- PostgreSQL keeps timestamps at microseconds already; the SQLite twin of this
-- migration cuts older nanosecond times to microseconds.
SELECT 1;
