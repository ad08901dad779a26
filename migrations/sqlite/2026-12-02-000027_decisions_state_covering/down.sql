DROP INDEX decisions_state_idx;
CREATE INDEX decisions_state_idx ON decisions (state, due_on, id);
