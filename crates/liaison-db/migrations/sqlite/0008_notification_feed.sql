-- The in-app notification feed of staff: which notifications of the outbox each account has
-- read (SQLite dialect). Keep in step with ../postgres/0008_notification_feed.sql. Lines
-- ending in "-- dialect" differ on purpose.
--
-- "Mark all read" moves one watermark per account (everything up to read_through is read);
-- single notifications read above it get a row of notification_read, and rows at or below the
-- watermark are removed when it moves, so both tables stay small.

CREATE TABLE notification_read (
    user_id BIGINT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    notification_id BIGINT NOT NULL REFERENCES notification(id) ON DELETE CASCADE,
    read_at TEXT NOT NULL, -- dialect
    PRIMARY KEY (user_id, notification_id)
);

CREATE TABLE notification_read_mark (
    user_id BIGINT PRIMARY KEY REFERENCES app_user(id) ON DELETE CASCADE,
    read_through BIGINT NOT NULL,
    read_at TEXT NOT NULL -- dialect
);

-- The feed looks notifications up by recipient, newest first.
CREATE INDEX notification_recipient ON notification(recipient, id);
