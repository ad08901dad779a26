ALTER TABLE consultation_requests DROP COLUMN declined_at;
ALTER TABLE consultation_requests DROP COLUMN declined_by;
ALTER TABLE consultation_requests DROP COLUMN decline_reason;
