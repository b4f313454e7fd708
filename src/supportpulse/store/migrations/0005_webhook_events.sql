-- Webhook event ids already handled, so a redelivered event is ignored.

CREATE TABLE webhook_events (
    source      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, event_id)
);

CREATE INDEX webhook_events_received ON webhook_events (received_at);
