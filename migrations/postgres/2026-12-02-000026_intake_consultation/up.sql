-- Invitations answered by email: the meeting a reply address names (as reply_lead_id
-- does for a lead), and the meeting the message answered.
ALTER TABLE inbound_messages ADD COLUMN reply_consultation_id TEXT;
ALTER TABLE inbound_messages ADD COLUMN consultation_id TEXT;
