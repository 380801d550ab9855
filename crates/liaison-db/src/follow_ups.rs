//! 追问: storage of citizens' follow-up questions on their opinions and of the staff's answers.
//!
//! What may be asked and answered, and why a question leaves the workflow state alone, is
//! `liaison_core::follow_up`. Here each question and each answer is one transaction: the row,
//! a timeline event, the notifications it causes (the station, the lead unit holding the item
//! and the deputy it is addressed to for a question; the citizen's SMS for an answer) and an
//! audit record. Both lock the opinion row first (PostgreSQL; SQLite's write transactions are
//! serial anyway), so a double submit and two clerks answering at once are decided in order.

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, now};
use crate::error::{DbError, DbResult};
use crate::handling::{self, ActError, Item, Outgoing, TimelineEvent};
use crate::opinions::{self, Opinion};
use crate::sql::Sql;
use liaison_core::follow_up::{self as rules, OPEN_PER_ITEM_MAX};
use liaison_core::protect::Keys;
use liaison_core::scope::Principal;
use liaison_core::workflow::{Actor as WfActor, WorkflowError};
use serde::Serialize;
use sqlx::FromRow;

/// A follow-up question and its answer, if any.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct FollowUp {
    /// Id.
    pub id: i64,
    /// Opinion.
    pub opinion_id: i64,
    /// Handling round the question was asked in.
    pub round: i64,
    /// The question.
    pub content: String,
    /// Asked.
    pub asked_at: time::OffsetDateTime,
    /// The answer (empty while unanswered).
    pub answer: String,
    /// Who answered, as the citizen sees it: the station, the unit or the deputy.
    pub answerer: String,
    /// Answered; none while waiting for an answer.
    pub answered_at: Option<time::OffsetDateTime>,
}

impl FollowUp {
    /// Whether it waits for an answer.
    pub fn open(&self) -> bool {
        self.answered_at.is_none()
    }
}

const SELECT: &str = "SELECT id, opinion_id, round, content, asked_at, answer, answerer, answered_at \
    FROM opinion_follow_up";

/// The follow-ups of an opinion, oldest first.
pub async fn list(db: &Db, opinion_id: i64) -> DbResult<Vec<FollowUp>> {
    let mut s = Sql::new(SELECT);
    s.push(" WHERE opinion_id = ")
        .bind(opinion_id)
        .push(" ORDER BY id");
    s.fetch_all(db).await
}

async fn get_tx(tx: &mut Tx, opinion_id: i64, id: i64) -> DbResult<Option<FollowUp>> {
    let sql = format!("{SELECT} WHERE opinion_id = $1 AND id = $2");
    let r: Option<FollowUp> = on_tx!(tx, t => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(opinion_id).bind(id).fetch_optional(t).await)?;
    Ok(r)
}

/// A stored question.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The question.
    pub follow_up: FollowUp,
    /// The same question had been stored before (a double submit): nothing new was written.
    pub replayed: bool,
}

fn wrong_state(o: &Opinion, action: &'static str, message: String) -> ActError {
    ActError::Workflow(WorkflowError::WrongState {
        state: o.state().code(),
        action,
        message,
    })
}

/// Stores the submitter's question `content` (validated by the caller with
/// `liaison_core::follow_up::question`) on opinion `opinion_id`. The caller has checked the
/// tracking number and the phone digits. `key` is the form's or the client's idempotency key;
/// without one, the same text as a question still waiting for its answer is taken as a repeat.
pub async fn ask(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    opinion_id: i64,
    content: &str,
    key: Option<&str>,
) -> Result<Asked, ActError> {
    let mut tx = db.begin().await?;
    let o = opinions::get_tx(&mut tx, opinion_id).await?;
    let key = key.map(str::trim).filter(|k| !k.is_empty());
    // A repeat first: a double submit after the question was stored returns it, whatever the
    // state has become since.
    let earlier: Option<i64> = match key {
        Some(k) => on_tx!(tx, t => sqlx::query_scalar(
            "SELECT id FROM opinion_follow_up WHERE opinion_id = $1 AND idempotency_key = $2")
            .bind(o.id).bind(k).fetch_optional(t).await)?,
        None => on_tx!(tx, t => sqlx::query_scalar(
            "SELECT id FROM opinion_follow_up WHERE opinion_id = $1 AND answered_at IS NULL AND content = $2 \
             ORDER BY id DESC LIMIT 1")
            .bind(o.id).bind(content).fetch_optional(t).await)?,
    };
    if let Some(id) = earlier {
        let follow_up = get_tx(&mut tx, o.id, id).await?.ok_or(DbError::NotFound)?;
        return Ok(Asked {
            follow_up,
            replayed: true,
        });
    }
    rules::may_ask(o.state()).map_err(|m| wrong_state(&o, "follow_up", m.to_owned()))?;
    let waiting: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT COUNT(*) FROM opinion_follow_up WHERE opinion_id = $1 AND answered_at IS NULL")
        .bind(o.id).fetch_one(t).await)?;
    if waiting >= OPEN_PER_ITEM_MAX {
        return Err(ActError::Invalid(format!(
            "您已有{waiting}条追问尚未答复，请等待答复后再追问"
        )));
    }
    let at = now();
    let key = key
        .map(str::to_owned)
        .unwrap_or_else(liaison_core::protect::random_token);
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO opinion_follow_up (opinion_id, round, content, idempotency_key, asked_at) \
         VALUES ($1,$2,$3,$4,$5) RETURNING id")
        .bind(o.id).bind(o.round).bind(content).bind(&key).bind(at).fetch_one(t).await)?;
    handling::append_event(
        &mut tx,
        actor,
        Item::Opinion(o.id),
        &TimelineEvent {
            action: "follow_up",
            label: "群众追问",
            from: Some(o.state.as_str()),
            to: o.state.as_str(),
            note: content,
            // The question is shown with its answer on the tracking page, not again here.
            public_note: "",
        },
    )
    .await?;
    let payload = serde_json::json!({"tracking_no": o.tracking_no, "title": o.title}).to_string();
    let mut recipients = vec![format!("station:{}", o.station_id)];
    let units = opinions::units_tx(&mut tx, o.id).await?;
    if let Some(lead) = units.iter().find(|u| u.active && u.is_lead) {
        recipients.push(format!("unit:{}", lead.unit_id));
    }
    if let Some(d) = o.deputy_id {
        recipients.push(format!("deputy:{d}"));
    }
    let outgoing: Vec<Outgoing<'_>> = recipients
        .into_iter()
        .map(|recipient| Outgoing {
            item: Item::Opinion(o.id),
            channel: "inapp",
            recipient,
            template: "opinion.follow_up",
            payload: payload.clone(),
        })
        .collect();
    handling::enqueue_many(&mut tx, &outgoing).await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "follow_up",
            entity: "opinion",
            entity_id: o.id.to_string(),
            summary: format!(
                "{} 群众追问（{}字）",
                o.tracking_no,
                content.chars().count()
            ),
            before: None,
            after: Some(
                serde_json::json!({"follow_up_id": id, "state": o.state, "round": o.round}),
            ),
        },
    )
    .await?;
    let follow_up = get_tx(&mut tx, o.id, id).await?.ok_or(DbError::NotFound)?;
    tx.commit().await?;
    Ok(Asked {
        follow_up,
        replayed: false,
    })
}

/// Answers follow-up `follow_up_id` of opinion `opinion_id` with `answer` (validated by the
/// caller with `liaison_core::follow_up::answer`) for `p`, who must be one who answers the
/// citizen on this item (`liaison_core::follow_up::may_answer`). An answered question is
/// refused (answered by someone else meanwhile). The answer is published on the tracking page,
/// signed with the station's, unit's or deputy's name, and the citizen gets an SMS.
pub async fn answer(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    opinion_id: i64,
    follow_up_id: i64,
    answer: &str,
) -> Result<FollowUp, ActError> {
    let mut tx = db.begin().await?;
    let o = opinions::get_tx(&mut tx, opinion_id).await?;
    let units = opinions::units_tx(&mut tx, o.id).await?;
    let parent = opinions::station_parent(&mut tx, o.station_id).await?;
    let actors = opinions::actors_for(p, &o, &units, parent);
    if actors.is_empty() {
        return Err(ActError::Forbidden);
    }
    if !rules::may_answer(&actors) {
        return Err(ActError::ForbiddenBecause(
            "群众追问由联络站、主办单位或所反映的代表答复；协办单位请将意见告知主办单位".into(),
        ));
    }
    let Some(f) = get_tx(&mut tx, o.id, follow_up_id).await? else {
        return Err(ActError::Db(DbError::NotFound));
    };
    if !f.open() {
        return Err(wrong_state(
            &o,
            "answer_follow_up",
            format!("这条追问已由{}答复，请刷新页面查看", f.answerer),
        ));
    }
    let answerer = if actors.contains(&WfActor::LeadUnit) || actors.contains(&WfActor::UnitLead) {
        units
            .iter()
            .find(|u| u.active && u.is_lead)
            .map(|u| u.unit_name.clone())
            .unwrap_or_else(|| o.station_name.clone())
    } else if actors.contains(&WfActor::StationStaff) {
        o.station_name.clone()
    } else {
        o.deputy_name
            .as_ref()
            .map(|d| format!("{d}代表"))
            .unwrap_or_else(|| o.station_name.clone())
    };
    let at = now();
    let changed = on_tx!(tx, t => sqlx::query(
        "UPDATE opinion_follow_up SET answer = $1, answerer = $2, answered_by = $3, answered_at = $4 \
         WHERE id = $5 AND answered_at IS NULL")
        .bind(answer).bind(&answerer).bind(actor.user_id).bind(at).bind(f.id)
        .execute(t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(ActError::Db(DbError::Stale));
    }
    handling::append_event(
        &mut tx,
        actor,
        Item::Opinion(o.id),
        &TimelineEvent {
            action: "answer_follow_up",
            label: "答复追问",
            from: Some(o.state.as_str()),
            to: o.state.as_str(),
            note: answer,
            public_note: "",
        },
    )
    .await?;
    if !o.submitter_phone_enc.is_empty() {
        let payload =
            serde_json::json!({"tracking_no": o.tracking_no, "title": o.title}).to_string();
        handling::enqueue(
            &mut tx,
            Item::Opinion(o.id),
            "sms",
            &format!("submitter:{}", o.id),
            "opinion.follow_up_answered",
            &payload,
        )
        .await?;
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "answer_follow_up",
            entity: "opinion",
            entity_id: o.id.to_string(),
            summary: format!("{} 答复群众追问（{answerer}）", o.tracking_no),
            before: Some(serde_json::json!({"follow_up_id": f.id, "answered": false})),
            after: Some(
                serde_json::json!({"follow_up_id": f.id, "answered": true, "answerer": answerer}),
            ),
        },
    )
    .await?;
    let f = get_tx(&mut tx, o.id, f.id)
        .await?
        .ok_or(DbError::NotFound)?;
    tx.commit().await?;
    Ok(f)
}
