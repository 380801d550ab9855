-- Foundation: the organisation, accounts, sessions and the audit log (PostgreSQL dialect).
-- Keep in step with ../sqlite/0001_foundation.sql: same tables, columns and indexes.

CREATE TABLE region (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_id BIGINT REFERENCES region(id),
    path TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX region_parent ON region(parent_id);
CREATE INDEX region_path ON region(path);

CREATE TABLE station (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    tier TEXT NOT NULL,
    region_id BIGINT NOT NULL REFERENCES region(id),
    parent_id BIGINT REFERENCES station(id),
    address TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '',
    reception_schedule TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    intro TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX station_region ON station(region_id);
CREATE INDEX station_parent ON station(parent_id);

CREATE TABLE deputy (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    gender TEXT NOT NULL DEFAULT '',
    birth_year INTEGER,
    party TEXT NOT NULL DEFAULT '',
    occupation TEXT NOT NULL DEFAULT '',
    region_id BIGINT NOT NULL REFERENCES region(id),
    station_id BIGINT REFERENCES station(id),
    public_profile TEXT NOT NULL DEFAULT '',
    phone_enc TEXT NOT NULL DEFAULT '',
    phone_idx TEXT NOT NULL DEFAULT '',
    email_enc TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX deputy_region ON deputy(region_id);
CREATE INDEX deputy_station ON deputy(station_id);
CREATE INDEX deputy_name ON deputy(name);

CREATE TABLE deputy_seat (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    term TEXT NOT NULL DEFAULT '',
    delegation TEXT NOT NULL DEFAULT '',
    constituency TEXT NOT NULL DEFAULT '',
    UNIQUE (deputy_id, level)
);
CREATE INDEX deputy_seat_level ON deputy_seat(level);

CREATE TABLE station_member (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id BIGINT NOT NULL REFERENCES station(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    phone_enc TEXT NOT NULL DEFAULT '',
    deputy_id BIGINT REFERENCES deputy(id),
    sort INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX station_member_station ON station_member(station_id);

CREATE TABLE handling_unit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region_id BIGINT NOT NULL REFERENCES region(id),
    phone TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX handling_unit_region ON handling_unit(region_id);

CREATE TABLE grid (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    region_id BIGINT NOT NULL REFERENCES region(id),
    station_id BIGINT NOT NULL REFERENCES station(id),
    worker_name TEXT NOT NULL DEFAULT '',
    worker_phone_enc TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX grid_station ON grid(station_id);

CREATE TABLE grid_deputy (
    grid_id BIGINT NOT NULL REFERENCES grid(id) ON DELETE CASCADE,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id) ON DELETE CASCADE,
    PRIMARY KEY (grid_id, deputy_id)
);

CREATE TABLE app_user (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    region_id BIGINT REFERENCES region(id),
    station_id BIGINT REFERENCES station(id),
    unit_id BIGINT REFERENCES handling_unit(id),
    deputy_id BIGINT REFERENCES deputy(id),
    phone_enc TEXT NOT NULL DEFAULT '',
    must_change_password BOOLEAN NOT NULL DEFAULT TRUE,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    last_login_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX app_user_role ON app_user(role);

CREATE TABLE user_session (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_digest TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_session_user ON user_session(user_id);

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    ip TEXT NOT NULL DEFAULT '',
    prev_mac TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);
CREATE INDEX audit_log_actor ON audit_log(actor_id);

-- One row: the head of the audit chain. Updating it inside each writing transaction serialises
-- appends, so the chain never forks.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    last_mac TEXT NOT NULL
);
INSERT INTO audit_head (id, last_id, last_mac) VALUES (1, 0, '');

CREATE TABLE setting (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
