DROP TABLE decision_closure_tallies;
