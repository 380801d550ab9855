//! 闭会建议: storage of deputies' inter-session suggestions and the application of workflow
//! decisions on them.
//!
//! The suggestion rule set of the one workflow engine (`liaison_core::workflow::suggestion`)
//! decides; this module reads the facts it needs and applies its [`Decision`] — state, deadlines,
//! units, co-signatures, the frozen submission, replies, ratings, notifications — with the
//! timeline event and the audit record, in one transaction, through the helpers it shares with
//! the opinion loop (`handling`). Drafts belong to their deputy; the text is frozen when it is
//! submitted (a snapshot), and later material goes in as dated supplements.

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, TxInner, now};
use crate::directory::Page;
use crate::duty_record::{self, NewDutyEntry};
use crate::error::{DbError, DbResult};
use crate::handling::{self, Item, TimelineEvent};
use crate::sql::Sql;
use liaison_core::duty::{DutyKind, DutyStatus, source};
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use liaison_core::workflow::{
    self, Actor as WfActor, Args, Context, Decision, DueKind, Effect, Facts, Registration,
    ResolutionGrade, SUGGESTION_RULES, Satisfaction, SuggestionAction, SuggestionState,
};
use serde::Serialize;
use sqlx::FromRow;
use time::Date;

pub use crate::handling::{ActError, Acting, Rules};

/// Longest title of a suggestion.
pub const TITLE_MAX: usize = 100;
/// Longest text of a suggestion.
pub const BODY_MAX: usize = 10_000;
/// Longest supplement, reply, opinion or consultation record.
pub const TEXT_MAX: usize = 5_000;

/// How a face-to-face consultation (面商) took place.
pub const CONSULTATION_MODES: &[(&str, &str)] = &[
    ("face_to_face", "当面座谈"),
    ("site_visit", "实地走访"),
    ("phone", "电话沟通"),
    ("meeting", "召开办理协调会"),
];

/// Chinese label of a consultation mode.
pub fn mode_label(code: &str) -> &'static str {
    CONSULTATION_MODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("其他方式", |(_, l)| l)
}

/// A suggestion row.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Suggestion {
    /// Id.
    pub id: i64,
    /// Number (建议编号), given at submission.
    pub number: Option<String>,
    /// The proposing deputy (领衔代表).
    pub deputy_id: i64,
    /// Their name.
    pub deputy_name: String,
    /// Their code.
    pub deputy_code: String,
    /// Their station, when the draft was made.
    pub station_id: Option<i64>,
    /// Region path (scope): the deputy's region.
    pub region_path: String,
    /// Title (frozen at submission).
    pub title: String,
    /// Text (frozen at submission).
    pub body: String,
    /// Category.
    pub category: String,
    /// State code.
    pub state: String,
    /// Handling round.
    pub round: i64,
    /// Registration code.
    pub registration: Option<String>,
    /// Lead unit.
    pub lead_unit_id: Option<i64>,
    /// Lead unit's name.
    pub lead_unit_name: Option<String>,
    /// Which deadline `due_on` is.
    pub due_kind: Option<String>,
    /// The deadline of the current step.
    pub due_on: Option<Date>,
    /// Reply deadline in force.
    pub reply_due_on: Option<Date>,
    /// Co-units' opinion deadline.
    pub co_opinion_due_on: Option<Date>,
    /// Day of the current assignment.
    pub assigned_on: Option<Date>,
    /// Re-handling rounds.
    pub rehandle_rounds: i64,
    /// Latest rating.
    pub last_rating: Option<String>,
    /// Grade of the latest reply.
    pub last_grade: Option<String>,
    /// The opinion it was converted from.
    pub source_opinion_id: Option<i64>,
    /// The frozen submission (JSON).
    pub snapshot: Option<String>,
    /// Submitted.
    pub submitted_at: Option<time::OffsetDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Drafted.
    pub created_at: time::OffsetDateTime,
    /// Last change.
    pub updated_at: time::OffsetDateTime,
}

impl Suggestion {
    /// The state, parsed.
    pub fn state(&self) -> SuggestionState {
        SuggestionState::parse(&self.state).unwrap_or(SuggestionState::Draft)
    }

    /// The registration, parsed.
    pub fn registration(&self) -> Option<Registration> {
        self.registration.as_deref().and_then(Registration::parse)
    }

    /// The facts the workflow guards need.
    pub fn facts(&self) -> Facts {
        Facts {
            assigned_on: self.assigned_on,
            due_on: self.reply_due_on,
            feedback_sent_on: None,
            extensions_used: 0,
            rehandle_rounds: self.rehandle_rounds as u32,
            last_rating: self.last_rating.as_deref().and_then(Satisfaction::parse),
            last_grade: self.last_grade.as_deref().and_then(ResolutionGrade::parse),
            registration: self.registration(),
        }
    }

    /// The number, or 草稿 for a draft.
    pub fn number_or_draft(&self) -> String {
        self.number.clone().unwrap_or_else(|| "草稿".to_owned())
    }
}

const SELECT: &str = "SELECT s.id, s.number, s.deputy_id, d.name AS deputy_name, d.code AS deputy_code, \
    s.station_id, s.region_path, s.title, s.body, s.category, s.state, s.round, s.registration, \
    s.lead_unit_id, u.name AS lead_unit_name, s.due_kind, s.due_on, s.reply_due_on, \
    s.co_opinion_due_on, s.assigned_on, s.rehandle_rounds, s.last_rating, s.last_grade, \
    s.source_opinion_id, s.snapshot, s.submitted_at, s.version, s.created_at, s.updated_at \
    FROM suggestion s JOIN deputy d ON d.id = s.deputy_id \
    LEFT JOIN handling_unit u ON u.id = s.lead_unit_id WHERE 1=1";

/// A suggestion by id (no scope check: callers check with [`visible_to`] or [`actors_for`]).
pub async fn get(db: &Db, id: i64) -> DbResult<Suggestion> {
    let mut s = Sql::new(SELECT);
    s.push(" AND s.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

async fn get_tx(tx: &mut Tx, id: i64) -> DbResult<Suggestion> {
    let r: Option<Suggestion> = match &mut tx.inner {
        TxInner::Sqlite(t) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} AND s.id = $1")))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
        TxInner::Postgres(t) => {
            // Lock the row for the rest of the transaction.
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} AND s.id = $1 FOR UPDATE OF s"
            )))
            .bind(id)
            .fetch_optional(&mut **t)
            .await?
        }
    };
    r.ok_or(DbError::NotFound)
}

/// The suggestion converted from an opinion, if any: (id, state code).
pub async fn by_source_opinion(db: &Db, opinion_id: i64) -> DbResult<Option<(i64, String)>> {
    let mut s = Sql::new("SELECT id, state FROM suggestion WHERE source_opinion_id = ");
    s.bind(opinion_id);
    s.fetch_optional(db).await
}

// ---------------------------------------------------------------------------------------------
// Related rows

/// A co-signer (联名代表).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Cosigner {
    /// Deputy id.
    pub deputy_id: i64,
    /// Deputy code.
    pub deputy_code: String,
    /// Name.
    pub name: String,
    /// `invited`, `signed`, `withdrawn`.
    pub status: String,
    /// Invited.
    pub invited_at: time::OffsetDateTime,
    /// Signed.
    pub signed_at: Option<time::OffsetDateTime>,
}

/// Chinese label of a co-signer status.
pub fn cosigner_status_label(code: &str) -> &'static str {
    match code {
        "invited" => "已邀请，待联名",
        "signed" => "已联名",
        "withdrawn" => "已撤回联名",
        _ => "",
    }
}

/// Co-signers of a suggestion, in invitation order.
pub async fn cosigners(db: &Db, id: i64) -> DbResult<Vec<Cosigner>> {
    let mut s = Sql::new(
        "SELECT c.deputy_id, d.code AS deputy_code, d.name, c.status, c.invited_at, c.signed_at \
         FROM suggestion_cosigner c JOIN deputy d ON d.id = c.deputy_id WHERE c.suggestion_id = ",
    );
    s.bind(id).push(" ORDER BY c.id");
    s.fetch_all(db).await
}

async fn cosigners_tx(tx: &mut Tx, id: i64) -> DbResult<Vec<Cosigner>> {
    let rows: Vec<Cosigner> = on_tx!(tx, t => sqlx::query_as(
        "SELECT c.deputy_id, d.code AS deputy_code, d.name, c.status, c.invited_at, c.signed_at \
         FROM suggestion_cosigner c JOIN deputy d ON d.id = c.deputy_id WHERE c.suggestion_id = $1 \
         ORDER BY c.id")
        .bind(id).fetch_all(t).await)?;
    Ok(rows)
}

/// A unit on a suggestion.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct SuggestionUnit {
    /// Unit id.
    pub unit_id: i64,
    /// Name.
    pub unit_name: String,
    /// Lead (主办) or co-unit (协办).
    pub is_lead: bool,
    /// Round.
    pub round: i64,
    /// Still assigned.
    pub active: bool,
    /// Assigned.
    pub assigned_at: time::OffsetDateTime,
    /// Acknowledged (lead unit).
    pub acknowledged_at: Option<time::OffsetDateTime>,
    /// Co-unit's opinion deadline.
    pub co_opinion_due_on: Option<Date>,
    /// Co-unit's opinion given.
    pub co_opinion_at: Option<time::OffsetDateTime>,
}

const UNITS: &str = "SELECT su.unit_id, u.name AS unit_name, su.is_lead, su.round, su.active, \
    su.assigned_at, su.acknowledged_at, su.co_opinion_due_on, su.co_opinion_at \
    FROM suggestion_unit su JOIN handling_unit u ON u.id = su.unit_id WHERE su.suggestion_id = ";

/// Units of a suggestion (current and past).
pub async fn units(db: &Db, id: i64) -> DbResult<Vec<SuggestionUnit>> {
    let mut s = Sql::new(UNITS);
    s.bind(id).push(" ORDER BY su.id");
    s.fetch_all(db).await
}

async fn units_tx(tx: &mut Tx, id: i64) -> DbResult<Vec<SuggestionUnit>> {
    let rows: Vec<SuggestionUnit> = on_tx!(tx, t => sqlx::query_as(sqlx::AssertSqlSafe(
        format!("{UNITS}$1 ORDER BY su.id")))
        .bind(id).fetch_all(t).await)?;
    Ok(rows)
}

/// A timeline event.
pub type Event = crate::opinions::Event;

/// The timeline, oldest first.
pub async fn timeline(db: &Db, id: i64) -> DbResult<Vec<Event>> {
    let mut s = Sql::new(
        "SELECT id, at, actor_name, actor_role, action, label, from_state, to_state, note, public_note \
         FROM suggestion_event WHERE suggestion_id = ",
    );
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// A reply of the lead unit (答复, or 再次答复 after tracking).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Reply {
    /// Round.
    pub round: i64,
    /// `reply` or `second_reply`.
    pub kind: String,
    /// Unit name.
    pub unit_name: Option<String>,
    /// Text.
    pub content: String,
    /// Grade A/B/C/D.
    pub resolution_grade: String,
    /// When.
    pub created_at: time::OffsetDateTime,
}

/// Replies, oldest first.
pub async fn replies(db: &Db, id: i64) -> DbResult<Vec<Reply>> {
    let mut s = Sql::new(
        "SELECT r.round, r.kind, u.name AS unit_name, r.content, r.resolution_grade, r.created_at \
         FROM suggestion_reply r LEFT JOIN handling_unit u ON u.id = r.unit_id WHERE r.suggestion_id = ",
    );
    s.bind(id).push(" ORDER BY r.id");
    s.fetch_all(db).await
}

/// A rating of the deputy.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Rating {
    /// Round.
    pub round: i64,
    /// Rating code.
    pub rating: String,
    /// Comment.
    pub comment: String,
    /// When.
    pub created_at: time::OffsetDateTime,
}

/// Ratings, oldest first.
pub async fn ratings(db: &Db, id: i64) -> DbResult<Vec<Rating>> {
    let mut s = Sql::new(
        "SELECT round, rating, comment, created_at FROM suggestion_rating WHERE suggestion_id = ",
    );
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// A record of a face-to-face consultation (面商).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Consultation {
    /// Unit name.
    pub unit_name: Option<String>,
    /// Day held.
    pub held_on: Date,
    /// Mode code.
    pub mode: String,
    /// What was discussed and agreed.
    pub summary: String,
    /// Recorded.
    pub created_at: time::OffsetDateTime,
}

/// Consultations, oldest first.
pub async fn consultations(db: &Db, id: i64) -> DbResult<Vec<Consultation>> {
    let mut s = Sql::new(
        "SELECT u.name AS unit_name, c.held_on, c.mode, c.summary, c.created_at \
         FROM suggestion_consultation c LEFT JOIN handling_unit u ON u.id = c.unit_id WHERE c.suggestion_id = ",
    );
    s.bind(id).push(" ORDER BY c.id");
    s.fetch_all(db).await
}

/// A co-unit's opinion to the lead unit (协办意见).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct CoOpinion {
    /// Unit name.
    pub unit_name: String,
    /// Round.
    pub round: i64,
    /// Text.
    pub content: String,
    /// When.
    pub created_at: time::OffsetDateTime,
}

/// Co-units' opinions, oldest first.
pub async fn co_opinions(db: &Db, id: i64) -> DbResult<Vec<CoOpinion>> {
    let mut s = Sql::new(
        "SELECT u.name AS unit_name, c.round, c.content, c.created_at FROM suggestion_co_opinion c \
         JOIN handling_unit u ON u.id = c.unit_id WHERE c.suggestion_id = ",
    );
    s.bind(id).push(" ORDER BY c.id");
    s.fetch_all(db).await
}

/// Material added after submission (补充材料), each with its own date.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Supplement {
    /// Who added it.
    pub author_name: String,
    /// Text.
    pub content: String,
    /// When.
    pub created_at: time::OffsetDateTime,
}

/// Supplements, oldest first.
pub async fn supplements(db: &Db, id: i64) -> DbResult<Vec<Supplement>> {
    let mut s = Sql::new(
        "SELECT author_name, content, created_at FROM suggestion_supplement WHERE suggestion_id = ",
    );
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// The frozen submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// Number.
    pub number: String,
    /// Title as submitted.
    pub title: String,
    /// Text as submitted.
    pub body: String,
    /// Category as submitted.
    pub category: String,
    /// Proposing deputy's name.
    pub deputy: String,
    /// Names of the deputies who had co-signed at submission.
    pub cosigners: Vec<String>,
    /// Submitted (RFC 3339).
    pub submitted_at: String,
}

impl Suggestion {
    /// The frozen submission, if submitted.
    pub fn frozen(&self) -> Option<Snapshot> {
        self.snapshot
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }
}

// ---------------------------------------------------------------------------------------------
// Who may do what

/// Which workflow actors `p` is for a suggestion. Empty: no relation.
///
/// The proposing deputy is [`WfActor::Deputy`], an invited deputy [`WfActor::Cosigner`]; county
/// and city staff whose region holds the deputy's are the deputy affairs office
/// ([`WfActor::Supervisor`]) that registers, assigns and closes; units act on their active
/// assignment.
pub fn actors_for(
    p: &Principal,
    s: &Suggestion,
    cosigners: &[Cosigner],
    units: &[SuggestionUnit],
) -> Vec<WfActor> {
    let mut out = Vec::new();
    match p.role {
        Role::Deputy => {
            if let Some(me) = p.deputy_id {
                if me == s.deputy_id {
                    out.push(WfActor::Deputy);
                }
                if cosigners.iter().any(|c| c.deputy_id == me) {
                    out.push(WfActor::Cosigner);
                }
            }
        }
        Role::CountyStaff | Role::CityStaff => {
            if in_region(p, s) && s.state() != SuggestionState::Draft {
                out.push(WfActor::Supervisor);
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
        Role::TownshipStaff
        | Role::StationStaff
        | Role::GridWorker
        | Role::SystemAdmin
        | Role::SecurityAdmin
        | Role::AuditAdmin
        | Role::Citizen => {}
    }
    out.dedup();
    out
}

fn in_region(p: &Principal, s: &Suggestion) -> bool {
    p.region
        .as_ref()
        .is_some_and(|(_, path)| s.region_path.starts_with(path.as_str()))
}

/// Whether `p` may see the suggestion: any relation; a unit that had it; township staff of the
/// deputy's region (read only). Drafts are the deputy's and co-signers' alone.
pub fn visible_to(
    p: &Principal,
    s: &Suggestion,
    cosigners: &[Cosigner],
    units: &[SuggestionUnit],
) -> bool {
    if !actors_for(p, s, cosigners, units).is_empty() {
        return true;
    }
    match p.role {
        Role::UnitOfficer | Role::UnitLead => units.iter().any(|u| Some(u.unit_id) == p.unit_id),
        Role::TownshipStaff => in_region(p, s) && s.state() != SuggestionState::Draft,
        _ => false,
    }
}

/// Which suggestions a user sees in lists: derived from the one scoping rule, except that the
/// system administrator (no business content, 三员) and station staff see none.
pub fn list_scope(p: &Principal) -> Scope {
    match p.role {
        Role::SystemAdmin | Role::StationStaff => Scope::Nothing,
        _ => p.scope(),
    }
}

// ---------------------------------------------------------------------------------------------
// Drafts

/// A new draft, validated by the caller.
#[derive(Debug, Clone, Default)]
pub struct NewSuggestion {
    /// The proposing deputy.
    pub deputy_id: i64,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Category.
    pub category: String,
    /// The opinion it comes from.
    pub source_opinion_id: Option<i64>,
    /// The account that drafted it.
    pub created_by: Option<i64>,
}

/// Creates a draft for a deputy, with its first timeline event and an audit record.
pub async fn create_draft(
    db: &Db,
    keys: &Keys,
    rules: &Rules<'_>,
    actor: &Actor,
    new: &NewSuggestion,
) -> DbResult<i64> {
    let mut tx = db.begin().await?;
    let id = insert_draft(&mut tx, keys, rules, actor, new).await?;
    tx.commit().await?;
    Ok(id)
}

async fn insert_draft(
    tx: &mut Tx,
    keys: &Keys,
    rules: &Rules<'_>,
    actor: &Actor,
    new: &NewSuggestion,
) -> DbResult<i64> {
    let ctx = rules.context();
    let decision = workflow::start(&SUGGESTION_RULES, &ctx);
    let deputy: Option<(Option<i64>, String)> = on_tx!(tx, t => sqlx::query_as(
        "SELECT d.station_id, r.path FROM deputy d JOIN region r ON r.id = d.region_id \
         WHERE d.id = $1 AND d.active = TRUE")
        .bind(new.deputy_id).fetch_optional(t).await)?;
    let (station_id, region_path) =
        deputy.ok_or_else(|| DbError::Invalid("代表不存在或已不在任".into()))?;
    let at = now();
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO suggestion (deputy_id, station_id, region_path, title, body, category, state, \
         source_opinion_id, created_by, created_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10) RETURNING id")
        .bind(new.deputy_id).bind(station_id).bind(&region_path).bind(&new.title).bind(&new.body)
        .bind(&new.category).bind(decision.to.code()).bind(new.source_opinion_id)
        .bind(new.created_by).bind(at)
        .fetch_one(t).await)?;
    let note = match new.source_opinion_id {
        Some(o) => format!("由群众意见（编号{o}）转为闭会建议"),
        None => String::new(),
    };
    handling::append_event(
        tx,
        actor,
        Item::Suggestion(id),
        &TimelineEvent {
            action: "create",
            label: decision.label,
            from: None,
            to: decision.to.code(),
            note: &note,
            public_note: "",
        },
    )
    .await?;
    audit::append(
        tx,
        keys,
        actor,
        Entry {
            action: "create",
            entity: "suggestion",
            entity_id: id.to_string(),
            summary: format!("起草闭会建议：{}", new.title),
            before: None,
            after: Some(serde_json::json!({
                "deputy_id": new.deputy_id, "title": new.title, "category": new.category,
                "source_opinion_id": new.source_opinion_id,
            })),
        },
    )
    .await?;
    Ok(id)
}

/// Creates the draft of a converted opinion inside the opinion's transaction, linked both ways
/// (the draft names the opinion; the opinion's page finds the draft by it).
pub(crate) async fn draft_from_opinion(
    tx: &mut Tx,
    keys: &Keys,
    actor: &Actor,
    o: &crate::opinions::Opinion,
    deputy_id: i64,
    created_by: Option<i64>,
) -> DbResult<i64> {
    let cal = liaison_core::workdays::Calendar::builtin();
    let sla = liaison_core::sla::SlaTable::default();
    // Creating a draft sets no deadline, so the installation's tables are not needed here.
    let rules = Rules {
        calendar: &cal,
        sla: &sla,
        today: handling::today(),
    };
    let category = if o.category.is_empty() {
        o.category_suggested.clone()
    } else {
        o.category.clone()
    };
    let mut body = o.body.clone();
    if !o.place.is_empty() {
        body.push_str(&format!("\n\n地点：{}", o.place));
    }
    body.push_str(&format!(
        "\n\n（来源：群众意见 {}，{}）",
        o.tracking_no, o.station_name
    ));
    insert_draft(
        tx,
        keys,
        &rules,
        actor,
        &NewSuggestion {
            deputy_id,
            title: o.title.chars().take(TITLE_MAX).collect(),
            body,
            category,
            source_opinion_id: Some(o.id),
            created_by,
        },
    )
    .await
}

/// Changes the text of a draft. Only the proposing deputy, only while it is a draft.
#[expect(
    clippy::too_many_arguments,
    reason = "who, which draft and the three fields, spelled out"
)]
pub async fn update_draft(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    id: i64,
    title: &str,
    body: &str,
    category: &str,
    expected_version: Option<i64>,
) -> Result<Suggestion, ActError> {
    let mut tx = db.begin().await?;
    let s = get_tx(&mut tx, id).await?;
    if p.deputy_id != Some(s.deputy_id) || p.role != Role::Deputy {
        return Err(ActError::ForbiddenBecause(
            "只有领衔代表本人可以修改建议草稿".into(),
        ));
    }
    if s.state() != SuggestionState::Draft {
        return Err(ActError::Invalid(
            "建议已提交，内容不能再修改；如有新的情况，请添加补充材料".into(),
        ));
    }
    if let Some(v) = expected_version
        && v != s.version
    {
        return Err(ActError::Db(DbError::Stale));
    }
    on_tx!(tx, t => sqlx::query(
        "UPDATE suggestion SET title = $1, body = $2, category = $3, version = version + 1, \
         updated_at = $4 WHERE id = $5")
        .bind(title).bind(body).bind(category).bind(now()).bind(id)
        .execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "update",
            entity: "suggestion",
            entity_id: id.to_string(),
            summary: format!("修改建议草稿：{title}"),
            before: Some(serde_json::json!({"title": s.title, "category": s.category})),
            after: Some(serde_json::json!({"title": title, "category": category})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, id).await?)
}

/// Adds material to a submitted suggestion (the submission itself stays as it was). Only the
/// proposing deputy, from submission until it is closed.
pub async fn add_supplement(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    id: i64,
    content: &str,
) -> Result<Suggestion, ActError> {
    let mut tx = db.begin().await?;
    let s = get_tx(&mut tx, id).await?;
    if p.deputy_id != Some(s.deputy_id) || p.role != Role::Deputy {
        return Err(ActError::ForbiddenBecause(
            "只有领衔代表本人可以为建议补充材料".into(),
        ));
    }
    match s.state() {
        SuggestionState::Draft => {
            return Err(ActError::Invalid(
                "草稿可以直接修改，提交后才需要补充材料".into(),
            ));
        }
        SuggestionState::Closed => {
            return Err(ActError::Invalid(
                "建议已办结，不能再补充材料；如有新的问题，请提出新的建议".into(),
            ));
        }
        _ => {}
    }
    let at = now();
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO suggestion_supplement (suggestion_id, author_id, author_name, content, created_at) \
         VALUES ($1,$2,$3,$4,$5)")
        .bind(id).bind(p.user_id).bind(&actor.name).bind(content).bind(at)
        .execute(t).await.map(|_| ()))?;
    handling::append_event(
        &mut tx,
        actor,
        Item::Suggestion(id),
        &TimelineEvent {
            action: "supplement",
            label: "补充材料",
            from: Some(s.state.as_str()),
            to: s.state.as_str(),
            note: content,
            public_note: "",
        },
    )
    .await?;
    notify(
        &mut tx,
        &s,
        &[],
        WfActor::Supervisor,
        "suggestion.supplemented",
        None,
    )
    .await?;
    if s.lead_unit_id.is_some() {
        notify(
            &mut tx,
            &s,
            &[],
            WfActor::LeadUnit,
            "suggestion.supplemented",
            None,
        )
        .await?;
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "supplement",
            entity: "suggestion",
            entity_id: id.to_string(),
            summary: format!("为建议 {} 补充材料", s.number_or_draft()),
            before: None,
            after: Some(serde_json::json!({"chars": content.chars().count()})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, id).await?)
}

// ---------------------------------------------------------------------------------------------
// Actions

/// The arguments of an action as the client sent them (validated by the caller).
#[derive(Debug, Clone, Default)]
pub struct SuggestionInput {
    /// The deputy invited to co-sign (invite_cosigner).
    pub cosigner_deputy_id: Option<i64>,
    /// Registration (register).
    pub registration: Option<Registration>,
    /// Lead unit (assign).
    pub unit_id: Option<i64>,
    /// Co-units (assign).
    pub co_unit_ids: Vec<i64>,
    /// Reply deadline (assign); default 3 months, at most 6.
    pub due_on: Option<Date>,
    /// Reason (return, rejection, closing).
    pub reason: Option<String>,
    /// Text (reply, second reply, co-unit opinion, consultation record).
    pub content: Option<String>,
    /// Grade (reply, second reply).
    pub resolution_grade: Option<ResolutionGrade>,
    /// Rating (rate).
    pub rating: Option<Satisfaction>,
    /// Comment of the rating.
    pub comment: Option<String>,
    /// Day of the consultation (record_consultation).
    pub held_on: Option<Date>,
    /// Mode of the consultation (record_consultation).
    pub mode: Option<String>,
    /// The version the client saw; a different current version is refused as stale.
    pub expected_version: Option<i64>,
}

/// The workflow context of a suggestion.
fn context<'b>(rules: &'b Rules<'_>, s: &Suggestion, input: &SuggestionInput) -> Context<'b> {
    let mut ctx = rules.context();
    ctx.facts = s.facts();
    ctx.args = Args {
        reason: input.reason.clone(),
        due_on: input.due_on,
        grade: input.resolution_grade,
        rating: input.rating,
        registration: input.registration,
    };
    ctx
}

/// The actions `p` may take now, for the buttons of a screen.
pub fn available(
    rules: &Rules<'_>,
    p: &Principal,
    s: &Suggestion,
    cosigners: &[Cosigner],
    units: &[SuggestionUnit],
) -> Vec<SuggestionAction> {
    let actors = actors_for(p, s, cosigners, units);
    let ctx = context(rules, s, &SuggestionInput::default());
    let mut actions = workflow::available_actions(&SUGGESTION_RULES, s.state(), &actors, &ctx);
    // A co-signer sees only the co-signing step that fits where they stand; a co-unit that has
    // given its opinion this round has nothing more to give.
    let mine = p
        .deputy_id
        .and_then(|me| cosigners.iter().find(|c| c.deputy_id == me));
    actions.retain(|a| match a {
        SuggestionAction::Cosign => mine.is_some_and(|c| c.status != "signed"),
        SuggestionAction::WithdrawCosign => mine.is_some_and(|c| c.status != "withdrawn"),
        SuggestionAction::SubmitCoOpinion => units.iter().any(|u| {
            u.active && !u.is_lead && Some(u.unit_id) == p.unit_id && u.co_opinion_at.is_none()
        }),
        _ => true,
    });
    actions
}

/// Applies one action to a suggestion: decides with the workflow engine and stores the outcome,
/// atomically. Returns the suggestion as it is afterwards.
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
    action: SuggestionAction,
    input: &SuggestionInput,
) -> Result<Suggestion, ActError> {
    let mut tx = db.begin().await?;
    let s = get_tx(&mut tx, id).await?;
    let cosigners = cosigners_tx(&mut tx, id).await?;
    let units = units_tx(&mut tx, id).await?;
    let actors = match who {
        Acting::User(p) => actors_for(p, &s, &cosigners, &units),
        Acting::Submitter => Vec::new(),
        Acting::System => vec![WfActor::System],
    };
    if actors.is_empty() {
        return Err(match who {
            Acting::User(p) if p.role == Role::Deputy => ActError::ForbiddenBecause(format!(
                "这件建议由{}代表领衔提出，您不是领衔代表，也未受邀联名，不能对其进行操作",
                s.deputy_name
            )),
            _ => ActError::ForbiddenBecause("您与这件建议没有办理关系，不能对其进行操作".into()),
        });
    }
    if let Some(v) = input.expected_version
        && v != s.version
    {
        return Err(ActError::Db(DbError::Stale));
    }
    let ctx = context(rules, &s, input);
    let decision = workflow::decide(&SUGGESTION_RULES, s.state(), action, &actors, &ctx)?;
    let p = match who {
        Acting::User(p) => Some(p),
        _ => None,
    };
    check_input(&mut tx, &s, p, &cosigners, &units, action, input).await?;
    store_action(&mut tx, &s, p, action, input, rules.today).await?;
    apply_decision(
        &mut tx,
        keys,
        actor,
        &s,
        action,
        &decision,
        input,
        rules.today,
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, id).await?)
}

/// The region whose deputies may co-sign a suggestion of `region_path`: its county (paths are
/// /province/city/county/…), or the region itself when it is above county level.
pub fn cosigner_region(region_path: &str) -> String {
    let ids: Vec<&str> = region_path.split('/').filter(|x| !x.is_empty()).collect();
    format!("/{}/", ids[..ids.len().min(3)].join("/"))
}

/// Checks the arguments an action needs beyond what the workflow guards check.
async fn check_input(
    tx: &mut Tx,
    s: &Suggestion,
    p: Option<&Principal>,
    cosigners: &[Cosigner],
    units: &[SuggestionUnit],
    action: SuggestionAction,
    input: &SuggestionInput,
) -> Result<(), ActError> {
    use SuggestionAction as A;
    let mine = p
        .and_then(|p| p.deputy_id)
        .and_then(|me| cosigners.iter().find(|c| c.deputy_id == me));
    let text_given = |what: &str| -> Result<(), ActError> {
        match input.content.as_deref().map(str::trim) {
            None | Some("") => Err(ActError::Invalid(format!("请填写{what}（content）"))),
            Some(c) if c.chars().count() > TEXT_MAX => {
                Err(ActError::Invalid(format!("{what}最多{TEXT_MAX}字")))
            }
            _ => Ok(()),
        }
    };
    match action {
        A::InviteCosigner => {
            let Some(d) = input.cosigner_deputy_id else {
                return Err(ActError::Invalid("请选择要邀请联名的代表".into()));
            };
            if d == s.deputy_id {
                return Err(ActError::Invalid("领衔代表不需要邀请自己联名".into()));
            }
            let active: Option<String> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT d.name FROM deputy d JOIN region r ON r.id = d.region_id \
                 WHERE d.id = $1 AND d.active = TRUE AND r.path LIKE $2")
                .bind(d).bind(format!("{}%", cosigner_region(&s.region_path))).fetch_optional(t).await)?;
            let Some(name) = active else {
                return Err(ActError::Invalid(
                    "要邀请的代表不存在、已不在任，或不属于本建议所在县（市、区）".into(),
                ));
            };
            if let Some(c) = cosigners.iter().find(|c| c.deputy_id == d)
                && c.status != "withdrawn"
            {
                return Err(ActError::Invalid(format!(
                    "已邀请{name}代表联名（{}），不需要重复邀请",
                    cosigner_status_label(&c.status)
                )));
            }
        }
        A::Cosign if mine.is_some_and(|c| c.status == "signed") => {
            return Err(ActError::Invalid("您已联名这件建议".into()));
        }
        A::WithdrawCosign if mine.is_some_and(|c| c.status == "withdrawn") => {
            return Err(ActError::Invalid("您已撤回联名".into()));
        }
        A::Submit if s.title.trim().is_empty() || s.body.trim().is_empty() => {
            return Err(ActError::Invalid("请先填写建议的标题和内容再提交".into()));
        }
        A::Assign => {
            let Some(unit) = input.unit_id else {
                return Err(ActError::Invalid("请选择主办单位（unit_id）".into()));
            };
            let scope = p.map_or(Scope::Nothing, Principal::scope);
            handling::check_units(
                tx,
                unit,
                &input.co_unit_ids,
                handling::UnitReach::Within(&scope),
            )
            .await?;
        }
        A::Reply => text_given("答复内容")?,
        A::SecondReply => text_given("再次答复内容")?,
        A::SubmitCoOpinion => {
            text_given("协办意见")?;
            let unit = p.and_then(|p| p.unit_id);
            if units.iter().any(|u| {
                u.active && !u.is_lead && Some(u.unit_id) == unit && u.co_opinion_at.is_some()
            }) {
                return Err(ActError::Invalid(
                    "本单位已提交协办意见；如有补充，请与主办单位联系".into(),
                ));
            }
        }
        A::RecordConsultation => {
            text_given("面商情况")?;
            let Some(day) = input.held_on else {
                return Err(ActError::Invalid("请填写面商日期（held_on）".into()));
            };
            if day > crate::handling::today() {
                return Err(ActError::Invalid("面商日期不能晚于今天".into()));
            }
            if let Some(a) = s.assigned_on
                && day < a
            {
                return Err(ActError::Invalid(format!("面商日期不能早于交办日期 {a}")));
            }
            match input.mode.as_deref() {
                Some(m) if CONSULTATION_MODES.iter().any(|(c, _)| *c == m) => {}
                _ => {
                    return Err(ActError::Invalid(
                        "请选择面商方式：当面座谈、实地走访、电话沟通或召开办理协调会".into(),
                    ));
                }
            }
        }
        A::Rate
            if input
                .comment
                .as_deref()
                .is_some_and(|c| c.chars().count() > 500) =>
        {
            return Err(ActError::Invalid("评价意见最多500字".into()));
        }
        _ => {}
    }
    Ok(())
}

/// Stores what an action carries besides the state change.
async fn store_action(
    tx: &mut Tx,
    s: &Suggestion,
    p: Option<&Principal>,
    action: SuggestionAction,
    input: &SuggestionInput,
    today: Date,
) -> Result<(), ActError> {
    use SuggestionAction as A;
    let at = now();
    let author = p.map(|p| p.user_id);
    let me = p.and_then(|p| p.deputy_id);
    let content = input.content.as_deref().unwrap_or("").trim().to_owned();
    match action {
        A::InviteCosigner => {
            let d = input.cosigner_deputy_id.unwrap_or_default();
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO suggestion_cosigner (suggestion_id, deputy_id, status, invited_at) \
                 VALUES ($1,$2,'invited',$3) ON CONFLICT (suggestion_id, deputy_id) \
                 DO UPDATE SET status = 'invited', invited_at = excluded.invited_at, signed_at = NULL, withdrawn_at = NULL")
                .bind(s.id).bind(d).bind(at).execute(t).await.map(|_| ()))?;
        }
        A::Cosign => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE suggestion_cosigner SET status = 'signed', signed_at = $1, withdrawn_at = NULL \
                 WHERE suggestion_id = $2 AND deputy_id = $3")
                .bind(at).bind(s.id).bind(me).execute(t).await.map(|_| ()))?;
        }
        A::WithdrawCosign => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE suggestion_cosigner SET status = 'withdrawn', withdrawn_at = $1 \
                 WHERE suggestion_id = $2 AND deputy_id = $3")
                .bind(at).bind(s.id).bind(me).execute(t).await.map(|_| ()))?;
        }
        A::Assign => {
            let lead = input.unit_id.unwrap_or_default();
            on_tx!(tx, t => sqlx::query("UPDATE suggestion_unit SET active = FALSE WHERE suggestion_id = $1")
                .bind(s.id).execute(t).await.map(|_| ()))?;
            for (unit, is_lead) in
                std::iter::once((lead, true)).chain(input.co_unit_ids.iter().map(|u| (*u, false)))
            {
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO suggestion_unit (suggestion_id, unit_id, is_lead, round, active, assigned_at) \
                     VALUES ($1,$2,$3,$4,TRUE,$5)")
                    .bind(s.id).bind(unit).bind(is_lead).bind(s.round).bind(at)
                    .execute(t).await.map(|_| ()))?;
            }
            on_tx!(tx, t => sqlx::query(
                "UPDATE suggestion SET lead_unit_id = $1, assigned_on = $2 WHERE id = $3")
                .bind(lead).bind(today).bind(s.id).execute(t).await.map(|_| ()))?;
        }
        A::Acknowledge => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE suggestion_unit SET acknowledged_at = $1 WHERE suggestion_id = $2 AND is_lead = TRUE AND active = TRUE")
                .bind(at).bind(s.id).execute(t).await.map(|_| ()))?;
        }
        A::RecordConsultation => {
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO suggestion_consultation (suggestion_id, unit_id, held_on, mode, summary, author_id, created_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7)")
                .bind(s.id).bind(s.lead_unit_id).bind(input.held_on.unwrap_or(today))
                .bind(input.mode.as_deref().unwrap_or("face_to_face")).bind(&content).bind(author).bind(at)
                .execute(t).await.map(|_| ()))?;
        }
        A::SubmitCoOpinion => {
            let unit = p.and_then(|p| p.unit_id).unwrap_or_default();
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO suggestion_co_opinion (suggestion_id, unit_id, round, content, author_id, created_at) \
                 VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(s.id).bind(unit).bind(s.round).bind(&content).bind(author).bind(at)
                .execute(t).await.map(|_| ()))?;
            on_tx!(tx, t => sqlx::query(
                "UPDATE suggestion_unit SET co_opinion_at = $1 WHERE suggestion_id = $2 AND unit_id = $3 AND active = TRUE AND is_lead = FALSE")
                .bind(at).bind(s.id).bind(unit).execute(t).await.map(|_| ()))?;
        }
        A::Reply | A::SecondReply => {
            let grade = input.resolution_grade.unwrap_or(ResolutionGrade::A).code();
            let kind = if action == A::Reply {
                "reply"
            } else {
                "second_reply"
            };
            on_tx!(tx, t => sqlx::query(
                "INSERT INTO suggestion_reply (suggestion_id, round, kind, unit_id, author_id, content, resolution_grade, created_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8)")
                .bind(s.id).bind(s.round).bind(kind).bind(s.lead_unit_id).bind(author).bind(&content)
                .bind(grade).bind(at).execute(t).await.map(|_| ()))?;
        }
        A::Rate => {
            if let Some(r) = input.rating {
                on_tx!(tx, t => sqlx::query(
                    "INSERT INTO suggestion_rating (suggestion_id, round, deputy_id, rating, comment, created_at) \
                     VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(s.id).bind(s.round).bind(s.deputy_id).bind(r.code())
                    .bind(input.comment.as_deref().unwrap_or("").trim()).bind(at)
                    .execute(t).await.map(|_| ()))?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[expect(
    clippy::too_many_arguments,
    reason = "the decision and everything it is applied with"
)]
async fn apply_decision(
    tx: &mut Tx,
    keys: &Keys,
    actor: &Actor,
    s: &Suggestion,
    action: SuggestionAction,
    decision: &Decision<SuggestionState>,
    input: &SuggestionInput,
    today: Date,
) -> DbResult<()> {
    let at = now();
    let closed = decision.to == SuggestionState::Closed;
    on_tx!(tx, t => sqlx::query(
        "UPDATE suggestion SET state = $1, version = version + 1, updated_at = $2, \
         closed_at = CASE WHEN $3 THEN $2 ELSE NULL END, due_kind = NULL, due_on = NULL WHERE id = $4")
        .bind(decision.to.code()).bind(at).bind(closed).bind(s.id).execute(t).await.map(|_| ()))?;
    let clock = decision.to.clock();
    for e in &decision.effects {
        apply_effect(tx, s, e, input, clock, today).await?;
    }
    if clock == Some(DueKind::Reply) {
        // In the hands of the unit the reply deadline runs (it was set on assignment).
        on_tx!(tx, t => sqlx::query(
            "UPDATE suggestion SET due_kind = 'reply', due_on = reply_due_on WHERE id = $1 AND due_on IS NULL")
            .bind(s.id).execute(t).await.map(|_| ()))?;
    }
    let reason = input.reason.clone().unwrap_or_default();
    let note = match action {
        SuggestionAction::Assign => {
            handling::assignment_note(tx, input.unit_id, &input.co_unit_ids).await?
        }
        SuggestionAction::InviteCosigner => {
            let name: Option<String> = on_tx!(tx, t => sqlx::query_scalar("SELECT name FROM deputy WHERE id = $1")
                .bind(input.cosigner_deputy_id).fetch_optional(t).await)?;
            format!("邀请{}代表联名", name.unwrap_or_default())
        }
        SuggestionAction::Register => input
            .registration
            .map(|r| r.label().to_owned())
            .unwrap_or_default(),
        SuggestionAction::Rate => match (
            input.rating,
            input.comment.as_deref().filter(|c| !c.trim().is_empty()),
        ) {
            (Some(r), Some(c)) => format!("{}：{}", r.label(), c.trim()),
            (Some(r), None) => r.label().to_owned(),
            _ => String::new(),
        },
        SuggestionAction::Reply | SuggestionAction::SecondReply => input
            .resolution_grade
            .map(|g| format!("解决程度 {} {}", g.code(), g.label()))
            .unwrap_or_default(),
        SuggestionAction::RecordConsultation => format!(
            "{}（{}）",
            input.held_on.map(|d| d.to_string()).unwrap_or_default(),
            mode_label(input.mode.as_deref().unwrap_or(""))
        ),
        _ => reason,
    };
    handling::append_event(
        tx,
        actor,
        Item::Suggestion(s.id),
        &TimelineEvent {
            action: action.code(),
            label: decision.label,
            from: Some(decision.from.code()),
            to: decision.to.code(),
            note: &note,
            public_note: "",
        },
    )
    .await?;
    audit::append(
        tx,
        keys,
        actor,
        Entry {
            action: action.code(),
            entity: "suggestion",
            entity_id: s.id.to_string(),
            summary: format!(
                "建议 {}（{}）{}：{} → {}",
                s.number_or_draft(),
                s.title,
                decision.label,
                decision.from.label(),
                decision.to.label()
            ),
            before: Some(serde_json::json!({"state": decision.from.code(), "version": s.version})),
            after: Some(serde_json::json!({
                "state": decision.to.code(),
                "effects": decision.effects,
                "unit_id": input.unit_id, "co_unit_ids": input.co_unit_ids,
                "cosigner_deputy_id": input.cosigner_deputy_id,
                "due_on": input.due_on.map(|d| d.to_string()),
                "grade": input.resolution_grade.map(|g| g.code()),
                "rating": input.rating.map(|r| r.code()),
                "registration": input.registration.map(|r| r.code()),
            })),
        },
    )
    .await?;
    Ok(())
}

async fn apply_effect(
    tx: &mut Tx,
    s: &Suggestion,
    e: &Effect,
    input: &SuggestionInput,
    clock: Option<DueKind>,
    today: Date,
) -> DbResult<()> {
    match e {
        Effect::SetDue { kind, due_on } => {
            match kind {
                DueKind::Reply => {
                    on_tx!(tx, t => sqlx::query("UPDATE suggestion SET reply_due_on = $1 WHERE id = $2")
                        .bind(*due_on).bind(s.id).execute(t).await.map(|_| ()))?;
                }
                DueKind::CoUnitOpinion => {
                    on_tx!(tx, t => sqlx::query("UPDATE suggestion SET co_opinion_due_on = $1 WHERE id = $2")
                        .bind(*due_on).bind(s.id).execute(t).await.map(|_| ()))?;
                    on_tx!(tx, t => sqlx::query(
                        "UPDATE suggestion_unit SET co_opinion_due_on = $1 WHERE suggestion_id = $2 AND active = TRUE AND is_lead = FALSE")
                        .bind(*due_on).bind(s.id).execute(t).await.map(|_| ()))?;
                }
                _ => {}
            }
            if Some(*kind) == clock {
                on_tx!(tx, t => sqlx::query("UPDATE suggestion SET due_kind = $1, due_on = $2 WHERE id = $3")
                    .bind(kind.code()).bind(*due_on).bind(s.id).execute(t).await.map(|_| ()))?;
            }
        }
        Effect::Notify { whom, template } => {
            notify(
                tx,
                s,
                &input.co_unit_ids,
                *whom,
                template,
                input.cosigner_deputy_id,
            )
            .await?;
        }
        Effect::OpenRound => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE suggestion SET round = round + 1, rehandle_rounds = rehandle_rounds + 1 WHERE id = $1")
                .bind(s.id).execute(t).await.map(|_| ()))?;
        }
        Effect::RecordRating { rating } => {
            on_tx!(tx, t => sqlx::query("UPDATE suggestion SET last_rating = $1 WHERE id = $2")
                .bind(rating.code()).bind(s.id).execute(t).await.map(|_| ()))?;
        }
        Effect::RecordGrade { grade } => {
            on_tx!(tx, t => sqlx::query("UPDATE suggestion SET last_grade = $1 WHERE id = $2")
                .bind(grade.code()).bind(s.id).execute(t).await.map(|_| ()))?;
        }
        Effect::RecordRegistration { registration } => {
            on_tx!(tx, t => sqlx::query("UPDATE suggestion SET registration = $1 WHERE id = $2")
                .bind(registration.code()).bind(s.id).execute(t).await.map(|_| ()))?;
        }
        Effect::ReleaseUnits => {
            on_tx!(tx, t => sqlx::query("UPDATE suggestion_unit SET active = FALSE WHERE suggestion_id = $1")
                .bind(s.id).execute(t).await.map(|_| ()))?;
            on_tx!(tx, t => sqlx::query(
                "UPDATE suggestion SET lead_unit_id = NULL, assigned_on = NULL, reply_due_on = NULL, \
                 co_opinion_due_on = NULL WHERE id = $1")
                .bind(s.id).execute(t).await.map(|_| ()))?;
        }
        Effect::FreezeSubmission => freeze(tx, s, today).await?,
        Effect::CloseRound
        | Effect::UseExtension
        | Effect::CreateSupervisionCase { .. }
        | Effect::CreateSuggestionDraft
        | Effect::LinkDuplicate => {}
    }
    Ok(())
}

/// Freezes the submission: gives the number, stores the snapshot (text and the co-signers who
/// had signed), drops invitations nobody answered, and records the duties of the proposing and
/// the co-signing deputies.
async fn freeze(tx: &mut Tx, s: &Suggestion, today: Date) -> DbResult<()> {
    let number = format!("JY{}{:05}", today.year(), s.id);
    let cosigners = cosigners_tx(tx, s.id).await?;
    let signed: Vec<&Cosigner> = cosigners.iter().filter(|c| c.status == "signed").collect();
    let at = now();
    let snapshot = Snapshot {
        number: number.clone(),
        title: s.title.clone(),
        body: s.body.clone(),
        category: s.category.clone(),
        deputy: s.deputy_name.clone(),
        cosigners: signed.iter().map(|c| c.name.clone()).collect(),
        submitted_at: at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    let json = serde_json::to_string(&snapshot).unwrap_or_default();
    on_tx!(tx, t => sqlx::query(
        "UPDATE suggestion SET number = $1, snapshot = $2, submitted_at = $3 WHERE id = $4")
        .bind(&number).bind(&json).bind(at).bind(s.id).execute(t).await.map(|_| ()))?;
    on_tx!(tx, t => sqlx::query(
        "DELETE FROM suggestion_cosigner WHERE suggestion_id = $1 AND status = 'invited'")
        .bind(s.id).execute(t).await.map(|_| ()))?;
    let link = format!("/work/suggestions/{}", s.id);
    duty_record::record(
        tx,
        &NewDutyEntry {
            deputy_id: s.deputy_id,
            kind: DutyKind::SuggestionFiled,
            occurred_on: today,
            title: format!("领衔提出建议：{}", s.title),
            detail: number.clone(),
            source_kind: source::SUGGESTION.to_owned(),
            source_id: Some(s.id),
            link: link.clone(),
            status: DutyStatus::Recorded,
            created_by: None,
        },
    )
    .await?;
    for c in signed {
        duty_record::record(
            tx,
            &NewDutyEntry {
                deputy_id: c.deputy_id,
                kind: DutyKind::SuggestionCosigned,
                occurred_on: today,
                title: format!("联名提出建议：{}", s.title),
                detail: format!("{number}，领衔代表{}", s.deputy_name),
                source_kind: source::SUGGESTION.to_owned(),
                source_id: Some(s.id),
                link: link.clone(),
                status: DutyStatus::Recorded,
                created_by: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// Queues the notifications for the people who are `whom` for the suggestion.
async fn notify(
    tx: &mut Tx,
    s: &Suggestion,
    new_co_units: &[i64],
    whom: WfActor,
    template: &str,
    invited: Option<i64>,
) -> DbResult<()> {
    let mut recipients: Vec<String> = Vec::new();
    match whom {
        WfActor::Deputy => recipients.push(format!("deputy:{}", s.deputy_id)),
        WfActor::Cosigner => {
            if template == "suggestion.cosign_invited" {
                // Only the deputy just invited hears of the invitation.
                recipients.extend(invited.map(|d| format!("deputy:{d}")));
            } else {
                let rows: Vec<(i64,)> = on_tx!(tx, t => sqlx::query_as(
                    "SELECT deputy_id FROM suggestion_cosigner WHERE suggestion_id = $1 AND status = 'signed'")
                    .bind(s.id).fetch_all(t).await)?;
                recipients.extend(rows.into_iter().map(|(d,)| format!("deputy:{d}")));
            }
        }
        WfActor::LeadUnit | WfActor::UnitLead => {
            let lead: Option<Option<i64>> = on_tx!(tx, t => sqlx::query_scalar(
                "SELECT lead_unit_id FROM suggestion WHERE id = $1").bind(s.id).fetch_optional(t).await)?;
            if let Some(u) = lead.flatten().or(s.lead_unit_id) {
                recipients.push(format!("unit:{u}"));
            }
        }
        WfActor::CoUnit => {
            let rows: Vec<(i64,)> = on_tx!(tx, t => sqlx::query_as(
                "SELECT unit_id FROM suggestion_unit WHERE suggestion_id = $1 AND active = TRUE AND is_lead = FALSE")
                .bind(s.id).fetch_all(t).await)?;
            recipients.extend(rows.into_iter().map(|(u,)| format!("unit:{u}")));
            for u in new_co_units {
                let r = format!("unit:{u}");
                if !recipients.contains(&r) {
                    recipients.push(r);
                }
            }
        }
        WfActor::Supervisor => recipients.push(format!("region:{}", s.region_path)),
        WfActor::StationStaff => recipients.extend(s.station_id.map(|st| format!("station:{st}"))),
        WfActor::Submitter | WfActor::System => {}
    }
    let number: Option<Option<String>> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT number FROM suggestion WHERE id = $1").bind(s.id).fetch_optional(t).await)?;
    let payload = serde_json::json!({
        "tracking_no": number.flatten().unwrap_or_else(|| "草稿".to_owned()),
        "title": s.title,
    })
    .to_string();
    for r in recipients {
        handling::enqueue(tx, Item::Suggestion(s.id), "inapp", &r, template, &payload).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lists

/// Filters of suggestion lists (workbenches, ledger, API).
#[derive(Debug, Clone, Default)]
pub struct SuggestionFilter {
    /// Any of these state codes.
    pub states: Vec<String>,
    /// Only this region's subtree.
    pub region_path: Option<String>,
    /// Only suggestions this unit holds now.
    pub unit_id: Option<i64>,
    /// Only suggestions this deputy proposes.
    pub deputy_id: Option<i64>,
    /// Only drafts this deputy is invited to co-sign and has not answered (or withdrew from).
    pub invited_deputy_id: Option<i64>,
    /// Only suggestions this deputy co-signed.
    pub cosigned_by: Option<i64>,
    /// Registration code.
    pub registration: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Only items whose current deadline has passed.
    pub overdue: bool,
    /// Only items due within this many days (即将超期), not yet overdue.
    pub due_within_days: Option<i64>,
    /// Words in the number, title or text.
    pub q: Option<String>,
    /// Drafted on or after.
    pub created_from: Option<Date>,
    /// Drafted on or before.
    pub created_to: Option<Date>,
    /// Keyset cursor: ids below this (newest first).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

fn scope_where(s: &mut Sql, scope: &Scope) {
    match scope {
        Scope::Everything => {}
        Scope::RegionSubtree(path) => {
            // A draft is the deputy's own work until submitted.
            s.push(" AND s.state <> 'draft' AND s.region_path LIKE ")
                .bind(format!("{path}%"));
        }
        Scope::Unit(id) => {
            s.push(" AND EXISTS (SELECT 1 FROM suggestion_unit su WHERE su.suggestion_id = s.id AND su.unit_id = ")
                .bind(*id)
                .push(")");
        }
        Scope::Deputy(id) => {
            s.push(" AND (s.deputy_id = ")
                .bind(*id)
                .push(" OR EXISTS (SELECT 1 FROM suggestion_cosigner c WHERE c.suggestion_id = s.id AND c.deputy_id = ")
                .bind(*id)
                .push("))");
        }
        Scope::Station(_) | Scope::EnteredBy(_) | Scope::Nothing => {
            s.push(" AND 1=0");
        }
    }
}

fn start_of_day(d: Date) -> time::OffsetDateTime {
    d.with_hms(0, 0, 0)
        .expect("midnight")
        .assume_offset(time::macros::offset!(+8))
        .to_offset(time::UtcOffset::UTC)
}

fn filter_where(s: &mut Sql, scope: &Scope, f: &SuggestionFilter, today: Date) {
    scope_where(s, scope);
    if !f.states.is_empty() {
        s.push(" AND s.state IN ")
            .bind_list(f.states.iter().cloned());
    }
    if let Some(p) = &f.region_path {
        s.push(" AND s.region_path LIKE ").bind(format!("{p}%"));
    }
    if let Some(u) = f.unit_id {
        s.push(" AND EXISTS (SELECT 1 FROM suggestion_unit su WHERE su.suggestion_id = s.id AND su.active = TRUE AND su.unit_id = ")
            .bind(u)
            .push(")");
    }
    if let Some(d) = f.deputy_id {
        s.push(" AND s.deputy_id = ").bind(d);
    }
    if let Some(d) = f.invited_deputy_id {
        s.push(" AND EXISTS (SELECT 1 FROM suggestion_cosigner c WHERE c.suggestion_id = s.id AND c.status <> 'signed' AND c.deputy_id = ")
            .bind(d)
            .push(")");
    }
    if let Some(d) = f.cosigned_by {
        s.push(" AND EXISTS (SELECT 1 FROM suggestion_cosigner c WHERE c.suggestion_id = s.id AND c.status = 'signed' AND c.deputy_id = ")
            .bind(d)
            .push(")");
    }
    if let Some(r) = &f.registration {
        s.push(" AND s.registration = ").bind(r.clone());
    }
    if let Some(c) = &f.category {
        s.push(" AND s.category = ").bind(c.clone());
    }
    if f.overdue {
        s.push(" AND s.due_on < ").bind(today);
    }
    if let Some(days) = f.due_within_days {
        s.push(" AND s.due_on >= ")
            .bind(today)
            .push(" AND s.due_on <= ")
            .bind(today + time::Duration::days(days));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let like = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        s.push(" AND (s.title LIKE ")
            .bind(like.clone())
            .push(" ESCAPE '\\' OR s.body LIKE ")
            .bind(like.clone())
            .push(" ESCAPE '\\' OR s.number LIKE ")
            .bind(like)
            .push(" ESCAPE '\\')");
    }
    if let Some(d) = f.created_from {
        s.push(" AND s.created_at >= ").bind(start_of_day(d));
    }
    if let Some(d) = f.created_to {
        s.push(" AND s.created_at < ")
            .bind(start_of_day(d + time::Duration::days(1)));
    }
}

/// Suggestions in a scope, newest first, with the total count.
pub async fn list(db: &Db, scope: &Scope, f: &SuggestionFilter) -> DbResult<Page<Suggestion>> {
    let today = handling::today();
    let total = count(db, scope, f).await?;
    let mut s = Sql::new(SELECT);
    filter_where(&mut s, scope, f, today);
    if let Some(b) = f.before_id {
        s.push(" AND s.id < ").bind(b);
    }
    s.push(" ORDER BY s.id DESC LIMIT ").bind(f.limit + 1);
    let mut items: Vec<Suggestion> = s.fetch_all(db).await?;
    let next = if items.len() as i64 > f.limit {
        items.truncate(f.limit as usize);
        items.last().map(|o| o.id.to_string())
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

/// How many suggestions in a scope match a filter (tab counts).
pub async fn count(db: &Db, scope: &Scope, f: &SuggestionFilter) -> DbResult<i64> {
    let mut c = Sql::new("SELECT COUNT(*) FROM suggestion s WHERE 1=1");
    filter_where(&mut c, scope, f, handling::today());
    c.fetch_count(db).await
}
