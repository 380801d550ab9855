//! The separated administrators (三员): accounts for the system and security administrators,
//! the audit log for the audit administrator alone.

use crate::AppState;
use crate::auth::{CsrfForm, Staff};
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use crate::routes::{cursor, filter};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use liaison_core::dataset::{AccountRow, Dataset};
use liaison_core::role::{Role, SEPARATED_ADMIN_REFUSAL};
use liaison_core::scope::Scope;
use liaison_core::validate::{self, FieldError};
use liaison_db::audit::{self, AuditQuery, AuditRecord, ChainCheck};
use liaison_db::users::{self, User, UserQuery};
use serde::Deserialize;

/// Administration routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users))
        .route("/admin/users/new", get(new_user_form).post(create_user))
        .route("/admin/users/{id}/reset", post(reset_password))
        .route("/admin/users/{id}/lock", post(lock_user))
        .route("/admin/users/{id}/unlock", post(unlock_user))
        .route("/admin/audit", get(list_audit))
        .route("/admin/audit/verify", post(verify_audit))
}

const ACCOUNT_ADMINS: &[Role] = &[Role::SystemAdmin, Role::SecurityAdmin];

#[derive(Deserialize, Default)]
struct UsersQuery {
    q: Option<String>,
    role: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    q: String,
    role: String,
    roles: Vec<(&'static str, &'static str)>,
    users: Vec<User>,
    next: Option<String>,
    generated: Option<(String, String)>,
}

async fn users_page(
    state: &AppState,
    staff: &Staff,
    q: &UsersQuery,
    notice: Option<String>,
    generated: Option<(String, String)>,
) -> PageResult {
    let mut list = users::list(
        &state.db,
        &Scope::Everything,
        &UserQuery {
            role: filter(&q.role),
            q: filter(&q.q),
            after_id: cursor(&q.after),
            limit: 51,
        },
    )
    .await?;
    let next = (list.len() > 50).then(|| {
        list.truncate(50);
        list.last().map(|u| u.id.to_string()).unwrap_or_default()
    });
    render(&UsersPage {
        layout: Layout::staff(staff, "账号管理", "users").with_notice(notice),
        q: q.q.clone().unwrap_or_default(),
        role: q.role.clone().unwrap_or_default(),
        roles: Role::ALL.iter().map(|r| (r.code(), r.label())).collect(),
        users: list,
        next,
        generated,
    })
}

/// Whether accounts of this role are managed in the browser (not the three administrators).
pub fn managed_in_browser(code: &str) -> bool {
    Role::parse(code).is_some_and(|r| !r.is_separated_admin())
}

/// Label of a role code.
pub fn role_label(code: &str) -> &'static str {
    Role::parse(code).map_or("", Role::label)
}

/// `GET /admin/users`.
async fn list_users(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<UsersQuery>,
) -> PageResult {
    staff.require(ACCOUNT_ADMINS)?;
    users_page(&state, &staff, &q, None, None).await
}

#[derive(Deserialize, Default, Clone)]
struct UserForm {
    username: String,
    display_name: String,
    role: String,
    scope: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "admin/user_form.html")]
struct UserFormPage {
    layout: Layout,
    form: UserForm,
    errors: Vec<FieldError>,
    roles: Vec<(&'static str, &'static str)>,
}

impl UserFormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn user_form_page(staff: &Staff, form: UserForm, errors: Vec<FieldError>) -> UserFormPage {
    UserFormPage {
        layout: Layout::staff(staff, "新建账号", "users"),
        form,
        errors,
        roles: Role::ALL
            .iter()
            .filter(|r| !r.is_separated_admin())
            .map(|r| (r.code(), r.label()))
            .collect(),
    }
}

/// `GET /admin/users/new`.
async fn new_user_form(staff: Staff) -> PageResult {
    staff.require(ACCOUNT_ADMINS)?;
    render(&user_form_page(&staff, UserForm::default(), Vec::new()))
}

/// `POST /admin/users/new` — creates an account with a generated password shown once.
async fn create_user(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<UserForm>,
) -> PageResult {
    staff.require(ACCOUNT_ADMINS)?;
    let mut errs = Vec::new();
    let username = validate::username("username", &form.username).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let display_name = validate::required_text("display_name", "姓名", &form.display_name, 30)
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let role = Role::parse(&form.role);
    match role {
        None => errs.push(FieldError::new("role", "请选择角色")),
        Some(r) if r.is_separated_admin() => {
            errs.push(FieldError::new("role", SEPARATED_ADMIN_REFUSAL))
        }
        Some(_) => {}
    }
    let phone = match form.phone.trim() {
        "" => String::new(),
        p => validate::Phone::parse("phone", p)
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|e| {
                errs.push(e);
                String::new()
            }),
    };
    if !username.is_empty()
        && users::find_by_username(&state.db, &username)
            .await?
            .is_some()
    {
        errs.push(FieldError::new("username", "该用户名已被使用，请换一个"));
    }
    if !errs.is_empty() {
        return render(&user_form_page(&staff, form, errs));
    }
    let role = role.unwrap_or(Role::Citizen);
    let data = Dataset {
        accounts: vec![AccountRow {
            username: username.clone(),
            display_name,
            role,
            scope: Some(form.scope.trim().to_owned()).filter(|s| !s.is_empty()),
            phone,
            password: String::new(),
        }],
        ..Default::default()
    };
    match liaison_db::org::load_dataset(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &data,
        &mut |_, _| {},
    )
    .await
    {
        Ok(report) => {
            let generated = report
                .generated_credentials
                .first()
                .map(|(_, u, p, _)| (u.clone(), p.clone()));
            users_page(
                &state,
                &staff,
                &UsersQuery::default(),
                Some(format!("已创建账号 {username}。请将初始密码当面或通过安全渠道交给本人，首次登录须修改密码。")),
                generated,
            )
            .await
        }
        Err(liaison_db::org::LoadError::Rows(rows)) => {
            let errs = rows
                .into_iter()
                .map(|r| FieldError::new("scope", r.message))
                .collect();
            render(&user_form_page(&staff, form, errs))
        }
        Err(liaison_db::org::LoadError::Db(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct Empty {}

/// Administrators manage other accounts, not themselves and not the other administrators
/// (三员分立), through these forms; returns the account.
async fn manageable(state: &AppState, staff: &Staff, id: i64) -> PageResult<users::User> {
    if staff.auth.user.id == id {
        return Err(PageError::BadRequest(
            "不能对自己的账号执行此操作，请由另一位管理员办理。".into(),
        ));
    }
    let user = users::get(&state.db, id).await?;
    if user.role().is_separated_admin() {
        return Err(PageError::Forbidden(SEPARATED_ADMIN_REFUSAL.into()));
    }
    Ok(user)
}

/// `POST /admin/users/{id}/reset` — a new generated password, to be changed at next sign-in.
async fn reset_password(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    staff.require(ACCOUNT_ADMINS)?;
    let user = manageable(&state, &staff, id).await?;
    let password = liaison_core::protect::random_password();
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || liaison_core::protect::hash_password(&pw))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    users::set_password(&state.db, &state.keys, &staff.ctx.actor(), id, &hash, true).await?;
    users_page(
        &state,
        &staff,
        &UsersQuery::default(),
        Some(format!(
            "已重置账号 {} 的密码，其登录会话已全部退出。",
            user.username
        )),
        Some((user.username, password)),
    )
    .await
}

/// `POST /admin/users/{id}/lock`.
async fn lock_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    staff.require(ACCOUNT_ADMINS)?;
    manageable(&state, &staff, id).await?;
    users::set_locked(&state.db, &state.keys, &staff.ctx.actor(), id, true).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// `POST /admin/users/{id}/unlock`.
async fn unlock_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    staff.require(ACCOUNT_ADMINS)?;
    manageable(&state, &staff, id).await?;
    users::set_locked(&state.db, &state.keys, &staff.ctx.actor(), id, false).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize, Default)]
struct AuditParams {
    entity: Option<String>,
    action: Option<String>,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    entity: String,
    action: String,
    records: Vec<AuditRecord>,
    next: Option<i64>,
    check: Option<ChainCheck>,
}

async fn audit_page(
    state: &AppState,
    staff: &Staff,
    p: &AuditParams,
    check: Option<ChainCheck>,
) -> PageResult {
    let records = audit::list(
        &state.db,
        &AuditQuery {
            entity: filter(&p.entity),
            action: filter(&p.action),
            actor_id: None,
            before_id: cursor(&p.before),
            limit: 100,
        },
    )
    .await?;
    let next = (records.len() == 100)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    render(&AuditPage {
        layout: Layout::staff(staff, "审计日志", "audit"),
        entity: p.entity.clone().unwrap_or_default(),
        action: p.action.clone().unwrap_or_default(),
        records,
        next,
        check,
    })
}

/// Formats a timestamp in China time for display.
pub fn beijing_time(t: &time::OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+8));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `GET /admin/audit`.
async fn list_audit(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<AuditParams>,
) -> PageResult {
    staff.require(&[Role::AuditAdmin])?;
    audit_page(&state, &staff, &p, None).await
}

/// `POST /admin/audit/verify` — recomputes the whole HMAC chain.
async fn verify_audit(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    staff.require(&[Role::AuditAdmin])?;
    let check = audit::verify_chain(&state.db, &state.keys).await?;
    audit_page(&state, &staff, &AuditParams::default(), Some(check)).await
}
