//! Storage tests, each run on SQLite and on PostgreSQL (`TEST_DATABASE_URL`).

use liaison_core::dataset::{Dataset, SheetKind};
use liaison_core::scope::Scope;
use liaison_db::audit::{self, Actor, AuditQuery, Entry};
use liaison_db::directory::{self, DeputyFilter, StationFilter};
use liaison_db::org::{self, LoadError};
use liaison_db::testing::{TestDb, fixture, load_fixture, test_keys};
use liaison_db::{Backend, Db};

macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(liaison_db::Backend::Sqlite).await })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(liaison_db::Backend::Postgres).await })+
        }
    };
}

backend_tests!(
    the_fixture_loads_and_reloading_changes_nothing,
    a_bad_row_rolls_back_the_whole_load,
    region_paths_follow_the_tree,
    private_fields_are_encrypted_at_rest,
    the_audit_chain_detects_tampering,
    concurrent_writers_keep_one_chain,
    scope_filters_stations_and_deputies,
    export_reads_back_what_was_loaded,
    sessions_expire,
    a_batch_of_submissions_is_one_commit_with_one_result_each,
    a_batch_is_one_segment_of_the_search_index_and_found_newest_first,
    list_totals_stop_at_the_cap_and_search_pages_newest_first,
    a_region_subtree_is_exactly_the_paths_below_it,
    follow_ups_are_stored_once_answered_once_and_refused_on_closed_items,
    two_deadline_saves_at_once_each_record_what_the_other_left,
    statements_run_together_keep_their_values_and_fail_together,
    one_statement_may_change_many_rows_inside_a_transaction,
);

#[test]
fn the_two_migration_sets_have_the_same_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let list = |sub: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(list("sqlite"), list("postgres"));
    // Same tables and columns: compare the CREATE TABLE names and column names.
    let shape = |sub: &str| {
        let mut out = Vec::new();
        for f in list(sub) {
            let sql = std::fs::read_to_string(dir.join(sub).join(&f)).unwrap();
            for line in sql.lines() {
                let t = line.trim();
                if t.ends_with("-- dialect") {
                    continue;
                }
                if let Some(rest) = t.strip_prefix("CREATE TABLE ") {
                    out.push(format!("table {}", rest.split_whitespace().next().unwrap()));
                } else if !t.is_empty()
                    && !t.ends_with("-- dialect")
                    && !t.starts_with("--")
                    && !t.starts_with("CREATE")
                    && !t.starts_with("INSERT")
                    && !t.starts_with(')')
                    && !t.starts_with("UNIQUE")
                    && !t.starts_with("PRIMARY")
                {
                    out.push(format!("column {}", t.split_whitespace().next().unwrap()));
                }
            }
        }
        out
    };
    assert_eq!(shape("sqlite"), shape("postgres"));
}

async fn db(b: Backend) -> Option<(TestDb, liaison_core::protect::Keys)> {
    let t = TestDb::new(b).await?;
    let keys = test_keys();
    load_fixture(&t.db, &keys).await;
    Some((t, keys))
}

async fn count(db: &Db, table: &'static str) -> i64 {
    let sql = match table {
        "station" => "SELECT COUNT(*) FROM station",
        "deputy" => "SELECT COUNT(*) FROM deputy",
        "audit_log" => "SELECT COUNT(*) FROM audit_log",
        _ => "SELECT COUNT(*) FROM region",
    };
    liaison_db::sql::Sql::new(sql)
        .fetch_count(db)
        .await
        .unwrap()
}

async fn the_fixture_loads_and_reloading_changes_nothing(b: Backend) {
    let Some((t, keys)) = db(b).await else { return };
    assert_eq!(count(&t.db, "station").await, 7);
    assert_eq!(count(&t.db, "deputy").await, 5);
    let audits = count(&t.db, "audit_log").await;
    let mut again = fixture();
    again.accounts.clear();
    let report = org::load_dataset(&t.db, &keys, &Actor::system("t"), &again, &mut |_, _| {})
        .await
        .unwrap();
    assert!(
        report.created.is_empty() && report.updated.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        count(&t.db, "audit_log").await,
        audits,
        "no audit for unchanged rows"
    );
}

async fn a_bad_row_rolls_back_the_whole_load(b: Backend) {
    let Some((t, keys)) = db(b).await else { return };
    let mut data = Dataset::default();
    let mut good = fixture().stations[2].clone();
    good.code = "NEW-1".into();
    let mut bad = good.clone();
    bad.code = "NEW-2".into();
    bad.parent_code = Some("MISSING".into());
    data.stations = vec![good, bad];
    let before = count(&t.db, "audit_log").await;
    match org::load_dataset(&t.db, &keys, &Actor::system("t"), &data, &mut |_, _| {}).await {
        Err(LoadError::Rows(rows)) => {
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].sheet, SheetKind::Stations);
            assert_eq!(rows[0].row, 3);
            assert!(rows[0].message.contains("MISSING"));
        }
        other => panic!("expected row errors, got {other:?}"),
    }
    assert!(
        directory::station_by_code(&t.db, "NEW-1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(count(&t.db, "audit_log").await, before);
}

async fn region_paths_follow_the_tree(b: Backend) {
    let Some((t, _)) = db(b).await else { return };
    let city = directory::region_by_code(&t.db, "331000")
        .await
        .unwrap()
        .unwrap();
    let street = directory::region_by_code(&t.db, "331002001")
        .await
        .unwrap()
        .unwrap();
    assert!(street.path.starts_with(&city.path));
    assert_eq!(street.path.matches('/').count(), 5);
    let crumbs = directory::region_ancestors(&t.db, &street).await.unwrap();
    let names: Vec<_> = crumbs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["浙江省", "台州市", "椒江区", "海门街道"]);
}

async fn private_fields_are_encrypted_at_rest(b: Backend) {
    let Some((t, keys)) = db(b).await else { return };
    let rows: Vec<(String, String)> =
        liaison_db::sql::Sql::new("SELECT phone_enc, phone_idx FROM deputy")
            .fetch_all(&t.db)
            .await
            .unwrap();
    for (enc, idx) in &rows {
        assert!(enc.starts_with("sm4gcm:"), "{enc}");
        assert!(!enc.contains("137"));
        assert_eq!(idx.len(), 32);
    }
    let d = directory::deputy_by_code(&t.db, "JJ-D1")
        .await
        .unwrap()
        .unwrap();
    let phone = directory::reveal_deputy_phone(&t.db, &keys, &Actor::system("t"), d.id, "测试")
        .await
        .unwrap();
    assert_eq!(phone, "13700000001");
    // With another key nothing decrypts.
    let other = liaison_core::protect::Keys::from_master(&[1u8; 32]);
    assert!(
        directory::reveal_deputy_phone(&t.db, &other, &Actor::system("t"), d.id, "测试")
            .await
            .is_err()
    );
}

async fn the_audit_chain_detects_tampering(b: Backend) {
    let Some((t, keys)) = db(b).await else { return };
    let check = audit::verify_chain(&t.db, &keys).await.unwrap();
    assert!(check.first_broken.is_none());
    assert!(check.checked > 20);
    let victim = check.checked / 2;
    let mut tx = t.db.begin().await.unwrap();
    let mut s = liaison_db::sql::Sql::new("UPDATE audit_log SET summary = 'changed' WHERE id = ");
    s.bind(victim);
    s.execute_tx(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let check = audit::verify_chain(&t.db, &keys).await.unwrap();
    assert_eq!(check.first_broken, Some(victim));
}

async fn concurrent_writers_keep_one_chain(b: Backend) {
    let Some((t, keys)) = db(b).await else { return };
    let mut handles = Vec::new();
    for i in 0..16 {
        let db = t.db.clone();
        let keys = keys.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            audit::append(
                &mut tx,
                &keys,
                &Actor::system("t"),
                Entry {
                    action: "test",
                    entity: "x",
                    entity_id: i.to_string(),
                    summary: format!("并发写入{i}"),
                    before: None,
                    after: None,
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let check = audit::verify_chain(&t.db, &keys).await.unwrap();
    assert!(check.first_broken.is_none());
    let recs = audit::list(
        &t.db,
        &AuditQuery {
            action: Some("test".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(recs.len(), 16);
}

async fn scope_filters_stations_and_deputies(b: Backend) {
    let Some((t, _)) = db(b).await else { return };
    let path = |code: &'static str| {
        let db = t.db.clone();
        async move {
            directory::region_by_code(&db, code)
                .await
                .unwrap()
                .unwrap()
                .path
        }
    };
    let hm = directory::station_by_code(&t.db, "JJ-HM")
        .await
        .unwrap()
        .unwrap()
        .id;
    let d1 = directory::deputy_by_code(&t.db, "JJ-D1")
        .await
        .unwrap()
        .unwrap()
        .id;
    let cases = [
        (Scope::Everything, 7, 5),
        (Scope::RegionSubtree(path("331000").await), 7, 5),
        (Scope::RegionSubtree(path("331002").await), 4, 3),
        (Scope::RegionSubtree(path("331002001").await), 2, 2),
        (Scope::RegionSubtree(path("331003").await), 2, 1),
        (Scope::Station(hm), 2, 2),
        (Scope::Deputy(d1), 1, 1),
        (Scope::Unit(1), 0, 0),
        (Scope::Nothing, 0, 0),
    ];
    for (scope, stations, deputies) in cases {
        let s = directory::list_stations(
            &t.db,
            Some(&scope),
            &StationFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(s.total, stations, "stations for {scope:?}");
        assert_eq!(s.items.len() as i64, stations);
        let d = directory::list_deputies(
            &t.db,
            Some(&scope),
            &DeputyFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(d.total, deputies, "deputies for {scope:?}");
    }
}

async fn export_reads_back_what_was_loaded(b: Backend) {
    let Some((t, keys)) = db(b).await else { return };
    let out = org::export_dataset(&t.db, &keys, &Scope::Everything)
        .await
        .unwrap();
    let f = fixture();
    assert_eq!(out.regions.len(), f.regions.len());
    assert_eq!(out.stations.len(), f.stations.len());
    for d in &f.deputies {
        assert!(out.deputies.contains(d), "{} round-trips", d.code);
    }
    assert_eq!(out.grids, f.grids);
    assert_eq!(out.station_members, f.station_members);
    assert_eq!(out.accounts.len(), f.accounts.len());
    assert!(out.accounts.iter().all(|a| a.password.is_empty()));
}

async fn sessions_expire(b: Backend) {
    let Some((t, keys)) = db(b).await else { return };
    use liaison_db::sessions::{self, Lookup, SessionKind};
    let u = liaison_db::users::find_by_username(&t.db, "admin")
        .await
        .unwrap()
        .unwrap();
    let (token, _) = sessions::create(&t.db, &keys, u.id, SessionKind::Web)
        .await
        .unwrap();
    assert!(
        sessions::find(&t.db, &keys, &token, SessionKind::Web)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        matches!(
            sessions::find(&t.db, &keys, &token, SessionKind::Api)
                .await
                .unwrap(),
            Err(Lookup::Unknown)
        ),
        "a web session is not an API token"
    );
    liaison_db::testing::age_sessions(&t.db, liaison_db::db::now() - time::Duration::hours(1))
        .await;
    assert!(matches!(
        sessions::find(&t.db, &keys, &token, SessionKind::Web)
            .await
            .unwrap(),
        Err(Lookup::Expired)
    ));
    assert!(
        matches!(
            sessions::find(&t.db, &keys, &token, SessionKind::Web)
                .await
                .unwrap(),
            Err(Lookup::Unknown)
        ),
        "an expired session is deleted"
    );
}

/// What a test needs to submit opinions: the fixture's station JJ-HM, and the built-in calendar
/// and deadline table that the workflow rules borrow.
struct Intake {
    station: directory::StationItem,
    calendar: liaison_core::workdays::Calendar,
    sla: liaison_core::sla::SlaTable,
}

impl Intake {
    async fn new(db: &Db) -> Intake {
        Intake {
            station: directory::station_by_code(db, "JJ-HM")
                .await
                .unwrap()
                .unwrap(),
            calendar: liaison_core::workdays::Calendar::builtin(),
            sla: liaison_core::sla::SlaTable::default(),
        }
    }

    fn rules(&self) -> liaison_db::opinions::Rules<'_> {
        liaison_db::opinions::Rules {
            calendar: &self.calendar,
            sla: &self.sla,
            today: liaison_db::opinions::today(),
        }
    }
}

fn submission(station_id: i64, n: usize, key: Option<&str>) -> liaison_db::opinions::NewOpinion {
    liaison_db::opinions::NewOpinion {
        station_id,
        channel: "web".into(),
        title: format!("路灯不亮{n}"),
        body: format!("小区门口路灯不亮第{n}天了"),
        urgency: "normal".into(),
        name: "张三".into(),
        phone: "13911110010".into(),
        idempotency_key: key.map(str::to_owned),
        search_text: format!("路灯 不亮 小区 门口 第{n}"),
        ..Default::default()
    }
}

async fn a_batch_of_submissions_is_one_commit_with_one_result_each(b: Backend) {
    use liaison_db::opinions;
    let Some((t, keys)) = db(b).await else { return };
    let intake = Intake::new(&t.db).await;
    let station = &intake.station;
    let rules = intake.rules();
    let actor = Actor::public("127.0.0.1");
    let first = opinions::create(
        &t.db,
        &keys,
        &rules,
        &actor,
        &submission(station.id, 0, Some("k-0")),
    )
    .await
    .unwrap();
    let items = [
        submission(station.id, 1, Some("k-1")),
        submission(station.id, 0, Some("k-0")), // retry of one already stored
        submission(999_999, 3, None),           // unknown station
        submission(station.id, 1, Some("k-1")), // the same submission twice in the batch
        submission(station.id, 5, None),
        submission(station.id, 6, Some("k-0")), // another submission with a used key
    ];
    let refs: Vec<(&Actor, &opinions::NewOpinion)> = items.iter().map(|n| (&actor, n)).collect();
    let results = opinions::create_batch(&t.db, &keys, &rules, &refs).await;
    assert_eq!(results.len(), 6);
    assert!(
        matches!(results[5], Err(liaison_db::DbError::KeyReused)),
        "a key is only a retry of the same submission: {:?}",
        results[5]
    );
    let r1 = results[0].as_ref().unwrap();
    assert!(!r1.replayed);
    let r2 = results[1].as_ref().unwrap();
    assert!(r2.replayed);
    assert_eq!(r2.id, first.id);
    assert!(results[2].is_err(), "unknown station is refused on its own");
    let r4 = results[3].as_ref().unwrap();
    assert!(r4.replayed);
    assert_eq!(r4.id, r1.id);
    let r5 = results[4].as_ref().unwrap();
    assert!(!r5.replayed);
    // Each stored submission has its deadline in the row, a timeline event, an audit record
    // and the station's notification; the chain is intact.
    for id in [first.id, r1.id, r5.id] {
        let o = opinions::get(&t.db, id).await.unwrap();
        assert_eq!(o.state, "submitted");
        assert!(o.due_on.is_some(), "accept deadline set at intake");
        assert_eq!(opinions::timeline(&t.db, id).await.unwrap().len(), 1);
    }
    let recs = audit::list(
        &t.db,
        &AuditQuery {
            entity: Some("opinion".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(recs.len(), 3);
    assert!(
        audit::verify_chain(&t.db, &keys)
            .await
            .unwrap()
            .first_broken
            .is_none()
    );
    let notes = liaison_db::sql::Sql::new(
        "SELECT COUNT(*) FROM notification WHERE recipient LIKE 'station:%'",
    )
    .fetch_count(&t.db)
    .await
    .unwrap();
    assert_eq!(notes, 3);
}

/// A batch's search rows reach SQLite's full-text index as one segment. Their rowids are the ids
/// negated, and FTS5 starts a segment whenever a rowid is lower than the one before, so written
/// in id order they were a segment per row (docs/benchmarks.md, tenth pass). On both databases
/// a search then lists the batch newest first, also after PostgreSQL's pending entries are
/// moved into its index.
async fn a_batch_is_one_segment_of_the_search_index_and_found_newest_first(b: Backend) {
    use liaison_db::opinions::{self, OpinionFilter};
    let Some((t, keys)) = db(b).await else { return };
    let intake = Intake::new(&t.db).await;
    let rules = intake.rules();
    let actor = Actor::public("127.0.0.1");
    let index_rows = || async {
        match t.db.backend() {
            Backend::Sqlite => liaison_db::sql::Sql::new("SELECT COUNT(*) FROM opinion_fts_data")
                .fetch_count(&t.db)
                .await
                .unwrap(),
            Backend::Postgres => 0,
        }
    };
    let before = index_rows().await;
    let items: Vec<opinions::NewOpinion> = (0..12)
        .map(|n| submission(intake.station.id, 100 + n, None))
        .collect();
    let refs: Vec<(&Actor, &opinions::NewOpinion)> = items.iter().map(|n| (&actor, n)).collect();
    let ids: Vec<i64> = opinions::create_batch(&t.db, &keys, &rules, &refs)
        .await
        .into_iter()
        .map(|r| r.unwrap().id)
        .collect();
    if t.db.backend() == Backend::Sqlite {
        // One segment: its leaf page, and the index's structure record rewritten in place.
        let added = index_rows().await - before;
        assert!(
            added <= 2,
            "a batch of 12 added {added} rows to the search index"
        );
    }
    // PostgreSQL keeps the batch's entries in its search index's pending list until they are
    // moved into the index proper; the search below finds them there or moved.
    let moved = opinions::flush_search_pending_list(&t.db).await.unwrap();
    match t.db.backend() {
        Backend::Postgres => assert!(moved >= 1, "the batch's entries were pending"),
        Backend::Sqlite => assert_eq!(moved, 0),
    }
    let page = opinions::list(
        &t.db,
        &Scope::Everything,
        &OpinionFilter {
            q: vec!["路灯".into()],
            limit: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let listed: Vec<i64> = page.items.iter().map(|o| o.id).collect();
    let mut newest: Vec<i64> = ids.clone();
    newest.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed, newest[..5]);
}

/// A region's subtree in lists and counts: its own path and the paths below it, not a sibling
/// whose id starts with the same digits (`/1/2/390/` beside `/1/2/39/`), nor the parent.
async fn a_region_subtree_is_exactly_the_paths_below_it(b: Backend) {
    use liaison_db::opinions::{self, OpinionFilter};
    let Some((t, keys)) = db(b).await else { return };
    let intake = Intake::new(&t.db).await;
    let station = &intake.station;
    let rules = intake.rules();
    let actor = Actor::public("127.0.0.1");
    let paths = ["/1/2/39/", "/1/2/39/5/", "/1/2/390/", "/1/2/3/", "/1/2/"];
    let items: Vec<opinions::NewOpinion> = (0..paths.len())
        .map(|i| submission(station.id, i, None))
        .collect();
    let refs: Vec<(&Actor, &opinions::NewOpinion)> = items.iter().map(|x| (&actor, x)).collect();
    let mut ids = Vec::new();
    for r in opinions::create_batch(&t.db, &keys, &rules, &refs).await {
        ids.push(r.unwrap().id);
    }
    for (id, path) in ids.iter().zip(paths) {
        liaison_db::testing::set_opinion_region_path(&t.db, *id, path).await;
    }
    let expect: Vec<i64> = vec![ids[1], ids[0]];
    let subtree = Scope::RegionSubtree("/1/2/39/".into());
    for f in [
        OpinionFilter {
            limit: 20,
            ..Default::default()
        },
        OpinionFilter {
            limit: 20,
            states: vec!["submitted".into()],
            ..Default::default()
        },
    ] {
        let page = opinions::list(&t.db, &subtree, &f).await.unwrap();
        let got: Vec<i64> = page.items.iter().map(|o| o.id).collect();
        assert_eq!((got, page.total), (expect.clone(), 2), "scope, {f:?}");
        let filtered = OpinionFilter {
            region_path: Some("/1/2/39/".into()),
            ..f
        };
        let page = opinions::list(&t.db, &Scope::Everything, &filtered)
            .await
            .unwrap();
        let got: Vec<i64> = page.items.iter().map(|o| o.id).collect();
        assert_eq!((got, page.total), (expect.clone(), 2), "filter");
    }
    let counts = opinions::counts_by_state(&t.db, &subtree, None)
        .await
        .unwrap();
    assert_eq!(counts, vec![("submitted".to_owned(), 2)]);
}

async fn list_totals_stop_at_the_cap_and_search_pages_newest_first(b: Backend) {
    use liaison_db::opinions::{self, OpinionFilter, SEARCH_TOTAL_CAP, TOTAL_CAP};
    let Some((t, keys)) = db(b).await else { return };
    let intake = Intake::new(&t.db).await;
    let station = &intake.station;
    let rules = intake.rules();
    let actor = Actor::public("127.0.0.1");
    let n = TOTAL_CAP as usize + 5;
    let items: Vec<opinions::NewOpinion> =
        (0..n).map(|i| submission(station.id, i, None)).collect();
    for chunk in items.chunks(200) {
        let refs: Vec<(&Actor, &opinions::NewOpinion)> =
            chunk.iter().map(|x| (&actor, x)).collect();
        for r in opinions::create_batch(&t.db, &keys, &rules, &refs).await {
            r.unwrap();
        }
        // On PostgreSQL the chunks land in blocks far apart (42 blocks in all), so that
        // searches cross the windows of blocks they ask the index for (32 blocks), the gaps
        // between them, and the rest beyond them.
        liaison_db::testing::skip_opinion_ids(&t.db, 7 * opinions::SEARCH_BLOCK).await;
    }
    let scope = Scope::Everything;
    let capped = opinions::list(
        &t.db,
        &scope,
        &OpinionFilter {
            limit: 20,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((capped.total, capped.total_capped), (TOTAL_CAP, true));
    let exact = opinions::list(
        &t.db,
        &scope,
        &OpinionFilter {
            limit: 20,
            exact_total: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((exact.total, exact.total_capped), (n as i64, false));
    // A working set (open states) is counted exactly on PostgreSQL, by the first page's own
    // statement and on later pages apart: the same total either way. SQLite stops at the cap.
    let mut open = OpinionFilter {
        states: vec!["submitted".into()],
        limit: 20,
        ..Default::default()
    };
    let total = match t.db.backend() {
        liaison_db::Backend::Postgres => (n as i64, false),
        liaison_db::Backend::Sqlite => (TOTAL_CAP, true),
    };
    let first = opinions::list(&t.db, &scope, &open).await.unwrap();
    assert_eq!(
        ((first.total, first.total_capped), first.items.len()),
        (total, 20)
    );
    assert!(first.items.windows(2).all(|w| w[0].id > w[1].id));
    open.before_id = first.next.as_deref().map(|c| c.parse().unwrap());
    let second = opinions::list(&t.db, &scope, &open).await.unwrap();
    assert_eq!(
        ((second.total, second.total_capped), second.items.len()),
        (total, 20)
    );
    assert!(second.items[0].id < first.items[19].id);
    // Words the tokenizer splits, or punctuation alone, are asked safely: no error.
    for q in ["路灯-不亮", "\"路灯\"", "——"] {
        let page = opinions::list(
            &t.db,
            &scope,
            &OpinionFilter {
                q: vec![q.into()],
                limit: 20,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(page.items.is_empty(), q == "——", "{q}");
    }
    // A small result is counted from the page itself.
    let one = opinions::list(
        &t.db,
        &scope,
        &OpinionFilter {
            q: vec!["第7".into()],
            limit: 20,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (one.total, one.total_capped, one.items.len()),
        (1, false, 1)
    );
    // Search pages run newest first and page on without gaps or repeats.
    let mut f = OpinionFilter {
        q: vec!["路灯".into()],
        limit: 300,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = opinions::list(&t.db, &scope, &f).await.unwrap();
        assert!(page.items.windows(2).all(|w| w[0].id > w[1].id));
        seen.extend(page.items.iter().map(|o| o.id));
        match page.next {
            Some(next) => f.before_id = Some(next.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), n);
    // Merging SQLite's index segments (each batch above wrote its own) changes no answer.
    // With no time to spare it stops after its first step, which did work; then it finishes.
    let zero = std::time::Duration::ZERO;
    let done = opinions::tidy_search_index(&t.db, zero).await.unwrap();
    assert_eq!(done, b == Backend::Postgres);
    let ample = std::time::Duration::from_secs(60);
    assert!(opinions::tidy_search_index(&t.db, ample).await.unwrap());
    assert!(opinions::tidy_search_index(&t.db, zero).await.unwrap());
    let all = OpinionFilter {
        q: vec!["路灯".into()],
        limit: 2000,
        ..Default::default()
    };
    let after = opinions::list(&t.db, &scope, &all).await.unwrap();
    assert_eq!(after.items.iter().map(|o| o.id).collect::<Vec<_>>(), seen);
    // Within a station, a region, and elsewhere (on SQLite through the index's place tokens).
    let hq = directory::station_by_code(&t.db, "JJ-BY").await.unwrap();
    let words = OpinionFilter {
        q: vec!["路灯".into()],
        limit: 20,
        ..Default::default()
    };
    let here = opinions::list(&t.db, &Scope::Station(station.id), &words)
        .await
        .unwrap();
    // Search totals stop at their own cap (a station search asks the index on both databases).
    assert!(here.total_capped && here.items.len() == 20);
    assert_eq!(here.total, SEARCH_TOTAL_CAP);
    // On SQLite a search narrowed by words and place alone is counted from the index without
    // reading rows; its exact total is the one counted through the rows (a date that every
    // item passes sends the count through them).
    let long_ago = time::Date::from_calendar_date(2000, time::Month::January, 1).unwrap();
    for place in [Scope::Station(station.id), Scope::Everything] {
        let exact = OpinionFilter {
            exact_total: true,
            ..words.clone()
        };
        let via_index = opinions::list(&t.db, &place, &exact).await.unwrap();
        let through_rows = OpinionFilter {
            created_from: Some(long_ago),
            ..exact.clone()
        };
        let via_rows = opinions::list(&t.db, &place, &through_rows).await.unwrap();
        assert_eq!(via_index.total, via_rows.total);
        assert!(via_index.total > SEARCH_TOTAL_CAP);
    }
    let path = opinions::get(&t.db, seen[0]).await.unwrap().region_path;
    let region = opinions::list(&t.db, &Scope::RegionSubtree(path), &words)
        .await
        .unwrap();
    assert_eq!(region.items.len(), 20);
    if let Some(other) = hq.filter(|s| s.id != station.id && s.parent_id != Some(station.id)) {
        let elsewhere = opinions::list(&t.db, &Scope::Station(other.id), &words)
            .await
            .unwrap();
        assert_eq!(elsewhere.total, 0);
    }
    if b == Backend::Postgres {
        // PostgreSQL asks the index for the newest blocks of ids first; a page filled there
        // counts what it found (a lower bound), an exact total asks for every match.
        let few = OpinionFilter {
            q: vec!["路灯".into()],
            limit: 2,
            ..Default::default()
        };
        let first = opinions::list(&t.db, &scope, &few).await.unwrap();
        let top_block = seen[0] / opinions::SEARCH_BLOCK;
        let in_first_blocks = seen
            .iter()
            .filter(|&&id| id / opinions::SEARCH_BLOCK > top_block - 8)
            .count() as i64;
        assert!(
            in_first_blocks < n as i64,
            "the rows span more than the first blocks"
        );
        assert_eq!(
            (first.items.len(), first.total, first.total_capped),
            (2, in_first_blocks.min(SEARCH_TOTAL_CAP), true)
        );
        assert_eq!(first.items[0].id, seen[0]);
        let all = OpinionFilter {
            exact_total: true,
            ..few.clone()
        };
        let counted = opinions::list(&t.db, &scope, &all).await.unwrap();
        assert_eq!((counted.total, counted.total_capped), (n as i64, false));
        // Pages that reach past the first blocks go on in the rest, without gaps or repeats.
        let mut f = OpinionFilter {
            q: vec!["路灯".into()],
            limit: 150,
            ..Default::default()
        };
        let mut paged = Vec::new();
        loop {
            let page = opinions::list(&t.db, &scope, &f).await.unwrap();
            assert!(page.items.windows(2).all(|w| w[0].id > w[1].id));
            paged.extend(page.items.iter().map(|o| o.id));
            match page.next {
                Some(next) => f.before_id = Some(next.parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(paged, seen);
        // A rare word outside the first blocks is found in the rest, counted exactly.
        let oldest = opinions::list(
            &t.db,
            &scope,
            &OpinionFilter {
                q: vec!["第7".into()],
                limit: 20,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (oldest.total, oldest.total_capped, oldest.items.len()),
            (1, false, 1)
        );
    }
}

async fn follow_ups_are_stored_once_answered_once_and_refused_on_closed_items(b: Backend) {
    use liaison_core::role::Role;
    use liaison_core::scope::Principal;
    use liaison_db::follow_ups;
    use liaison_db::opinions::{self, ActError, Acting, ActionInput, OpinionFilter};
    let Some((t, keys)) = db(b).await else { return };
    let intake = Intake::new(&t.db).await;
    let station = &intake.station;
    let rules = intake.rules();
    let public = Actor::public("127.0.0.1");
    let created = opinions::create(
        &t.db,
        &keys,
        &rules,
        &public,
        &submission(station.id, 1, None),
    )
    .await
    .unwrap();
    let waiting = |db: Db| async move {
        let f = OpinionFilter {
            open_follow_ups: true,
            limit: 10,
            ..Default::default()
        };
        opinions::list(&db, &Scope::Everything, &f)
            .await
            .unwrap()
            .total
    };
    assert_eq!(waiting(t.db.clone()).await, 0);

    // A double submit with the form's key, and a retry of the same text without one, land once.
    let first = follow_ups::ask(
        &t.db,
        &keys,
        &public,
        created.id,
        "什么时候修？",
        Some("fu-1"),
    )
    .await
    .unwrap();
    assert!(!first.replayed);
    let again = follow_ups::ask(
        &t.db,
        &keys,
        &public,
        created.id,
        "什么时候修？",
        Some("fu-1"),
    )
    .await
    .unwrap();
    assert!(again.replayed);
    assert_eq!(again.follow_up.id, first.follow_up.id);
    let retry = follow_ups::ask(&t.db, &keys, &public, created.id, "什么时候修？", None)
        .await
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(follow_ups::list(&t.db, created.id).await.unwrap().len(), 1);
    assert_eq!(waiting(t.db.clone()).await, 1, "the item is a to-do");
    // The state is untouched; the question is on the timeline and notified to the station.
    let o = opinions::get(&t.db, created.id).await.unwrap();
    assert_eq!(o.state, "submitted");
    let timeline = opinions::timeline(&t.db, created.id).await.unwrap();
    let ev = timeline.last().unwrap();
    assert_eq!(ev.action, "follow_up");
    assert_eq!(ev.from_state.as_deref(), Some("submitted"));
    assert_eq!(ev.to_state, "submitted");
    let notes = liaison_db::notifications::for_opinion(&t.db, created.id)
        .await
        .unwrap();
    assert!(
        notes.iter().any(|n| n.template == "opinion.follow_up"
            && n.recipient == format!("station:{}", station.id)),
        "{notes:?}"
    );
    // At most three questions wait at once.
    for q in ["第二问", "第三问"] {
        follow_ups::ask(&t.db, &keys, &public, created.id, q, None)
            .await
            .unwrap();
    }
    let e = follow_ups::ask(&t.db, &keys, &public, created.id, "第四问", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("尚未答复"), "{e}");

    // Two clerks answer the same question at once: one wins, the other is told.
    let clerk = Principal {
        user_id: 1,
        username: "station.hm".into(),
        display_name: "站务".into(),
        role: Role::StationStaff,
        region: None,
        station_id: Some(station.id),
        unit_id: None,
        deputy_id: None,
        must_change_password: false,
    };
    let staff = Actor {
        user_id: None,
        name: "站务".into(),
        role: "station_staff".into(),
        ip: "127.0.0.1".into(),
    };
    let fid = first.follow_up.id;
    let (a, b2) = tokio::join!(
        follow_ups::answer(
            &t.db,
            &keys,
            &staff,
            &clerk,
            created.id,
            fid,
            "本周内修复。"
        ),
        follow_ups::answer(&t.db, &keys, &staff, &clerk, created.id, fid, "下周修复。"),
    );
    assert!(
        a.is_ok() != b2.is_ok(),
        "exactly one answer lands: {a:?} / {b2:?}"
    );
    let answered = follow_ups::list(&t.db, created.id).await.unwrap();
    assert!(!answered[0].open());
    assert_eq!(answered[0].answerer, station.name);
    assert_eq!(waiting(t.db.clone()).await, 1, "two questions still wait");

    // Someone with no relation to the item may not answer.
    let stranger = Principal {
        station_id: Some(999_999),
        ..clerk.clone()
    };
    let e = follow_ups::answer(
        &t.db,
        &keys,
        &staff,
        &stranger,
        created.id,
        answered[1].id,
        "无关",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ActError::Forbidden), "{e:?}");

    // A declined (final) item takes no question, and points to a new opinion.
    let other = opinions::create(
        &t.db,
        &keys,
        &rules,
        &public,
        &submission(station.id, 2, None),
    )
    .await
    .unwrap();
    opinions::act(
        &t.db,
        &keys,
        &rules,
        Acting::User(&clerk),
        &staff,
        other.id,
        liaison_core::workflow::OpinionAction::Decline,
        &ActionInput {
            reason: Some("不属于本站受理范围，请向12345反映".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let e = follow_ups::ask(&t.db, &keys, &public, other.id, "为什么不受理？", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("重新提交意见"), "{e}");
    assert!(follow_ups::list(&t.db, other.id).await.unwrap().is_empty());

    // Every question and answer left an audit record, and the chain holds.
    let recs = audit::list(
        &t.db,
        &AuditQuery {
            entity: Some("opinion".into()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(recs.iter().filter(|r| r.action == "follow_up").count(), 3);
    assert_eq!(
        recs.iter()
            .filter(|r| r.action == "answer_follow_up")
            .count(),
        1
    );
    assert!(
        audit::verify_chain(&t.db, &keys)
            .await
            .unwrap()
            .first_broken
            .is_none()
    );
}

async fn two_deadline_saves_at_once_each_record_what_the_other_left(b: Backend) {
    use liaison_core::sla::{DEFAULT_CATEGORY, SlaTable, Span};
    use liaison_db::opinions::save_sla;
    let Some((t, keys)) = db(b).await else { return };
    let actor = Actor::system("测试");
    let with_reply = |days: u32| {
        let mut table = SlaTable::default();
        table
            .opinion
            .get_mut(DEFAULT_CATEGORY)
            .unwrap()
            .normal
            .reply = Span::WorkingDays(days);
        table
    };
    save_sla(&t.db, &keys, &actor, &with_reply(14))
        .await
        .unwrap();
    let (a, c) = (with_reply(10), with_reply(12));
    let (r1, r2) = tokio::join!(
        save_sla(&t.db, &keys, &actor, &a),
        save_sla(&t.db, &keys, &actor, &c)
    );
    r1.unwrap();
    r2.unwrap();
    let recs = audit::list(
        &t.db,
        &AuditQuery {
            entity: Some("sla_table".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(recs.len(), 3);
    let json = |s: &Option<String>| -> serde_json::Value {
        serde_json::from_str(s.as_deref().unwrap()).unwrap()
    };
    // Newest first: the later save's "before" is what the earlier one wrote, and the earlier
    // one's is the table both started from.
    assert_eq!(json(&recs[0].before_json), json(&recs[1].after_json));
    assert_eq!(json(&recs[1].before_json), json(&recs[2].after_json));
    assert!(
        audit::verify_chain(&t.db, &keys)
            .await
            .unwrap()
            .first_broken
            .is_none()
    );
}

/// [`Sql::execute_all_tx`]: on SQLite one text of several statements, on PostgreSQL the
/// data-modifying parts of one statement. Each statement gets its own values (their
/// placeholders are renumbered), they run in order, and one that fails fails them all.
async fn statements_run_together_keep_their_values_and_fail_together(b: Backend) {
    use liaison_db::sql::Sql;
    let Some((t, _keys)) = db(b).await else {
        return;
    };
    let setting = |key: &'static str, value: &'static str| {
        let mut s = Sql::new("INSERT INTO setting (key, value) VALUES (");
        s.bind(key).push(", ").bind(value).push(")");
        s
    };
    let settings = |db: &Db| {
        let db = db.clone();
        async move {
            Sql::new("SELECT key, value FROM setting WHERE key LIKE 'test.%' ORDER BY key")
                .fetch_all::<(String, String)>(&db)
                .await
                .unwrap()
        }
    };
    let mut tx = t.db.begin().await.unwrap();
    let mut change = Sql::new("UPDATE setting SET value = ");
    change.bind("三").push(" WHERE key = ").bind("test.c");
    Sql::execute_all_tx(
        vec![setting("test.a", "一"), setting("test.b", "二"), change],
        &mut tx,
    )
    .await
    .unwrap_or_else(|e| panic!("{b:?}: {e}"));
    tx.commit().await.unwrap();
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        settings(&t.db).await,
        vec![pair("test.a", "一"), pair("test.b", "二")]
    );

    // A key stored already fails the second statement: nothing of the first stays.
    let mut tx = t.db.begin().await.unwrap();
    let failed = Sql::execute_all_tx(
        vec![setting("test.c", "三"), setting("test.a", "重")],
        &mut tx,
    )
    .await;
    assert!(failed.is_err(), "{b:?}: a stored key must fail");
    drop(tx);
    assert_eq!(
        settings(&t.db).await,
        vec![pair("test.a", "一"), pair("test.b", "二")]
    );
}

/// A statement that changes tens of thousands of rows inside a transaction keeps its undo
/// journal without failing (with SQLite's statement journal spilled at 8 MiB it failed with
/// "database or disk is full"; `.cargo/config.toml`).
async fn one_statement_may_change_many_rows_inside_a_transaction(b: Backend) {
    use liaison_db::sql::Sql;
    let Some((t, _keys)) = db(b).await else {
        return;
    };
    // About 400 bytes a row: the update below changes some 4,000 pages, a 16 MiB journal.
    let filler = "一段足够长的值，让四万行占满几千个数据页。".repeat(6);
    let mut tx = t.db.begin().await.unwrap();
    for chunk in 0..40 {
        let mut s = Sql::new("INSERT INTO setting (key, value) VALUES ");
        for i in 0..1000 {
            let n = chunk * 1000 + i;
            s.bind_row(
                i == 0,
                [
                    format!("bulk.{n:06}").into(),
                    format!("{n}：{}", filler).into(),
                ],
            );
        }
        s.execute_tx(&mut tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let changed =
        Sql::new("UPDATE setting SET value = value || '（已改）' WHERE key LIKE 'bulk.%'")
            .execute_tx(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{b:?}: {e}"));
    assert_eq!(changed, 40_000);
    tx.commit().await.unwrap();
    let n = Sql::new("SELECT COUNT(*) FROM setting WHERE value LIKE '%（已改）'")
        .fetch_count(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 40_000);
}
