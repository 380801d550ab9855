//! Who is asking: sessions (cookie) and API tokens (bearer), CSRF protection of forms, and rate
//! limits of public endpoints.
//!
//! [`load_user`] runs on every request and leaves a [`RequestCtx`] in the request; extractors read
//! it. Every state-changing form is read through [`CsrfForm`], which refuses a missing or wrong
//! token before the handler runs.

use crate::AppState;
use crate::error::{ApiError, PageError};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use liaison_db::audit::Actor;
use liaison_db::sessions::{self, Lookup, SessionKind};
use liaison_db::users::{self, User};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "liaison_session";
/// Name of the anonymous CSRF cookie (forms shown before sign-in).
pub const CSRF_COOKIE: &str = "liaison_csrf";

/// A signed-in user and how they came in.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The account.
    pub user: User,
    /// The account as a principal (role and scope).
    pub principal: Principal,
    /// The CSRF token of the session.
    pub csrf: String,
    /// Web session or API token.
    pub via: SessionKind,
}

impl Auth {
    /// The principal's scope.
    pub fn scope(&self) -> Scope {
        self.principal.scope()
    }
    /// The role.
    pub fn role(&self) -> Role {
        self.principal.role
    }
}

/// What every handler may know about the request.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The signed-in user, if any.
    pub auth: Option<Arc<Auth>>,
    /// CSRF token for forms of an anonymous visitor.
    pub anon_csrf: String,
    /// A session cookie was sent but its session had expired.
    pub session_expired: bool,
    /// Client address.
    pub ip: String,
}

impl RequestCtx {
    /// The token forms on this page must carry.
    pub fn csrf(&self) -> &str {
        match &self.auth {
            Some(a) if a.via == SessionKind::Web => &a.csrf,
            _ => &self.anon_csrf,
        }
    }

    /// The actor for audit records.
    pub fn actor(&self) -> Actor {
        match &self.auth {
            Some(a) => Actor::user(a.user.id, &a.user.display_name, a.role(), &self.ip),
            None => Actor::public(&self.ip),
        }
    }
}

/// Reads a cookie from the request headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then_some(v)
        })
}

/// A `Set-Cookie` value with the safe defaults.
pub fn set_cookie(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_secs {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).expect("cookie value is ASCII")
}

/// Middleware: resolves the session or bearer token into a [`RequestCtx`].
pub async fn load_user(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers(), &state.config.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let session_token = cookie(headers, SESSION_COOKIE).map(str::to_owned);
    let anon = cookie(headers, CSRF_COOKIE)
        .filter(|v| v.len() >= 32)
        .map(str::to_owned);
    let new_anon = anon.is_none();
    let anon_csrf = anon.unwrap_or_else(liaison_core::protect::random_token);

    let (token, kind) = match (bearer, session_token) {
        (Some(b), _) => (Some(b), SessionKind::Api),
        (None, Some(s)) => (Some(s), SessionKind::Web),
        (None, None) => (None, SessionKind::Web),
    };
    let mut session_expired = false;
    let mut auth = None;
    if let Some(token) = token {
        match sessions::find(&state.db, &state.keys, &token, kind).await {
            Ok(Ok((session, user))) if !user.locked => {
                auth = Some(Arc::new(Auth {
                    principal: user.principal(),
                    user,
                    csrf: session.csrf_token,
                    via: kind,
                }));
            }
            Ok(Ok(_)) => session_expired = true,
            Ok(Err(Lookup::Expired)) => session_expired = true,
            Ok(Err(Lookup::Unknown)) => session_expired = kind == SessionKind::Web,
            Err(e) => tracing::error!(error = %e, "session lookup failed"),
        }
    }
    req.extensions_mut().insert(RequestCtx {
        auth,
        anon_csrf: anon_csrf.clone(),
        session_expired,
        ip,
    });
    let mut resp = next.run(req).await;
    if new_anon {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &anon_csrf, None, state.config.secure_cookies),
        );
    }
    resp
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| PageError::Internal("RequestCtx missing".into()))
    }
}

/// A signed-in user on a page. Without a session: a redirect to the sign-in page that comes
/// back here. With a password that must be changed first: a redirect to that form.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The user.
    pub auth: Arc<Auth>,
    /// The request context.
    pub ctx: RequestCtx,
    /// Unread in-app notifications of the user, counted up to 100 (the navigation badge).
    pub unread_notifications: i64,
}

impl Staff {
    /// Refuses unless the role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), PageError> {
        if roles.contains(&self.auth.role()) {
            Ok(())
        } else {
            Err(PageError::Forbidden(format!(
                "您的角色（{}）无权进行此操作。如需办理，请联系上级工作人员或系统管理员。",
                self.auth.role().label()
            )))
        }
    }
}

impl<S> FromRequestParts<S> for Staff
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = RequestCtx::from_request_parts(parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        match &ctx.auth {
            Some(a) if a.via == SessionKind::Web => {
                if a.principal.must_change_password
                    && !path.starts_with("/account/password")
                    && !path.starts_with("/logout")
                {
                    return Err(Redirect::to("/account/password").into_response());
                }
                // The badge of the notification feed in the navigation; a failed count only
                // hides the badge.
                let unread_notifications = if a.principal.must_change_password {
                    0
                } else {
                    let state = AppState::from_ref(s);
                    liaison_db::notification_feed::unread_count(&state.db, &a.principal, 100)
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "counting unread notifications failed");
                            0
                        })
                };
                Ok(Staff {
                    auth: a.clone(),
                    ctx,
                    unread_notifications,
                })
            }
            _ => {
                let mut to = format!("/login?next={}", urlencode(path));
                if ctx.session_expired {
                    to.push_str("&expired=1");
                }
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

/// A user of the JSON API (bearer token). Without one: 401 JSON.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// The user.
    pub auth: Arc<Auth>,
    /// The request context.
    pub ctx: RequestCtx,
}

impl ApiUser {
    /// Refuses unless the role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.auth.role()) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "角色“{}”无权访问该资源",
                self.auth.role().label()
            )))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(ApiError::unauthorized)?;
        match &ctx.auth {
            Some(a) if a.via == SessionKind::Api => {
                if a.principal.must_change_password {
                    return Err(ApiError::forbidden(
                        "该账号须先在网页登录并修改初始密码，然后才能使用接口",
                    ));
                }
                Ok(ApiUser {
                    auth: a.clone(),
                    ctx,
                })
            }
            _ => Err(ApiError::unauthorized()),
        }
    }
}

/// An optional API user: public endpoints show more to staff with a token.
#[derive(Debug, Clone)]
pub struct MaybeApiUser(pub Option<ApiUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let has_bearer = parts.headers.contains_key(header::AUTHORIZATION);
        match ApiUser::from_request_parts(parts, s).await {
            Ok(u) => Ok(MaybeApiUser(Some(u))),
            // A wrong token is an error, not "anonymous": the client should know.
            Err(e) if has_bearer => Err(e),
            Err(_) => Ok(MaybeApiUser(None)),
        }
    }
}

/// Percent-encodes a string for a query parameter.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Compares two tokens in constant time.
pub fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A URL-encoded form whose `_csrf` field was checked against the session (or, before sign-in,
/// the CSRF cookie). Use it for every state-changing form.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = req
            .extensions()
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| PageError::Csrf.into_response())?;
        let bytes = axum::body::Bytes::from_request(req, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| PageError::Csrf.into_response())?;
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !tokens_match(sent, ctx.csrf()) {
            tracing::warn!(ip = %ctx.ip, "CSRF token missing or wrong");
            return Err(PageError::Csrf.into_response());
        }
        let value = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| PageError::BadRequest(format!("表单内容无法识别：{e}")).into_response())?;
        Ok(CsrfForm(value))
    }
}

/// A state-changing form that may carry photos: `multipart/form-data` (the browser form with
/// its file field) or URL-encoded (no photos). The `_csrf` field is checked like [`CsrfForm`];
/// files of the field `photos` are returned as they came, for the intake to check and re-encode.
pub struct CsrfUpload<T> {
    /// The text fields.
    pub form: T,
    /// The uploaded photos (empty file inputs left out).
    pub photos: Vec<Vec<u8>>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfUpload<T> {
    type Rejection = Response;
    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let CsrfForm(form) = CsrfForm::<T>::from_request(req, s).await?;
            return Ok(CsrfUpload {
                form,
                photos: Vec::new(),
            });
        }
        let ctx = req
            .extensions()
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| PageError::Csrf.into_response())?;
        let mut mp = axum::extract::Multipart::from_request(req, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let unreadable = |e: axum::extract::multipart::MultipartError| {
            PageError::BadRequest(format!(
                "提交内容无法读取，可能是照片过大（总计不超过20MB），请减少照片后重试：{e}"
            ))
            .into_response()
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut photos = Vec::new();
        while let Some(field) = mp.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or("").to_owned();
            if name == "photos" {
                let has_name = field.file_name().is_some_and(|n| !n.is_empty());
                let bytes = field.bytes().await.map_err(unreadable)?;
                if has_name && !bytes.is_empty() {
                    photos.push(bytes.to_vec());
                }
            } else {
                let value = field.text().await.map_err(unreadable)?;
                pairs.push((name, value));
            }
        }
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !tokens_match(sent, ctx.csrf()) {
            tracing::warn!(ip = %ctx.ip, "CSRF token missing or wrong");
            return Err(PageError::Csrf.into_response());
        }
        // The text fields go through the same deserialisation as a URL-encoded form.
        let encoded = serde_urlencoded::to_string(&pairs)
            .map_err(|e| PageError::BadRequest(format!("表单内容无法识别：{e}")).into_response())?;
        let form = serde_urlencoded::from_str(&encoded)
            .map_err(|e| PageError::BadRequest(format!("表单内容无法识别：{e}")).into_response())?;
        Ok(CsrfUpload { form, photos })
    }
}

/// The client's address: the connection's peer, or — when the peer is one of the configured
/// reverse proxies — the last address in `X-Forwarded-For` that is not a proxy itself (the
/// proxies append the address they received from; what comes before may be forged).
pub fn client_ip(
    peer: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

/// The key an address is rate limited by: an IPv4 address, or the /64 network of an IPv6
/// address (one subscriber usually holds a whole /64, so single addresses would give one
/// client endless keys).
pub fn rate_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        _ => ip.to_owned(),
    }
}

/// Wrong guesses of the secret that guards tracking without an account — the last four digits
/// of a phone, ten thousand values — per tracking or sign-up number, from any address. After
/// [`GUESSES_MAX`] wrong guesses within an hour the number is locked until that hour is over.
#[derive(Default)]
pub struct Guesses {
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>,
}

/// Wrong guesses allowed per number and hour.
pub const GUESSES_MAX: u32 = 5;
const GUESS_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

impl Guesses {
    /// Whether `number` is locked now.
    pub fn locked(&self, number: &str) -> bool {
        let map = self.failures.lock().expect("guesses lock");
        map.get(&number.trim().to_uppercase())
            .is_some_and(|(n, since)| *n >= GUESSES_MAX && since.elapsed() < GUESS_WINDOW)
    }

    /// Records the outcome of a guess: a right one clears the count.
    pub fn record(&self, number: &str, right: bool) {
        let key = number.trim().to_uppercase();
        let mut map = self.failures.lock().expect("guesses lock");
        if right {
            map.remove(&key);
            return;
        }
        let entry = map.entry(key).or_insert((0, std::time::Instant::now()));
        if entry.1.elapsed() >= GUESS_WINDOW {
            *entry = (0, std::time::Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets numbers whose hour is over.
    pub fn retain_recent(&self) {
        self.failures
            .lock()
            .expect("guesses lock")
            .retain(|_, (_, since)| since.elapsed() < GUESS_WINDOW);
    }
}

/// What a locked number is told.
pub const GUESSES_LOCKED: &str =
    "该编号的手机号后四位输错次数过多，已暂停查询一小时。如需帮助，请联系联络站。";

/// Per-address rate limits of the endpoints that anyone can reach.
pub struct RateLimits {
    /// Sign-in attempts (page and API).
    pub login: DefaultKeyedRateLimiter<String>,
    /// Public writes (submissions, ratings), per address.
    pub public_write: DefaultKeyedRateLimiter<String>,
    /// Public submissions per phone number (keyed by its blind index).
    pub public_phone: DefaultKeyedRateLimiter<String>,
    /// Wrong last-four-digit guesses per tracking or sign-up number.
    pub guesses: Guesses,
}

impl RateLimits {
    /// Whether a public write or lookup from `ip` is over its limit (and counts this one).
    pub fn public_blocked(&self, ip: &str) -> bool {
        self.public_write.check_key(&rate_key(ip)).is_err()
    }

    /// Whether a sign-in attempt from `ip` is over its limit (and counts this one).
    pub fn login_blocked(&self, ip: &str) -> bool {
        self.login.check_key(&rate_key(ip)).is_err()
    }

    /// Whether a submission with this phone (its blind index) is over its limit.
    pub fn phone_blocked(&self, phone_index: &str) -> bool {
        self.public_phone
            .check_key(&phone_index.to_owned())
            .is_err()
    }

    /// Forgets the keys whose limits have recovered, so the maps do not grow without end.
    pub fn retain_recent(&self) {
        self.login.retain_recent();
        self.public_write.retain_recent();
        self.public_phone.retain_recent();
        self.guesses.retain_recent();
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        let per_min = |n: u32| Quota::per_minute(NonZeroU32::new(n).expect("non-zero"));
        // Benchmarks and load tests raise this; a real deployment keeps the default.
        let public_per_min = std::env::var("LIAISON_PUBLIC_RATE_PER_MIN")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n: &u32| *n > 0)
            .unwrap_or(30);
        RateLimits {
            login: RateLimiter::keyed(per_min(20)),
            public_write: RateLimiter::keyed(per_min(public_per_min)),
            public_phone: RateLimiter::keyed(
                Quota::per_hour(NonZeroU32::new(20).expect("non-zero"))
                    .allow_burst(NonZeroU32::new(10).expect("non-zero")),
            ),
            guesses: Guesses::default(),
        }
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

/// Signs in with a password: checks lockout, verifies, records the outcome. The error is a
/// Chinese message that never says whether the user name exists.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: &str,
    ip: &str,
) -> Result<User, LoginFailure> {
    let user = users::find_by_username(&state.db, username.trim())
        .await
        .map_err(|e| LoginFailure::Internal(e.to_string()))?;
    let Some(user) = user else {
        // Spend the same time as a real check so timing does not reveal unknown names.
        let _ = tokio::task::spawn_blocking(|| {
            liaison_core::protect::verify_password("x", DUMMY_HASH.as_str())
        })
        .await;
        return Err(LoginFailure::Wrong);
    };
    if user.locked {
        return Err(LoginFailure::Locked);
    }
    if user.is_temporarily_locked(liaison_db::db::now()) {
        return Err(LoginFailure::TemporarilyLocked);
    }
    let hash = user.password_hash.clone();
    let pw = password.to_owned();
    let ok =
        tokio::task::spawn_blocking(move || liaison_core::protect::verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
    if !ok {
        let n = users::record_failed_login(&state.db, &state.keys, &user, ip)
            .await
            .map_err(|e| LoginFailure::Internal(e.to_string()))?;
        return Err(if n >= users::MAX_FAILED_LOGINS {
            LoginFailure::TemporarilyLocked
        } else {
            LoginFailure::Wrong
        });
    }
    users::record_login(&state.db, &state.keys, &user, ip)
        .await
        .map_err(|e| LoginFailure::Internal(e.to_string()))?;
    Ok(user)
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    liaison_core::protect::hash_password("not-a-real-password").unwrap_or_default()
});

/// Why a sign-in failed.
#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown user or wrong password (deliberately the same message).
    Wrong,
    /// Locked by an administrator.
    Locked,
    /// Locked for a while after too many failures.
    TemporarilyLocked,
    /// Storage failed.
    Internal(String),
}

impl LoginFailure {
    /// Stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            LoginFailure::Wrong => "invalid_credentials",
            LoginFailure::Locked => "account_locked",
            LoginFailure::TemporarilyLocked => "account_temporarily_locked",
            LoginFailure::Internal(_) => "internal",
        }
    }
    /// Chinese message.
    pub fn message(&self) -> String {
        match self {
            LoginFailure::Wrong => "用户名或密码错误，请重新输入".into(),
            LoginFailure::Locked => "该账号已被管理员锁定，请联系系统管理员或安全管理员解锁".into(),
            LoginFailure::TemporarilyLocked => format!(
                "连续{}次密码错误，账号已临时锁定{}分钟，请稍后再试或联系管理员重置密码",
                users::MAX_FAILED_LOGINS,
                users::LOCKOUT_MINUTES
            ),
            LoginFailure::Internal(_) => "系统暂时无法登录，请稍后重试".into(),
        }
    }
}

#[cfg(test)]
mod address_tests {
    use super::{client_ip, rate_key};
    use axum::http::HeaderMap;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let proxy = ip("127.0.0.1");
        // Not behind a proxy: the header is anyone's to forge.
        assert_eq!(
            client_ip(Some(ip("198.51.100.1")), &h, &[proxy]),
            Some(ip("198.51.100.1"))
        );
        // Behind the proxy: the address it appended, not the forged one before it.
        assert_eq!(
            client_ip(Some(proxy), &h, &[proxy]),
            Some(ip("203.0.113.7"))
        );
        // Two proxies in a row: skip both.
        let second = ip("10.0.0.2");
        h.insert("x-forwarded-for", "203.0.113.7, 10.0.0.2".parse().unwrap());
        assert_eq!(
            client_ip(Some(proxy), &h, &[proxy, second]),
            Some(ip("203.0.113.7"))
        );
        // A proxy that sent no header: the proxy itself.
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
        assert_eq!(client_ip(None, &h, &[proxy]), None);
    }

    #[test]
    fn an_ipv6_client_is_limited_by_its_64_network() {
        assert_eq!(
            rate_key("2001:db8:1:2:aaaa::1"),
            rate_key("2001:db8:1:2:bbbb::9")
        );
        assert_ne!(rate_key("2001:db8:1:2::1"), rate_key("2001:db8:1:3::1"));
        assert_eq!(rate_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(rate_key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
