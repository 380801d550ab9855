//! HTTP tests: the real server on 127.0.0.1:0, driven over HTTP, on SQLite and on PostgreSQL
//! (`TEST_DATABASE_URL`). Each test runs once per backend: `sqlite::<name>`, `postgres::<name>`.

#[path = "../support/mod.rs"]
mod support;

use liaison_db::Backend;
use serde_json::Value;
use support::{FIXTURE_PASSWORD, TestApp, csrf_from};

backend_tests!(
    public_pages_show_the_directory_station_and_deputy,
    qr_short_links_redirect_to_the_pages,
    unknown_pages_get_a_chinese_404,
    public_text_is_escaped,
    wrong_password_and_unknown_user_get_the_same_message,
    repeated_failures_lock_the_account_for_a_while,
    a_locked_account_cannot_sign_in,
    a_seeded_account_must_change_its_password_first,
    forms_without_a_valid_csrf_token_are_refused,
    an_expired_session_leads_back_to_sign_in,
    sign_out_ends_the_session,
    workbench_requires_sign_in,
    scope_matrix_of_roles_and_regions,
    pages_outside_the_scope_are_forbidden,
    editing_a_station_is_audited_and_kept_on_errors,
    the_audit_log_is_for_the_audit_admin_alone,
    revealing_a_phone_is_audited,
    api_token_and_list_shape,
    api_errors_have_stable_codes,
    api_pagination_walks_all_items,
    openapi_document_lists_the_endpoints,
    health_and_metrics_answer,
    account_admin_creates_and_resets_accounts,
    import_of_a_bad_workbook_writes_nothing,
    import_cannot_take_over_another_countys_records,
    import_and_export_round_trip_through_the_workbench,
    station_staff_maintain_their_people_and_grids,
);

async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn(backend).await
}

async fn text(resp: reqwest::Response) -> String {
    resp.text().await.expect("body")
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn public_pages_show_the_directory_station_and_deputy(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let home = text(c.get(app.url("/")).send().await.unwrap()).await;
    assert!(home.contains("找联络站") && home.contains("椒江区") && home.contains("黄岩区"));
    let region = text(c.get(app.url("/regions/331002")).send().await.unwrap()).await;
    assert!(region.contains("海门街道人大代表联络站"));
    assert!(
        !region.contains("东城街道"),
        "another county's station is not listed"
    );
    let station = text(c.get(app.url("/stations/JJ-HM")).send().await.unwrap()).await;
    assert!(station.contains("张海门"), "resident deputy listed");
    assert!(station.contains("王站长"), "station head listed");
    assert!(
        !station.contains("13900000001") && !station.contains("13700000001"),
        "no private phones"
    );
    let deputy = text(c.get(app.url("/deputies/JJ-D1")).send().await.unwrap()).await;
    assert!(deputy.contains("张海门") && deputy.contains("县（市、区）人大代表"));
    assert!(!deputy.contains("13700000001"));
    let search = text(c.get(app.url("/deputies?q=张")).send().await.unwrap()).await;
    assert!(search.contains("张海门"));
}

async fn qr_short_links_redirect_to_the_pages(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let r = c.get(app.url("/s/JJ-HM")).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(location(&r), "/stations/JJ-HM");
    let r = c.get(app.url("/d/JJ-D1")).send().await.unwrap();
    assert_eq!(location(&r), "/deputies/JJ-D1");
}

async fn unknown_pages_get_a_chinese_404(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let r = c.get(app.url("/stations/NOPE")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(text(r).await.contains("页面不存在"));
    let r = c.get(app.url("/no/such/path")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(app.url("/api/v1/nothing")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
}

async fn public_text_is_escaped(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let html = text(
        c.get(app.url("/?q=<script>alert(1)</script>"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
}

async fn login_form(app: &TestApp, c: &reqwest::Client, user: &str, pw: &str) -> reqwest::Response {
    let token = app.csrf(c, "/login").await;
    c.post(app.url("/login"))
        .form(&[
            ("_csrf", token.as_str()),
            ("username", user),
            ("password", pw),
        ])
        .send()
        .await
        .unwrap()
}

async fn wrong_password_and_unknown_user_get_the_same_message(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let r = login_form(&app, &c, "station.hm", "wrong").await;
    assert_eq!(r.status(), 200);
    let a = text(r).await;
    assert!(a.contains("用户名或密码错误"));
    assert!(
        a.contains("value=\"station.hm\""),
        "typed user name is kept"
    );
    let r = login_form(&app, &c, "nobody", "wrong").await;
    assert!(text(r).await.contains("用户名或密码错误"));
}

async fn repeated_failures_lock_the_account_for_a_while(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    for _ in 0..5 {
        login_form(&app, &c, "town.hm", "wrong").await;
    }
    let r = login_form(&app, &c, "town.hm", FIXTURE_PASSWORD).await;
    let body = text(r).await;
    assert!(
        body.contains("临时锁定"),
        "right password refused during lockout"
    );
    let audit = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            action: Some("lockout".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(audit.len(), 1);
}

async fn a_locked_account_cannot_sign_in(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let u = liaison_db::users::find_by_username(&app.db, "county.hy")
        .await
        .unwrap()
        .unwrap();
    liaison_db::users::set_locked(
        &app.db,
        &app.keys,
        &liaison_db::audit::Actor::system("t"),
        u.id,
        true,
    )
    .await
    .unwrap();
    let c = app.client();
    let body = text(login_form(&app, &c, "county.hy", FIXTURE_PASSWORD).await).await;
    assert!(body.contains("已被管理员锁定"));
    let r = c
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "county.hy", "password": FIXTURE_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "account_locked");
}

async fn a_seeded_account_must_change_its_password_first(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let hash = liaison_core::protect::hash_password(FIXTURE_PASSWORD).unwrap();
    let u = liaison_db::users::find_by_username(&app.db, "city")
        .await
        .unwrap()
        .unwrap();
    liaison_db::users::set_password(
        &app.db,
        &app.keys,
        &liaison_db::audit::Actor::system("t"),
        u.id,
        &hash,
        true,
    )
    .await
    .unwrap();
    let c = app.client();
    let r = login_form(&app, &c, "city", FIXTURE_PASSWORD).await;
    assert_eq!(location(&r), "/account/password");
    let r = c.get(app.url("/work/stations")).send().await.unwrap();
    assert_eq!(location(&r), "/account/password", "everything else waits");
    let token = app.csrf(&c, "/account/password").await;
    let r = c
        .post(app.url("/account/password"))
        .form(&[
            ("_csrf", token.as_str()),
            ("current", FIXTURE_PASSWORD),
            ("new_password", "short"),
            ("confirm", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert!(text(r).await.contains("密码至少10位"));
    let token = app.csrf(&c, "/account/password").await;
    let r = c
        .post(app.url("/account/password"))
        .form(&[
            ("_csrf", token.as_str()),
            ("current", FIXTURE_PASSWORD),
            ("new_password", "New-Passw0rd-2"),
            ("confirm", "New-Passw0rd-2"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let r = c.get(app.url("/work/stations")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn forms_without_a_valid_csrf_token_are_refused(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let r = c
        .post(app.url("/login"))
        .form(&[("username", "admin"), ("password", FIXTURE_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(text(r).await.contains("表单已失效"));
    let staff = app.login("station.hm").await;
    let r = staff
        .post(app.url("/work/stations/JJ-HM/edit"))
        .form(&[("_csrf", "forged"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn an_expired_session_leads_back_to_sign_in(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("station.hm").await;
    assert_eq!(c.get(app.url("/work")).send().await.unwrap().status(), 200);
    let old = liaison_db::db::now() - time::Duration::hours(2);
    liaison_db::testing::age_sessions(&app.db, old).await;
    let r = c.get(app.url("/work")).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert!(location(&r).contains("expired=1"));
    let page = text(c.get(app.url(&location(&r))).send().await.unwrap()).await;
    assert!(page.contains("登录已超时"));
}

async fn sign_out_ends_the_session(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("station.hm").await;
    let token = app.csrf(&c, "/work").await;
    let r = c
        .post(app.url("/logout"))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login");
    let r = c.get(app.url("/work")).send().await.unwrap();
    assert!(location(&r).starts_with("/login"));
}

async fn workbench_requires_sign_in(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let r = app
        .client()
        .get(app.url("/work/stations"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(location(&r), "/login?next=/work/stations");
}

/// Every role's view over the API: how many deputies, stations-in-scope and units it sees.
async fn scope_matrix_of_roles_and_regions(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    // (user, deputies visible, units visible)
    let expected = [
        ("admin", 5, 4),
        ("city", 5, 4),
        ("county.jj", 3, 2),
        ("county.hy", 1, 1),
        ("town.hm", 2, 1),
        ("station.hm", 2, 3),
        ("deputy.d1", 1, 0),
        ("unit.jjzj", 0, 1),
        ("lead.jjzj", 0, 1),
    ];
    for (user, deputies, units) in expected {
        let token = app.token(user).await;
        let d: Value = c
            .get(app.url("/api/v1/deputies"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["total"], deputies, "{user} deputies: {d}");
        let u: Value = c
            .get(app.url("/api/v1/handling-units"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(u["total"], units, "{user} units: {u}");
    }
    // The three separated administrators and citizens see no business data.
    for user in ["security", "auditor", "citizen.1"] {
        let token = app.token(user).await;
        let r = c
            .get(app.url("/api/v1/deputies"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{user}");
    }
    // Storage-level matrix of the same rule, for stations.
    let scopes = [
        (liaison_core::scope::Scope::Everything, 7),
        (
            liaison_core::scope::Scope::Station(station_id(&app, "JJ-HM").await),
            2,
        ),
        (liaison_core::scope::Scope::Unit(1), 0),
        (liaison_core::scope::Scope::Nothing, 0),
    ];
    for (scope, n) in scopes {
        let p = liaison_db::directory::list_stations(
            &app.db,
            Some(&scope),
            &liaison_db::directory::StationFilter {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(p.total, n, "{scope:?}");
    }
}

async fn station_id(app: &TestApp, code: &str) -> i64 {
    liaison_db::directory::station_by_code(&app.db, code)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn pages_outside_the_scope_are_forbidden(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let hy = app.login("county.hy").await;
    assert_eq!(
        hy.get(app.url("/work/stations/HY-DC"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        hy.get(app.url("/work/stations/JJ-HM"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        hy.get(app.url("/work/stations/JJ-HM/edit"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        hy.get(app.url("/work/deputies/JJ-D1"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let station = app.login("station.hm").await;
    assert_eq!(
        station
            .get(app.url("/work/stations/JJ-HM-01"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        station
            .get(app.url("/work/stations/JJ-BY"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        station
            .get(app.url("/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        station
            .get(app.url("/work/data"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // A county clerk cannot move a station into another county.
    let jj = app.login("county.jj").await;
    let token = app.csrf(&jj, "/work/stations/JJ-BY/edit").await;
    let r = jj
        .post(app.url("/work/stations/JJ-BY/edit"))
        .form(&[
            ("_csrf", token.as_str()),
            ("code", "JJ-BY"),
            ("name", "白云街道人大代表联络站"),
            ("tier", "township_station"),
            ("region_code", "331003001"),
            ("parent_code", "JJ"),
            ("address", "某地"),
            ("opening_hours", ""),
            ("reception_schedule", ""),
            ("phone", ""),
            ("intro", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(text(r).await.contains("不在您的工作范围内"));
}

async fn editing_a_station_is_audited_and_kept_on_errors(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("station.hm").await;
    let token = app.csrf(&c, "/work/stations/JJ-HM/edit").await;
    // An empty address is refused with a Chinese message, and what was typed stays.
    let r = c
        .post(app.url("/work/stations/JJ-HM/edit"))
        .form(&[
            ("_csrf", token.as_str()),
            ("code", "JJ-HM"),
            ("name", "海门街道人大代表联络站（新）"),
            ("tier", "township_station"),
            ("region_code", "331002001"),
            ("parent_code", "JJ"),
            ("address", ""),
            ("opening_hours", "周一至周六 9:00—17:00"),
            ("reception_schedule", ""),
            ("phone", ""),
            ("intro", ""),
        ])
        .send()
        .await
        .unwrap();
    let body = text(r).await;
    assert!(body.contains("请填写地址"));
    assert!(
        body.contains("海门街道人大代表联络站（新）") && body.contains("周一至周六 9:00—17:00")
    );
    let r = c
        .post(app.url("/work/stations/JJ-HM/edit"))
        .form(&[
            ("_csrf", token.as_str()),
            ("code", "JJ-HM"),
            ("name", "海门街道人大代表联络站"),
            ("tier", "city_center"),
            ("region_code", "331003001"),
            ("parent_code", ""),
            ("address", "海门街道新地址1号"),
            ("opening_hours", "周一至周六 9:00—17:00"),
            ("reception_schedule", "每周三 代表轮值"),
            ("phone", "0576-88000001"),
            ("intro", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/work/stations/JJ-HM?notice=saved");
    let s = liaison_db::directory::station_by_code(&app.db, "JJ-HM")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.address, "海门街道新地址1号");
    assert_eq!(
        s.tier, "township_station",
        "station staff cannot change the tier"
    );
    assert_eq!(s.region_code, "331002001", "nor the region");
    let audit = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some("station".into()),
            action: Some("update".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rec = audit.first().expect("audit record");
    assert_eq!(rec.actor_name, "测试station.hm");
    assert!(
        rec.before_json
            .as_deref()
            .unwrap_or("")
            .contains("海门街道人大代表联络站地址")
    );
    assert!(
        rec.after_json
            .as_deref()
            .unwrap_or("")
            .contains("海门街道新地址1号")
    );
}

async fn the_audit_log_is_for_the_audit_admin_alone(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    for user in ["admin", "security", "city", "station.hm"] {
        let c = app.login(user).await;
        assert_eq!(
            c.get(app.url("/admin/audit"))
                .send()
                .await
                .unwrap()
                .status(),
            403,
            "{user}"
        );
    }
    let c = app.login("auditor").await;
    let page = text(c.get(app.url("/admin/audit")).send().await.unwrap()).await;
    assert!(page.contains("审计日志") && page.contains("login"));
    let token = csrf_from(&page).unwrap();
    let r = c
        .post(app.url("/admin/audit/verify"))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(text(r).await.contains("日志链完整"));
}

async fn revealing_a_phone_is_audited(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("town.hm").await;
    let page = text(c.get(app.url("/work/deputies/JJ-D1")).send().await.unwrap()).await;
    assert!(page.contains("137****0001"), "masked by default");
    assert!(!page.contains("13700000001"));
    let token = csrf_from(&page).unwrap();
    let r = c
        .post(app.url("/work/deputies/JJ-D1/reveal"))
        .form(&[("_csrf", token.as_str()), ("purpose", "通知参加接待日")])
        .send()
        .await
        .unwrap();
    assert!(text(r).await.contains("13700000001"));
    let audit = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            action: Some("reveal_phone".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].summary.contains("通知参加接待日"));
}

async fn api_token_and_list_shape(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let v: Value = c
        .get(app.url("/api/v1/stations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 7);
    assert!(v["next"].is_null());
    let item = &v["items"][0];
    for key in ["id", "code", "name", "tier", "region"] {
        assert!(!item[key].is_null(), "station item has {key}: {item}");
    }
    let v: Value = c
        .get(app.url("/api/v1/regions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 8);
    let r = c
        .get(app.url("/api/v1/handling-units"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let token = app.token("county.jj").await;
    let v: Value = c
        .get(app.url("/api/v1/handling-units"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in ["id", "code", "name"] {
        assert!(!v["items"][0][key].is_null());
    }
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| !u["region"]["code"].as_str().unwrap().is_empty()),
        "every unit names its region's code: {v}"
    );
    // The filters the list documents narrow it.
    let get = |path: &'static str| {
        let (c, app, token) = (&c, &app, &token);
        async move {
            c.get(app.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let v = get("/api/v1/handling-units?region=331002001").await;
    let codes: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["JJ-HM-GOV"], "{v}");
    let v = get("/api/v1/regions?q=黄岩").await;
    assert_eq!(v["total"], 1, "{v}");
    let v = get("/api/v1/regions?region=331002").await;
    assert_eq!(v["total"], 4, "椒江 and what lies under it: {v}");
}

async fn api_errors_have_stable_codes(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let r = c
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "admin", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_credentials");
    let r = c
        .post(app.url("/api/v1/auth/token"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(app.url("/api/v1/deputies"))
        .bearer_auth("forged-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthorized");
    let r = c
        .get(app.url("/api/v1/stations?after=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

async fn api_pagination_walks_all_items(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let mut after = String::new();
    let mut seen = Vec::new();
    loop {
        let v: Value = c
            .get(app.url(&format!("/api/v1/stations?limit=3&after={after}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for i in v["items"].as_array().unwrap() {
            seen.push(i["code"].as_str().unwrap().to_owned());
        }
        match v["next"].as_str() {
            Some(n) => after = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7, "no item twice");
}

async fn openapi_document_lists_the_endpoints(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let v: Value = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/token",
        "/api/v1/regions",
        "/api/v1/stations",
        "/api/v1/deputies",
        "/api/v1/handling-units",
    ] {
        assert!(v["paths"][path].is_object(), "{path} documented");
    }
    // Each action endpoint documents its own body: schemas of the same name would overwrite
    // one another.
    let schemas = &v["components"]["schemas"];
    for (name, field) in [
        ("OpinionActionBody", "resolution_grade"),
        ("SuggestionActionBody", "action"),
        ("ActivityActionBody", "action"),
        ("DeliberationActionBody", "action"),
    ] {
        assert!(
            schemas[name]["properties"][field].is_object(),
            "{name}.{field} documented"
        );
    }
    let body = &v["paths"]["/api/v1/opinions/{id}/actions"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/OpinionActionBody");
}

async fn health_and_metrics_answer(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    assert_eq!(
        text(c.get(app.url("/healthz")).send().await.unwrap()).await,
        "ok"
    );
    let m = text(c.get(app.url("/metrics")).send().await.unwrap()).await;
    assert!(m.contains("liaison_http_requests_total") && m.contains("liaison_db_connections"));
}

async fn account_admin_creates_and_resets_accounts(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("security").await;
    let token = app.csrf(&c, "/admin/users/new").await;
    let r = c
        .post(app.url("/admin/users/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("username", "Bad Name"),
            ("display_name", "新人"),
            ("role", "station_staff"),
            ("scope", "JJ-BY"),
            ("phone", ""),
        ])
        .send()
        .await
        .unwrap();
    let body = text(r).await;
    assert!(body.contains("用户名须为3至32位") && body.contains("value=\"新人\""));
    let r = c
        .post(app.url("/admin/users/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("username", "station.by"),
            ("display_name", "新人"),
            ("role", "station_staff"),
            ("scope", "JJ-BY"),
            ("phone", ""),
        ])
        .send()
        .await
        .unwrap();
    let body = text(r).await;
    assert!(body.contains("初始密码"));
    let u = liaison_db::users::find_by_username(&app.db, "station.by")
        .await
        .unwrap()
        .unwrap();
    assert!(u.must_change_password);
    assert_eq!(u.station_id, Some(station_id(&app, "JJ-BY").await));
    // A wrong scope for the role is refused.
    let r = c
        .post(app.url("/admin/users/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("username", "county.x"),
            ("display_name", "某"),
            ("role", "county_staff"),
            ("scope", "331002001"),
            ("phone", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(text(r).await.contains("须绑定"));

    // 三员分立: no administrator account is created, reset or locked in the browser — an
    // account administrator who could reset the auditor's password could read the audit log
    // of their own actions.
    let r = c
        .post(app.url("/admin/users/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("username", "auditor2"),
            ("display_name", "某"),
            ("role", "audit_admin"),
            ("scope", ""),
            ("phone", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(text(r).await.contains("三员分立"));
    assert!(
        liaison_db::users::find_by_username(&app.db, "auditor2")
            .await
            .unwrap()
            .is_none()
    );
    let auditor = liaison_db::users::find_by_username(&app.db, "auditor")
        .await
        .unwrap()
        .unwrap();
    for action in ["reset", "lock"] {
        let token = app.csrf(&c, "/admin/users").await;
        let r = c
            .post(app.url(&format!("/admin/users/{}/{action}", auditor.id)))
            .form(&[("_csrf", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{action}");
        assert!(text(r).await.contains("三员分立"));
    }
    let after = liaison_db::users::find_by_username(&app.db, "auditor")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.password_hash, auditor.password_hash);
    assert!(!after.locked);
    let page = text(c.get(app.url("/admin/users")).send().await.unwrap()).await;
    assert!(page.contains("命令行管理"));
}

fn workbook(data: &liaison_core::dataset::Dataset) -> Vec<u8> {
    liaison_docs::write_xlsx(
        data,
        &liaison_docs::ExportOptions {
            include_private: true,
            all_sheets: false,
        },
    )
    .unwrap()
}

async fn upload(app: &TestApp, c: &reqwest::Client, bytes: Vec<u8>) -> String {
    let token = app.csrf(c, "/work/data").await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", token)
        .text("kind", "")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("org.xlsx"),
        );
    text(
        c.post(app.url("/work/data/import"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn import_of_a_bad_workbook_writes_nothing(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("county.jj").await;
    let mut data = liaison_core::dataset::Dataset::default();
    let mut good = liaison_db::testing::fixture().stations[2].clone();
    good.code = "JJ-NEW".into();
    good.name = "新站".into();
    let mut bad = good.clone();
    bad.code = "JJ-NEW2".into();
    bad.region_code = "999999".into();
    let mut foreign = good.clone();
    foreign.code = "HY-NEW".into();
    foreign.region_code = "331003001".into();
    data.stations = vec![good, bad, foreign];
    let body = upload(&app, &c, workbook(&data)).await;
    assert!(body.contains("未导入任何数据"), "{body}");
    assert!(body.contains("不在您的工作范围内"));
    assert!(
        liaison_db::directory::station_by_code(&app.db, "JJ-NEW")
            .await
            .unwrap()
            .is_none()
    );
    let body = upload(&app, &c, b"not a workbook".to_vec()).await;
    assert!(body.contains("class=\"errors\""));
}

/// An import row with the code of another county's record would overwrite that record and
/// move it into the importer's county: every such row is refused and nothing is written.
async fn import_cannot_take_over_another_countys_records(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("county.jj").await;
    let fixture = liaison_db::testing::fixture();
    // 黄岩's township, moved under 椒江.
    let mut township = fixture
        .regions
        .iter()
        .find(|r| r.code == "331003001")
        .unwrap()
        .clone();
    township.parent_code = Some("331002".into());
    // 黄岩's station, 黄岩's deputy and 黄岩's unit, re-filed under a 椒江 township.
    let mut station = fixture
        .stations
        .iter()
        .find(|x| x.code == "HY-DC")
        .unwrap()
        .clone();
    station.region_code = "331002001".into();
    let mut deputy = fixture
        .deputies
        .iter()
        .find(|x| x.code == "HY-D1")
        .unwrap()
        .clone();
    deputy.region_code = "331002001".into();
    deputy.station_code = Some("JJ-HM".into());
    let mut unit = fixture
        .units
        .iter()
        .find(|x| x.code == "HY-ZJ")
        .unwrap()
        .clone();
    unit.region_code = "331002".into();
    // 椒江 itself, moved elsewhere.
    let mut own = fixture
        .regions
        .iter()
        .find(|r| r.code == "331002")
        .unwrap()
        .clone();
    own.parent_code = Some("331003".into());
    // A new 椒江 grid attached to 黄岩's county hub.
    let mut grid = fixture.grids[0].clone();
    grid.code = "JJ-NEW-G".into();
    grid.station_code = "HY".into();
    grid.deputy_codes.clear();
    let data = liaison_core::dataset::Dataset {
        regions: vec![township, own],
        stations: vec![station],
        deputies: vec![deputy],
        units: vec![unit],
        grids: vec![grid],
        ..Default::default()
    };
    let body = upload(&app, &c, workbook(&data)).await;
    assert!(body.contains("未导入任何数据"), "{body}");
    for expected in [
        "编码“331003001”已被您工作范围以外的记录使用",
        "不能更改您所辖区划“331002”的上级区划",
        "编码“HY-DC”已被您工作范围以外的记录使用",
        "编码“HY-D1”已被您工作范围以外的记录使用",
        "编码“HY-ZJ”已被您工作范围以外的记录使用",
        "站点“HY”不在您的工作范围内",
    ] {
        assert!(body.contains(expected), "{expected}: {body}");
    }
    let r = liaison_db::directory::region_by_code(&app.db, "331003001")
        .await
        .unwrap()
        .unwrap();
    let hy = liaison_db::directory::region_by_code(&app.db, "331003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.parent_id, Some(hy.id), "the township stays in 黄岩");
    let s = liaison_db::directory::station_by_code(&app.db, "HY-DC")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.region_code, "331003001");
}

async fn import_and_export_round_trip_through_the_workbench(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("county.jj").await;
    let mut s = liaison_db::testing::fixture().stations[2].clone();
    s.code = "JJ-NEW".into();
    s.name = "椒江新站".into();
    let data = liaison_core::dataset::Dataset {
        stations: vec![s],
        ..Default::default()
    };
    let body = upload(&app, &c, workbook(&data)).await;
    assert!(body.contains("导入成功"), "{body}");
    assert!(
        liaison_db::directory::station_by_code(&app.db, "JJ-NEW")
            .await
            .unwrap()
            .is_some()
    );
    let token = app.csrf(&c, "/work/data").await;
    let r = c
        .post(app.url("/work/data/export"))
        .form(&[("_csrf", token.as_str()), ("purpose", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    // A masked export cannot be imported back as it is: its phones are masked.
    match liaison_docs::read_xlsx(&bytes) {
        Err(liaison_docs::ImportError::Rows(rows)) => {
            assert!(rows.iter().all(|r| r.message.contains("脱敏")), "{rows:?}")
        }
        other => panic!("masked export should not import: {other:?}"),
    }
    let token = app.csrf(&c, "/work/data").await;
    let r = c
        .post(app.url("/work/data/export"))
        .form(&[
            ("_csrf", token.as_str()),
            ("include_private", "1"),
            ("purpose", "核对代表名册"),
        ])
        .send()
        .await
        .unwrap();
    let back = liaison_docs::read_xlsx(&r.bytes().await.unwrap()).unwrap();
    assert!(back.stations.iter().any(|s| s.code == "JJ-NEW"));
    assert!(
        back.stations.iter().all(|s| s.code.starts_with("JJ")),
        "only the county's stations"
    );
    assert!(back.deputies.iter().any(|d| d.phone == "13700000001"));
    let audit = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            action: Some("export_private".into()),
            limit: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(audit[0].summary.contains("核对代表名册"));
}

async fn station_staff_maintain_their_people_and_grids(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("station.hm").await;
    let token = app.csrf(&c, "/work/stations/JJ-HM").await;
    let bad = c
        .post(app.url("/work/stations/JJ-HM/members"))
        .form(&[
            ("_csrf", token.as_str()),
            ("role", "liaison_officer"),
            ("name", "刘联络"),
            ("phone", "123"),
            ("deputy_code", ""),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(bad.contains("请填写正确的11位中国大陆手机号码"));
    let r = c
        .post(app.url("/work/stations/JJ-HM/members"))
        .form(&[
            ("_csrf", token.as_str()),
            ("role", "liaison_officer"),
            ("name", "刘联络"),
            ("phone", "13911112222"),
            ("deputy_code", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/work/stations/JJ-HM?notice=saved");
    let page = text(c.get(app.url("/work/stations/JJ-HM")).send().await.unwrap()).await;
    assert!(page.contains("刘联络") && page.contains("139****2222"));
    let r = c
        .post(app.url("/work/stations/JJ-HM/members/remove"))
        .form(&[("_csrf", token.as_str()), ("index", "1")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let page = text(c.get(app.url("/work/stations/JJ-HM")).send().await.unwrap()).await;
    assert!(!page.contains("刘联络") && page.contains("王站长"));
    let r = c
        .post(app.url("/work/stations/JJ-HM/grids"))
        .form(&[
            ("_csrf", token.as_str()),
            ("grid_code", "JJ-HM-G2"),
            ("grid_name", "东山社区第2网格"),
            ("grid_region", "331002001001"),
            ("worker_name", "孙网格"),
            ("worker_phone", "13622223333"),
            ("grid_deputies", "JJ-D1、JJ-D2"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let page = text(c.get(app.url("/work/stations/JJ-HM")).send().await.unwrap()).await;
    assert!(page.contains("东山社区第2网格") && page.contains("JJ-D1、JJ-D2"));
    let foreign = c
        .post(app.url("/work/stations/JJ-HM/grids"))
        .form(&[
            ("_csrf", token.as_str()),
            ("grid_code", "JJ-HM-G3"),
            ("grid_name", "外区网格"),
            ("grid_region", "331003001"),
            ("worker_name", "某"),
            ("worker_phone", "13622224444"),
            ("grid_deputies", ""),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(foreign.contains("网格须在本站所在区划内"));
    let audit = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some("station_member".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(audit.len() >= 2, "member changes are audited");
}
