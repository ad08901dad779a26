-- A meeting invitation's email carries its iCalendar (RFC 5545, sent as text/calendar with
-- the METHOD it holds) beside the plain and HTML bodies.
ALTER TABLE outbox ADD COLUMN calendar TEXT;
