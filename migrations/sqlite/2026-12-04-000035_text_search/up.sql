-- Mine and user text search (q=) through FTS5 trigram indexes instead of a scan of every
-- row: a quoted phrase of three or more characters matches exactly the rows holding it as
-- a substring (ASCII case folded, as LIKE does). The indexes keep no copy of the text
-- (external content) and follow their tables through triggers.
CREATE VIRTUAL TABLE mines_fts USING fts5(
    search_text, content = 'mines', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO mines_fts (mines_fts) VALUES ('rebuild');
CREATE TRIGGER mines_fts_insert AFTER INSERT ON mines BEGIN
    INSERT INTO mines_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER mines_fts_delete AFTER DELETE ON mines BEGIN
    INSERT INTO mines_fts (mines_fts, rowid, search_text)
        VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER mines_fts_update AFTER UPDATE OF search_text ON mines BEGIN
    INSERT INTO mines_fts (mines_fts, rowid, search_text)
        VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO mines_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE VIRTUAL TABLE users_fts USING fts5(
    username, display_name, content = 'users', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO users_fts (users_fts) VALUES ('rebuild');
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, username, display_name)
        VALUES (new.rowid, new.username, new.display_name);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, username, display_name)
        VALUES ('delete', old.rowid, old.username, old.display_name);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF username, display_name ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, username, display_name)
        VALUES ('delete', old.rowid, old.username, old.display_name);
    INSERT INTO users_fts (rowid, username, display_name)
        VALUES (new.rowid, new.username, new.display_name);
END;
