//! Accounts: creation, sign-in bookkeeping (failures, lockout), passwords, listing by scope.

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, now};
use crate::error::{DbError, DbResult};
use crate::sql::{ScopeColumns, Sql};
use liaison_core::protect::Keys;
use liaison_core::role::{Role, ScopeKind};
use liaison_core::scope::{Principal, Scope};
use serde::Serialize;
use sqlx::FromRow;

/// Failed sign-ins in a row before the account is locked for [`LOCKOUT_MINUTES`].
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a lockout lasts.
pub const LOCKOUT_MINUTES: i64 = 15;

/// An account row with its scope resolved.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Argon2 PHC hash.
    #[serde(skip)]
    pub password_hash: String,
    /// Role code.
    pub role: String,
    /// Bound region.
    pub region_id: Option<i64>,
    /// Path of the bound region.
    pub region_path: Option<String>,
    /// Name of the bound region, station, unit or deputy (for display).
    pub scope_name: Option<String>,
    /// Code of the bound region, station, unit or deputy.
    pub scope_code: Option<String>,
    /// Bound station.
    pub station_id: Option<i64>,
    /// Bound unit.
    pub unit_id: Option<i64>,
    /// Bound deputy.
    pub deputy_id: Option<i64>,
    /// Must set a new password at next sign-in.
    pub must_change_password: bool,
    /// Locked by an administrator.
    pub locked: bool,
    /// Failed sign-ins in a row.
    pub failed_logins: i64,
    /// Locked after too many failures until then.
    pub locked_until: Option<time::OffsetDateTime>,
    /// Last successful sign-in.
    pub last_login_at: Option<time::OffsetDateTime>,
}

impl User {
    /// The role, parsed.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Citizen)
    }

    /// The principal this account acts as.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role(),
            region: self.region_id.zip(self.region_path.clone()),
            station_id: self.station_id,
            unit_id: self.unit_id,
            deputy_id: self.deputy_id,
            must_change_password: self.must_change_password,
        }
    }

    /// Whether a failure lockout is in force now.
    pub fn is_temporarily_locked(&self, at: time::OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > at)
    }
}

/// The columns of a [`User`] (a macro so that both selects below are one literal each).
macro_rules! user_columns {
    () => {
        "u.id, u.username, u.display_name, u.password_hash, u.role, \
        u.region_id, r.path AS region_path, \
        COALESCE(r.name, s.name, hu.name, d.name) AS scope_name, \
        COALESCE(r.code, s.code, hu.code, d.code) AS scope_code, \
        u.station_id, u.unit_id, u.deputy_id, u.must_change_password, u.locked, \
        CAST(u.failed_logins AS BIGINT) AS failed_logins, u.locked_until, u.last_login_at"
    };
}

/// The joins that resolve a [`User`]'s scope.
macro_rules! user_scope_joins {
    () => {
        " LEFT JOIN region r ON r.id = u.region_id \
        LEFT JOIN station s ON s.id = u.station_id \
        LEFT JOIN handling_unit hu ON hu.id = u.unit_id \
        LEFT JOIN deputy d ON d.id = u.deputy_id"
    };
}

const SELECT_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM app_user u",
    user_scope_joins!(),
    " WHERE 1=1"
);

/// A session and its account in one query: every signed-in request starts with it
/// (see [`crate::sessions::find`]).
pub(crate) const SELECT_SESSION_USER: &str = concat!(
    "SELECT us.id AS session_id, us.kind AS session_kind, us.csrf_token AS session_csrf_token, \
     us.last_seen_at AS session_last_seen_at, us.expires_at AS session_expires_at, ",
    user_columns!(),
    " FROM user_session us JOIN app_user u ON u.id = us.user_id",
    user_scope_joins!(),
    " WHERE us.token_digest = $1 AND us.kind = $2"
);

/// Finds an account by login name.
pub async fn find_by_username(db: &Db, username: &str) -> DbResult<Option<User>> {
    let mut s = Sql::new(SELECT_USER);
    s.push(" AND u.username = ").bind(username);
    s.fetch_optional(db).await
}

/// Finds an account by id.
pub async fn get(db: &Db, id: i64) -> DbResult<User> {
    let mut s = Sql::new(SELECT_USER);
    s.push(" AND u.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// Filters for the account list.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Role code.
    pub role: Option<String>,
    /// Part of the login or display name.
    pub q: Option<String>,
    /// Id after which to continue (keyset pagination).
    pub after_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Lists accounts. Only account managers call this; `scope` limits business staff who may see
/// the accounts of their own region (for example a county office listing its townships' clerks).
pub async fn list(db: &Db, scope: &Scope, q: &UserQuery) -> DbResult<Vec<User>> {
    let mut s = Sql::new(SELECT_USER);
    if let Some(r) = &q.role {
        s.push(" AND u.role = ").bind(r.clone());
    }
    if let Some(text) = q.q.as_ref().filter(|t| !t.is_empty()) {
        let like = format!("%{}%", text.replace(['%', '_'], ""));
        s.push(" AND (u.username LIKE ")
            .bind(like.clone())
            .push(" OR u.display_name LIKE ")
            .bind(like)
            .push(")");
    }
    if let Some(a) = q.after_id {
        s.push(" AND u.id > ").bind(a);
    }
    s.scope_filter(
        scope,
        ScopeColumns {
            region_path: Some("COALESCE(r.path, (SELECT rr.path FROM region rr JOIN station ss ON ss.region_id = rr.id WHERE ss.id = u.station_id), (SELECT rr.path FROM region rr JOIN handling_unit uu ON uu.region_id = rr.id WHERE uu.id = u.unit_id), (SELECT rr.path FROM region rr JOIN deputy dd ON dd.region_id = rr.id WHERE dd.id = u.deputy_id))"),
            station_id: Some("u.station_id"),
            unit_id: Some("u.unit_id"),
            deputy_id: Some("u.deputy_id"),
            entered_by: None,
        },
    );
    s.push(" ORDER BY u.id LIMIT ").bind(q.limit.clamp(1, 1000));
    s.fetch_all(db).await
}

/// What is needed to create an account; the scope is already resolved to ids.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name (validated).
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Argon2 hash of the initial password.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Bound region/station/unit/deputy id, as the role's [`ScopeKind`] requires.
    pub scope_id: Option<i64>,
    /// Mobile phone in clear (encrypted here).
    pub phone: String,
    /// Must change the password at first sign-in.
    pub must_change_password: bool,
}

const INSERT_USER: &str = "INSERT INTO app_user (username, display_name, password_hash, role, \
    region_id, station_id, unit_id, deputy_id, phone_enc, must_change_password, locked, \
    failed_logins, created_at, updated_at) \
    VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,FALSE,0,$11,$11) RETURNING id";

/// Inserts an account inside a transaction and audits it.
pub async fn create_tx(tx: &mut Tx, keys: &Keys, actor: &Actor, u: &NewUser) -> DbResult<i64> {
    let (region, station, unit, deputy) = match u.role.scope_kind() {
        ScopeKind::Region => (u.scope_id, None, None, None),
        ScopeKind::Station => (None, u.scope_id, None, None),
        ScopeKind::Unit => (None, None, u.scope_id, None),
        ScopeKind::Deputy => (None, None, None, u.scope_id),
        ScopeKind::None => (None, None, None, None),
    };
    if u.role.scope_kind() != ScopeKind::None && u.scope_id.is_none() {
        return Err(DbError::Invalid(format!(
            "角色“{}”必须绑定所属范围",
            u.role.label()
        )));
    }
    let id: i64 = on_tx!(tx, t => sqlx::query_scalar(INSERT_USER)
        .bind(&u.username).bind(&u.display_name).bind(&u.password_hash).bind(u.role.code())
        .bind(region).bind(station).bind(unit).bind(deputy)
        .bind(keys.encrypt(&u.phone)).bind(u.must_change_password).bind(now())
        .fetch_one(t).await)?;
    audit::append(
        tx,
        keys,
        actor,
        Entry {
            action: "create",
            entity: "app_user",
            entity_id: id.to_string(),
            summary: format!("创建账号 {}（{}）", u.username, u.role.label()),
            before: None,
            after: Some(serde_json::json!({
                "username": u.username, "display_name": u.display_name, "role": u.role.code(),
                "scope_id": u.scope_id,
            })),
        },
    )
    .await?;
    Ok(id)
}

/// Records a failed sign-in; locks the account for a while after too many in a row.
/// Returns the number of failures so far.
pub async fn record_failed_login(db: &Db, keys: &Keys, user: &User, ip: &str) -> DbResult<i64> {
    let failures = user.failed_logins + 1;
    let lock_until =
        (failures >= MAX_FAILED_LOGINS).then(|| now() + time::Duration::minutes(LOCKOUT_MINUTES));
    let mut tx = db.begin().await?;
    on_tx!(tx, t => sqlx::query(
        "UPDATE app_user SET failed_logins = $1, locked_until = COALESCE($2, locked_until) WHERE id = $3")
        .bind(failures).bind(lock_until).bind(user.id).execute(t).await.map(|r| r.rows_affected()))?;
    audit::append(
        &mut tx,
        keys,
        &Actor::public(ip),
        Entry {
            action: if lock_until.is_some() {
                "lockout"
            } else {
                "login_failed"
            },
            entity: "app_user",
            entity_id: user.id.to_string(),
            summary: if lock_until.is_some() {
                format!(
                    "账号 {} 连续{}次登录失败，锁定{}分钟",
                    user.username, failures, LOCKOUT_MINUTES
                )
            } else {
                format!("账号 {} 登录失败（第{}次）", user.username, failures)
            },
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(failures)
}

/// Records a successful sign-in: clears failures and notes the time.
pub async fn record_login(db: &Db, keys: &Keys, user: &User, ip: &str) -> DbResult<()> {
    let mut tx = db.begin().await?;
    on_tx!(tx, t => sqlx::query(
        "UPDATE app_user SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2")
        .bind(now()).bind(user.id).execute(t).await.map(|r| r.rows_affected()))?;
    audit::append(
        &mut tx,
        keys,
        &Actor::user(user.id, &user.display_name, user.role(), ip),
        Entry {
            action: "login",
            entity: "app_user",
            entity_id: user.id.to_string(),
            summary: format!("{} 登录", user.username),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// Sets a new password hash. `must_change` marks a reset by an administrator.
pub async fn set_password(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    user_id: i64,
    password_hash: &str,
    must_change: bool,
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    let n = on_tx!(tx, t => sqlx::query(
        "UPDATE app_user SET password_hash = $1, must_change_password = $2, failed_logins = 0, \
         locked_until = NULL, updated_at = $3 WHERE id = $4")
        .bind(password_hash).bind(must_change).bind(now()).bind(user_id).execute(t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    // A new password ends every other session of the account.
    on_tx!(tx, t => sqlx::query("DELETE FROM user_session WHERE user_id = $1")
        .bind(user_id).execute(t).await.map(|r| r.rows_affected()))?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: if must_change {
                "reset_password"
            } else {
                "change_password"
            },
            entity: "app_user",
            entity_id: user_id.to_string(),
            summary: if must_change {
                "重置密码".into()
            } else {
                "修改密码".into()
            },
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// Locks or unlocks an account (administrator action). Locking also ends its sessions.
pub async fn set_locked(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    user_id: i64,
    locked: bool,
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    let n = on_tx!(tx, t => sqlx::query(
        "UPDATE app_user SET locked = $1, failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $3")
        .bind(locked).bind(now()).bind(user_id).execute(t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    if locked {
        on_tx!(tx, t => sqlx::query("DELETE FROM user_session WHERE user_id = $1")
            .bind(user_id).execute(t).await.map(|r| r.rows_affected()))?;
    }
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: if locked { "lock" } else { "unlock" },
            entity: "app_user",
            entity_id: user_id.to_string(),
            summary: if locked {
                "锁定账号".into()
            } else {
                "解锁账号".into()
            },
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// Reveals an account holder's phone number, auditing the reveal.
pub async fn reveal_phone(db: &Db, keys: &Keys, actor: &Actor, user_id: i64) -> DbResult<String> {
    let enc: String =
        on_db!(db, p => sqlx::query_scalar("SELECT phone_enc FROM app_user WHERE id = $1")
        .bind(user_id).fetch_optional(p).await)?
        .ok_or(DbError::NotFound)?;
    let phone = keys.decrypt(&enc)?;
    let mut tx = db.begin().await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "reveal_phone",
            entity: "app_user",
            entity_id: user_id.to_string(),
            summary: "查看账号手机号".into(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(phone)
}
