-- 不予会商: the office declines a request with its reason, on the record.
ALTER TABLE consultation_requests ADD COLUMN decline_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE consultation_requests ADD COLUMN declined_by TEXT REFERENCES users (id);
ALTER TABLE consultation_requests ADD COLUMN declined_at TIMESTAMP;
