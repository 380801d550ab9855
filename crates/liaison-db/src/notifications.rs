//! The notification outbox: rows written in the same transaction as the state change that
//! causes them, delivered afterwards by a worker with retries, so a failing SMS gateway never
//! loses or blocks a state change.

use crate::db::{Db, now};
use crate::error::DbResult;
use crate::sql::Sql;
use serde::Serialize;
use sqlx::FromRow;

/// Attempts before a notification is given up (and shown as failed): retried for about a day
/// (see [`mark_failed`]), so a gateway outage of some hours loses no message.
pub const MAX_ATTEMPTS: i64 = 10;

/// Templates that tell a submitter the answer is there and start the rating window.
const FEEDBACK_TEMPLATES: &[&str] = &["opinion.feedback", "opinion.feedback_sent"];

/// Whether `n` is the feedback SMS to the submitter of its own opinion (not to the submitter of
/// an item merged into it): its opinion id.
fn own_feedback_sms(n: &Notification) -> Option<i64> {
    let id = n.opinion_id?;
    (n.channel == "sms"
        && FEEDBACK_TEMPLATES.contains(&n.template.as_str())
        && n.recipient == format!("submitter:{id}"))
    .then_some(id)
}

/// A queued notification.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Notification {
    /// Id.
    pub id: i64,
    /// `inapp`, `sms`, `webhook`.
    pub channel: String,
    /// Recipient descriptor: `station:<id>`, `unit:<id>`, `deputy:<id>`, `region:<path>`,
    /// `submitter:<opinion id>`, `co_units:<opinion id>`, `signup:<activity sign-up id>` (SMS).
    pub recipient: String,
    /// Template key, e.g. `opinion.assigned`.
    pub template: String,
    /// JSON payload.
    pub payload: String,
    /// Opinion it belongs to.
    pub opinion_id: Option<i64>,
    /// `pending`, `sent`, `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Last error.
    pub last_error: String,
    /// Queued.
    pub created_at: time::OffsetDateTime,
}

/// Pending notifications whose next attempt is due, oldest first.
pub async fn due(db: &Db, limit: i64) -> DbResult<Vec<Notification>> {
    let mut s = Sql::new(
        "SELECT id, channel, recipient, template, payload, opinion_id, status, CAST(attempts AS BIGINT) AS attempts, \
         last_error, created_at FROM notification WHERE status = 'pending' AND next_attempt_at <= ",
    );
    s.bind(now()).push(" ORDER BY id LIMIT ").bind(limit);
    s.fetch_all(db).await
}

/// Marks notifications delivered, in one statement: a delivery round marks its whole batch at
/// once. One write per notification kept the database changing forty times a second while a
/// backlog drained, and on SQLite every change makes each connection drop its page cache at its
/// next read (docs/benchmarks.md, fourth pass). Delivery stays at least once: a crash before the
/// mark sends the round again.
///
/// A feedback SMS delivered on a later day than it was queued moves its item's rating window to
/// start on the day of delivery.
pub async fn mark_sent(db: &Db, sent: &[&Notification]) -> DbResult<()> {
    if sent.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = sent.iter().map(|n| n.id).collect();
    let mut tx = db.begin().await?;
    for chunk in ids.chunks(500) {
        let mut s = Sql::new("UPDATE notification SET status = 'sent', sent_at = ");
        s.bind(now())
            .push(", attempts = attempts + 1 WHERE id IN ")
            .bind_list(chunk.iter().copied());
        s.execute_tx(&mut tx).await?;
    }
    let delivered: Vec<i64> = sent.iter().filter_map(|n| own_feedback_sms(n)).collect();
    for chunk in delivered.chunks(500) {
        crate::opinions::feedback_delivered(&mut tx, chunk).await?;
    }
    tx.commit().await
}

/// Records a failed attempt; retries later with a growing delay, or gives up. A feedback SMS
/// given up leaves its item waiting for a follow-up call instead of closing it unrated
/// ([`crate::opinions`]'s `feedback_undelivered`).
pub async fn mark_failed(db: &Db, n: &Notification, error: &str) -> DbResult<()> {
    let attempts = n.attempts + 1;
    let status = if attempts >= MAX_ATTEMPTS {
        "failed"
    } else {
        "pending"
    };
    let delay = time::Duration::minutes(retry_delay_minutes(attempts));
    let mut tx = db.begin().await?;
    on_tx!(tx, t => sqlx::query(
        "UPDATE notification SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4 WHERE id = $5")
        .bind(status).bind(attempts).bind(error).bind(now() + delay).bind(n.id).execute(t).await.map(|_| ()))?;
    if status == "failed"
        && let Some(id) = own_feedback_sms(n)
    {
        crate::opinions::feedback_undelivered(&mut tx, id).await?;
    }
    tx.commit().await
}

/// Minutes before the next attempt after `attempts` failed ones: 1, 4, 16, 64, then every four
/// hours — about a day in all before [`MAX_ATTEMPTS`].
pub fn retry_delay_minutes(attempts: i64) -> i64 {
    match attempts {
        ..=1 => 1,
        2 => 4,
        3 => 16,
        4 => 64,
        _ => 240,
    }
}

/// Notifications of an opinion, newest first (for the item page).
pub async fn for_opinion(db: &Db, opinion_id: i64) -> DbResult<Vec<Notification>> {
    let mut s = Sql::new(
        "SELECT id, channel, recipient, template, payload, opinion_id, status, CAST(attempts AS BIGINT) AS attempts, \
         last_error, created_at FROM notification WHERE opinion_id = ",
    );
    s.bind(opinion_id).push(" ORDER BY id DESC");
    s.fetch_all(db).await
}

/// Ids of opinions waiting for a rating whose window may have ended (the workflow guard makes
/// the final decision).
pub async fn rating_window_candidates(
    db: &Db,
    feedback_before: time::Date,
    limit: i64,
) -> DbResult<Vec<i64>> {
    let mut s =
        Sql::new("SELECT id FROM opinion WHERE state = 'feedback_sent' AND feedback_sent_on < ");
    s.bind(feedback_before)
        .push(" ORDER BY id LIMIT ")
        .bind(limit);
    let rows: Vec<(i64,)> = s.fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Ids of opinions in the hands of a unit whose reply deadline has passed (the workflow guard
/// decides whether it is long enough ago for a supervision case). An extension request waiting
/// for the station is left out: the delay is not the unit's.
pub async fn overdue_candidates(db: &Db, today: time::Date, limit: i64) -> DbResult<Vec<i64>> {
    let mut s = Sql::new(
        "SELECT id FROM opinion WHERE state IN ('assigned','acknowledged','handling','rehandling') \
         AND reply_due_on < ",
    );
    s.bind(today).push(" ORDER BY id LIMIT ").bind(limit);
    let rows: Vec<(i64,)> = s.fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Queues a reminder (催办) for an open item whose step deadline is `due_on`, once per item,
/// template and day. Returns whether one was queued.
pub async fn remind_once(
    db: &Db,
    item: crate::handling::Item,
    recipient: &str,
    template: &str,
    payload: &str,
    today: time::Date,
) -> DbResult<bool> {
    let (opinion_id, suggestion_id) = match item {
        crate::handling::Item::Opinion(id) => (Some(id), None),
        crate::handling::Item::Suggestion(id) => (None, Some(id)),
    };
    let day_start =
        today.with_hms(0, 0, 0).expect("midnight").assume_utc() - time::Duration::hours(8);
    let mut s = match (opinion_id, suggestion_id) {
        (Some(id), _) => {
            let mut s = Sql::new("SELECT COUNT(*) FROM notification WHERE opinion_id = ");
            s.bind(id);
            s
        }
        (_, id) => {
            let mut s = Sql::new("SELECT COUNT(*) FROM notification WHERE suggestion_id = ");
            s.bind(id.unwrap_or_default());
            s
        }
    };
    s.push(" AND template = ")
        .bind(template)
        .push(" AND recipient = ")
        .bind(recipient)
        .push(" AND created_at >= ")
        .bind(day_start);
    if s.fetch_count(db).await? > 0 {
        return Ok(false);
    }
    let at = now();
    on_db!(db, p => sqlx::query(
        "INSERT INTO notification (channel, recipient, template, payload, opinion_id, suggestion_id, \
         status, attempts, next_attempt_at, created_at) VALUES ('inapp',$1,$2,$3,$4,$5,'pending',0,$6,$6)")
        .bind(recipient).bind(template).bind(payload).bind(opinion_id).bind(suggestion_id).bind(at)
        .execute(p).await.map(|_| ()))?;
    Ok(true)
}

/// Suggestions whose deadline falls on or before `until`, for reminders: (id, number, title,
/// unit to remind, due date, template kind). The lead unit's reply deadline while it handles the
/// suggestion, and each co-unit's one-month deadline for its opinion while none is given.
pub async fn suggestion_deadlines(
    db: &Db,
    until: time::Date,
    limit: i64,
) -> DbResult<Vec<(i64, String, String, i64, time::Date, &'static str)>> {
    let mut s = Sql::new(
        "SELECT id, COALESCE(number, ''), title, lead_unit_id, due_on FROM suggestion \
         WHERE state IN ('assigned', 'acknowledged', 'handling', 'rehandling') \
         AND lead_unit_id IS NOT NULL AND due_on IS NOT NULL AND due_on <= ",
    );
    s.bind(until)
        .push(" ORDER BY due_on, id LIMIT ")
        .bind(limit);
    let lead: Vec<(i64, String, String, i64, time::Date)> = s.fetch_all(db).await?;
    let mut c = Sql::new(
        "SELECT s.id, COALESCE(s.number, ''), s.title, su.unit_id, su.co_opinion_due_on \
         FROM suggestion_unit su JOIN suggestion s ON s.id = su.suggestion_id \
         WHERE su.active = TRUE AND su.is_lead = FALSE AND su.co_opinion_at IS NULL \
         AND su.co_opinion_due_on IS NOT NULL AND su.co_opinion_due_on <= ",
    );
    c.bind(until)
        .push(" ORDER BY su.co_opinion_due_on, s.id LIMIT ")
        .bind(limit);
    let co: Vec<(i64, String, String, i64, time::Date)> = c.fetch_all(db).await?;
    Ok(lead
        .into_iter()
        .map(|(id, no, t, u, d)| (id, no, t, u, d, "reply"))
        .chain(
            co.into_iter()
                .map(|(id, no, t, u, d)| (id, no, t, u, d, "co_opinion")),
        )
        .collect())
}

/// Open items whose step deadline is on or before `until`: (id, tracking no, title, station id,
/// lead unit id, due date).
pub async fn due_soon(
    db: &Db,
    until: time::Date,
    limit: i64,
) -> DbResult<Vec<(i64, String, String, i64, Option<i64>, time::Date, String)>> {
    // The latest deadlines first: items about to fall due and just overdue must not wait
    // behind a long tail of items reminded every day already.
    let mut s = Sql::new(
        "SELECT id, tracking_no, title, station_id, lead_unit_id, due_on, state FROM opinion \
         WHERE due_on IS NOT NULL AND due_on <= ",
    );
    s.bind(until)
        .push(" ORDER BY due_on DESC, id LIMIT ")
        .bind(limit);
    s.fetch_all(db).await
}
