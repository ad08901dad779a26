-- 扫码评价: the inspected enterprise rates a finished visit once.
CREATE TABLE inspection_ratings (
    inspection_id TEXT PRIMARY KEY REFERENCES inspections (id),
    mine_id TEXT NOT NULL REFERENCES mines (id),
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    rated_by TEXT REFERENCES users (id),
    rated_at TIMESTAMP NOT NULL
);
CREATE INDEX inspection_ratings_rated_idx ON inspection_ratings (rated_at);
