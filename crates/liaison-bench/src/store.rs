//! Direct database access for the bench: reading the organisation, bulk loading generated rows
//! and single-row inserts, written against the schema of
//! `crates/liaison-db/migrations/{sqlite,postgres}/0002_opinions.sql` (liaison-db has no bulk
//! path; a fast loader belongs in a benchmark, not in the product).
//!
//! Bulk loading drops the secondary indexes of the opinion tables and builds them again at the
//! end (one sort instead of a million random B-tree inserts), keeping their definitions in
//! `<data dir>/bench-dropped-indexes.sql` meanwhile so that an interrupted run can restore them
//! (the next `generate` does it first). On PostgreSQL the rows go in with `COPY`, with foreign
//! key triggers off for the loading session (`session_replication_role = replica`; the rows
//! are consistent by construction). On SQLite they go in as multi-row `INSERT`s, the contentless
//! FTS5 table `opinion_fts` filled in the same transaction as the rows, as the product does.

use crate::generate::{Org, Row, Station};
use anyhow::{Context, Result, bail};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, PgConnection, PgPool, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The opinion tables whose secondary indexes a bulk load rebuilds.
const BULK_TABLES: &[&str] = &[
    "opinion",
    "opinion_text",
    "opinion_event",
    "opinion_unit",
    "opinion_reply",
];

/// A pool on either backend.
#[derive(Clone, Debug)]
pub enum Store {
    /// SQLite file.
    Sqlite(SqlitePool),
    /// PostgreSQL server.
    Postgres(PgPool),
}

/// Whether a URL names PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn sqlite_options(url: &str) -> Result<SqliteConnectOptions> {
    // The same settings as the product's pool (liaison_db::Db::connect).
    Ok(SqliteConnectOptions::from_str(url)
        .with_context(|| format!("SQLite 地址无效：{url}"))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30)))
}

/// Binds the parameters of [`SINGLE_SQL`] (a macro: the query types differ per backend).
macro_rules! bind_single {
    ($q:expr, $r:expr) => {
        $q.bind($r.tracking_no.clone())
            .bind($r.station_id)
            .bind($r.deputy_id)
            .bind($r.region_path.clone())
            .bind($r.channel)
            .bind($r.title.clone())
            .bind($r.category_suggested.clone())
            .bind($r.category_confidence)
            .bind($r.urgency)
            .bind($r.name_enc.clone())
            .bind($r.phone_enc.clone())
            .bind($r.phone_idx.clone())
            .bind($r.anonymous)
            .bind($r.confidential)
            .bind($r.publishable)
            .bind($r.created_at)
    };
}

impl Store {
    /// Opens a pool of `max` connections.
    pub async fn connect(url: &str, max: u32) -> Result<Store> {
        if is_postgres(url) {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(PgConnectOptions::from_str(url)?)
                .await
                .with_context(|| "无法连接 PostgreSQL：请检查地址和服务是否启动")?;
            Ok(Store::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(sqlite_options(url)?)
                .await
                .with_context(|| format!("无法打开 SQLite 数据库 {url}"))?;
            Ok(Store::Sqlite(pool))
        } else {
            bail!("数据库地址须以 sqlite: 或 postgres:// 开头")
        }
    }

    /// Reads the active stations with their region, resident deputies and candidate units.
    pub async fn load_org(&self) -> Result<Org> {
        let stations: Vec<(i64, String, String, String)> = match self {
            Store::Sqlite(p) => sqlx::query_as(STATIONS_SQL).fetch_all(p).await?,
            Store::Postgres(p) => sqlx::query_as(STATIONS_SQL).fetch_all(p).await?,
        };
        let deputies: Vec<(i64, i64)> = match self {
            Store::Sqlite(p) => sqlx::query_as(DEPUTIES_SQL).fetch_all(p).await?,
            Store::Postgres(p) => sqlx::query_as(DEPUTIES_SQL).fetch_all(p).await?,
        };
        let units: Vec<(i64, String)> = match self {
            Store::Sqlite(p) => sqlx::query_as(UNITS_SQL).fetch_all(p).await?,
            Store::Postgres(p) => sqlx::query_as(UNITS_SQL).fetch_all(p).await?,
        };
        if stations.is_empty() {
            bail!("数据库中没有联络站：请先运行 `liaison demo` 载入演示组织");
        }
        let mut by_station: HashMap<i64, Vec<i64>> = HashMap::new();
        for (deputy, station) in deputies {
            by_station.entry(station).or_default().push(deputy);
        }
        let stations = stations
            .into_iter()
            .map(|(id, code, tier, path)| Station {
                id,
                code,
                deputies: by_station.remove(&id).unwrap_or_default(),
                units: units
                    .iter()
                    .filter(|(_, up)| path.starts_with(up.as_str()))
                    .map(|(u, up)| (*u, up.matches('/').count()))
                    .collect(),
                tier,
                region_path: path,
            })
            .collect();
        Ok(Org::new(stations))
    }

    /// The id the next opinion gets.
    pub async fn next_id(&self) -> Result<i64> {
        let max: Option<i64> = match self {
            Store::Sqlite(p) => {
                sqlx::query_scalar("SELECT MAX(id) FROM opinion")
                    .fetch_one(p)
                    .await?
            }
            Store::Postgres(p) => {
                sqlx::query_scalar("SELECT MAX(id) FROM opinion")
                    .fetch_one(p)
                    .await?
            }
        };
        Ok(max.unwrap_or(0) + 1)
    }

    /// Number of opinions.
    pub async fn count(&self) -> Result<i64> {
        Ok(match self {
            Store::Sqlite(p) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM opinion")
                    .fetch_one(p)
                    .await?
            }
            Store::Postgres(p) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM opinion")
                    .fetch_one(p)
                    .await?
            }
        })
    }

    /// Lets the named seeded accounts use the API without first changing their password
    /// (`must_change_password = FALSE`). Bench only: the API refuses them otherwise.
    pub async fn unlock_accounts(&self, usernames: &[String]) -> Result<()> {
        for u in usernames {
            let n = match self {
                Store::Sqlite(p) => sqlx::query(
                    "UPDATE app_user SET must_change_password = FALSE WHERE username = $1",
                )
                .bind(u)
                .execute(p)
                .await?
                .rows_affected(),
                Store::Postgres(p) => sqlx::query(
                    "UPDATE app_user SET must_change_password = FALSE WHERE username = $1",
                )
                .bind(u)
                .execute(p)
                .await?
                .rows_affected(),
            };
            if n == 0 {
                bail!("账号 {u} 不存在");
            }
        }
        Ok(())
    }

    /// Inserts one opinion the way the product's intake writes the row that matters for
    /// throughput: one `INSERT` (plus its FTS row on SQLite) in its own transaction.
    pub async fn insert_one(&self, r: &Row) -> Result<()> {
        match self {
            Store::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let id: i64 = bind_single!(sqlx::query_scalar(SINGLE_SQL), r)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(TEXT_SQL)
                    .bind(id)
                    .bind(&r.body)
                    .bind(&r.search_text)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO opinion_fts (rowid, search_text) VALUES ($1, $2)")
                    .bind(liaison_db::opinions::fts_rowid(id))
                    .bind(format!(
                        "{} {}",
                        r.search_text,
                        liaison_db::opinions::fts_scope_tokens(r.station_id, &r.region_path)
                    ))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                let id: i64 = bind_single!(sqlx::query_scalar(SINGLE_SQL), r)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(PG_TEXT_SQL)
                    .bind(id)
                    .bind(&r.body)
                    .bind(&r.search_text)
                    .bind(liaison_db::opinions::pg_scope_tokens(
                        id,
                        r.station_id,
                        &r.region_path,
                    ))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The places searches are narrowed to: the county region paths under the city
    /// (`/1/2/`) and the active stations.
    pub async fn search_places(&self) -> Result<(Vec<String>, Vec<i64>)> {
        const COUNTIES: &str = "SELECT path FROM region WHERE parent_id = \
            (SELECT id FROM region WHERE path = '/1/2/') ORDER BY id";
        const STATIONS: &str = "SELECT id FROM station WHERE active = TRUE ORDER BY id";
        let (counties, stations): (Vec<(String,)>, Vec<(i64,)>) = match self {
            Store::Sqlite(p) => (
                sqlx::query_as(COUNTIES).fetch_all(p).await?,
                sqlx::query_as(STATIONS).fetch_all(p).await?,
            ),
            Store::Postgres(p) => (
                sqlx::query_as(COUNTIES).fetch_all(p).await?,
                sqlx::query_as(STATIONS).fetch_all(p).await?,
            ),
        };
        if counties.is_empty() || stations.is_empty() {
            bail!("数据库中没有区县或联络站：请先运行 `liaison demo` 载入演示组织");
        }
        Ok((
            counties.into_iter().map(|r| r.0).collect(),
            stations.into_iter().map(|r| r.0).collect(),
        ))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(p) => p.close().await,
            Store::Postgres(p) => p.close().await,
        }
    }
}

const STATIONS_SQL: &str = "SELECT s.id, s.code, s.tier, r.path FROM station s JOIN region r ON r.id = s.region_id \
     WHERE s.active = TRUE ORDER BY s.id";
const DEPUTIES_SQL: &str =
    "SELECT id, station_id FROM deputy WHERE station_id IS NOT NULL ORDER BY id";
const UNITS_SQL: &str = "SELECT u.id, r.path FROM handling_unit u JOIN region r ON r.id = u.region_id \
     WHERE u.active = TRUE ORDER BY u.id";

/// The intake's insert (see `liaison_db::opinions::create_batch`), without the id.
const SINGLE_SQL: &str = "INSERT INTO opinion (tracking_no, station_id, deputy_id, region_path, channel, title, \
     place, category_suggested, category_confidence, urgency, submitter_name_enc, \
     submitter_phone_enc, submitter_phone_idx, anonymous, confidential, publishable, state, \
     entered_by, idempotency_key, created_at, updated_at) \
     VALUES ($1,$2,$3,$4,$5,$6,'',$7,$8,$9,$10,$11,$12,$13,$14,$15,'submitted',NULL,NULL,$16,$16) \
     RETURNING id";
/// The texts of the row [`SINGLE_SQL`] wrote.
const TEXT_SQL: &str =
    "INSERT INTO opinion_text (opinion_id, body, search_text) VALUES ($1, $2, $3)";

/// The columns a bulk load writes, in order.
const OPINION_COLUMNS: &str = "id, tracking_no, station_id, deputy_id, region_path, channel, title, \
    category, category_suggested, category_confidence, urgency, submitter_name_enc, \
    submitter_phone_enc, submitter_phone_idx, anonymous, confidential, publishable, state, round, \
    lead_unit_id, due_kind, due_on, reply_due_on, assigned_on, feedback_sent_on, extensions_used, \
    rehandle_rounds, last_rating, last_grade, master_id, version, created_at, \
    updated_at, closed_at";
const TEXT_COLUMNS: &str = "opinion_id, body, search_text";
/// PostgreSQL's texts also hold the place tokens its search vector is generated from.
const PG_TEXT_SQL: &str = "INSERT INTO opinion_text (opinion_id, body, search_text, scope_tokens) \
     VALUES ($1, $2, $3, $4)";
const PG_TEXT_COLUMNS: &str = "opinion_id, body, search_text, scope_tokens";
const EVENT_COLUMNS: &str =
    "opinion_id, at, actor_name, actor_role, action, label, from_state, to_state, public_note";
const REPLY_COLUMNS: &str =
    "opinion_id, round, unit_id, content, resolution_grade, status, created_at, reviewed_at";
const UNIT_COLUMNS: &str =
    "opinion_id, unit_id, is_lead, round, active, assigned_at, acknowledged_at";

/// A connection holding a bulk load.
pub enum Bulk {
    /// SQLite connection with loading pragmas.
    Sqlite(SqliteConnection),
    /// PostgreSQL connection with foreign-key triggers off.
    Postgres(PgConnection),
}

fn saved_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("bench-dropped-indexes.sql")
}

impl Bulk {
    /// Opens the loading connection, restores indexes an interrupted run left dropped, then
    /// drops the secondary indexes (saving their definitions).
    pub async fn start(url: &str, data_dir: &Path) -> Result<Bulk> {
        let mut b = if is_postgres(url) {
            let mut c = PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
            sqlx::query("SET session_replication_role = replica")
                .execute(&mut c)
                .await
                .context("关闭外键触发器需要超级用户（session_replication_role）")?;
            sqlx::query("SET maintenance_work_mem = '512MB'")
                .execute(&mut c)
                .await?;
            Bulk::Postgres(c)
        } else {
            let mut c = SqliteConnection::connect_with(&sqlite_options(url)?).await?;
            // Loading only: a crash loses the load, never the existing data (WAL).
            for pragma in [
                "PRAGMA synchronous = OFF",
                "PRAGMA cache_size = -512000",
                "PRAGMA temp_store = MEMORY",
            ] {
                sqlx::query(pragma).execute(&mut c).await?;
            }
            Bulk::Sqlite(c)
        };
        let saved = saved_path(data_dir);
        if saved.exists() {
            let sql = std::fs::read_to_string(&saved)?;
            b.run_script(&sql).await?;
            std::fs::remove_file(&saved)?;
        }
        let defs = b.secondary_indexes().await?;
        let mut script = String::new();
        for (_, def) in &defs {
            script.push_str(def);
            script.push_str(";\n");
        }
        std::fs::write(&saved, &script).with_context(|| format!("无法写入 {}", saved.display()))?;
        for (name, _) in &defs {
            b.execute(&format!("DROP INDEX {name}")).await?;
        }
        Ok(b)
    }

    async fn execute(&mut self, sql: &str) -> Result<()> {
        let q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        match self {
            Bulk::Sqlite(c) => q.execute(c).await.map(|_| ())?,
            Bulk::Postgres(c) => sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(c)
                .await
                .map(|_| ())?,
        }
        Ok(())
    }

    async fn run_script(&mut self, script: &str) -> Result<()> {
        for stmt in script.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            self.execute(stmt).await?;
        }
        Ok(())
    }

    async fn secondary_indexes(&mut self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for table in BULK_TABLES {
            let rows: Vec<(String, String)> = match self {
                Bulk::Sqlite(c) => sqlx::query_as(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
                     AND sql IS NOT NULL ORDER BY name",
                )
                .bind(*table)
                .fetch_all(c)
                .await?,
                // Unique indexes back constraints: they stay.
                Bulk::Postgres(c) => {
                    sqlx::query_as(
                        "SELECT i.indexname::text, i.indexdef FROM pg_indexes i \
                     WHERE i.schemaname = current_schema() AND i.tablename = $1 \
                     AND i.indexdef NOT LIKE 'CREATE UNIQUE%' ORDER BY i.indexname",
                    )
                    .bind(*table)
                    .fetch_all(c)
                    .await?
                }
            };
            out.extend(rows);
        }
        Ok(out)
    }

    /// Writes one batch of rows with their events, replies and unit assignments.
    pub async fn insert(&mut self, rows: &[Row]) -> Result<()> {
        match self {
            Bulk::Sqlite(c) => sqlite_batch(c, rows).await,
            Bulk::Postgres(c) => pg_batch(c, rows).await,
        }
    }

    /// Builds the dropped indexes again, brings the id sequence and statistics up to date.
    pub async fn finish(mut self, data_dir: &Path) -> Result<()> {
        let saved = saved_path(data_dir);
        let script = std::fs::read_to_string(&saved)?;
        if let Bulk::Postgres(c) = &mut self {
            // The GIN index over a million texts takes many minutes with the default 64 MB.
            sqlx::query("SET maintenance_work_mem = '1GB'")
                .execute(&mut *c)
                .await?;
        }
        self.run_script(&script).await?;
        std::fs::remove_file(&saved)?;
        // The milestones the statistics read (migration 0020), from the events just written;
        // after the indexes, which its lookups by item need.
        let started = std::time::Instant::now();
        let backend = match &self {
            Bulk::Postgres(_) => liaison_db::Backend::Postgres,
            Bulk::Sqlite(_) => liaison_db::Backend::Sqlite,
        };
        let backfill = sqlx::AssertSqlSafe(liaison_db::opinion_stats::backfill_sql(backend));
        match &mut self {
            Bulk::Postgres(c) => sqlx::raw_sql(backfill).execute(&mut *c).await.map(|_| ())?,
            Bulk::Sqlite(c) => sqlx::raw_sql(backfill).execute(&mut *c).await.map(|_| ())?,
        }
        println!(
            "milestones filled from the events ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        match &mut self {
            Bulk::Postgres(c) => {
                // COPY wrote explicit ids: move the identity past them.
                sqlx::query(
                    "SELECT setval(pg_get_serial_sequence('opinion', 'id'), (SELECT MAX(id) FROM opinion))",
                )
                .execute(&mut *c)
                .await?;
                // What autovacuum does to new rows within minutes on a production server:
                // statistics, and the visibility map without which an index-only scan reads
                // the table as well. Done now so that the first measurement does not race it,
                // and because a test server may run with autovacuum off.
                sqlx::query("VACUUM (ANALYZE)").execute(&mut *c).await?;
            }
            Bulk::Sqlite(c) => {
                // The one-segment search index that the server's regular merge
                // (`liaison_db::opinions::tidy_search_index`) keeps, at once.
                sqlx::query("INSERT INTO opinion_fts (opinion_fts) VALUES ('optimize')")
                    .execute(&mut *c)
                    .await?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *c)
                    .await?;
            }
        }
        Ok(())
    }
}

/// SQLite allows 32,766 parameters per statement; stay well below.
const SQLITE_PARAMS: usize = 30_000;

async fn sqlite_batch(c: &mut SqliteConnection, rows: &[Row]) -> Result<()> {
    let mut tx = c.begin().await?;
    for chunk in rows.chunks(SQLITE_PARAMS / 36) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO opinion ({OPINION_COLUMNS}) "));
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.id)
                .push_bind(r.tracking_no.clone())
                .push_bind(r.station_id)
                .push_bind(r.deputy_id)
                .push_bind(r.region_path.clone())
                .push_bind(r.channel)
                .push_bind(r.title.clone())
                .push_bind(r.category.clone())
                .push_bind(r.category_suggested.clone())
                .push_bind(r.category_confidence)
                .push_bind(r.urgency)
                .push_bind(r.name_enc.clone())
                .push_bind(r.phone_enc.clone())
                .push_bind(r.phone_idx.clone())
                .push_bind(r.anonymous)
                .push_bind(r.confidential)
                .push_bind(r.publishable)
                .push_bind(r.state)
                .push_bind(r.round)
                .push_bind(r.lead_unit_id)
                .push_bind(r.due_kind)
                .push_bind(r.due_on)
                .push_bind(r.reply_due_on)
                .push_bind(r.assigned_on)
                .push_bind(r.feedback_sent_on)
                .push_bind(r.extensions_used)
                .push_bind(r.rehandle_rounds)
                .push_bind(r.last_rating)
                .push_bind(r.last_grade)
                .push_bind(r.master_id)
                .push_bind(r.version)
                .push_bind(r.created_at)
                .push_bind(r.updated_at)
                .push_bind(r.closed_at);
        });
        q.build().execute(&mut *tx).await?;
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO opinion_text ({TEXT_COLUMNS}) "));
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.id)
                .push_bind(r.body.clone())
                .push_bind(r.search_text.clone());
        });
        q.build().execute(&mut *tx).await?;
    }
    // Full-text rows in ascending rowid order, newest first, as the product writes them: FTS5
    // starts a new segment whenever a rowid is lower than the one before.
    let newest_first: Vec<&Row> = rows.iter().rev().collect();
    for chunk in newest_first.chunks(SQLITE_PARAMS / 2) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO opinion_fts (rowid, search_text) ");
        q.push_values(chunk, |mut b, r| {
            b.push_bind(liaison_db::opinions::fts_rowid(r.id))
                .push_bind(format!(
                    "{} {}",
                    r.search_text,
                    liaison_db::opinions::fts_scope_tokens(r.station_id, &r.region_path)
                ));
        });
        q.build().execute(&mut *tx).await?;
    }
    let events: Vec<(i64, &crate::generate::Event)> = rows
        .iter()
        .flat_map(|r| r.events.iter().map(move |e| (r.id, e)))
        .collect();
    for chunk in events.chunks(SQLITE_PARAMS / 9) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO opinion_event ({EVENT_COLUMNS}) "));
        q.push_values(chunk, |mut b, (id, e)| {
            b.push_bind(*id)
                .push_bind(e.at)
                .push_bind(e.actor_name)
                .push_bind(e.actor_role)
                .push_bind(e.action)
                .push_bind(e.label)
                .push_bind(e.from_state)
                .push_bind(e.to_state)
                .push_bind(e.public_note);
        });
        q.build().execute(&mut *tx).await?;
    }
    let replies: Vec<(i64, &crate::generate::Reply)> = rows
        .iter()
        .flat_map(|r| r.replies.iter().map(move |e| (r.id, e)))
        .collect();
    for chunk in replies.chunks(SQLITE_PARAMS / 8) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO opinion_reply ({REPLY_COLUMNS}) "));
        q.push_values(chunk, |mut b, (id, e)| {
            b.push_bind(*id)
                .push_bind(e.round)
                .push_bind(e.unit_id)
                .push_bind(e.content.clone())
                .push_bind(e.grade)
                .push_bind(e.status)
                .push_bind(e.created_at)
                .push_bind(e.reviewed_at);
        });
        q.build().execute(&mut *tx).await?;
    }
    let units: Vec<(i64, &crate::generate::Assignment)> = rows
        .iter()
        .flat_map(|r| r.units.iter().map(move |e| (r.id, e)))
        .collect();
    for chunk in units.chunks(SQLITE_PARAMS / 7) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO opinion_unit ({UNIT_COLUMNS}) "));
        q.push_values(chunk, |mut b, (id, u)| {
            b.push_bind(*id)
                .push_bind(u.unit_id)
                .push_bind(true)
                .push_bind(u.round)
                .push_bind(u.active)
                .push_bind(u.assigned_at)
                .push_bind(u.acknowledged_at);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A value in PostgreSQL's COPY text format.
trait CopyField {
    fn write(&self, out: &mut String);
}

impl CopyField for str {
    fn write(&self, out: &mut String) {
        for ch in self.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
}
impl CopyField for String {
    fn write(&self, out: &mut String) {
        self.as_str().write(out);
    }
}
impl CopyField for &str {
    fn write(&self, out: &mut String) {
        (*self).write(out);
    }
}
impl CopyField for i64 {
    fn write(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}
impl CopyField for f64 {
    fn write(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}
impl CopyField for bool {
    fn write(&self, out: &mut String) {
        out.push(if *self { 't' } else { 'f' });
    }
}
impl CopyField for time::Date {
    fn write(&self, out: &mut String) {
        out.push_str(&format!(
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month() as u8,
            self.day()
        ));
    }
}
impl CopyField for time::OffsetDateTime {
    fn write(&self, out: &mut String) {
        let t = self.to_offset(time::UtcOffset::UTC);
        out.push_str(&format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        ));
    }
}
impl<T: CopyField> CopyField for Option<T> {
    fn write(&self, out: &mut String) {
        match self {
            Some(v) => v.write(out),
            None => out.push_str("\\N"),
        }
    }
}

/// Appends one COPY line.
fn line(out: &mut String, fields: &[&dyn CopyField]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        f.write(out);
    }
    out.push('\n');
}

async fn copy(c: &mut PgConnection, table: &str, columns: &str, data: String) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut cp = c
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    cp.send(data.into_bytes()).await?;
    cp.finish().await?;
    Ok(())
}

async fn pg_batch(c: &mut PgConnection, rows: &[Row]) -> Result<()> {
    let mut o = String::with_capacity(rows.len() * 400);
    let mut texts = String::with_capacity(rows.len() * 6000);
    let mut ev = String::new();
    let mut rp = String::new();
    let mut un = String::new();
    for r in rows {
        line(
            &mut o,
            &[
                &r.id,
                &r.tracking_no,
                &r.station_id,
                &r.deputy_id,
                &r.region_path,
                &r.channel,
                &r.title,
                &r.category,
                &r.category_suggested,
                &r.category_confidence,
                &r.urgency,
                &r.name_enc,
                &r.phone_enc,
                &r.phone_idx,
                &r.anonymous,
                &r.confidential,
                &r.publishable,
                &r.state,
                &r.round,
                &r.lead_unit_id,
                &r.due_kind,
                &r.due_on,
                &r.reply_due_on,
                &r.assigned_on,
                &r.feedback_sent_on,
                &r.extensions_used,
                &r.rehandle_rounds,
                &r.last_rating,
                &r.last_grade,
                &r.master_id,
                &r.version,
                &r.created_at,
                &r.updated_at,
                &r.closed_at,
            ],
        );
        let place = liaison_db::opinions::pg_scope_tokens(r.id, r.station_id, &r.region_path);
        line(&mut texts, &[&r.id, &r.body, &r.search_text, &place]);
        for e in &r.events {
            line(
                &mut ev,
                &[
                    &r.id,
                    &e.at,
                    &e.actor_name,
                    &e.actor_role,
                    &e.action,
                    &e.label,
                    &e.from_state,
                    &e.to_state,
                    &e.public_note,
                ],
            );
        }
        for e in &r.replies {
            line(
                &mut rp,
                &[
                    &r.id,
                    &e.round,
                    &e.unit_id,
                    &e.content,
                    &e.grade,
                    &e.status,
                    &e.created_at,
                    &e.reviewed_at,
                ],
            );
        }
        for u in &r.units {
            line(
                &mut un,
                &[
                    &r.id,
                    &u.unit_id,
                    &true,
                    &u.round,
                    &u.active,
                    &u.assigned_at,
                    &u.acknowledged_at,
                ],
            );
        }
    }
    let mut tx = c.begin().await?;
    copy(&mut tx, "opinion", OPINION_COLUMNS, o).await?;
    copy(&mut tx, "opinion_text", PG_TEXT_COLUMNS, texts).await?;
    copy(&mut tx, "opinion_event", EVENT_COLUMNS, ev).await?;
    copy(&mut tx, "opinion_reply", REPLY_COLUMNS, rp).await?;
    copy(&mut tx, "opinion_unit", UNIT_COLUMNS, un).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_the_separators() {
        let mut s = String::new();
        line(&mut s, &[&"a\tb\\c\nd", &None::<i64>, &true, &3i64]);
        assert_eq!(s, "a\\tb\\\\c\\nd\t\\N\tt\t3\n");
    }

    #[test]
    fn copy_timestamps_are_utc_with_microseconds() {
        let mut s = String::new();
        time::macros::datetime!(2026-01-02 03:04:05.000006 +08:00).write(&mut s);
        assert_eq!(s, "2026-01-01 19:04:05.000006+00");
    }

    #[test]
    fn postgres_urls_are_recognised() {
        assert!(is_postgres("postgres://u@h/db"));
        assert!(is_postgres("postgresql://u@h/db"));
        assert!(!is_postgres("sqlite:///tmp/x.db"));
    }
}
