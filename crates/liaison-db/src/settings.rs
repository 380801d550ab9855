//! Small key/value settings of an installation (e.g. whether the demo data was loaded).

use crate::db::Db;
use crate::error::DbResult;

/// Reads a setting.
pub async fn get(db: &Db, key: &str) -> DbResult<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT value FROM setting WHERE key = $1")
        .bind(key).fetch_optional(p).await)?,
    )
}

/// Writes a setting.
pub async fn set(db: &Db, key: &str, value: &str) -> DbResult<()> {
    on_db!(db, p => sqlx::query(
        "INSERT INTO setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key).bind(value).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
