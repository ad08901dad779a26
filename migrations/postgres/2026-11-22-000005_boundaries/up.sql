-- Mining-right boundaries (矿区范围) in projected metres, one row per mine, with a
-- bounding box so that neighbour and prohibited-zone checks look only at nearby shapes.
CREATE TABLE mine_boundaries (
    mine_id TEXT PRIMARY KEY NOT NULL REFERENCES mines(id),
    rings_json TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    area_m2 DOUBLE PRECISION NOT NULL,
    min_x DOUBLE PRECISION NOT NULL,
    min_y DOUBLE PRECISION NOT NULL,
    max_x DOUBLE PRECISION NOT NULL,
    max_y DOUBLE PRECISION NOT NULL,
    elevation_top_m DOUBLE PRECISION,
    elevation_bottom_m DOUBLE PRECISION,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX mine_boundaries_bbox_idx ON mine_boundaries (min_x, max_x, min_y, max_y);

-- Prohibited zones (禁止开采区): nature reserves, first-class protected forest, basic
-- grassland, ecological red lines, river no-mining zones. Never deleted, only deactivated.
CREATE TABLE prohibited_zones (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    rings_json TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    area_m2 DOUBLE PRECISION NOT NULL,
    min_x DOUBLE PRECISION NOT NULL,
    min_y DOUBLE PRECISION NOT NULL,
    max_x DOUBLE PRECISION NOT NULL,
    max_y DOUBLE PRECISION NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX prohibited_zones_bbox_idx ON prohibited_zones (min_x, max_x, min_y, max_y);
