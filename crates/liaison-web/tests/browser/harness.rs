//! Starting and stopping a headless Chromium under ChromeDriver, and the small page helpers the
//! browser tests share (navigation, waiting, keyboard, screenshots, axe-core).
//!
//! Each test gets its own ChromeDriver (on a free port, in its own process group) and a fresh
//! Chromium profile, so tests cannot leak cookies into each other and can run in parallel.

use crate::support::TestApp;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use liaison_db::Backend;
use liaison_db::testing::skips_forbidden;
use serde_json::{Value, json};
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's packages `chromium` and `chromium-driver` (see `scripts/install-browser-deps.sh`).
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A whole test may take this long; a hung browser fails the test instead of the CI run.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long to wait for a page to show what a test expects.
const WAIT: Duration = Duration::from_secs(15);

/// PC screen size used throughout.
pub const PC: (u32, u32) = (1366, 900);
/// Phone screen size (an iPhone X class screen, in CSS pixels).
pub const PHONE: (u32, u32) = (375, 812);

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Skips (returns `false`) when a browser-test prerequisite is missing, or panics where skips
/// are forbidden (CI).
pub fn prerequisite(present: bool, what: &str) -> bool {
    if present {
        return true;
    }
    if skips_forbidden() {
        panic!(
            "{what} is missing, but browser tests must run here: run scripts/install-browser-deps.sh"
        );
    }
    eprintln!("skipping browser test: {what} is missing (run scripts/install-browser-deps.sh)");
    false
}

/// A ChromeDriver process and its browser; killed as a process group on drop, so a test that
/// fails halfway leaves no Chromium behind.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        // A port the OS just handed out is free; the tiny window before ChromeDriver binds it is
        // acceptable for tests.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free port")
            .port();
        let profile = tempfile::Builder::new()
            .prefix("liaison-chromium-")
            .tempdir()
            .expect("create Chromium profile dir");
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Own process group: Chromium and its helpers inherit it and die with it.
                .process_group(0)
                .spawn()
                .expect("start chromedriver")
        };
        Driver {
            child,
            port,
            profile,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn capabilities(&self) -> serde_json::Map<String, Value> {
        // The network flags keep Chromium from calling out (this machine's network is closed,
        // and refused connections slow every start).
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            "--lang=zh-CN".to_owned(),
            // The window is PC sized; phone sizes are emulated (see `Page::resize`).
            format!("--window-size={},{}", PC.0, PC.1),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        caps
    }

    /// Opens a WebDriver session, retrying while ChromeDriver is still starting up.
    async fn connect(&mut self) -> Client {
        let url = self.url();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let attempt = ClientBuilder::rustls()
                .expect("TLS roots for the WebDriver client")
                .capabilities(self.capabilities())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => return client,
                Err(e) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("chromedriver exited with {status} before accepting a session");
                    }
                    if Instant::now() > deadline {
                        panic!("no WebDriver session from chromedriver at {url}: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Negative pid = the process group started above (ChromeDriver, Chromium, helpers).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session against one fresh server, as the test body sees it.
pub struct Page {
    /// The WebDriver client.
    pub client: Client,
    /// The server under test.
    pub app: TestApp,
    test: &'static str,
    width: u32,
    driver_url: String,
}

/// Runs `body` in a fresh browser of `size` against a fresh server (SQLite: the UI does not
/// depend on the backend, which the HTTP tests cover on both). Skips when ChromeDriver is
/// missing. The browser is shut down even when `body` panics; the panic is then re-raised.
pub async fn with_browser<F, Fut>(test: &'static str, size: (u32, u32), body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let present =
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists();
    if !prerequisite(
        present,
        "Chromium/ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver)",
    ) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite test server");
    let started = Instant::now();
    let mut driver = Driver::start();
    let client = driver.connect().await;
    let mut page = Page {
        client: client.clone(),
        app,
        test,
        width: size.0,
        driver_url: driver.url(),
    };
    page.resize(size).await;
    // Spawned so a panic in the body comes back as a value and the browser still gets closed.
    let outcome = tokio::spawn(tokio::time::timeout(TEST_TIMEOUT, body(page))).await;
    // Bounded: a wedged browser is killed with its process group below anyway.
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    drop(driver);
    eprintln!(
        "{test}: browser part took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("{test} did not finish within {TEST_TIMEOUT:?}"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("{test} was cancelled: {e}"),
    }
}

impl Page {
    /// Navigates to `path` on the server under test.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&self.app.url(path))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The path of the current URL (with its query, if any).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the current path (query ignored) is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.client.current_url().await.expect("current URL");
            if url.path() == path {
                return;
            }
            if Instant::now() > deadline {
                panic!("expected to reach {path}, still at {url}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the first element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no element `{css}` on {}: {e}", self.path().await),
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// The visible texts of all elements matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
        {
            out.push(e.text().await.expect("element text"));
        }
        out
    }

    /// Types `text` into the field with id `id`, replacing what it held.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.find(&format!("#{id}")).await;
        field.clear().await.expect("clear field");
        field.send_keys(text).await.expect("type into field");
    }

    /// Presses and releases one key on whatever has the focus.
    pub async fn press(&self, key: Key) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client.perform_actions(keys).await.expect("press key");
        self.client.release_actions().await.expect("release keys");
    }

    /// Evaluates a JavaScript expression in the page.
    pub async fn eval(&self, expr: &str) -> Value {
        self.client
            .execute(&format!("return ({expr});"), vec![])
            .await
            .unwrap_or_else(|e| panic!("evaluate `{expr}`: {e}"))
    }

    /// Sets the viewport to `width` × `height` CSS pixels (for pages with a viewport meta, as all
    /// of the app's have; see [`Page::assert_viewport`]). Chromium will not make a window
    /// narrower than 500 px, so sizes are set through DevTools device emulation instead; below
    /// 768 px it emulates a phone (the page's viewport meta applies, scrollbars overlay).
    pub async fn resize(&mut self, (width, height): (u32, u32)) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 768}),
        )
        .await;
        self.width = width;
    }

    /// Asserts that the page shown now lays out at the width set by [`Page::resize`].
    pub async fn assert_viewport(&self) {
        let inner = self.eval("window.innerWidth").await;
        assert_eq!(
            inner,
            json!(self.width),
            "viewport width on {}",
            self.path().await
        );
    }

    /// Sends a DevTools command through ChromeDriver's `goog/cdp/execute` extension.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a WebDriver session");
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver_url
            ))
            .json(&json!({"cmd": cmd, "params": params}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"));
        let status = resp.status();
        let body: Value = resp.json().await.expect("DevTools reply");
        assert!(status.is_success(), "DevTools {cmd} failed: {body}");
        body
    }

    /// Saves the viewport as `target/screenshots/<test>-<step>-<width>.png`.
    pub async fn screenshot(&self, step: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("create target/screenshots");
        let file = dir.join(format!("{}-{step}-{}.png", self.test, self.width));
        std::fs::write(&file, png).expect("write screenshot");
    }

    /// Signs in through the login form with the fixture password and waits for the workbench.
    pub async fn sign_in(&self, username: &str) {
        self.open("/login").await;
        self.fill("username", username).await;
        self.fill("password", crate::support::FIXTURE_PASSWORD)
            .await;
        self.find("main form button[type=submit]")
            .await
            .click()
            .await
            .expect("click 登录");
        self.wait_for_path("/work").await;
    }

    /// Whether the page is no wider than the viewport (sideways scrolling of the whole page is
    /// what makes a phone layout unusable; wide tables scroll inside `.table-wrap` instead).
    pub async fn fits_viewport(&self) -> (bool, Value) {
        let m = self
            .eval("{scroll: document.documentElement.scrollWidth, inner: window.innerWidth}")
            .await;
        let scroll = m["scroll"].as_i64().expect("scrollWidth");
        let inner = m["inner"].as_i64().expect("innerWidth");
        (scroll <= inner, m)
    }
}
