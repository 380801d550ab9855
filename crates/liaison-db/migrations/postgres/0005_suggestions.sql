-- 闭会建议 and 履职档案: deputies' inter-session suggestions (drafts, co-signers, the frozen
-- submission and later supplements, units, consultations, co-unit opinions, replies, ratings,
-- timeline) and every deputy's duty record (PostgreSQL dialect).
-- Keep in step with ../sqlite/0005_suggestions.sql. Lines ending in "-- dialect" differ on purpose.

CREATE TABLE suggestion (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number TEXT UNIQUE,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id),
    station_id BIGINT REFERENCES station(id),
    region_path TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    round BIGINT NOT NULL DEFAULT 1,
    registration TEXT,
    lead_unit_id BIGINT REFERENCES handling_unit(id),
    due_kind TEXT,
    due_on DATE,
    reply_due_on DATE,
    co_opinion_due_on DATE,
    assigned_on DATE,
    rehandle_rounds BIGINT NOT NULL DEFAULT 0,
    last_rating TEXT,
    last_grade TEXT,
    source_opinion_id BIGINT REFERENCES opinion(id),
    snapshot TEXT,
    submitted_at TIMESTAMPTZ,
    created_by BIGINT REFERENCES app_user(id),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);
CREATE INDEX suggestion_deputy ON suggestion(deputy_id, id);
CREATE INDEX suggestion_region_state ON suggestion(region_path, state, id);
CREATE INDEX suggestion_state_due ON suggestion(state, due_on);
CREATE INDEX suggestion_lead_unit ON suggestion(lead_unit_id, state, id);
CREATE UNIQUE INDEX suggestion_source_opinion ON suggestion(source_opinion_id);

CREATE TABLE suggestion_cosigner (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id),
    status TEXT NOT NULL,
    invited_at TIMESTAMPTZ NOT NULL,
    signed_at TIMESTAMPTZ,
    withdrawn_at TIMESTAMPTZ,
    UNIQUE (suggestion_id, deputy_id)
);
CREATE INDEX suggestion_cosigner_deputy ON suggestion_cosigner(deputy_id, suggestion_id);

CREATE TABLE suggestion_supplement (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
    author_id BIGINT REFERENCES app_user(id),
    author_name TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX suggestion_supplement_suggestion ON suggestion_supplement(suggestion_id, id);

CREATE TABLE suggestion_unit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
    unit_id BIGINT NOT NULL REFERENCES handling_unit(id),
    is_lead BOOLEAN NOT NULL,
    round BIGINT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    assigned_at TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    co_opinion_due_on DATE,
    co_opinion_at TIMESTAMPTZ
);
CREATE INDEX suggestion_unit_unit ON suggestion_unit(unit_id, active, suggestion_id);
CREATE INDEX suggestion_unit_suggestion ON suggestion_unit(suggestion_id);

CREATE TABLE suggestion_event (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
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
CREATE INDEX suggestion_event_suggestion ON suggestion_event(suggestion_id, id);

CREATE TABLE suggestion_reply (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
    round BIGINT NOT NULL,
    kind TEXT NOT NULL,
    unit_id BIGINT REFERENCES handling_unit(id),
    author_id BIGINT REFERENCES app_user(id),
    content TEXT NOT NULL,
    resolution_grade TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX suggestion_reply_suggestion ON suggestion_reply(suggestion_id, id);

CREATE TABLE suggestion_rating (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
    round BIGINT NOT NULL,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id),
    rating TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX suggestion_rating_suggestion ON suggestion_rating(suggestion_id);

CREATE TABLE suggestion_consultation (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
    unit_id BIGINT REFERENCES handling_unit(id),
    held_on DATE NOT NULL,
    mode TEXT NOT NULL,
    summary TEXT NOT NULL,
    author_id BIGINT REFERENCES app_user(id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX suggestion_consultation_suggestion ON suggestion_consultation(suggestion_id, id);

CREATE TABLE suggestion_co_opinion (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id BIGINT NOT NULL REFERENCES suggestion(id) ON DELETE CASCADE,
    unit_id BIGINT NOT NULL REFERENCES handling_unit(id),
    round BIGINT NOT NULL,
    content TEXT NOT NULL,
    author_id BIGINT REFERENCES app_user(id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX suggestion_co_opinion_suggestion ON suggestion_co_opinion(suggestion_id, id);

-- Notifications of suggestions go through the same outbox as those of opinions.
ALTER TABLE notification ADD COLUMN suggestion_id BIGINT REFERENCES suggestion(id) ON DELETE SET NULL;

-- 履职档案: one dated, typed entry per duty. Entries recorded from the system's own data are
-- unique per (deputy, kind, source): recording twice keeps one. Declared offline duties have
-- no source row (source_id NULL), so they never collide.
CREATE TABLE duty_record (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id),
    kind TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    source_kind TEXT NOT NULL,
    source_id BIGINT,
    link TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_by BIGINT REFERENCES app_user(id),
    reviewed_by BIGINT REFERENCES app_user(id),
    reviewed_at TIMESTAMPTZ,
    review_note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX duty_record_source ON duty_record(deputy_id, kind, source_kind, source_id);
CREATE INDEX duty_record_deputy_day ON duty_record(deputy_id, occurred_on, id);
CREATE INDEX duty_record_status ON duty_record(status, id);
