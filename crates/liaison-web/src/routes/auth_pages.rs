//! Signing in and out, and changing one's password (forced at the first sign-in of a seeded
//! or reset account).

use crate::AppState;
use crate::auth::{
    CsrfForm, LoginFailure, RequestCtx, SESSION_COOKIE, Staff, check_password, set_cookie,
};
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use liaison_db::sessions::{self, SessionKind};
use liaison_db::users;
use serde::Deserialize;

/// Sign-in routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route(
            "/account/password",
            get(password_form).post(change_password),
        )
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    username: String,
    next: String,
    error: Option<String>,
    info: Option<String>,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// Only local paths may be a target after sign-in (no open redirect). Browsers drop tabs and
/// line breaks from a URL and read `\\` as `/`, so `/\t/evil.example` would become
/// `//evil.example`: a path with any control character, space or backslash is refused too.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/work".to_owned(),
    }
}

/// `GET /login`.
async fn login_form(ctx: RequestCtx, Query(q): Query<LoginQuery>) -> PageResult {
    render(&LoginPage {
        layout: Layout::public(&ctx, "工作人员登录"),
        username: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
        info: q
            .expired
            .map(|_| "登录已超时（30分钟无操作或超过12小时），请重新登录。".to_owned()),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`.
async fn login(
    State(state): State<AppState>,
    ctx: RequestCtx,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> PageResult {
    let next = safe_next(form.next.as_deref());
    let fail = |msg: String| {
        render(&LoginPage {
            layout: Layout::public(&ctx, "工作人员登录"),
            username: form.username.clone(),
            next: next.clone(),
            error: Some(msg),
            info: None,
        })
    };
    if state.limits.login_blocked(&ctx.ip) {
        return Err(PageError::TooMany);
    }
    if form.username.trim().is_empty() || form.password.is_empty() {
        return fail("请输入用户名和密码".into());
    }
    let user = match check_password(&state, &form.username, &form.password, &ctx.ip).await {
        Ok(u) => u,
        Err(LoginFailure::Internal(e)) => return Err(PageError::Internal(e)),
        Err(f) => {
            tracing::info!(username = %form.username, ip = %ctx.ip, reason = f.code(), "sign-in refused");
            return fail(f.message());
        }
    };
    let (token, _) = sessions::create(&state.db, &state.keys, user.id, SessionKind::Web).await?;
    let target = if user.must_change_password {
        "/account/password".to_owned()
    } else {
        next
    };
    let mut resp = Redirect::to(&target).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &token,
            Some(sessions::ABSOLUTE_HOURS * 3600),
            state.config.secure_cookies,
        ),
    );
    Ok(resp)
}

#[derive(Deserialize)]
struct Empty {}

/// `POST /logout`.
async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult<Response> {
    if let Some(token) = crate::auth::cookie(&headers, SESSION_COOKIE) {
        sessions::delete(&state.db, &state.keys, token).await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), state.config.secure_cookies),
    );
    Ok(resp)
}

#[derive(Template)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    layout: Layout,
    forced: bool,
    errors: Vec<(String, String)>,
}

impl PasswordPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// `GET /account/password`.
async fn password_form(staff: Staff) -> PageResult {
    render(&PasswordPage {
        layout: Layout::staff(&staff, "修改密码", ""),
        forced: staff.auth.principal.must_change_password,
        errors: Vec::new(),
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new_password: String,
    confirm: String,
}

/// `POST /account/password`.
async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> PageResult {
    let mut errors = Vec::new();
    let user = &staff.auth.user;
    let hash = user.password_hash.clone();
    let current = form.current.clone();
    let current_ok = tokio::task::spawn_blocking(move || {
        liaison_core::protect::verify_password(&current, &hash)
    })
    .await
    .unwrap_or(false);
    if !current_ok {
        errors.push(("current".into(), "当前密码不正确".into()));
    }
    if let Err(e) = liaison_core::validate::new_password("new_password", &form.new_password) {
        errors.push((e.field, e.message));
    } else if form.new_password == form.current {
        errors.push(("new_password".into(), "新密码不能与当前密码相同".into()));
    }
    if form.new_password != form.confirm {
        errors.push(("confirm".into(), "两次输入的新密码不一致".into()));
    }
    if !errors.is_empty() {
        return render(&PasswordPage {
            layout: Layout::staff(&staff, "修改密码", ""),
            forced: staff.auth.principal.must_change_password,
            errors,
        });
    }
    let pw = form.new_password.clone();
    let new_hash = tokio::task::spawn_blocking(move || liaison_core::protect::hash_password(&pw))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    users::set_password(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        user.id,
        &new_hash,
        false,
    )
    .await?;
    // Changing the password ended every session; start a fresh one for this browser.
    let (token, _) = sessions::create(&state.db, &state.keys, user.id, SessionKind::Web).await?;
    let mut resp = Redirect::to("/work?notice=password").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &token,
            Some(sessions::ABSOLUTE_HOURS * 3600),
            state.config.secure_cookies,
        ),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/work/opinions?state=submitted")),
            "/work/opinions?state=submitted"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "https://evil.example",
            "evil.example",
            "/ /evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/work", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/work");
    }
}
