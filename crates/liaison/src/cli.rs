//! Command line: configuration (flags and environment, with a default for everything) and the
//! subcommands `serve` (default), `migrate`, `demo`, `import`, `export`, `user`, `backup`.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use liaison_core::dataset::SheetKind;
use liaison_core::protect::Keys;
use liaison_core::role::Role;
use liaison_db::audit::Actor;
use liaison_db::{ConnectOptions, Db};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Liaison — 人大代表联络站平台.
#[derive(Parser, Debug)]
#[command(
    name = "liaison",
    version,
    about = "人大代表联络站平台（全过程人民民主基层单元）"
)]
pub struct Cli {
    /// Configuration shared by all subcommands.
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Configuration. Every value has a default so that `cargo run` works with no setup.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "LIAISON_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: String,
    /// Directory for the SQLite database, the master key, uploads and the demo account list.
    #[arg(
        long,
        env = "LIAISON_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://…` (default: `<data dir>/liaison.db`) or `postgres://…`.
    #[arg(long, env = "LIAISON_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Master key (64 hex characters). Default: `<data dir>/master.key`, created on first start.
    #[arg(
        long,
        env = "LIAISON_MASTER_KEY",
        global = true,
        hide_env_values = true
    )]
    pub master_key: Option<String>,
    /// Public base URL used in QR codes and links (default: `http://<addr>`).
    #[arg(long, env = "LIAISON_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Mark cookies `Secure` (set when served over HTTPS).
    #[arg(long, env = "LIAISON_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,
    /// Address of a reverse proxy whose `X-Forwarded-For` header is believed (repeat the flag,
    /// or separate addresses with commas), e.g. `127.0.0.1` for nginx on the same machine.
    /// Without it, rate limits and audit records see the proxy's address for every client.
    #[arg(
        long = "trusted-proxy",
        env = "LIAISON_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Largest number of database connections (default: 4 on SQLite, 16 on PostgreSQL).
    #[arg(long, env = "LIAISON_DB_CONNECTIONS", global = true)]
    pub db_connections: Option<u32>,
    /// Log filter, e.g. `info` or `liaison_web=debug`.
    #[arg(
        long,
        env = "LIAISON_LOG",
        default_value = "info,sqlx=warn",
        global = true
    )]
    pub log: String,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Create or upgrade the database schema.
    Migrate,
    /// Load the Taizhou demo data set (deterministic for a seed).
    Demo {
        /// Seed of the generator.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Import the organisation from an .xlsx workbook or a .csv file.
    Import {
        /// The file.
        file: PathBuf,
        /// For CSV: which sheet it holds (regions, stations, station_members, deputies,
        /// handling_units, grids, accounts).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Export the organisation as an .xlsx workbook.
    Export {
        /// The output file.
        file: PathBuf,
        /// Include private contacts in clear (audited).
        #[arg(long)]
        private: bool,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Classify opinions: JSON lines `{"title","body"}` (optionally `"station_code"`) on stdin →
    /// JSON lines `{"label_l1","confidence","unit"}` on stdout, in the same order.
    Classify {
        /// Evaluate on a labelled CSV (`title`, `body`, `label_l1` columns) instead: prints
        /// per-class precision, recall, F1 and macro-F1.
        #[arg(long)]
        eval: Option<PathBuf>,
    },
    /// Write a consistent copy of the database (SQLite: a file; PostgreSQL: `pg_dump`).
    Backup {
        /// The output file (default: `<data dir>/backup-<time>.db` or `.dump`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Account management.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account; prints its generated initial password once.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Name shown.
        #[arg(long)]
        name: String,
        /// Role code, e.g. `system_admin`, `county_staff`.
        #[arg(long)]
        role: String,
        /// Region, station, unit or deputy code the role needs.
        #[arg(long)]
        scope: Option<String>,
        /// Mobile phone.
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// Set a new generated password (to be changed at next sign-in); prints it once.
    Reset {
        /// Login name.
        username: String,
    },
    /// Lock an account and end its sessions.
    Lock {
        /// Login name.
        username: String,
    },
    /// Unlock an account.
    Unlock {
        /// Login name.
        username: String,
    },
}

/// Sets up logging to stderr.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn default_sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("liaison.db")
}

/// Makes sure the data directory exists and can be written, with a message that says what to do.
fn prepare_data_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!("无法创建数据目录 {}：请检查路径和权限，或用 --data-dir / LIAISON_DATA_DIR 指定可写目录", dir.display())
    })?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").with_context(|| {
        format!(
            "数据目录 {} 不可写：请检查权限，或用 --data-dir / LIAISON_DATA_DIR 指定可写目录",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn write_private_file(path: &Path, content: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("无法写入 {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The master key: from configuration, else from `<data dir>/master.key` (created on first use).
fn load_keys(config: &Config) -> Result<Keys> {
    if let Some(hex) = &config.master_key {
        return Keys::from_master_hex(hex).context("LIAISON_MASTER_KEY 无效");
    }
    let path = config.data_dir.join("master.key");
    if path.exists() {
        let hex = std::fs::read_to_string(&path)
            .with_context(|| format!("无法读取主密钥 {}", path.display()))?;
        return Keys::from_master_hex(&hex)
            .with_context(|| format!("主密钥文件 {} 已损坏", path.display()));
    }
    let hex = Keys::generate_master_hex();
    write_private_file(&path, &hex)?;
    tracing::info!(path = %path.display(), "created a new master key; back it up with the database");
    Ok(Keys::from_master_hex(&hex)?)
}

/// Opens (and for the default SQLite file, creates) the database. Returns whether this call
/// created the database file, which is when the demo data is loaded unasked.
async fn open_db(config: &Config) -> Result<(Db, bool)> {
    prepare_data_dir(&config.data_dir)?;
    let (url, created) = match &config.database_url {
        Some(url) => (url.clone(), false),
        None => {
            let path = default_sqlite_path(&config.data_dir);
            let created = !path.exists();
            (format!("sqlite://{}", path.display()), created)
        }
    };
    // SQLite runs each connection on a thread of its own with a page cache of its own, and
    // answers one query per core at a time: on two cores four connections served the inbox
    // 30 % faster than sixteen and in less memory (docs/benchmarks.md, fourth pass).
    // PostgreSQL's connections are server processes that wait on I/O and locks.
    let default_connections = if url.starts_with("sqlite:") { 4 } else { 16 };
    let db = Db::connect(&ConnectOptions {
        url,
        max_connections: config.db_connections.unwrap_or(default_connections),
        create_if_missing: true,
    })
    .await?;
    db.migrate().await?;
    Ok((db, created))
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config).await,
        Command::Migrate => {
            open_db(&config).await?;
            println!("数据库已是最新结构。");
            Ok(())
        }
        Command::Demo { seed } => {
            let (db, _) = open_db(&config).await?;
            let keys = load_keys(&config)?;
            load_demo(&db, &keys, &config, seed).await
        }
        Command::Import { file, kind } => import(&config, &file, kind.as_deref()).await,
        Command::Export { file, private } => export(&config, &file, private).await,
        Command::User(cmd) => user(&config, cmd).await,
        Command::Backup { out } => backup(&config, out).await,
        Command::Classify { eval } => classify(&config, eval.as_deref()).await,
    }
}

fn progress_bar(label: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.set_message(label.to_owned());
    pb
}

async fn load_demo(db: &Db, keys: &Keys, config: &Config, seed: u64) -> Result<()> {
    let data = liaison_demo::generate(seed);
    let pb = progress_bar("载入演示数据");
    let report = liaison_db::org::load_dataset(
        db,
        keys,
        &Actor::system("演示数据"),
        &data,
        &mut |done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        },
    )
    .await
    .map_err(|e| match e {
        liaison_db::org::LoadError::Rows(rows) => anyhow::anyhow!(
            "演示数据有误：{}",
            rows.iter()
                .take(5)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("；")
        ),
        liaison_db::org::LoadError::Db(e) => e.into(),
    })?;
    pb.finish_and_clear();
    liaison_db::settings::set(db, "demo_seed", &seed.to_string()).await?;
    let path = config.data_dir.join("demo-accounts.tsv");
    if !report.generated_credentials.is_empty() {
        let mut tsv = String::from("role\tusername\tpassword\tscope\n");
        for (role, username, password, scope) in &report.generated_credentials {
            tsv.push_str(&format!("{role}\t{username}\t{password}\t{scope}\n"));
        }
        write_private_file(&path, &tsv)?;
        println!(
            "演示数据已载入（{}）。演示账号和初始密码：{}",
            report.summary(),
            path.display()
        );
    } else {
        println!(
            "演示数据已是最新（{}）；演示账号早已创建，密码见 {}",
            report.summary(),
            path.display()
        );
    }
    Ok(())
}

async fn serve(config: &Config) -> Result<()> {
    let started = std::time::Instant::now();
    let keys = load_keys_after_dir(config)?;
    let (db, created) = open_db(config).await?;
    if created {
        println!("首次启动：已创建 SQLite 数据库，正在载入台州市演示数据……");
        load_demo(&db, &keys, config, 0).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .with_context(|| {
            format!(
                "无法监听 {}：端口可能已被占用。请关闭占用该端口的程序，或用 --addr / LIAISON_ADDR 指定其他地址，例如 127.0.0.1:8081",
                config.addr
            )
        })?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let state = liaison_web::AppState::new(
        db.clone(),
        keys,
        liaison_web::WebConfig {
            data_dir: config.data_dir.clone(),
            secure_cookies: config.secure_cookies,
            public_url: public_url.trim_end_matches('/').to_owned(),
            background_jobs: true,
            trusted_proxies: config.trusted_proxies.clone(),
        },
    );
    println!(
        "Liaison 已启动：{public_url}  （启动用时 {:.2} 秒）",
        started.elapsed().as_secs_f64()
    );
    println!("  公众门户：{public_url}/    工作台：{public_url}/work");
    let accounts = config.data_dir.join("demo-accounts.tsv");
    if accounts.exists() {
        println!(
            "  演示账号和初始密码：{}（首次登录须修改密码）",
            accounts.display()
        );
    }
    println!("  按 Ctrl+C 停止。");
    liaison_web::serve(listener, state, shutdown_signal()).await?;
    db.close().await;
    println!("已停止。");
    Ok(())
}

fn load_keys_after_dir(config: &Config) -> Result<Keys> {
    prepare_data_dir(&config.data_dir)?;
    load_keys(config)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn import(config: &Config, file: &Path, kind: Option<&str>) -> Result<()> {
    let keys = load_keys_after_dir(config)?;
    let (db, _) = open_db(config).await?;
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let pb = progress_bar("读取文件");
    let parsed = if is_csv {
        let Some(k) = kind.and_then(SheetKind::parse) else {
            bail!(
                "导入 CSV 须用 --kind 指明类别：regions、stations、station_members、deputies、handling_units、grids、accounts"
            );
        };
        liaison_docs::read_csv_with_progress(k, &bytes, &mut |d, t| {
            pb.set_length(t as u64);
            pb.set_position(d as u64);
        })
    } else {
        liaison_docs::read_xlsx_with_progress(&bytes, &mut |d, t| {
            pb.set_length(t as u64);
            pb.set_position(d as u64);
        })
    };
    pb.finish_and_clear();
    let data = match parsed {
        Ok(d) => d,
        Err(liaison_docs::ImportError::Rows(rows)) => {
            for r in &rows {
                eprintln!("{r}");
            }
            bail!("文件有{}处错误，未导入任何数据", rows.len());
        }
        Err(liaison_docs::ImportError::File(m)) => bail!("{m}"),
    };
    let pb = progress_bar("写入数据库");
    let result = liaison_db::org::load_dataset(
        &db,
        &keys,
        &Actor::system("命令行导入"),
        &data,
        &mut |d, t| {
            pb.set_length(t as u64);
            pb.set_position(d as u64);
        },
    )
    .await;
    pb.finish_and_clear();
    match result {
        Ok(report) => {
            println!("导入完成：{}", report.summary());
            for (role, username, password, scope) in &report.generated_credentials {
                println!("  新账号 {username}（{role}，{scope}）初始密码：{password}");
            }
            Ok(())
        }
        Err(liaison_db::org::LoadError::Rows(rows)) => {
            for r in &rows {
                eprintln!("{r}");
            }
            bail!("有{}处错误，未导入任何数据", rows.len())
        }
        Err(liaison_db::org::LoadError::Db(e)) => Err(e.into()),
    }
}

async fn export(config: &Config, file: &Path, private: bool) -> Result<()> {
    let keys = load_keys_after_dir(config)?;
    let (db, _) = open_db(config).await?;
    let data = liaison_db::org::export_dataset(&db, &keys, &liaison_core::scope::Scope::Everything)
        .await?;
    let mut tx = db.begin().await?;
    liaison_db::audit::append(
        &mut tx,
        &keys,
        &Actor::system("命令行导出"),
        liaison_db::audit::Entry {
            action: if private { "export_private" } else { "export" },
            entity: "dataset",
            entity_id: "all".into(),
            summary: format!("命令行导出组织数据到 {}", file.display()),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let bytes = liaison_docs::write_xlsx(
        &data,
        &liaison_docs::ExportOptions {
            include_private: private,
            all_sheets: true,
        },
    )?;
    std::fs::write(file, bytes).with_context(|| format!("无法写入 {}", file.display()))?;
    println!(
        "已导出：区划{}、站点{}、代表{}、承办单位{}、网格{}、账号{} → {}",
        data.regions.len(),
        data.stations.len(),
        data.deputies.len(),
        data.units.len(),
        data.grids.len(),
        data.accounts.len(),
        file.display()
    );
    Ok(())
}

async fn user(config: &Config, cmd: UserCommand) -> Result<()> {
    let keys = load_keys_after_dir(config)?;
    let (db, _) = open_db(config).await?;
    let actor = Actor::system("命令行");
    let find = |username: String| {
        let db = db.clone();
        async move {
            liaison_db::users::find_by_username(&db, &username)
                .await?
                .with_context(|| format!("账号 {username} 不存在"))
        }
    };
    match cmd {
        UserCommand::Create {
            username,
            name,
            role,
            scope,
            phone,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!(
                    "角色“{role}”无效，可选：{}",
                    Role::ALL
                        .iter()
                        .map(|r| r.code())
                        .collect::<Vec<_>>()
                        .join("、")
                )
            })?;
            liaison_core::validate::username("username", &username)
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let data = liaison_core::dataset::Dataset {
                accounts: vec![liaison_core::dataset::AccountRow {
                    username: username.clone(),
                    display_name: name,
                    role,
                    scope,
                    phone,
                    password: String::new(),
                }],
                ..Default::default()
            };
            if liaison_db::users::find_by_username(&db, &username)
                .await?
                .is_some()
            {
                bail!("账号 {username} 已存在；如需新密码请用 liaison user reset {username}");
            }
            let report = liaison_db::org::load_dataset(&db, &keys, &actor, &data, &mut |_, _| {})
                .await
                .map_err(|e| match e {
                    liaison_db::org::LoadError::Rows(r) => anyhow::anyhow!(
                        r.iter()
                            .map(|x| x.message.clone())
                            .collect::<Vec<_>>()
                            .join("；")
                    ),
                    liaison_db::org::LoadError::Db(e) => e.into(),
                })?;
            if let Some((_, u, p, _)) = report.generated_credentials.first() {
                println!("已创建账号 {u}，初始密码：{p}（首次登录须修改）");
            }
        }
        UserCommand::Reset { username } => {
            let u = find(username).await?;
            let password = liaison_core::protect::random_password();
            let hash = liaison_core::protect::hash_password(&password)?;
            liaison_db::users::set_password(&db, &keys, &actor, u.id, &hash, true).await?;
            println!("已重置 {} 的密码：{password}（下次登录须修改）", u.username);
        }
        UserCommand::Lock { username } => {
            let u = find(username).await?;
            liaison_db::users::set_locked(&db, &keys, &actor, u.id, true).await?;
            println!("已锁定 {}", u.username);
        }
        UserCommand::Unlock { username } => {
            let u = find(username).await?;
            liaison_db::users::set_locked(&db, &keys, &actor, u.id, false).await?;
            println!("已解锁 {}", u.username);
        }
    }
    Ok(())
}

async fn backup(config: &Config, out: Option<PathBuf>) -> Result<()> {
    let (db, _) = open_db(config).await?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    match &db {
        Db::Sqlite(pool) => {
            let out = out.unwrap_or_else(|| config.data_dir.join(format!("backup-{stamp}.db")));
            if out.exists() {
                bail!("{} 已存在，请指定新的文件名", out.display());
            }
            // VACUUM INTO writes a consistent copy while the server keeps running.
            let target = out.to_string_lossy().replace('\'', "''");
            sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'")))
                .execute(pool)
                .await
                .context("SQLite 备份失败")?;
            println!(
                "已备份到 {}。请同时妥善保存主密钥（{}/master.key 或 LIAISON_MASTER_KEY），否则备份中的个人信息无法解密。",
                out.display(),
                config.data_dir.display()
            );
        }
        Db::Postgres(_) => {
            let out = out.unwrap_or_else(|| config.data_dir.join(format!("backup-{stamp}.dump")));
            let url = config.database_url.clone().unwrap_or_default();
            let status = std::process::Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--file")
                .arg(&out)
                .arg(&url)
                .status()
                .context("无法运行 pg_dump：请安装 PostgreSQL 客户端（如 apt-get install postgresql-client）")?;
            if !status.success() {
                bail!("pg_dump 失败（退出码 {:?}）", status.code());
            }
            println!(
                "已备份到 {}（pg_restore 可恢复）。请同时妥善保存主密钥。",
                out.display()
            );
        }
    }
    Ok(())
}

async fn classify(config: &Config, eval: Option<&Path>) -> Result<()> {
    use std::io::BufRead;
    if let Some(file) = eval {
        let examples = liaison_text::classify::load_eval_set(file)
            .with_context(|| format!("无法读取评测文件 {}", file.display()))?;
        let started = std::time::Instant::now();
        let report =
            liaison_text::classify::evaluate(liaison_text::classify::embedded_model(), &examples);
        let secs = started.elapsed().as_secs_f64();
        println!("{report}");
        println!(
            "{} 条，用时 {:.2} 秒（{:.0} 条/秒，单线程）",
            examples.len(),
            secs,
            examples.len() as f64 / secs
        );
        return Ok(());
    }
    // The unit suggestion needs the database; classification alone does not. Use the database
    // only if it already exists, never create one here.
    let db = match &config.database_url {
        Some(url) => Some(
            Db::connect(&ConnectOptions {
                url: url.clone(),
                max_connections: 2,
                create_if_missing: false,
            })
            .await?,
        ),
        None => {
            let path = default_sqlite_path(&config.data_dir);
            if path.exists() {
                Some(
                    Db::connect(&ConnectOptions {
                        url: format!("sqlite://{}", path.display()),
                        max_connections: 2,
                        create_if_missing: false,
                    })
                    .await?,
                )
            } else {
                None
            }
        }
    };
    #[derive(serde::Deserialize)]
    struct In {
        #[serde(default)]
        title: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        station_code: Option<String>,
    }
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            writeln!(out, "{}", serde_json::json!({"error": "空行"}))?;
            continue;
        }
        let input: In = match serde_json::from_str(&line) {
            Ok(i) => i,
            Err(e) => {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"error": format!("第{}行不是有效的 JSON：{e}", n + 1)})
                )?;
                continue;
            }
        };
        let p = liaison_text::classify::classify(&input.title, &input.body);
        let mut unit = serde_json::Value::Null;
        if let (Some(db), Some(code)) = (&db, input.station_code.as_deref())
            && let Some(st) = liaison_db::directory::station_by_code(db, code).await?
        {
            let region = liaison_db::directory::region(db, st.region_id).await?;
            if let Some(u) =
                liaison_db::opinions::suggest_unit(db, &p.label_l1, &region.path).await?
            {
                unit = serde_json::json!({"id": u.id, "code": u.code, "name": u.name});
            }
        }
        writeln!(
            out,
            "{}",
            serde_json::json!({"label_l1": p.label_l1, "confidence": p.confidence, "unit": unit})
        )?;
    }
    out.flush()?;
    Ok(())
}
