//! The binary as a newcomer runs it: first start on a fresh data directory, the faults people
//! hit (port in use, data directory unusable, database unreachable), and the PostgreSQL path
//! where nothing is loaded unasked.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn liaison() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_liaison"));
    c.env_remove("LIAISON_DATABASE_URL")
        .env_remove("LIAISON_MASTER_KEY")
        .env("LIAISON_LOG", "warn");
    c
}

/// Starts `serve` and waits for the line with the URL; returns the child and the URL.
fn start(mut cmd: Command) -> (Child, String, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn liaison");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let found = line
                .split("已启动：")
                .nth(1)
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned());
            lines.push(line);
            if let Some(url) = found {
                return (child, url, lines);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start: {lines:?}");
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

#[test]
fn a_fresh_data_dir_gets_a_database_demo_data_and_the_accounts_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = liaison();
    cmd.args(["--addr", "127.0.0.1:0", "--data-dir"]).arg(&data);
    let (child, url, lines) = start(cmd);
    let text = lines.join("\n");
    assert!(text.contains("首次启动"), "{text}");
    assert!(text.contains("demo-accounts.tsv"), "{text}");
    let body = reqwest::blocking_get(&format!("{url}/healthz"));
    assert_eq!(body, "ok");
    let station = reqwest::blocking_get(&format!("{url}/stations/JJ-HM"));
    assert!(station.contains("海门街道"));
    stop(child);

    let tsv_path = data.join("demo-accounts.tsv");
    let tsv = std::fs::read_to_string(&tsv_path).unwrap();
    let mut lines = tsv.lines();
    assert_eq!(lines.next(), Some("role\tusername\tpassword\tscope"));
    let roles: std::collections::HashSet<&str> =
        lines.map(|l| l.split('\t').next().unwrap()).collect();
    for role in liaison_core::role::Role::ALL {
        assert!(roles.contains(role.code()), "an account for {role}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tsv_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let key_mode = std::fs::metadata(data.join("master.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(key_mode, 0o600);
    }

    // A second start finds the database and loads nothing.
    let mut cmd = liaison();
    cmd.args(["--addr", "127.0.0.1:0", "--data-dir"]).arg(&data);
    let (child, _, lines) = start(cmd);
    assert!(!lines.join("\n").contains("首次启动"));
    stop(child);
}

mod reqwest {
    /// A tiny blocking GET over a fresh runtime (the test itself is synchronous).
    pub fn blocking_get(url: &str) -> String {
        tokio_rt().block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
    fn tokio_rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }
}

#[test]
fn a_port_in_use_is_reported_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    // Prepare the database first so the run below fails at the port, not at the demo load.
    let key = liaison_core::protect::Keys::generate_master_hex();
    let out = liaison()
        .args(["--addr", &addr, "--master-key", &key, "--data-dir"])
        .arg(dir.path())
        .args([
            "--database-url",
            &format!("sqlite://{}/x.db", dir.path().display()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("端口可能已被占用"), "{err}");
}

#[test]
fn an_unusable_data_dir_is_reported_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = liaison()
        .args(["migrate", "--data-dir"])
        .arg(file.join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("无法创建数据目录"), "{err}");
}

#[test]
fn an_unreachable_database_is_reported_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = liaison()
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .args([
            "--database-url",
            "postgres://liaison:secret@127.0.0.1:1/liaison",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("无法连接数据库"), "{err}");
    assert!(!err.contains("secret"), "password hidden: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_nothing_is_loaded_unasked_and_demo_loads_it() {
    let Some(t) = liaison_db::testing::TestDb::new(liaison_db::Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = t.url.clone();
    let data = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        liaison()
            .args(["migrate", "--database-url", &url, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = liaison_db::sql::Sql::new("SELECT COUNT(*) FROM station")
        .fetch_count(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing loaded unasked");
    let url = t.url.clone();
    let data = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        liaison()
            .args(["demo", "--database-url", &url, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = liaison_db::sql::Sql::new("SELECT COUNT(*) FROM station")
        .fetch_count(&t.db)
        .await
        .unwrap();
    assert!(n > 150, "demo stations loaded: {n}");
    assert!(dir.path().join("demo-accounts.tsv").exists());
}

/// `kill -9` in the middle of heavy intake: every submission that got a receipt is in the
/// database after the crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_heavy_intake_loses_no_receipted_submission() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = liaison();
    cmd.args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("LIAISON_PUBLIC_RATE_PER_MIN", "100000000");
    let (child, url, _) = tokio::task::spawn_blocking(move || start(cmd))
        .await
        .unwrap();
    let pid = child.id();
    let receipts = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..16u32 {
        let url = url.clone();
        let receipts = receipts.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let client = ::reqwest::Client::new();
            let mut i = 0u32;
            // Bounded: at most 2,000 requests per worker, and stop when the server is gone.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 2000 {
                i += 1;
                let body = serde_json::json!({
                    "station_code": "JJ-HM",
                    "body": format!("压力测试第{w}组第{i}条：小区路灯损坏，请尽快维修。"),
                    "name": "测试",
                    "phone": format!("139{:04}{:04}", w, i),
                });
                match client
                    .post(format!("{url}/api/v1/opinions"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 201 => {
                        if let Ok(v) = r.json::<serde_json::Value>().await
                            && let Some(no) = v["tracking_no"].as_str()
                        {
                            receipts.lock().unwrap().push(no.to_owned());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let mut child = child;
    let _ = child.wait();
    let got = receipts.lock().unwrap().clone();
    assert!(got.len() > 20, "the flood produced receipts: {}", got.len());
    let db = liaison_db::Db::connect(&liaison_db::ConnectOptions {
        url: format!("sqlite://{}/liaison.db", data.display()),
        max_connections: 1,
        create_if_missing: false,
    })
    .await
    .unwrap();
    for no in &got {
        assert!(
            liaison_db::opinions::by_tracking_no(&db, no)
                .await
                .unwrap()
                .is_some(),
            "receipted {no} survived the crash"
        );
    }
    eprintln!(
        "{} receipted submissions, all present after kill -9",
        got.len()
    );
}
