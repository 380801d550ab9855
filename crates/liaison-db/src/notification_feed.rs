//! The in-app notification feed of staff: the `inapp` rows of the outbox (`notifications`)
//! addressed to the signed-in account, newest first, with what the account has read.
//!
//! The outbox addresses places, not accounts (see [`crate::notifications::Notification`]'s
//! `recipient`), so the feed maps each account to the recipients that name it, by the same
//! relations the workflows use to decide who acts ([`crate::opinions::actors_for`]):
//!
//! - station staff: `station:<their station>` and `station:<each room/point under it>`;
//! - township, county and city staff: `region:<path>` for every region of their subtree (the
//!   supervisor of an item is the staff of a region that contains it);
//! - township staff also: `station:<id>` for every station of their subtree — township congress
//!   staff run their stations and act as station staff on their items (`actors_for`), so what a
//!   station hears they hear. The subtree is the one scoping rule (`Sql::scope_filter` on the
//!   station's region path). County and city offices supervise rather than run stations and
//!   would get every station's routine notice of a whole county, so they keep `region:` only;
//! - unit officers and leads: `unit:<their unit>`, and `co_units:<opinion>` for the opinions
//!   their unit was assigned to as a co-handling unit;
//! - deputies: `deputy:<their record>`.
//!
//! Other accounts (administrators, grid workers) are named by no recipient and have an empty
//! feed. Citizens' SMS (`submitter:`, `signup:`) are not `inapp` and never listed.
//!
//! Read state: one watermark per account (`notification_read_mark.read_through`: everything at
//! or below it is read, moved by "mark all read") and single reads above it
//! (`notification_read`). Both changes are audited in their transaction.

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, now};
use crate::error::{DbError, DbResult};
use crate::sql::{ScopeColumns, Sql};
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use sqlx::FromRow;

/// What an account is in the outbox's recipient model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressee {
    /// Station staff of this station (and of its rooms/points).
    Station(i64),
    /// Region staff of the subtree with this materialised path.
    Region {
        /// Materialised path of the account's region.
        path: String,
        /// The account runs the stations of the subtree (township staff) and hears what they
        /// hear.
        runs_stations: bool,
    },
    /// An officer or lead of this handling unit.
    Unit(i64),
    /// This deputy.
    Deputy(i64),
    /// No recipient names the account.
    Nobody,
}

impl Addressee {
    /// The recipients that name `p`.
    pub fn of(p: &Principal) -> Addressee {
        match p.role {
            Role::StationStaff => p.station_id.map_or(Addressee::Nobody, Addressee::Station),
            Role::TownshipStaff | Role::CountyStaff | Role::CityStaff => match &p.region {
                Some((_, path)) => Addressee::Region {
                    path: path.clone(),
                    runs_stations: p.role == Role::TownshipStaff,
                },
                None => Addressee::Nobody,
            },
            Role::UnitOfficer | Role::UnitLead => {
                p.unit_id.map_or(Addressee::Nobody, Addressee::Unit)
            }
            Role::Deputy => p.deputy_id.map_or(Addressee::Nobody, Addressee::Deputy),
            Role::GridWorker
            | Role::SystemAdmin
            | Role::SecurityAdmin
            | Role::AuditAdmin
            | Role::Citizen => Addressee::Nobody,
        }
    }

    /// Whether any notification can be addressed to the account.
    pub fn receives(&self) -> bool {
        *self != Addressee::Nobody
    }
}

/// Appends ` AND <the in-app notifications n addressed to a>`.
fn addressed(s: &mut Sql, a: &Addressee) {
    s.push(" AND n.channel = 'inapp' AND ");
    match a {
        Addressee::Station(id) => {
            s.push(
                "n.recipient IN (SELECT 'station:' || CAST(id AS TEXT) FROM station WHERE id = ",
            )
            .bind(*id)
            .push(" OR parent_id = ")
            .bind(*id)
            .push(")");
        }
        Addressee::Region {
            path,
            runs_stations,
        } => {
            s.push("(n.recipient IN (SELECT 'region:' || path FROM region WHERE path LIKE ")
                .bind(format!("{path}%"))
                .push(")");
            if *runs_stations {
                s.push(
                    " OR n.recipient IN (SELECT 'station:' || CAST(st.id AS TEXT) FROM station st \
                     JOIN region sr ON sr.id = st.region_id WHERE 1=1",
                )
                .scope_filter(
                    &Scope::RegionSubtree(path.clone()),
                    ScopeColumns {
                        region_path: Some("sr.path"),
                        ..Default::default()
                    },
                )
                .push(")");
            }
            s.push(")");
        }
        Addressee::Unit(id) => {
            s.push("(n.recipient = ")
                .bind(format!("unit:{id}"))
                .push(
                    " OR n.recipient IN (SELECT 'co_units:' || CAST(opinion_id AS TEXT) \
                     FROM opinion_unit WHERE is_lead = FALSE AND unit_id = ",
                )
                .bind(*id)
                .push("))");
        }
        Addressee::Deputy(id) => {
            s.push("n.recipient = ").bind(format!("deputy:{id}"));
        }
        Addressee::Nobody => {
            s.push("1=0");
        }
    }
}

/// One notification of a feed.
#[derive(Debug, Clone, FromRow)]
pub struct FeedItem {
    /// Notification id (also the cursor).
    pub id: i64,
    /// Template key, e.g. `opinion.assigned`.
    pub template: String,
    /// JSON payload (tracking number, title, …).
    pub payload: String,
    /// Opinion it is about.
    pub opinion_id: Option<i64>,
    /// Suggestion it is about.
    pub suggestion_id: Option<i64>,
    /// Queued.
    pub created_at: time::OffsetDateTime,
    /// 1 when the account has read it.
    pub is_read: i64,
}

impl FeedItem {
    /// Whether the account has read it.
    pub fn read(&self) -> bool {
        self.is_read != 0
    }
}

/// A page of a feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// Newest first.
    pub items: Vec<FeedItem>,
    /// Cursor of the next (older) page: pass as `before_id`.
    pub next: Option<i64>,
}

/// The account's watermark: notifications up to this id are read.
async fn read_through(db: &Db, user_id: i64) -> DbResult<i64> {
    let mut s = Sql::new(
        "SELECT COALESCE(MAX(read_through), 0) FROM notification_read_mark WHERE user_id = ",
    );
    s.bind(user_id);
    s.fetch_count(db).await
}

/// The notifications addressed to `p`, newest first: `limit` (1–200) of them older than
/// `before_id` when given.
pub async fn list(
    db: &Db,
    p: &Principal,
    before_id: Option<i64>,
    limit: i64,
) -> DbResult<FeedPage> {
    let limit = limit.clamp(1, 200);
    let a = Addressee::of(p);
    if !a.receives() {
        return Ok(FeedPage {
            items: Vec::new(),
            next: None,
        });
    }
    let mark = read_through(db, p.user_id).await?;
    let mut s = Sql::new(
        "SELECT n.id, n.template, n.payload, n.opinion_id, n.suggestion_id, n.created_at, \
         CAST(CASE WHEN n.id <= ",
    );
    s.bind(mark)
        .push(
            " OR EXISTS (SELECT 1 FROM notification_read r WHERE r.notification_id = n.id AND r.user_id = ",
        )
        .bind(p.user_id)
        .push(") THEN 1 ELSE 0 END AS BIGINT) AS is_read FROM notification n WHERE 1=1");
    addressed(&mut s, &a);
    if let Some(b) = before_id {
        s.push(" AND n.id < ").bind(b);
    }
    s.push(" ORDER BY n.id DESC LIMIT ").bind(limit + 1);
    let mut items: Vec<FeedItem> = s.fetch_all(db).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|i| i.id)
    } else {
        None
    };
    Ok(FeedPage { items, next })
}

/// How many notifications addressed to `p` exist, counted up to `cap` (the count stops there).
pub async fn total(db: &Db, p: &Principal, cap: i64) -> DbResult<i64> {
    let a = Addressee::of(p);
    if !a.receives() {
        return Ok(0);
    }
    let mut s = Sql::new("SELECT COUNT(*) FROM (SELECT n.id FROM notification n WHERE 1=1");
    addressed(&mut s, &a);
    s.push(" LIMIT ").bind(cap).push(") x");
    s.fetch_count(db).await
}

/// How many notifications addressed to `p` are unread, counted up to `cap` (a badge shows
/// “99+” and does not need more).
pub async fn unread_count(db: &Db, p: &Principal, cap: i64) -> DbResult<i64> {
    let a = Addressee::of(p);
    if !a.receives() {
        return Ok(0);
    }
    let mark = read_through(db, p.user_id).await?;
    let mut s = Sql::new("SELECT COUNT(*) FROM (SELECT n.id FROM notification n WHERE n.id > ");
    s.bind(mark);
    addressed(&mut s, &a);
    s.push(
        " AND NOT EXISTS (SELECT 1 FROM notification_read r WHERE r.notification_id = n.id AND r.user_id = ",
    )
    .bind(p.user_id)
    .push(") LIMIT ")
    .bind(cap)
    .push(") x");
    s.fetch_count(db).await
}

/// Marks one notification read for `p`. A notification not addressed to `p` is
/// [`DbError::NotFound`]; one already read changes nothing. Returns whether it was unread.
pub async fn mark_read(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    notification_id: i64,
) -> DbResult<bool> {
    let a = Addressee::of(p);
    let mut s = Sql::new("SELECT COUNT(*) FROM notification n WHERE n.id = ");
    s.bind(notification_id);
    addressed(&mut s, &a);
    if s.fetch_count(db).await? == 0 {
        return Err(DbError::NotFound);
    }
    let mut tx = db.begin().await?;
    let mark: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT read_through FROM notification_read_mark WHERE user_id = $1")
        .bind(p.user_id).fetch_optional(t).await)?;
    if notification_id <= mark.unwrap_or(0) {
        return Ok(false);
    }
    let inserted = on_tx!(tx, t => sqlx::query(
        "INSERT INTO notification_read (user_id, notification_id, read_at) VALUES ($1,$2,$3) \
         ON CONFLICT (user_id, notification_id) DO NOTHING")
        .bind(p.user_id).bind(notification_id).bind(now()).execute(t).await
        .map(|r| r.rows_affected()))?;
    if inserted == 0 {
        return Ok(false);
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "mark_read",
            entity: "notification",
            entity_id: notification_id.to_string(),
            summary: format!("将站内通知（编号{notification_id}）标为已读"),
            before: None,
            after: Some(serde_json::json!({"read": true})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The newest notification addressed to `p` (0 when none): what a page that lists the feed
/// has shown, and passes back to [`mark_all_read`].
pub async fn newest_id(db: &Db, p: &Principal) -> DbResult<i64> {
    let a = Addressee::of(p);
    if !a.receives() {
        return Ok(0);
    }
    let mut s = Sql::new("SELECT COALESCE(MAX(n.id), 0) FROM notification n WHERE 1=1");
    addressed(&mut s, &a);
    s.fetch_count(db).await
}

/// Marks the notifications addressed to `p` up to `shown_through` read — the newest one the
/// user was shown ([`newest_id`] when the page was drawn) — by moving the watermark there.
/// Returns how many were unread; none changes nothing.
///
/// Why a bound from the page and not "everything now": a notification committed after the
/// user looked (while they read, or while this runs — PostgreSQL's READ COMMITTED lets a
/// statement see rows committed after the transaction began) would be marked read unseen.
/// The bound is clamped to what exists, so a forged large one cannot mark future notices read,
/// and the watermark only moves forward (two clicks at once keep the larger). One gap remains
/// with any id watermark: on PostgreSQL an id taken by a transaction that commits only after
/// the page was drawn, below an id the page showed, counts as read; identity values are
/// handed out at insert and the outbox's writers commit within milliseconds.
pub async fn mark_all_read(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    p: &Principal,
    shown_through: i64,
) -> DbResult<i64> {
    let a = Addressee::of(p);
    if !a.receives() || shown_through <= 0 {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let old: Option<i64> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT read_through FROM notification_read_mark WHERE user_id = $1")
        .bind(p.user_id).fetch_optional(t).await)?;
    let old_mark = old.unwrap_or(0);
    let mut newest = Sql::new("SELECT COALESCE(MAX(n.id), 0) FROM notification n WHERE n.id <= ");
    newest.bind(shown_through);
    addressed(&mut newest, &a);
    let through = newest.fetch_count_tx(&mut tx).await?;
    if through <= old_mark {
        return Ok(0);
    }
    let mut unread = Sql::new("SELECT COUNT(*) FROM notification n WHERE n.id > ");
    unread.bind(old_mark).push(" AND n.id <= ").bind(through);
    addressed(&mut unread, &a);
    unread
        .push(
            " AND NOT EXISTS (SELECT 1 FROM notification_read r WHERE r.notification_id = n.id AND r.user_id = ",
        )
        .bind(p.user_id)
        .push(")");
    let unread = unread.fetch_count_tx(&mut tx).await?;
    if unread == 0 {
        return Ok(0);
    }
    let at = now();
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO notification_read_mark (user_id, read_through, read_at) VALUES ($1,$2,$3) \
         ON CONFLICT (user_id) DO UPDATE SET \
         read_through = CASE WHEN excluded.read_through > notification_read_mark.read_through \
           THEN excluded.read_through ELSE notification_read_mark.read_through END, \
         read_at = excluded.read_at")
        .bind(p.user_id).bind(through).bind(at).execute(t).await.map(|_| ()))?;
    on_tx!(tx, t => sqlx::query(
        "DELETE FROM notification_read WHERE user_id = $1 AND notification_id <= $2")
        .bind(p.user_id).bind(through).execute(t).await.map(|_| ()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "mark_all_read",
            entity: "notification",
            entity_id: format!("user:{}", p.user_id),
            summary: format!("将{unread}条站内通知全部标为已读"),
            before: old.map(|o| serde_json::json!({"read_through": o})),
            after: Some(serde_json::json!({"read_through": through, "marked": unread})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(unread)
}
