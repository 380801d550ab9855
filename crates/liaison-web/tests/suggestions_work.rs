//! The suggestion and duty-record pages over HTTP, on SQLite and PostgreSQL: a deputy drafts
//! with the form (and gets it back with the message when it is incomplete), the tabs count,
//! refusals are shown next to the form with what was typed, the ledger and the duty record
//! download as Excel and are audited, declarations are reviewed in the workbench, and the
//! deputy workbench and navigation show the new modules.

#[path = "support/mod.rs"]
mod support;

use liaison_db::Backend;
use serde_json::json;
use support::{TestApp, csrf_from};

backend_tests!(
    a_deputy_drafts_with_the_form_and_submits,
    a_refused_action_keeps_what_was_typed,
    the_registry_lists_counts_and_exports_the_ledger,
    the_duty_record_is_declared_reviewed_and_exported,
    the_deputy_workbench_shows_items_suggestions_and_duties,
    others_are_refused_the_suggestion_pages,
);

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let i = html.find(&pat).unwrap_or_else(|| panic!("no {name} field")) + pat.len();
    html[i..i + html[i..].find('"').unwrap()].to_owned()
}

async fn page(c: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form of the page at `from` (CSRF token from that page).
async fn post_form(
    c: &reqwest::Client,
    app: &TestApp,
    from: &str,
    to: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, html) = page(c, app, from).await;
    let token = csrf_from(&html).expect("csrf");
    let mut form: Vec<(&str, String)> = vec![("_csrf", token)];
    if html.contains("name=\"version\"") {
        form.push(("version", hidden(&html, "version")));
    }
    for (k, v) in fields {
        form.push((k, (*v).to_owned()));
    }
    c.post(app.url(to)).form(&form).send().await.unwrap()
}

/// Drafts through the form as deputy.d1; returns (client, id).
async fn drafted(app: &TestApp) -> (reqwest::Client, i64) {
    let c = app.login("deputy.d1").await;
    let r = post_form(
        &c,
        app,
        "/work/suggestions/new",
        "/work/suggestions/new",
        &[
            ("title", "关于增设社区养老服务点的建议"),
            ("category", "卫生计生"),
            (
                "body",
                "海门街道60岁以上老人占比高，建议每个社区设置养老服务点。",
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let id: i64 = to
        .trim_start_matches("/work/suggestions/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (c, id)
}

async fn a_deputy_drafts_with_the_form_and_submits(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c = app.login("deputy.d1").await;
    // Incomplete: the form comes back with the message and what was typed.
    let r = post_form(
        &c,
        &app,
        "/work/suggestions/new",
        "/work/suggestions/new",
        &[("title", "只有标题"), ("body", "  ")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("请填写建议内容"), "{html}");
    assert!(html.contains("value=\"只有标题\""));

    let (c, id) = drafted(&app).await;
    let (s, html) = page(&c, &app, &format!("/work/suggestions/{id}?notice=drafted")).await;
    assert_eq!(s, 200);
    assert!(html.contains("草稿已保存"));
    assert!(html.contains("修改草稿"), "the draft is editable");
    // Edit, invite, submit through the forms.
    let item = format!("/work/suggestions/{id}");
    let r = post_form(
        &c,
        &app,
        &item,
        &format!("{item}/edit"),
        &[
            ("title", "关于增设社区养老服务点的建议（修改）"),
            ("body", "建议每个社区设置养老服务点，由街道统筹。"),
            ("category", "卫生计生"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let d3 = liaison_db::directory::deputy_by_code(&app.db, "JJ-D3")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let r = post_form(
        &c,
        &app,
        &item,
        &format!("{item}/act"),
        &[("action", "invite_cosigner"), ("cosigner", &d3)],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let r = post_form(
        &c,
        &app,
        &item,
        &format!("{item}/act"),
        &[("action", "submit")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&c, &app, &item).await;
    assert!(html.contains("已提交待立案"));
    assert!(html.contains("提交时的版本"));
    assert!(!html.contains("修改草稿"), "no more editing");
    assert!(html.contains("（修改）"));
    // Editing after submission is refused with the reason.
    let r = post_form(
        &c,
        &app,
        &item,
        &format!("{item}/edit"),
        &[("title", "再改"), ("body", "再改内容")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("补充材料"));
    // A supplement has its own date.
    let r = post_form(
        &c,
        &app,
        &item,
        &format!("{item}/supplements"),
        &[("content", "附：东山社区老人花名册统计。")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&c, &app, &item).await;
    assert!(html.contains("附：东山社区老人花名册统计。"));
}

async fn a_refused_action_keeps_what_was_typed(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (c, id) = drafted(&app).await;
    let item = format!("/work/suggestions/{id}");
    let r = post_form(
        &c,
        &app,
        &item,
        &format!("{item}/act"),
        &[("action", "submit")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let county = app.login("county.jj").await;
    let r = post_form(
        &county,
        &app,
        &item,
        &format!("{item}/act"),
        &[("action", "register"), ("registration", "suggestion")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let unit = liaison_db::sql::Sql::new("SELECT id FROM handling_unit WHERE code = 'JJ-ZJ'")
        .fetch_count(&app.db)
        .await
        .unwrap()
        .to_string();
    let far = (liaison_db::handling::today() + time::Duration::days(250)).to_string();
    let r = post_form(
        &county,
        &app,
        &item,
        &format!("{item}/act"),
        &[("action", "assign"), ("unit_id", &unit), ("due_on", &far)],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("“交办”未完成"), "{html}");
    assert!(
        html.contains(&format!("value=\"{far}\"")),
        "the date typed is kept"
    );
    assert!(html.contains("aria-invalid=\"true\""));
    // The deputy rating before a reply: not offered, and refused when forced.
    let r = post_form(
        &c,
        &app,
        &item,
        &format!("{item}/act"),
        &[("action", "rate"), ("rating", "satisfied")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("只有已答复的建议才能评价"));
}

async fn the_registry_lists_counts_and_exports_the_ledger(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (c, id) = drafted(&app).await;
    let item = format!("/work/suggestions/{id}");
    post_form(
        &c,
        &app,
        &item,
        &format!("{item}/act"),
        &[("action", "submit")],
    )
    .await;
    let county = app.login("county.jj").await;
    let (s, html) = page(&county, &app, "/work/suggestions").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("待立案 <span class=\"count\">1</span>"),
        "{html}"
    );
    assert!(html.contains("关于增设社区养老服务点的建议"));
    let (_, html) = page(&county, &app, "/work/suggestions?tab=to_register&q=不存在").await;
    assert!(html.contains("没有符合条件的建议"));
    let r = county
        .get(app.url("/work/suggestions/ledger.xlsx?tab=to_register"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = r.bytes().await.unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range("建议台账").unwrap();
    let cell = |r: u32, c: u32| {
        range
            .get_value((r, c))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    assert_eq!(cell(0, 0), "闭会期间代表建议办理台账");
    assert_eq!(cell(2, 0), "建议编号");
    assert!(cell(3, 0).starts_with("JY"));
    assert_eq!(cell(3, 2), "张海门");
    let n = liaison_db::sql::Sql::new(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'suggestion' AND action = 'export'",
    )
    .fetch_count(&app.db)
    .await
    .unwrap();
    assert_eq!(n, 1, "the export is audited");
    // Deputies and units have no ledger.
    let r = c
        .get(app.url("/work/suggestions/ledger.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn the_duty_record_is_declared_reviewed_and_exported(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c = app.login("deputy.d1").await;
    let r = c.get(app.url("/work/duty-record")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let mine = location(&r);
    let today = liaison_db::handling::today().to_string();
    let r = post_form(
        &c,
        &app,
        &mine,
        &format!("{mine}/declare"),
        &[
            ("kind", "inspection"),
            ("occurred_on", &today),
            ("title", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请填写履职事项"));
    let r = post_form(
        &c,
        &app,
        &mine,
        &format!("{mine}/declare"),
        &[
            ("kind", "inspection"),
            ("occurred_on", &today),
            ("title", "参加老旧小区改造视察"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&c, &app, &mine).await;
    assert!(html.contains("参加老旧小区改造视察"));
    assert!(html.contains("待审核"));

    let town = app.login("town.hm").await;
    let (_, html) = page(&town, &app, "/work/duty-record").await;
    assert!(html.contains("待审核的线下履职申报（1）"), "{html}");
    let entry =
        liaison_db::sql::Sql::new("SELECT id FROM duty_record WHERE status = 'pending_approval'")
            .fetch_count(&app.db)
            .await
            .unwrap();
    let review = format!("{mine}/entries/{entry}/review");
    let r = post_form(
        &town,
        &app,
        "/work/duty-record",
        &review,
        &[("action", "reject")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("不予通过须说明理由"));
    let r = post_form(
        &town,
        &app,
        "/work/duty-record",
        &review,
        &[("action", "approve"), ("back", "index")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/work/duty-record?notice=approve");
    let (_, html) = page(&c, &app, &mine).await;
    assert!(html.contains("已审核通过"));
    assert!(html.contains("视察调研</td><td>1</td>"), "{html}");

    let r = c
        .get(app.url(&format!("{mine}/export.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range("履职档案").unwrap();
    assert_eq!(
        range
            .get_value((3, 2))
            .map(|v| v.to_string())
            .unwrap_or_default(),
        "参加老旧小区改造视察"
    );
    // Another deputy's record is not found; the deputy cannot review.
    let d3 = app.login("deputy.d3").await;
    let (s, _) = page(&d3, &app, &mine).await;
    assert_eq!(s, 404);
    let r = post_form(&c, &app, &mine, &review, &[("action", "approve")]).await;
    assert_eq!(r.status(), 403);
}

async fn the_deputy_workbench_shows_items_suggestions_and_duties(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let r = app
        .client()
        .post(app.url("/api/v1/opinions"))
        .json(&json!({"deputy_code": "JJ-D1", "title": "菜场门口积水", "body": "下雨就积水。", "name": "王", "phone": "13812345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (c, _) = drafted(&app).await;
    let (s, html) = page(&c, &app, "/work/me").await;
    assert_eq!(s, 200);
    assert!(html.contains("反映给我的意见（1件未办结）"), "{html}");
    assert!(html.contains("菜场门口积水"));
    assert!(html.contains("<b>1</b>我的草稿"), "{html}");
    let (_, html) = page(&c, &app, "/work").await;
    for link in ["/work/me", "/work/suggestions", "/work/duty-record"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "nav has {link}");
    }
    let county = app.login("county.jj").await;
    let (s, _) = page(&county, &app, "/work/me").await;
    assert_eq!(s, 403, "the deputy workbench is for deputies");
}

async fn others_are_refused_the_suggestion_pages(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (_, id) = drafted(&app).await;
    for user in ["admin", "auditor", "station.hm", "citizen.1"] {
        let c = app.login(user).await;
        let (s, _) = page(&c, &app, "/work/suggestions").await;
        assert_eq!(s, 403, "{user} has no suggestion workbench");
    }
    let unit = app.login("unit.jjzj").await;
    let (s, _) = page(&unit, &app, &format!("/work/suggestions/{id}")).await;
    assert_eq!(s, 404, "a draft is not the unit's");
    let d3 = app.login("deputy.d3").await;
    let (s, _) = page(&d3, &app, &format!("/work/suggestions/{id}")).await;
    assert_eq!(s, 404);
    let (s, _) = page(&d3, &app, "/work/suggestions/new").await;
    assert_eq!(s, 200);
}
