DROP TABLE mine_changes;
DROP TABLE mines;
