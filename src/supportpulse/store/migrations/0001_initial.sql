-- Canonical tickets and messages, keyed by (source, external_id).
-- Timestamps are stored without a zone and always hold UTC.
-- {json} is JSON on DuckDB and JSONB on PostgreSQL.

CREATE TABLE tickets (
    source            TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    status            TEXT,
    priority          TEXT,
    channel           TEXT,
    team              TEXT,
    agent             TEXT,
    requester         TEXT,
    category          TEXT,
    tags              TEXT[],
    first_response_at TIMESTAMP,
    resolved_at       TIMESTAMP,
    csat              DOUBLE PRECISION,
    raw               {json},
    PRIMARY KEY (source, external_id)
);

CREATE TABLE messages (
    source             TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    ticket_external_id TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    author_role        TEXT NOT NULL,
    author_id          TEXT,
    reply_to           TEXT,
    body               TEXT,
    sentiment          DOUBLE PRECISION,
    raw                {json},
    PRIMARY KEY (source, external_id)
);

CREATE INDEX messages_ticket ON messages (source, ticket_external_id);

CREATE SEQUENCE quarantine_id_seq;

CREATE TABLE quarantine (
    id          BIGINT PRIMARY KEY DEFAULT nextval('quarantine_id_seq'),
    source      TEXT NOT NULL,
    file        TEXT NOT NULL,
    line        BIGINT,
    reason      TEXT NOT NULL,
    record      TEXT,
    recorded_at TIMESTAMP NOT NULL
);
