ALTER TABLE inbound_messages DROP COLUMN reply_lead_id;
ALTER TABLE inbound_messages DROP COLUMN origin;
