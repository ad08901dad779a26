DROP TABLE decision_due_tallies;
