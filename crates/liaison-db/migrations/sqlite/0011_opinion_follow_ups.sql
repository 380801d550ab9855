-- 追问: follow-up questions of citizens on their own opinions, asked from the tracking page, and
-- the staff's answers (SQLite dialect). Keep in step with ../postgres/0011_opinion_follow_ups.sql.
-- Lines ending in "-- dialect" differ on purpose.
--
-- A question does not change the opinion's state (liaison_core::follow_up); it is a row here,
-- with a timeline event and an audit record written in the same transaction. The answer is
-- written once, into the same row: answered_at NULL means "waiting for an answer".

CREATE TABLE opinion_follow_up (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- dialect
    opinion_id BIGINT NOT NULL REFERENCES opinion(id) ON DELETE CASCADE,
    round BIGINT NOT NULL,
    content TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    asked_at TEXT NOT NULL, -- dialect
    answer TEXT NOT NULL DEFAULT '',
    answerer TEXT NOT NULL DEFAULT '',
    answered_by BIGINT REFERENCES app_user(id),
    answered_at TEXT -- dialect
);
-- A double submit (same form key, or the API's Idempotency-Key) lands once.
CREATE UNIQUE INDEX opinion_follow_up_key ON opinion_follow_up(opinion_id, idempotency_key);
CREATE INDEX opinion_follow_up_opinion ON opinion_follow_up(opinion_id, id);
-- The to-do list of unanswered questions reads only the few waiting rows.
CREATE INDEX opinion_follow_up_open ON opinion_follow_up(opinion_id) WHERE answered_at IS NULL;
