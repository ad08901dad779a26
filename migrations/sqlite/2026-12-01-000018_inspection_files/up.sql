-- Photos and documents of a visit: taken with an item's result (现场照片), with a hazard,
-- or as the evidence of its re-inspection (复查佐证). Each file's SHA-256 is kept; like
-- the task's other records they are never changed once written.
CREATE TABLE inspection_files (
    id TEXT PRIMARY KEY NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_code TEXT,
    hazard_id TEXT REFERENCES hazards (id),
    purpose TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    uploaded_by TEXT REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX inspection_files_task_idx ON inspection_files (inspection_id, uploaded_at);
CREATE INDEX inspection_files_hazard_idx ON inspection_files (hazard_id);
