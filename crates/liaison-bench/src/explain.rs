//! Query plans and single-request timings of the list queries the load exercises, run through
//! sqlx against the bench database (so SQLite is the bundled version the server uses).
//!
//! `current` mirrors the SQL `liaison_db::opinions::list` builds (COUNT, then the first page
//! newest first) for each inbox, search and ledger case of the load; `proposed` is the same
//! request written the way the report proposes (a count capped at 1,001 rows, and on SQLite
//! full-text matches walked newest first). `current` is the SQL of the second pass; the product
//! has moved on since (effective-category expression, FTS place tokens, PostgreSQL id windows),
//! so its plans show how the indexes serve each filter, not the exact statements. For the
//! product's own timings use `--product`, which calls `liaison_db::opinions::list` itself.

use crate::store::Store;
use anyhow::Result;
use sqlx::Row as _;
use std::time::Instant;

/// A bound value.
#[derive(Debug, Clone)]
enum P {
    I(i64),
    T(String),
    D(time::Date),
}

/// A query with its parameters; `$N` placeholders.
#[derive(Debug, Clone)]
struct Q {
    sql: String,
    params: Vec<P>,
}

impl Q {
    fn new(sql: &str) -> Q {
        Q {
            sql: sql.to_owned(),
            params: Vec::new(),
        }
    }
    fn push(&mut self, s: &str) -> &mut Q {
        self.sql.push_str(s);
        self
    }
    fn bind(&mut self, p: P) -> &mut Q {
        self.params.push(p);
        let n = self.params.len();
        self.sql.push_str(&format!("${n}"));
        self
    }
}

const COLUMNS: &str = "SELECT o.id, o.tracking_no, o.title, s.name AS station_name, o.state, o.category, \
    o.category_suggested, o.urgency, o.channel, o.due_kind, o.due_on, u.name AS lead_unit_name, \
    d.name AS deputy_name, o.created_at, o.version";
const JOINS: &str = " JOIN station s ON s.id = o.station_id \
    LEFT JOIN handling_unit u ON u.id = o.lead_unit_id LEFT JOIN deputy d ON d.id = o.deputy_id";

/// `FROM …` of a query, and the page's order. The proposed SQLite search starts from the FTS
/// matches, newest first (their rowids are the ids negated, `liaison_db::opinions::fts_rowid`),
/// so that a page stops after its first rows that pass the other filters instead of collecting
/// every match.
fn from_clause(q: &mut Q, pg: bool, f: &Filter, proposed: bool) -> &'static str {
    if proposed && !pg && !f.q.is_empty() {
        let expr =
            f.q.iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" ");
        q.push(" FROM (SELECT rowid AS fid FROM opinion_fts WHERE opinion_fts MATCH ")
            .bind(P::T(expr))
            .push(" ORDER BY rowid) f JOIN opinion o ON o.id = -f.fid");
        "f.fid"
    } else {
        q.push(" FROM opinion o");
        "o.id DESC"
    }
}

const OPEN: &[&str] = &[
    "submitted",
    "accepted",
    "assigned",
    "acknowledged",
    "handling",
    "extension_requested",
    "replied",
    "reviewed",
    "feedback_sent",
    "evaluated",
    "rehandling",
    "supervised",
    "return_requested",
];

/// What a probe filters on.
#[derive(Debug, Clone)]
enum Scope {
    Region(&'static str),
    Station(i64),
}

#[derive(Debug, Clone, Default)]
struct Filter {
    states: Vec<&'static str>,
    category: Option<&'static str>,
    overdue: bool,
    q: Vec<&'static str>,
}

fn where_clause(q: &mut Q, pg: bool, scope: &Scope, f: &Filter, proposed: bool, today: time::Date) {
    match scope {
        Scope::Region(p) => {
            q.push(" AND o.region_path LIKE ")
                .bind(P::T(format!("{p}%")));
        }
        Scope::Station(id) => {
            q.push(" AND o.station_id IN (SELECT id FROM station WHERE id = ")
                .bind(P::I(*id))
                .push(" OR parent_id = ")
                .bind(P::I(*id))
                .push(")");
        }
    }
    if !f.states.is_empty() {
        q.push(" AND o.state IN (");
        for (i, s) in f.states.iter().enumerate() {
            if i > 0 {
                q.push(",");
            }
            q.bind(P::T((*s).to_owned()));
        }
        q.push(")");
    }
    if let Some(c) = f.category {
        q.push(" AND (o.category = ")
            .bind(P::T(c.to_owned()))
            .push(" OR (o.category = '' AND o.category_suggested = ")
            .bind(P::T(c.to_owned()))
            .push("))");
    }
    if f.overdue {
        q.push(" AND o.due_on < ").bind(P::D(today));
    }
    if !f.q.is_empty() {
        if pg {
            // The product searches windows of ids (`liaison_db::opinions::list_search`);
            // this is its whole-table form.
            q.push(" AND o.id IN (SELECT opinion_id FROM opinion_text WHERE search_vector @@ plainto_tsquery('simple', ")
                .bind(P::T(f.q.join(" ")))
                .push("))");
        } else if proposed {
            // In the FROM clause instead (see `from_clause`).
        } else {
            let expr =
                f.q.iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" ");
            q.push(" AND o.id IN (SELECT -rowid FROM opinion_fts WHERE opinion_fts MATCH ")
                .bind(P::T(expr))
                .push(")");
        }
    }
}

/// The load's cases: (label, scope, filter).
fn probes() -> Vec<(&'static str, Scope, Filter)> {
    let hy_county = "/1/2/39/";
    let city = "/1/2/";
    vec![
        (
            "inbox station 待受理",
            Scope::Station(19),
            Filter {
                states: vec!["submitted"],
                ..Default::default()
            },
        ),
        (
            "inbox station 在办",
            Scope::Station(19),
            Filter {
                states: vec![
                    "assigned",
                    "acknowledged",
                    "handling",
                    "extension_requested",
                    "rehandling",
                ],
                ..Default::default()
            },
        ),
        (
            "inbox station 超期",
            Scope::Station(19),
            Filter {
                overdue: true,
                ..Default::default()
            },
        ),
        (
            "inbox county 待审核",
            Scope::Region(hy_county),
            Filter {
                states: vec!["replied", "return_requested", "extension_requested"],
                ..Default::default()
            },
        ),
        (
            "inbox county 超期",
            Scope::Region(hy_county),
            Filter {
                overdue: true,
                ..Default::default()
            },
        ),
        (
            "inbox county 分类+在办",
            Scope::Region(hy_county),
            Filter {
                states: OPEN.to_vec(),
                category: Some("城乡建设"),
                ..Default::default()
            },
        ),
        (
            "inbox city 超期",
            Scope::Region(city),
            Filter {
                overdue: true,
                ..Default::default()
            },
        ),
        (
            "inbox city 区县待受理",
            Scope::Region(hy_county),
            Filter {
                states: vec!["submitted"],
                ..Default::default()
            },
        ),
        (
            "inbox city 督办",
            Scope::Region(city),
            Filter {
                states: vec!["supervised"],
                ..Default::default()
            },
        ),
        (
            "search city 小区",
            Scope::Region(city),
            Filter {
                q: vec!["小区"],
                ..Default::default()
            },
        ),
        (
            "search city 噪音 扰民",
            Scope::Region(city),
            Filter {
                q: vec!["噪音", "扰民"],
                ..Default::default()
            },
        ),
        (
            "search county 公积金",
            Scope::Region(hy_county),
            Filter {
                q: vec!["公积金"],
                ..Default::default()
            },
        ),
        (
            "search station 学校",
            Scope::Station(19),
            Filter {
                q: vec!["学校"],
                ..Default::default()
            },
        ),
        ("ledger city 全部", Scope::Region(city), Filter::default()),
        (
            "ledger city 分类",
            Scope::Region(city),
            Filter {
                category: Some("城乡建设"),
                ..Default::default()
            },
        ),
    ]
}

async fn run(store: &Store, q: &Q, plan: bool) -> Result<(Vec<String>, f64, i64)> {
    macro_rules! bind_all {
        ($query:expr) => {{
            let mut x = $query;
            for p in &q.params {
                x = match p {
                    P::I(v) => x.bind(*v),
                    P::T(v) => x.bind(v.clone()),
                    P::D(v) => x.bind(*v),
                };
            }
            x
        }};
    }
    let mut lines = Vec::new();
    if plan {
        match store {
            Store::Sqlite(pool) => {
                let sql = format!("EXPLAIN QUERY PLAN {}", q.sql);
                let rows = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)))
                    .fetch_all(pool)
                    .await?;
                for r in rows {
                    let detail: String = r.try_get("detail")?;
                    lines.push(detail);
                }
            }
            Store::Postgres(pool) => {
                let sql = format!("EXPLAIN (ANALYZE, BUFFERS) {}", q.sql);
                let rows = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)))
                    .fetch_all(pool)
                    .await?;
                for r in rows {
                    let line: String = r.try_get(0)?;
                    lines.push(line);
                }
            }
        }
    }
    let t = Instant::now();
    let n = match store {
        Store::Sqlite(pool) => bind_all!(sqlx::query(sqlx::AssertSqlSafe(q.sql.clone())))
            .fetch_all(pool)
            .await?
            .len(),
        Store::Postgres(pool) => bind_all!(sqlx::query(sqlx::AssertSqlSafe(q.sql.clone())))
            .fetch_all(pool)
            .await?
            .len(),
    };
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    // For a COUNT the value matters, not the one row.
    let count = if q.sql.contains("COUNT(*)") {
        match store {
            Store::Sqlite(pool) => {
                bind_all!(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(
                    q.sql.clone()
                )))
                .fetch_one(pool)
                .await?
            }
            Store::Postgres(pool) => {
                bind_all!(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(
                    q.sql.clone()
                )))
                .fetch_one(pool)
                .await?
            }
        }
    } else {
        n as i64
    };
    Ok((lines, ms, count))
}

/// Prints the plan and the best of `runs` timings of the count and the page of every case.
pub async fn explain(store: &Store, proposed: bool, runs: usize, only: Option<&str>) -> Result<()> {
    let pg = matches!(store, Store::Postgres(_));
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date();
    for (label, scope, f) in probes() {
        if only.is_some_and(|o| !label.contains(o)) {
            continue;
        }
        let mut count = Q::new(if proposed {
            "SELECT COUNT(*) FROM (SELECT 1"
        } else {
            "SELECT COUNT(*)"
        });
        from_clause(&mut count, pg, &f, proposed);
        count.push(" WHERE 1=1");
        where_clause(&mut count, pg, &scope, &f, proposed, today);
        if proposed {
            count.push(" LIMIT 1001) AS capped");
        }
        let mut page = Q::new(COLUMNS);
        let order = from_clause(&mut page, pg, &f, proposed);
        page.push(JOINS).push(" WHERE 1=1");
        where_clause(&mut page, pg, &scope, &f, proposed, today);
        page.push(&format!(" ORDER BY {order} LIMIT 21"));
        println!(
            "\n### {label} ({})",
            if proposed { "proposed" } else { "current" }
        );
        for (what, q) in [("count", &count), ("page", &page)] {
            let (plan, _, n) = run(store, q, true).await?;
            let mut best = f64::MAX;
            for _ in 0..runs.max(1) {
                best = best.min(run(store, q, false).await?.1);
            }
            println!("{what}: {best:.1} ms (best of {runs}), result {n}");
            println!("  {}", q.sql);
            for l in plan {
                println!("    {l}");
            }
        }
    }
    Ok(())
}

/// Times `liaison_db::opinions::list` — the product's page and total with all of its queries —
/// for every case, one request at a time: best and median of `runs`.
pub async fn product(url: &str, runs: usize, only: Option<&str>) -> Result<()> {
    use liaison_core::scope::Scope as S;
    let db = liaison_db::Db::connect(&liaison_db::ConnectOptions {
        url: url.to_owned(),
        max_connections: 1,
        create_if_missing: false,
    })
    .await?;
    println!("| case | best ms | median ms | items | total |");
    println!("|---|---|---|---|---|");
    for (label, scope, f) in probes() {
        if only.is_some_and(|o| !label.contains(o)) {
            continue;
        }
        let scope = match scope {
            Scope::Region(p) => S::RegionSubtree(p.to_owned()),
            Scope::Station(id) => S::Station(id),
        };
        let filter = liaison_db::opinions::OpinionFilter {
            states: f.states.iter().map(|s| (*s).to_owned()).collect(),
            category: f.category.map(str::to_owned),
            overdue: f.overdue,
            q: f.q.iter().map(|s| (*s).to_owned()).collect(),
            limit: 20,
            ..Default::default()
        };
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            let page = liaison_db::opinions::list(&db, &scope, &filter).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            last = Some(page);
        }
        times.sort_by(f64::total_cmp);
        let page = last.expect("one run");
        println!(
            "| {label} | {:.1} | {:.1} | {} | {}{} |",
            times[0],
            times[times.len() / 2],
            page.items.len(),
            page.total,
            if page.total_capped { "+" } else { "" }
        );
    }
    db.close().await;
    Ok(())
}

/// Times `liaison_db::opinions::list` for `n` searches per kind of place (the city, a random
/// county, a random station with its points), words drawn as the load draws them, one request
/// at a time, and prints each kind's percentiles.
pub async fn searches(url: &str, corpus: &crate::corpus::Corpus, n: usize) -> Result<()> {
    use liaison_core::scope::Scope as S;
    use rand::{SeedableRng, seq::IndexedRandom};
    let db = liaison_db::Db::connect(&liaison_db::ConnectOptions {
        url: url.to_owned(),
        max_connections: 1,
        create_if_missing: false,
    })
    .await?;
    let store = crate::store::Store::connect(url, 1).await?;
    let (counties, stations) = store.search_places().await?;
    store.close().await;
    let city = "/1/2/".to_owned();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let queries: Vec<String> = (0..n).map(|_| corpus.query(&mut rng)).collect();
    println!("| place | searches | mean ms | p50 ms | p95 ms | max ms | slowest |");
    println!("|---|---|---|---|---|---|---|");
    for kind in ["city", "county", "station"] {
        let mut times = Vec::new();
        for q in &queries {
            let scope = match kind {
                "city" => S::RegionSubtree(city.clone()),
                "county" => S::RegionSubtree(counties.choose(&mut rng).expect("counties").clone()),
                _ => S::Station(*stations.choose(&mut rng).expect("stations")),
            };
            let filter = liaison_db::opinions::OpinionFilter {
                q: q.split(' ').map(str::to_owned).collect(),
                limit: 20,
                ..Default::default()
            };
            let t = Instant::now();
            liaison_db::opinions::list(&db, &scope, &filter).await?;
            times.push((t.elapsed().as_secs_f64() * 1000.0, q.clone()));
        }
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)].0;
        let (worst, worst_q) = times.last().expect("searches").clone();
        let mean = times.iter().map(|t| t.0).sum::<f64>() / times.len() as f64;
        println!(
            "| {kind} | {} | {mean:.1} | {:.1} | {:.1} | {worst:.1} | {worst_q} |",
            times.len(),
            at(0.5),
            at(0.95),
        );
    }
    db.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_bind_order() {
        let mut q = Q::new("SELECT 1 WHERE 1=1");
        where_clause(
            &mut q,
            false,
            &Scope::Station(3),
            &Filter {
                states: vec!["a", "b"],
                ..Default::default()
            },
            false,
            time::macros::date!(2026 - 01 - 01),
        );
        assert!(q.sql.contains("id = $1 OR parent_id = $2") && q.sql.contains("IN ($3,$4)"));
        assert_eq!(q.params.len(), 4);
    }
}
