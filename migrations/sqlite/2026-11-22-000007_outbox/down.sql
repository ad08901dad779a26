DROP TABLE permit_reminders;
DROP TABLE notification_preferences;
DROP TABLE outbox;
