-- 民意收集处理: opinions, their timeline, units, replies, ratings, photos, supervision cases,
-- the notification outbox, routing and deadline configuration (PostgreSQL dialect).
-- Keep in step with ../sqlite/0002_opinions.sql. Lines ending in "-- dialect" differ on purpose.

CREATE TABLE opinion (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_no TEXT NOT NULL UNIQUE,
    station_id BIGINT NOT NULL REFERENCES station(id),
    deputy_id BIGINT REFERENCES deputy(id),
    region_path TEXT NOT NULL,
    channel TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    category_suggested TEXT NOT NULL DEFAULT '',
    category_confidence DOUBLE PRECISION NOT NULL DEFAULT 0,
    urgency TEXT NOT NULL DEFAULT 'normal',
    submitter_name_enc TEXT NOT NULL DEFAULT '',
    submitter_phone_enc TEXT NOT NULL DEFAULT '',
    submitter_phone_idx TEXT NOT NULL DEFAULT '',
    anonymous BOOLEAN NOT NULL DEFAULT FALSE,
    confidential BOOLEAN NOT NULL DEFAULT FALSE,
    publishable BOOLEAN NOT NULL DEFAULT FALSE,
    state TEXT NOT NULL,
    round BIGINT NOT NULL DEFAULT 1,
    lead_unit_id BIGINT REFERENCES handling_unit(id),
    due_kind TEXT,
    due_on DATE,
    reply_due_on DATE,
    assigned_on DATE,
    feedback_sent_on DATE,
    extensions_used BIGINT NOT NULL DEFAULT 0,
    rehandle_rounds BIGINT NOT NULL DEFAULT 0,
    last_rating TEXT,
    last_grade TEXT,
    master_id BIGINT REFERENCES opinion(id),
    entered_by BIGINT REFERENCES app_user(id),
    idempotency_key TEXT UNIQUE,
    search_text TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);
CREATE INDEX opinion_station_state ON opinion(station_id, state, id);
CREATE INDEX opinion_region_state ON opinion(region_path, state, id);
CREATE INDEX opinion_state_due ON opinion(state, due_on);
CREATE INDEX opinion_deputy ON opinion(deputy_id, id);
CREATE INDEX opinion_lead_unit ON opinion(lead_unit_id, state, id);
CREATE INDEX opinion_phone_idx ON opinion(submitter_phone_idx);
CREATE INDEX opinion_category ON opinion(category);
ALTER TABLE opinion ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED; -- dialect
CREATE INDEX opinion_search ON opinion USING GIN (search_vector); -- dialect

CREATE TABLE opinion_unit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinion(id) ON DELETE CASCADE,
    unit_id BIGINT NOT NULL REFERENCES handling_unit(id),
    is_lead BOOLEAN NOT NULL,
    round BIGINT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    assigned_at TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ
);
CREATE INDEX opinion_unit_unit ON opinion_unit(unit_id, active, opinion_id);
CREATE INDEX opinion_unit_opinion ON opinion_unit(opinion_id);

CREATE TABLE opinion_event (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinion(id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    label TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    public_note TEXT NOT NULL DEFAULT '',
    data TEXT
);
CREATE INDEX opinion_event_opinion ON opinion_event(opinion_id, id);

CREATE TABLE opinion_reply (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinion(id) ON DELETE CASCADE,
    round BIGINT NOT NULL,
    unit_id BIGINT REFERENCES handling_unit(id),
    author_id BIGINT REFERENCES app_user(id),
    content TEXT NOT NULL,
    resolution_grade TEXT NOT NULL,
    status TEXT NOT NULL,
    review_note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    reviewed_at TIMESTAMPTZ
);
CREATE INDEX opinion_reply_opinion ON opinion_reply(opinion_id, id);

CREATE TABLE opinion_rating (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinion(id) ON DELETE CASCADE,
    round BIGINT NOT NULL,
    rating TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX opinion_rating_opinion ON opinion_rating(opinion_id);

CREATE TABLE opinion_photo (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinion(id) ON DELETE CASCADE,
    mime TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    data BYTEA NOT NULL, -- dialect
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX opinion_photo_opinion ON opinion_photo(opinion_id);

CREATE TABLE supervision_case (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id BIGINT NOT NULL REFERENCES opinion(id) ON DELETE CASCADE,
    opened_at TIMESTAMPTZ NOT NULL,
    due_on DATE NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    closed_at TIMESTAMPTZ
);
CREATE INDEX supervision_case_opinion ON supervision_case(opinion_id);

CREATE TABLE notification (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    payload TEXT NOT NULL,
    opinion_id BIGINT REFERENCES opinion(id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX notification_due ON notification(status, next_attempt_at);

CREATE TABLE category_route (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category TEXT NOT NULL,
    region_id BIGINT NOT NULL REFERENCES region(id),
    unit_id BIGINT NOT NULL REFERENCES handling_unit(id),
    UNIQUE (category, region_id)
);

CREATE TABLE calendar_year (
    year BIGINT PRIMARY KEY,
    notice TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
