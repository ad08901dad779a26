-- A stamp that changes with every write to the reference tables a request reads most
-- (departments, townships, lead categories). Each process keeps the tables as they were at
-- one stamp (reference::snapshot) and reads one row per request instead of the tables; a
-- change made through any instance, or by hand, gives a new stamp, so every instance sees
-- it at its next request. The stamp is random: two databases never share one, and one
-- stamp always stands for the same content.
CREATE TABLE reference_stamp (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    stamp TEXT NOT NULL
);
INSERT INTO reference_stamp (id, stamp) VALUES (1, lower(hex(randomblob(16))));

CREATE TRIGGER departments_restamp_insert AFTER INSERT ON departments
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;
CREATE TRIGGER departments_restamp_update AFTER UPDATE ON departments
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;
CREATE TRIGGER departments_restamp_delete AFTER DELETE ON departments
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;

CREATE TRIGGER townships_restamp_insert AFTER INSERT ON townships
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;
CREATE TRIGGER townships_restamp_update AFTER UPDATE ON townships
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;
CREATE TRIGGER townships_restamp_delete AFTER DELETE ON townships
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;

CREATE TRIGGER lead_categories_restamp_insert AFTER INSERT ON lead_categories
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;
CREATE TRIGGER lead_categories_restamp_update AFTER UPDATE ON lead_categories
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;
CREATE TRIGGER lead_categories_restamp_delete AFTER DELETE ON lead_categories
BEGIN UPDATE reference_stamp SET stamp = lower(hex(randomblob(16))) WHERE id = 1; END;
