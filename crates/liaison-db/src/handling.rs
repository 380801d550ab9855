//! What the storage of the two workflows (citizen opinions, deputies' suggestions) shares.
//!
//! `liaison_core::workflow` is one engine with two rule sets; this module is its one storage
//! path for what is the same in both: the installation's rules a decision is taken under
//! ([`Rules`]), who is acting ([`Acting`]), why an action failed ([`ActError`]), and the rows
//! every applied decision writes besides its own table — the timeline event and the queued
//! notification — into the same transaction as the state change and the audit record
//! (`audit::append`). `opinions` and `suggestions` apply their decisions through these.

use crate::audit::Actor;
use crate::db::{Tx, now};
use crate::error::{DbError, DbResult};
use crate::sql::{Arg, ScopeColumns, Sql};
use liaison_core::scope::{Principal, Scope};
use liaison_core::sla::SlaTable;
use liaison_core::workdays::Calendar;
use liaison_core::workflow::{self, Context};
use time::Date;

/// Today in China Standard Time (deadlines are days in China).
pub fn today() -> Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
}

/// Everything a decision needs from the installation.
pub struct Rules<'a> {
    /// Working-day calendar.
    pub calendar: &'a Calendar,
    /// Deadline table.
    pub sla: &'a SlaTable,
    /// Today (China time).
    pub today: Date,
}

impl Rules<'_> {
    /// A workflow context for today with no facts and no arguments.
    pub fn context(&self) -> Context<'_> {
        Context::new(self.today, self.calendar, self.sla)
    }
}

/// Who is acting: a signed-in user, the submitter (with a verified tracking number), or the
/// system (timers).
#[derive(Debug, Clone)]
pub enum Acting<'a> {
    /// A signed-in user.
    User(&'a Principal),
    /// The submitter of an opinion.
    Submitter,
    /// The system.
    System,
}

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The workflow refused it (wrong state, not permitted, a guard failed).
    #[error("{0}")]
    Workflow(#[from] workflow::WorkflowError),
    /// The input is incomplete or wrong.
    #[error("{0}")]
    Invalid(String),
    /// The user has no relation to the item.
    #[error("您无权处理该事项")]
    Forbidden,
    /// The user has no relation to the item, with a Chinese explanation of why.
    #[error("{0}")]
    ForbiddenBecause(String),
    /// Storage failed (or the item is missing / was changed meanwhile).
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ActError {
    fn from(e: sqlx::Error) -> Self {
        ActError::Db(e.into())
    }
}

/// The item a timeline event or a notification belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// An opinion (`opinion.id`).
    Opinion(i64),
    /// A suggestion (`suggestion.id`).
    Suggestion(i64),
}

/// One row of an item's timeline.
#[derive(Debug, Clone)]
pub struct TimelineEvent<'a> {
    /// Action code.
    pub action: &'a str,
    /// Chinese label.
    pub label: &'a str,
    /// State code before (none when the item is created).
    pub from: Option<&'a str>,
    /// State code after.
    pub to: &'a str,
    /// Note for the people handling the item.
    pub note: &'a str,
    /// Note the submitter may see.
    pub public_note: &'a str,
}

/// Appends a timeline event of `item`, inside the transaction of the change it records.
pub async fn append_event(
    tx: &mut Tx,
    actor: &Actor,
    item: Item,
    e: &TimelineEvent<'_>,
) -> DbResult<()> {
    append_events(tx, &[(actor, item, e.clone())]).await
}

/// Appends timeline events, one statement per table and 64 events (a batch of intakes).
pub async fn append_events(
    tx: &mut Tx,
    events: &[(&Actor, Item, TimelineEvent<'_>)],
) -> DbResult<()> {
    Sql::execute_all_tx(events_sql(events), tx).await
}

/// The statements of [`append_events`], for a caller that runs them with others.
pub(crate) fn events_sql(events: &[(&Actor, Item, TimelineEvent<'_>)]) -> Vec<Sql> {
    let mut out = Vec::new();
    // The two tables have the same columns; only the owner column differs.
    for opinions in [true, false] {
        let rows: Vec<&(&Actor, Item, TimelineEvent<'_>)> = events
            .iter()
            .filter(|(_, item, _)| matches!(item, Item::Opinion(_)) == opinions)
            .collect();
        for chunk in rows.chunks(64) {
            let mut s = Sql::new(if opinions {
                "INSERT INTO opinion_event (opinion_id, at, actor_id, actor_name, actor_role, action, \
                 label, from_state, to_state, note, public_note) VALUES "
            } else {
                "INSERT INTO suggestion_event (suggestion_id, at, actor_id, actor_name, actor_role, \
                 action, label, from_state, to_state, note, public_note) VALUES "
            });
            for (i, (actor, item, e)) in chunk.iter().enumerate() {
                let (Item::Opinion(id) | Item::Suggestion(id)) = *item;
                s.bind_row(
                    i == 0,
                    [
                        Arg::from(id),
                        now().into(),
                        actor.user_id.into(),
                        actor.name.clone().into(),
                        actor.role.clone().into(),
                        e.action.into(),
                        e.label.into(),
                        e.from.map(str::to_owned).into(),
                        e.to.into(),
                        e.note.into(),
                        e.public_note.into(),
                    ],
                );
            }
            out.push(s);
        }
    }
    out
}

/// What a unit's officer or lead is for an item, from the item's active assignments given as
/// (unit id, is lead): the lead unit (and, for its head, the unit lead) or a co-unit.
pub fn unit_actors(
    p: &Principal,
    assignments: impl Iterator<Item = (i64, bool)>,
) -> Vec<workflow::Actor> {
    let mut out = Vec::new();
    if !matches!(
        p.role,
        liaison_core::role::Role::UnitOfficer | liaison_core::role::Role::UnitLead
    ) {
        return out;
    }
    for (_, is_lead) in assignments.filter(|(u, _)| Some(*u) == p.unit_id) {
        if is_lead {
            out.push(workflow::Actor::LeadUnit);
            if p.role == liaison_core::role::Role::UnitLead {
                out.push(workflow::Actor::UnitLead);
            }
        } else {
            out.push(workflow::Actor::CoUnit);
        }
    }
    out
}

/// Queues a notification about `item` in the outbox, inside the transaction of the change that
/// causes it; the delivery worker sends it afterwards.
pub async fn enqueue(
    tx: &mut Tx,
    item: Item,
    channel: &str,
    recipient: &str,
    template: &str,
    payload: &str,
) -> DbResult<()> {
    enqueue_many(
        tx,
        &[Outgoing {
            item,
            channel,
            recipient: recipient.to_owned(),
            template,
            payload: payload.to_owned(),
        }],
    )
    .await
}

/// A notification to queue: see [`enqueue`].
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// What it is about.
    pub item: Item,
    /// `sms`, `inapp`, …
    pub channel: &'a str,
    /// Who gets it (`station:3`, `submitter:17`, …).
    pub recipient: String,
    /// Message template code.
    pub template: &'a str,
    /// JSON values of the template.
    pub payload: String,
}

/// Queues notifications, one statement per 64 (a batch of intakes).
pub async fn enqueue_many(tx: &mut Tx, rows: &[Outgoing<'_>]) -> DbResult<()> {
    Sql::execute_all_tx(notifications_sql(rows), tx).await
}

/// The statements of [`enqueue_many`], for a caller that runs them with others.
pub(crate) fn notifications_sql(rows: &[Outgoing<'_>]) -> Vec<Sql> {
    let mut out = Vec::new();
    let at = now();
    for chunk in rows.chunks(64) {
        let mut s = Sql::new(
            "INSERT INTO notification (channel, recipient, template, payload, opinion_id, \
             suggestion_id, status, attempts, next_attempt_at, created_at) VALUES ",
        );
        for (i, n) in chunk.iter().enumerate() {
            let (opinion_id, suggestion_id) = match n.item {
                Item::Opinion(id) => (Some(id), None),
                Item::Suggestion(id) => (None, Some(id)),
            };
            s.bind_row(
                i == 0,
                [
                    Arg::from(n.channel),
                    n.recipient.clone().into(),
                    n.template.into(),
                    n.payload.clone().into(),
                    opinion_id.into(),
                    suggestion_id.into(),
                    "pending".into(),
                    0i64.into(),
                    at.into(),
                    at.into(),
                ],
            );
        }
        out.push(s);
    }
    out
}

/// Which handling units an assignment may name. The forms offer only these; the server checks
/// them again so that a request built by hand cannot hand an item (and its submitter's
/// identity) to a unit of another county.
#[derive(Debug, Clone, Copy)]
pub enum UnitReach<'a> {
    /// An opinion received at this station: the units of the station's township, county and
    /// city, and for region staff also every unit of their own region.
    Station {
        /// The item's station.
        station_id: i64,
        /// The acting user's scope.
        actor: &'a Scope,
    },
    /// Any unit inside this scope (suggestions, which county and city offices assign).
    Within(&'a Scope),
}

/// Checks that handling units exist, are active and are within `reach`; the message names the
/// first that is not.
pub async fn check_units(
    tx: &mut Tx,
    lead: i64,
    co: &[i64],
    reach: UnitReach<'_>,
) -> Result<(), ActError> {
    if co.contains(&lead) {
        return Err(ActError::Invalid("协办单位不能与主办单位相同".into()));
    }
    for u in std::iter::once(lead).chain(co.iter().copied()) {
        let mut s = Sql::new(
            "SELECT COUNT(*) FROM handling_unit u JOIN region r ON r.id = u.region_id \
             WHERE u.active = TRUE AND u.id = ",
        );
        s.bind(u);
        let exists = s.fetch_count_tx(tx).await? > 0;
        if !exists {
            return Err(ActError::Invalid(format!(
                "承办单位（编号{u}）不存在或已停用"
            )));
        }
        match reach {
            UnitReach::Station { station_id, actor } => {
                // The units on the path from the root to the station's region.
                s.push(
                    " AND (EXISTS (SELECT 1 FROM station st JOIN region sr ON sr.id = st.region_id \
                     WHERE st.id = ",
                )
                .bind(station_id)
                .push(" AND sr.path LIKE r.path || '%')");
                if let Scope::RegionSubtree(path) = actor {
                    s.push(" OR r.path LIKE ").bind(format!("{path}%"));
                }
                s.push(")");
            }
            UnitReach::Within(scope) => {
                s.scope_filter(
                    scope,
                    ScopeColumns {
                        region_path: Some("r.path"),
                        unit_id: Some("u.id"),
                        ..Default::default()
                    },
                );
            }
        }
        if s.fetch_count_tx(tx).await? == 0 {
            let allowed = match reach {
                UnitReach::Station { .. } => {
                    "本事项所在乡镇（街道）、县（市、区）和市的单位，或您所辖区域内的单位"
                }
                UnitReach::Within(_) => "您所辖区域内的单位",
            };
            return Err(ActError::Invalid(format!(
                "承办单位（编号{u}）不在可交办的范围内，只能交办{allowed}"
            )));
        }
    }
    Ok(())
}

/// The names of units, in the order given, for timeline notes (主办单位：…；协办单位：…).
pub async fn assignment_note(tx: &mut Tx, lead: Option<i64>, co: &[i64]) -> DbResult<String> {
    let mut names = Vec::new();
    for u in lead.iter().chain(co.iter()) {
        let n: Option<String> = on_tx!(tx, t => sqlx::query_scalar("SELECT name FROM handling_unit WHERE id = $1")
            .bind(*u).fetch_optional(t).await)?;
        names.push(n.unwrap_or_else(|| format!("单位{u}")));
    }
    Ok(match names.split_first() {
        Some((lead, co)) if !co.is_empty() => {
            format!("主办单位：{lead}；协办单位：{}", co.join("、"))
        }
        Some((lead, _)) => format!("主办单位：{lead}"),
        None => String::new(),
    })
}
