DROP INDEX decisions_entered_at_idx;
DROP INDEX decisions_closed_at_idx;
DROP INDEX decisions_live_entered_idx;
DROP TABLE monthly_report_reminders;
DROP TABLE monthly_report_items;
DROP TABLE monthly_reports;
