-- Mine and user text search (q=) through trigram indexes instead of a scan of every row:
-- LIKE '%…%' with three or more characters reads the index (Chinese included, as the
-- database's character type classes CJK as letters: C.UTF-8 or a zh_CN/en_US UTF-8 locale).
-- pg_trgm is a trusted extension: the database's owner may create it.
-- fastupdate off: a change goes into the index at once instead of a pending list that every
-- search must read until a vacuum merges it (30 000 mines loaded in bulk left 6 100 pending
-- entries, and searches then scanned the table: 17 ms instead of 0.1 ms). Mines and
-- accounts change a few times a day; their writes can afford it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX mines_search_trgm_idx ON mines USING gin (search_text gin_trgm_ops)
    WITH (fastupdate = off);
CREATE INDEX users_username_trgm_idx ON users USING gin (username gin_trgm_ops)
    WITH (fastupdate = off);
CREATE INDEX users_display_name_trgm_idx ON users USING gin (display_name gin_trgm_ops)
    WITH (fastupdate = off);
