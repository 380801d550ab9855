//! 主题活动: storage of annual activity plans, activities and everything that hangs off them —
//! invitations of deputies with their replies and substitutes, invited officials and units,
//! public sign-up with a waiting list, attendance (deputies' own check-in and staff marks),
//! minutes, photos, corrections made after the fact, and agreed follow-up items (the same table
//! holds the measures of deliberations, see `crate::deliberations`).
//!
//! `liaison_core::activity` decides (lifecycle, check-in window, sign-up rules); this module
//! applies the decision with its history event and audit record in one transaction. Concurrent
//! writers on one activity are serialised by the write lock (SQLite) or a row lock
//! (PostgreSQL), so two citizens taking the last place cannot both get it.

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, TxInner, now};
use crate::directory::Page;
use crate::error::{DbError, DbResult};
use crate::sql::{ScopeColumns, Sql};
use liaison_core::activity::{
    self, ActivityAction, ActivityFacts, ActivityKind, ActivityState, AttendanceMethod,
    CheckInRefusal, FollowUpState, InvitationReply, RuleError, SignupStatus,
};
use liaison_core::duty::DutyKind;
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use liaison_core::validate;
use liaison_core::workflow::Actor as WfActor;
use serde::Serialize;
use sqlx::FromRow;
use time::{Date, OffsetDateTime};

/// An activity row.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Activity {
    /// Id.
    pub id: i64,
    /// Station that holds it.
    pub station_id: i64,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station_name: String,
    /// Region path of the station (scope).
    pub region_path: String,
    /// Planned item it carries out, if any.
    pub plan_item_id: Option<i64>,
    /// Kind code.
    pub kind: String,
    /// State code.
    pub state: String,
    /// Theme / title.
    pub title: String,
    /// What it is about.
    pub description: String,
    /// Where.
    pub place: String,
    /// Who organises it (body or person, as published).
    pub organiser: String,
    /// Start.
    pub starts_at: OffsetDateTime,
    /// End.
    pub ends_at: OffsetDateTime,
    /// The day in China (calendar and plan month).
    pub held_on: Date,
    /// Places for the public; none = no limit.
    pub capacity: Option<i64>,
    /// Whether the public may sign up.
    pub signup_open: bool,
    /// When the announcement was published.
    pub announced_at: Option<OffsetDateTime>,
    /// Hours of notice the announcement gave.
    pub notice_hours: Option<i64>,
    /// The announcement came later than the notice period asks.
    pub late_notice: bool,
    /// Minutes (活动记录).
    pub minutes: String,
    /// When recorded.
    pub recorded_at: Option<OffsetDateTime>,
    /// When reported to the township/county.
    pub reported_at: Option<OffsetDateTime>,
    /// Why it was cancelled.
    pub cancel_reason: String,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Activity {
    /// The kind, parsed.
    pub fn kind(&self) -> ActivityKind {
        ActivityKind::parse(&self.kind).unwrap_or(ActivityKind::Themed)
    }

    /// The state, parsed.
    pub fn state(&self) -> ActivityState {
        ActivityState::parse(&self.state).unwrap_or(ActivityState::Planned)
    }
}

const SELECT: &str = "SELECT a.id, a.station_id, s.code AS station_code, s.name AS station_name, \
    a.region_path, a.plan_item_id, a.kind, a.state, a.title, a.description, a.place, a.organiser, \
    a.starts_at, a.ends_at, a.held_on, a.capacity, a.signup_open, a.announced_at, a.notice_hours, \
    a.late_notice, a.minutes, a.recorded_at, a.reported_at, a.cancel_reason, a.version, \
    a.created_at, a.updated_at FROM activity a JOIN station s ON s.id = a.station_id WHERE 1=1";

/// An activity by id (no scope check: callers check with [`visible`] or [`actors_for`]).
pub async fn get(db: &Db, id: i64) -> DbResult<Activity> {
    let mut s = Sql::new(SELECT);
    s.push(" AND a.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

async fn get_tx(tx: &mut Tx, id: i64) -> DbResult<Activity> {
    let r: Option<Activity> = match &mut tx.inner {
        TxInner::Sqlite(t) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} AND a.id = $1")))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
        TxInner::Postgres(t) => {
            // Lock the row: sign-ups, check-ins and transitions of one activity queue here.
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} AND a.id = $1 FOR UPDATE OF a"
            )))
            .bind(id)
            .fetch_optional(&mut **t)
            .await?
        }
    };
    r.ok_or(DbError::NotFound)
}

/// Which activities a user sees in lists: the one scoping rule, with two relations the region
/// tree does not express — a deputy sees the activities they are invited to and those of their
/// resident station, a handling unit those it is invited to. The system administrator (三员)
/// sees none.
pub fn list_scope(p: &Principal) -> Scope {
    match p.role {
        Role::SystemAdmin => Scope::Nothing,
        _ => p.scope(),
    }
}

fn scope_where(s: &mut Sql, scope: &Scope) {
    match scope {
        Scope::Deputy(id) => {
            s.push(" AND (EXISTS (SELECT 1 FROM activity_deputy ad WHERE ad.activity_id = a.id AND ad.deputy_id = ")
                .bind(*id)
                .push(") OR a.station_id = (SELECT dd.station_id FROM deputy dd WHERE dd.id = ")
                .bind(*id)
                .push("))");
        }
        Scope::Unit(id) => {
            s.push(" AND EXISTS (SELECT 1 FROM activity_guest g WHERE g.activity_id = a.id AND g.unit_id = ")
                .bind(*id)
                .push(")");
        }
        other => {
            s.scope_filter(
                other,
                ScopeColumns {
                    region_path: Some("a.region_path"),
                    station_id: Some("a.station_id"),
                    ..Default::default()
                },
            );
        }
    }
}

/// Whether an activity lies in a scope.
pub async fn visible(db: &Db, scope: &Scope, id: i64) -> DbResult<bool> {
    let mut s = Sql::new("SELECT COUNT(*) FROM activity a WHERE a.id = ");
    s.bind(id);
    scope_where(&mut s, scope);
    Ok(s.fetch_count(db).await? > 0)
}

/// The organiser relations `p` has to an activity: station staff of its station (or of the
/// station above a point), and township/county/city staff of its area, who also supervise.
pub fn actors_for(p: &Principal, a: &Activity, station_parent: Option<i64>) -> Vec<WfActor> {
    match p.role {
        Role::StationStaff
            if p.station_id == Some(a.station_id)
                || (station_parent.is_some() && p.station_id == station_parent) =>
        {
            vec![WfActor::StationStaff]
        }
        Role::TownshipStaff | Role::CountyStaff | Role::CityStaff => match &p.region {
            Some((_, path)) if a.region_path.starts_with(path.as_str()) => {
                vec![WfActor::StationStaff, WfActor::Supervisor]
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The parent station of a station.
pub async fn station_parent(db: &Db, station_id: i64) -> DbResult<Option<i64>> {
    let mut s = Sql::new("SELECT parent_id FROM station WHERE id = ");
    s.bind(station_id);
    let row: Option<(Option<i64>,)> = s.fetch_optional(db).await?;
    Ok(row.and_then(|r| r.0))
}

/// A list row.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct ActivitySummary {
    /// Id.
    pub id: i64,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station_name: String,
    /// Kind code.
    pub kind: String,
    /// State code.
    pub state: String,
    /// Title.
    pub title: String,
    /// Where.
    pub place: String,
    /// Start.
    pub starts_at: OffsetDateTime,
    /// End.
    pub ends_at: OffsetDateTime,
    /// Day.
    pub held_on: Date,
    /// Places.
    pub capacity: Option<i64>,
    /// Public sign-up.
    pub signup_open: bool,
    /// Announced too late.
    pub late_notice: bool,
    /// Planned item.
    pub plan_item_id: Option<i64>,
}

const SUMMARY: &str = "SELECT a.id, s.code AS station_code, s.name AS station_name, a.kind, a.state, \
    a.title, a.place, a.starts_at, a.ends_at, a.held_on, a.capacity, a.signup_open, a.late_notice, \
    a.plan_item_id FROM activity a JOIN station s ON s.id = a.station_id WHERE 1=1";

/// Filters of activity lists.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Any of these state codes.
    pub states: Vec<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Only this station (and its points).
    pub station_id: Option<i64>,
    /// Only this region's subtree.
    pub region_path: Option<String>,
    /// Held on or after.
    pub from: Option<Date>,
    /// Held on or before.
    pub to: Option<Date>,
    /// Keyset cursor: ids below this.
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

fn filter_where(s: &mut Sql, scope: &Scope, f: &ActivityFilter) {
    scope_where(s, scope);
    if !f.states.is_empty() {
        s.push(" AND a.state IN ")
            .bind_list(f.states.iter().cloned());
    }
    if let Some(k) = &f.kind {
        s.push(" AND a.kind = ").bind(k.clone());
    }
    if let Some(id) = f.station_id {
        s.push(" AND a.station_id IN (SELECT id FROM station WHERE id = ")
            .bind(id)
            .push(" OR parent_id = ")
            .bind(id)
            .push(")");
    }
    if let Some(p) = &f.region_path {
        s.push(" AND a.region_path LIKE ").bind(format!("{p}%"));
    }
    if let Some(d) = f.from {
        s.push(" AND a.held_on >= ").bind(d);
    }
    if let Some(d) = f.to {
        s.push(" AND a.held_on <= ").bind(d);
    }
}

/// Activities in a scope, newest first, with the total.
pub async fn list(db: &Db, scope: &Scope, f: &ActivityFilter) -> DbResult<Page<ActivitySummary>> {
    let mut c = Sql::new("SELECT COUNT(*) FROM activity a WHERE 1=1");
    filter_where(&mut c, scope, f);
    let total = c.fetch_count(db).await?;
    let mut s = Sql::new(SUMMARY);
    filter_where(&mut s, scope, f);
    if let Some(b) = f.before_id {
        s.push(" AND a.id < ").bind(b);
    }
    s.push(" ORDER BY a.id DESC LIMIT ").bind(f.limit + 1);
    let mut items: Vec<ActivitySummary> = s.fetch_all(db).await?;
    let next = if items.len() as i64 > f.limit {
        items.truncate(f.limit as usize);
        items.last().map(|a| a.id.to_string())
    } else {
        None
    };
    Ok(Page {
        items,
        total,
        total_capped: false,
        next,
    })
}

/// The public calendar of a station (with its points) or of a region's subtree: announced and
/// later activities (cancelled ones stay, marked), held between `from` and `to`, in time order.
pub async fn public_calendar(
    db: &Db,
    station_id: Option<i64>,
    region_path: Option<&str>,
    from: Date,
    to: Date,
) -> DbResult<Vec<ActivitySummary>> {
    let mut s = Sql::new(SUMMARY);
    s.push(" AND a.state <> 'planned' AND a.held_on >= ")
        .bind(from)
        .push(" AND a.held_on <= ")
        .bind(to);
    if let Some(id) = station_id {
        s.push(" AND a.station_id IN (SELECT id FROM station WHERE id = ")
            .bind(id)
            .push(" OR parent_id = ")
            .bind(id)
            .push(")");
    }
    if let Some(p) = region_path {
        s.push(" AND a.region_path LIKE ").bind(format!("{p}%"));
    }
    s.push(" ORDER BY a.starts_at, a.id LIMIT 500");
    s.fetch_all(db).await
}

/// A deputy's activities for the workbench and the calendar feed: invited ones (with the
/// reply) and those of the resident station, held from `from` on, in time order.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct DeputyActivity {
    /// Id.
    pub id: i64,
    /// Station name.
    pub station_name: String,
    /// Kind code.
    pub kind: String,
    /// State code.
    pub state: String,
    /// Title.
    pub title: String,
    /// Where.
    pub place: String,
    /// Description.
    pub description: String,
    /// Start.
    pub starts_at: OffsetDateTime,
    /// End.
    pub ends_at: OffsetDateTime,
    /// Reply code, when invited.
    pub reply: Option<String>,
    /// Checked in or marked present at.
    pub attended_at: Option<OffsetDateTime>,
}

/// The activities of a deputy held from `from` on; `public_only` leaves out planned ones (the
/// calendar feed is public).
pub async fn for_deputy(
    db: &Db,
    deputy_id: i64,
    from: Date,
    public_only: bool,
) -> DbResult<Vec<DeputyActivity>> {
    let mut s = Sql::new(
        "SELECT a.id, s.name AS station_name, a.kind, a.state, a.title, a.place, a.description, \
         a.starts_at, a.ends_at, ad.reply, att.at AS attended_at \
         FROM activity a JOIN station s ON s.id = a.station_id \
         LEFT JOIN activity_deputy ad ON ad.activity_id = a.id AND ad.deputy_id = ",
    );
    s.bind(deputy_id)
        .push(" LEFT JOIN activity_attendance att ON att.activity_id = a.id AND att.deputy_id = ")
        .bind(deputy_id)
        .push(" WHERE a.held_on >= ")
        .bind(from);
    if public_only {
        s.push(" AND a.state <> 'planned'");
    }
    s.push(" AND (ad.id IS NOT NULL OR att.id IS NOT NULL OR a.station_id = (SELECT dd.station_id FROM deputy dd WHERE dd.id = ")
        .bind(deputy_id)
        .push(")) ORDER BY a.starts_at, a.id LIMIT 300");
    s.fetch_all(db).await
}

/// Activities of a station (and its points) where check-in may be open around `now`: announced
/// or in session, held yesterday, today or tomorrow (the caller applies the exact window).
pub async fn check_in_candidates(
    db: &Db,
    station_id: i64,
    now: OffsetDateTime,
) -> DbResult<Vec<Activity>> {
    let today = activity::china_date(now);
    let mut s = Sql::new(SELECT);
    s.push(" AND a.state IN ('announced', 'in_session') AND a.held_on >= ")
        .bind(today - time::Duration::days(1))
        .push(" AND a.held_on <= ")
        .bind(today + time::Duration::days(1))
        .push(" AND a.station_id IN (SELECT id FROM station WHERE id = ")
        .bind(station_id)
        .push(" OR parent_id = ")
        .bind(station_id)
        .push(") ORDER BY a.starts_at");
    s.fetch_all(db).await
}

// ---------------------------------------------------------------------------------------------
// Invitations, guests, history

/// An invited deputy.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Invitee {
    /// Deputy id.
    pub deputy_id: i64,
    /// Deputy code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Reply code.
    pub reply: String,
    /// Note with the reply (e.g. why they cannot come).
    pub reply_note: String,
    /// The deputy this one substitutes for.
    pub substitute_for: Option<i64>,
    /// Name of that deputy.
    pub substitute_for_name: Option<String>,
    /// When they replied.
    pub replied_at: Option<OffsetDateTime>,
    /// When they checked in or were marked present.
    pub attended_at: Option<OffsetDateTime>,
    /// How (`check_in`, `staff_marked`).
    pub attendance_method: Option<String>,
}

/// Invited deputies, in invitation order.
pub async fn invitees(db: &Db, id: i64) -> DbResult<Vec<Invitee>> {
    let mut s = Sql::new(
        "SELECT ad.deputy_id, d.code, d.name, ad.reply, ad.reply_note, ad.substitute_for, \
         sd.name AS substitute_for_name, ad.replied_at, att.at AS attended_at, \
         att.method AS attendance_method FROM activity_deputy ad JOIN deputy d ON d.id = ad.deputy_id \
         LEFT JOIN deputy sd ON sd.id = ad.substitute_for \
         LEFT JOIN activity_attendance att ON att.activity_id = ad.activity_id AND att.deputy_id = ad.deputy_id \
         WHERE ad.activity_id = ",
    );
    s.bind(id).push(" ORDER BY ad.id");
    s.fetch_all(db).await
}

/// A deputy present who was not invited (walked in, resident at the station).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Attendee {
    /// Deputy id.
    pub deputy_id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// How.
    pub method: String,
    /// When.
    pub at: OffsetDateTime,
}

/// Every deputy present, invited or not.
pub async fn attendees(db: &Db, id: i64) -> DbResult<Vec<Attendee>> {
    let mut s = Sql::new(
        "SELECT att.deputy_id, d.code, d.name, att.method, att.at FROM activity_attendance att \
         JOIN deputy d ON d.id = att.deputy_id WHERE att.activity_id = ",
    );
    s.bind(id).push(" ORDER BY att.at, att.id");
    s.fetch_all(db).await
}

/// An invited official or unit.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Guest {
    /// Unit, if a handling unit is invited.
    pub unit_id: Option<i64>,
    /// Name of the unit or the person.
    pub name: String,
    /// Post of the person.
    pub post: String,
}

/// Invited officials and units.
pub async fn guests(db: &Db, id: i64) -> DbResult<Vec<Guest>> {
    let mut s = Sql::new("SELECT unit_id, name, post FROM activity_guest WHERE activity_id = ");
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// A history entry.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Event {
    /// When.
    pub at: OffsetDateTime,
    /// Who.
    pub actor_name: String,
    /// Action code.
    pub action: String,
    /// Chinese label.
    pub label: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Note (warning, reason).
    pub note: String,
}

/// The history, oldest first.
pub async fn history(db: &Db, id: i64) -> DbResult<Vec<Event>> {
    let mut s = Sql::new(
        "SELECT at, actor_name, action, label, from_state, to_state, note FROM activity_event \
         WHERE activity_id = ",
    );
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// A correction made after the activity happened.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Correction {
    /// When.
    pub at: OffsetDateTime,
    /// Who.
    pub actor_name: String,
    /// Why.
    pub reason: String,
    /// Before (JSON).
    pub before_json: String,
    /// After (JSON).
    pub after_json: String,
}

/// Corrections, oldest first.
pub async fn corrections(db: &Db, id: i64) -> DbResult<Vec<Correction>> {
    let mut s = Sql::new(
        "SELECT at, actor_name, reason, before_json, after_json FROM activity_correction WHERE activity_id = ",
    );
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of the history, spelled out"
)]
async fn event(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    action: &str,
    label: &str,
    from: Option<ActivityState>,
    to: ActivityState,
    note: &str,
) -> DbResult<()> {
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO activity_event (activity_id, at, actor_id, actor_name, action, label, from_state, \
         to_state, note) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
        .bind(id).bind(now()).bind(actor.user_id).bind(&actor.name).bind(action).bind(label)
        .bind(from.map(|s| s.code())).bind(to.code()).bind(note).execute(t).await.map(|_| ()))?;
    Ok(())
}

async fn notify(
    tx: &mut Tx,
    recipient: String,
    template: &str,
    payload: serde_json::Value,
) -> DbResult<()> {
    let at = now();
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO notification (channel, recipient, template, payload, opinion_id, status, attempts, \
         next_attempt_at, created_at) VALUES ('inapp',$1,$2,$3,NULL,'pending',0,$4,$4)")
        .bind(recipient).bind(template).bind(payload.to_string()).bind(at)
        .execute(t).await.map(|_| ()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Duty record

/// One entry for a deputy's duty record (履职档案) that attending or checking in to an activity
/// makes; [`record_duty`] stores them in the transaction of the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DutyEvent {
    /// The deputy.
    pub deputy_id: i64,
    /// Entry type, by the activity's kind, or `check_in`.
    pub kind: DutyKind,
    /// The day it happened (China).
    pub occurred_on: Date,
    /// Title for the record.
    pub title: String,
    /// Source kind: always `activity`.
    pub source_kind: &'static str,
    /// Source id: the activity.
    pub source_id: i64,
}

/// The duty-record entries for deputies present at an activity: a `check_in` entry each when
/// `checked_in` (the deputy's own check-in), otherwise an attendance entry typed by the activity's
/// kind (reception, duty shift, or any other activity attended).
pub fn duty_entries_for_attendance(
    a: &Activity,
    deputy_ids: &[i64],
    checked_in: bool,
) -> Vec<DutyEvent> {
    let kind = if checked_in {
        DutyKind::CheckIn
    } else {
        a.kind().duty_kind()
    };
    deputy_ids
        .iter()
        .map(|&deputy_id| DutyEvent {
            deputy_id,
            kind,
            occurred_on: a.held_on,
            title: format!("{}：{}（{}）", a.kind().label(), a.title, a.station_name),
            source_kind: "activity",
            source_id: a.id,
        })
        .collect()
}

/// Writes duty-record entries in the caller's transaction (once per deputy, kind and activity).
async fn record_duty(tx: &mut Tx, events: &[DutyEvent]) -> DbResult<()> {
    for e in events {
        crate::duty_record::record(
            tx,
            &crate::duty_record::NewDutyEntry {
                deputy_id: e.deputy_id,
                kind: e.kind,
                occurred_on: e.occurred_on,
                title: e.title.clone(),
                detail: String::new(),
                source_kind: e.source_kind.to_owned(),
                source_id: Some(e.source_id),
                link: format!("/work/activities/{}", e.source_id),
                status: liaison_core::duty::DutyStatus::Recorded,
                created_by: None,
            },
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Create and edit

/// An invited official or unit, as entered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewGuest {
    /// Handling unit, if one is invited.
    pub unit_id: Option<i64>,
    /// Unit or person name.
    pub name: String,
    /// Post.
    pub post: String,
}

/// An activity as entered (validated by the caller).
#[derive(Debug, Clone, Serialize)]
pub struct ActivityInput {
    /// Planned item it carries out.
    pub plan_item_id: Option<i64>,
    /// Kind.
    pub kind: ActivityKind,
    /// Theme / title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Where.
    pub place: String,
    /// Organiser.
    pub organiser: String,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// End.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Places for the public.
    pub capacity: Option<i64>,
    /// Public sign-up.
    pub signup_open: bool,
    /// Invited deputies.
    pub deputy_ids: Vec<i64>,
    /// Invited officials and units.
    pub guests: Vec<NewGuest>,
}

/// Why a write on an activity failed.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The lifecycle refused it.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// Check-in refused (state or window).
    #[error("{}", .0.message())]
    CheckIn(CheckInRefusal),
    /// The deputy has checked in (or was marked present) before.
    #[error("您已于{0}签到，无需重复签到")]
    AlreadyCheckedIn(String),
    /// Sign-up not possible now.
    #[error("{0}")]
    SignupClosed(String),
    /// The phone number has a live sign-up for this activity.
    #[error("该手机号已报名本活动（报名号 {0}），无需重复报名；如需取消，请使用报名号")]
    AlreadySignedUp(String),
    /// Input incomplete or wrong, with the field.
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The user has no relation to the item.
    #[error("您无权处理该活动")]
    Forbidden,
    /// Storage failed, or the item is missing or was changed meanwhile.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ActError {
    fn from(e: sqlx::Error) -> Self {
        ActError::Db(e.into())
    }
}

async fn region_path_of(db: &Db, station_id: i64) -> DbResult<String> {
    let mut s =
        Sql::new("SELECT r.path FROM station s JOIN region r ON r.id = s.region_id WHERE s.id = ");
    s.bind(station_id);
    let row: Option<(String,)> = s.fetch_optional(db).await?;
    Ok(row
        .ok_or_else(|| DbError::Invalid("联络站不存在".into()))?
        .0)
}

async fn write_people(tx: &mut Tx, id: i64, input: &ActivityInput) -> DbResult<Vec<i64>> {
    // Replies already given stay; deputies no longer invited lose their invitation.
    let existing: Vec<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT deputy_id FROM activity_deputy WHERE activity_id = $1")
        .bind(id).fetch_all(t).await)?;
    let mut added = Vec::new();
    for d in &input.deputy_ids {
        if !existing.contains(d) {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO activity_deputy (activity_id, deputy_id, reply) VALUES ($1,$2,'pending')")
                .bind(id).bind(*d).execute(t).await.map(|_| ()))?;
            added.push(*d);
        }
    }
    for d in existing {
        if !input.deputy_ids.contains(&d) {
            on_tx!(tx, t => sqlx::query(
                "DELETE FROM activity_deputy WHERE activity_id = $1 AND deputy_id = $2")
                .bind(id).bind(d).execute(t).await.map(|_| ()))?;
        }
    }
    on_tx!(tx, t => sqlx::query("DELETE FROM activity_guest WHERE activity_id = $1")
        .bind(id).execute(t).await.map(|_| ()))?;
    for g in &input.guests {
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO activity_guest (activity_id, unit_id, name, post) VALUES ($1,$2,$3,$4)")
            .bind(id).bind(g.unit_id).bind(&g.name).bind(&g.post).execute(t).await.map(|_| ()))?;
    }
    Ok(added)
}

/// Creates an activity in the planned state, with its invitations, audited.
pub async fn create(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    station_id: i64,
    input: &ActivityInput,
) -> DbResult<i64> {
    let region_path = region_path_of(db, station_id).await?;
    let mut tx = db.begin().await?;
    let at = now();
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO activity (station_id, region_path, plan_item_id, kind, state, title, description, \
         place, organiser, starts_at, ends_at, held_on, capacity, signup_open, created_by, created_at, \
         updated_at) VALUES ($1,$2,$3,$4,'planned',$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15) RETURNING id")
        .bind(station_id).bind(&region_path).bind(input.plan_item_id).bind(input.kind.code())
        .bind(&input.title).bind(&input.description).bind(&input.place).bind(&input.organiser)
        .bind(input.starts_at).bind(input.ends_at).bind(activity::china_date(input.starts_at))
        .bind(input.capacity).bind(input.signup_open).bind(actor.user_id).bind(at)
        .fetch_one(t).await)?;
    write_people(&mut tx, id, input).await?;
    event(
        &mut tx,
        actor,
        id,
        "create",
        "创建活动",
        None,
        ActivityState::Planned,
        "",
    )
    .await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "create",
            entity: "activity",
            entity_id: id.to_string(),
            summary: format!("创建{}“{}”", input.kind.label(), input.title),
            before: None,
            after: Some(serde_json::to_value(input).unwrap_or_default()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn snapshot(a: &Activity, deputies: &[i64], guests: &[Guest]) -> serde_json::Value {
    serde_json::json!({
        "kind": a.kind, "title": a.title, "description": a.description, "place": a.place,
        "organiser": a.organiser, "starts_at": activity::local_minute(a.starts_at),
        "ends_at": activity::local_minute(a.ends_at), "capacity": a.capacity,
        "signup_open": a.signup_open, "plan_item_id": a.plan_item_id, "deputy_ids": deputies,
        "guests": guests.iter().map(|g| serde_json::json!({"unit_id": g.unit_id, "name": g.name, "post": g.post})).collect::<Vec<_>>(),
    })
}

/// Changes an activity. Before it happens this is an edit of the plan (audited); once it has
/// started or its time has come, it is a correction of the record: a reason is required, and the
/// before and after are kept with the activity and in the audit log. Returns whether it was a
/// correction.
pub async fn update(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    input: &ActivityInput,
    reason: Option<&str>,
    expected_version: Option<i64>,
) -> Result<bool, ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    if let Some(v) = expected_version
        && v != a.version
    {
        return Err(ActError::Db(DbError::Stale));
    }
    if a.state() == ActivityState::Cancelled {
        return Err(ActError::Invalid(
            "",
            "活动已取消，不能再修改；如需举办，请新建活动".into(),
        ));
    }
    let correction = activity::is_correction(a.state(), a.starts_at, now());
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if correction && reason.is_none() {
        return Err(ActError::Invalid(
            "reason",
            "活动已经举行，修改将作为更正记录保留（修改前后内容均留痕），请填写更正原因".into(),
        ));
    }
    let old_deputies: Vec<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT deputy_id FROM activity_deputy WHERE activity_id = $1 ORDER BY id")
        .bind(id).fetch_all(t).await)?;
    let old_guests: Vec<Guest> = on_tx!(tx, t => sqlx::query_as(
        "SELECT unit_id, name, post FROM activity_guest WHERE activity_id = $1 ORDER BY id")
        .bind(id).fetch_all(t).await)?;
    let before = snapshot(&a, &old_deputies, &old_guests);
    let at = now();
    on_tx!(tx, t => sqlx::query(
        "UPDATE activity SET plan_item_id = $1, kind = $2, title = $3, description = $4, place = $5, \
         organiser = $6, starts_at = $7, ends_at = $8, held_on = $9, capacity = $10, signup_open = $11, \
         version = version + 1, updated_at = $12 WHERE id = $13")
        .bind(input.plan_item_id).bind(input.kind.code()).bind(&input.title).bind(&input.description)
        .bind(&input.place).bind(&input.organiser).bind(input.starts_at).bind(input.ends_at)
        .bind(activity::china_date(input.starts_at)).bind(input.capacity).bind(input.signup_open)
        .bind(at).bind(id).execute(t).await.map(|_| ()))?;
    let added = write_people(&mut tx, id, input).await?;
    let a2 = get_tx(&mut tx, id).await?;
    let new_guests: Vec<Guest> = input
        .guests
        .iter()
        .map(|g| Guest {
            unit_id: g.unit_id,
            name: g.name.clone(),
            post: g.post.clone(),
        })
        .collect();
    let after = snapshot(&a2, &input.deputy_ids, &new_guests);
    // More places (or no limit any more) let people on the waiting list in.
    promote_waitlist(&mut tx, keys, actor, &a2).await?;
    if a.state() == ActivityState::Announced {
        for d in added {
            notify(
                &mut tx,
                format!("deputy:{d}"),
                "activity.invited",
                serde_json::json!({"title": a2.title, "activity_id": id}),
            )
            .await?;
        }
    }
    if correction {
        let reason = reason.unwrap_or_default();
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO activity_correction (activity_id, at, actor_id, actor_name, reason, before_json, \
             after_json) VALUES ($1,$2,$3,$4,$5,$6,$7)")
            .bind(id).bind(at).bind(actor.user_id).bind(&actor.name).bind(reason)
            .bind(before.to_string()).bind(after.to_string()).execute(t).await.map(|_| ()))?;
        event(
            &mut tx,
            actor,
            id,
            "correct",
            "更正活动信息",
            Some(a.state()),
            a.state(),
            reason,
        )
        .await?;
    } else {
        event(
            &mut tx,
            actor,
            id,
            "update",
            "修改活动信息",
            Some(a.state()),
            a.state(),
            "",
        )
        .await?;
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: if correction { "correct" } else { "update" },
            entity: "activity",
            entity_id: id.to_string(),
            summary: if correction {
                format!(
                    "更正已举行的活动“{}”：{}",
                    a.title,
                    reason.unwrap_or_default()
                )
            } else {
                format!("修改活动“{}”", a.title)
            },
            before: Some(before),
            after: Some(after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(correction)
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

/// Who is acting on an activity.
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    /// A signed-in user.
    User(&'a Principal),
    /// The system (the first check-in starts the activity).
    System,
}

/// Arguments of a lifecycle action.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    /// Minutes (record).
    pub minutes: Option<String>,
    /// Reason (cancel).
    pub reason: Option<String>,
    /// The version the client saw.
    pub expected_version: Option<i64>,
}

/// The result of an action: the activity afterwards and the warning to show (a late notice).
#[derive(Debug, Clone)]
pub struct Acted {
    /// The activity.
    pub activity: Activity,
    /// Warning, if any.
    pub warning: Option<String>,
}

async fn open_items_tx(tx: &mut Tx, kind: &str, id: i64) -> DbResult<i64> {
    let n: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT COUNT(*) FROM follow_up_item WHERE source_kind = $1 AND source_id = $2 AND state = 'open'")
        .bind(kind).bind(id).fetch_one(t).await)?;
    Ok(n)
}

async fn station_parent_tx(tx: &mut Tx, station_id: i64) -> DbResult<Option<i64>> {
    let p: Option<Option<i64>> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT parent_id FROM station WHERE id = $1").bind(station_id).fetch_optional(t).await)?;
    Ok(p.flatten())
}

/// Takes a lifecycle action on an activity, atomically with its history event, audit record,
/// notifications and (when recorded) the duty-record entries of the deputies present.
pub async fn act(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    who: Acting<'_>,
    id: i64,
    action: ActivityAction,
    input: &ActInput,
) -> Result<Acted, ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    if let Some(v) = input.expected_version
        && v != a.version
    {
        return Err(ActError::Db(DbError::Stale));
    }
    let actors = match who {
        Acting::User(p) => {
            let parent = station_parent_tx(&mut tx, a.station_id).await?;
            actors_for(p, &a, parent)
        }
        Acting::System => vec![WfActor::System],
    };
    if actors.is_empty() {
        return Err(ActError::Forbidden);
    }
    let minutes = input
        .minutes
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let at = now();
    let facts = ActivityFacts {
        now: at,
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        has_minutes: minutes.is_some() || !a.minutes.trim().is_empty(),
        open_items: open_items_tx(&mut tx, "activity", id).await?,
        reason: input.reason.clone(),
    };
    let d = activity::decide_activity(a.state(), action, &actors, &facts)?;
    let version = a.version + 1;
    match action {
        ActivityAction::Announce => {
            let hours = activity::notice_hours(at, a.starts_at);
            on_tx!(tx, t => sqlx::query(
                "UPDATE activity SET state = $1, announced_at = $2, notice_hours = $3, late_notice = $4, \
                 version = $5, updated_at = $2 WHERE id = $6")
                .bind(d.to.code()).bind(at).bind(hours).bind(d.warning.is_some()).bind(version).bind(id)
                .execute(t).await.map(|_| ()))?;
            let invited: Vec<i64> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT deputy_id FROM activity_deputy WHERE activity_id = $1 AND reply <> 'declined'")
                .bind(id).fetch_all(t).await)?;
            for dep in invited {
                notify(
                    &mut tx,
                    format!("deputy:{dep}"),
                    "activity.invited",
                    serde_json::json!({"title": a.title, "activity_id": id}),
                )
                .await?;
            }
        }
        ActivityAction::Record => {
            let text = minutes.map_or_else(|| a.minutes.clone(), str::to_owned);
            on_tx!(tx, t => sqlx::query(
                "UPDATE activity SET state = $1, minutes = $2, recorded_at = $3, version = $4, updated_at = $3 \
                 WHERE id = $5")
                .bind(d.to.code()).bind(&text).bind(at).bind(version).bind(id)
                .execute(t).await.map(|_| ()))?;
            let present: Vec<i64> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT deputy_id FROM activity_attendance WHERE activity_id = $1 ORDER BY id")
                .bind(id).fetch_all(t).await)?;
            record_duty(&mut tx, &duty_entries_for_attendance(&a, &present, false)).await?;
        }
        ActivityAction::Report => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE activity SET state = $1, reported_at = $2, version = $3, updated_at = $2 WHERE id = $4")
                .bind(d.to.code()).bind(at).bind(version).bind(id).execute(t).await.map(|_| ()))?;
            notify(
                &mut tx,
                format!("region:{}", a.region_path),
                "activity.reported",
                serde_json::json!({"title": a.title, "activity_id": id}),
            )
            .await?;
        }
        ActivityAction::Cancel => {
            let reason = input.reason.clone().unwrap_or_default();
            on_tx!(tx, t => sqlx::query(
                "UPDATE activity SET state = $1, cancel_reason = $2, version = $3, updated_at = $4 WHERE id = $5")
                .bind(d.to.code()).bind(reason.trim()).bind(version).bind(at).bind(id)
                .execute(t).await.map(|_| ()))?;
            let invited: Vec<i64> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT deputy_id FROM activity_deputy WHERE activity_id = $1").bind(id).fetch_all(t).await)?;
            for dep in invited {
                notify(
                    &mut tx,
                    format!("deputy:{dep}"),
                    "activity.cancelled",
                    serde_json::json!({"title": a.title, "activity_id": id}),
                )
                .await?;
            }
        }
        ActivityAction::Start | ActivityAction::TrackFollowUp => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE activity SET state = $1, version = $2, updated_at = $3 WHERE id = $4")
                .bind(d.to.code()).bind(version).bind(at).bind(id).execute(t).await.map(|_| ()))?;
        }
    }
    let note = match action {
        ActivityAction::Cancel => input.reason.clone().unwrap_or_default(),
        _ => d.warning.clone().unwrap_or_default(),
    };
    event(
        &mut tx,
        actor,
        id,
        action.code(),
        d.label,
        Some(d.from),
        d.to,
        note.trim(),
    )
    .await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: action.code(),
            entity: "activity",
            entity_id: id.to_string(),
            summary: format!("活动“{}”：{}", a.title, d.label),
            before: Some(serde_json::json!({"state": d.from.code()})),
            after: Some(serde_json::json!({
                "state": d.to.code(), "warning": d.warning, "reason": input.reason,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Acted {
        activity: get(db, id).await?,
        warning: d.warning,
    })
}

// ---------------------------------------------------------------------------------------------
// Invitations

/// A deputy answers an invitation: attend, or decline with a note and optionally a substitute,
/// who is invited in their place. Possible until the activity starts.
#[expect(
    clippy::too_many_arguments,
    reason = "the reply with its note and substitute, spelled out"
)]
pub async fn reply_invitation(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    deputy_id: i64,
    reply: InvitationReply,
    note: &str,
    substitute_id: Option<i64>,
) -> Result<(), ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    if !matches!(a.state(), ActivityState::Planned | ActivityState::Announced)
        || now() >= a.starts_at
    {
        return Err(ActError::Rule(RuleError::WrongState {
            state: a.state().code(),
            action: "reply",
            message: "活动已开始或已结束，不能再回复邀请；如有变化，请联系联络站工作人员".into(),
        }));
    }
    let invited: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT id FROM activity_deputy WHERE activity_id = $1 AND deputy_id = $2")
        .bind(id).bind(deputy_id).fetch_optional(t).await)?;
    if invited.is_none() {
        return Err(ActError::Forbidden);
    }
    if reply == InvitationReply::Pending {
        return Err(ActError::Invalid("reply", "请选择参加或请假".into()));
    }
    if let Some(sub) = substitute_id {
        if reply != InvitationReply::Declined {
            return Err(ActError::Invalid(
                "substitute",
                "只有请假时才能推荐代替参加的代表".into(),
            ));
        }
        if sub == deputy_id {
            return Err(ActError::Invalid(
                "substitute",
                "代替参加的代表不能是您本人".into(),
            ));
        }
        let already: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT id FROM activity_deputy WHERE activity_id = $1 AND deputy_id = $2")
            .bind(id).bind(sub).fetch_optional(t).await)?;
        if already.is_some() {
            return Err(ActError::Invalid(
                "substitute",
                "该代表已在受邀名单中，请另选一位代表".into(),
            ));
        }
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO activity_deputy (activity_id, deputy_id, reply, substitute_for) VALUES ($1,$2,'pending',$3)")
            .bind(id).bind(sub).bind(deputy_id).execute(t).await.map(|_| ()))?;
        notify(
            &mut tx,
            format!("deputy:{sub}"),
            "activity.substitute",
            serde_json::json!({"title": a.title, "activity_id": id}),
        )
        .await?;
    }
    on_tx!(tx, t => sqlx::query(
        "UPDATE activity_deputy SET reply = $1, reply_note = $2, replied_at = $3 WHERE activity_id = $4 AND deputy_id = $5")
        .bind(reply.code()).bind(note.trim()).bind(now()).bind(id).bind(deputy_id)
        .execute(t).await.map(|_| ()))?;
    notify(
        &mut tx,
        format!("station:{}", a.station_id),
        "activity.replied",
        serde_json::json!({"title": a.title, "activity_id": id, "reply": reply.code()}),
    )
    .await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "reply_invitation",
            entity: "activity",
            entity_id: id.to_string(),
            summary: format!("代表回复活动“{}”邀请：{}", a.title, reply.label()),
            before: None,
            after: Some(serde_json::json!({
                "deputy_id": deputy_id, "reply": reply.code(), "note": note.trim(),
                "substitute_id": substitute_id,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Attendance

/// Whether a deputy may check in to an activity: invited (and not declined), or resident at its
/// station or the station above it.
async fn may_attend_tx(tx: &mut Tx, a: &Activity, deputy_id: i64) -> DbResult<bool> {
    let n: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT COUNT(*) FROM deputy d WHERE d.id = $1 AND (EXISTS (SELECT 1 FROM activity_deputy ad \
         WHERE ad.activity_id = $2 AND ad.deputy_id = d.id) OR d.station_id = $3 OR d.station_id = \
         (SELECT parent_id FROM station WHERE id = $3))")
        .bind(deputy_id).bind(a.id).bind(a.station_id).fetch_one(t).await)?;
    Ok(n > 0)
}

/// A deputy checks in (signed in, from the station's check-in link): only within the activity's
/// window, once. The first check-in starts an announced activity.
pub async fn check_in(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    deputy_id: i64,
) -> Result<Activity, ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    if !may_attend_tx(&mut tx, &a, deputy_id).await? {
        return Err(ActError::Rule(RuleError::NotPermitted {
            action: "check_in",
            message: "您不在本活动的受邀代表名单中，也不是本联络站的进站代表，不能签到；如需参加，请联系联络站工作人员".into(),
        }));
    }
    let at = now();
    let earlier: Option<OffsetDateTime> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT at FROM activity_attendance WHERE activity_id = $1 AND deputy_id = $2")
        .bind(id).bind(deputy_id).fetch_optional(t).await)?;
    if let Some(when) = earlier {
        return Err(ActError::AlreadyCheckedIn(activity::local_minute(when)));
    }
    activity::check_in_allowed(a.state(), at, a.starts_at, a.ends_at).map_err(ActError::CheckIn)?;
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO activity_attendance (activity_id, deputy_id, method, marked_by, at) VALUES ($1,$2,$3,NULL,$4)")
        .bind(id).bind(deputy_id).bind(AttendanceMethod::CheckIn.code()).bind(at)
        .execute(t).await.map(|_| ()))?;
    if a.state() == ActivityState::Announced {
        let facts = ActivityFacts {
            now: at,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            has_minutes: false,
            open_items: 0,
            reason: None,
        };
        let d = activity::decide_activity(
            a.state(),
            ActivityAction::Start,
            &[WfActor::System],
            &facts,
        )?;
        on_tx!(tx, t => sqlx::query(
            "UPDATE activity SET state = $1, version = version + 1, updated_at = $2 WHERE id = $3")
            .bind(d.to.code()).bind(at).bind(id).execute(t).await.map(|_| ()))?;
        event(
            &mut tx,
            &Actor::system("系统"),
            id,
            "start",
            "首位代表签到，活动开始",
            Some(d.from),
            d.to,
            "",
        )
        .await?;
    }
    record_duty(
        &mut tx,
        &duty_entries_for_attendance(&a, &[deputy_id], true),
    )
    .await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "check_in",
            entity: "activity",
            entity_id: id.to_string(),
            summary: format!("代表签到：活动“{}”", a.title),
            before: None,
            after: Some(serde_json::json!({"deputy_id": deputy_id, "method": "check_in"})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, id).await?)
}

/// Staff mark a deputy present (or remove a wrong mark) once the activity has started.
pub async fn mark_attendance(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    id: i64,
    deputy_id: i64,
    present: bool,
) -> Result<(), ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    let parent = station_parent_tx(&mut tx, a.station_id).await?;
    if actors_for(p, &a, parent).is_empty() {
        return Err(ActError::Forbidden);
    }
    if !a.state().has_happened() && now() < a.starts_at {
        return Err(ActError::Rule(RuleError::WrongState {
            state: a.state().code(),
            action: "mark_attendance",
            message: "活动尚未开始，不能登记出席；活动开始后再登记".into(),
        }));
    }
    if a.state() == ActivityState::Cancelled {
        return Err(ActError::Rule(RuleError::WrongState {
            state: a.state().code(),
            action: "mark_attendance",
            message: "活动已取消，不能登记出席".into(),
        }));
    }
    let exists: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT id FROM activity_attendance WHERE activity_id = $1 AND deputy_id = $2")
        .bind(id).bind(deputy_id).fetch_optional(t).await)?;
    let known: Option<String> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT name FROM deputy WHERE id = $1").bind(deputy_id).fetch_optional(t).await)?;
    let Some(name) = known else {
        return Err(ActError::Invalid("deputy_id", "代表不存在".into()));
    };
    match (present, exists) {
        (true, None) => {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO activity_attendance (activity_id, deputy_id, method, marked_by, at) VALUES ($1,$2,$3,$4,$5)")
                .bind(id).bind(deputy_id).bind(AttendanceMethod::StaffMarked.code()).bind(actor.user_id)
                .bind(now()).execute(t).await.map(|_| ()))?;
            if matches!(
                a.state(),
                ActivityState::Recorded | ActivityState::FollowUp | ActivityState::Reported
            ) {
                record_duty(
                    &mut tx,
                    &duty_entries_for_attendance(&a, &[deputy_id], false),
                )
                .await?;
            }
        }
        (false, Some(row)) => {
            on_tx!(tx, t => sqlx::query("DELETE FROM activity_attendance WHERE id = $1")
                .bind(row).execute(t).await.map(|_| ()))?;
        }
        // Nothing to change: marking twice or removing an absent deputy is harmless.
        _ => {
            return Ok(());
        }
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: if present {
                "mark_attendance"
            } else {
                "unmark_attendance"
            },
            entity: "activity",
            entity_id: id.to_string(),
            summary: format!(
                "{}{}出席活动“{}”",
                if present { "登记" } else { "撤销登记" },
                name,
                a.title
            ),
            before: None,
            after: Some(serde_json::json!({"deputy_id": deputy_id, "present": present})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Public sign-up

/// A sign-up's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SignupOutcome {
    /// The number to quote when cancelling.
    pub signup_no: String,
    /// Confirmed or waitlisted.
    pub status: SignupStatus,
    /// Place on the waiting list (1 = next in).
    pub position: Option<i64>,
}

/// A sign-up as staff see it (name and phone masked).
#[derive(Debug, Clone, Serialize)]
pub struct SignupView {
    /// Id.
    pub id: i64,
    /// Number.
    pub signup_no: String,
    /// Name, masked.
    pub name: String,
    /// Phone, masked.
    pub phone: String,
    /// Status code.
    pub status: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// Moved up from the waiting list at.
    pub promoted_at: Option<OffsetDateTime>,
}

#[derive(FromRow)]
struct SignupRow {
    id: i64,
    activity_id: i64,
    signup_no: String,
    name_enc: String,
    phone_enc: String,
    status: String,
    created_at: OffsetDateTime,
    promoted_at: Option<OffsetDateTime>,
}

const SIGNUP: &str = "SELECT id, activity_id, signup_no, name_enc, phone_enc, status, created_at, \
    promoted_at FROM activity_signup";

/// Sign-ups of an activity, in order, masked.
pub async fn signups(db: &Db, keys: &Keys, id: i64) -> DbResult<Vec<SignupView>> {
    let mut s = Sql::new(SIGNUP);
    s.push(" WHERE activity_id = ")
        .bind(id)
        .push(" ORDER BY id");
    let rows: Vec<SignupRow> = s.fetch_all(db).await?;
    rows.into_iter()
        .map(|r| {
            Ok(SignupView {
                id: r.id,
                signup_no: r.signup_no,
                name: validate::mask_name(&keys.decrypt(&r.name_enc)?),
                phone: validate::mask_phone(&keys.decrypt(&r.phone_enc)?),
                status: r.status,
                created_at: r.created_at,
                promoted_at: r.promoted_at,
            })
        })
        .collect()
}

/// Counts of confirmed and waitlisted sign-ups.
pub async fn signup_counts(db: &Db, id: i64) -> DbResult<(i64, i64)> {
    let mut s = Sql::new(
        "SELECT COUNT(*) FROM activity_signup WHERE status = 'confirmed' AND activity_id = ",
    );
    s.bind(id);
    let confirmed = s.fetch_count(db).await?;
    let mut s = Sql::new(
        "SELECT COUNT(*) FROM activity_signup WHERE status = 'waitlisted' AND activity_id = ",
    );
    s.bind(id);
    Ok((confirmed, s.fetch_count(db).await?))
}

fn signup_no() -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random_range(0..100_000_000);
    format!("BM{n:08}")
}

async fn count_status(tx: &mut Tx, id: i64, status: &str) -> DbResult<i64> {
    let n: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT COUNT(*) FROM activity_signup WHERE activity_id = $1 AND status = $2")
        .bind(id).bind(status).fetch_one(t).await)?;
    Ok(n)
}

/// A citizen signs up (no account): name and mobile are stored encrypted. Beyond the capacity
/// the sign-up goes on the waiting list. One live sign-up per phone and activity.
pub async fn sign_up(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    name: &str,
    phone: &str,
) -> Result<SignupOutcome, ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    activity::signup_allowed(a.state(), a.signup_open, a.starts_at, now())
        .map_err(ActError::SignupClosed)?;
    let idx = keys.blind_index(phone);
    let live: Option<String> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT signup_no FROM activity_signup WHERE activity_id = $1 AND phone_idx = $2 AND status <> 'cancelled'")
        .bind(id).bind(&idx).fetch_optional(t).await)?;
    if let Some(no) = live {
        return Err(ActError::AlreadySignedUp(no));
    }
    let confirmed = count_status(&mut tx, id, "confirmed").await?;
    let status = activity::signup_status(a.capacity, confirmed);
    let no = signup_no();
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO activity_signup (activity_id, signup_no, name_enc, phone_enc, phone_idx, status, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7)")
        .bind(id).bind(&no).bind(keys.encrypt(name)).bind(keys.encrypt(phone)).bind(&idx)
        .bind(status.code()).bind(now()).execute(t).await.map(|_| ()))?;
    let position = if status == SignupStatus::Waitlisted {
        Some(count_status(&mut tx, id, "waitlisted").await?)
    } else {
        None
    };
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "sign_up",
            entity: "activity",
            entity_id: id.to_string(),
            summary: format!("群众报名活动“{}”：{}", a.title, status.label()),
            before: None,
            after: Some(
                serde_json::json!({"signup_no": no, "status": status.code(), "position": position}),
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(SignupOutcome {
        signup_no: no,
        status,
        position,
    })
}

/// Moves people from the waiting list into free places, first come first served.
async fn promote_waitlist(
    tx: &mut Tx,
    keys: &Keys,
    actor: &Actor,
    a: &Activity,
) -> DbResult<Vec<String>> {
    let mut promoted = Vec::new();
    loop {
        let confirmed = count_status(tx, a.id, "confirmed").await?;
        if activity::signup_status(a.capacity, confirmed) == SignupStatus::Waitlisted {
            break;
        }
        let next: Option<(i64, String)> = on_tx!(tx, t => sqlx::query_as(
            "SELECT id, signup_no FROM activity_signup WHERE activity_id = $1 AND status = 'waitlisted' \
             ORDER BY id LIMIT 1").bind(a.id).fetch_optional(t).await)?;
        let Some((sid, no)) = next else { break };
        on_tx!(tx, t => sqlx::query(
            "UPDATE activity_signup SET status = 'confirmed', promoted_at = $1 WHERE id = $2")
            .bind(now()).bind(sid).execute(t).await.map(|_| ()))?;
        audit::append(
            tx,
            keys,
            actor,
            Entry {
                action: "promote_signup",
                entity: "activity",
                entity_id: a.id.to_string(),
                summary: format!("候补报名 {no} 递补为报名成功：活动“{}”", a.title),
                before: Some(serde_json::json!({"signup_no": no, "status": "waitlisted"})),
                after: Some(serde_json::json!({"signup_no": no, "status": "confirmed"})),
            },
        )
        .await?;
        // The promoted citizen is told by SMS; the outbox row commits with the promotion, so a
        // rolled-back promotion sends nothing and a failing gateway loses nothing.
        let at = now();
        let payload = serde_json::json!({
            "title": a.title,
            "activity_id": a.id,
            "signup_no": no,
            "starts": activity::local_minute(a.starts_at),
            "place": a.place,
        });
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO notification (channel, recipient, template, payload, opinion_id, status, attempts, \
             next_attempt_at, created_at) VALUES ('sms',$1,'activity.promoted',$2,NULL,'pending',0,$3,$3)")
            .bind(format!("signup:{sid}")).bind(payload.to_string()).bind(at)
            .execute(t).await.map(|_| ()))?;
        promoted.push(no);
    }
    Ok(promoted)
}

/// The encrypted phone of a sign-up (for the SMS telling the citizen of a promotion).
pub async fn signup_phone_enc(db: &Db, signup_id: i64) -> DbResult<String> {
    let mut s = Sql::new("SELECT phone_enc FROM activity_signup WHERE id = ");
    s.bind(signup_id);
    let r: Option<(String,)> = s.fetch_optional(db).await?;
    r.map(|r| r.0).ok_or(DbError::NotFound)
}

async fn cancel_signup_row(
    tx: &mut Tx,
    keys: &Keys,
    actor: &Actor,
    a: &Activity,
    row: &SignupRow,
) -> Result<Vec<String>, ActError> {
    if row.status == "cancelled" {
        return Err(ActError::Invalid("signup_no", "该报名已取消".into()));
    }
    if a.state().has_happened() || a.state() == ActivityState::Cancelled {
        return Err(ActError::SignupClosed(
            "活动已开始或已结束，不能再取消报名".into(),
        ));
    }
    on_tx!(tx, t => sqlx::query(
        "UPDATE activity_signup SET status = 'cancelled', cancelled_at = $1 WHERE id = $2")
        .bind(now()).bind(row.id).execute(t).await.map(|_| ()))?;
    audit::append(
        tx,
        keys,
        actor,
        Entry {
            action: "cancel_signup",
            entity: "activity",
            entity_id: a.id.to_string(),
            summary: format!("取消报名 {}：活动“{}”", row.signup_no, a.title),
            before: Some(serde_json::json!({"signup_no": row.signup_no, "status": row.status})),
            after: Some(serde_json::json!({"signup_no": row.signup_no, "status": "cancelled"})),
        },
    )
    .await?;
    Ok(promote_waitlist(tx, keys, actor, a).await?)
}

/// The citizen cancels with the sign-up number and the last four digits of the phone. A wrong
/// pair and an unknown number look the same. Returns the numbers moved up from the waiting list.
pub async fn cancel_signup(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    signup_no: &str,
    last4: &str,
) -> Result<Vec<String>, ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    let row: Option<SignupRow> = on_tx!(tx, t => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SIGNUP} WHERE activity_id = $1 AND signup_no = $2")))
        .bind(id).bind(signup_no.trim()).fetch_optional(t).await)?;
    let not_found = || {
        ActError::Invalid(
            "signup_no",
            "未找到该报名：请核对报名号和手机号后四位".into(),
        )
    };
    let row = row.ok_or_else(not_found)?;
    let phone = keys.decrypt(&row.phone_enc).map_err(DbError::from)?;
    if last4.trim().len() != 4 || !phone.ends_with(last4.trim()) {
        return Err(not_found());
    }
    let promoted = cancel_signup_row(&mut tx, keys, actor, &a, &row).await?;
    tx.commit().await?;
    Ok(promoted)
}

/// Staff cancel a sign-up (the citizen phoned in). Returns the numbers moved up.
pub async fn cancel_signup_by_staff(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    signup_id: i64,
) -> Result<Vec<String>, ActError> {
    let mut tx = db.begin().await?;
    let a = get_tx(&mut tx, id).await?;
    let row: Option<SignupRow> = on_tx!(tx, t => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SIGNUP} WHERE activity_id = $1 AND id = $2")))
        .bind(id).bind(signup_id).fetch_optional(t).await)?;
    let row = row.ok_or(ActError::Db(DbError::NotFound))?;
    debug_assert_eq!(row.activity_id, id);
    let promoted = cancel_signup_row(&mut tx, keys, actor, &a, &row).await?;
    tx.commit().await?;
    Ok(promoted)
}

/// Where a citizen's sign-up stands (looked up with the number and the phone's last four
/// digits): status and, when waitlisted, the place in the queue.
pub async fn signup_status(
    db: &Db,
    keys: &Keys,
    id: i64,
    signup_no: &str,
    last4: &str,
) -> DbResult<Option<SignupOutcome>> {
    let mut s = Sql::new(SIGNUP);
    s.push(" WHERE activity_id = ")
        .bind(id)
        .push(" AND signup_no = ")
        .bind(signup_no.trim());
    let Some(row): Option<SignupRow> = s.fetch_optional(db).await? else {
        return Ok(None);
    };
    let phone = keys.decrypt(&row.phone_enc)?;
    if last4.trim().len() != 4 || !phone.ends_with(last4.trim()) {
        return Ok(None);
    }
    let status = SignupStatus::parse(&row.status).unwrap_or(SignupStatus::Cancelled);
    let position = if status == SignupStatus::Waitlisted {
        let mut c = Sql::new(
            "SELECT COUNT(*) FROM activity_signup WHERE status = 'waitlisted' AND activity_id = ",
        );
        c.bind(id).push(" AND id <= ").bind(row.id);
        Some(c.fetch_count(db).await?)
    } else {
        None
    };
    Ok(Some(SignupOutcome {
        signup_no: row.signup_no,
        status,
        position,
    }))
}

// ---------------------------------------------------------------------------------------------
// Photos and linked opinions

/// Stores a sanitised photo of an activity, audited.
pub async fn add_photo(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    photo: (&str, i64, i64, &[u8]),
    caption: &str,
) -> DbResult<i64> {
    let (mime, w, h, bytes) = photo;
    let mut tx = db.begin().await?;
    let pid: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO activity_photo (activity_id, mime, width, height, data, caption, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id")
        .bind(id).bind(mime).bind(w).bind(h).bind(bytes).bind(caption).bind(now())
        .fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "add_photo",
            entity: "activity",
            entity_id: id.to_string(),
            summary: format!("上传活动照片（{w}×{h}）"),
            before: None,
            after: Some(serde_json::json!({"photo_id": pid, "caption": caption})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(pid)
}

/// Photos of an activity: (id, caption).
pub async fn photos(db: &Db, id: i64) -> DbResult<Vec<(i64, String)>> {
    let mut s = Sql::new("SELECT id, caption FROM activity_photo WHERE activity_id = ");
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// A photo: (activity id, mime, bytes).
pub async fn photo(db: &Db, photo_id: i64) -> DbResult<(i64, String, Vec<u8>)> {
    let mut s = Sql::new("SELECT activity_id, mime, data FROM activity_photo WHERE id = ");
    s.bind(photo_id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// An opinion collected at an activity.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct LinkedOpinion {
    /// Id.
    pub id: i64,
    /// Tracking number.
    pub tracking_no: String,
    /// Title.
    pub title: String,
    /// State code.
    pub state: String,
}

/// Opinions entered at an activity (they run in the normal loop).
pub async fn opinions(db: &Db, id: i64) -> DbResult<Vec<LinkedOpinion>> {
    let mut s = Sql::new("SELECT id, tracking_no, title, state FROM opinion WHERE activity_id = ");
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

// ---------------------------------------------------------------------------------------------
// Follow-up items (shared with deliberations)

/// An agreed follow-up item or measure.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct FollowUp {
    /// Id.
    pub id: i64,
    /// `activity` or `deliberation`.
    pub source_kind: String,
    /// The activity or deliberation.
    pub source_id: i64,
    /// Station.
    pub station_id: i64,
    /// Region path (scope).
    pub region_path: String,
    /// What is to be done.
    pub content: String,
    /// Who is responsible.
    pub owner: String,
    /// Responsible handling unit, if one.
    pub owner_unit_id: Option<i64>,
    /// By when.
    pub due_on: Date,
    /// `open` or `done`.
    pub state: String,
    /// How it was done.
    pub done_note: String,
    /// When done.
    pub done_at: Option<OffsetDateTime>,
}

const FOLLOW_UP: &str = "SELECT id, source_kind, source_id, station_id, region_path, content, owner, \
    owner_unit_id, due_on, state, done_note, done_at FROM follow_up_item";

/// Follow-up items of a source, in order.
pub async fn follow_ups(db: &Db, source_kind: &str, source_id: i64) -> DbResult<Vec<FollowUp>> {
    let mut s = Sql::new(FOLLOW_UP);
    s.push(" WHERE source_kind = ")
        .bind(source_kind)
        .push(" AND source_id = ")
        .bind(source_id)
        .push(" ORDER BY id");
    s.fetch_all(db).await
}

/// One follow-up item.
pub async fn follow_up(db: &Db, item_id: i64) -> DbResult<FollowUp> {
    let mut s = Sql::new(FOLLOW_UP);
    s.push(" WHERE id = ").bind(item_id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// A follow-up item as entered (validated by the caller).
#[derive(Debug, Clone, Serialize)]
pub struct NewFollowUp {
    /// What is to be done.
    pub content: String,
    /// Who is responsible.
    pub owner: String,
    /// Responsible handling unit.
    pub owner_unit_id: Option<i64>,
    /// By when.
    pub due_on: Date,
}

/// Where a follow-up item comes from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// `activity` or `deliberation`.
    pub kind: &'static str,
    /// Id.
    pub id: i64,
    /// Station.
    pub station_id: i64,
    /// Region path.
    pub region_path: &'a str,
    /// Title, for the audit summary.
    pub title: &'a str,
}

/// Adds an agreed item with its owner and due date, audited.
pub async fn add_follow_up(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    source: Source<'_>,
    new: &NewFollowUp,
) -> DbResult<i64> {
    let mut tx = db.begin().await?;
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO follow_up_item (source_kind, source_id, station_id, region_path, content, owner, \
         owner_unit_id, due_on, state, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'open',$9,$10) \
         RETURNING id")
        .bind(source.kind).bind(source.id).bind(source.station_id).bind(source.region_path)
        .bind(&new.content).bind(&new.owner).bind(new.owner_unit_id).bind(new.due_on)
        .bind(actor.user_id).bind(now()).fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "add_follow_up",
            entity: source.kind,
            entity_id: source.id.to_string(),
            summary: format!("“{}”新增议定事项：{}", source.title, new.content),
            before: None,
            after: Some(serde_json::json!({"item_id": id, "item": new})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Marks an item done with how it was done, audited. Done items stay done.
pub async fn complete_follow_up(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    item_id: i64,
    note: &str,
) -> Result<FollowUp, ActError> {
    let item = follow_up(db, item_id).await?;
    if item.state == FollowUpState::Done.code() {
        return Err(ActError::Rule(RuleError::WrongState {
            state: "done",
            action: "complete_follow_up",
            message: "该事项已落实，无需重复办结".into(),
        }));
    }
    if note.trim().is_empty() {
        return Err(ActError::Invalid(
            "done_note",
            "请填写落实情况后再办结".into(),
        ));
    }
    let mut tx = db.begin().await?;
    let changed = on_tx!(tx, t => sqlx::query(
        "UPDATE follow_up_item SET state = 'done', done_note = $1, done_at = $2 WHERE id = $3 AND state = 'open'")
        .bind(note.trim()).bind(now()).bind(item_id).execute(t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(ActError::Db(DbError::Stale));
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "complete_follow_up",
            entity: if item.source_kind == "deliberation" {
                "deliberation"
            } else {
                "activity"
            },
            entity_id: item.source_id.to_string(),
            summary: format!("议定事项已落实：{}", item.content),
            before: Some(serde_json::json!({"item_id": item_id, "state": "open"})),
            after: Some(
                serde_json::json!({"item_id": item_id, "state": "done", "note": note.trim()}),
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(follow_up(db, item_id).await?)
}

// ---------------------------------------------------------------------------------------------
// Annual plans

/// An annual activity plan of a station.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Plan {
    /// Id.
    pub id: i64,
    /// Station.
    pub station_id: i64,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station_name: String,
    /// Region path.
    pub region_path: String,
    /// Year.
    pub year: i64,
    /// Title.
    pub title: String,
    /// Note.
    pub note: String,
    /// Planned items.
    pub planned: i64,
    /// Planned items carried out by at least one activity that took place.
    pub carried_out: i64,
}

const PLAN: &str = "SELECT p.id, p.station_id, s.code AS station_code, s.name AS station_name, \
    p.region_path, p.year, p.title, p.note, \
    (SELECT COUNT(*) FROM activity_plan_item i WHERE i.plan_id = p.id) AS planned, \
    (SELECT COUNT(*) FROM activity_plan_item i WHERE i.plan_id = p.id AND EXISTS (SELECT 1 FROM activity a \
      WHERE a.plan_item_id = i.id AND a.state IN ('in_session','recorded','follow_up','reported'))) AS carried_out \
    FROM activity_plan p JOIN station s ON s.id = p.station_id WHERE 1=1";

/// Plans in a scope (read-only for township, county and city), optionally of one year.
pub async fn plans(db: &Db, scope: &Scope, year: Option<i64>) -> DbResult<Vec<Plan>> {
    let mut s = Sql::new(PLAN);
    s.scope_filter(
        scope,
        ScopeColumns {
            region_path: Some("p.region_path"),
            station_id: Some("p.station_id"),
            ..Default::default()
        },
    );
    if let Some(y) = year {
        s.push(" AND p.year = ").bind(y);
    }
    s.push(" ORDER BY p.year DESC, p.station_id LIMIT 500");
    s.fetch_all(db).await
}

/// A plan by id (callers check the scope with [`plan_visible`]).
pub async fn plan(db: &Db, id: i64) -> DbResult<Plan> {
    let mut s = Sql::new(PLAN);
    s.push(" AND p.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// Whether a plan lies in a scope.
pub async fn plan_visible(db: &Db, scope: &Scope, id: i64) -> DbResult<bool> {
    let mut s = Sql::new("SELECT COUNT(*) FROM activity_plan p WHERE p.id = ");
    s.bind(id);
    s.scope_filter(
        scope,
        ScopeColumns {
            region_path: Some("p.region_path"),
            station_id: Some("p.station_id"),
            ..Default::default()
        },
    );
    Ok(s.fetch_count(db).await? > 0)
}

/// A planned item with what happened.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct PlanItem {
    /// Id.
    pub id: i64,
    /// Month 1–12.
    pub month: i64,
    /// Kind code.
    pub kind: String,
    /// Theme.
    pub theme: String,
    /// Note.
    pub note: String,
}

/// Items of a plan by month.
pub async fn plan_items(db: &Db, plan_id: i64) -> DbResult<Vec<PlanItem>> {
    let mut s =
        Sql::new("SELECT id, month, kind, theme, note FROM activity_plan_item WHERE plan_id = ");
    s.bind(plan_id).push(" ORDER BY month, id");
    s.fetch_all(db).await
}

/// Activities of a station in a year (plan against what happened): planned item (if any) and the
/// activity.
pub async fn station_year_activities(
    db: &Db,
    station_id: i64,
    year: i64,
) -> DbResult<Vec<ActivitySummary>> {
    let first = Date::from_calendar_date(year as i32, time::Month::January, 1)
        .map_err(|_| DbError::Invalid("年份无效".into()))?;
    let last = Date::from_calendar_date(year as i32, time::Month::December, 31)
        .map_err(|_| DbError::Invalid("年份无效".into()))?;
    let mut s = Sql::new(SUMMARY);
    s.push(" AND a.station_id = ")
        .bind(station_id)
        .push(" AND a.held_on >= ")
        .bind(first)
        .push(" AND a.held_on <= ")
        .bind(last)
        .push(" ORDER BY a.held_on, a.id");
    s.fetch_all(db).await
}

/// Creates a station's plan for a year, audited. A second plan for the same year is a conflict.
pub async fn create_plan(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    station_id: i64,
    year: i64,
    title: &str,
    note: &str,
) -> DbResult<i64> {
    let region_path = region_path_of(db, station_id).await?;
    let mut tx = db.begin().await?;
    let at = now();
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO activity_plan (station_id, region_path, year, title, note, created_by, created_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$7) RETURNING id")
        .bind(station_id).bind(&region_path).bind(year).bind(title).bind(note).bind(actor.user_id)
        .bind(at).fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "create",
            entity: "activity_plan",
            entity_id: id.to_string(),
            summary: format!("制定{year}年度活动计划“{title}”"),
            before: None,
            after: Some(
                serde_json::json!({"station_id": station_id, "year": year, "title": title}),
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a planned item, audited.
#[expect(clippy::too_many_arguments, reason = "the item's fields, spelled out")]
pub async fn add_plan_item(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    plan_id: i64,
    month: i64,
    kind: ActivityKind,
    theme: &str,
    note: &str,
) -> DbResult<i64> {
    let mut tx = db.begin().await?;
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO activity_plan_item (plan_id, month, kind, theme, note, created_at) VALUES ($1,$2,$3,$4,$5,$6) \
         RETURNING id")
        .bind(plan_id).bind(month).bind(kind.code()).bind(theme).bind(note).bind(now())
        .fetch_one(t).await)?;
    on_tx!(tx, t => sqlx::query("UPDATE activity_plan SET updated_at = $1 WHERE id = $2")
        .bind(now()).bind(plan_id).execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "add_item",
            entity: "activity_plan",
            entity_id: plan_id.to_string(),
            summary: format!("计划{month}月{}：{theme}", kind.label()),
            before: None,
            after: Some(serde_json::json!({"item_id": id, "month": month, "kind": kind.code(), "theme": theme})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Removes a planned item no activity carries out, audited.
pub async fn remove_plan_item(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    plan_id: i64,
    item_id: i64,
) -> Result<(), ActError> {
    let mut tx = db.begin().await?;
    let used: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT COUNT(*) FROM activity WHERE plan_item_id = $1").bind(item_id).fetch_one(t).await)?;
    if used > 0 {
        return Err(ActError::Invalid(
            "item",
            "已有活动落实该计划事项，不能删除；如计划调整，请在备注中说明".into(),
        ));
    }
    let item: Option<(i64, String)> = on_tx!(tx, t => sqlx::query_as(
        "SELECT month, theme FROM activity_plan_item WHERE id = $1 AND plan_id = $2")
        .bind(item_id).bind(plan_id).fetch_optional(t).await)?;
    let Some((month, theme)) = item else {
        return Err(ActError::Db(DbError::NotFound));
    };
    on_tx!(tx, t => sqlx::query("DELETE FROM activity_plan_item WHERE id = $1")
        .bind(item_id).execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "remove_item",
            entity: "activity_plan",
            entity_id: plan_id.to_string(),
            summary: format!("删除计划事项：{month}月 {theme}"),
            before: Some(serde_json::json!({"item_id": item_id, "month": month, "theme": theme})),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Planned items of a station's plans, for the activity form: (item id, "year-month kind theme").
pub async fn plan_item_choices(db: &Db, station_ids: &[i64]) -> DbResult<Vec<(i64, i64, String)>> {
    if station_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Sql::new(
        "SELECT i.id, p.station_id, p.year, i.month, i.kind, i.theme FROM activity_plan_item i \
         JOIN activity_plan p ON p.id = i.plan_id WHERE p.station_id IN (",
    );
    for (n, id) in station_ids.iter().enumerate() {
        if n > 0 {
            s.push(",");
        }
        s.bind(*id);
    }
    s.push(") ORDER BY p.year DESC, i.month, i.id LIMIT 500");
    let rows: Vec<(i64, i64, i64, i64, String, String)> = s.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(id, station, year, month, kind, theme)| {
            let k = ActivityKind::parse(&kind).map_or("", ActivityKind::label);
            (id, station, format!("{year}年{month}月 {k}：{theme}"))
        })
        .collect())
}

/// The name of an active handling unit, if it exists.
pub async fn unit_name(db: &Db, unit_id: i64) -> DbResult<Option<String>> {
    let mut s = Sql::new("SELECT name FROM handling_unit WHERE active = TRUE AND id = ");
    s.bind(unit_id);
    let r: Option<(String,)> = s.fetch_optional(db).await?;
    Ok(r.map(|r| r.0))
}

/// The station of a planned item.
pub async fn plan_item_station(db: &Db, item_id: i64) -> DbResult<Option<i64>> {
    let mut s = Sql::new(
        "SELECT p.station_id FROM activity_plan_item i JOIN activity_plan p ON p.id = i.plan_id WHERE i.id = ",
    );
    s.bind(item_id);
    let r: Option<(i64,)> = s.fetch_optional(db).await?;
    Ok(r.map(|r| r.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn sample() -> Activity {
        Activity {
            id: 7,
            station_id: 3,
            station_code: "JJ-HM".into(),
            station_name: "海门街道人大代表联络站".into(),
            region_path: "/1/2/3/".into(),
            plan_item_id: None,
            kind: "reception_day".into(),
            state: "recorded".into(),
            title: "老旧小区改造".into(),
            description: String::new(),
            place: "二楼".into(),
            organiser: "海门街道人大工委".into(),
            starts_at: datetime!(2026-05-15 01:00 UTC),
            ends_at: datetime!(2026-05-15 03:00 UTC),
            held_on: date!(2026 - 05 - 15),
            capacity: None,
            signup_open: false,
            announced_at: None,
            notice_hours: None,
            late_notice: false,
            minutes: String::new(),
            recorded_at: None,
            reported_at: None,
            cancel_reason: String::new(),
            version: 1,
            created_at: datetime!(2026-05-01 00:00 UTC),
            updated_at: datetime!(2026-05-01 00:00 UTC),
        }
    }

    #[test]
    fn attendance_becomes_typed_duty_entries_with_their_source() {
        let a = sample();
        let e = duty_entries_for_attendance(&a, &[11, 12], false);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].kind, DutyKind::Reception);
        assert_eq!(e[1].deputy_id, 12);
        assert_eq!(e[0].occurred_on, date!(2026 - 05 - 15));
        assert_eq!((e[0].source_kind, e[0].source_id), ("activity", 7));
        assert!(e[0].title.contains("代表接待日") && e[0].title.contains("老旧小区改造"));
        let c = duty_entries_for_attendance(&a, &[11], true);
        assert_eq!(c[0].kind, DutyKind::CheckIn);
        let mut shift = sample();
        shift.kind = "duty_shift".into();
        assert_eq!(
            duty_entries_for_attendance(&shift, &[1], false)[0].kind,
            DutyKind::DutyShift
        );
    }
}
