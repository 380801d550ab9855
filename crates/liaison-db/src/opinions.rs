//! 民意收集处理: storage of opinions and the application of workflow decisions.
//!
//! The workflow engine (`liaison_core::workflow`) decides; this module reads the facts it needs,
//! applies its [`Decision`] — new state, deadlines, units, replies, ratings, supervision cases,
//! notifications — together with a timeline event and an audit record, in one transaction.
//! Concurrent actions on one item are serialised by the write lock (SQLite) or a row lock
//! (PostgreSQL), so of two clerks acting at once one wins and the other is told the new state.

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, TxInner, now};
use crate::directory::Page;
use crate::error::{DbError, DbResult};
use crate::handling::{self, Item, TimelineEvent};
use crate::sql::{Arg, Sql};
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use liaison_core::sla::{SlaTable, Urgency};
use liaison_core::workdays::Calendar;
use liaison_core::workflow::{
    self, Actor as WfActor, Args, Context, Decision, DueKind, Effect, Facts, OPINION_RULES,
    OpinionAction, OpinionState, ResolutionGrade, Satisfaction,
};
use serde::Serialize;
use sqlx::FromRow;
use time::Date;

/// The channel an opinion came in by.
pub const CHANNELS: &[(&str, &str)] = &[
    ("qr_station", "扫联络站码"),
    ("qr_deputy", "扫代表码"),
    ("web", "网站"),
    ("walk_in", "来站反映"),
    ("reception", "代表接待"),
    ("phone", "电话"),
    ("paper", "书面材料"),
    ("grid", "网格员走访"),
    ("deputy", "代表收集"),
    ("open311", "Open311接口"),
    ("api", "数据接口"),
];

/// Chinese label of a channel code.
pub fn channel_label(code: &str) -> &'static str {
    CHANNELS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("其他", |(_, l)| l)
}

pub use crate::handling::{ActError, Acting, Rules, today};

/// A new opinion, validated by the caller.
#[derive(Debug, Clone, Default)]
pub struct NewOpinion {
    /// Station that receives it.
    pub station_id: i64,
    /// Deputy it is addressed to (代表码), if any.
    pub deputy_id: Option<i64>,
    /// Channel code.
    pub channel: String,
    /// Title (derived from the body when the citizen gave none).
    pub title: String,
    /// What happened.
    pub body: String,
    /// Where.
    pub place: String,
    /// Suggested category (classifier).
    pub category_suggested: String,
    /// Classifier confidence.
    pub category_confidence: f64,
    /// `normal` or `urgent`.
    pub urgency: String,
    /// Submitter's name (encrypted here).
    pub name: String,
    /// Submitter's mobile (encrypted here).
    pub phone: String,
    /// Anonymous submission.
    pub anonymous: bool,
    /// Keep the submitter's identity confidential.
    pub confidential: bool,
    /// The submitter agrees the item and its reply may be published.
    pub publishable: bool,
    /// The staff member who entered it for a citizen (代录).
    pub entered_by: Option<i64>,
    /// Client key that makes a retried submission land once.
    pub idempotency_key: Option<String>,
    /// Segmented text for full-text search.
    pub search_text: String,
    /// Sanitised photos: (mime, width, height, bytes).
    pub photos: Vec<(String, i64, i64, Vec<u8>)>,
    /// The activity (reception, themed activity…) it was collected at, if any.
    pub activity_id: Option<i64>,
}

/// The result of an intake.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// Id.
    pub id: i64,
    /// Tracking number for the citizen.
    pub tracking_no: String,
    /// The same idempotency key was seen before: this is the earlier submission.
    pub replayed: bool,
}

/// An opinion row.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Opinion {
    /// Id.
    pub id: i64,
    /// Tracking number.
    pub tracking_no: String,
    /// Station.
    pub station_id: i64,
    /// Station name.
    pub station_name: String,
    /// Station code.
    pub station_code: String,
    /// Addressed deputy.
    pub deputy_id: Option<i64>,
    /// Addressed deputy's name.
    pub deputy_name: Option<String>,
    /// Region path (scope).
    pub region_path: String,
    /// Channel code.
    pub channel: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Place.
    pub place: String,
    /// Confirmed category.
    pub category: String,
    /// Suggested category.
    pub category_suggested: String,
    /// Classifier confidence.
    pub category_confidence: f64,
    /// Urgency code.
    pub urgency: String,
    /// Encrypted name.
    #[serde(skip)]
    pub submitter_name_enc: String,
    /// Encrypted phone.
    #[serde(skip)]
    pub submitter_phone_enc: String,
    /// Anonymous.
    pub anonymous: bool,
    /// Confidential.
    pub confidential: bool,
    /// May be published.
    pub publishable: bool,
    /// State code.
    pub state: String,
    /// Handling round (1, or more after re-handling).
    pub round: i64,
    /// Lead unit.
    pub lead_unit_id: Option<i64>,
    /// Lead unit's name.
    pub lead_unit_name: Option<String>,
    /// Which deadline `due_on` is.
    pub due_kind: Option<String>,
    /// The deadline of the current step.
    pub due_on: Option<Date>,
    /// The reply deadline in force.
    pub reply_due_on: Option<Date>,
    /// Day of the current assignment.
    pub assigned_on: Option<Date>,
    /// Day the result was sent to the submitter.
    pub feedback_sent_on: Option<Date>,
    /// Extensions granted.
    pub extensions_used: i64,
    /// Re-handling rounds.
    pub rehandle_rounds: i64,
    /// Latest rating code.
    pub last_rating: Option<String>,
    /// Latest reply grade.
    pub last_grade: Option<String>,
    /// Master item if merged.
    pub master_id: Option<i64>,
    /// Who entered it for the citizen.
    pub entered_by: Option<i64>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Received.
    pub created_at: time::OffsetDateTime,
    /// Last change.
    pub updated_at: time::OffsetDateTime,
}

impl Opinion {
    /// The state, parsed.
    pub fn state(&self) -> OpinionState {
        OpinionState::parse(&self.state).unwrap_or(OpinionState::Submitted)
    }

    /// The facts the workflow guards need.
    pub fn facts(&self) -> Facts {
        Facts {
            assigned_on: self.assigned_on,
            due_on: self.reply_due_on,
            feedback_sent_on: self.feedback_sent_on,
            extensions_used: self.extensions_used as u32,
            rehandle_rounds: self.rehandle_rounds as u32,
            last_rating: self.last_rating.as_deref().and_then(Satisfaction::parse),
            last_grade: self.last_grade.as_deref().and_then(ResolutionGrade::parse),
            registration: None,
        }
    }

    /// Urgency, parsed.
    pub fn urgency(&self) -> Urgency {
        Urgency::parse(&self.urgency).unwrap_or(Urgency::Normal)
    }
}

/// The texts are LEFT JOINed: an intake batch writes them after all of its rows.
const SELECT: &str = "SELECT o.id, o.tracking_no, o.station_id, s.name AS station_name, \
    s.code AS station_code, o.deputy_id, d.name AS deputy_name, o.region_path, o.channel, o.title, \
    COALESCE(t.body, '') AS body, o.place, o.category, o.category_suggested, o.category_confidence, o.urgency, \
    o.submitter_name_enc, o.submitter_phone_enc, o.anonymous, o.confidential, o.publishable, \
    o.state, o.round, o.lead_unit_id, u.name AS lead_unit_name, o.due_kind, o.due_on, \
    o.reply_due_on, o.assigned_on, o.feedback_sent_on, o.extensions_used, o.rehandle_rounds, \
    o.last_rating, o.last_grade, o.master_id, o.entered_by, o.version, o.created_at, o.updated_at \
    FROM opinion o LEFT JOIN opinion_text t ON t.opinion_id = o.id JOIN station s ON s.id = o.station_id \
    LEFT JOIN deputy d ON d.id = o.deputy_id \
    LEFT JOIN handling_unit u ON u.id = o.lead_unit_id WHERE 1=1";

/// An opinion by id (no scope check: callers check with [`visible_to`] or [`actors_for`]).
pub async fn get(db: &Db, id: i64) -> DbResult<Opinion> {
    let mut s = Sql::new(SELECT);
    s.push(" AND o.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// An opinion by tracking number.
pub async fn by_tracking_no(db: &Db, tracking_no: &str) -> DbResult<Option<Opinion>> {
    let mut s = Sql::new(SELECT);
    s.push(" AND o.tracking_no = ").bind(tracking_no);
    s.fetch_optional(db).await
}

/// What the public list of published items asks for (Open311 `GET requests`). Empty lists and
/// `None` do not narrow it.
#[derive(Debug, Clone, Default)]
pub struct PublishedFilter {
    /// Only these tracking numbers.
    pub tracking_nos: Vec<String>,
    /// Only items received by this station.
    pub station_id: Option<i64>,
    /// Only this category (its Chinese name): the confirmed one, else the suggested one.
    pub category: Option<String>,
    /// Only items in one of these states (codes).
    pub states: Vec<String>,
    /// Received at or after.
    pub from: Option<time::OffsetDateTime>,
    /// Received at or before.
    pub to: Option<time::OffsetDateTime>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// Items whose submitters allowed publication and did not ask for confidentiality, newest
/// first. No scope: these are public. The caller shows only what is public of them.
pub async fn published(db: &Db, f: &PublishedFilter) -> DbResult<Vec<Opinion>> {
    let mut s = Sql::new(SELECT);
    // Spelled as the predicate of the index `opinion_published` (migration 0018).
    s.push(" AND o.publishable = TRUE AND o.confidential = FALSE");
    if !f.tracking_nos.is_empty() {
        s.push(" AND o.tracking_no IN ")
            .bind_list(f.tracking_nos.iter().cloned());
    }
    if let Some(id) = f.station_id {
        s.push(" AND o.station_id = ").bind(id);
    }
    // On SQLite a unary `+` keeps the category and state conditions away from their indexes:
    // without statistics its planner read every item of the asked states through
    // `opinion_state_region` and sorted them (0.7 s on the 1 M set) instead of walking the
    // window in `opinion_published` and stopping at the limit (docs/benchmarks.md, thirteenth
    // pass). PostgreSQL has statistics and no unary `+` for text.
    let sqlite = db.backend() == crate::Backend::Sqlite;
    if let Some(c) = &f.category {
        s.push(if sqlite { " AND +" } else { " AND " })
            .push("(CASE WHEN o.category = '' THEN o.category_suggested ELSE o.category END) = ")
            .bind(c.clone());
    }
    if !f.states.is_empty() {
        s.push(if sqlite {
            " AND +o.state IN "
        } else {
            " AND o.state IN "
        })
        .bind_list(f.states.iter().cloned());
    }
    // In UTC, as the rows hold it: SQLite compares the times as text.
    if let Some(from) = f.from {
        s.push(" AND o.created_at >= ")
            .bind(from.to_offset(time::UtcOffset::UTC));
    }
    if let Some(to) = f.to {
        s.push(" AND o.created_at <= ")
            .bind(to.to_offset(time::UtcOffset::UTC));
    }
    // In the order of the index `opinion_published`, read backwards.
    s.push(" ORDER BY o.created_at DESC, o.id DESC LIMIT ")
        .bind(f.limit);
    s.fetch_all(db).await
}

/// [`SELECT`] without the body, for the citizen's tracking lookup: the most frequent public
/// read, which shows the state, the timeline and the replies but never the body, so it skips
/// the text table.
static SELECT_WITHOUT_BODY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    SELECT
        .replace("COALESCE(t.body, '') AS body", "'' AS body")
        .replace(" LEFT JOIN opinion_text t ON t.opinion_id = o.id", "")
});

pub(crate) async fn get_tx(tx: &mut Tx, id: i64) -> DbResult<Opinion> {
    let sql_sqlite = format!("{SELECT} AND o.id = $1");
    let r: Option<Opinion> = match &mut tx.inner {
        TxInner::Sqlite(t) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql_sqlite))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
        TxInner::Postgres(t) => {
            // Lock the row for the rest of the transaction.
            let sql = format!("{SELECT} AND o.id = $1 FOR UPDATE OF o");
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
    };
    r.ok_or(DbError::NotFound)
}

/// The handling units of an opinion (current and past rounds).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct UnitAssignment {
    /// Unit id.
    pub unit_id: i64,
    /// Unit name.
    pub unit_name: String,
    /// Lead (主办) or co-unit (协办).
    pub is_lead: bool,
    /// Round.
    pub round: i64,
    /// Still assigned.
    pub active: bool,
    /// When assigned.
    pub assigned_at: time::OffsetDateTime,
    /// When acknowledged.
    pub acknowledged_at: Option<time::OffsetDateTime>,
}

/// Units of an opinion.
pub async fn units(db: &Db, id: i64) -> DbResult<Vec<UnitAssignment>> {
    let mut s = Sql::new(
        "SELECT ou.unit_id, u.name AS unit_name, ou.is_lead, ou.round, ou.active, ou.assigned_at, \
         ou.acknowledged_at FROM opinion_unit ou JOIN handling_unit u ON u.id = ou.unit_id \
         WHERE ou.opinion_id = ",
    );
    s.bind(id).push(" ORDER BY ou.id");
    s.fetch_all(db).await
}

/// Which workflow actors `p` is for an opinion. Empty: no relation, no access.
pub fn actors_for(
    p: &Principal,
    o: &Opinion,
    units: &[UnitAssignment],
    station_parent: Option<i64>,
) -> Vec<WfActor> {
    let mut out = Vec::new();
    match p.role {
        Role::StationStaff => {
            if p.station_id == Some(o.station_id)
                || (station_parent.is_some() && p.station_id == station_parent)
            {
                out.push(WfActor::StationStaff);
            }
        }
        Role::TownshipStaff | Role::CountyStaff | Role::CityStaff => {
            if let Some((_, path)) = &p.region
                && o.region_path.starts_with(path.as_str())
            {
                // Township congress staff run their stations; county and city offices supervise
                // and may act for a station of theirs.
                out.push(WfActor::StationStaff);
                out.push(WfActor::Supervisor);
            }
        }
        Role::Deputy => {
            if p.deputy_id.is_some() && p.deputy_id == o.deputy_id {
                out.push(WfActor::Deputy);
            }
        }
        Role::UnitOfficer | Role::UnitLead => {
            out.extend(crate::handling::unit_actors(
                p,
                units
                    .iter()
                    .filter(|u| u.active)
                    .map(|u| (u.unit_id, u.is_lead)),
            ));
        }
        // Grid workers record opinions for citizens; the station handles them.
        Role::GridWorker
        | Role::SystemAdmin
        | Role::SecurityAdmin
        | Role::AuditAdmin
        | Role::Citizen => {}
    }
    out.dedup();
    out
}

/// Whether `p` may see the opinion at all (any relation, or a past assignment of their unit).
pub fn visible_to(
    p: &Principal,
    o: &Opinion,
    units: &[UnitAssignment],
    station_parent: Option<i64>,
) -> bool {
    !actors_for(p, o, units, station_parent).is_empty()
        || matches!(p.role, Role::UnitOfficer | Role::UnitLead)
            && units.iter().any(|u| Some(u.unit_id) == p.unit_id)
        || p.role == Role::GridWorker && o.entered_by == Some(p.user_id)
}

/// Whether the submitter's identity (even masked) must be kept from `p`: the item is anonymous,
/// or the submitter asked for confidentiality and `p` works for a handling unit. One rule for
/// the page and the API, so they cannot drift apart.
pub fn identity_hidden_from(p: &Principal, o: &Opinion) -> bool {
    o.anonymous || o.confidential && matches!(p.role, Role::UnitOfficer | Role::UnitLead)
}

/// A timeline event.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Event {
    /// Id.
    pub id: i64,
    /// When.
    pub at: time::OffsetDateTime,
    /// Actor's name.
    pub actor_name: String,
    /// Actor's role code.
    pub actor_role: String,
    /// Action code.
    pub action: String,
    /// Chinese label.
    pub label: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Internal note.
    pub note: String,
    /// Note the submitter may see.
    pub public_note: String,
}

/// The timeline, oldest first.
pub async fn timeline(db: &Db, id: i64) -> DbResult<Vec<Event>> {
    let mut s = Sql::new(
        "SELECT id, at, actor_name, actor_role, action, label, from_state, to_state, note, public_note \
         FROM opinion_event WHERE opinion_id = ",
    );
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// What the submitter's tracking view shows of an item besides its row.
#[derive(Debug, Clone, Default)]
pub struct TrackingRecord {
    /// The timeline, oldest first (only what the view shows is filled: id, time, label, state
    /// after and the public note).
    pub timeline: Vec<Event>,
    /// Every reply, oldest first.
    pub replies: Vec<Reply>,
    /// The follow-up questions, oldest first.
    pub follow_ups: Vec<crate::follow_ups::FollowUp>,
}

/// One row of [`tracking_record`]'s union: `kind` says which list it belongs to, and the
/// generic columns hold that list's fields.
#[derive(FromRow)]
struct TrackingRow {
    kind: String,
    id: i64,
    at: time::OffsetDateTime,
    at2: Option<time::OffsetDateTime>,
    round: i64,
    s1: Option<String>,
    s2: String,
    s3: String,
    s4: String,
    s5: String,
}

/// The union behind [`tracking_record`] and [`track_with_record`]: the timeline, the replies
/// and the follow-up questions of the item whose id `item` pushes (a bound id or a subquery),
/// as [`TrackingRow`]s.
fn push_tracking_union(s: &mut Sql, item: impl Fn(&mut Sql)) {
    s.push(
        "SELECT 'e' AS kind, id, at, CAST(NULL AS TIMESTAMPTZ) AS at2, CAST(0 AS BIGINT) AS round, \
         label AS s1, to_state AS s2, public_note AS s3, '' AS s4, '' AS s5 \
         FROM opinion_event WHERE opinion_id = ",
    );
    item(s);
    s.push(
        // The unit's name by a subquery, not a join: PostgreSQL hashed the whole unit table
        // for the join on every lookup, which made the statement cost half as much again
        // (docs/benchmarks.md, eighth pass).
        " UNION ALL SELECT 'r', r.id, r.created_at, NULL, r.round, \
         (SELECT u.name FROM handling_unit u WHERE u.id = r.unit_id), r.content, \
         r.resolution_grade, r.status, r.review_note FROM opinion_reply r WHERE r.opinion_id = ",
    );
    item(s);
    s.push(
        " UNION ALL SELECT 'f', id, asked_at, answered_at, round, content, answer, answerer, \
         '', '' FROM opinion_follow_up WHERE opinion_id = ",
    );
    item(s);
}

/// Sorts [`TrackingRow`]s (ordered by kind and id) into their lists.
fn tracking_record_of(id: i64, rows: impl IntoIterator<Item = TrackingRow>) -> TrackingRecord {
    let mut out = TrackingRecord::default();
    for r in rows {
        match r.kind.as_str() {
            "e" => out.timeline.push(Event {
                id: r.id,
                at: r.at,
                actor_name: String::new(),
                actor_role: String::new(),
                action: String::new(),
                label: r.s1.unwrap_or_default(),
                from_state: None,
                to_state: r.s2,
                note: String::new(),
                public_note: r.s3,
            }),
            "r" => out.replies.push(Reply {
                id: r.id,
                round: r.round,
                unit_name: r.s1,
                content: r.s2,
                resolution_grade: r.s3,
                status: r.s4,
                review_note: r.s5,
                created_at: r.at,
            }),
            _ => out.follow_ups.push(crate::follow_ups::FollowUp {
                id: r.id,
                opinion_id: id,
                round: r.round,
                content: r.s1.unwrap_or_default(),
                asked_at: r.at,
                answer: r.s2,
                answerer: r.s3,
                answered_at: r.at2,
            }),
        }
    }
    out
}

/// The timeline, the replies and the follow-up questions of an item in one statement.
/// Tracking is the most frequent public read, and on SQLite every statement is a round trip to
/// a connection's thread: one instead of three cut its server time by a third (docs/benchmarks.md,
/// fourth pass).
pub async fn tracking_record(db: &Db, id: i64) -> DbResult<TrackingRecord> {
    let mut s = Sql::new("");
    push_tracking_union(&mut s, |s| {
        s.bind(id);
    });
    s.push(" ORDER BY kind, id");
    let rows: Vec<TrackingRow> = s.fetch_all(db).await?;
    Ok(tracking_record_of(id, rows))
}

/// One row of [`track_with_record`]: the item (without its body) beside one row of its
/// [`TrackingRow`] union, or beside nulls when the union is empty.
#[derive(FromRow)]
struct TrackedRow {
    #[sqlx(flatten)]
    opinion: Opinion,
    r_kind: Option<String>,
    r_id: Option<i64>,
    r_at: Option<time::OffsetDateTime>,
    r_at2: Option<time::OffsetDateTime>,
    r_round: Option<i64>,
    r_s1: Option<String>,
    r_s2: Option<String>,
    r_s3: Option<String>,
    r_s4: Option<String>,
    r_s5: Option<String>,
}

/// [`track`] and [`tracking_record`], for the citizen's tracking view. On PostgreSQL in one
/// statement, the item's row repeated beside each row of its record: there every statement is a
/// round trip to a server process, and one statement instead of two served 6–13 % more lookups
/// in five of six alternating runs (the sixth: 1 % fewer).
/// SQLite keeps the two, which its planner runs faster than the join (docs/benchmarks.md, eighth
/// pass). `None` as for [`track`].
pub async fn track_with_record(
    db: &Db,
    keys: &Keys,
    tracking_no: &str,
    last4: &str,
) -> DbResult<Option<(Opinion, TrackingRecord)>> {
    if db.backend() == crate::Backend::Sqlite {
        let Some(o) = track(db, keys, tracking_no, last4).await? else {
            return Ok(None);
        };
        let record = tracking_record(db, o.id).await?;
        return Ok(Some((o, record)));
    }
    // Typed by citizens: `lz…` is the same number.
    let upper = tracking_no.trim().to_uppercase();
    let tracking_no = upper.as_str();
    let (columns, from) = SELECT_WITHOUT_BODY
        .split_once(" FROM ")
        .expect("SELECT_WITHOUT_BODY has a FROM");
    let from = from
        .strip_suffix(" WHERE 1=1")
        .expect("ends with WHERE 1=1");
    let mut s = Sql::new(columns);
    s.push(
        ", r.kind AS r_kind, r.id AS r_id, r.at AS r_at, r.at2 AS r_at2, r.round AS r_round, \
         r.s1 AS r_s1, r.s2 AS r_s2, r.s3 AS r_s3, r.s4 AS r_s4, r.s5 AS r_s5 FROM ",
    )
    .push(from)
    // The record is found by the number too, not by `o.id`, so that the derived table is not
    // correlated; the number's index answers each probe.
    .push(" LEFT JOIN (");
    push_tracking_union(&mut s, |s| {
        s.push("(SELECT id FROM opinion WHERE tracking_no = ")
            .bind(tracking_no)
            .push(")");
    });
    s.push(") r ON 1=1 WHERE o.tracking_no = ")
        .bind(tracking_no)
        .push(" ORDER BY r.kind, r.id");
    let rows: Vec<TrackedRow> = s.fetch_all(db).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    if !phone_ends_with(keys, &first.opinion, last4)? {
        return Ok(None);
    }
    let opinion = first.opinion.clone();
    let record = tracking_record_of(
        opinion.id,
        rows.into_iter().filter_map(|r| {
            Some(TrackingRow {
                kind: r.r_kind?,
                id: r.r_id?,
                at: r.r_at?,
                at2: r.r_at2,
                round: r.r_round.unwrap_or_default(),
                s1: r.r_s1,
                s2: r.r_s2.unwrap_or_default(),
                s3: r.r_s3.unwrap_or_default(),
                s4: r.r_s4.unwrap_or_default(),
                s5: r.r_s5.unwrap_or_default(),
            })
        }),
    );
    Ok(Some((opinion, record)))
}

/// A reply of a handling unit (or an answer given on the spot).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Reply {
    /// Id.
    pub id: i64,
    /// Round.
    pub round: i64,
    /// Unit name (none for an on-the-spot answer).
    pub unit_name: Option<String>,
    /// Text.
    pub content: String,
    /// Grade A/B/C/D.
    pub resolution_grade: String,
    /// `pending_review`, `approved`, `rejected`.
    pub status: String,
    /// Reviewer's note.
    pub review_note: String,
    /// Written.
    pub created_at: time::OffsetDateTime,
}

/// Replies, oldest first.
pub async fn replies(db: &Db, id: i64) -> DbResult<Vec<Reply>> {
    let mut s = Sql::new(
        "SELECT r.id, r.round, u.name AS unit_name, r.content, r.resolution_grade, r.status, \
         r.review_note, r.created_at FROM opinion_reply r LEFT JOIN handling_unit u ON u.id = r.unit_id \
         WHERE r.opinion_id = ",
    );
    s.bind(id).push(" ORDER BY r.id");
    s.fetch_all(db).await
}

/// Ids of a photo set.
pub async fn photo_ids(db: &Db, id: i64) -> DbResult<Vec<i64>> {
    let mut s = Sql::new("SELECT id FROM opinion_photo WHERE opinion_id = ");
    s.bind(id).push(" ORDER BY id");
    let rows: Vec<(i64,)> = s.fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A photo: (opinion id, mime, bytes).
pub async fn photo(db: &Db, photo_id: i64) -> DbResult<(i64, String, Vec<u8>)> {
    let mut s = Sql::new("SELECT opinion_id, mime, data FROM opinion_photo WHERE id = ");
    s.bind(photo_id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

fn tracking_no(today: Date) -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random_range(0..1_000_000);
    format!(
        "LZ{:02}{:02}{:02}{:06}",
        today.year() % 100,
        today.month() as u8,
        today.day(),
        n
    )
}

/// The workflow context of an opinion (or of a new one).
/// The workflow context of an item today: its urgency, facts and category (deadlines may
/// differ per category). Pages and the API build theirs here too, so that the dates they offer
/// are the ones the engine would set.
pub fn context<'b>(rules: &'b Rules<'_>, o: Option<&'b Opinion>) -> Context<'b> {
    let mut ctx = rules.context();
    if let Some(o) = o {
        ctx.urgency = o.urgency();
        ctx.facts = o.facts();
        // Deadlines may differ per category; an unknown one falls back to the default row.
        if !o.category.is_empty() {
            ctx.category = &o.category;
        }
    }
    ctx
}

/// Receives an opinion: stores it in the state the rule set starts in, with its deadline, the
/// first timeline event, an audit record and the notification of the station, in one
/// transaction. A repeated idempotency key returns the first submission.
pub async fn create(
    db: &Db,
    keys: &Keys,
    rules: &Rules<'_>,
    actor: &Actor,
    new: &NewOpinion,
) -> DbResult<Created> {
    create_batch(db, keys, rules, &[(actor, new)])
        .await
        .pop()
        .expect("one result per submission")
}

/// Receives several opinions in one transaction (group commit: one durable commit and one
/// audit-chain step for submissions that arrived together), each exactly as [`create`] would,
/// returning one result per submission in order. If the batch as a whole fails, every
/// submission is retried on its own so that one bad submission cannot lose the others.
pub async fn create_batch(
    db: &Db,
    keys: &Keys,
    rules: &Rules<'_>,
    items: &[(&Actor, &NewOpinion)],
) -> Vec<DbResult<Created>> {
    match create_together(db, keys, rules, items).await {
        Ok(results) => results,
        Err(e) if items.len() > 1 => {
            tracing::warn!(error = %e, size = items.len(), "intake batch failed; retrying one by one");
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match create_together(db, keys, rules, &[*item]).await {
                    Ok(mut one) => one.pop().expect("one result"),
                    Err(e) => Err(e),
                });
            }
            out
        }
        Err(e) => vec![Err(e)],
    }
}

/// A submission of a batch on its way into the `opinion` table.
struct NewRow<'a> {
    /// Its place in the batch.
    index: usize,
    region_path: &'a str,
    decision: Decision<OpinionState>,
    clock: Option<DueKind>,
    /// (clock kind, its due date, the reply's due date).
    due: (Option<&'static str>, Option<Date>, Option<Date>),
    at: time::OffsetDateTime,
    no: String,
    /// Once inserted.
    id: Option<i64>,
}

impl NewRow<'_> {
    /// The values of its `INSERT`, in the column order of [`insert_rows`].
    fn values(&self, keys: &Keys, new: &NewOpinion) -> Vec<Arg> {
        let (due_kind, due_on, reply_due_on) = self.due;
        vec![
            self.no.clone().into(),
            new.station_id.into(),
            new.deputy_id.into(),
            self.region_path.into(),
            new.channel.clone().into(),
            new.title.clone().into(),
            new.place.clone().into(),
            new.category_suggested.clone().into(),
            new.category_confidence.into(),
            new.urgency.clone().into(),
            keys.encrypt(&new.name).into(),
            keys.encrypt(&new.phone).into(),
            keys.blind_index(&new.phone).into(),
            new.anonymous.into(),
            new.confidential.into(),
            new.publishable.into(),
            self.decision.to.code().into(),
            new.entered_by.into(),
            new.idempotency_key.clone().into(),
            due_kind.map(str::to_owned).into(),
            due_on.into(),
            reply_due_on.into(),
            self.at.into(),
            self.at.into(),
            new.activity_id.into(),
        ]
    }
}

/// Inserts the rows of a batch in one statement and sets the `id` of each row inserted. A row
/// that clashes (its tracking number, or its idempotency key) is left without one: `ON CONFLICT
/// DO NOTHING` skips it instead of aborting the transaction.
async fn insert_rows(
    tx: &mut Tx,
    keys: &Keys,
    items: &[(&Actor, &NewOpinion)],
    rows: &mut [NewRow<'_>],
) -> DbResult<()> {
    let mut s = Sql::new(
        "INSERT INTO opinion (tracking_no, station_id, deputy_id, region_path, channel, title, \
         place, category_suggested, category_confidence, urgency, submitter_name_enc, \
         submitter_phone_enc, submitter_phone_idx, anonymous, confidential, publishable, state, \
         entered_by, idempotency_key, due_kind, due_on, reply_due_on, created_at, updated_at, \
         activity_id) VALUES ",
    );
    for (j, r) in rows.iter().enumerate() {
        s.bind_row(j == 0, r.values(keys, items[r.index].1));
    }
    s.push(" ON CONFLICT DO NOTHING RETURNING id, tracking_no");
    let inserted: Vec<(i64, String)> = s.fetch_all_tx(tx).await?;
    let by_no: std::collections::HashMap<String, i64> =
        inserted.into_iter().map(|(id, no)| (no, id)).collect();
    for r in rows {
        r.id = by_no.get(&r.no).copied();
    }
    Ok(())
}

/// What [`create_batch`] does in one transaction. Errors of single submissions that need no
/// rollback (unknown station) are returned per item; anything else fails the transaction.
async fn create_together(
    db: &Db,
    keys: &Keys,
    rules: &Rules<'_>,
    items: &[(&Actor, &NewOpinion)],
) -> DbResult<Vec<DbResult<Created>>> {
    use std::collections::HashMap;
    // The reads below share the transaction's connection: on SQLite, where the four
    // connections also serve every request, a pool acquisition is a wait under load.
    let mut tx = db.begin().await?;
    // Earlier submissions with the same idempotency keys, in one query.
    let keys_given: Vec<&String> = items
        .iter()
        .filter_map(|(_, n)| n.idempotency_key.as_ref())
        .collect();
    // With what each was sent: a key is only a retry of the same submission — same station,
    // phone and title — never a way to learn another submitter's tracking number.
    let mut earlier: HashMap<String, (Created, (i64, String, String))> = HashMap::new();
    if !keys_given.is_empty() {
        let mut s = Sql::new(
            "SELECT idempotency_key, id, tracking_no, station_id, submitter_phone_idx, title \
             FROM opinion WHERE idempotency_key IN ",
        );
        s.bind_list(keys_given.iter().map(|k| (*k).clone()));
        let rows: Vec<(String, i64, String, i64, String, String)> = s.fetch_all_tx(&mut tx).await?;
        for (k, id, tracking_no, station, phone_idx, title) in rows {
            earlier.insert(
                k,
                (
                    Created {
                        id,
                        tracking_no,
                        replayed: true,
                    },
                    (station, phone_idx, title),
                ),
            );
        }
    }
    // Region paths of the stations, in one query.
    let mut paths: HashMap<i64, String> = HashMap::new();
    {
        let mut s = Sql::new(
            "SELECT s.id, r.path FROM station s JOIN region r ON r.id = s.region_id WHERE s.id IN ",
        );
        let mut ids: Vec<i64> = items.iter().map(|(_, n)| n.station_id).collect();
        ids.sort_unstable();
        ids.dedup();
        s.bind_list(ids);
        let rows: Vec<(i64, String)> = s.fetch_all_tx(&mut tx).await?;
        paths.extend(rows);
    }

    let mut audits: Vec<(&Actor, Entry<'static>)> = Vec::new();
    let mut texts: Vec<(i64, &NewOpinion, &str)> = Vec::with_capacity(items.len());
    let mut events: Vec<(&Actor, Item, TimelineEvent<'static>)> = Vec::with_capacity(items.len());
    let mut outbox: Vec<handling::Outgoing<'static>> = Vec::with_capacity(items.len());
    // What each submission becomes before anything is written: its answer when that is known
    // already (a repeated key, an unknown station), else its row.
    let mut results: Vec<Option<DbResult<Created>>> = Vec::with_capacity(items.len());
    let mut rows: Vec<NewRow<'_>> = Vec::new();
    let mut numbers: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (i, (_, new)) in items.iter().enumerate() {
        if let Some(key) = &new.idempotency_key
            && let Some((c, sent)) = earlier.get(key)
        {
            let same = *sent
                == (
                    new.station_id,
                    keys.blind_index(&new.phone),
                    new.title.clone(),
                );
            results.push(Some(if same {
                Ok(c.clone())
            } else {
                Err(DbError::KeyReused)
            }));
            continue;
        }
        let Some(region_path) = paths.get(&new.station_id) else {
            results.push(Some(Err(DbError::Invalid("联络站不存在".into()))));
            continue;
        };
        results.push(None);
        let mut ctx = context(rules, None);
        ctx.urgency = Urgency::parse(&new.urgency).unwrap_or(Urgency::Normal);
        let decision = workflow::start(&OPINION_RULES, &ctx);
        // The first deadlines go into the row itself: one row version per intake.
        let clock = decision.to.clock();
        let (mut due_kind, mut due_on, mut reply_due_on) = (None, None, None);
        for e in &decision.effects {
            if let Effect::SetDue { kind, due_on: d } = e {
                if *kind == DueKind::Reply {
                    reply_due_on = Some(*d);
                }
                if Some(*kind) == clock {
                    due_kind = Some(kind.code());
                    due_on = Some(*d);
                }
            }
        }
        // Distinct within the batch; a clash with a stored number is retried below.
        let mut no = tracking_no(rules.today);
        while !numbers.insert(no.clone()) {
            no = tracking_no(rules.today);
        }
        rows.push(NewRow {
            index: i,
            region_path,
            decision,
            clock,
            due: (due_kind, due_on, reply_due_on),
            at: now(),
            no,
            id: None,
        });
    }
    // One statement for the batch's rows (a statement per row was a third of the writer's
    // time on SQLite: each is a round trip to the connection's thread). A clash — the tracking
    // number, or the idempotency key of a submission that committed meanwhile or came twice in
    // this batch — inserts nothing for that row instead of aborting the transaction; those
    // rows go through the loop below.
    for chunk in rows.chunks_mut(32) {
        insert_rows(&mut tx, keys, items, chunk).await?;
    }
    for r in rows.iter_mut().filter(|r| r.id.is_none()) {
        let new = items[r.index].1;
        for _ in 0..8 {
            if let Some(key) = &new.idempotency_key {
                let row: Option<(i64, String, i64, String, String)> = on_tx!(tx, t => sqlx::query_as(
                    "SELECT id, tracking_no, station_id, submitter_phone_idx, title FROM opinion \
                     WHERE idempotency_key = $1")
                    .bind(key).fetch_optional(t).await)?;
                if let Some((id, tracking_no, station, phone_idx, title)) = row {
                    let same = (station, phone_idx, title)
                        == (
                            new.station_id,
                            keys.blind_index(&new.phone),
                            new.title.clone(),
                        );
                    results[r.index] = Some(if same {
                        Ok(Created {
                            id,
                            tracking_no,
                            replayed: true,
                        })
                    } else {
                        Err(DbError::KeyReused)
                    });
                    break;
                }
            }
            r.no = tracking_no(rules.today);
            insert_rows(&mut tx, keys, items, std::slice::from_mut(r)).await?;
            if r.id.is_some() {
                break;
            }
        }
        if r.id.is_none() && results[r.index].is_none() {
            results[r.index] = Some(Err(DbError::Invalid("无法生成受理编号，请重试".into())));
        }
    }
    for r in &rows {
        let Some(id) = r.id else { continue };
        let (actor, new) = (&items[r.index].0, &items[r.index].1);
        let (region_path, no, at, clock) = (r.region_path, r.no.clone(), r.at, r.clock);
        let decision = &r.decision;
        texts.push((id, *new, region_path));
        for (mime, w, h, bytes) in &new.photos {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO opinion_photo (opinion_id, mime, width, height, data, created_at) VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(id).bind(mime).bind(*w).bind(*h).bind(bytes).bind(at).execute(t).await.map(|_| ()))?;
        }
        let target = NotifyTarget {
            id,
            station_id: new.station_id,
            deputy_id: new.deputy_id,
            lead_unit_id: None,
            region_path,
            tracking_no: &no,
            title: &new.title,
            has_phone: !new.phone.is_empty(),
        };
        for e in &decision.effects {
            match *e {
                Effect::SetDue { .. } => {}
                // A new item has no merged items: its notifications are queued with the batch's.
                // Only an item sent with a deputy's code has a deputy to tell (the general
                // rule would fall back to the station, which is told already).
                Effect::Notify {
                    whom: WfActor::Deputy,
                    ..
                } if new.deputy_id.is_none() => {}
                Effect::Notify { whom, template } => {
                    outbox.extend(outgoing(&target, whom, template, None));
                }
                ref other => {
                    // The opinion rule set starts with a deadline and a notification only; a
                    // rule set that starts with more goes through the general path.
                    let o = get_tx(&mut tx, id).await?;
                    apply_effects(
                        &mut tx,
                        &o,
                        std::slice::from_ref(other),
                        &ActionInput::default(),
                        clock,
                    )
                    .await?;
                }
            }
        }
        events.push((
            *actor,
            Item::Opinion(id),
            TimelineEvent {
                action: "submit",
                label: decision.label,
                from: None,
                to: decision.to.code(),
                note: "",
                public_note: "",
            },
        ));
        audits.push((
            *actor,
            Entry {
                action: "create",
                entity: "opinion",
                entity_id: id.to_string(),
                summary: format!("收到群众意见 {no}（{}）", channel_label(&new.channel)),
                before: None,
                after: Some(serde_json::json!({
                    "tracking_no": no, "station_id": new.station_id, "deputy_id": new.deputy_id,
                    "channel": new.channel, "title": new.title, "anonymous": new.anonymous,
                    "photos": new.photos.len(), "activity_id": new.activity_id,
                })),
            },
        ));
        results[r.index] = Some(Ok(Created {
            id,
            tracking_no: no,
            replayed: false,
        }));
    }
    // Two round trips for the rest of the batch's rows: the texts, events and notifications,
    // then the audit chain's records once its head is taken (on PostgreSQL that locks it, so
    // it is taken last and held only for its own writes and the commit).
    let mut rest = texts_sql(tx.backend(), &texts);
    rest.extend(handling::events_sql(&events));
    rest.extend(handling::notifications_sql(&outbox));
    Sql::execute_all_tx(rest, &mut tx).await?;
    let (_, audit_rows) = audit::append_many_sql(&mut tx, keys, &audits).await?;
    Sql::execute_all_tx(audit_rows, &mut tx).await?;
    tx.commit().await?;
    Ok(results
        .into_iter()
        .map(|r| r.expect("every submission has its answer"))
        .collect())
}

/// The statements that store the texts of new opinions (and on SQLite their full-text rows), a
/// statement per table for every 64 of the batch: (id, submission, region path).
fn texts_sql(backend: crate::Backend, texts: &[(i64, &NewOpinion, &str)]) -> Vec<Sql> {
    let mut out = Vec::new();
    // PostgreSQL keeps the place tokens beside the words (its search vector is generated from
    // both); SQLite writes them into the full-text row below.
    let postgres = backend == crate::Backend::Postgres;
    for chunk in texts.chunks(64) {
        let mut s = Sql::new(if postgres {
            "INSERT INTO opinion_text (opinion_id, body, search_text, scope_tokens) VALUES "
        } else {
            "INSERT INTO opinion_text (opinion_id, body, search_text) VALUES "
        });
        for (i, (id, new, region_path)) in chunk.iter().enumerate() {
            let mut row = vec![
                Arg::from(*id),
                new.body.clone().into(),
                new.search_text.clone().into(),
            ];
            if postgres {
                row.push(pg_scope_tokens(*id, new.station_id, region_path).into());
            }
            s.bind_row(i == 0, row);
        }
        out.push(s);
    }
    if !postgres {
        // In ascending rowid order, which is newest first (see [`fts_rowid`]): FTS5 writes its
        // pending words out as a new segment whenever a rowid is lower than the one before, so
        // the other order would write a segment per row.
        let newest_first: Vec<_> = texts.iter().rev().collect();
        for chunk in newest_first.chunks(64) {
            let mut s = Sql::new("INSERT INTO opinion_fts (rowid, search_text) VALUES ");
            for (i, (id, new, region_path)) in chunk.iter().enumerate() {
                let text = format!(
                    "{} {}",
                    new.search_text,
                    fts_scope_tokens(new.station_id, region_path)
                );
                s.bind_row(i == 0, [Arg::from(fts_rowid(*id)), text.into()]);
            }
            out.push(s);
        }
    }
    out
}

/// Pages (about 4 KB each) that one step of [`tidy_search_index`] merges; one step holds
/// SQLite's write lock for tens of milliseconds, so submissions wait at most that long.
const MERGE_PAGES_PER_STEP: i64 = 1000;

/// Merges the segments of SQLite's full-text index into one, a step at a time, until done or
/// `budget` is spent; returns whether it is done. FTS5 writes every batch as a new segment and
/// merges them only by fours per level, and a search reads every segment: on a million
/// opinions 13 segments cost a sixth of a search's time, and merging them took 11 s once
/// (docs/benchmarks.md, sixth pass). The server runs this at start and every night; a merge
/// left unfinished is taken up where it stopped. PostgreSQL's GIN index needs nothing of the
/// kind (vacuum merges its pending list), so there it is done at once.
pub async fn tidy_search_index(db: &Db, budget: std::time::Duration) -> DbResult<bool> {
    let Db::Sqlite(pool) = db else {
        return Ok(true);
    };
    let started = std::time::Instant::now();
    loop {
        // The connection goes back to the pool between steps, so that a long merge does not
        // keep one of the few readers away from requests for its whole length.
        let mut conn = pool.acquire().await?;
        // A negative number asks FTS5 to merge across levels, as `optimize` does, but only
        // this many pages per statement; fewer than two changed rows means nothing was left.
        let before: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO opinion_fts (opinion_fts, rank) VALUES ('merge', $1)")
            .bind(-MERGE_PAGES_PER_STEP)
            .execute(&mut *conn)
            .await?;
        let after: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *conn)
            .await?;
        if after - before < 2 {
            return Ok(true);
        }
        if started.elapsed() >= budget {
            return Ok(false);
        }
    }
}

/// Moves what PostgreSQL's GIN index of search vectors holds in its pending list (new rows'
/// entries, kept aside so that inserts are cheap) into the index proper, and returns how many
/// pages that emptied. Every search reads the whole pending list: after one intake run of
/// 16,000 rows searches ran at 102–136 instead of 284 per second until it was emptied
/// (docs/benchmarks.md, tenth pass). Autovacuum would empty it only after a fifth of the table
/// has changed, and inserts only when it passes `gin_pending_list_limit` (4 MB). SQLite has no
/// such list: nothing to do.
pub async fn flush_search_pending_list(db: &Db) -> DbResult<i64> {
    let Db::Postgres(pool) = db else {
        return Ok(0);
    };
    let pages: i64 =
        sqlx::query_scalar("SELECT gin_clean_pending_list('opinion_text_search'::regclass)")
            .fetch_one(pool)
            .await?;
    Ok(pages)
}

/// The tokens an opinion's full-text entry carries besides its words: its station (`zs<id>`)
/// and every region of its path (`zr<id>`). A search within a station or region then asks the
/// index (FTS5 on SQLite, GIN on PostgreSQL) for the words *and* the place, which it answers by
/// intersecting its lists, instead of testing every match of a common word against the scope
/// row by row. Migrations 0009 (SQLite) and 0012 (PostgreSQL) write the same tokens for rows
/// stored before.
pub fn fts_scope_tokens(station_id: i64, region_path: &str) -> String {
    let mut out = format!("zs{station_id}");
    for id in region_path.split('/').filter(|p| !p.is_empty()) {
        out.push_str(" zr");
        out.push_str(id);
    }
    out
}

/// PostgreSQL's `opinion_text.scope_tokens`: the place tokens of [`fts_scope_tokens`], the
/// id's block (`zb<id / SEARCH_BLOCK>`) and each place token within that block (`zs43b244`,
/// `zr17b244`), so that a search can ask GIN for a place's newest blocks first (see
/// [`list_search`]). SQLite needs no block token: FTS5 walks its matches newest first and
/// stops at the page.
pub fn pg_scope_tokens(id: i64, station_id: i64, region_path: &str) -> String {
    let place = fts_scope_tokens(station_id, region_path);
    let block = id / SEARCH_BLOCK;
    let mut out = format!("{place} zb{block}");
    for token in place.split(' ') {
        out.push_str(&format!(" {token}b{block}"));
    }
    out
}

/// The place a search is narrowed to, as tokens of the full-text rows (see
/// [`fts_scope_tokens`]): every group must match, any token of a group will do. The scope and
/// the station or region filter; a station means the station and its points, as in
/// [`scope_where`]. The SQL conditions stay as well, so the tokens only narrow the matches.
async fn place_tokens(db: &Db, scope: &Scope, f: &OpinionFilter) -> DbResult<Vec<Vec<String>>> {
    let mut groups = Vec::new();
    let mut stations = Vec::new();
    let mut regions = Vec::new();
    match scope {
        Scope::Station(id) => stations.push(*id),
        Scope::RegionSubtree(p) => regions.push(p.as_str()),
        _ => {}
    }
    stations.extend(f.station_id);
    regions.extend(f.region_path.as_deref());
    for id in stations {
        let ids: Vec<(i64,)> = Sql::new("SELECT id FROM station WHERE id = ")
            .bind(id)
            .push(" OR parent_id = ")
            .bind(id)
            .fetch_all(db)
            .await?;
        let mut group: Vec<String> = ids.iter().map(|(i,)| format!("zs{i}")).collect();
        if group.is_empty() {
            group.push("zs0".to_owned());
        }
        groups.push(group);
    }
    for path in regions {
        // A path that is not a chain of ids adds no token.
        if let Some(token) = region_token(path) {
            groups.push(vec![token]);
        }
    }
    Ok(groups)
}

/// Whether the place tokens of a search (see [`place_tokens`]) select exactly what the list's
/// SQL conditions select: the scope is the whole city, a station or a region given as a chain
/// of ids, and nothing but words and place narrows the list. Then the FTS matches alone are
/// the list's rows.
fn place_is_in_the_index(scope: &Scope, f: &OpinionFilter) -> bool {
    let scope_ok = match scope {
        Scope::Everything | Scope::Station(_) => true,
        Scope::RegionSubtree(p) => region_token(p).is_some(),
        _ => false,
    };
    scope_ok
        && f.region_path
            .as_deref()
            .is_none_or(|p| region_token(p).is_some())
        && f.only_words_and_place()
}

/// The full-text token of a region path (`/1/2/39/` → `zr39`, see [`fts_scope_tokens`]); none
/// for a path that is not a chain of ids.
fn region_token(path: &str) -> Option<String> {
    path.split('/')
        .rfind(|p| !p.is_empty())
        .filter(|last| last.bytes().all(|b| b.is_ascii_digit()))
        .map(|last| format!("zr{last}"))
}

/// The FTS5 query of a SQLite list: the words and the place (see [`place_tokens`]).
async fn fts_match(db: &Db, scope: &Scope, f: &OpinionFilter) -> DbResult<String> {
    let mut parts = vec![format!("({})", fts_expr(&f.q))];
    for group in place_tokens(db, scope, f).await? {
        let alternatives: Vec<String> = group.iter().map(|t| format!("\"{t}\"")).collect();
        parts.push(format!("({})", alternatives.join(" OR ")));
    }
    Ok(parts.join(" AND "))
}

/// The place of a PostgreSQL search as a `to_tsquery` text, e.g. `(zs3 | zs41) & zr7`; empty
/// when the search is not narrowed.
fn place_tsquery(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|g| format!("({})", g.join(" | ")))
        .collect::<Vec<_>>()
        .join(" & ")
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of the timeline, spelled out"
)]
async fn event(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    action: &str,
    label: &str,
    from: Option<OpinionState>,
    to: OpinionState,
    note: &str,
    public_note: &str,
) -> DbResult<()> {
    handling::append_event(
        tx,
        actor,
        Item::Opinion(id),
        &TimelineEvent {
            action,
            label,
            from: from.map(|s| s.code()),
            to: to.code(),
            note,
            public_note,
        },
    )
    .await
}

/// How the timeline note of an extension request starts: the requested date follows it.
pub const EXTENSION_NOTE_PREFIX: &str = "申请延期至 ";

/// The date of an item's latest extension request, from its timeline note.
async fn requested_extension_on(tx: &mut Tx, id: i64) -> DbResult<Option<Date>> {
    let note: Option<String> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT note FROM opinion_event WHERE opinion_id = $1 AND action = 'request_extension' \
         ORDER BY id DESC LIMIT 1")
        .bind(id).fetch_optional(t).await)?;
    Ok(note.and_then(|n| {
        let rest = n.strip_prefix(EXTENSION_NOTE_PREFIX)?;
        Date::parse(
            rest.get(..10)?,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
    }))
}

/// The feedback SMS of an item could not be delivered, however long it was retried: the
/// rating window has not started (the citizen does not know there is an answer), so the item
/// must not close as unrated. Its window and clock are cleared — the citizen may still rate,
/// and staff record the rating of a follow-up call (回访) whenever they reach the citizen — and
/// the station is told to call. One timeline event says so. Does nothing unless the item still
/// waits for its rating.
pub(crate) async fn feedback_undelivered(tx: &mut Tx, id: i64) -> DbResult<()> {
    let waiting: Option<(String, String, i64)> = on_tx!(tx, t => sqlx::query_as(
        "SELECT tracking_no, title, station_id FROM opinion WHERE id = $1 AND state = 'feedback_sent' \
         AND feedback_sent_on IS NOT NULL")
        .bind(id).fetch_optional(t).await)?;
    let Some((tracking_no, title, station_id)) = waiting else {
        return Ok(());
    };
    on_tx!(tx, t => sqlx::query(
        "UPDATE opinion SET feedback_sent_on = NULL, due_kind = NULL, due_on = NULL, updated_at = $1 WHERE id = $2")
        .bind(now()).bind(id).execute(t).await.map(|_| ()))?;
    handling::enqueue_many(
        tx,
        &[handling::Outgoing {
            item: Item::Opinion(id),
            channel: "inapp",
            recipient: format!("station:{station_id}"),
            template: "opinion.feedback_undelivered",
            payload: serde_json::json!({"tracking_no": tracking_no, "title": title}).to_string(),
        }],
    )
    .await?;
    event(
        tx,
        &Actor::system("系统"),
        id,
        "feedback_undelivered",
        "反馈短信未送达",
        Some(OpinionState::FeedbackSent),
        OpinionState::FeedbackSent,
        "反馈短信多次发送失败，评价期暂不计算；请电话回访并记录群众评价",
        "",
    )
    .await
}

/// The feedback SMS of these items reached their submitters today: the rating window counts
/// from the day the citizen was told, not from the day the message was queued (a gateway that
/// was down for a day must not shorten it).
pub(crate) async fn feedback_delivered(tx: &mut Tx, ids: &[i64]) -> DbResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let day = today();
    let mut s = Sql::new("UPDATE opinion SET feedback_sent_on = ");
    s.bind(day)
        .push(" WHERE state = 'feedback_sent' AND feedback_sent_on < ")
        .bind(day)
        .push(" AND id IN ")
        .bind_list(ids.iter().copied());
    s.execute_tx(tx).await.map(|_| ())
}

/// The arguments of an action as the client sent them (validated by the caller).
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    /// Lead unit (assign).
    pub unit_id: Option<i64>,
    /// Co-units (assign).
    pub co_unit_ids: Vec<i64>,
    /// Deadline (assign, rehandle, extension).
    pub due_on: Option<Date>,
    /// Reason (decline, return, extension, rejection, closing).
    pub reason: Option<String>,
    /// Reply or answer text.
    pub content: Option<String>,
    /// Resolution grade.
    pub resolution_grade: Option<ResolutionGrade>,
    /// Rating.
    pub rating: Option<Satisfaction>,
    /// Rating comment.
    pub comment: Option<String>,
    /// Master item (merge).
    pub into_id: Option<i64>,
    /// Confirmed category (accept).
    pub category: Option<String>,
    /// The version the client saw; a different current version is refused as stale.
    pub expected_version: Option<i64>,
    /// The deputy who takes the item up as an inter-session suggestion (convert_to_suggestion);
    /// defaults to the deputy the item is addressed to.
    pub deputy_id: Option<i64>,
}

pub(crate) async fn station_parent(tx: &mut Tx, station_id: i64) -> DbResult<Option<i64>> {
    let p: Option<Option<i64>> = on_tx!(tx, t => sqlx::query_scalar("SELECT parent_id FROM station WHERE id = $1")
        .bind(station_id).fetch_optional(t).await)?;
    Ok(p.flatten())
}

pub(crate) async fn units_tx(tx: &mut Tx, id: i64) -> DbResult<Vec<UnitAssignment>> {
    let rows: Vec<UnitAssignment> = on_tx!(tx, t => sqlx::query_as(
        "SELECT ou.unit_id, u.name AS unit_name, ou.is_lead, ou.round, ou.active, ou.assigned_at, \
         ou.acknowledged_at FROM opinion_unit ou JOIN handling_unit u ON u.id = ou.unit_id \
         WHERE ou.opinion_id = $1 ORDER BY ou.id")
        .bind(id).fetch_all(t).await)?;
    Ok(rows)
}

/// Applies one action to an opinion: decides with the workflow engine and stores the outcome,
/// atomically. Returns the opinion as it is afterwards.
#[expect(
    clippy::too_many_arguments,
    reason = "who, what and on which item, spelled out at the one call per door"
)]
pub async fn act(
    db: &Db,
    keys: &Keys,
    rules: &Rules<'_>,
    who: Acting<'_>,
    actor: &Actor,
    id: i64,
    action: OpinionAction,
    input: &ActionInput,
) -> Result<Opinion, ActError> {
    let mut tx = db.begin().await?;
    let o = get_tx(&mut tx, id).await?;
    if let Some(v) = input.expected_version
        && v != o.version
    {
        return Err(ActError::Db(DbError::Stale));
    }
    let units = units_tx(&mut tx, id).await?;
    let parent = station_parent(&mut tx, o.station_id).await?;
    let actors = match who {
        Acting::User(p) => actors_for(p, &o, &units, parent),
        Acting::Submitter => vec![WfActor::Submitter],
        Acting::System => vec![WfActor::System],
    };
    if actors.is_empty() {
        return Err(ActError::Forbidden);
    }
    // Approving an extension without a date approves the date the unit asked for.
    let due_on = match (action, input.due_on) {
        (OpinionAction::ApproveExtension, None) => requested_extension_on(&mut tx, id).await?,
        (_, d) => d,
    };
    let mut ctx = context(rules, Some(&o));
    ctx.args = Args {
        reason: input.reason.clone(),
        due_on,
        grade: input.resolution_grade,
        rating: input.rating,
        registration: None,
    };
    let decision = workflow::decide(&OPINION_RULES, o.state(), action, &actors, &ctx)?;
    let actor_scope = match who {
        Acting::User(p) => p.scope(),
        Acting::Submitter | Acting::System => Scope::Nothing,
    };
    check_input(&mut tx, &o, &actor_scope, action, input).await?;
    store_action(&mut tx, &o, action, input).await?;
    apply_decision(&mut tx, keys, actor, &o, action, &decision, input).await?;
    if decision.effects.contains(&Effect::CreateSuggestionDraft) {
        // Needs the acting user for the draft's own timeline and audit record, which the
        // effects loop does not have.
        let deputy = convert_deputy(&o, input).unwrap_or_default();
        let created_by = match who {
            Acting::User(p) => Some(p.user_id),
            _ => None,
        };
        crate::suggestions::draft_from_opinion(&mut tx, keys, actor, &o, deputy, created_by)
            .await?;
    }
    if let Acting::User(p) = who
        && p.role == Role::Deputy
        && matches!(
            action,
            OpinionAction::AnswerOnSpot | OpinionAction::ApproveReply | OpinionAction::SendFeedback
        )
        && let Some(deputy_id) = p.deputy_id
    {
        // A deputy who answers a citizen (on the spot, or by approving the unit's reply and
        // sending it on) has done a duty; one entry per opinion however many steps it took.
        crate::duty_record::record(
            &mut tx,
            &crate::duty_record::NewDutyEntry {
                deputy_id,
                kind: liaison_core::duty::DutyKind::OpinionAnswered,
                occurred_on: rules.today,
                title: format!("答复群众意见：{}", o.title),
                detail: o.tracking_no.clone(),
                source_kind: liaison_core::duty::source::OPINION.to_owned(),
                source_id: Some(o.id),
                link: format!("/work/opinions/{}", o.id),
                status: liaison_core::duty::DutyStatus::Recorded,
                created_by: Some(p.user_id),
            },
        )
        .await?;
    }

    // The reviewed result goes to the submitter the same day: the system sends the feedback
    // right after the station approves the reply, or right after an answer on the spot (which
    // needs no review) — otherwise nothing would ever ask the citizen to rate it.
    if matches!(
        action,
        OpinionAction::ApproveReply | OpinionAction::AnswerOnSpot
    ) {
        let o2 = get_tx(&mut tx, id).await?;
        let ctx2 = context(rules, Some(&o2));
        let fb = workflow::decide(
            &OPINION_RULES,
            o2.state(),
            OpinionAction::SendFeedback,
            &[WfActor::System],
            &ctx2,
        )?;
        apply_decision(
            &mut tx,
            keys,
            &Actor::system("系统"),
            &o2,
            OpinionAction::SendFeedback,
            &fb,
            &ActionInput::default(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(get(db, id).await?)
}

/// Checks the arguments an action needs beyond what the workflow guards check.
async fn check_input(
    tx: &mut Tx,
    o: &Opinion,
    actor_scope: &Scope,
    action: OpinionAction,
    input: &ActionInput,
) -> Result<(), ActError> {
    match action {
        OpinionAction::Accept => {
            use liaison_core::sla::form::CATEGORIES;
            if let Some(c) = input.category.as_deref().filter(|c| !c.is_empty())
                && !CATEGORIES.contains(&c)
            {
                return Err(ActError::Invalid(format!(
                    "类别“{c}”无效，须为以下之一：{}",
                    CATEGORIES.join("、")
                )));
            }
        }
        OpinionAction::Assign => {
            let Some(unit) = input.unit_id else {
                return Err(ActError::Invalid("请选择主办单位（unit_id）".into()));
            };
            let reach = handling::UnitReach::Station {
                station_id: o.station_id,
                actor: actor_scope,
            };
            handling::check_units(tx, unit, &input.co_unit_ids, reach).await?;
        }
        OpinionAction::Reply | OpinionAction::AnswerOnSpot => {
            let ok = input
                .content
                .as_deref()
                .is_some_and(|c| !c.trim().is_empty());
            if !ok {
                return Err(ActError::Invalid("请填写答复内容（content）".into()));
            }
            if input
                .content
                .as_deref()
                .is_some_and(|c| c.chars().count() > 5000)
            {
                return Err(ActError::Invalid("答复内容最多5000字".into()));
            }
        }
        OpinionAction::ConvertToSuggestion => {
            let Some(deputy) = convert_deputy(o, input) else {
                return Err(ActError::Invalid(
                    "本事项未反映给具体代表，请选择领衔提出建议的代表（deputy_id）".into(),
                ));
            };
            let active: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT id FROM deputy WHERE id = $1 AND active = TRUE")
                .bind(deputy).fetch_optional(t).await)?;
            if active.is_none() {
                return Err(ActError::Invalid(format!(
                    "代表（编号{deputy}）不存在或已不在任"
                )));
            }
            // The draft carries the citizen's text: only to the deputy the item was addressed
            // to or a deputy of its station (and its rooms/points), as the form offers.
            let here: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT id FROM deputy WHERE id = $1 AND (id = $2 OR station_id IN \
                 (SELECT id FROM station WHERE id = $3 OR parent_id = $3))")
                .bind(deputy).bind(o.deputy_id).bind(o.station_id).fetch_optional(t).await)?;
            if here.is_none() {
                return Err(ActError::Invalid(format!(
                    "代表（编号{deputy}）不是本联络站的代表，请选择本站进驻代表或本事项所反映的代表"
                )));
            }
        }
        OpinionAction::Merge => {
            let Some(into) = input.into_id else {
                return Err(ActError::Invalid("请指定合并到的主件（into_id）".into()));
            };
            if into == o.id {
                return Err(ActError::Invalid("不能合并到自身".into()));
            }
            // The master is locked as well (PostgreSQL; SQLite writes one at a time anyway):
            // two clerks merging A into B and B into A at once would otherwise both pass and
            // leave two items merged into each other, handled by nobody.
            let lock = if tx.backend() == crate::Backend::Postgres {
                " FOR UPDATE"
            } else {
                ""
            };
            let target: Option<(i64, Option<i64>, String)> = on_tx!(tx, t => sqlx::query_as(
                sqlx::AssertSqlSafe(format!(
                    "SELECT station_id, master_id, state FROM opinion WHERE id = $1{lock}")))
                .bind(into).fetch_optional(t).await)?;
            match target {
                None => return Err(ActError::Invalid("要合并到的主件不存在".into())),
                Some((station, master, state)) => {
                    if station != o.station_id {
                        return Err(ActError::Invalid("只能合并同一联络站的事项".into()));
                    }
                    if master.is_some() || state == "merged" {
                        return Err(ActError::Invalid("主件本身已被合并，请合并到其主件".into()));
                    }
                    // Its submitters were promised the master's result: a master that is
                    // finished already would never send one.
                    if OpinionState::parse(&state).is_some_and(OpinionState::is_final) {
                        return Err(ActError::Invalid(
                            "主件已办结，不能再合并到它；请单独办理本事项，或合并到仍在办理的事项"
                                .into(),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The deputy a converted opinion's suggestion is drafted for: the one chosen, else the one the
/// item is addressed to.
fn convert_deputy(o: &Opinion, input: &ActionInput) -> Option<i64> {
    input.deputy_id.or(o.deputy_id)
}

/// Stores what an action carries besides the state change (units, replies, ratings).
async fn store_action(
    tx: &mut Tx,
    o: &Opinion,
    action: OpinionAction,
    input: &ActionInput,
) -> Result<(), ActError> {
    let at = now();
    match action {
        OpinionAction::Assign => {
            let lead = input.unit_id.unwrap_or_default();
            on_tx!(tx, t => sqlx::query("UPDATE opinion_unit SET active = FALSE WHERE opinion_id = $1")
                .bind(o.id).execute(t).await.map(|_| ()))?;
            for (unit, is_lead) in
                std::iter::once((lead, true)).chain(input.co_unit_ids.iter().map(|u| (*u, false)))
            {
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO opinion_unit (opinion_id, unit_id, is_lead, round, active, assigned_at) \
                     VALUES ($1,$2,$3,$4,TRUE,$5)")
                    .bind(o.id).bind(unit).bind(is_lead).bind(o.round).bind(at)
                    .execute(t).await.map(|_| ()))?;
            }
            on_tx!(tx, t => sqlx::query(
                "UPDATE opinion SET lead_unit_id = $1, assigned_on = $2 WHERE id = $3")
                .bind(lead).bind(today()).bind(o.id).execute(t).await.map(|_| ()))?;
        }
        OpinionAction::Acknowledge => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE opinion_unit SET acknowledged_at = $1 WHERE opinion_id = $2 AND is_lead = TRUE AND active = TRUE")
                .bind(at).bind(o.id).execute(t).await.map(|_| ()))?;
        }
        OpinionAction::Accept => {
            if let Some(c) = input.category.as_deref().filter(|c| !c.is_empty()) {
                on_tx!(tx, t => sqlx::query("UPDATE opinion SET category = $1 WHERE id = $2")
                    .bind(c).bind(o.id).execute(t).await.map(|_| ()))?;
            } else if o.category.is_empty() {
                on_tx!(tx, t => sqlx::query("UPDATE opinion SET category = category_suggested WHERE id = $1")
                    .bind(o.id).execute(t).await.map(|_| ()))?;
            }
        }
        OpinionAction::Reply | OpinionAction::AnswerOnSpot => {
            let grade = input.resolution_grade.unwrap_or(ResolutionGrade::A).code();
            let status = if action == OpinionAction::AnswerOnSpot {
                "approved"
            } else {
                "pending_review"
            };
            let unit = if action == OpinionAction::Reply {
                o.lead_unit_id
            } else {
                None
            };
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO opinion_reply (opinion_id, round, unit_id, content, resolution_grade, status, created_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7)")
                .bind(o.id).bind(o.round).bind(unit).bind(input.content.as_deref().unwrap_or("").trim())
                .bind(grade).bind(status).bind(at).execute(t).await.map(|_| ()))?;
            on_tx!(tx, t => sqlx::query("UPDATE opinion SET last_grade = $1 WHERE id = $2")
                .bind(grade).bind(o.id).execute(t).await.map(|_| ()))?;
        }
        OpinionAction::ApproveReply | OpinionAction::RejectReply => {
            let status = if action == OpinionAction::ApproveReply {
                "approved"
            } else {
                "rejected"
            };
            on_tx!(tx, t => sqlx::query(
                "UPDATE opinion_reply SET status = $1, review_note = $2, reviewed_at = $3 \
                 WHERE opinion_id = $4 AND status = 'pending_review'")
                .bind(status).bind(input.reason.as_deref().unwrap_or("")).bind(at).bind(o.id)
                .execute(t).await.map(|_| ()))?;
        }
        OpinionAction::Rate => {
            if let Some(r) = input.rating {
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO opinion_rating (opinion_id, round, rating, comment, created_at) VALUES ($1,$2,$3,$4,$5)")
                    .bind(o.id).bind(o.round).bind(r.code()).bind(input.comment.as_deref().unwrap_or(""))
                    .bind(at).execute(t).await.map(|_| ()))?;
            }
        }
        OpinionAction::Merge => {
            // The items merged into this one follow it to its new master, so that the result
            // still reaches their submitters.
            on_tx!(tx, t => sqlx::query("UPDATE opinion SET master_id = $1 WHERE id = $2 OR master_id = $2")
                .bind(input.into_id).bind(o.id).execute(t).await.map(|_| ()))?;
        }
        _ => {}
    }
    Ok(())
}

async fn apply_decision(
    tx: &mut Tx,
    keys: &Keys,
    actor: &Actor,
    o: &Opinion,
    action: OpinionAction,
    decision: &Decision<OpinionState>,
    input: &ActionInput,
) -> DbResult<()> {
    let at = now();
    let closed = matches!(
        decision.to,
        OpinionState::Closed
            | OpinionState::ClosedUnrated
            | OpinionState::Declined
            | OpinionState::Merged
            | OpinionState::ConvertedToSuggestion
    );
    on_tx!(tx, t => sqlx::query(
        "UPDATE opinion SET state = $1, version = version + 1, updated_at = $2, \
         closed_at = CASE WHEN $3 THEN $2 ELSE NULL END WHERE id = $4")
        .bind(decision.to.code()).bind(at).bind(closed).bind(o.id).execute(t).await.map(|_| ()))?;
    // Clear the step clock first when the state changes: a state whose deadline the effects do
    // not set has none, or (in the hands of the unit) runs against the reply deadline. A step
    // that keeps the state (contacting the submitter) keeps its clock — a supervised unit must
    // not lose its supervision deadline by making a phone call.
    if decision.to != decision.from {
        on_tx!(tx, t => sqlx::query("UPDATE opinion SET due_kind = NULL, due_on = NULL WHERE id = $1")
            .bind(o.id).execute(t).await.map(|_| ()))?;
    }
    apply_effects(tx, o, &decision.effects, input, decision.to.clock()).await?;
    record_milestone(tx, o.id, action, at).await?;
    if decision.to.clock() == Some(DueKind::Reply) {
        on_tx!(tx, t => sqlx::query(
            "UPDATE opinion SET due_kind = 'reply', due_on = reply_due_on WHERE id = $1 AND due_on IS NULL")
            .bind(o.id).execute(t).await.map(|_| ()))?;
    }
    // A supervision case ends when the unit replies under it or the item ends.
    if decision.from == OpinionState::Supervised && decision.to != OpinionState::Supervised
        || decision.to.is_final()
    {
        on_tx!(tx, t => sqlx::query(
            "UPDATE supervision_case SET closed_at = $1 WHERE opinion_id = $2 AND closed_at IS NULL")
            .bind(at).bind(o.id).execute(t).await.map(|_| ()))?;
    }
    if decision.to == OpinionState::FeedbackSent && decision.from != OpinionState::FeedbackSent {
        // Feedback day starts the rating window.
        on_tx!(tx, t => sqlx::query("UPDATE opinion SET feedback_sent_on = $1 WHERE id = $2")
            .bind(today()).bind(o.id).execute(t).await.map(|_| ()))?;
    }
    let reason = input.reason.clone().unwrap_or_default();
    let public_note = match action {
        OpinionAction::Decline => reason.clone(),
        OpinionAction::Rate => input.comment.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let note = match action {
        OpinionAction::Assign => {
            handling::assignment_note(tx, input.unit_id, &input.co_unit_ids).await?
        }
        // The requested date leads the note, whichever door the request came through, so the
        // station sees it and its approval form offers it.
        OpinionAction::RequestExtension => match input.due_on {
            Some(d) => format!("{EXTENSION_NOTE_PREFIX}{d}：{reason}"),
            None => reason,
        },
        OpinionAction::Rate => match (
            input.rating,
            input.comment.as_deref().filter(|c| !c.trim().is_empty()),
        ) {
            (Some(r), Some(c)) => format!("{}：{c}", r.label()),
            (Some(r), None) => r.label().to_owned(),
            _ => String::new(),
        },
        _ => reason,
    };
    event(
        tx,
        actor,
        o.id,
        action.code(),
        decision.label,
        Some(decision.from),
        decision.to,
        &note,
        &public_note,
    )
    .await?;
    audit::append(
        tx,
        keys,
        actor,
        Entry {
            action: action.code(),
            entity: "opinion",
            entity_id: o.id.to_string(),
            summary: format!(
                "{} {}：{} → {}",
                o.tracking_no,
                decision.label,
                decision.from.label(),
                decision.to.label()
            ),
            before: Some(serde_json::json!({"state": decision.from.code(), "version": o.version})),
            after: Some(serde_json::json!({
                "state": decision.to.code(),
                "effects": decision.effects,
                "unit_id": input.unit_id, "co_unit_ids": input.co_unit_ids,
                "due_on": input.due_on.map(|d| d.to_string()),
                "grade": input.resolution_grade.map(|g| g.code()),
                "rating": input.rating.map(|r| r.code()),
            })),
        },
    )
    .await?;
    Ok(())
}

/// Keeps the item's milestones on its row (migration 0019), for 民意办理统计: the first time it
/// was accepted, answered on the spot, assigned, acknowledged and the submitter called, its
/// latest reply, and how many return requests it had and how many were refused.
async fn record_milestone(
    tx: &mut Tx,
    id: i64,
    action: OpinionAction,
    at: time::OffsetDateTime,
) -> DbResult<()> {
    use OpinionAction as A;
    // Dates: set once (the first) or every time (the latest reply).
    let dated = match action {
        A::Accept => "UPDATE opinion SET accepted_at = COALESCE(accepted_at, $1) WHERE id = $2",
        A::AnswerOnSpot => {
            "UPDATE opinion SET answered_on_spot_at = COALESCE(answered_on_spot_at, $1) WHERE id = $2"
        }
        A::Assign => {
            "UPDATE opinion SET first_assigned_at = COALESCE(first_assigned_at, $1) WHERE id = $2"
        }
        A::Acknowledge => {
            "UPDATE opinion SET first_acknowledged_at = COALESCE(first_acknowledged_at, $1) WHERE id = $2"
        }
        A::ContactSubmitter => {
            "UPDATE opinion SET first_contacted_at = COALESCE(first_contacted_at, $1) WHERE id = $2"
        }
        A::Reply => "UPDATE opinion SET last_replied_at = $1 WHERE id = $2",
        A::RequestReturn | A::RejectReturn => {
            let sql = if action == A::RequestReturn {
                "UPDATE opinion SET return_requests = return_requests + 1 WHERE id = $1"
            } else {
                "UPDATE opinion SET returns_rejected = returns_rejected + 1 WHERE id = $1"
            };
            on_tx!(tx, t => sqlx::query(sql).bind(id).execute(t).await.map(|_| ()))?;
            return Ok(());
        }
        _ => return Ok(()),
    };
    on_tx!(tx, t => sqlx::query(dated).bind(at).bind(id).execute(t).await.map(|_| ()))?;
    Ok(())
}

/// What a notification about an opinion needs to know of it.
struct NotifyTarget<'a> {
    id: i64,
    station_id: i64,
    deputy_id: Option<i64>,
    lead_unit_id: Option<i64>,
    region_path: &'a str,
    tracking_no: &'a str,
    title: &'a str,
    has_phone: bool,
}

/// Queues the notification of `whom` in the outbox: in-app for staff, SMS for the submitter
/// (and the submitters of duplicates merged into this item, who hear what it hears).
/// The notification to `whom` about `o` (none for those the outbox does not reach).
fn outgoing<'a>(
    o: &NotifyTarget<'_>,
    whom: WfActor,
    template: &'a str,
    unit_id: Option<i64>,
) -> Option<handling::Outgoing<'a>> {
    let recipient = match whom {
        WfActor::StationStaff => format!("station:{}", o.station_id),
        WfActor::Deputy => match o.deputy_id {
            Some(d) => format!("deputy:{d}"),
            None => format!("station:{}", o.station_id),
        },
        WfActor::LeadUnit | WfActor::UnitLead => {
            format!("unit:{}", unit_id.or(o.lead_unit_id).unwrap_or_default())
        }
        WfActor::CoUnit => format!("co_units:{}", o.id),
        WfActor::Supervisor => format!("region:{}", o.region_path),
        WfActor::Submitter => format!("submitter:{}", o.id),
        WfActor::Cosigner | WfActor::System => return None,
    };
    if whom == WfActor::Submitter && !o.has_phone {
        return None;
    }
    Some(handling::Outgoing {
        item: Item::Opinion(o.id),
        channel: if whom == WfActor::Submitter {
            "sms"
        } else {
            "inapp"
        },
        recipient,
        template,
        payload: serde_json::json!({"tracking_no": o.tracking_no, "title": o.title}).to_string(),
    })
}

/// Queues the notification to `whom` about `o`; the submitter's also goes to the submitters of
/// the items merged into it.
async fn notify(
    tx: &mut Tx,
    o: &NotifyTarget<'_>,
    whom: WfActor,
    template: &str,
    unit_id: Option<i64>,
) -> DbResult<()> {
    if whom == WfActor::Submitter {
        let children: Vec<(i64, String)> = on_tx!(tx, t => sqlx::query_as(
            "SELECT id, tracking_no FROM opinion WHERE master_id = $1 AND submitter_phone_enc <> ''")
            .bind(o.id).fetch_all(t).await)?;
        for (child, no) in children {
            let payload = serde_json::json!({"tracking_no": no, "title": o.title}).to_string();
            handling::enqueue(
                tx,
                Item::Opinion(child),
                "sms",
                &format!("submitter:{child}"),
                template,
                &payload,
            )
            .await?;
        }
    }
    match outgoing(o, whom, template, unit_id) {
        Some(n) => handling::enqueue_many(tx, &[n]).await,
        None => Ok(()),
    }
}

async fn apply_effects(
    tx: &mut Tx,
    o: &Opinion,
    effects: &[Effect],
    input: &ActionInput,
    clock: Option<DueKind>,
) -> DbResult<()> {
    let at = now();
    // Two roles may reach the same recipient (the lead unit and its leader are both
    // `unit:<id>`): one notice each.
    let mut told: std::collections::HashSet<(String, &str)> = std::collections::HashSet::new();
    for e in effects {
        match e {
            Effect::SetDue { kind, due_on } => {
                // The reply deadline is kept on its own (extensions and overdue checks need it);
                // the step clock shows the deadline of the state the item is in.
                if *kind == DueKind::Reply {
                    on_tx!(tx, t => sqlx::query("UPDATE opinion SET reply_due_on = $1 WHERE id = $2")
                        .bind(*due_on).bind(o.id).execute(t).await.map(|_| ()))?;
                }
                if Some(*kind) == clock {
                    on_tx!(tx, t => sqlx::query("UPDATE opinion SET due_kind = $1, due_on = $2 WHERE id = $3")
                        .bind(kind.code()).bind(*due_on).bind(o.id).execute(t).await.map(|_| ()))?;
                }
            }
            Effect::Notify { whom, template } => {
                let target = NotifyTarget {
                    id: o.id,
                    station_id: o.station_id,
                    deputy_id: o.deputy_id,
                    lead_unit_id: o.lead_unit_id,
                    region_path: &o.region_path,
                    tracking_no: &o.tracking_no,
                    title: &o.title,
                    has_phone: !o.submitter_phone_enc.is_empty(),
                };
                // An item answered without a unit has no unit to tell.
                let unitless = matches!(whom, WfActor::LeadUnit | WfActor::UnitLead)
                    && input.unit_id.or(o.lead_unit_id).is_none();
                let recipient =
                    outgoing(&target, *whom, template, input.unit_id).map(|x| x.recipient);
                if unitless || recipient.is_some_and(|r| !told.insert((r, template))) {
                    continue;
                }
                notify(tx, &target, *whom, template, input.unit_id).await?;
            }
            Effect::OpenRound => {
                on_tx!(tx, t => sqlx::query(
                    "UPDATE opinion SET round = round + 1, rehandle_rounds = rehandle_rounds + 1, \
                     feedback_sent_on = NULL WHERE id = $1")
                    .bind(o.id).execute(t).await.map(|_| ()))?;
            }
            Effect::CloseRound => {}
            Effect::CreateSupervisionCase { due_on } => {
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO supervision_case (opinion_id, opened_at, due_on, reason) VALUES ($1,$2,$3,$4)")
                    .bind(o.id).bind(at).bind(*due_on).bind(input.reason.as_deref().unwrap_or("逾期或多次重办仍未解决"))
                    .execute(t).await.map(|_| ()))?;
                on_tx!(tx, t => sqlx::query(
                    "UPDATE opinion SET supervised_at = COALESCE(supervised_at, $1) WHERE id = $2")
                    .bind(at).bind(o.id).execute(t).await.map(|_| ()))?;
            }
            Effect::RecordRating { rating } => {
                on_tx!(tx, t => sqlx::query("UPDATE opinion SET last_rating = $1 WHERE id = $2")
                    .bind(rating.code()).bind(o.id).execute(t).await.map(|_| ()))?;
            }
            Effect::RecordGrade { grade } => {
                on_tx!(tx, t => sqlx::query("UPDATE opinion SET last_grade = $1 WHERE id = $2")
                    .bind(grade.code()).bind(o.id).execute(t).await.map(|_| ()))?;
            }
            Effect::UseExtension => {
                on_tx!(tx, t => sqlx::query("UPDATE opinion SET extensions_used = extensions_used + 1 WHERE id = $1")
                    .bind(o.id).execute(t).await.map(|_| ()))?;
            }
            Effect::ReleaseUnits => {
                on_tx!(tx, t => sqlx::query("UPDATE opinion_unit SET active = FALSE WHERE opinion_id = $1")
                    .bind(o.id).execute(t).await.map(|_| ()))?;
                // The returned unit's reply deadline goes with it; the next assignment sets one.
                on_tx!(tx, t => sqlx::query(
                    "UPDATE opinion SET lead_unit_id = NULL, assigned_on = NULL, reply_due_on = NULL WHERE id = $1")
                    .bind(o.id).execute(t).await.map(|_| ()))?;
            }
            Effect::LinkDuplicate => {}
            Effect::FreezeSubmission | Effect::RecordRegistration { .. } => {}
            // Applied by `act`, which knows the acting user the draft's records name.
            Effect::CreateSuggestionDraft => {}
        }
    }
    Ok(())
}

/// Which opinions a user sees in lists: derived from the one scoping rule, except that the
/// system administrator (no business content, 三员) sees none.
pub fn list_scope(p: &Principal) -> Scope {
    match p.role {
        Role::SystemAdmin => Scope::Nothing,
        _ => p.scope(),
    }
}

pub(crate) fn scope_where(s: &mut Sql, scope: &Scope) {
    match scope {
        Scope::Everything => {}
        Scope::RegionSubtree(path) => {
            s.push(" AND o.region_path LIKE ").bind(format!("{path}%"));
        }
        Scope::Station(id) => {
            s.push(" AND o.station_id IN (SELECT id FROM station WHERE id = ")
                .bind(*id)
                .push(" OR parent_id = ")
                .bind(*id)
                .push(")");
        }
        Scope::Unit(id) => {
            s.push(" AND EXISTS (SELECT 1 FROM opinion_unit ou WHERE ou.opinion_id = o.id AND ou.unit_id = ")
                .bind(*id)
                .push(")");
        }
        Scope::Deputy(id) => {
            s.push(" AND o.deputy_id = ").bind(*id);
        }
        Scope::EnteredBy(id) => {
            s.push(" AND o.entered_by = ").bind(*id);
        }
        Scope::Nothing => {
            s.push(" AND 1=0");
        }
    }
}

/// Filters of opinion lists (workbenches, ledger, API).
#[derive(Debug, Clone, Default)]
pub struct OpinionFilter {
    /// Any of these state codes.
    pub states: Vec<String>,
    /// Only this station (and its points).
    pub station_id: Option<i64>,
    /// Only this region's subtree.
    pub region_path: Option<String>,
    /// Only items this unit has (or had) — for the unit's own lists, items actively assigned.
    pub unit_id: Option<i64>,
    /// Only items assigned to the unit now (active assignment).
    pub unit_active_only: bool,
    /// Only items addressed to this deputy.
    pub deputy_id: Option<i64>,
    /// Category.
    pub category: Option<String>,
    /// Only items whose current deadline has passed.
    pub overdue: bool,
    /// Only items due within this many days (即将超期), not yet overdue.
    pub due_within_days: Option<i64>,
    /// Full-text query, already segmented into tokens.
    pub q: Vec<String>,
    /// Received on or after.
    pub created_from: Option<Date>,
    /// Received on or before.
    pub created_to: Option<Date>,
    /// Keyset cursor: ids below this (newest first).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
    /// Count every match (ledgers); otherwise unfiltered lists stop at [`TOTAL_CAP`] and searches
    /// at [`SEARCH_TOTAL_CAP`].
    pub exact_total: bool,
    /// Only items with a follow-up question of the citizen waiting for an answer (追问待答).
    pub open_follow_ups: bool,
}

impl OpinionFilter {
    /// No condition that narrows a list to a working set (state, deadline, category, dates,
    /// one station, unit or deputy): the list of everything in a scope.
    fn is_broad(&self) -> bool {
        self.station_id.is_none() && self.only_words_and_place()
    }

    /// Only items still being worked on: open states, a deadline, open follow-up questions. Such
    /// lists stay a small share of the database however old it grows (3 % of the benchmark's
    /// million items are open, 30,000 for the whole city); a list of closed items can hold most
    /// of it.
    fn is_working_set(&self) -> bool {
        let open_states = !self.states.is_empty()
            && self
                .states
                .iter()
                .all(|c| OpinionState::parse(c).is_some_and(|s| !s.is_final()));
        open_states || self.overdue || self.due_within_days.is_some() || self.open_follow_ups
    }

    /// Nothing narrows the list but its words and its place (a station or region filter): no
    /// state, deadline, category, dates, unit or deputy.
    fn only_words_and_place(&self) -> bool {
        self.states.is_empty()
            && !self.overdue
            && self.due_within_days.is_none()
            && self.category.is_none()
            && self.unit_id.is_none()
            && self.deputy_id.is_none()
            && self.created_from.is_none()
            && self.created_to.is_none()
            && !self.open_follow_ups
    }
}

/// Where list totals of unfiltered lists stop counting unless an exact total is asked for.
pub const TOTAL_CAP: i64 = 1000;

/// Where totals of full-text searches stop counting unless an exact total is asked for ("200+").
/// Counting a common word's matches means reading its list of documents far past the page: on a
/// million opinions that was most of a search's cost (docs/benchmarks.md, fourth pass).
pub const SEARCH_TOTAL_CAP: i64 = 200;

/// A row of an opinion list.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct OpinionSummary {
    /// Id.
    pub id: i64,
    /// Tracking number.
    pub tracking_no: String,
    /// Title.
    pub title: String,
    /// Station name.
    pub station_name: String,
    /// State code.
    pub state: String,
    /// Category.
    pub category: String,
    /// Suggested category.
    pub category_suggested: String,
    /// Urgency.
    pub urgency: String,
    /// Channel.
    pub channel: String,
    /// Current deadline kind.
    pub due_kind: Option<String>,
    /// Current deadline.
    pub due_on: Option<Date>,
    /// Lead unit.
    pub lead_unit_name: Option<String>,
    /// Addressed deputy.
    pub deputy_name: Option<String>,
    /// Received.
    pub created_at: time::OffsetDateTime,
    /// Version.
    pub version: i64,
    /// Grade of the latest reply.
    pub last_grade: Option<String>,
    /// Latest rating.
    pub last_rating: Option<String>,
}

const SUMMARY_SELECT: &str = "SELECT o.id, o.tracking_no, o.title, s.name AS station_name, o.state, o.category, \
    o.category_suggested, o.urgency, o.channel, o.due_kind, o.due_on, u.name AS lead_unit_name, \
    d.name AS deputy_name, o.created_at, o.version, o.last_grade, o.last_rating";

const SUMMARY_JOINS: &str = " JOIN station s ON s.id = o.station_id \
    LEFT JOIN handling_unit u ON u.id = o.lead_unit_id LEFT JOIN deputy d ON d.id = o.deputy_id WHERE 1=1";

/// The FROM clause and the conditions of a list. With a full-text query the rows come from the
/// search index: on SQLite newest match first, so a page of a common word stops after its rows
/// instead of collecting every match first (`fts`: the FTS5 query, see [`fts_match`]); on
/// PostgreSQL the index's matches (searches go through [`list_search`]).
/// `summary`: join what a list row shows (not needed to count).
fn from_where(
    s: &mut Sql,
    summary: bool,
    backend: crate::Backend,
    scope: &Scope,
    f: &OpinionFilter,
    today: Date,
    fts: &str,
) {
    if f.q.is_empty() {
        s.push(" FROM opinion o");
    } else {
        match backend {
            crate::Backend::Sqlite => {
                // `fid` is the FTS rowid, the id negated (see [`fts_rowid`]): ascending, so
                // newest first.
                s.push(" FROM (SELECT rowid AS fid FROM opinion_fts WHERE opinion_fts MATCH ")
                    .bind(fts)
                    .push(" ORDER BY rowid) AS f JOIN opinion o ON o.id = -f.fid");
            }
            crate::Backend::Postgres => {
                // Lists with words go through `list_search` on PostgreSQL; this is the plain
                // form for any other caller.
                s.push(" FROM (SELECT opinion_id AS fid FROM opinion_text WHERE search_vector @@ plainto_tsquery('simple', ")
                    .bind(pg_words(&f.q))
                    .push(") OFFSET 0) AS f JOIN opinion o ON o.id = f.fid");
            }
        }
    }
    if summary {
        s.push(SUMMARY_JOINS);
    } else {
        s.push(" WHERE 1=1");
    }
    filter_where(s, scope, f, today);
}

/// The rowid of an opinion's row in SQLite's full-text index: its id negated. Lists want the
/// newest first; FTS5 reads a word's matches backwards by loading each page into a buffer of
/// offsets first, and in rowid order without it. Negated ids put the newest first in the cheap
/// direction: 10–14 % less server CPU per search under load (docs/benchmarks.md, tenth pass).
/// Migration 0015 rewrote the rows stored before.
pub fn fts_rowid(id: i64) -> i64 {
    -id
}

/// The FTS5 query of search words: every word must match.
fn fts_expr(q: &[String]) -> String {
    q.iter().map(|t| fts_word(t)).collect::<Vec<_>>().join(" ")
}

/// The pieces of a search word that the indexes hold as tokens: both split at whatever is
/// not a letter or digit (`A-3栋` → `A`, `3栋`). A word's pieces are all required, on both
/// databases.
fn word_pieces(t: &str) -> impl Iterator<Item = &str> {
    t.split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
}

/// The search words for PostgreSQL's `plainto_tsquery` (every token required), split as
/// [`word_pieces`] splits them: its parser would otherwise keep `路灯-不亮` as one token of its
/// own, which the stored vectors (from `segment_for_index`) never hold.
/// A word without pieces asks for `zs0`, as in [`fts_word`]: an empty query would match
/// every row of the place.
fn pg_words(q: &[String]) -> String {
    let mut words = Vec::new();
    for t in q {
        let before = words.len();
        words.extend(word_pieces(t));
        if words.len() == before {
            words.push("zs0");
        }
    }
    words.join(" ")
}

/// One search word as an FTS5 query: the word as a token, or, when the tokenizer would split
/// it, its pieces, all required (see [`word_pieces`]) — as on PostgreSQL, and not the phrase
/// that a quoted `a-b` would be.
fn fts_word(t: &str) -> String {
    let pieces: Vec<String> = word_pieces(t).map(|p| format!("\"{p}\"")).collect();
    match pieces.len() {
        // Nothing the index could hold: the place token of a station that does not exist (as
        // in `place_tokens`), which no row has.
        0 => "\"zs0\"".to_owned(),
        1 => pieces.into_iter().next().expect("one piece"),
        _ => format!("({})", pieces.join(" ")),
    }
}

fn filter_where(s: &mut Sql, scope: &Scope, f: &OpinionFilter, today: Date) {
    scope_where(s, scope);
    if !f.states.is_empty() {
        s.push(" AND o.state IN ")
            .bind_list(f.states.iter().cloned());
    }
    if let Some(id) = f.station_id {
        s.push(" AND o.station_id IN (SELECT id FROM station WHERE id = ")
            .bind(id)
            .push(" OR parent_id = ")
            .bind(id)
            .push(")");
    }
    if let Some(p) = &f.region_path {
        s.push(" AND o.region_path LIKE ").bind(format!("{p}%"));
    }
    if let Some(u) = f.unit_id {
        if f.unit_active_only {
            s.push(" AND EXISTS (SELECT 1 FROM opinion_unit ou WHERE ou.opinion_id = o.id AND ou.active = TRUE AND ou.unit_id = ")
                .bind(u)
                .push(")");
        } else {
            s.push(" AND EXISTS (SELECT 1 FROM opinion_unit ou WHERE ou.opinion_id = o.id AND ou.unit_id = ")
                .bind(u)
                .push(")");
        }
    }
    if let Some(d) = f.deputy_id {
        s.push(" AND o.deputy_id = ").bind(d);
    }
    if let Some(c) = &f.category {
        // The effective category, spelled exactly as the index `opinion_effective_category`
        // (migration 0010) holds it so that both planners use it.
        s.push(" AND (CASE WHEN o.category = '' THEN o.category_suggested ELSE o.category END) = ")
            .bind(c.clone());
    }
    if f.overdue {
        s.push(" AND o.due_on < ").bind(today);
    }
    if let Some(days) = f.due_within_days {
        s.push(" AND o.due_on >= ")
            .bind(today)
            .push(" AND o.due_on <= ")
            .bind(today + time::Duration::days(days));
    }
    if f.open_follow_ups {
        // Driven by the few waiting questions (a partial index, migration 0011), not by a test
        // of every item in scope.
        s.push(" AND o.id IN (SELECT opinion_id FROM opinion_follow_up WHERE answered_at IS NULL)");
    }
    // A text query is joined in `from_where`.
    if let Some(d) = f.created_from {
        s.push(" AND o.created_at >= ").bind(start_of_day(d));
    }
    if let Some(d) = f.created_to {
        s.push(" AND o.created_at < ")
            .bind(start_of_day(d + time::Duration::days(1)));
    }
}

pub(crate) fn start_of_day(d: Date) -> time::OffsetDateTime {
    d.with_hms(0, 0, 0)
        .expect("midnight")
        .assume_offset(time::macros::offset!(+8))
        .to_offset(time::UtcOffset::UTC)
}

/// Opinions in a scope, newest first, with the total count (capped at [`TOTAL_CAP`] unless
/// `exact_total`).
pub async fn list(db: &Db, scope: &Scope, f: &OpinionFilter) -> DbResult<Page<OpinionSummary>> {
    if db.backend() == crate::Backend::Postgres && !f.q.is_empty() {
        return list_search(db, scope, f).await;
    }
    let today = today();
    let fts = if f.q.is_empty() {
        String::new()
    } else {
        fts_match(db, scope, f).await?
    };
    let mut window_total = None;
    let items: Vec<OpinionSummary> = if f.q.is_empty() {
        // The page's ids first, then its rows: the ids of a filtered list come from a covering
        // index, and sorting them needs no row. Selected in one step, both planners read every
        // matching row before sorting (two thousand random row reads for a county hub's items
        // in hand, where the page shows twenty).
        let page_ids = |s: &mut Sql| {
            s.push("SELECT o.id");
            from_where(s, false, db.backend(), scope, f, today, &fts);
            if let Some(b) = f.before_id {
                s.push(" AND o.id < ").bind(b);
            }
            s.push(" ORDER BY o.id DESC LIMIT ").bind(f.limit + 1);
        };
        match db.backend() {
            crate::Backend::Sqlite => {
                let mut s = Sql::new(SUMMARY_SELECT);
                s.push(" FROM opinion o")
                    .push(SUMMARY_JOINS)
                    .push(" AND o.id IN (");
                page_ids(&mut s);
                s.push(") ORDER BY o.id DESC");
                s.fetch_all(db).await?
            }
            crate::Backend::Postgres if f.before_id.is_none() && f.is_working_set() => {
                // The first page of a working set: its ids and its count from one scan of the
                // matches (a window over all of them), where the count's statement would read
                // them all again. A working set is small, so the window's buffer stays in
                // memory (docs/benchmarks.md, eighth pass). The window sits in a subquery
                // sorted outside it: with `ORDER BY … LIMIT` beside the window, the planner
                // priced the page as if it stopped after 21 rows and walked the whole table
                // backwards by id (the window reads everything first), 634 ms for the city's
                // overdue list on one set; in a subquery the matches come from their index,
                // 2.6 ms (ninth pass).
                let mut s =
                    Sql::new("SELECT id, total FROM (SELECT o.id, COUNT(*) OVER () AS total");
                from_where(&mut s, false, db.backend(), scope, f, today, &fts);
                s.push(") AS w ORDER BY id DESC LIMIT ").bind(f.limit + 1);
                let rows: Vec<(i64, i64)> = s.fetch_all(db).await?;
                window_total = rows.first().map(|r| r.1);
                summaries_of(db, rows.into_iter().map(|(id, _)| id)).await?
            }
            crate::Backend::Postgres => {
                // Two statements: PostgreSQL plans a statement afresh for every set of
                // values that can change its plan, and planning the page in one statement
                // (the table twice and three joins) took 1.4 ms, more than running it
                // (docs/benchmarks.md, sixth pass). The ids' query is small to plan; the rows'
                // query has one text for every page, planned once per connection.
                let mut s = Sql::new("");
                page_ids(&mut s);
                let ids: Vec<(i64,)> = s.fetch_all(db).await?;
                summaries_of(db, ids.into_iter().map(|(id,)| id)).await?
            }
        }
    } else {
        // From the FTS index in its rowid order, which is newest first (see [`fts_rowid`]), so
        // that SQLite walks the matches forwards and stops after the page.
        let mut s = Sql::new(SUMMARY_SELECT);
        from_where(&mut s, true, db.backend(), scope, f, today, &fts);
        if let Some(b) = f.before_id {
            s.push(" AND f.fid > ").bind(fts_rowid(b));
        }
        s.push(" ORDER BY f.fid LIMIT ").bind(f.limit + 1);
        s.fetch_all(db).await?
    };
    let full = items.len() as i64 > f.limit;
    let (total, total_capped) = if let Some(n) = window_total {
        (n, false)
    } else if !full && f.before_id.is_none() {
        // The first page holds every match: it is the count.
        (items.len() as i64, false)
    } else {
        // Counts stop at the cap. On PostgreSQL only unfiltered browsing (ledgers of a whole
        // county), which can match hundreds of thousands of rows: for a narrow filter a LIMIT
        // makes its planner walk the newest rows first, reading the whole table whenever fewer
        // than the cap match, so those are counted exactly through their index. SQLite's
        // planner does not switch plans for a LIMIT.
        let capped = !f.exact_total && (db.backend() == crate::Backend::Sqlite || f.is_broad());
        let cap = if f.q.is_empty() {
            TOTAL_CAP
        } else {
            SEARCH_TOTAL_CAP
        };
        let mut c = Sql::new("SELECT COUNT(*) FROM (SELECT 1 AS one");
        if !fts.is_empty() && place_is_in_the_index(scope, f) {
            // The index's matches are the list's: count them without reading their rows (201
            // random row reads per search were a large part of its cost).
            c.push(" FROM opinion_fts WHERE opinion_fts MATCH ")
                .bind(fts.clone());
        } else {
            from_where(&mut c, false, db.backend(), scope, f, today, &fts);
        }
        if capped {
            c.push(" LIMIT ").bind(cap + 1);
        }
        c.push(") AS matching");
        let n = c.fetch_count(db).await?;
        if capped && n > cap {
            (cap, true)
        } else {
            (n, false)
        }
    };
    Ok(page_of(items, f.limit, total, total_capped))
}

/// Cuts the probe row off a page fetched with `limit + 1` rows and sets the cursor.
fn page_of(
    mut items: Vec<OpinionSummary>,
    limit: i64,
    total: i64,
    total_capped: bool,
) -> Page<OpinionSummary> {
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|o| o.id.to_string())
    } else {
        None
    };
    Page {
        items,
        total,
        total_capped,
        next,
    }
}

/// Ids per block of the PostgreSQL search vectors' `zb<block>` token (see [`pg_scope_tokens`]).
/// Changing it needs the tokens of stored rows rewritten (migrations 0013 and 0017 wrote them).
pub const SEARCH_BLOCK: i64 = 4096;

/// The windows of blocks a PostgreSQL search asks the index for, from the newest, before it
/// searches everything older: the newest two (the newest is partly filled), six more, then 24
/// more (131,072 ids in all). A window holds the place's block tokens (`zs43b244 | …`, see
/// [`pg_scope_tokens`]), so GIN walks only the place's items in those blocks, or the word's
/// if it is rarer. The first two windows are read while fewer than the count's cap have
/// matched, so a common word stops after the first; the third only while the page is not
/// full (docs/benchmarks.md, eleventh pass: a station's search walked the 32,768 ids of the
/// city's eight newest blocks, 2.4 ms to find 5 matches).
const SEARCH_WINDOWS: [i64; 3] = [2, 6, 24];

/// At most this many block tokens in a window: a county hub's station has its own and its
/// twenty points' tokens, and GIN tests every candidate against the whole query, so 480 tokens
/// (24 blocks) took 33 ms, 120 took 1.6–3 ms (docs/benchmarks.md, eleventh pass). A wider
/// place gets narrower windows.
const MAX_WINDOW_TOKENS: usize = 64;

/// How many of [`SEARCH_WINDOWS`] count matches up to the cap (32,768 ids); later windows
/// only fill the page.
const COUNTED_WINDOWS: usize = 2;

/// A full-text list on PostgreSQL. GIN answers a set, not the newest matches first: for a word
/// found in every tenth item it reads a posting list of a hundred thousand entries, and the
/// row of every match to sort them, where a page needs twenty. So a search asks the index for
/// the windows of [`SEARCH_WINDOWS`] in turn, the words and the place's block tokens
/// together. GIN intersects posting lists led by the rarest, so a window costs about the
/// place's items in it or the word's, whichever is fewer, and the rows of the matches. Only
/// if those do not fill the page does it ask for the words and the place (see
/// [`place_tokens`]) in everything older, which is then a rarer word's or a narrower place's
/// smaller set.
///
/// The total is exact up to [`SEARCH_TOTAL_CAP`] when the last step ran, else a lower bound
/// (`total_capped`) counted in the newest windows, unless `exact_total`, which asks the index
/// for everything at once.
async fn list_search(db: &Db, scope: &Scope, f: &OpinionFilter) -> DbResult<Page<OpinionSummary>> {
    let today = today();
    let groups = place_tokens(db, scope, f).await?;
    let place = place_tsquery(&groups);
    let top = match f.before_id {
        Some(b) => b - 1,
        None => {
            Sql::new("SELECT COALESCE(MAX(id), 0) FROM opinion")
                .fetch_count(db)
                .await?
        }
    };
    // What is still worth reading: a page and one more, and enough to count to the cap.
    let wanted = |found: usize| SEARCH_TOTAL_CAP.max(f.limit) + 1 - found as i64;
    let mut ids = Vec::new();
    // Every id above this has been searched.
    let mut searched_down_to = top;
    if !f.exact_total && top > 0 {
        let (blocked, others) = blocked_place(groups);
        let others = place_tsquery(&others);
        let mut upper = top / SEARCH_BLOCK;
        for (i, blocks) in SEARCH_WINDOWS.into_iter().enumerate() {
            let blocks = blocks.min((MAX_WINDOW_TOKENS / blocked.len()).max(1) as i64);
            let oldest = (upper - blocks + 1).max(0);
            let lo = (oldest * SEARCH_BLOCK - 1).max(0);
            let tokens: Vec<String> = (oldest..=upper)
                .flat_map(|b| blocked.iter().map(move |t| format!("{t}b{b}")))
                .collect();
            let window = Window {
                ids: (lo, searched_down_to),
                blocks: Some(tokens.join(" | ")),
                limit: Some(wanted(ids.len())),
            };
            ids.extend(search_ids(db, scope, f, today, &others, window).await?);
            searched_down_to = lo;
            let enough = if i + 1 < COUNTED_WINDOWS {
                wanted(ids.len()) <= 0
            } else {
                ids.len() as i64 > f.limit
            };
            if enough || lo == 0 {
                break;
            }
            upper = oldest - 1;
        }
    }
    if ids.len() as i64 <= f.limit && searched_down_to > 0 {
        let window = Window {
            ids: (0, searched_down_to),
            blocks: None,
            limit: (!f.exact_total).then(|| wanted(ids.len())),
        };
        ids.extend(search_ids(db, scope, f, today, &place, window).await?);
        searched_down_to = 0;
    }
    let n = ids.len() as i64;
    let (total, total_capped) = if searched_down_to > 0 {
        (n.min(SEARCH_TOTAL_CAP), true)
    } else if !f.exact_total && n > SEARCH_TOTAL_CAP {
        (SEARCH_TOTAL_CAP, true)
    } else {
        (n, false)
    };
    ids.truncate(f.limit as usize + 1);
    let items = summaries_of(db, ids).await?;
    Ok(page_of(items, f.limit, total, total_capped))
}

/// Splits the place groups of a search (see [`place_tokens`]) into the one whose block tokens a
/// window asks for and the rest, which stay plain. The narrowest: a station (with its points),
/// else the last region (the filter's, within the scope's); with no place, the city's blocks
/// (`zb<block>`).
fn blocked_place(mut groups: Vec<Vec<String>>) -> (Vec<String>, Vec<Vec<String>>) {
    let pick = groups
        .iter()
        .position(|g| g.iter().all(|t| t.starts_with("zs")))
        .or_else(|| groups.len().checked_sub(1));
    match pick {
        Some(i) => {
            let blocked = groups.remove(i);
            (blocked, groups)
        }
        None => (vec!["z".to_owned()], groups),
    }
}

/// The list rows of these opinions on PostgreSQL, newest first. The ids are one array value,
/// so the statement's text is the same for every page and PostgreSQL keeps its plan for the
/// connection instead of planning the joins again (see [`list`]).
async fn summaries_of(
    db: &Db,
    ids: impl IntoIterator<Item = i64>,
) -> DbResult<Vec<OpinionSummary>> {
    let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Sql::new(SUMMARY_SELECT);
    s.push(" FROM opinion o")
        .push(SUMMARY_JOINS)
        .push(" AND o.id = ANY(CAST(")
        .bind(format!("{{{}}}", ids.join(",")))
        .push(" AS BIGINT[])) ORDER BY o.id DESC");
    s.fetch_all(db).await
}

/// Where [`search_ids`] looks.
struct Window {
    /// Ids `lo < id <= hi`.
    ids: (i64, i64),
    /// The block tokens to ask the index for as well (`zb3 | zb4`), if any.
    blocks: Option<String>,
    /// At most this many, newest first.
    limit: Option<i64>,
}

/// The ids of the matches of a PostgreSQL search in a window, newest first.
async fn search_ids(
    db: &Db,
    scope: &Scope,
    f: &OpinionFilter,
    today: Date,
    place: &str,
    w: Window,
) -> DbResult<Vec<i64>> {
    // Three steps, each kept apart by OFFSET 0 so that no planner shortcut applies:
    // 1. the index's matches (`m`);
    // 2. those in the range, newest first (`f`). Tested inside step 1, the range could tempt
    //    the planner into reading a narrow range row by row, de-TOASTing every vector;
    // 3. each one's row tested against the scope and the filters, in that order, until the
    //    limit. As a plain join the planner, which expects thousands of matches, merges them
    //    with the whole table read backwards through its primary key (0.26 s where this takes
    //    8 ms, docs/benchmarks.md, fifth pass). Left out when the index alone answers (below).
    // Each query is a scalar subquery, a value the planner does not see: it then always asks
    // the index. Seeing it, it priced a common word with a window's hundred block tokens at
    // 15 % of the table and read all of it, 6 s (eleventh pass).
    // The words, the place and the blocks are conditions of their own, not one query joined by
    // `&&`: GIN then advances each to the next row the others could match, skipping ahead in
    // its lists. As one query it walked every item of the part it sorted first, often a
    // station's points (13 tokens of some 4,650 items each) before a rarer word: the index
    // scan took 8.8 ms against 3.1 ms (docs/benchmarks.md, twelfth pass).
    let mut s = Sql::new(
        "SELECT f.fid FROM (SELECT fid FROM (SELECT opinion_id AS fid FROM opinion_text \
         WHERE search_vector @@ (SELECT plainto_tsquery('simple', ",
    );
    s.bind(pg_words(&f.q)).push("))");
    if !place.is_empty() {
        s.push(" AND search_vector @@ (SELECT to_tsquery('simple', ")
            .bind(place.to_owned())
            .push("))");
    }
    if let Some(blocks) = w.blocks {
        s.push(" AND search_vector @@ (SELECT to_tsquery('simple', ")
            .bind(blocks)
            .push("))");
    }
    let (lo, hi) = w.ids;
    s.push(" OFFSET 0) AS m WHERE fid > ")
        .bind(lo)
        .push(" AND fid <= ")
        .bind(hi)
        .push(" ORDER BY fid DESC OFFSET 0) AS f");
    // When the tokens are the whole of the scope and the filters, the index's matches are the
    // list's (as for SQLite's count): testing each one's row would change nothing and cost up
    // to 201 index probes a statement (docs/benchmarks.md, twelfth pass).
    if !place_is_in_the_index(scope, f) {
        s.push(" CROSS JOIN LATERAL (SELECT 1 AS one FROM opinion o WHERE o.id = f.fid");
        filter_where(&mut s, scope, f, today);
        s.push(" OFFSET 0) AS o");
    }
    s.push(" ORDER BY f.fid DESC");
    if let Some(n) = w.limit {
        s.push(" LIMIT ").bind(n.max(1));
    }
    let rows: Vec<(i64,)> = s.fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// How many items per state a scope holds (to-do counts).
pub async fn counts_by_state(
    db: &Db,
    scope: &Scope,
    unit_active: Option<i64>,
) -> DbResult<Vec<(String, i64)>> {
    let mut s = Sql::new("SELECT o.state, COUNT(*) FROM opinion o WHERE 1=1");
    scope_where(&mut s, scope);
    if let Some(u) = unit_active {
        s.push(" AND EXISTS (SELECT 1 FROM opinion_unit ou WHERE ou.opinion_id = o.id AND ou.active = TRUE AND ou.unit_id = ")
            .bind(u)
            .push(")");
    }
    s.push(" GROUP BY o.state");
    s.fetch_all(db).await
}

/// Looks an opinion up by tracking number and the last four digits of the submitter's phone,
/// with its body left empty (see [`SELECT_WITHOUT_BODY`]). A wrong pair and an unknown number
/// are indistinguishable to the caller.
pub async fn track(
    db: &Db,
    keys: &Keys,
    tracking_no: &str,
    last4: &str,
) -> DbResult<Option<Opinion>> {
    let mut s = Sql::new(SELECT_WITHOUT_BODY.as_str());
    s.push(" AND o.tracking_no = ")
        .bind(tracking_no.trim().to_uppercase());
    let Some(o) = s.fetch_optional::<Opinion>(db).await? else {
        return Ok(None);
    };
    Ok(phone_ends_with(keys, &o, last4)?.then_some(o))
}

/// Whether the submitter's phone ends with the four digits a citizen typed to track the item.
fn phone_ends_with(keys: &Keys, o: &Opinion, last4: &str) -> DbResult<bool> {
    let phone = keys.decrypt(&o.submitter_phone_enc)?;
    Ok(phone.len() == 11 && last4.len() == 4 && phone.ends_with(last4))
}

/// Reveals the submitter's name and phone to a user who handles the item; audited.
pub async fn reveal_submitter(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    purpose: &str,
) -> DbResult<(String, String)> {
    let o = get(db, id).await?;
    let name = keys.decrypt(&o.submitter_name_enc)?;
    let phone = keys.decrypt(&o.submitter_phone_enc)?;
    let mut tx = db.begin().await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "reveal_phone",
            entity: "opinion",
            entity_id: id.to_string(),
            summary: format!("查看反映人联系方式（{}），事由：{purpose}", o.tracking_no),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((name, phone))
}

/// Open items similar to a text in the same area (possible duplicates), by shared search
/// tokens, newest first.
pub async fn similar_open(
    db: &Db,
    station_id: i64,
    tokens: &[String],
    exclude: i64,
    limit: i64,
) -> DbResult<Vec<OpinionSummary>> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let open: Vec<String> = [
        "submitted",
        "accepted",
        "assigned",
        "acknowledged",
        "handling",
        "extension_requested",
        "replied",
        "reviewed",
        "rehandling",
        "supervised",
        "return_requested",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Any of the most telling tokens, not all: a duplicate is worded differently.
    let mut any: Vec<String> = tokens
        .iter()
        .filter(|t| t.chars().count() >= 2)
        .cloned()
        .collect();
    any.truncate(6);
    if any.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Sql::new(SUMMARY_SELECT);
    s.push(" FROM opinion o").push(SUMMARY_JOINS);
    s.push(" AND o.id <> ").bind(exclude);
    s.push(" AND o.station_id = ").bind(station_id);
    s.push(" AND o.state IN ").bind_list(open.iter().cloned());
    match db.backend() {
        crate::Backend::Sqlite => {
            let expr = any
                .iter()
                .map(|t| fts_word(t))
                .collect::<Vec<_>>()
                .join(" OR ");
            s.push(" AND o.id IN (SELECT -rowid FROM opinion_fts WHERE opinion_fts MATCH ")
                .bind(expr)
                .push(")");
        }
        crate::Backend::Postgres => {
            let expr = any
                .iter()
                .map(|t| t.replace(['\'', '\\', ':', '&', '|', '!', '(', ')', '*'], ""))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" | ");
            s.push(" AND o.id IN (SELECT opinion_id FROM opinion_text WHERE search_vector @@ to_tsquery('simple', ")
                .bind(format!("({expr}) & zs{station_id}"))
                .push("))");
        }
    }
    s.push(" ORDER BY o.id DESC LIMIT ").bind(limit);
    s.fetch_all(db).await
}

/// The working-day calendar: the built-in State Council notices plus the years an
/// administrator uploaded.
pub async fn load_calendar(db: &Db) -> DbResult<Calendar> {
    let mut cal = Calendar::builtin();
    let rows: Vec<(String,)> = Sql::new("SELECT notice FROM calendar_year ORDER BY year")
        .fetch_all(db)
        .await?;
    for (json,) in rows {
        match liaison_core::workdays::YearNotice::from_json(&json) {
            Ok(n) => cal.set_year(n),
            Err(e) => tracing::warn!(error = %e, "stored holiday notice is invalid; ignored"),
        }
    }
    Ok(cal)
}

/// Stores an uploaded holiday notice (validated by the caller) and audits it.
pub async fn save_calendar_year(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    notice: &liaison_core::workdays::YearNotice,
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO calendar_year (year, notice, updated_at) VALUES ($1,$2,$3) \
         ON CONFLICT (year) DO UPDATE SET notice = excluded.notice, updated_at = excluded.updated_at")
        .bind(notice.year as i64).bind(notice.to_json()).bind(now()).execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "update",
            entity: "calendar_year",
            entity_id: notice.year.to_string(),
            summary: format!(
                "更新{}年节假日安排（{}天调整）",
                notice.year,
                notice.days.len()
            ),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// The deadline table: the stored one, else the default.
pub async fn load_sla(db: &Db) -> DbResult<SlaTable> {
    Ok(match crate::settings::get(db, "sla_table").await? {
        Some(json) => SlaTable::from_json(&json).unwrap_or_default(),
        None => SlaTable::default(),
    })
}

/// A suggested handling unit.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct UnitSuggestion {
    /// Unit id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// Suggests the lead unit for a category in a region: the routing table entry of the region or
/// its nearest ancestor; failing that, the unit staff chose most often for past items of the same
/// category in the same region subtree.
pub async fn suggest_unit(
    db: &Db,
    category: &str,
    region_path: &str,
) -> DbResult<Option<UnitSuggestion>> {
    if category.is_empty() {
        return Ok(None);
    }
    let mut s = Sql::new(
        "SELECT u.id, u.code, u.name FROM category_route cr JOIN region r ON r.id = cr.region_id \
         JOIN handling_unit u ON u.id = cr.unit_id WHERE u.active = TRUE AND cr.category = ",
    );
    s.bind(category)
        .push(" AND ")
        .bind(region_path.to_owned())
        .push(" LIKE r.path || '%' ORDER BY LENGTH(r.path) DESC LIMIT 1");
    if let Some(u) = s.fetch_optional::<UnitSuggestion>(db).await? {
        return Ok(Some(u));
    }
    let mut s = Sql::new(
        "SELECT u.id, u.code, u.name FROM handling_unit u JOIN (SELECT o.lead_unit_id AS uid, COUNT(*) AS n \
         FROM opinion o WHERE o.lead_unit_id IS NOT NULL AND o.category = ",
    );
    s.bind(category)
        .push(" AND o.region_path LIKE ")
        .bind(format!("{region_path}%"))
        .push(" GROUP BY o.lead_unit_id ORDER BY n DESC LIMIT 1) best ON best.uid = u.id");
    s.fetch_optional(db).await
}

/// Sets the routing table entry (category × region → unit), audited.
pub async fn set_route(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    category: &str,
    region_id: i64,
    unit_id: i64,
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO category_route (category, region_id, unit_id) VALUES ($1,$2,$3) \
         ON CONFLICT (category, region_id) DO UPDATE SET unit_id = excluded.unit_id")
        .bind(category).bind(region_id).bind(unit_id).execute(t).await.map(|_| ()))?;
    audit::append(&mut tx, keys, actor, Entry {
        action: "update",
        entity: "category_route",
        entity_id: format!("{category}@{region_id}"),
        summary: format!("设置分类“{category}”的默认承办单位"),
        before: None,
        after: Some(serde_json::json!({"category": category, "region_id": region_id, "unit_id": unit_id})),
    }).await?;
    tx.commit().await
}

/// The routing table as (category, region name, unit name), for display.
pub async fn list_routes(db: &Db) -> DbResult<Vec<(String, String, String)>> {
    Sql::new(
        "SELECT cr.category, r.name, u.name FROM category_route cr JOIN region r ON r.id = cr.region_id \
         JOIN handling_unit u ON u.id = cr.unit_id ORDER BY r.path, cr.category",
    )
    .fetch_all(db)
    .await
}

/// Stores the deadline table (validated by the caller), audited with before and after.
pub async fn save_sla(db: &Db, keys: &Keys, actor: &Actor, table: &SlaTable) -> DbResult<()> {
    let mut tx = db.begin().await?;
    // The audit's "before" is read in the transaction that replaces it, the row locked on
    // PostgreSQL (SQLite's write transaction is serial): two saves at once each record the table
    // the other left, never the same old one twice.
    let before: Option<String> = match &mut tx.inner {
        TxInner::Sqlite(t) => {
            sqlx::query_scalar("SELECT value FROM setting WHERE key = 'sla_table'")
                .fetch_optional(&mut **t)
                .await?
        }
        TxInner::Postgres(t) => {
            sqlx::query_scalar("SELECT value FROM setting WHERE key = 'sla_table' FOR UPDATE")
                .fetch_optional(&mut **t)
                .await?
        }
    };
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO setting (key, value) VALUES ('sla_table', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(table.to_json()).execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "update",
            entity: "sla_table",
            entity_id: "opinion".into(),
            summary: "修改办理期限表".into(),
            before: before.and_then(|b| serde_json::from_str(&b).ok()),
            after: serde_json::to_value(table).ok(),
        },
    )
    .await?;
    tx.commit().await
}

/// Recent opinions of a scope for the hot-topic finder: (received, title, search text), newest
/// first, at most `limit`, received on or after `since`.
pub async fn recent_texts(
    db: &Db,
    scope: &Scope,
    since: Date,
    limit: i64,
) -> DbResult<Vec<(time::OffsetDateTime, String, String)>> {
    let mut s = Sql::new(
        "SELECT o.created_at, o.title, t.search_text FROM opinion o \
         JOIN opinion_text t ON t.opinion_id = o.id WHERE 1=1",
    );
    scope_where(&mut s, scope);
    s.push(" AND o.created_at >= ").bind(start_of_day(since));
    s.push(" ORDER BY o.id DESC LIMIT ").bind(limit);
    s.fetch_all(db).await
}

/// Staff corrections of the suggested category, oldest first: (title, body, confirmed category).
/// The classifier replays them at start so that corrections keep improving suggestions.
pub async fn category_corrections(db: &Db, limit: i64) -> DbResult<Vec<(String, String, String)>> {
    let mut s = Sql::new(
        "SELECT o.title, t.body, o.category FROM opinion o JOIN opinion_text t ON t.opinion_id = o.id \
         WHERE o.category <> '' AND o.category_suggested <> '' \
         AND o.category <> o.category_suggested ORDER BY o.id LIMIT ",
    );
    s.bind(limit);
    s.fetch_all(db).await
}

#[cfg(test)]
mod tests {
    use super::{blocked_place, fts_word, pg_scope_tokens};

    #[test]
    fn postgres_rows_carry_their_places_within_their_block() {
        assert_eq!(
            pg_scope_tokens(4096 * 244 + 5, 43, "/1/2/39/"),
            "zs43 zr1 zr2 zr39 zb244 zs43b244 zr1b244 zr2b244 zr39b244"
        );
    }

    #[test]
    fn a_search_window_asks_for_the_narrowest_place_by_block() {
        let v = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // A station (with its points) over a region, whichever comes first.
        let (blocked, rest) = blocked_place(vec![v(&["zr39"]), v(&["zs43", "zs44"])]);
        assert_eq!((blocked, rest), (v(&["zs43", "zs44"]), vec![v(&["zr39"])]));
        // The filter's region (the last) over the scope's.
        let (blocked, rest) = blocked_place(vec![v(&["zr2"]), v(&["zr39"])]);
        assert_eq!((blocked, rest), (v(&["zr39"]), vec![v(&["zr2"])]));
        // No place: the city's blocks, `zb<block>`.
        assert_eq!(blocked_place(Vec::new()), (v(&["z"]), Vec::new()));
    }

    #[test]
    fn search_words_become_the_tokens_the_index_holds() {
        assert_eq!(fts_word("路灯"), "\"路灯\"");
        assert_eq!(fts_word("第7"), "\"第7\"");
        // Split as the tokenizer splits, all pieces required; quotes cannot get through.
        assert_eq!(fts_word("A-3栋"), "(\"A\" \"3栋\")");
        assert_eq!(fts_word("a\"b"), "(\"a\" \"b\")");
        // Punctuation alone asks for a token no row has.
        assert_eq!(fts_word("——"), "\"zs0\"");
    }
}
