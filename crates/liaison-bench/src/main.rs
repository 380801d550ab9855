//! `liaison-bench`: measures 民意收集处理 at scale (issue 3) on SQLite and PostgreSQL.
//!
//! - `generate` fills a database that `liaison demo` prepared with a large, realistic opinion
//!   set (see [`generate`]) and writes a tracking sample for the load.
//! - `load` measures inbox pages, full-text search and tracking under concurrent clients, and
//!   the server's resident memory meanwhile.
//! - `intake` measures HTTP intake throughput beside raw single-row inserts.
//! - `cpu` times the intake's per-row text and crypto work on one core.
//! - `explain` prints the plans and timings of the load's list queries (current and proposed).
//! - `rss` prints a process's resident memory.
//!
//! `run.sh` next to this crate runs all of it for one backend. Results: `docs/benchmarks.md`.

mod corpus;
mod explain;
mod generate;
mod http;
mod stats;
mod store;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "liaison-bench",
    about = "Benchmarks of Liaison's opinion handling"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Add generated opinions to a database prepared by `liaison demo`.
    Generate {
        /// Database URL (sqlite://… or postgres://…).
        #[arg(long)]
        database_url: String,
        /// The server's data directory (master.key; the tracking sample is written there).
        #[arg(long)]
        data_dir: PathBuf,
        /// How many opinions.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// The TipDM corpus directory.
        #[arg(long, default_value = "/work/shared/data/gov-messages")]
        corpus: PathBuf,
        /// Days the items are spread over, ending yesterday.
        #[arg(long, default_value_t = 730)]
        days: u32,
        /// Rows per transaction.
        #[arg(long, default_value_t = 5000)]
        batch: u64,
        /// Threads preparing rows (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// HTTP intake throughput, then raw single-row inserts of the same rows.
    Intake {
        /// Server base URL (loopback only).
        #[arg(long)]
        url: String,
        /// The server's database URL.
        #[arg(long)]
        database_url: String,
        /// The server's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Submissions.
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// The TipDM corpus directory.
        #[arg(long, default_value = "/work/shared/data/gov-messages")]
        corpus: PathBuf,
        /// Server process whose memory to watch.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Seed.
        #[arg(long, default_value_t = 2)]
        seed: u64,
    },
    /// Inbox, search and tracking latency under concurrent clients.
    Load {
        /// Server base URL (loopback only).
        #[arg(long)]
        url: String,
        /// The server's database URL (to let the bench accounts use the API).
        #[arg(long)]
        database_url: String,
        /// The server's data directory (demo accounts, tracking sample).
        #[arg(long)]
        data_dir: PathBuf,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Measured seconds per scenario.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Unmeasured warm-up seconds before each scenario.
        #[arg(long, default_value_t = 5)]
        warmup: u64,
        /// Scenarios, comma-separated: inbox, search, track, mixed, ledger.
        #[arg(long, default_value = "inbox,search,track,mixed,ledger")]
        scenarios: String,
        /// The TipDM corpus directory (search words).
        #[arg(long, default_value = "/work/shared/data/gov-messages")]
        corpus: PathBuf,
        /// Server process whose memory to watch.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Seed.
        #[arg(long, default_value_t = 3)]
        seed: u64,
    },
    /// Time the intake's per-row CPU work (classify, segment, encrypt) on one core.
    Cpu {
        /// The TipDM corpus directory.
        #[arg(long, default_value = "/work/shared/data/gov-messages")]
        corpus: PathBuf,
        /// Texts.
        #[arg(long, default_value_t = 5000)]
        count: u64,
    },
    /// Query plans and single-request timings of the load's list queries.
    Explain {
        /// Database URL.
        #[arg(long)]
        database_url: String,
        /// Run the proposed rewrites instead of the product's current SQL.
        #[arg(long)]
        proposed: bool,
        /// Time the product's own list function (`liaison_db::opinions::list`: page and
        /// total, every query it makes) per case instead of printing plans.
        #[arg(long, conflicts_with = "proposed")]
        product: bool,
        /// Timed runs per query (the best is printed).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Only cases whose label contains this.
        #[arg(long)]
        only: Option<String>,
        /// With `--product`: time this many searches instead, words drawn as the load draws
        /// them, each in the city, a random county and a random station, and print the
        /// percentiles of each (one request at a time: the cost, not the queueing).
        #[arg(long, default_value_t = 0, requires = "product")]
        searches: usize,
        /// Corpus for `--searches`.
        #[arg(long, default_value = "/work/shared/data/gov-messages")]
        corpus: PathBuf,
    },
    /// Print a process's resident memory (VmRSS, VmHWM), once or every second for a while.
    Rss {
        /// Process id.
        #[arg(long)]
        pid: u32,
        /// Seconds to sample (0: once).
        #[arg(long, default_value_t = 0)]
        seconds: u64,
    },
}

/// The accounts `load` signs in with get `must_change_password = FALSE` (they are seeded
/// with a first-login password change, which the API otherwise enforces).
async fn unlock_for_load(store: &store::Store, data_dir: &Path) -> Result<()> {
    let accts = http::load_accounts(&http::accounts(data_dir)?);
    let names: Vec<String> = accts.iter().map(|a| a.1.clone()).collect();
    store.unlock_accounts(&names).await?;
    println!(
        "bench accounts set to must_change_password = FALSE: {}",
        names.join(", ")
    );
    Ok(())
}

fn keys(data_dir: &Path) -> Result<liaison_core::protect::Keys> {
    let path = data_dir.join("master.key");
    let hex = std::fs::read_to_string(&path)
        .with_context(|| format!("无法读取主密钥 {}", path.display()))?;
    Ok(liaison_core::protect::Keys::from_master_hex(&hex)?)
}

/// Options of `generate`.
struct GenerateArgs {
    url: String,
    data_dir: PathBuf,
    count: u64,
    corpus: PathBuf,
    days: u32,
    batch: u64,
    threads: Option<usize>,
    seed: u64,
}

/// Generates on worker threads and inserts on this thread, batch by batch in order, so that
/// ids and received times grow together.
fn generate_cmd(rt: &tokio::runtime::Runtime, a: GenerateArgs) -> Result<()> {
    let corpus = corpus::Corpus::load(&a.corpus)?;
    let keys = keys(&a.data_dir)?;
    let (org, first_id) = rt.block_on(async {
        let store = store::Store::connect(&a.url, 2).await?;
        let org = store.load_org().await?;
        let first_id = store.next_id().await?;
        store.close().await;
        anyhow::Ok((org, first_id))
    })?;
    let calendar = liaison_core::workdays::Calendar::builtin();
    let now = time::OffsetDateTime::now_utc();
    let count = a.count;
    let batch = a.batch;
    let plan = generate::Plan {
        corpus: &corpus,
        org: &org,
        keys: &keys,
        calendar: &calendar,
        first_id,
        count,
        now,
        days: a.days,
        seed: a.seed,
    };
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    http::print_load("generate start");
    println!(
        "generating {count} opinions over {} stations, {} days, ids from {first_id}, {threads} threads, {batch} per transaction",
        org.stations.len(),
        a.days
    );
    let started = Instant::now();
    let mut bulk = rt.block_on(store::Bulk::start(&a.url, &a.data_dir))?;
    println!(
        "secondary indexes dropped for the load ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let batches = count.div_ceil(batch);
    let next = std::sync::atomic::AtomicU64::new(0);
    let sample_path = a.data_dir.join("bench-tracking.tsv");
    let mut sample = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&sample_path)?;
    let mut states: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut overdue = 0u64;
    let today = now.to_offset(time::macros::offset!(+8)).date();
    let mut sampled = 0u64;
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Vec<generate::Row>)>(threads * 2);
        for _ in 0..threads {
            let tx = tx.clone();
            let (plan, next) = (&plan, &next);
            scope.spawn(move || {
                loop {
                    let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    let first = b * batch;
                    let rows = generate::rows(plan, first, batch.min(count - first));
                    if tx.send((b, rows)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<u64, Vec<generate::Row>> = BTreeMap::new();
        let mut want = 0u64;
        let mut done = 0u64;
        let mut last_print = Instant::now();
        for (b, rows) in rx {
            pending.insert(b, rows);
            while let Some(rows) = pending.remove(&want) {
                for r in &rows {
                    *states.entry(r.state).or_default() += 1;
                    if r.due_on.is_some_and(|d| d < today) {
                        overdue += 1;
                    }
                    if !r.phone.is_empty() && r.id % 50 == 0 && sampled < 20_000 {
                        writeln!(sample, "{}\t{}", r.tracking_no, r.phone)?;
                        sampled += 1;
                    }
                }
                // On error the workers stop at their next send, as the receiver is dropped.
                rt.block_on(bulk.insert(&rows))?;
                done += rows.len() as u64;
                want += 1;
                if last_print.elapsed() > Duration::from_secs(10) || done == count {
                    last_print = Instant::now();
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "  {done}/{count} rows, {secs:.0} s, {:.0} rows/s",
                        done as f64 / secs
                    );
                }
            }
        }
        Ok(())
    })?;
    let loaded = started.elapsed();
    println!(
        "rows written in {:.1} s; rebuilding indexes …",
        loaded.as_secs_f64()
    );
    rt.block_on(bulk.finish(&a.data_dir))?;
    let total = started.elapsed();
    http::print_load("generate end");
    println!(
        "generated {count} opinions in {:.1} s ({:.0} rows/s; writing {:.1} s, index build {:.1} s)",
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        loaded.as_secs_f64(),
        (total - loaded).as_secs_f64()
    );
    println!("state mix of the generated rows:");
    for (s, n) in &states {
        println!(
            "  {s:<24} {n:>8}  {:>5.1} %",
            *n as f64 * 100.0 / count as f64
        );
    }
    println!("  overdue (due date before today): {overdue}");
    println!(
        "tracking sample: {sampled} pairs appended to {}",
        sample_path.display()
    );
    Ok(())
}

fn cpu_cmd(corpus_dir: &Path, count: u64) -> Result<()> {
    use rand::SeedableRng;
    let corpus = corpus::Corpus::load(corpus_dir)?;
    let keys = liaison_core::protect::Keys::from_master(&[1u8; 32]);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
    let texts: Vec<corpus::Text> = (0..count).map(|_| corpus.compose(&mut rng)).collect();
    // Load the dictionary and the model outside the clock.
    let _ = liaison_text::classify::classify("路灯", "路灯不亮");
    let _ = liaison_text::search_text::segment_for_index("路灯不亮");
    let t = Instant::now();
    for x in &texts {
        std::hint::black_box(liaison_text::classify::classify(&x.title, &x.body));
    }
    let classify = t.elapsed();
    let t = Instant::now();
    for x in &texts {
        std::hint::black_box(liaison_text::search_text::segment_for_index(&format!(
            "{}  {}",
            x.title, x.body
        )));
    }
    let segment = t.elapsed();
    let t = Instant::now();
    for i in 0..count {
        let phone = format!("139{i:08}");
        std::hint::black_box((
            keys.encrypt("张三"),
            keys.encrypt(&phone),
            keys.blind_index(&phone),
            keys.blind_index(&phone),
        ));
    }
    let crypto = t.elapsed();
    let chars: usize = texts
        .iter()
        .map(|x| x.title.chars().count() + x.body.chars().count())
        .sum();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / count as f64;
    println!(
        "intake CPU work per opinion on one core ({count} texts, {:.0} characters on average):",
        chars as f64 / count as f64
    );
    println!("  classify                 {:>8.1} µs", per(classify));
    println!("  segment_for_index        {:>8.1} µs", per(segment));
    println!(
        "  encrypt name+phone, 2×blind index {:>8.1} µs",
        per(crypto)
    );
    let total = per(classify) + per(segment) + per(crypto);
    println!(
        "  total                    {total:>8.1} µs  → at most {:.0} opinions/s per core for this work alone",
        1e6 / total
    );
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Generate {
            database_url,
            data_dir,
            count,
            corpus,
            days,
            batch,
            threads,
            seed,
        } => generate_cmd(
            &rt,
            GenerateArgs {
                url: database_url,
                data_dir,
                count,
                corpus,
                days,
                batch: batch.max(1),
                threads,
                seed,
            },
        ),
        Command::Intake {
            url,
            database_url,
            data_dir,
            count,
            concurrency,
            corpus,
            server_pid,
            seed,
        } => rt.block_on(async {
            let corpus = corpus::Corpus::load(&corpus)?;
            let keys = keys(&data_dir)?;
            let store =
                store::Store::connect(&database_url, concurrency.clamp(1, 16) as u32).await?;
            let org = store.load_org().await?;
            let before = store.count().await?;
            http::intake(http::IntakeArgs {
                url: &url,
                count,
                concurrency: concurrency.max(1),
                corpus: &corpus,
                org: &org,
                store: &store,
                keys: &keys,
                server_pid,
                seed,
            })
            .await?;
            println!(
                "opinions in the database: {before} before, {} after",
                store.count().await?
            );
            store.close().await;
            Ok(())
        }),
        Command::Load {
            url,
            database_url,
            data_dir,
            concurrency,
            duration,
            warmup,
            scenarios,
            corpus,
            server_pid,
            seed,
        } => rt.block_on(async {
            let corpus = corpus::Corpus::load(&corpus)?;
            let store = store::Store::connect(&database_url, 2).await?;
            unlock_for_load(&store, &data_dir).await?;
            println!("opinions in the database: {}", store.count().await?);
            store.close().await;
            http::load(http::LoadArgs {
                url: &url,
                data_dir: &data_dir,
                concurrency: concurrency.max(1),
                duration: Duration::from_secs(duration.clamp(1, 600)),
                warmup: Duration::from_secs(warmup.min(120)),
                scenarios: scenarios
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                categories: corpus.labels.clone(),
                corpus: &corpus,
                server_pid,
                seed,
            })
            .await
        }),
        Command::Explain {
            database_url,
            proposed,
            product,
            runs,
            only,
            searches,
            corpus,
        } => rt.block_on(async {
            if searches > 0 {
                let corpus = corpus::Corpus::load(&corpus)?;
                return explain::searches(&database_url, &corpus, searches).await;
            }
            if product {
                return explain::product(&database_url, runs.min(50), only.as_deref()).await;
            }
            let store = store::Store::connect(&database_url, 1).await?;
            explain::explain(&store, proposed, runs.min(20), only.as_deref()).await?;
            store.close().await;
            Ok(())
        }),
        Command::Cpu { corpus, count } => cpu_cmd(&corpus, count.max(1)),
        Command::Rss { pid, seconds } => {
            for i in 0..=seconds.min(3600) {
                let m = stats::memory(pid).with_context(|| format!("进程 {pid} 不存在"))?;
                println!(
                    "VmRSS {:.1} MB  VmHWM {:.1} MB",
                    m.rss_kb as f64 / 1024.0,
                    m.hwm_kb as f64 / 1024.0
                );
                if i < seconds {
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            Ok(())
        }
    }
}
