-- A stamp that changes with every write to the reference tables a request reads most
-- (departments, townships, lead categories). Each process keeps the tables as they were at
-- one stamp (reference::snapshot) and reads one row per request instead of the tables; a
-- change made through any instance, or by hand, gives a new stamp, so every instance sees
-- it at its next request. The stamp is random: two databases never share one, and one
-- stamp always stands for the same content.
CREATE TABLE reference_stamp (
    id integer PRIMARY KEY CHECK (id = 1),
    stamp text NOT NULL
);
INSERT INTO reference_stamp (id, stamp) VALUES (1, gen_random_uuid()::text);

CREATE FUNCTION reference_restamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reference_stamp SET stamp = gen_random_uuid()::text WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER departments_restamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON departments
    FOR EACH STATEMENT EXECUTE FUNCTION reference_restamp();
CREATE TRIGGER townships_restamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON townships
    FOR EACH STATEMENT EXECUTE FUNCTION reference_restamp();
CREATE TRIGGER lead_categories_restamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_categories
    FOR EACH STATEMENT EXECUTE FUNCTION reference_restamp();

-- The next number of a year's leads in one statement (a raise used to ask whether the
-- year's sequence exists first). The first lead of a year creates the sequence, starting
-- after the year's counter row where one is left from before the sequences; two first
-- leads at once: one creates it, the other's CREATE fails inside the inner block and it
-- goes on with the sequence the first made.
CREATE FUNCTION next_lead_number(y integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    seq text := 'lead_number_' || y;
    start bigint;
BEGIN
    IF to_regclass(seq) IS NULL THEN
        SELECT coalesce(max(last_number), 0) + 1 INTO start FROM lead_counters WHERE year = y;
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I START WITH %s', seq, start);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            NULL;
        END;
    END IF;
    RETURN nextval(seq);
END
$$;
