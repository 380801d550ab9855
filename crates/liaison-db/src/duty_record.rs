//! 履职档案: every deputy's duty record — dated, typed entries with their source.
//!
//! Other modules record entries from their own data inside their own transactions with
//! [`record`] (a suggestion filed or co-signed, an opinion answered, a reception, an activity
//! attended, a check-in); recording the same source twice keeps one entry. A deputy declares
//! an offline duty with [`declare`]; staff approve or reject it with [`review`], audited. The
//! per-deputy timeline is [`list`], the yearly counts by kind [`summary`].

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, now};
use crate::directory::Page;
use crate::error::{DbError, DbResult};
use crate::sql::Sql;
use liaison_core::duty::{DutyKind, DutyStatus, source};
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use serde::Serialize;
use sqlx::FromRow;
use time::Date;

/// A new entry. Plain data: the caller fills it from its own records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDutyEntry {
    /// The deputy (`deputy.id`).
    pub deputy_id: i64,
    /// Kind of duty.
    pub kind: DutyKind,
    /// The day it happened.
    pub occurred_on: Date,
    /// What it was, in Chinese (e.g. 领衔提出建议：…).
    pub title: String,
    /// More detail (place, number, note); may be empty.
    pub detail: String,
    /// Where it comes from: `suggestion`, `opinion`, `activity`… (see
    /// `liaison_core::duty::source`), or `offline` for a declaration.
    pub source_kind: String,
    /// Id of the source row. Entries with a source are unique per (deputy, kind, source kind,
    /// source id); `None` (declarations) never collide.
    pub source_id: Option<i64>,
    /// Workbench link to the source (e.g. `/work/suggestions/12`); may be empty.
    pub link: String,
    /// `Recorded` for entries from the system's own data; `PendingApproval` for declarations.
    pub status: DutyStatus,
    /// The account that caused the entry, if any.
    pub created_by: Option<i64>,
}

/// Records an entry inside the caller's transaction and returns its id. Idempotent per
/// (deputy, kind, source kind, source id): when that source was recorded before, the existing
/// entry is kept unchanged and its id returned.
pub async fn record(tx: &mut Tx, entry: &NewDutyEntry) -> DbResult<i64> {
    let inserted: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "INSERT INTO duty_record (deputy_id, kind, occurred_on, title, detail, source_kind, source_id, \
         link, status, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) \
         ON CONFLICT (deputy_id, kind, source_kind, source_id) DO NOTHING RETURNING id")
        .bind(entry.deputy_id).bind(entry.kind.code()).bind(entry.occurred_on).bind(&entry.title)
        .bind(&entry.detail).bind(&entry.source_kind).bind(entry.source_id).bind(&entry.link)
        .bind(entry.status.code()).bind(entry.created_by).bind(now())
        .fetch_optional(t).await)?;
    if let Some(id) = inserted {
        return Ok(id);
    }
    let existing: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT id FROM duty_record WHERE deputy_id = $1 AND kind = $2 AND source_kind = $3 AND source_id = $4")
        .bind(entry.deputy_id).bind(entry.kind.code()).bind(&entry.source_kind).bind(entry.source_id)
        .fetch_optional(t).await)?;
    existing.ok_or(DbError::NotFound)
}

/// A stored entry.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct DutyEntry {
    /// Id.
    pub id: i64,
    /// Deputy.
    pub deputy_id: i64,
    /// Deputy's name.
    pub deputy_name: String,
    /// Kind code.
    pub kind: String,
    /// Day.
    pub occurred_on: Date,
    /// Title.
    pub title: String,
    /// Detail.
    pub detail: String,
    /// Source kind.
    pub source_kind: String,
    /// Source id.
    pub source_id: Option<i64>,
    /// Link to the source.
    pub link: String,
    /// Status code.
    pub status: String,
    /// Reviewer's note (reason of a rejection).
    pub review_note: String,
    /// Recorded at.
    pub created_at: time::OffsetDateTime,
}

impl DutyEntry {
    /// The kind, parsed.
    pub fn kind(&self) -> Option<DutyKind> {
        DutyKind::parse(&self.kind)
    }
    /// The status, parsed.
    pub fn status(&self) -> DutyStatus {
        DutyStatus::parse(&self.status).unwrap_or(DutyStatus::Recorded)
    }
}

const SELECT: &str = "SELECT e.id, e.deputy_id, d.name AS deputy_name, e.kind, e.occurred_on, e.title, \
    e.detail, e.source_kind, e.source_id, e.link, e.status, e.review_note, e.created_at \
    FROM duty_record e JOIN deputy d ON d.id = e.deputy_id JOIN region r ON r.id = d.region_id WHERE 1=1";

/// Filters of duty-record lists.
#[derive(Debug, Clone, Default)]
pub struct DutyFilter {
    /// One deputy's record.
    pub deputy_id: Option<i64>,
    /// Only this year.
    pub year: Option<i32>,
    /// Only this kind.
    pub kind: Option<DutyKind>,
    /// Only these statuses.
    pub statuses: Vec<DutyStatus>,
    /// Keyset cursor: entries listed after the one with this id (newest day first).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Which duty records `p` may read: a deputy their own; region staff the deputies of their
/// region; station staff the deputies resident at their station (and its points). Units and
/// the three administrators none.
pub fn read_scope(p: &Principal) -> Scope {
    match p.role {
        Role::Deputy
        | Role::CityStaff
        | Role::CountyStaff
        | Role::TownshipStaff
        | Role::StationStaff => p.scope(),
        _ => Scope::Nothing,
    }
}

/// Whether `p` reviews declarations of deputies in scope: the staff who keep the record
/// (township, county, city; station heads keep the station's).
pub fn may_review(p: &Principal) -> bool {
    matches!(
        p.role,
        Role::CityStaff | Role::CountyStaff | Role::TownshipStaff | Role::StationStaff
    )
}

fn filter_where(s: &mut Sql, scope: &Scope, f: &DutyFilter) {
    s.scope_filter(
        scope,
        crate::sql::ScopeColumns {
            region_path: Some("r.path"),
            station_id: Some("d.station_id"),
            deputy_id: Some("e.deputy_id"),
            unit_id: None,
            entered_by: None,
        },
    );
    if let Some(d) = f.deputy_id {
        s.push(" AND e.deputy_id = ").bind(d);
    }
    if let Some(y) = f.year
        && let (Ok(from), Ok(to)) = (
            Date::from_calendar_date(y, time::Month::January, 1),
            Date::from_calendar_date(y, time::Month::December, 31),
        )
    {
        s.push(" AND e.occurred_on >= ")
            .bind(from)
            .push(" AND e.occurred_on <= ")
            .bind(to);
    }
    if let Some(k) = f.kind {
        s.push(" AND e.kind = ").bind(k.code());
    }
    if !f.statuses.is_empty() {
        s.push(" AND e.status IN ")
            .bind_list(f.statuses.iter().map(|st| st.code()));
    }
}

/// Entries in a scope, newest first (by id, which follows recording order), with the total.
pub async fn list(db: &Db, scope: &Scope, f: &DutyFilter) -> DbResult<Page<DutyEntry>> {
    let mut c = Sql::new(
        "SELECT COUNT(*) FROM duty_record e JOIN deputy d ON d.id = e.deputy_id \
         JOIN region r ON r.id = d.region_id WHERE 1=1",
    );
    filter_where(&mut c, scope, f);
    let total = c.fetch_count(db).await?;
    let mut s = Sql::new(SELECT);
    filter_where(&mut s, scope, f);
    if let Some(b) = f.before_id {
        s.push(" AND e.id < ").bind(b);
    }
    s.push(" ORDER BY e.id DESC LIMIT ").bind(f.limit + 1);
    let mut items: Vec<DutyEntry> = s.fetch_all(db).await?;
    let next = if items.len() as i64 > f.limit {
        items.truncate(f.limit as usize);
        items.last().map(|e| e.id.to_string())
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

/// An entry in a scope.
pub async fn get(db: &Db, scope: &Scope, id: i64) -> DbResult<DutyEntry> {
    let mut s = Sql::new(SELECT);
    filter_where(&mut s, scope, &DutyFilter::default());
    s.push(" AND e.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// The count of one kind in a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindCount {
    /// Kind.
    pub kind: DutyKind,
    /// Entries that count (recorded or approved).
    pub count: i64,
    /// Declarations waiting for review.
    pub pending: i64,
}

/// A deputy's year in numbers: per kind (every kind, zeros included, in the kinds' order).
pub async fn summary(db: &Db, deputy_id: i64, year: i32) -> DbResult<Vec<KindCount>> {
    let mut s =
        Sql::new("SELECT e.kind, e.status, COUNT(*) FROM duty_record e WHERE e.deputy_id = ");
    s.bind(deputy_id);
    if let (Ok(from), Ok(to)) = (
        Date::from_calendar_date(year, time::Month::January, 1),
        Date::from_calendar_date(year, time::Month::December, 31),
    ) {
        s.push(" AND e.occurred_on >= ")
            .bind(from)
            .push(" AND e.occurred_on <= ")
            .bind(to);
    }
    s.push(" GROUP BY e.kind, e.status");
    let rows: Vec<(String, String, i64)> = s.fetch_all(db).await?;
    Ok(DutyKind::ALL
        .iter()
        .map(|&kind| {
            let mut count = 0;
            let mut pending = 0;
            for (k, st, n) in &rows {
                if k == kind.code() {
                    match DutyStatus::parse(st) {
                        Some(s) if s.counts() => count += n,
                        Some(DutyStatus::PendingApproval) => pending += n,
                        _ => {}
                    }
                }
            }
            KindCount {
                kind,
                count,
                pending,
            }
        })
        .collect())
}

/// A deputy's declaration of an offline duty, validated by the caller.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// Kind (must be declarable).
    pub kind: DutyKind,
    /// The day.
    pub occurred_on: Date,
    /// What it was.
    pub title: String,
    /// Place, people, outcome.
    pub detail: String,
}

/// Stores a deputy's declaration as an entry waiting for approval; audited.
pub async fn declare(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    deputy_id: i64,
    created_by: Option<i64>,
    d: &Declaration,
) -> DbResult<i64> {
    if !d.kind.is_declarable() {
        return Err(DbError::Invalid(format!(
            "“{}”由系统根据办理记录自动记入，不需要申报",
            d.kind.label()
        )));
    }
    let mut tx = db.begin().await?;
    let id = record(
        &mut tx,
        &NewDutyEntry {
            deputy_id,
            kind: d.kind,
            occurred_on: d.occurred_on,
            title: d.title.clone(),
            detail: d.detail.clone(),
            source_kind: source::OFFLINE.to_owned(),
            source_id: None,
            link: String::new(),
            status: DutyStatus::PendingApproval,
            created_by,
        },
    )
    .await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "declare",
            entity: "duty_record",
            entity_id: id.to_string(),
            summary: format!(
                "申报线下履职（{}，{}）：{}",
                d.kind.label(),
                d.occurred_on,
                d.title
            ),
            before: None,
            after: Some(serde_json::json!({
                "deputy_id": deputy_id, "kind": d.kind.code(),
                "occurred_on": d.occurred_on.to_string(), "title": d.title,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Approves or rejects a pending declaration; audited. A rejection needs a reason.
pub async fn review(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    reviewer: &Principal,
    id: i64,
    approve: bool,
    note: &str,
) -> DbResult<DutyEntry> {
    let scope = read_scope(reviewer);
    let entry = get(db, &scope, id).await?;
    if !may_review(reviewer) {
        return Err(DbError::Invalid("只有代表工作人员可以审核履职申报".into()));
    }
    if entry.status() != DutyStatus::PendingApproval {
        return Err(DbError::Invalid(format!(
            "该履职记录状态为“{}”，只有待审核的申报可以审核",
            entry.status().label()
        )));
    }
    if !approve && note.trim().is_empty() {
        return Err(DbError::Invalid(
            "不予通过须说明理由，请填写理由后再提交".into(),
        ));
    }
    let status = if approve {
        DutyStatus::Approved
    } else {
        DutyStatus::Rejected
    };
    let mut tx = db.begin().await?;
    // The status condition makes two reviewers acting at once land once.
    let changed = on_tx!(tx, t => sqlx::query(
        "UPDATE duty_record SET status = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4 \
         WHERE id = $5 AND status = 'pending_approval'")
        .bind(status.code()).bind(reviewer.user_id).bind(now()).bind(note.trim()).bind(id)
        .execute(t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(DbError::Stale);
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: if approve { "approve" } else { "reject" },
            entity: "duty_record",
            entity_id: id.to_string(),
            summary: format!(
                "{}{}的履职申报：{}{}",
                if approve {
                    "审核通过"
                } else {
                    "不予通过"
                },
                entry.deputy_name,
                entry.title,
                if note.trim().is_empty() {
                    String::new()
                } else {
                    format!("（{}）", note.trim())
                }
            ),
            before: Some(serde_json::json!({"status": entry.status})),
            after: Some(serde_json::json!({"status": status.code(), "note": note.trim()})),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, &scope, id).await
}

/// A deputy by id in a scope: (id, code, name). `None` when outside the scope.
pub async fn deputy_in_scope(
    db: &Db,
    scope: &Scope,
    deputy_id: i64,
) -> DbResult<Option<(i64, String, String)>> {
    let mut s = Sql::new(
        "SELECT d.id, d.code, d.name FROM deputy d JOIN region r ON r.id = d.region_id WHERE d.id = ",
    );
    s.bind(deputy_id);
    s.scope_filter(
        scope,
        crate::sql::ScopeColumns {
            region_path: Some("r.path"),
            station_id: Some("d.station_id"),
            deputy_id: Some("d.id"),
            unit_id: None,
            entered_by: None,
        },
    );
    s.fetch_optional(db).await
}
