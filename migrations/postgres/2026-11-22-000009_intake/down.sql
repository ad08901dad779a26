DROP INDEX users_email_lower_idx;
DROP TABLE inbound_messages;
