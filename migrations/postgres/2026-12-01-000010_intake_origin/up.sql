-- How each message's origin was proved: reply_address | dkim:<domain> |
-- relay:<authserv-id>:<method> | unverified (intake.require_authenticated_sender off).
ALTER TABLE inbound_messages ADD COLUMN origin TEXT NOT NULL DEFAULT 'unverified';
-- The lead a per-recipient reply address named: the reply goes there, whatever the subject says.
ALTER TABLE inbound_messages ADD COLUMN reply_lead_id TEXT REFERENCES leads (id);
