//! 民意办理统计 on SQLite and PostgreSQL: items walked through the loop by the API show up in
//! the KPIs of reference §4.1 with the right numerators and denominators, for each viewer's
//! scope only; bad parameters are refused in Chinese; the page and its Excel file agree.

#[path = "support/mod.rs"]
mod support;

use liaison_db::Backend;
use serde_json::{Value, json};
use support::TestApp;

backend_tests!(
    the_kpis_follow_what_happened_to_each_item,
    each_viewer_counts_only_their_own_items,
    bad_parameters_are_refused_with_the_field_and_what_to_send,
    the_page_and_its_excel_file_show_the_same_report,
    milestones_filled_from_the_timeline_give_the_same_report,
);

async fn submit(app: &TestApp, body: Value) -> (i64, String) {
    let r = app
        .client()
        .post(app.url("/api/v1/opinions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    (
        v["id"].as_i64().unwrap(),
        v["tracking_no"].as_str().unwrap().to_owned(),
    )
}

/// An item from the holder of `phone` (anonymous without one).
fn item(title: &str, phone: Option<&str>) -> Value {
    let mut v = json!({
        "station_code": "JJ-HM",
        "title": title,
        "body": format!("{title}，已经持续一段时间，希望有关部门尽快处理。"),
        "anonymous": phone.is_none(),
    });
    if let Some(p) = phone {
        v["name"] = json!("王小明");
        v["phone"] = json!(p);
    }
    v
}

const PHONE_A: &str = "13812345678";
const PHONE_B: &str = "13900001111";
const PHONE_C: &str = "13700002222";

async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/opinions/{id}/actions")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{body}");
    r.json().await.unwrap()
}

async fn rate(app: &TestApp, no: &str, phone: &str, rating: &str) {
    let r = app
        .client()
        .post(app.url("/api/v1/opinions/track/rating"))
        .json(&json!({"tracking_no": no, "phone_last4": &phone[7..], "rating": rating}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn stats(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/opinions/stats?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

/// (numerator, denominator) of a KPI of a report row.
fn kpi(row: &Value, code: &str) -> (u64, u64) {
    let k = &row["kpis"][code];
    (k["num"].as_u64().unwrap(), k["den"].as_u64().unwrap())
}

/// Four items at station JJ-HM: one through the whole loop to a satisfied rating, one answered
/// on the spot and rated basically satisfied, one declined, one anonymous and still waiting.
/// Returns the first item's id.
async fn walk_four_items(app: &TestApp) -> i64 {
    let station = app.token("station.hm").await;
    let unit = app.token("unit.jjzj").await;
    let jj_zj = app.unit_id("JJ-ZJ").await;

    let (a, a_no) = submit(app, item("小区门口路灯不亮", Some(PHONE_A))).await;
    act(app, &station, a, json!({"action": "accept"})).await;
    act(
        app,
        &station,
        a,
        json!({"action": "assign", "unit_id": jj_zj}),
    )
    .await;
    act(app, &unit, a, json!({"action": "acknowledge"})).await;
    act(
        app,
        &unit,
        a,
        json!({"action": "contact_submitter", "reason": "电话联系反映人，约定上门查看"}),
    )
    .await;
    act(
        app,
        &unit,
        a,
        json!({"action": "reply", "content": "已更换灯具，恢复照明。", "resolution_grade": "A"}),
    )
    .await;
    act(app, &station, a, json!({"action": "approve_reply"})).await;
    rate(app, &a_no, PHONE_A, "satisfied").await;

    let (b, b_no) = submit(app, item("菜场门口占道经营", Some(PHONE_B))).await;
    act(
        app,
        &station,
        b,
        json!({"action": "answer_on_spot", "content": "已请社区劝导摊主入场经营。", "resolution_grade": "B"}),
    )
    .await;
    rate(app, &b_no, PHONE_B, "basically_satisfied").await;

    let (c, _) = submit(app, item("希望增加公交班次", Some(PHONE_C))).await;
    act(
        app,
        &station,
        c,
        json!({"action": "decline", "reason": "属于市公交集团职责，请拨打12345反映"}),
    )
    .await;

    submit(app, item("河道有垃圾漂浮", None)).await;
    a
}

async fn the_kpis_follow_what_happened_to_each_item(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let a = walk_four_items(&app).await;
    let county = app.token("county.jj").await;
    let (s, v) = stats(&app, &county, "group=station").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["group"], "station");
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{v}");
    let t = &v["total"];
    assert_eq!(groups[0]["counts"], t["counts"], "one group is the total");
    let c = &t["counts"];
    assert_eq!(c["received"], 4);
    assert_eq!(c["declined"], 1);
    assert_eq!(c["assigned"], 1);
    assert_eq!(c["closed"], 2);
    assert_eq!(kpi(t, "real_name_rate"), (3, 4));
    // Accepted: the assigned item and the one answered on the spot (which takes it in).
    assert_eq!(kpi(t, "direct_answer_rate"), (1, 2));
    assert_eq!(kpi(t, "on_time_acknowledgement"), (1, 1));
    assert_eq!(kpi(t, "response_rate"), (1, 1));
    assert_eq!(kpi(t, "first_contact"), (1, 1));
    assert_eq!(kpi(t, "reply_rate"), (1, 1));
    assert_eq!(kpi(t, "completion_rate"), (1, 1));
    assert_eq!(kpi(t, "on_time_completion"), (1, 1));
    assert_eq!(kpi(t, "overdue_rate"), (0, 1));
    assert_eq!(kpi(t, "follow_up_rate"), (2, 2));
    assert_eq!(kpi(t, "satisfaction_rate"), (2, 2));
    assert_eq!(kpi(t, "very_satisfied_rate"), (1, 2));
    assert_eq!(kpi(t, "unsatisfied_rate"), (0, 2));
    // Grade A on the unit's reply, B on the spot.
    assert_eq!(kpi(t, "resolution_rate"), (1, 2));
    assert_eq!(kpi(t, "first_time_resolution"), (1, 2));
    assert_eq!(kpi(t, "rehandle_rate"), (0, 2));
    assert_eq!(kpi(t, "no_repeat_rate"), (2, 2));
    assert_eq!(kpi(t, "duplicate_rate"), (0, 4));
    assert_eq!(kpi(t, "return_rejected_rate"), (0, 0));
    assert!(t["kpis"]["return_rejected_rate"]["rate"].is_null());
    assert_eq!(t["kpis"]["real_name_rate"]["rate"], 0.75);
    // Acknowledged and closed on the same day: no working day in between.
    assert_eq!(t["average_handling_days"], 0.0);
    let defs = v["definitions"].as_array().unwrap();
    assert!(defs.iter().any(|d| d["label"] == "满意率"));

    // By unit: only the item a unit led; the total still covers all four.
    let (s, v) = stats(&app, &county, "group=unit").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["groups"].as_array().unwrap().len(), 1);
    assert_eq!(v["groups"][0]["counts"]["received"], 1);
    assert!(
        v["groups"][0]["name"]
            .as_str()
            .unwrap()
            .contains("住房和城乡建设局"),
        "{v}"
    );
    assert_eq!(v["total"]["counts"]["received"], 4);

    // By category: the classifier's categories, all four items.
    let (s, v) = stats(&app, &county, "group=category").await;
    assert_eq!(s, 200, "{v}");
    let sum: u64 = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["counts"]["received"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 4);

    // By region, for the city: the county holds them all.
    let city = app.token("city").await;
    let (s, v) = stats(&app, &city, "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["group"], "region");
    assert_eq!(v["groups"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["groups"][0]["counts"]["received"], 4);
    assert!(
        v["groups"][0]["name"].as_str().unwrap().contains("椒江"),
        "{v}"
    );

    // The first item's submitter comes back with the same kind of problem after it closed:
    // it no longer counts as settled (息诉).
    let station = app.token("station.hm").await;
    let detail: Value = app
        .client()
        .get(app.url(&format!("/api/v1/opinions/{a}")))
        .bearer_auth(&station)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let category = detail["category"].as_str().unwrap().to_owned();
    let (e, _) = submit(&app, item("路灯又坏了", Some(PHONE_A))).await;
    act(
        &app,
        &station,
        e,
        json!({"action": "accept", "category": category}),
    )
    .await;
    let (s, v) = stats(&app, &county, "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(kpi(&v["total"], "no_repeat_rate"), (1, 2), "{v}");

    // A period before the items: nothing.
    let (s, v) = stats(&app, &county, "from=2020-01-01&to=2020-12-31").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"]["counts"]["received"], 0);
    assert!(v["total"]["kpis"]["satisfaction_rate"]["rate"].is_null());
}

async fn each_viewer_counts_only_their_own_items(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    walk_four_items(&app).await;
    // Another county sees none of them.
    let other = app.token("county.hy").await;
    let (s, v) = stats(&app, &other, "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"]["counts"]["received"], 0, "{v}");
    // Naming a station of another county does not reach into it either.
    let (s, v) = stats(&app, &other, "station=JJ-HM").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"]["counts"]["received"], 0, "{v}");
    // The unit sees the one item it led, by unit by default.
    let unit = app.token("unit.jjzj").await;
    let (s, v) = stats(&app, &unit, "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["group"], "unit");
    assert_eq!(v["total"]["counts"]["received"], 1, "{v}");
    let other_unit = app.token("unit.hmgov").await;
    let (s, v) = stats(&app, &other_unit, "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"]["counts"]["received"], 0, "{v}");
    // The station and its township see all four.
    for who in ["station.hm", "town.hm"] {
        let token = app.token(who).await;
        let (s, v) = stats(&app, &token, "").await;
        assert_eq!(s, 200, "{who}: {v}");
        assert_eq!(v["group"], "station");
        assert_eq!(v["total"]["counts"]["received"], 4, "{who}: {v}");
    }
    // Deputies, grid workers and the administrators have no statistics.
    for who in ["deputy.d1", "grid.hm", "admin"] {
        let token = app.token(who).await;
        let (s, v) = stats(&app, &token, "").await;
        assert_eq!(s, 403, "{who}: {v}");
    }
    let r = app
        .client()
        .get(app.url("/api/v1/opinions/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn bad_parameters_are_refused_with_the_field_and_what_to_send(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let county = app.token("county.jj").await;
    for (query, field, says) in [
        ("from=2026-13-01", "from", "YYYY-MM-DD"),
        ("from=2026-03-01&to=2026-02-01", "to", "不能早于"),
        ("from=2024-01-01&to=2025-06-30", "from", "最长366天"),
        ("group=everything", "group", "统计方式只能是"),
        ("station=NOPE", "station", "联络站编码不存在"),
        ("region=999999", "region", "区划代码不存在"),
    ] {
        let (s, v) = stats(&app, &county, query).await;
        assert_eq!(s, 422, "{query}: {v}");
        let fields = v["error"]["fields"].as_array().unwrap();
        let f = fields
            .iter()
            .find(|f| f["field"] == field)
            .unwrap_or_else(|| panic!("{query}: {v}"));
        assert!(
            f["message"].as_str().unwrap().contains(says),
            "{query}: {v}"
        );
    }
    // A station has no regions below it to break down by.
    let station = app.token("station.hm").await;
    let (s, v) = stats(&app, &station, "group=region").await;
    assert_eq!(s, 422, "{v}");
}

async fn the_page_and_its_excel_file_show_the_same_report(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    walk_four_items(&app).await;
    let web = app.login("county.jj").await;
    let html = web
        .get(app.url("/work/opinions/stats?group=station"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<h1>民意办理统计</h1>"), "{html}");
    assert!(html.contains("满意率"));
    assert!(html.contains("75.0%"), "real-name rate 3/4: {html}");
    assert!(html.contains("3/4"));
    assert!(html.contains("合计"));
    assert!(
        html.contains("href=\"/work/opinions/stats\""),
        "in the navigation"
    );
    // A wrong date keeps what was typed and says what is wrong next to the field.
    let html = web
        .get(app.url("/work/opinions/stats?from=2026-02-30&group=unit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"2026-02-30\""), "{html}");
    assert!(html.contains("s-from-err"), "{html}");
    assert!(html.contains("<option value=\"unit\" selected>"), "{html}");

    let r = web
        .get(app.url("/work/opinions/stats.xlsx?group=station"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("opinion-stats.xlsx")
    );
    let bytes = r.bytes().await.unwrap();
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("民意办理统计").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let header = rows
        .iter()
        .position(|r| r.first().is_some_and(|c| c == "联络站"))
        .expect("header row");
    let col = |name: &str| rows[header].iter().position(|c| c == name).unwrap();
    let total = rows.iter().find(|r| r[0] == "合计").expect("total row");
    assert_eq!(total[col("收到")], "4");
    assert_eq!(total[col("实名率")], "75.0%");
    assert_eq!(total[col("实名率分子")], "3");
    assert_eq!(total[col("实名率分母")], "4");
    assert_eq!(rows.len(), header + 3, "one station and the total");
    // The export is on record.
    let recs = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some("opinion_stats".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(recs.len(), 1);

    // A unit's page offers only its own breakdowns, and no stations.
    let unit = app.login("unit.jjzj").await;
    let html = unit
        .get(app.url("/work/opinions/stats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("value=\"region\""), "{html}");
    assert!(!html.contains("id=\"s-station\""), "{html}");
    // Deputies are refused.
    let deputy = app.login("deputy.d1").await;
    let r = deputy
        .get(app.url("/work/opinions/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// Migration 0020 fills the milestones of items that existed before 0019 from their timelines:
/// erased and filled again that way, they give the report the live transitions gave.
async fn milestones_filled_from_the_timeline_give_the_same_report(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    walk_four_items(&app).await;
    let county = app.token("county.jj").await;
    let (s, live) = stats(&app, &county, "group=station").await;
    assert_eq!(s, 200, "{live}");
    assert_eq!(live["total"]["counts"]["assigned"], 1, "{live}");
    let erase = "UPDATE opinion SET accepted_at = NULL, answered_on_spot_at = NULL, \
        first_assigned_at = NULL, first_acknowledged_at = NULL, first_contacted_at = NULL, \
        last_replied_at = NULL, supervised_at = NULL, return_requests = 0, returns_rejected = 0";
    let backfill = liaison_db::opinion_stats::backfill_sql(b);
    match &app.db {
        liaison_db::Db::Sqlite(p) => {
            sqlx::raw_sql(erase).execute(p).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(backfill))
                .execute(p)
                .await
                .unwrap();
        }
        liaison_db::Db::Postgres(p) => {
            sqlx::raw_sql(erase).execute(p).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(backfill))
                .execute(p)
                .await
                .unwrap();
        }
    }
    let (s, filled) = stats(&app, &county, "group=station").await;
    assert_eq!(s, 200, "{filled}");
    assert_eq!(filled["total"], live["total"]);
    assert_eq!(filled["groups"], live["groups"]);
}
