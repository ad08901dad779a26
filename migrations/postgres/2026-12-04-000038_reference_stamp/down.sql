DROP FUNCTION next_lead_number(integer);
DROP TRIGGER lead_categories_restamp ON lead_categories;
DROP TRIGGER townships_restamp ON townships;
DROP TRIGGER departments_restamp ON departments;
DROP FUNCTION reference_restamp();
DROP TABLE reference_stamp;
