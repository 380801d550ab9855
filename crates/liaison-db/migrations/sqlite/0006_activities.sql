-- 主题活动 and 督政议事: annual activity plans, activities with invitations, public sign-up,
-- attendance, photos, corrections; agreed follow-up items shared by activities and
-- deliberations; deliberation topics and supervision items; 云问政 question windows with the
-- sensitive-word list; the link from an opinion to the activity it was collected at
-- (SQLite dialect). Keep in step with ../postgres/0006_activities.sql. Lines ending in
-- "-- dialect" differ on purpose.

CREATE TABLE activity_plan (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id BIGINT NOT NULL REFERENCES station(id),
    region_path TEXT NOT NULL,
    year INTEGER NOT NULL,
    title TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES app_user(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (station_id, year)
);
CREATE INDEX activity_plan_region ON activity_plan(region_path, year);

CREATE TABLE activity_plan_item (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id BIGINT NOT NULL REFERENCES activity_plan(id) ON DELETE CASCADE,
    month INTEGER NOT NULL,
    kind TEXT NOT NULL,
    theme TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX activity_plan_item_plan ON activity_plan_item(plan_id, month);

CREATE TABLE activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id BIGINT NOT NULL REFERENCES station(id),
    region_path TEXT NOT NULL,
    plan_item_id BIGINT REFERENCES activity_plan_item(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    place TEXT NOT NULL,
    organiser TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    held_on DATE NOT NULL,
    capacity INTEGER,
    signup_open BOOLEAN NOT NULL DEFAULT FALSE,
    announced_at TEXT,
    notice_hours INTEGER,
    late_notice BOOLEAN NOT NULL DEFAULT FALSE,
    minutes TEXT NOT NULL DEFAULT '',
    recorded_at TEXT,
    reported_at TEXT,
    cancel_reason TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES app_user(id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX activity_station_day ON activity(station_id, held_on);
CREATE INDEX activity_region_day ON activity(region_path, held_on);
CREATE INDEX activity_plan_item_link ON activity(plan_item_id);

CREATE TABLE activity_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES activity(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    label TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX activity_event_activity ON activity_event(activity_id, id);

CREATE TABLE activity_deputy (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES activity(id) ON DELETE CASCADE,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id),
    reply TEXT NOT NULL DEFAULT 'pending',
    reply_note TEXT NOT NULL DEFAULT '',
    substitute_for BIGINT REFERENCES deputy(id),
    replied_at TEXT,
    UNIQUE (activity_id, deputy_id)
);
CREATE INDEX activity_deputy_deputy ON activity_deputy(deputy_id, activity_id);

CREATE TABLE activity_guest (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES activity(id) ON DELETE CASCADE,
    unit_id BIGINT REFERENCES handling_unit(id),
    name TEXT NOT NULL,
    post TEXT NOT NULL DEFAULT ''
);
CREATE INDEX activity_guest_activity ON activity_guest(activity_id);

CREATE TABLE activity_signup (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES activity(id) ON DELETE CASCADE,
    signup_no TEXT NOT NULL UNIQUE,
    name_enc TEXT NOT NULL,
    phone_enc TEXT NOT NULL,
    phone_idx TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    promoted_at TEXT,
    cancelled_at TEXT
);
CREATE INDEX activity_signup_activity ON activity_signup(activity_id, status, id);
-- One live sign-up per phone and activity; a cancelled one does not block signing up again.
CREATE UNIQUE INDEX activity_signup_phone ON activity_signup(activity_id, phone_idx) WHERE status <> 'cancelled';

CREATE TABLE activity_attendance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES activity(id) ON DELETE CASCADE,
    deputy_id BIGINT NOT NULL REFERENCES deputy(id),
    method TEXT NOT NULL,
    marked_by BIGINT REFERENCES app_user(id),
    at TEXT NOT NULL,
    UNIQUE (activity_id, deputy_id)
);
CREATE INDEX activity_attendance_deputy ON activity_attendance(deputy_id);

CREATE TABLE activity_photo (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES activity(id) ON DELETE CASCADE,
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BLOB NOT NULL, -- dialect
    caption TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX activity_photo_activity ON activity_photo(activity_id);

CREATE TABLE activity_correction (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES activity(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);
CREATE INDEX activity_correction_activity ON activity_correction(activity_id, id);

CREATE TABLE deliberation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id BIGINT NOT NULL REFERENCES station(id),
    region_path TEXT NOT NULL,
    activity_id BIGINT REFERENCES activity(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    background TEXT NOT NULL DEFAULT '',
    held_on DATE,
    outcome TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES app_user(id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX deliberation_station ON deliberation(station_id, state, id);
CREATE INDEX deliberation_region ON deliberation(region_path, state, id);

CREATE TABLE deliberation_participant (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deliberation_id BIGINT NOT NULL REFERENCES deliberation(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    deputy_id BIGINT REFERENCES deputy(id),
    unit_id BIGINT REFERENCES handling_unit(id),
    name_enc TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    post TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliberation_participant_item ON deliberation_participant(deliberation_id);

CREATE TABLE deliberation_view (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deliberation_id BIGINT NOT NULL REFERENCES deliberation(id) ON DELETE CASCADE,
    participant_id BIGINT REFERENCES deliberation_participant(id) ON DELETE SET NULL,
    content TEXT NOT NULL,
    recorded_by BIGINT REFERENCES app_user(id),
    created_at TEXT NOT NULL
);
CREATE INDEX deliberation_view_item ON deliberation_view(deliberation_id, id);

-- Agreed follow-up items of an activity and agreed measures of a deliberation: one table, told
-- apart by source_kind ('activity' or 'deliberation').
CREATE TABLE follow_up_item (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_kind TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    station_id BIGINT NOT NULL REFERENCES station(id),
    region_path TEXT NOT NULL,
    content TEXT NOT NULL,
    owner TEXT NOT NULL,
    owner_unit_id BIGINT REFERENCES handling_unit(id),
    due_on DATE NOT NULL,
    state TEXT NOT NULL,
    done_note TEXT NOT NULL DEFAULT '',
    done_at TEXT,
    created_by BIGINT REFERENCES app_user(id),
    created_at TEXT NOT NULL
);
CREATE INDEX follow_up_item_source ON follow_up_item(source_kind, source_id);
CREATE INDEX follow_up_item_due ON follow_up_item(state, due_on);

CREATE TABLE question_window (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id BIGINT NOT NULL REFERENCES station(id),
    region_path TEXT NOT NULL,
    unit_id BIGINT NOT NULL REFERENCES handling_unit(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    opens_on DATE NOT NULL,
    closes_on DATE NOT NULL,
    created_by BIGINT REFERENCES app_user(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX question_window_station ON question_window(station_id, closes_on);
CREATE INDEX question_window_unit ON question_window(unit_id, closes_on);

CREATE TABLE question (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    window_id BIGINT NOT NULL REFERENCES question_window(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    asker_name_enc TEXT NOT NULL,
    asker_phone_enc TEXT NOT NULL,
    asker_phone_idx TEXT NOT NULL,
    asker_display TEXT NOT NULL,
    hidden BOOLEAN NOT NULL DEFAULT FALSE,
    hidden_reason TEXT NOT NULL DEFAULT '',
    flagged_words TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL DEFAULT '',
    answered_at TEXT,
    answered_by BIGINT REFERENCES app_user(id),
    created_at TEXT NOT NULL
);
CREATE INDEX question_window_id ON question(window_id, id);

CREATE TABLE sensitive_word (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    word TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

ALTER TABLE opinion ADD COLUMN activity_id BIGINT REFERENCES activity(id);
CREATE INDEX opinion_activity ON opinion(activity_id);
