-- Reply times join each customer message to the agent messages answering it.

CREATE INDEX messages_reply_to ON messages (source, reply_to);
