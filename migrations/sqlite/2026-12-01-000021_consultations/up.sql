-- 会商研判: requests for a consultation, the meetings the coordination office convenes,
-- whom they invite (units and people) with each one's answer (报到), and their agenda.
CREATE TABLE consultation_requests (
    id TEXT PRIMARY KEY NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    department TEXT REFERENCES departments (code),
    lead_ids TEXT NOT NULL DEFAULT '',
    mine_ids TEXT NOT NULL DEFAULT '',
    hazard_ids TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    consultation_id TEXT,
    requested_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX consultation_requests_state_idx ON consultation_requests (state, created_at, id);

CREATE TABLE consultations (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    place TEXT NOT NULL,
    online_url TEXT,
    state TEXT NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    cancel_reason TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX consultations_starts_idx ON consultations (starts_at, id);
CREATE INDEX consultations_state_idx ON consultations (state, starts_at);

CREATE TABLE consultation_invitees (
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    answer TEXT NOT NULL,
    attendee_name TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    answered_by TEXT REFERENCES users (id),
    answered_at TIMESTAMP,
    reminded_at TIMESTAMP,
    PRIMARY KEY (consultation_id, kind, unit)
);
CREATE INDEX consultation_invitees_unit_idx ON consultation_invitees (kind, unit, consultation_id);

CREATE TABLE consultation_agenda (
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    lead_id TEXT,
    mine_id TEXT,
    hazard_id TEXT,
    request_id TEXT,
    PRIMARY KEY (consultation_id, position)
);

CREATE TABLE consultation_counters (
    year INTEGER PRIMARY KEY NOT NULL,
    last_number INTEGER NOT NULL
);

-- A person's calendar feed: a revocable token, kept as its SHA-256 only.
CREATE TABLE calendar_feeds (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
