DROP TABLE prohibited_zones;
DROP TABLE mine_boundaries;
