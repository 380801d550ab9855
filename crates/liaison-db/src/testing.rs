//! Fresh databases for tests, on both backends.
//!
//! SQLite: a new file in a temporary directory. PostgreSQL: a new database named
//! `liaison_test_<random>` on the server of `TEST_DATABASE_URL`, dropped when the handle drops.
//! When `TEST_DATABASE_URL` is unset, PostgreSQL tests are skipped with a message — unless
//! `LIAISON_REQUIRE_ALL_TESTS` (or `CI`) is set, where a skip is a failure.

use crate::db::{Backend, ConnectOptions, Db};

/// Whether skipping a backend or browser test must fail instead (CI).
pub fn skips_forbidden() -> bool {
    std::env::var_os("LIAISON_REQUIRE_ALL_TESTS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A database that lives as long as the handle.
pub struct TestDb {
    /// The pool.
    pub db: Db,
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile_dir::TempDir>,
    pg_drop: Option<(String, String)>,
}

mod tempfile_dir {
    /// A temporary directory removed on drop (kept minimal to avoid a dev-only dependency in the
    /// library).
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    /// A fresh, migrated database on `backend`; `None` when PostgreSQL is not configured (and
    /// skipping is allowed).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!(
                    "liaison-test-{}",
                    liaison_core::protect::random_token()
                ));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite://{}/test.db", dir.display());
                let db = Db::connect(&ConnectOptions {
                    url: url.clone(),
                    max_connections: 8,
                    create_if_missing: true,
                })
                .await
                .expect("open SQLite test database");
                db.migrate().await.expect("migrate SQLite");
                Some(TestDb {
                    db,
                    url,
                    _dir: Some(tempfile_dir::TempDir(dir)),
                    pg_drop: None,
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    if skips_forbidden() {
                        panic!("TEST_DATABASE_URL is not set, but PostgreSQL tests must run here");
                    }
                    eprintln!("skipping PostgreSQL test: TEST_DATABASE_URL is not set");
                    return None;
                };
                let name = format!(
                    "liaison_test_{}",
                    liaison_core::protect::random_token()
                        .to_lowercase()
                        .replace(['-', '_'], "")
                        .chars()
                        .take(16)
                        .collect::<String>()
                );
                let admin = Db::connect(&ConnectOptions {
                    url: admin_url.clone(),
                    max_connections: 1,
                    create_if_missing: false,
                })
                .await
                .expect("connect to TEST_DATABASE_URL");
                if let Db::Postgres(p) = &admin {
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                        .execute(p)
                        .await
                        .expect("create test database");
                }
                admin.close().await;
                let url = replace_db_name(&admin_url, &name);
                let db = Db::connect(&ConnectOptions {
                    url: url.clone(),
                    max_connections: 8,
                    create_if_missing: false,
                })
                .await
                .expect("connect to the new test database");
                db.migrate().await.expect("migrate PostgreSQL");
                Some(TestDb {
                    db,
                    url,
                    _dir: None,
                    pg_drop: Some((admin_url, name)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            // Dropping needs async; do it on a helper thread with its own runtime so that the
            // test's runtime is not blocked or re-entered.
            let db = self.db.clone();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    db.close().await;
                    if let Ok(admin) = Db::connect(&ConnectOptions {
                        url: admin_url,
                        max_connections: 1,
                        create_if_missing: false,
                    })
                    .await
                        && let Db::Postgres(p) = &admin
                    {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(p)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Replaces the database name (the path) of a PostgreSQL URL.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}
