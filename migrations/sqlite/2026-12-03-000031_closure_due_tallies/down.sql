DROP TABLE closure_due_tallies;
