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

/// The password of every account in [`fixture`].
pub const FIXTURE_PASSWORD: &str = "Test-Passw0rd!";

/// A small organisation with one account per role, for tests: 浙江省 › 台州市 › 椒江区 (two
/// streets) and 黄岩区 (one street), a station per tier, deputies in both counties, units of the
/// city and both counties.
pub fn fixture() -> liaison_core::dataset::Dataset {
    use liaison_core::dataset::*;
    use liaison_core::org::*;
    use liaison_core::role::Role;
    let region = |code: &str, name: &str, level, parent: Option<&str>| RegionRow {
        code: code.into(),
        name: name.into(),
        level,
        parent_code: parent.map(Into::into),
    };
    let station = |code: &str, name: &str, tier, region: &str, parent: Option<&str>| StationRow {
        code: code.into(),
        name: name.into(),
        tier,
        region_code: region.into(),
        parent_code: parent.map(Into::into),
        address: format!("{name}地址"),
        opening_hours: "周一至周五 8:30—17:00".into(),
        reception_schedule: "每月15日 代表接待日".into(),
        phone: "0576-88000000".into(),
        intro: String::new(),
    };
    let deputy =
        |code: &str, name: &str, region: &str, station: Option<&str>, level, phone: &str| {
            DeputyRow {
                code: code.into(),
                name: name.into(),
                gender: "男".into(),
                birth_year: Some(1975),
                party: "中共党员".into(),
                occupation: "企业负责人".into(),
                seats: vec![CongressSeat {
                    level,
                    term: "第十八届".into(),
                    delegation: String::new(),
                    constituency: String::new(),
                }],
                region_code: region.into(),
                station_code: station.map(Into::into),
                public_profile: "每月15日到站接待".into(),
                phone: phone.into(),
                email: String::new(),
            }
        };
    let unit = |code: &str, name: &str, region: &str, kind| UnitRow {
        code: code.into(),
        name: name.into(),
        kind,
        region_code: region.into(),
        phone: "0576-88111111".into(),
    };
    let account = |username: &str, role, scope: Option<&str>| AccountRow {
        username: username.into(),
        display_name: format!("测试{username}"),
        role,
        scope: scope.map(Into::into),
        phone: "13800000000".into(),
        password: FIXTURE_PASSWORD.into(),
    };
    Dataset {
        regions: vec![
            region("330000", "浙江省", RegionLevel::Province, None),
            region("331000", "台州市", RegionLevel::City, Some("330000")),
            region("331002", "椒江区", RegionLevel::County, Some("331000")),
            region(
                "331002001",
                "海门街道",
                RegionLevel::Township,
                Some("331002"),
            ),
            region(
                "331002002",
                "白云街道",
                RegionLevel::Township,
                Some("331002"),
            ),
            region(
                "331002001001",
                "东山社区",
                RegionLevel::Community,
                Some("331002001"),
            ),
            region("331003", "黄岩区", RegionLevel::County, Some("331000")),
            region(
                "331003001",
                "东城街道",
                RegionLevel::Township,
                Some("331003"),
            ),
        ],
        stations: vec![
            station(
                "TZ",
                "台州市人大代表联络中心",
                StationTier::CityCenter,
                "331000",
                None,
            ),
            station(
                "JJ",
                "椒江区人大代表联络总站",
                StationTier::CountyHub,
                "331002",
                Some("TZ"),
            ),
            station(
                "JJ-HM",
                "海门街道人大代表联络站",
                StationTier::TownshipStation,
                "331002001",
                Some("JJ"),
            ),
            station(
                "JJ-HM-01",
                "东山社区联络点",
                StationTier::LiaisonPoint,
                "331002001001",
                Some("JJ-HM"),
            ),
            station(
                "JJ-BY",
                "白云街道人大代表联络站",
                StationTier::TownshipStation,
                "331002002",
                Some("JJ"),
            ),
            station(
                "HY",
                "黄岩区人大代表联络总站",
                StationTier::CountyHub,
                "331003",
                Some("TZ"),
            ),
            station(
                "HY-DC",
                "东城街道人大代表联络站",
                StationTier::TownshipStation,
                "331003001",
                Some("HY"),
            ),
        ],
        station_members: vec![StationMemberRow {
            station_code: "JJ-HM".into(),
            role: StationRole::Head,
            name: "王站长".into(),
            phone: "13900000001".into(),
            deputy_code: Some("JJ-D1".into()),
        }],
        deputies: vec![
            deputy(
                "JJ-D1",
                "张海门",
                "331002001",
                Some("JJ-HM"),
                CongressLevel::County,
                "13700000001",
            ),
            deputy(
                "JJ-D2",
                "李东山",
                "331002001001",
                Some("JJ-HM-01"),
                CongressLevel::Township,
                "13700000002",
            ),
            deputy(
                "JJ-D3",
                "赵白云",
                "331002002",
                Some("JJ-BY"),
                CongressLevel::County,
                "13700000003",
            ),
            deputy(
                "HY-D1",
                "钱东城",
                "331003001",
                Some("HY-DC"),
                CongressLevel::County,
                "13700000004",
            ),
            deputy(
                "TZ-D1",
                "孙市代",
                "331000",
                Some("TZ"),
                CongressLevel::City,
                "13700000005",
            ),
        ],
        units: vec![
            unit(
                "TZ-ZJ",
                "台州市住房和城乡建设局",
                "331000",
                UnitKind::GovernmentDepartment,
            ),
            unit(
                "JJ-ZJ",
                "椒江区住房和城乡建设局",
                "331002",
                UnitKind::GovernmentDepartment,
            ),
            unit(
                "JJ-HM-GOV",
                "海门街道办事处",
                "331002001",
                UnitKind::TownshipOffice,
            ),
            unit(
                "HY-ZJ",
                "黄岩区住房和城乡建设局",
                "331003",
                UnitKind::GovernmentDepartment,
            ),
        ],
        grids: vec![GridRow {
            code: "JJ-HM-G1".into(),
            name: "东山社区第1网格".into(),
            region_code: "331002001001".into(),
            station_code: "JJ-HM".into(),
            worker_name: "周网格".into(),
            worker_phone: "13600000001".into(),
            deputy_codes: vec!["JJ-D2".into()],
        }],
        accounts: vec![
            account("admin", Role::SystemAdmin, None),
            account("security", Role::SecurityAdmin, None),
            account("auditor", Role::AuditAdmin, None),
            account("city", Role::CityStaff, Some("331000")),
            account("county.jj", Role::CountyStaff, Some("331002")),
            account("county.hy", Role::CountyStaff, Some("331003")),
            account("town.hm", Role::TownshipStaff, Some("331002001")),
            account("station.hm", Role::StationStaff, Some("JJ-HM")),
            account("deputy.d1", Role::Deputy, Some("JJ-D1")),
            account("grid.hm", Role::GridWorker, Some("JJ-HM")),
            // A second deputy of the same district: a co-signer of deputy.d1's suggestions.
            account("deputy.d3", Role::Deputy, Some("JJ-D3")),
            account("unit.jjzj", Role::UnitOfficer, Some("JJ-ZJ")),
            account("lead.jjzj", Role::UnitLead, Some("JJ-ZJ")),
            // A second unit: a co-unit of suggestions assigned to JJ-ZJ.
            account("unit.hmgov", Role::UnitOfficer, Some("JJ-HM-GOV")),
            account("citizen.1", Role::Citizen, None),
        ],
    }
}

/// Loads [`fixture`] and clears the forced password change, so tests can sign in directly.
pub async fn load_fixture(db: &Db, keys: &liaison_core::protect::Keys) {
    crate::org::load_dataset(
        db,
        keys,
        &crate::audit::Actor::system("test"),
        &fixture(),
        &mut |_, _| {},
    )
    .await
    .expect("fixture loads");
    on_db!(db, p => sqlx::query("UPDATE app_user SET must_change_password = FALSE").execute(p).await.map(|_| ()))
        .expect("activate accounts");
}

/// Keys for tests.
pub fn test_keys() -> liaison_core::protect::Keys {
    liaison_core::protect::Keys::from_master(&[42u8; 32])
}

/// Makes every session look idle since `at` (to test expiry).
pub async fn age_sessions(db: &Db, at: time::OffsetDateTime) {
    on_db!(db, p => sqlx::query("UPDATE user_session SET last_seen_at = $1").bind(at).execute(p).await.map(|_| ()))
        .expect("age sessions");
}

/// Moves an opinion to a region path of the test's choosing (to test subtree filters on paths
/// that are string prefixes of one another, such as `/1/2/39/` and `/1/2/390/`).
pub async fn set_opinion_region_path(db: &Db, id: i64, path: &str) {
    on_db!(db, p => sqlx::query("UPDATE opinion SET region_path = $1 WHERE id = $2")
        .bind(path).bind(id).execute(p).await.map(|_| ()))
    .expect("set region path");
}

/// Makes the next opinion ids on PostgreSQL jump `gap` past the highest stored one, so that a
/// few test rows span several search blocks (`opinions::SEARCH_BLOCK`). SQLite's ids need no
/// jump: its search has no blocks.
pub async fn skip_opinion_ids(db: &Db, gap: i64) {
    if db.backend() == Backend::Postgres {
        on_db!(db, p => sqlx::query(
            "SELECT setval(pg_get_serial_sequence('opinion', 'id'), (SELECT COALESCE(MAX(id), 0) FROM opinion) + $1)")
            .bind(gap).execute(p).await.map(|_| ()))
        .expect("skip opinion ids");
    }
}
