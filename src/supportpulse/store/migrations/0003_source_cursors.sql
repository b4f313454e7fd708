-- The cursor each live source has reached, committed in the same transaction
-- as the records it covers, so a restart resumes exactly where data stops.

CREATE TABLE source_cursors (
    source_name TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
