//! 督政议事: deliberation topics (议题) and supervision items (from inspections, law-enforcement
//! checks and special inquiries) with their participants, the views recorded and the outcome;
//! agreed measures are follow-up items (`crate::activities::add_follow_up` with source kind
//! `deliberation`). Also 云问政: online question windows answered publicly by a handling unit,
//! moderated by staff with an editable sensitive-word list. Every write is audited.

use crate::activities::ActError;
use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, TxInner, now};
use crate::directory::Page;
use crate::error::{DbError, DbResult};
use crate::sql::{ScopeColumns, Sql};
use liaison_core::activity::{
    self, DeliberationAction, DeliberationKind, DeliberationState, ParticipantKind, RuleError,
};
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use liaison_core::validate;
use serde::Serialize;
use sqlx::FromRow;
use time::{Date, OffsetDateTime};

/// A deliberation topic or supervision item.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Deliberation {
    /// Id.
    pub id: i64,
    /// Station.
    pub station_id: i64,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station_name: String,
    /// Region path (scope).
    pub region_path: String,
    /// The activity it was discussed at, if any.
    pub activity_id: Option<i64>,
    /// Kind code.
    pub kind: String,
    /// State code.
    pub state: String,
    /// Topic.
    pub title: String,
    /// Background material.
    pub background: String,
    /// Day of the meeting.
    pub held_on: Option<Date>,
    /// Outcome (议定结果).
    pub outcome: String,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Closed.
    pub closed_at: Option<OffsetDateTime>,
}

impl Deliberation {
    /// The kind, parsed.
    pub fn kind(&self) -> DeliberationKind {
        DeliberationKind::parse(&self.kind).unwrap_or(DeliberationKind::Consultation)
    }
    /// The state, parsed.
    pub fn state(&self) -> DeliberationState {
        DeliberationState::parse(&self.state).unwrap_or(DeliberationState::Open)
    }
}

const SELECT: &str = "SELECT d.id, d.station_id, s.code AS station_code, s.name AS station_name, \
    d.region_path, d.activity_id, d.kind, d.state, d.title, d.background, d.held_on, d.outcome, \
    d.version, d.created_at, d.closed_at FROM deliberation d JOIN station s ON s.id = d.station_id \
    WHERE 1=1";

/// A deliberation by id (callers check the scope with [`visible`]).
pub async fn get(db: &Db, id: i64) -> DbResult<Deliberation> {
    let mut s = Sql::new(SELECT);
    s.push(" AND d.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

async fn get_tx(tx: &mut Tx, id: i64) -> DbResult<Deliberation> {
    let r: Option<Deliberation> = match &mut tx.inner {
        TxInner::Sqlite(t) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} AND d.id = $1")))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
        TxInner::Postgres(t) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} AND d.id = $1 FOR UPDATE OF d"
            )))
            .bind(id)
            .fetch_optional(&mut **t)
            .await?
        }
    };
    r.ok_or(DbError::NotFound)
}

/// Deliberations a user sees: the one scoping rule over the station and region, plus, for a
/// deputy, the items they take part in, and for a handling unit, those it takes part in. The
/// system administrator sees none.
fn scope_where(s: &mut Sql, p_scope: &Scope) {
    match p_scope {
        Scope::Deputy(id) => {
            s.push(" AND EXISTS (SELECT 1 FROM deliberation_participant x WHERE x.deliberation_id = d.id AND x.deputy_id = ")
                .bind(*id)
                .push(")");
        }
        Scope::Unit(id) => {
            s.push(" AND EXISTS (SELECT 1 FROM deliberation_participant x WHERE x.deliberation_id = d.id AND x.unit_id = ")
                .bind(*id)
                .push(")");
        }
        other => {
            s.scope_filter(
                other,
                ScopeColumns {
                    region_path: Some("d.region_path"),
                    station_id: Some("d.station_id"),
                    ..Default::default()
                },
            );
        }
    }
}

/// The scope of lists for a principal (none for the system administrator, 三员).
pub fn list_scope(p: &Principal) -> Scope {
    match p.role {
        Role::SystemAdmin => Scope::Nothing,
        _ => p.scope(),
    }
}

/// Whether a deliberation lies in a scope.
pub async fn visible(db: &Db, scope: &Scope, id: i64) -> DbResult<bool> {
    let mut s = Sql::new("SELECT COUNT(*) FROM deliberation d WHERE d.id = ");
    s.bind(id);
    scope_where(&mut s, scope);
    Ok(s.fetch_count(db).await? > 0)
}

/// Whether `p` works on the item as staff (its station, or the region above it).
pub fn is_staff_for(
    p: &Principal,
    station_id: i64,
    region_path: &str,
    parent: Option<i64>,
) -> bool {
    match p.role {
        Role::StationStaff => {
            p.station_id == Some(station_id) || (parent.is_some() && p.station_id == parent)
        }
        Role::TownshipStaff | Role::CountyStaff | Role::CityStaff => p
            .region
            .as_ref()
            .is_some_and(|(_, path)| region_path.starts_with(path.as_str())),
        _ => false,
    }
}

/// Filters of the list.
#[derive(Debug, Clone, Default)]
pub struct DeliberationFilter {
    /// State codes.
    pub states: Vec<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Only supervision items (true) or only deliberation topics (false).
    pub supervision: Option<bool>,
    /// Keyset cursor.
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

fn filter_where(s: &mut Sql, scope: &Scope, f: &DeliberationFilter) {
    scope_where(s, scope);
    if !f.states.is_empty() {
        s.push(" AND d.state IN ")
            .bind_list(f.states.iter().cloned());
    }
    if let Some(k) = &f.kind {
        s.push(" AND d.kind = ").bind(k.clone());
    }
    if let Some(sup) = f.supervision {
        let kinds: Vec<&str> = DeliberationKind::ALL
            .iter()
            .filter(|k| k.is_supervision() == sup)
            .map(|k| k.code())
            .collect();
        s.push(" AND d.kind IN ").bind_list(kinds.iter().copied());
    }
}

/// Deliberations in a scope, newest first.
pub async fn list(db: &Db, scope: &Scope, f: &DeliberationFilter) -> DbResult<Page<Deliberation>> {
    let mut c = Sql::new("SELECT COUNT(*) FROM deliberation d WHERE 1=1");
    filter_where(&mut c, scope, f);
    let total = c.fetch_count(db).await?;
    let mut s = Sql::new(SELECT);
    filter_where(&mut s, scope, f);
    if let Some(b) = f.before_id {
        s.push(" AND d.id < ").bind(b);
    }
    s.push(" ORDER BY d.id DESC LIMIT ").bind(f.limit + 1);
    let mut items: Vec<Deliberation> = s.fetch_all(db).await?;
    let next = if items.len() as i64 > f.limit {
        items.truncate(f.limit as usize);
        items.last().map(|d| d.id.to_string())
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

/// A new topic or supervision item (validated by the caller).
#[derive(Debug, Clone, Serialize)]
pub struct NewDeliberation {
    /// Station.
    pub station_id: i64,
    /// Activity it belongs to.
    pub activity_id: Option<i64>,
    /// Kind.
    pub kind: DeliberationKind,
    /// Topic.
    pub title: String,
    /// Background material.
    pub background: String,
    /// Day of the meeting.
    pub held_on: Option<Date>,
}

/// Creates a topic in the open state, audited.
pub async fn create(db: &Db, keys: &Keys, actor: &Actor, new: &NewDeliberation) -> DbResult<i64> {
    let mut s =
        Sql::new("SELECT r.path FROM station s JOIN region r ON r.id = s.region_id WHERE s.id = ");
    s.bind(new.station_id);
    let row: Option<(String,)> = s.fetch_optional(db).await?;
    let region_path = row
        .ok_or_else(|| DbError::Invalid("联络站不存在".into()))?
        .0;
    let mut tx = db.begin().await?;
    let at = now();
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO deliberation (station_id, region_path, activity_id, kind, state, title, background, \
         held_on, created_by, created_at, updated_at) VALUES ($1,$2,$3,$4,'open',$5,$6,$7,$8,$9,$9) RETURNING id")
        .bind(new.station_id).bind(&region_path).bind(new.activity_id).bind(new.kind.code())
        .bind(&new.title).bind(&new.background).bind(new.held_on).bind(actor.user_id).bind(at)
        .fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "create",
            entity: "deliberation",
            entity_id: id.to_string(),
            summary: format!("新建{}“{}”", new.kind.label(), new.title),
            before: None,
            after: Some(serde_json::to_value(new).unwrap_or_default()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A participant as shown (a citizen's name masked).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Participant {
    /// Id.
    pub id: i64,
    /// Kind code.
    pub kind: String,
    /// Deputy.
    pub deputy_id: Option<i64>,
    /// Unit.
    pub unit_id: Option<i64>,
    /// Name shown: the deputy's or official's name, a citizen's masked name.
    pub name: String,
    /// Post or unit.
    pub post: String,
}

/// Participants, in order.
pub async fn participants(db: &Db, id: i64) -> DbResult<Vec<Participant>> {
    let mut s = Sql::new(
        "SELECT id, kind, deputy_id, unit_id, name, post FROM deliberation_participant WHERE deliberation_id = ",
    );
    s.bind(id).push(" ORDER BY id");
    s.fetch_all(db).await
}

/// A participant as entered.
#[derive(Debug, Clone)]
pub struct NewParticipant {
    /// Kind.
    pub kind: ParticipantKind,
    /// Deputy (kind deputy).
    pub deputy_id: Option<i64>,
    /// Unit (kind official).
    pub unit_id: Option<i64>,
    /// Name (citizens: stored encrypted, shown masked).
    pub name: String,
    /// Post.
    pub post: String,
}

fn refuse_closed(d: &Deliberation) -> Result<(), ActError> {
    if d.state() == DeliberationState::Closed {
        return Err(ActError::Rule(RuleError::WrongState {
            state: d.state().code(),
            action: "edit",
            message: "该事项已办结，不能再修改；如需继续议事，请新建议题".into(),
        }));
    }
    Ok(())
}

/// Adds a participant, audited.
pub async fn add_participant(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    p: &NewParticipant,
) -> Result<i64, ActError> {
    let mut tx = db.begin().await?;
    let d = get_tx(&mut tx, id).await?;
    refuse_closed(&d)?;
    let (name_enc, shown) = if p.kind == ParticipantKind::Citizen {
        (keys.encrypt(&p.name), validate::mask_name(&p.name))
    } else {
        (String::new(), p.name.clone())
    };
    let pid: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO deliberation_participant (deliberation_id, kind, deputy_id, unit_id, name_enc, name, post) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id")
        .bind(id).bind(p.kind.code()).bind(p.deputy_id).bind(p.unit_id).bind(&name_enc).bind(&shown)
        .bind(&p.post).fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "add_participant",
            entity: "deliberation",
            entity_id: id.to_string(),
            summary: format!("“{}”新增参加人：{}（{}）", d.title, shown, p.kind.label()),
            before: None,
            after: Some(
                serde_json::json!({"participant_id": pid, "kind": p.kind.code(), "name": shown}),
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(pid)
}

/// A view recorded at the meeting.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct View {
    /// Id.
    pub id: i64,
    /// Who said it (participant), if known.
    pub participant_id: Option<i64>,
    /// Their name as shown.
    pub speaker: Option<String>,
    /// What was said.
    pub content: String,
    /// Recorded.
    pub created_at: OffsetDateTime,
}

/// Views, in order.
pub async fn views(db: &Db, id: i64) -> DbResult<Vec<View>> {
    let mut s = Sql::new(
        "SELECT v.id, v.participant_id, p.name AS speaker, v.content, v.created_at FROM deliberation_view v \
         LEFT JOIN deliberation_participant p ON p.id = v.participant_id WHERE v.deliberation_id = ",
    );
    s.bind(id).push(" ORDER BY v.id");
    s.fetch_all(db).await
}

/// Records a view, audited.
pub async fn add_view(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    participant_id: Option<i64>,
    content: &str,
) -> Result<i64, ActError> {
    let mut tx = db.begin().await?;
    let d = get_tx(&mut tx, id).await?;
    refuse_closed(&d)?;
    if let Some(pid) = participant_id {
        let ok: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT id FROM deliberation_participant WHERE id = $1 AND deliberation_id = $2")
            .bind(pid).bind(id).fetch_optional(t).await)?;
        if ok.is_none() {
            return Err(ActError::Invalid(
                "participant_id",
                "发言人不在本议题的参加人中".into(),
            ));
        }
    }
    let vid: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO deliberation_view (deliberation_id, participant_id, content, recorded_by, created_at) \
         VALUES ($1,$2,$3,$4,$5) RETURNING id")
        .bind(id).bind(participant_id).bind(content).bind(actor.user_id).bind(now())
        .fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "add_view",
            entity: "deliberation",
            entity_id: id.to_string(),
            summary: format!("“{}”记录发言意见", d.title),
            before: None,
            after: Some(serde_json::json!({"view_id": vid, "participant_id": participant_id})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(vid)
}

/// Concludes (with the outcome), closes (all measures done) or reopens a topic, audited.
pub async fn act(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    id: i64,
    action: DeliberationAction,
    outcome: Option<&str>,
) -> Result<Deliberation, ActError> {
    let mut tx = db.begin().await?;
    let d = get_tx(&mut tx, id).await?;
    let parent: Option<Option<i64>> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT parent_id FROM station WHERE id = $1").bind(d.station_id).fetch_optional(t).await)?;
    let staff = is_staff_for(p, d.station_id, &d.region_path, parent.flatten());
    let outcome = outcome.map(str::trim).filter(|o| !o.is_empty());
    let open: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT COUNT(*) FROM follow_up_item WHERE source_kind = 'deliberation' AND source_id = $1 AND state = 'open'")
        .bind(id).fetch_one(t).await)?;
    let to = activity::decide_deliberation(d.state(), action, staff, outcome.is_some(), open)?;
    let at = now();
    match action {
        DeliberationAction::Conclude => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE deliberation SET state = $1, outcome = $2, version = version + 1, updated_at = $3 WHERE id = $4")
                .bind(to.code()).bind(outcome.unwrap_or_default()).bind(at).bind(id)
                .execute(t).await.map(|_| ()))?;
        }
        DeliberationAction::Close => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE deliberation SET state = $1, closed_at = $2, version = version + 1, updated_at = $2 WHERE id = $3")
                .bind(to.code()).bind(at).bind(id).execute(t).await.map(|_| ()))?;
        }
        DeliberationAction::Reopen => {
            on_tx!(tx, t => sqlx::query(
                "UPDATE deliberation SET state = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                .bind(to.code()).bind(at).bind(id).execute(t).await.map(|_| ()))?;
        }
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: action.code(),
            entity: "deliberation",
            entity_id: id.to_string(),
            summary: format!("“{}”：{}", d.title, action.label()),
            before: Some(serde_json::json!({"state": d.state, "outcome": d.outcome})),
            after: Some(serde_json::json!({"state": to.code(), "outcome": outcome})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, id).await?)
}

// ---------------------------------------------------------------------------------------------
// 云问政

/// An online question window.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct QuestionWindow {
    /// Id.
    pub id: i64,
    /// Station hosting it.
    pub station_id: i64,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station_name: String,
    /// Region path.
    pub region_path: String,
    /// The handling unit that answers.
    pub unit_id: i64,
    /// Its name.
    pub unit_name: String,
    /// Title.
    pub title: String,
    /// What it is about.
    pub description: String,
    /// First day.
    pub opens_on: Date,
    /// Last day.
    pub closes_on: Date,
    /// Questions asked (including hidden ones).
    pub questions: i64,
    /// Questions answered.
    pub answered: i64,
}

const WINDOW: &str = "SELECT w.id, w.station_id, s.code AS station_code, s.name AS station_name, \
    w.region_path, w.unit_id, u.name AS unit_name, w.title, w.description, w.opens_on, w.closes_on, \
    (SELECT COUNT(*) FROM question q WHERE q.window_id = w.id) AS questions, \
    (SELECT COUNT(*) FROM question q WHERE q.window_id = w.id AND q.answered_at IS NOT NULL) AS answered \
    FROM question_window w JOIN station s ON s.id = w.station_id JOIN handling_unit u ON u.id = w.unit_id \
    WHERE 1=1";

/// A window by id.
pub async fn window(db: &Db, id: i64) -> DbResult<QuestionWindow> {
    let mut s = Sql::new(WINDOW);
    s.push(" AND w.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// Windows a user works with: staff by region/station, a unit those it answers.
pub async fn windows(db: &Db, scope: &Scope) -> DbResult<Vec<QuestionWindow>> {
    let mut s = Sql::new(WINDOW);
    s.scope_filter(
        scope,
        ScopeColumns {
            region_path: Some("w.region_path"),
            station_id: Some("w.station_id"),
            unit_id: Some("w.unit_id"),
            ..Default::default()
        },
    );
    s.push(" ORDER BY w.closes_on DESC, w.id DESC LIMIT 200");
    s.fetch_all(db).await
}

/// Windows for the public: open now or closed within the last 90 days.
pub async fn public_windows(db: &Db, today: Date) -> DbResult<Vec<QuestionWindow>> {
    let mut s = Sql::new(WINDOW);
    s.push(" AND w.opens_on <= ")
        .bind(today)
        .push(" AND w.closes_on >= ")
        .bind(today - time::Duration::days(90))
        .push(" ORDER BY w.closes_on DESC, w.id DESC LIMIT 100");
    s.fetch_all(db).await
}

/// A window as entered (validated by the caller).
#[derive(Debug, Clone, Serialize)]
pub struct NewWindow {
    /// Station.
    pub station_id: i64,
    /// Unit that answers.
    pub unit_id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// First day.
    pub opens_on: Date,
    /// Last day.
    pub closes_on: Date,
}

/// Opens a question window, audited.
pub async fn create_window(db: &Db, keys: &Keys, actor: &Actor, w: &NewWindow) -> DbResult<i64> {
    let mut s =
        Sql::new("SELECT r.path FROM station s JOIN region r ON r.id = s.region_id WHERE s.id = ");
    s.bind(w.station_id);
    let row: Option<(String,)> = s.fetch_optional(db).await?;
    let region_path = row
        .ok_or_else(|| DbError::Invalid("联络站不存在".into()))?
        .0;
    let mut tx = db.begin().await?;
    let at = now();
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO question_window (station_id, region_path, unit_id, title, description, opens_on, closes_on, \
         created_by, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9) RETURNING id")
        .bind(w.station_id).bind(&region_path).bind(w.unit_id).bind(&w.title).bind(&w.description)
        .bind(w.opens_on).bind(w.closes_on).bind(actor.user_id).bind(at).fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "create",
            entity: "question_window",
            entity_id: id.to_string(),
            summary: format!("开设云问政“{}”", w.title),
            before: None,
            after: Some(serde_json::to_value(w).unwrap_or_default()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A question.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Question {
    /// Id.
    pub id: i64,
    /// Window.
    pub window_id: i64,
    /// The question.
    pub body: String,
    /// The asker as shown (masked name).
    pub asker_display: String,
    /// Hidden from the public.
    pub hidden: bool,
    /// Why hidden.
    pub hidden_reason: String,
    /// Sensitive words found when it was posted.
    pub flagged_words: String,
    /// The unit's answer.
    pub answer: String,
    /// When answered.
    pub answered_at: Option<OffsetDateTime>,
    /// Asked.
    pub created_at: OffsetDateTime,
}

const QUESTION: &str = "SELECT id, window_id, body, asker_display, hidden, hidden_reason, flagged_words, \
    answer, answered_at, created_at FROM question";

/// Questions of a window, oldest first; `include_hidden` for staff and the unit.
pub async fn questions(db: &Db, window_id: i64, include_hidden: bool) -> DbResult<Vec<Question>> {
    let mut s = Sql::new(QUESTION);
    s.push(" WHERE window_id = ").bind(window_id);
    if !include_hidden {
        s.push(" AND hidden = ").bind(false);
    }
    s.push(" ORDER BY id LIMIT 1000");
    s.fetch_all(db).await
}

/// One question.
pub async fn question(db: &Db, id: i64) -> DbResult<Question> {
    let mut s = Sql::new(QUESTION);
    s.push(" WHERE id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// The sensitive-word list.
pub async fn sensitive_words(db: &Db) -> DbResult<Vec<String>> {
    let rows: Vec<(String,)> = Sql::new("SELECT word FROM sensitive_word ORDER BY word")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Adds (true) or removes (false) a sensitive word, audited. Adding a word already listed or
/// removing one not listed changes nothing.
pub async fn set_sensitive_word(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    word: &str,
    listed: bool,
) -> DbResult<bool> {
    let mut tx = db.begin().await?;
    let changed = if listed {
        on_tx!(tx, t => sqlx::query(
            "INSERT INTO sensitive_word (word, created_at) VALUES ($1,$2) ON CONFLICT (word) DO NOTHING")
            .bind(word).bind(now()).execute(t).await.map(|r| r.rows_affected()))?
    } else {
        on_tx!(tx, t => sqlx::query("DELETE FROM sensitive_word WHERE word = $1")
            .bind(word).execute(t).await.map(|r| r.rows_affected()))?
    };
    if changed > 0 {
        audit::append(
            &mut tx,
            keys,
            actor,
            Entry {
                action: if listed { "add" } else { "remove" },
                entity: "sensitive_word",
                entity_id: word.to_owned(),
                summary: format!("{}敏感词“{word}”", if listed { "添加" } else { "删除" }),
                before: None,
                after: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed > 0)
}

/// The result of posting a question.
#[derive(Debug, Clone, Serialize)]
pub struct Posted {
    /// Id.
    pub id: i64,
    /// Held for moderation (it contained a sensitive word).
    pub held: bool,
}

/// A citizen posts a question (name and mobile encrypted; the public sees a masked name). A
/// question with a sensitive word is held hidden until staff restore it. Only while the window is
/// open.
#[expect(
    clippy::too_many_arguments,
    reason = "the question and its asker, spelled out"
)]
pub async fn post_question(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    window_id: i64,
    body: &str,
    name: &str,
    phone: &str,
    today: Date,
) -> Result<Posted, ActError> {
    let w = window(db, window_id).await?;
    if !activity::window_open(w.opens_on, w.closes_on, today) {
        return Err(ActError::SignupClosed(format!(
            "本次云问政的提问时间为{}至{}，现在不能提问",
            w.opens_on, w.closes_on
        )));
    }
    let words = sensitive_words(db).await?;
    let hits = activity::sensitive_hits(body, &words);
    let held = !hits.is_empty();
    let flagged = hits.join("、");
    let mut tx = db.begin().await?;
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO question (window_id, body, asker_name_enc, asker_phone_enc, asker_phone_idx, asker_display, \
         hidden, hidden_reason, flagged_words, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id")
        .bind(window_id).bind(body).bind(keys.encrypt(name)).bind(keys.encrypt(phone))
        .bind(keys.blind_index(phone)).bind(validate::mask_name(name)).bind(held)
        .bind(if held { "含敏感词，待工作人员审核" } else { "" }).bind(&flagged).bind(now())
        .fetch_one(t).await)?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "post_question",
            entity: "question_window",
            entity_id: window_id.to_string(),
            summary: if held {
                format!("群众提问（含敏感词“{flagged}”，已暂不公开待审核）")
            } else {
                "群众提问".to_owned()
            },
            before: None,
            after: Some(serde_json::json!({"question_id": id, "held": held, "flagged": flagged})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Posted { id, held })
}

/// Staff hide (with a reason) or restore a question, audited.
pub async fn moderate(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    question_id: i64,
    hide: bool,
    reason: &str,
) -> Result<Question, ActError> {
    let q = question(db, question_id).await?;
    if hide && reason.trim().is_empty() {
        return Err(ActError::Invalid(
            "reason",
            "屏蔽提问须说明原因（例如含敏感词、人身攻击、与主题无关）".into(),
        ));
    }
    if q.hidden == hide {
        return Err(ActError::Rule(RuleError::WrongState {
            state: if q.hidden { "hidden" } else { "visible" },
            action: if hide { "hide" } else { "restore" },
            message: if hide {
                "该提问已被屏蔽".into()
            } else {
                "该提问已公开，无需恢复".into()
            },
        }));
    }
    let mut tx = db.begin().await?;
    on_tx!(tx, t => sqlx::query("UPDATE question SET hidden = $1, hidden_reason = $2 WHERE id = $3")
        .bind(hide).bind(if hide { reason.trim() } else { "" }).bind(question_id)
        .execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: if hide { "hide" } else { "restore" },
            entity: "question",
            entity_id: question_id.to_string(),
            summary: format!(
                "{}云问政提问{}",
                if hide { "屏蔽" } else { "恢复公开" },
                if hide {
                    format!("：{}", reason.trim())
                } else {
                    String::new()
                }
            ),
            before: Some(serde_json::json!({"hidden": q.hidden, "reason": q.hidden_reason})),
            after: Some(serde_json::json!({"hidden": hide, "reason": reason.trim()})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(question(db, question_id).await?)
}

/// The handling unit answers publicly, within the window. A later answer replaces the earlier
/// one (both stay in the audit log).
pub async fn answer(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    question_id: i64,
    text: &str,
    today: Date,
) -> Result<Question, ActError> {
    let q = question(db, question_id).await?;
    let w = window(db, q.window_id).await?;
    if !matches!(p.role, Role::UnitOfficer | Role::UnitLead) || p.unit_id != Some(w.unit_id) {
        return Err(ActError::Rule(RuleError::NotPermitted {
            action: "answer",
            message: format!("只有答复单位（{}）可以答复本次云问政的提问", w.unit_name),
        }));
    }
    if !activity::window_open(w.opens_on, w.closes_on, today) {
        return Err(ActError::Rule(RuleError::WrongState {
            state: "closed",
            action: "answer",
            message: format!(
                "本次云问政已于{}结束，不能再在线答复；请通过联络站转交书面答复",
                w.closes_on
            ),
        }));
    }
    if q.hidden {
        return Err(ActError::Rule(RuleError::WrongState {
            state: "hidden",
            action: "answer",
            message: "该提问已被屏蔽，不公开答复；如需答复，请先请联络站恢复公开".into(),
        }));
    }
    let mut tx = db.begin().await?;
    on_tx!(tx, t => sqlx::query(
        "UPDATE question SET answer = $1, answered_at = $2, answered_by = $3 WHERE id = $4")
        .bind(text).bind(now()).bind(actor.user_id).bind(question_id).execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "answer",
            entity: "question",
            entity_id: question_id.to_string(),
            summary: format!("{}答复云问政提问", w.unit_name),
            before: Some(serde_json::json!({"answer": q.answer})),
            after: Some(serde_json::json!({"answer": text})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(question(db, question_id).await?)
}
