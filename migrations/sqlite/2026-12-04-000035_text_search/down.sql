DROP TRIGGER users_fts_update;
DROP TRIGGER users_fts_delete;
DROP TRIGGER users_fts_insert;
DROP TABLE users_fts;
DROP TRIGGER mines_fts_update;
DROP TRIGGER mines_fts_delete;
DROP TRIGGER mines_fts_insert;
DROP TABLE mines_fts;
