//! Prometheus metrics at `GET /metrics`: requests by route class and status, latency histogram,
//! database pool, process memory. Kept small and dependency-free on purpose. Only a scraper on
//! the same machine, one that sends `LIAISON_METRICS_TOKEN` as a bearer token, or a signed-in
//! system administrator reads them; anyone else gets 404.

use crate::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const BUCKETS_MS: [u64; 10] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000];
const CLASSES: [&str; 4] = ["page", "api", "asset", "other"];

/// Counters since start.
#[derive(Default)]
pub struct Metrics {
    /// Requests per [class][status class 1xx..5xx].
    requests: [[AtomicU64; 5]; 4],
    /// Histogram buckets per class, plus the +Inf bucket.
    buckets: [[AtomicU64; 11]; 4],
    /// Sum of durations in microseconds per class.
    sum_us: [AtomicU64; 4],
}

fn class_of(path: &str) -> usize {
    if path.starts_with("/api/") || path.starts_with("/open311/") {
        1
    } else if path.starts_with("/assets/") {
        2
    } else if path == "/metrics" || path == "/healthz" {
        3
    } else {
        0
    }
}

/// Middleware: counts and times every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let class = class_of(req.uri().path());
    let start = Instant::now();
    let resp = next.run(req).await;
    let m = &state.metrics;
    let status = (resp.status().as_u16() / 100).clamp(1, 5) as usize - 1;
    m.requests[class][status].fetch_add(1, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let ms = elapsed.as_millis() as u64;
    let bucket = BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(10);
    m.buckets[class][bucket].fetch_add(1, Ordering::Relaxed);
    m.sum_us[class].fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    resp
}

/// Route.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Resident memory of this process in bytes (Linux), if readable.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Whether this request may read the metrics.
fn may_read(ctx: &crate::auth::RequestCtx, headers: &axum::http::HeaderMap) -> bool {
    let local = ctx
        .ip
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback());
    let admin = ctx
        .auth
        .as_ref()
        .is_some_and(|a| a.principal.role == liaison_core::role::Role::SystemAdmin);
    let token = std::env::var("LIAISON_METRICS_TOKEN")
        .ok()
        .filter(|t| t.len() >= 16)
        .is_some_and(|t| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|sent| crate::auth::tokens_match(sent.trim(), &t))
        });
    local || admin || token
}

async fn metrics(
    State(state): State<AppState>,
    ctx: crate::auth::RequestCtx,
    headers: axum::http::HeaderMap,
) -> Response {
    use std::fmt::Write;
    if !may_read(&ctx, &headers) {
        return crate::error::PageError::NotFound.into_response();
    }
    let m = &state.metrics;
    let mut out = String::new();
    out.push_str(
        "# HELP liaison_http_requests_total HTTP requests by route class and status class.\n",
    );
    out.push_str("# TYPE liaison_http_requests_total counter\n");
    for (ci, class) in CLASSES.iter().enumerate() {
        for s in 0..5 {
            let _ = writeln!(
                out,
                "liaison_http_requests_total{{class=\"{class}\",status=\"{}xx\"}} {}",
                s + 1,
                m.requests[ci][s].load(Ordering::Relaxed)
            );
        }
    }
    out.push_str("# HELP liaison_http_request_duration_seconds Request latency.\n");
    out.push_str("# TYPE liaison_http_request_duration_seconds histogram\n");
    for (ci, class) in CLASSES.iter().enumerate() {
        let mut cumulative = 0;
        for (bi, b) in BUCKETS_MS.iter().enumerate() {
            cumulative += m.buckets[ci][bi].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "liaison_http_request_duration_seconds_bucket{{class=\"{class}\",le=\"{}\"}} {cumulative}",
                *b as f64 / 1000.0
            );
        }
        cumulative += m.buckets[ci][10].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "liaison_http_request_duration_seconds_bucket{{class=\"{class}\",le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "liaison_http_request_duration_seconds_sum{{class=\"{class}\"}} {}",
            m.sum_us[ci].load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "liaison_http_request_duration_seconds_count{{class=\"{class}\"}} {cumulative}"
        );
    }
    let (size, idle) = state.db.pool_stats();
    out.push_str("# HELP liaison_db_connections Database pool connections.\n# TYPE liaison_db_connections gauge\n");
    let _ = writeln!(out, "liaison_db_connections{{state=\"open\"}} {size}");
    let _ = writeln!(out, "liaison_db_connections{{state=\"idle\"}} {idle}");
    if let Some(rss) = resident_bytes() {
        out.push_str("# HELP process_resident_memory_bytes Resident memory.\n# TYPE process_resident_memory_bytes gauge\n");
        let _ = writeln!(out, "process_resident_memory_bytes {rss}");
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::may_read;
    use crate::auth::RequestCtx;
    use axum::http::HeaderMap;

    fn ctx(ip: &str) -> RequestCtx {
        RequestCtx {
            auth: None,
            anon_csrf: String::new(),
            session_expired: false,
            ip: ip.into(),
        }
    }

    #[test]
    fn metrics_are_for_the_same_machine_unless_a_token_is_set() {
        assert!(may_read(&ctx("127.0.0.1"), &HeaderMap::new()));
        assert!(may_read(&ctx("::1"), &HeaderMap::new()));
        assert!(!may_read(&ctx("203.0.113.9"), &HeaderMap::new()));
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Bearer guessed-token-1234".parse().unwrap(),
        );
        assert!(!may_read(&ctx("203.0.113.9"), &h), "no token configured");
    }
}
