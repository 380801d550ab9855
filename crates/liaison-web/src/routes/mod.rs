//! Page routes, one module per area. Each exposes `router()`.

pub mod activities;
pub mod admin;
pub mod auth_pages;
pub mod data;
pub mod deliberations;
pub mod opinion_stats;
pub mod opinions_public;
pub mod opinions_work;
pub mod org;
pub mod posters;
pub mod public;
pub mod settings;
pub mod workbench;
// 闭会建议, 履职档案 and the deputy workbench (issue 4).
pub mod deputy_home;
pub mod duty_record;
pub mod suggestions;
// The in-app notification feed of staff.
pub mod notifications;

use crate::error::PageError;

/// Fallback for unknown paths.
pub async fn not_found() -> PageError {
    PageError::NotFound
}

/// Parses an optional numeric cursor from a query string value.
pub fn cursor(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.parse().ok())
}

/// Trims an optional filter value; empty means "no filter".
pub fn filter(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `k=v&…` of the pairs whose value is not blank, trimmed and encoded: the query string that
/// keeps a list's or report's filters in its links.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", crate::auth::urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

/// An Excel file as a download named `filename` (Chinese allowed), with `ascii_name` for clients
/// that do not read RFC 5987 names.
pub fn xlsx_download(bytes: Vec<u8>, ascii_name: &str, filename: &str) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{}",
                    crate::auth::urlencode(filename)
                ),
            ),
        ],
        bytes,
    )
        .into_response()
}
