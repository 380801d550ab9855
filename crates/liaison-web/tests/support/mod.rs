//! Test support shared by the HTTP and browser test binaries: a real server on 127.0.0.1:0 over
//! a fresh database of either backend, loaded with the small fixture organisation.

#![allow(dead_code)]

use liaison_core::protect::Keys;
use liaison_db::testing::{TestDb, load_fixture, test_keys};
use liaison_db::{Backend, Db};
use std::time::Duration;

pub use liaison_db::testing::FIXTURE_PASSWORD;

/// Generates, for each listed `async fn name(backend: Backend)`, one test per backend:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
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

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The database.
    pub db: Db,
    /// Keys the server uses.
    pub keys: Keys,
    /// Which backend.
    pub backend: Backend,
    /// The server's state (for tests that drive background work directly).
    pub state: liaison_web::AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _db: TestDb,
}

impl TestApp {
    /// Today if it is a working day, else the next one: the day tests run the timers on, so
    /// that reminders (sent on working days only) do not depend on when the tests run.
    pub async fn timer_day(&self) -> time::Date {
        let today = liaison_db::opinions::today();
        let rules = self.state.rules.read().await;
        if rules.calendar.is_working_day(today) {
            today
        } else {
            rules.calendar.next_working_day(today)
        }
    }

    /// Starts a server; `None` when the backend is not available here (and skipping is allowed).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let tdb = TestDb::new(backend).await?;
        let keys = test_keys();
        load_fixture(&tdb.db, &keys).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let state = liaison_web::AppState::new(
            tdb.db.clone(),
            keys.clone(),
            liaison_web::WebConfig {
                data_dir: std::env::temp_dir(),
                secure_cookies: false,
                public_url: base.clone(),
                background_jobs: false,
                trusted_proxies: Vec::new(),
            },
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_state = state.clone();
        tokio::spawn(async move {
            let state = server_state;
            liaison_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        Some(TestApp {
            base,
            db: tdb.db.clone(),
            keys,
            backend,
            state,
            shutdown: Some(tx),
            _db: tdb,
        })
    }

    /// A client with a cookie store that does not follow redirects (so tests see them).
    /// The id of the fixture's handling unit `code`.
    pub async fn unit_id(&self, code: &str) -> i64 {
        liaison_db::directory::list_units(
            &self.db,
            &liaison_core::scope::Scope::Everything,
            &liaison_db::directory::UnitFilter {
                q: Some(code.into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|u| u.code == code)
        .expect("unit in the fixture")
        .id
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GETs a page and returns its CSRF token.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        let html = client
            .get(self.url(path))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        csrf_from(&html).unwrap_or_else(|| panic!("no CSRF token on {path}"))
    }

    /// A client signed in as `username` (fixture password).
    pub async fn login(&self, username: &str) -> reqwest::Client {
        let c = self.client();
        let token = self.csrf(&c, "/login").await;
        let resp = c
            .post(self.url("/login"))
            .form(&[
                ("_csrf", token.as_str()),
                ("username", username),
                ("password", FIXTURE_PASSWORD),
                ("next", "/work"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status(), 303, "sign-in of {username} should redirect");
        c
    }

    /// A bearer token for `username`.
    pub async fn token(&self, username: &str) -> String {
        let resp = self
            .client()
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({"username": username, "password": FIXTURE_PASSWORD}))
            .send()
            .await
            .expect("token");
        assert_eq!(resp.status(), 200, "token for {username}");
        let v: serde_json::Value = resp.json().await.expect("json");
        v["token"].as_str().expect("token field").to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The value of the first `name="_csrf"` hidden field.
pub fn csrf_from(html: &str) -> Option<String> {
    let i = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    let rest = &html[i..];
    Some(rest[..rest.find('"')?].to_owned())
}
