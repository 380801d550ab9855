//! The audit log: append-only, chained by HMAC-SM3, written in the same transaction as the change
//! it records, readable by the audit administrator alone.

use crate::db::{Db, Tx, now};
use crate::error::DbResult;
use crate::sql::{Arg, Sql};
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use serde::Serialize;
use sqlx::FromRow;

/// Who did something. `System` covers the CLI and timers.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// Account id, if a signed-in user.
    pub user_id: Option<i64>,
    /// Name for the record.
    pub name: String,
    /// Role code, or `system` / `public`.
    pub role: String,
    /// Client address, if over HTTP.
    pub ip: String,
}

impl Actor {
    /// The command line or a background job.
    pub fn system(what: &str) -> Self {
        Actor {
            user_id: None,
            name: what.to_owned(),
            role: "system".into(),
            ip: String::new(),
        }
    }

    /// A signed-in user.
    pub fn user(user_id: i64, name: &str, role: Role, ip: &str) -> Self {
        Actor {
            user_id: Some(user_id),
            name: name.to_owned(),
            role: role.code().to_owned(),
            ip: ip.to_owned(),
        }
    }

    /// An anonymous visitor (citizen without an account).
    pub fn public(ip: &str) -> Self {
        Actor {
            user_id: None,
            name: "公众".into(),
            role: "public".into(),
            ip: ip.to_owned(),
        }
    }
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Verb, e.g. `create`, `update`, `login`, `reveal_phone`, `import`.
    pub action: &'a str,
    /// Table or concept, e.g. `station`.
    pub entity: &'a str,
    /// Id or code of the record.
    pub entity_id: String,
    /// Human-readable Chinese summary.
    pub summary: String,
    /// State before (JSON), for updates and state changes.
    pub before: Option<serde_json::Value>,
    /// State after (JSON).
    pub after: Option<serde_json::Value>,
}

/// A stored record.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: time::OffsetDateTime,
    /// Account id of the actor.
    pub actor_id: Option<i64>,
    /// Actor's name.
    pub actor_name: String,
    /// Actor's role code.
    pub actor_role: String,
    /// Verb.
    pub action: String,
    /// Entity kind.
    pub entity: String,
    /// Entity id.
    pub entity_id: String,
    /// Summary.
    pub summary: String,
    /// Before, JSON text.
    pub before_json: Option<String>,
    /// After, JSON text.
    pub after_json: Option<String>,
    /// Client address.
    pub ip: String,
    /// HMAC of the previous record.
    pub prev_mac: String,
    /// HMAC of this record.
    pub mac: String,
}

fn canonical(
    id: i64,
    at: &time::OffsetDateTime,
    actor: &Actor,
    e: &Entry<'_>,
    before: &Option<String>,
    after: &Option<String>,
) -> String {
    // A fixed, unambiguous serialisation: JSON array of the fields in order.
    serde_json::json!([
        id,
        at.unix_timestamp_nanos().to_string(),
        actor.user_id,
        actor.name,
        actor.role,
        e.action,
        e.entity,
        e.entity_id,
        e.summary,
        before,
        after,
        actor.ip
    ])
    .to_string()
}

const HEAD_SQLITE: &str = "SELECT last_id, last_mac FROM audit_head WHERE id = 1";
const HEAD_PG: &str = "SELECT last_id, last_mac FROM audit_head WHERE id = 1 FOR UPDATE";

/// Appends a record inside `tx`. The head row is locked (PostgreSQL `FOR UPDATE`; SQLite's
/// `BEGIN IMMEDIATE` already holds the write lock), so concurrent writers chain in order.
pub async fn append(tx: &mut Tx, keys: &Keys, actor: &Actor, e: Entry<'_>) -> DbResult<i64> {
    let ids = append_many(tx, keys, &[(actor, e)]).await?;
    Ok(ids[0])
}

/// Appends several records inside `tx`, in order, reading and moving the chain head once: a
/// batch of intakes holds the head lock for one round trip instead of one per record. The ids
/// follow the head's (the head lock orders every append), so each record's MAC, which covers
/// its id, is known before the insert and all of them go in one statement.
pub async fn append_many(
    tx: &mut Tx,
    keys: &Keys,
    entries: &[(&Actor, Entry<'_>)],
) -> DbResult<Vec<i64>> {
    let (ids, stmts) = append_many_sql(tx, keys, entries).await?;
    Sql::execute_all_tx(stmts, tx).await?;
    Ok(ids)
}

/// [`append_many`] up to its writes: takes the chain's head (locking it on PostgreSQL) and
/// returns the records' ids and the statements that store them and move the head, for a caller
/// that runs them with others in the same transaction.
pub(crate) async fn append_many_sql(
    tx: &mut Tx,
    keys: &Keys,
    entries: &[(&Actor, Entry<'_>)],
) -> DbResult<(Vec<i64>, Vec<Sql>)> {
    if entries.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let (last_id, mut prev_mac): (i64, String) = match &mut tx.inner {
        crate::db::TxInner::Sqlite(t) => sqlx::query_as(HEAD_SQLITE).fetch_one(&mut **t).await?,
        crate::db::TxInner::Postgres(t) => sqlx::query_as(HEAD_PG).fetch_one(&mut **t).await?,
    };
    let postgres = tx.backend() == crate::Backend::Postgres;
    let mut ids = Vec::with_capacity(entries.len());
    let mut stmts = Vec::new();
    // 14 values a row: 64 rows a statement stay far below both backends' parameter limits.
    for chunk in entries.chunks(64) {
        let mut s = Sql::new(
            "INSERT INTO audit_log (id, at, actor_id, actor_name, actor_role, action, entity, \
             entity_id, summary, before_json, after_json, ip, prev_mac, mac) ",
        );
        if postgres {
            // The identity column is GENERATED ALWAYS: the ids come from the head instead.
            s.push("OVERRIDING SYSTEM VALUE ");
        }
        s.push("VALUES ");
        for (i, (actor, e)) in chunk.iter().enumerate() {
            let id = last_id + ids.len() as i64 + 1;
            let at = now();
            let before = e.before.as_ref().map(|v| v.to_string());
            let after = e.after.as_ref().map(|v| v.to_string());
            let mac = keys.audit_mac(&prev_mac, &canonical(id, &at, actor, e, &before, &after));
            s.bind_row(
                i == 0,
                [
                    Arg::from(id),
                    at.into(),
                    actor.user_id.into(),
                    actor.name.clone().into(),
                    actor.role.clone().into(),
                    e.action.into(),
                    e.entity.into(),
                    e.entity_id.clone().into(),
                    e.summary.clone().into(),
                    before.into(),
                    after.into(),
                    actor.ip.clone().into(),
                    prev_mac.into(),
                    mac.clone().into(),
                ],
            );
            ids.push(id);
            prev_mac = mac;
        }
        stmts.push(s);
    }
    let last = *ids.last().expect("not empty");
    let mut head = Sql::new("UPDATE audit_head SET last_id = ");
    head.bind(last)
        .push(", last_mac = ")
        .bind(prev_mac)
        .push(" WHERE id = 1");
    stmts.push(head);
    Ok((ids, stmts))
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Entity kind.
    pub entity: Option<String>,
    /// Verb.
    pub action: Option<String>,
    /// Actor's account id.
    pub actor_id: Option<i64>,
    /// Records with id below this (keyset pagination, newest first).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Reads records, newest first.
pub async fn list(db: &Db, q: &AuditQuery) -> DbResult<Vec<AuditRecord>> {
    let mut s = Sql::new("SELECT * FROM audit_log WHERE 1=1");
    if let Some(e) = &q.entity {
        s.push(" AND entity = ").bind(e.clone());
    }
    if let Some(a) = &q.action {
        s.push(" AND action = ").bind(a.clone());
    }
    if let Some(a) = q.actor_id {
        s.push(" AND actor_id = ").bind(a);
    }
    if let Some(b) = q.before_id {
        s.push(" AND id < ").bind(b);
    }
    s.push(" ORDER BY id DESC LIMIT ")
        .bind(q.limit.clamp(1, 500));
    s.fetch_all(db).await
}

/// Result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Records checked.
    pub checked: i64,
    /// First record whose HMAC does not match, if any.
    pub first_broken: Option<i64>,
}

/// Recomputes every HMAC from the start; a deleted, inserted or edited record shows as a break.
pub async fn verify_chain(db: &Db, keys: &Keys) -> DbResult<ChainCheck> {
    let mut prev = String::new();
    let mut checked = 0;
    let mut after_id = 0i64;
    loop {
        let mut s = Sql::new("SELECT * FROM audit_log WHERE id > ");
        s.bind(after_id).push(" ORDER BY id LIMIT 1000");
        let rows: Vec<AuditRecord> = s.fetch_all(db).await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let actor = Actor {
                user_id: r.actor_id,
                name: r.actor_name.clone(),
                role: r.actor_role.clone(),
                ip: r.ip.clone(),
            };
            let e = Entry {
                action: &r.action,
                entity: &r.entity,
                entity_id: r.entity_id.clone(),
                summary: r.summary.clone(),
                before: None,
                after: None,
            };
            let expect = keys.audit_mac(
                &prev,
                &canonical(r.id, &r.at, &actor, &e, &r.before_json, &r.after_json),
            );
            if r.prev_mac != prev || r.mac != expect {
                return Ok(ChainCheck {
                    checked,
                    first_broken: Some(r.id),
                });
            }
            prev = r.mac.clone();
            checked += 1;
            after_id = r.id;
        }
    }
    Ok(ChainCheck {
        checked,
        first_broken: None,
    })
}
