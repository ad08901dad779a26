DROP TABLE inspection_ratings;
