DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE users;
DROP TABLE permit_types;
DROP TABLE lead_categories;
DROP TABLE townships;
DROP TABLE departments;
DROP TABLE system_settings;
