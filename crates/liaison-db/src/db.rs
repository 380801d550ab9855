//! The database handle: one code path over SQLite (embedded default) and PostgreSQL.
//!
//! SQL is written once with `$N` placeholders in portable SQL and run on the native pool of each
//! backend through [`on_db!`] / [`on_tx!`], so each backend keeps its own types. Only real dialect
//! differences (full-text search, row locks) get two arms.

use crate::error::{DbError, DbResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// Runs the same expression on whichever pool `$db` holds.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($p) => $body,
            $crate::Db::Postgres($p) => $body,
        }
    };
}

/// Runs the same expression on whichever transaction `$tx` holds (`$t` is `&mut *conn`).
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::db::TxInner::Sqlite(tx) => {
                let $t = &mut **tx;
                $body
            }
            $crate::db::TxInner::Postgres(tx) => {
                let $t = &mut **tx;
                $body
            }
        }
    };
}

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (the default).
    Sqlite,
    /// PostgreSQL server (production).
    Postgres,
}

/// A connection pool to either backend.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so two writers queue for
/// the write lock instead of failing half-way with `SQLITE_BUSY`.
pub struct Tx {
    /// The backend transaction.
    pub inner: TxInner,
}

/// The backend transaction of a [`Tx`].
pub enum TxInner {
    /// SQLite.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Makes every change of the transaction durable.
    pub async fn commit(self) -> DbResult<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Which backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }
}

/// How to open the database.
#[derive(Clone)]
pub struct ConnectOptions {
    /// `sqlite://path/file.db` or `postgres://user@host/db`.
    pub url: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Create the SQLite file when missing.
    pub create_if_missing: bool,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// Hides the password of a database URL for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// SQLite's page cache of the whole pool, shared out among its connections. Each connection
/// keeps its own cache, and SQLite's default of 2 MiB each let a list's index pages drop out
/// between requests: every page read became a system call (profiled at 1 M opinions, more
/// system than user time; docs/benchmarks.md, fourth pass). The server's memory target
/// (250 MB resident while serving) bounds the total.
pub const SQLITE_CACHE_BUDGET_MIB: u32 = 48;

/// The `cache_size` pragma of one connection of a pool of `connections`: a negative number is
/// KiB, at least SQLite's default 2 MiB.
fn sqlite_cache_size(connections: u32) -> String {
    let kib = (SQLITE_CACHE_BUDGET_MIB * 1024 / connections.max(1)).max(2048);
    format!("-{kib}")
}

/// How often the checkpointer copies the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Log pages (4 KiB each) past which the checkpointer waits for readers and writers to let it
/// restart the log, rather than let it grow (readers search a longer log for every page).
const WAL_RESTART_PAGES: i64 = 16_384;

/// Copies SQLite's write-ahead log into the database file on a connection of its own, until
/// the pool closes. SQLite's own automatic checkpoint (off in our pools) runs inside the
/// commit that crosses 1,000 log pages: under heavy intake every fifth commit took 15 ms
/// instead of 1, a third of the writer's time (docs/benchmarks.md, fifth pass). A PASSIVE
/// checkpoint here copies what no reader still needs without waiting for or blocking
/// anyone, on another core; the next writer then starts the log from the beginning.
async fn checkpoint_in_background(mut conn: sqlx::SqliteConnection, pool: SqlitePool) {
    use sqlx::Connection;
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = pool.close_event() => break,
            _ = tick.tick() => {}
        }
        let passive: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await;
        let outcome = match passive {
            Ok((_, log_pages, _)) if log_pages > WAL_RESTART_PAGES => {
                sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                    .execute(&mut conn)
                    .await
                    .map(|_| ())
            }
            other => other.map(|_| ()),
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
        }
    }
    let _ = conn.close().await;
}

impl Db {
    /// Opens a pool on the URL's backend. Fails with a message that says what to check.
    pub async fn connect(opts: &ConnectOptions) -> DbResult<Db> {
        let url = opts.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let o = PgConnectOptions::from_str(url).map_err(|e| DbError::Connect {
                url: redact_url(url),
                reason: e.to_string(),
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(o)
                .await
                .map_err(|e| DbError::Connect {
                    url: redact_url(url),
                    reason: e.to_string(),
                })?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let o = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::Connect {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?
                .create_if_missing(opts.create_if_missing)
                .journal_mode(SqliteJournalMode::Wal)
                // Every commit is flushed to disk before it returns, so a receipt survives a
                // power cut as well as a killed process (with `NORMAL` the last commits
                // before a power cut could be lost). Intake commits in groups, and on the
                // benchmark's disk it was as fast either way (docs/benchmarks.md, seventh pass).
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            let checkpointer = o
                .clone()
                .pragma("cache_size", "-1024")
                .pragma("wal_autocheckpoint", "0");
            let o = o
                .pragma("cache_size", sqlite_cache_size(opts.max_connections))
                .pragma("wal_autocheckpoint", "0");
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(o)
                .await
                .map_err(|e| DbError::Connect {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?;
            let checkpointer = sqlx::ConnectOptions::connect(&checkpointer)
                .await
                .map_err(|e| DbError::Connect {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?;
            tokio::spawn(checkpoint_in_background(checkpointer, pool.clone()));
            Ok(Db::Sqlite(pool))
        } else {
            Err(DbError::Connect {
                url: redact_url(url),
                reason: "地址须以 sqlite: 或 postgres:// 开头".into(),
            })
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> DbResult<()> {
        match self {
            Db::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> DbResult<Tx> {
        let inner = match self {
            Db::Sqlite(p) => TxInner::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx { inner })
    }

    /// Checks that the database answers (for `/healthz`).
    pub async fn ping(&self) -> DbResult<()> {
        on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to return.
    pub async fn close(&self) {
        on_db!(self, p => p.close().await)
    }

    /// Connections open and idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        on_db!(self, p => (p.size(), p.num_idle()))
    }
}

/// The current time in UTC, truncated to microseconds so SQLite's text form and PostgreSQL's
/// `timestamptz` hold the same value.
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}
