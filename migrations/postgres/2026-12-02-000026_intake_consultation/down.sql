ALTER TABLE inbound_messages DROP COLUMN consultation_id;
ALTER TABLE inbound_messages DROP COLUMN reply_consultation_id;
