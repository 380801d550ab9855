//! Server-side sessions (web) and API tokens. Only an HMAC digest of each token is stored, so a
//! copy of the database cannot be used to sign in.

use crate::db::{Db, now};
use crate::error::DbResult;
use crate::users::User;
use liaison_core::protect::{Keys, random_token};
use sqlx::FromRow;

/// Web sessions end after this long without a request.
pub const IDLE_MINUTES: i64 = 30;
/// Web sessions end after this long in any case.
pub const ABSOLUTE_HOURS: i64 = 12;
/// API tokens last this long.
pub const API_TOKEN_HOURS: i64 = 24;

/// Web session or API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Browser session (cookie).
    Web,
    /// Bearer token for the JSON API.
    Api,
}

impl SessionKind {
    fn code(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }
}

/// A stored session.
#[derive(Debug, Clone, FromRow)]
pub struct Session {
    /// Row id.
    pub id: i64,
    /// Account.
    pub user_id: i64,
    /// `web` or `api`.
    pub kind: String,
    /// CSRF token bound to the session.
    pub csrf_token: String,
    /// Last request.
    pub last_seen_at: time::OffsetDateTime,
    /// Hard expiry.
    pub expires_at: time::OffsetDateTime,
}

/// Starts a session; returns the secret token to hand to the client and the CSRF token.
pub async fn create(
    db: &Db,
    keys: &Keys,
    user_id: i64,
    kind: SessionKind,
) -> DbResult<(String, String)> {
    let token = random_token();
    let csrf = random_token();
    let at = now();
    let expires = match kind {
        SessionKind::Web => at + time::Duration::hours(ABSOLUTE_HOURS),
        SessionKind::Api => at + time::Duration::hours(API_TOKEN_HOURS),
    };
    on_db!(db, p => sqlx::query(
        "INSERT INTO user_session (token_digest, user_id, kind, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1,$2,$3,$4,$5,$5,$6)")
        .bind(keys.token_digest(&token)).bind(user_id).bind(kind.code()).bind(&csrf)
        .bind(at).bind(expires).execute(p).await.map(|r| r.rows_affected()))?;
    Ok((token, csrf))
}

/// Why a token did not lead to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// No such token.
    Unknown,
    /// The token existed but has expired (idle or absolute); it is deleted.
    Expired,
}

/// A session row joined with its account.
#[derive(FromRow)]
struct SessionUser {
    session_id: i64,
    session_kind: String,
    session_csrf_token: String,
    session_last_seen_at: time::OffsetDateTime,
    session_expires_at: time::OffsetDateTime,
    #[sqlx(flatten)]
    user: User,
}

/// Finds the live session of a token with its account, and notes the request time.
pub async fn find(
    db: &Db,
    keys: &Keys,
    token: &str,
    kind: SessionKind,
) -> DbResult<Result<(Session, User), Lookup>> {
    let digest = keys.token_digest(token);
    let row: Option<SessionUser> = on_db!(db, p => sqlx::query_as(crate::users::SELECT_SESSION_USER)
        .bind(&digest).bind(kind.code()).fetch_optional(p).await)?;
    let Some(row) = row else {
        return Ok(Err(Lookup::Unknown));
    };
    let s = Session {
        id: row.session_id,
        user_id: row.user.id,
        kind: row.session_kind,
        csrf_token: row.session_csrf_token,
        last_seen_at: row.session_last_seen_at,
        expires_at: row.session_expires_at,
    };
    let at = now();
    let idle_over =
        kind == SessionKind::Web && s.last_seen_at + time::Duration::minutes(IDLE_MINUTES) < at;
    if s.expires_at < at || idle_over {
        delete_by_id(db, s.id).await?;
        return Ok(Err(Lookup::Expired));
    }
    // Writing on every request would serialise readers on SQLite; a minute's precision is enough
    // for the idle timeout.
    if at - s.last_seen_at > time::Duration::minutes(1) {
        on_db!(db, p => sqlx::query("UPDATE user_session SET last_seen_at = $1 WHERE id = $2")
            .bind(at).bind(s.id).execute(p).await.map(|r| r.rows_affected()))?;
    }
    Ok(Ok((s, row.user)))
}

/// Ends a session by its token.
pub async fn delete(db: &Db, keys: &Keys, token: &str) -> DbResult<()> {
    on_db!(db, p => sqlx::query("DELETE FROM user_session WHERE token_digest = $1")
        .bind(keys.token_digest(token)).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn delete_by_id(db: &Db, id: i64) -> DbResult<()> {
    on_db!(db, p => sqlx::query("DELETE FROM user_session WHERE id = $1").bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes expired sessions (run periodically).
pub async fn purge_expired(db: &Db) -> DbResult<u64> {
    let n = on_db!(db, p => sqlx::query("DELETE FROM user_session WHERE expires_at < $1")
        .bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n)
}
