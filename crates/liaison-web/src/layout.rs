//! The frame around every page: title, navigation by module (only modules that work are shown),
//! the signed-in user, and the CSRF token forms need.

use crate::auth::{RequestCtx, Staff};
use crate::error::PageResult;
use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use liaison_core::role::Role;

/// One entry of the workbench navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Link.
    pub href: &'static str,
    /// Chinese label.
    pub label: &'static str,
    /// Key matched against [`Layout::active`].
    pub key: &'static str,
}

/// The signed-in user shown in the header.
#[derive(Debug, Clone)]
pub struct UserBar {
    /// Name.
    pub name: String,
    /// Role label.
    pub role: String,
    /// Bound region/station/unit/deputy name.
    pub scope: String,
}

/// Data of the page frame.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Page title (without the site name).
    pub title: String,
    /// Signed-in user, for the workbench header.
    pub user: Option<UserBar>,
    /// CSRF token for forms on the page.
    pub csrf: String,
    /// Workbench navigation (empty on public pages).
    pub nav: Vec<NavItem>,
    /// Key of the active navigation entry.
    pub active: &'static str,
    /// One-off notice shown at the top (e.g. "已保存").
    pub notice: Option<String>,
    /// Unread in-app notifications as the navigation badge shows them (“3”, “99+”); empty
    /// when there are none.
    pub unread: String,
}

/// The modules a role sees in the workbench.
pub fn nav_for(role: Role) -> Vec<NavItem> {
    let mut v = vec![NavItem {
        href: "/work",
        label: "工作台",
        key: "home",
    }];
    // The in-app notification feed: for the roles the outbox addresses (see
    // `liaison_db::notification_feed::Addressee`).
    if matches!(
        role,
        Role::StationStaff
            | Role::TownshipStaff
            | Role::CountyStaff
            | Role::CityStaff
            | Role::UnitOfficer
            | Role::UnitLead
            | Role::Deputy
    ) {
        v.push(NavItem {
            href: "/work/notifications",
            label: "消息通知",
            key: "notifications",
        });
    }
    // 闭会建议, 履职档案 and the deputy workbench (issue 4).
    if role == Role::Deputy {
        v.push(NavItem {
            href: "/work/me",
            label: "代表工作台",
            key: "me",
        });
    }
    if role.is_business_staff()
        || matches!(
            role,
            Role::Deputy | Role::UnitOfficer | Role::UnitLead | Role::GridWorker
        )
    {
        v.push(NavItem {
            href: "/work/opinions",
            label: "民意收集处理",
            key: "opinions",
        });
    }
    // 民意办理统计 (reference §4.1): congress staff for their place, units for their own items.
    if crate::api::opinion_stats::STATS_ROLES.contains(&role) {
        v.push(NavItem {
            href: "/work/opinions/stats",
            label: "民意办理统计",
            key: "opinion_stats",
        });
    }
    // 闭会建议 and 履职档案 (issue 4). Station staff keep no suggestion registry.
    if matches!(
        role,
        Role::CityStaff
            | Role::CountyStaff
            | Role::TownshipStaff
            | Role::Deputy
            | Role::UnitOfficer
            | Role::UnitLead
    ) {
        v.push(NavItem {
            href: "/work/suggestions",
            label: "闭会建议",
            key: "suggestions",
        });
    }
    if role.is_business_staff() || role == Role::Deputy {
        v.push(NavItem {
            href: "/work/duty-record",
            label: "履职档案",
            key: "duty_record",
        });
    }
    // 主题活动 and 督政议事: organisers, deputies (their activities, check-in) and units (invited).
    if role.is_business_staff() || matches!(role, Role::Deputy | Role::UnitOfficer | Role::UnitLead)
    {
        v.push(NavItem {
            href: "/work/activities",
            label: "主题活动",
            key: "activities",
        });
        v.push(NavItem {
            href: "/work/deliberations",
            label: "督政议事",
            key: "deliberations",
        });
    }
    let org = role.is_business_staff() || role == Role::SystemAdmin;
    if org {
        v.push(NavItem {
            href: "/work/stations",
            label: "联络站",
            key: "stations",
        });
        v.push(NavItem {
            href: "/work/deputies",
            label: "人大代表",
            key: "deputies",
        });
    }
    if org {
        v.push(NavItem {
            href: "/work/posters",
            label: "二维码海报",
            key: "posters",
        });
    }
    if org || matches!(role, Role::UnitOfficer | Role::UnitLead) {
        v.push(NavItem {
            href: "/work/units",
            label: "承办单位",
            key: "units",
        });
    }
    if role.may_edit_organisation() {
        v.push(NavItem {
            href: "/work/regions",
            label: "行政区划",
            key: "regions",
        });
        v.push(NavItem {
            href: "/work/data",
            label: "导入导出",
            key: "data",
        });
    }
    if matches!(role, Role::SystemAdmin | Role::CityStaff) {
        v.push(NavItem {
            href: "/work/settings",
            label: "办理规则",
            key: "settings",
        });
    }
    if role.may_manage_accounts() {
        v.push(NavItem {
            href: "/admin/users",
            label: "账号管理",
            key: "users",
        });
    }
    if role.may_read_audit() {
        v.push(NavItem {
            href: "/admin/audit",
            label: "审计日志",
            key: "audit",
        });
    }
    v
}

impl Layout {
    /// Frame of a workbench page.
    pub fn staff(staff: &Staff, title: impl Into<String>, active: &'static str) -> Self {
        let u = &staff.auth.user;
        Layout {
            title: title.into(),
            user: Some(UserBar {
                name: u.display_name.clone(),
                role: staff.auth.role().label().to_owned(),
                scope: u.scope_name.clone().unwrap_or_default(),
            }),
            csrf: staff.ctx.csrf().to_owned(),
            nav: if staff.auth.principal.must_change_password {
                Vec::new()
            } else {
                nav_for(staff.auth.role())
            },
            active,
            notice: None,
            unread: match staff.unread_notifications {
                n if n <= 0 => String::new(),
                n if n > 99 => "99+".to_owned(),
                n => n.to_string(),
            },
        }
    }

    /// Frame of a public page.
    pub fn public(ctx: &RequestCtx, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            user: None,
            csrf: ctx.csrf().to_owned(),
            nav: Vec::new(),
            active: "",
            notice: None,
            unread: String::new(),
        }
    }

    /// Adds a notice.
    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

/// Renders a template as an HTML response.
pub fn render(t: &impl Template) -> PageResult<Response> {
    Ok(Html(t.render()?).into_response())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    message: &'a str,
}

/// The HTML of an error page.
pub fn error_page(status: u16, title: &str, message: &str) -> String {
    let page = ErrorPage {
        layout: Layout {
            title: title.to_owned(),
            user: None,
            csrf: String::new(),
            nav: Vec::new(),
            active: "",
            notice: None,
            unread: String::new(),
        },
        status,
        message,
    };
    page.render()
        .unwrap_or_else(|_| format!("<!doctype html><title>{status}</title><p>{status}"))
}
