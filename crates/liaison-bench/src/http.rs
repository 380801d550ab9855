//! The HTTP side of the bench: intake throughput (with the raw-insert comparison) and the
//! latency of the staff inbox, full-text search and public tracking under concurrent clients.
//! Every loop is bounded by a request count or a deadline, and only loopback addresses are
//! accepted as targets.

use crate::corpus::Corpus;
use crate::generate::{self, Org};
use crate::stats::{MemoryWatch, Report, Samples};
use crate::store::Store;
use anyhow::{Context, Result, bail};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Refuses anything but a loopback base URL: the bench generates heavy load.
pub fn check_local(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .context("地址须为 http://127.0.0.1:端口")?;
    let host = rest.split(['/', ':']).next().unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("只允许对本机（127.0.0.1）施压，收到的是 {host}");
    }
    Ok(())
}

fn client(concurrency: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Prints a line with the machine load, as the figures depend on it.
pub fn print_load(label: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = load.split_whitespace();
    println!(
        "[{label}] load average (1/5/15 min): {} {} {} on {} cores",
        it.next().unwrap_or("?"),
        it.next().unwrap_or("?"),
        it.next().unwrap_or("?"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// Prints the server's memory and the CPU it used per request over the measured period.
fn print_server(watch: Option<MemoryWatch>, requests: usize, wall: Duration) {
    if let Some(w) = watch {
        let (peak, last, hwm, cpu, own) = w.stop();
        println!(
            "server memory: highest VmRSS seen {:.1} MB, at the end {:.1} MB, VmHWM (peak since start) {:.1} MB",
            peak as f64 / 1024.0,
            last as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
        println!(
            "server CPU: {cpu:.1} s in {:.1} s ({:.2} cores busy), {:.2} ms CPU per request; the bench client itself used {:.2} cores",
            wall.as_secs_f64(),
            cpu / wall.as_secs_f64(),
            cpu * 1000.0 / requests.max(1) as f64,
            own / wall.as_secs_f64()
        );
    }
}

/// Settings of the intake run.
pub struct IntakeArgs<'a> {
    /// Server base URL.
    pub url: &'a str,
    /// Submissions.
    pub count: u64,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Texts.
    pub corpus: &'a Corpus,
    /// Stations (codes for the form, ids for the raw inserts).
    pub org: &'a Org,
    /// The server's database, for the raw-insert comparison.
    pub store: &'a Store,
    /// The installation's keys (raw rows are encrypted like received ones).
    pub keys: &'a liaison_core::protect::Keys,
    /// Server process to watch.
    pub server_pid: Option<u32>,
    /// Seed.
    pub seed: u64,
}

struct Submission {
    station: usize,
    text: crate::corpus::Text,
    name: String,
    phone: String,
}

/// `count` submissions with distinct phones (the per-phone limit allows ten in a burst).
fn submissions(a: &IntakeArgs<'_>) -> Vec<Submission> {
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let base: u64 = rng.random_range(0..50_000_000);
    (0..a.count)
        .map(|i| Submission {
            station: rng.random_range(0..a.org.stations.len()),
            text: a.corpus.compose(&mut rng),
            name: generate::name(&mut rng),
            phone: format!("139{:08}", (base + i) % 100_000_000),
        })
        .collect()
}

/// HTTP intake at `concurrency`, then the same rows as raw single-row inserts.
pub async fn intake(a: IntakeArgs<'_>) -> Result<()> {
    check_local(a.url)?;
    let subs = Arc::new(submissions(&a));
    let http = client(a.concurrency)?;
    let run = time::OffsetDateTime::now_utc().unix_timestamp();
    print_load("intake start");
    let watch = a.server_pid.map(MemoryWatch::start);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (http, subs, next) = (http.clone(), subs.clone(), next.clone());
        let url = format!("{}/api/v1/opinions", a.url);
        let stations: Vec<String> = a.org.stations.iter().map(|s| s.code.clone()).collect();
        tasks.push(tokio::spawn(async move {
            let mut s = Samples::default();
            let mut statuses: Vec<u16> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(sub) = subs.get(i as usize) else {
                    break;
                };
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .header("Idempotency-Key", format!("bench-{run}-{i}"))
                    .json(&json!({
                        "station_code": stations[sub.station],
                        "title": sub.text.title,
                        "body": sub.text.body,
                        "name": sub.name,
                        "phone": sub.phone,
                        "anonymous": false,
                        "confidential": false,
                        "public": false,
                    }))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let _ = r.bytes().await;
                        s.push(t.elapsed());
                    }
                    Ok(r) => {
                        s.errors += 1;
                        statuses.push(r.status().as_u16());
                    }
                    Err(_) => {
                        s.errors += 1;
                        statuses.push(0);
                    }
                }
            }
            (s, statuses)
        }));
    }
    let mut all = Samples::default();
    let mut statuses: Vec<u16> = Vec::new();
    for t in tasks {
        let (s, st) = t.await?;
        all.merge(&s);
        statuses.extend(st);
    }
    let wall = started.elapsed();
    print_load("intake end");
    println!(
        "HTTP intake: {} accepted in {:.2} s = {:.0} opinions/s at {} clients",
        all.count(),
        wall.as_secs_f64(),
        all.count() as f64 / wall.as_secs_f64(),
        a.concurrency
    );
    println!("{}", all.line("POST /api/v1/opinions", wall));
    if !statuses.is_empty() {
        statuses.sort_unstable();
        statuses.dedup();
        println!("failed statuses (0 = transport error): {statuses:?}");
    }
    print_server(watch, all.count(), wall);

    // The same rows, prepared outside the clock (classification, segmentation, encryption), then
    // inserted one per transaction: the storage floor without HTTP, validation and text work.
    let now = time::OffsetDateTime::now_utc();
    let rows: Vec<generate::Row> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            generate::submitted(
                a.keys,
                &a.org.stations[s.station],
                &s.text,
                &s.name,
                &s.phone,
                format!("LB{:06}{:06}", run % 1_000_000, i),
                now,
            )
        })
        .collect();
    let rows = Arc::new(rows);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (store, rows, next) = (a.store.clone(), rows.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Samples::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(r) = rows.get(i as usize) else {
                    break;
                };
                let t = Instant::now();
                match store.insert_one(r).await {
                    Ok(()) => s.push(t.elapsed()),
                    Err(e) => {
                        if s.errors == 0 {
                            eprintln!("raw insert failed: {e:#}");
                        }
                        s.errors += 1;
                    }
                }
            }
            s
        }));
    }
    let mut raw = Samples::default();
    for t in tasks {
        raw.merge(&t.await?);
    }
    let wall = started.elapsed();
    println!(
        "raw single-row inserts: {} in {:.2} s = {:.0} rows/s at {} tasks (one INSERT{} per transaction)",
        raw.count(),
        wall.as_secs_f64(),
        raw.count() as f64 / wall.as_secs_f64(),
        a.concurrency,
        match a.store {
            Store::Sqlite(_) => " + FTS row",
            Store::Postgres(_) => "",
        }
    );
    println!("{}", raw.line("raw INSERT", wall));
    Ok(())
}

/// A signed-in staff member for the load.
#[derive(Debug, Clone)]
struct Clerk {
    token: String,
}

/// Reads `<data dir>/demo-accounts.tsv`: (role, username, password, scope).
pub fn accounts(data_dir: &Path) -> Result<Vec<(String, String, String, String)>> {
    let path = data_dir.join("demo-accounts.tsv");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("无法读取 {}：请先运行 `liaison demo`", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() >= 4).then(|| (f[0].into(), f[1].into(), f[2].into(), f[3].into()))
        })
        .collect())
}

/// The accounts the load signs in with: the city office, every county office and eight
/// station clerks of county hubs and township stations (`XX` or `XX-YY` codes).
pub fn load_accounts(
    all: &[(String, String, String, String)],
) -> Vec<(String, String, String, String)> {
    let mut stations: Vec<_> = all
        .iter()
        .filter(|a| a.0 == "station_staff" && a.3.matches('-').count() <= 1)
        .cloned()
        .collect();
    stations.sort_by(|a, b| a.3.cmp(&b.3));
    // Spread over counties: every fourth of the sorted list.
    let stations: Vec<_> = stations.into_iter().step_by(4).take(8).collect();
    all.iter()
        .filter(|a| a.0 == "city_staff" || a.0 == "county_staff")
        .cloned()
        .chain(stations)
        .collect()
}

async fn sign_in(http: &reqwest::Client, base: &str, user: &str, password: &str) -> Result<String> {
    let r = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{user} 登录失败（{status}）：{body}");
    }
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("登录应答中没有 token")
}

/// Settings of the read load.
pub struct LoadArgs<'a> {
    /// Server base URL.
    pub url: &'a str,
    /// Data directory (accounts, tracking sample).
    pub data_dir: &'a Path,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Measured seconds per scenario.
    pub duration: Duration,
    /// Unmeasured seconds before each scenario.
    pub warmup: Duration,
    /// Scenarios to run in order.
    pub scenarios: Vec<String>,
    /// Texts for search words.
    pub corpus: &'a Corpus,
    /// Server process to watch.
    pub server_pid: Option<u32>,
    /// Level-1 categories.
    pub categories: Vec<String>,
    /// Seed of the request mix.
    pub seed: u64,
}

struct Target {
    city: Clerk,
    counties: Vec<(Clerk, String)>,
    stations: Vec<Clerk>,
    categories: Vec<String>,
    tracking: Vec<(String, String)>,
    queries: Vec<String>,
}

const OPEN_IN_HANDS: &str = "assigned,acknowledged,handling,extension_requested,rehandling";
const OPEN_ALL: &str = "submitted,accepted,assigned,acknowledged,handling,extension_requested,replied,reviewed,feedback_sent,evaluated,rehandling,supervised,return_requested";

/// One request of a scenario: (label, path and query, bearer token).
fn request(t: &Target, scenario: &str, rng: &mut SmallRng) -> (String, String, Option<String>) {
    let category = t.categories.choose(rng).cloned().unwrap_or_default();
    let enc = |s: &str| form_urlencode(s);
    match scenario {
        "inbox" => {
            let (county, county_code) = t.counties.choose(rng).expect("counties");
            let station = t.stations.choose(rng).expect("stations");
            let (label, who, query) = match rng.random_range(0..9) {
                0 => (
                    "inbox station 待受理",
                    station,
                    "state=submitted".to_owned(),
                ),
                1 => (
                    "inbox station 在办",
                    station,
                    format!("state={OPEN_IN_HANDS}"),
                ),
                2 => ("inbox station 超期", station, "overdue=true".to_owned()),
                3 => (
                    "inbox county 待审核",
                    county,
                    "state=replied,return_requested,extension_requested".to_owned(),
                ),
                4 => ("inbox county 超期", county, "overdue=true".to_owned()),
                5 => (
                    "inbox county 分类+在办",
                    county,
                    format!("category={}&state={OPEN_ALL}", enc(&category)),
                ),
                6 => ("inbox city 超期", &t.city, "overdue=true".to_owned()),
                7 => (
                    "inbox city 区县待受理",
                    &t.city,
                    format!("region={county_code}&state=submitted"),
                ),
                _ => ("inbox city 督办", &t.city, "state=supervised".to_owned()),
            };
            (
                label.to_owned(),
                format!("/api/v1/opinions?{query}&limit=20"),
                Some(who.token.clone()),
            )
        }
        "ledger" => {
            let (county, _) = t.counties.choose(rng).expect("counties");
            let (label, who, query) = match rng.random_range(0..3) {
                0 => ("ledger city 全部", &t.city, String::new()),
                1 => (
                    "ledger city 分类",
                    &t.city,
                    format!("category={}", enc(&category)),
                ),
                _ => ("ledger county 全部", county, String::new()),
            };
            (
                label.to_owned(),
                format!("/api/v1/opinions?{query}&limit=20"),
                Some(who.token.clone()),
            )
        }
        "search" => {
            let q = t.queries.choose(rng).expect("queries");
            let (county, _) = t.counties.choose(rng).expect("counties");
            let station = t.stations.choose(rng).expect("stations");
            let (label, who) = match rng.random_range(0..3) {
                0 => ("search city", &t.city),
                1 => ("search county", county),
                _ => ("search station", station),
            };
            (
                label.to_owned(),
                format!("/api/v1/opinions?q={}&limit=20", enc(q)),
                Some(who.token.clone()),
            )
        }
        "track" => {
            let (no, phone) = t.tracking.choose(rng).expect("tracking sample");
            (
                "track".to_owned(),
                format!(
                    "/api/v1/opinions/track?tracking_no={no}&phone_last4={}",
                    &phone[phone.len() - 4..]
                ),
                None,
            )
        }
        _ => {
            // Mixed: what a busy day looks like — mostly inbox pages, some searches and
            // citizens checking their items.
            let pick = match rng.random_range(0..10) {
                0..5 => "inbox",
                5..7 => "search",
                _ => "track",
            };
            request(t, pick, rng)
        }
    }
}

/// Percent-encodes a query value.
fn form_urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(*b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Reads the tracking sample the generator wrote.
fn tracking_sample(data_dir: &Path) -> Result<Vec<(String, String)>> {
    let path = data_dir.join("bench-tracking.tsv");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "无法读取 {}：请先运行 liaison-bench generate",
            path.display()
        )
    })?;
    let v: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    if v.is_empty() {
        bail!("{} 是空的", path.display());
    }
    Ok(v)
}

/// Runs each scenario for the warm-up then the measured duration at `concurrency` clients.
pub async fn load(a: LoadArgs<'_>) -> Result<()> {
    check_local(a.url)?;
    let http = client(a.concurrency)?;
    let accts = load_accounts(&accounts(a.data_dir)?);
    let mut city = None;
    let mut counties = Vec::new();
    let mut stations = Vec::new();
    for (role, user, password, scope) in &accts {
        let clerk = Clerk {
            token: sign_in(&http, a.url, user, password).await?,
        };
        match role.as_str() {
            "city_staff" => city = Some(clerk),
            "county_staff" => counties.push((clerk, scope.clone())),
            _ => stations.push(clerk),
        }
    }
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let target = Arc::new(Target {
        city: city.context("演示账号中没有市级账号")?,
        counties,
        stations,
        categories: a.categories.clone(),
        tracking: tracking_sample(a.data_dir)?,
        queries: (0..2000).map(|_| a.corpus.query(&mut rng)).collect(),
    });
    if target.counties.is_empty() || target.stations.is_empty() {
        bail!("演示账号中缺少区县或联络站账号");
    }
    for scenario in &a.scenarios {
        println!();
        println!(
            "== {scenario}: {} clients, {} s (after {} s warm-up)",
            a.concurrency,
            a.duration.as_secs(),
            a.warmup.as_secs()
        );
        run_for(
            &http,
            a.url,
            &target,
            scenario,
            a.concurrency,
            a.warmup,
            a.seed,
        )
        .await?;
        print_load(scenario);
        let watch = a.server_pid.map(MemoryWatch::start);
        let started = Instant::now();
        let report = run_for(
            &http,
            a.url,
            &target,
            scenario,
            a.concurrency,
            a.duration,
            a.seed + 1,
        )
        .await?;
        let wall = started.elapsed();
        for (label, s) in &report.by_label {
            println!("{}", s.line(label, wall));
        }
        let total = report.total();
        println!("{}", total.line(&format!("ALL {scenario}"), wall));
        print_server(watch, total.count() + total.errors as usize, wall);
    }
    Ok(())
}

async fn run_for(
    http: &reqwest::Client,
    base: &str,
    target: &Arc<Target>,
    scenario: &str,
    concurrency: usize,
    duration: Duration,
    seed: u64,
) -> Result<Report> {
    if duration.is_zero() {
        return Ok(Report::default());
    }
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (http, target) = (http.clone(), target.clone());
        let (base, scenario) = (base.to_owned(), scenario.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(seed * 1000 + w as u64);
            let mut report = Report::default();
            let mut reported = false;
            while Instant::now() < deadline {
                let (label, path, token) = request(&target, &scenario, &mut rng);
                let mut req = http.get(format!("{base}{path}"));
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let t = Instant::now();
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        report.entry(&label).push(t.elapsed());
                    }
                    Ok(r) => {
                        if !reported {
                            reported = true;
                            let status = r.status();
                            let body = r.text().await.unwrap_or_default();
                            eprintln!(
                                "{label}: {status} {}",
                                body.chars().take(200).collect::<String>()
                            );
                        }
                        report.entry(&label).errors += 1;
                    }
                    Err(e) => {
                        if !reported {
                            reported = true;
                            eprintln!("{label}: {e}");
                        }
                        report.entry(&label).errors += 1;
                    }
                }
            }
            report
        }));
    }
    let mut all = Report::default();
    for t in tasks {
        all.merge(&t.await?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(check_local("http://127.0.0.1:8080").is_ok());
        assert!(check_local("http://localhost:1/x").is_ok());
        assert!(check_local("http://10.0.0.1:8080").is_err());
        assert!(check_local("https://127.0.0.1").is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(form_urlencode("停车 a&b"), "%E5%81%9C%E8%BD%A6%20a%26b");
    }

    #[test]
    fn load_accounts_are_the_city_counties_and_some_station_clerks() {
        let row =
            |r: &str, u: &str, s: &str| (r.to_owned(), u.to_owned(), "pw".to_owned(), s.to_owned());
        let mut all = vec![
            row("city_staff", "city", "331000"),
            row("county_staff", "county.jj", "331002"),
        ];
        for i in 0..40 {
            all.push(row(
                "station_staff",
                &format!("s{i}"),
                &format!("JJ-A{i:02}"),
            ));
            all.push(row(
                "station_staff",
                &format!("p{i}"),
                &format!("JJ-A{i:02}-01"),
            ));
        }
        let picked = load_accounts(&all);
        assert_eq!(picked.len(), 2 + 8);
        assert!(picked.iter().all(|a| a.3.matches('-').count() <= 1));
    }
}
