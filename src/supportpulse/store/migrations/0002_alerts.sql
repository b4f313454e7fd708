-- Alert states per (rule, group), every transition, and silences.
-- Group keys are canonical JSON text (sorted keys, no spaces); '{}' is the
-- whole data set. Timestamps hold UTC without a zone.

CREATE TABLE alert_state (
    rule_name       TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    state           TEXT NOT NULL,
    since           TIMESTAMP NOT NULL,
    kpi_value       DOUBLE PRECISION,
    pending_since   TIMESTAMP,
    fired_at        TIMESTAMP,
    acknowledged_at TIMESTAMP,
    error           TEXT,
    evaluated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (rule_name, group_key)
);

CREATE SEQUENCE alert_history_id_seq;

CREATE TABLE alert_history (
    id              BIGINT PRIMARY KEY DEFAULT nextval('alert_history_id_seq'),
    rule_name       TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    occurred_at     TIMESTAMP NOT NULL,
    previous        TEXT NOT NULL,
    state           TEXT NOT NULL,
    kpi             TEXT NOT NULL,
    kpi_value       DOUBLE PRECISION,
    op              TEXT NOT NULL,
    threshold       DOUBLE PRECISION NOT NULL,
    clear_threshold DOUBLE PRECISION NOT NULL,
    window_s        DOUBLE PRECISION NOT NULL,
    severity        TEXT NOT NULL,
    notify          BOOLEAN NOT NULL,
    suppressed      TEXT,
    error           TEXT
);

CREATE INDEX alert_history_rule ON alert_history (rule_name, occurred_at);

CREATE SEQUENCE alert_silence_id_seq;

-- A NULL group_key silences every group of the rule.
CREATE TABLE alert_silence (
    id         BIGINT PRIMARY KEY DEFAULT nextval('alert_silence_id_seq'),
    rule_name  TEXT NOT NULL,
    group_key  TEXT,
    ends_at    TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
