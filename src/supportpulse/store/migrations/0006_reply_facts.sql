-- Reply facts: what the reply-time and first-response KPIs need from the
-- message thread of each ticket, derived once per change instead of on
-- every KPI query. Writes record the tickets they touch in kpi_stale; the
-- KPI query first re-derives the facts of those tickets.
-- Statements marked {postgresql} only run there: DuckDB joins by scanning
-- and would only pay to keep the indexes.

CREATE TABLE kpi_stale (
    source             TEXT NOT NULL,
    ticket_external_id TEXT NOT NULL
);

-- Per ticket: its first agent message at or after the ticket's creation,
-- and the first link by id in or into it (from then on the ticket's reply
-- times pair messages by id rather than by order).
CREATE TABLE ticket_answers (
    source              TEXT NOT NULL,
    ticket_external_id  TEXT NOT NULL,
    first_agent_at      TIMESTAMP,
    first_agent_message TEXT,
    threaded_at         TIMESTAMP,
    threaded_message    TEXT
);

-- Per customer message that waits for an answer: when the answer came and
-- which agent message gave it. `linked` waits are answered by id, the
-- others by the next agent message of the ticket, which counts only while
-- the ticket has no reply by id (threaded_at). Each wait carries its
-- ticket's status and dimensions, so the KPI query needs no join.
CREATE TABLE reply_waits (
    source              TEXT NOT NULL,
    ticket_external_id  TEXT NOT NULL,
    message_external_id TEXT NOT NULL,
    asked_at            TIMESTAMP NOT NULL,
    replied_at          TIMESTAMP NOT NULL,
    replied_by          TEXT NOT NULL,
    linked              BOOLEAN NOT NULL,
    threaded_at         TIMESTAMP,
    status              TEXT,
    priority            TEXT,
    channel             TEXT,
    team                TEXT,
    agent               TEXT,
    category            TEXT
);

-- Existing tickets have no facts yet.
INSERT INTO kpi_stale (source, ticket_external_id) SELECT source, external_id FROM tickets;

{postgresql} CREATE INDEX kpi_stale_ticket ON kpi_stale (source, ticket_external_id);
{postgresql} CREATE INDEX ticket_answers_ticket ON ticket_answers (source, ticket_external_id);
{postgresql} CREATE INDEX ticket_answers_agent ON ticket_answers (source, first_agent_message);
{postgresql} CREATE INDEX ticket_answers_thread ON ticket_answers (source, threaded_message);
{postgresql} CREATE INDEX reply_waits_ticket ON reply_waits (source, ticket_external_id);
{postgresql} CREATE INDEX reply_waits_message ON reply_waits (source, message_external_id);
{postgresql} CREATE INDEX reply_waits_reply ON reply_waits (source, replied_by)
