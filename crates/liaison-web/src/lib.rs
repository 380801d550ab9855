//! The web of Liaison: the staff workbench and the public portal (server-rendered Chinese pages
//! that work without JavaScript) and the JSON API under `/api/v1`.
//!
//! Handlers are thin: they extract, validate into domain types, call `liaison_db`, and render an
//! askama template or JSON. Permissions are decided by the one scoping rule
//! (`liaison_core::scope`) and checked on the server for every request.

pub mod api;
pub mod auth;
pub mod error;
pub mod intake;
pub mod layout;
pub mod metrics;
pub mod notify;
pub mod routes;

use axum::Router;
use liaison_core::protect::Keys;
use liaison_db::Db;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Settings the web layer needs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where uploads and generated files live.
    pub data_dir: PathBuf,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// Public base URL used in QR codes and links, e.g. `https://lz.example.gov.cn`.
    pub public_url: String,
    /// Run the outbox delivery and the timers in the background (tests drive them directly).
    pub background_jobs: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed: behind them, rate limits and audit
    /// records use the client's address instead of the proxy's.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    /// Database.
    pub db: Db,
    /// Keys for personal data, the audit chain and tokens.
    pub keys: Arc<Keys>,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Rate limiters of public endpoints.
    pub limits: Arc<auth::RateLimits>,
    /// How notifications leave the system (SMS gateway, webhook).
    pub senders: Arc<notify::Senders>,
    /// Working-day calendar and deadline table, reloaded when an administrator changes them.
    pub rules: Arc<tokio::sync::RwLock<Rules>>,
    /// The opinion classifier: the shipped model plus what staff corrections taught it.
    pub classifier: Arc<std::sync::RwLock<liaison_text::classify::Model>>,
    /// The intake writer (group commit of submissions).
    pub intake: Arc<intake::Writer>,
}

/// The installation's deadline rules.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Working days (built-in State Council notices plus uploaded years).
    pub calendar: liaison_core::workdays::Calendar,
    /// Deadlines per category and urgency.
    pub sla: liaison_core::sla::SlaTable,
}

impl AppState {
    /// Builds the state.
    pub fn new(db: Db, keys: Keys, config: WebConfig) -> Self {
        let keys = Arc::new(keys);
        let rules = Arc::new(tokio::sync::RwLock::new(Rules {
            calendar: liaison_core::workdays::Calendar::builtin(),
            sla: liaison_core::sla::SlaTable::default(),
        }));
        AppState {
            intake: Arc::new(intake::Writer::new(db.clone(), keys.clone(), rules.clone())),
            db,
            keys,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::default()),
            limits: Arc::new(auth::RateLimits::default()),
            senders: Arc::new(notify::Senders::default()),
            classifier: Arc::new(std::sync::RwLock::new(
                liaison_text::classify::embedded_model().clone(),
            )),
            rules,
        }
    }

    /// Replays staff corrections of suggested categories into the classifier.
    pub async fn learn_corrections(&self) -> Result<usize, liaison_db::DbError> {
        let rows = liaison_db::opinions::category_corrections(&self.db, 20_000).await?;
        let mut model = liaison_text::classify::embedded_model().clone();
        let mut learned = 0;
        for (title, body, category) in rows {
            let example = liaison_text::classify::Example::new(&title, &body, &category);
            if model.learn(&example, liaison_text::classify::DEFAULT_AGGRESSIVENESS) {
                learned += 1;
            }
        }
        *self.classifier.write().expect("classifier lock") = model;
        Ok(learned)
    }

    /// Takes a user's action on an opinion and, when staff confirm a category other than the one
    /// suggested, teaches the classifier the correction.
    pub async fn act_on_opinion(
        &self,
        principal: &liaison_core::scope::Principal,
        actor: &liaison_db::audit::Actor,
        id: i64,
        action: liaison_core::workflow::OpinionAction,
        input: &liaison_db::opinions::ActionInput,
    ) -> Result<liaison_db::opinions::Opinion, liaison_db::opinions::ActError> {
        let o = {
            let rules = self.rules.read().await;
            liaison_db::opinions::act(
                &self.db,
                &self.keys,
                &self.opinion_rules(&rules),
                liaison_db::opinions::Acting::User(principal),
                actor,
                id,
                action,
                input,
            )
            .await?
        };
        if action == liaison_core::workflow::OpinionAction::Accept
            && !o.category.is_empty()
            && o.category != o.category_suggested
        {
            self.learn_correction(&o.title, &o.body, &o.category);
        }
        Ok(o)
    }

    /// Teaches the classifier one correction made by staff.
    pub fn learn_correction(&self, title: &str, body: &str, category: &str) {
        let example = liaison_text::classify::Example::new(title, body, category);
        self.classifier
            .write()
            .expect("classifier lock")
            .learn(&example, liaison_text::classify::DEFAULT_AGGRESSIVENESS);
    }

    /// Reloads the calendar and the deadline table from the database.
    pub async fn reload_rules(&self) -> Result<(), liaison_db::DbError> {
        let calendar = liaison_db::opinions::load_calendar(&self.db).await?;
        let sla = liaison_db::opinions::load_sla(&self.db).await?;
        *self.rules.write().await = Rules { calendar, sla };
        Ok(())
    }

    /// The rules as the storage layer takes them, for today.
    pub fn opinion_rules<'a>(&self, rules: &'a Rules) -> liaison_db::opinions::Rules<'a> {
        liaison_db::opinions::Rules {
            calendar: &rules.calendar,
            sla: &rules.sla,
            today: liaison_db::opinions::today(),
        }
    }
}

/// The whole application router.
pub fn build_router(state: AppState) -> Router {
    use axum::http::{HeaderValue, header};
    use tower_http::compression::CompressionLayer;
    use tower_http::limit::RequestBodyLimitLayer;
    use tower_http::set_header::SetResponseHeaderLayer;

    Router::new()
        .merge(routes::public::router())
        .merge(routes::auth_pages::router())
        .merge(routes::workbench::router())
        .merge(routes::org::router())
        .merge(routes::opinions_work::router())
        .merge(routes::opinion_stats::router())
        .merge(routes::opinions_public::router())
        .merge(routes::settings::router())
        .merge(routes::admin::router())
        .merge(routes::data::router())
        .merge(routes::posters::router())
        // 闭会建议, 履职档案 and the deputy workbench (issue 4).
        .merge(routes::suggestions::router())
        .merge(routes::duty_record::router())
        .merge(routes::deputy_home::router())
        // 主题活动 and 督政议事
        .merge(routes::activities::router())
        .merge(routes::deliberations::router())
        // The in-app notification feed of staff.
        .merge(routes::notifications::router())
        .nest("/api/v1", api::router())
        .merge(api::open311::router())
        .merge(metrics::router())
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::load_user,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(RequestBodyLimitLayer::new(20 * 1024 * 1024))
        // axum's extractors stop at 2 MB by default, which a single phone photo exceeds; the
        // 20 MB limit above is the one that applies.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ),
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Err(e) = state.reload_rules().await {
        tracing::error!(error = %e, "loading the calendar and deadline table failed; using the built-in ones");
    }
    match state.learn_corrections().await {
        Ok(n) if n > 0 => tracing::info!(count = n, "classifier learned from staff corrections"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "replaying classifier corrections failed"),
    }
    if let Some(year) = state
        .rules
        .read()
        .await
        .calendar
        .missing_notice(liaison_db::opinions::today())
    {
        tracing::warn!(
            year,
            "the State Council holiday notice for this year is not loaded: its working-day deadlines count weekends only; load it under 办理规则设置"
        );
    }
    let app = build_router(state.clone());
    let cleanup_db = state.db.clone();
    let cleanup_limits = state.limits.clone();
    let workers = if state.config.background_jobs {
        notify::spawn_workers(state.clone(), state.senders.clone())
    } else {
        Vec::new()
    };
    // Expired sessions are purged hourly so the table stays small, and the rate limiters forget
    // the addresses whose limits have recovered.
    let cleaner = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = liaison_db::sessions::purge_expired(&cleanup_db).await {
                tracing::warn!(error = %e, "purging expired sessions failed");
            }
            cleanup_limits.retain_recent();
        }
    });
    // The SQLite search index is merged back into one segment at start and every night at
    // three (Beijing time), a minute at most each time and the rest ten minutes later
    // (liaison_db::opinions::tidy_search_index). Merging rewrites the whole index, so it is
    // not done more often: the segments of a day's submissions are small.
    let tidy_db = state.db.clone();
    let tidier = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        let mut due = true;
        loop {
            tick.tick().await;
            let beijing = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
            // Ten-minute ticks meet the hour six times; the first one starts the night's merge.
            due |= beijing.hour() == 3 && beijing.minute() < 10;
            if !due {
                continue;
            }
            let budget = std::time::Duration::from_secs(60);
            let started = std::time::Instant::now();
            match liaison_db::opinions::tidy_search_index(&tidy_db, budget).await {
                Ok(done) => {
                    due = !done;
                    let seconds = started.elapsed().as_secs_f64();
                    if done {
                        tracing::info!(seconds, "search index merged");
                    } else {
                        tracing::info!(
                            seconds,
                            "search index merge paused; it goes on in ten minutes"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "merging the search index failed; retrying later")
                }
            }
        }
    });
    // PostgreSQL's search index keeps new rows' entries in a pending list that every search
    // reads in full; emptied every half minute, it stays short whatever the intake
    // (liaison_db::opinions::flush_search_pending_list).
    let flush_db = state.db.clone();
    let flusher = tokio::spawn(async move {
        if flush_db.backend() != liaison_db::Backend::Postgres {
            return;
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            match liaison_db::opinions::flush_search_pending_list(&flush_db).await {
                Ok(0) => {}
                Ok(pages) => tracing::debug!(pages, "search index pending list emptied"),
                Err(e) => {
                    tracing::warn!(error = %e, "emptying the search index's pending list failed")
                }
            }
        }
    });
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    cleaner.abort();
    tidier.abort();
    flusher.abort();
    for w in workers {
        w.abort();
    }
    result
}
