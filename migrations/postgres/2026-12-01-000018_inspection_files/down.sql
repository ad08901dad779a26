DROP TABLE inspection_files;
