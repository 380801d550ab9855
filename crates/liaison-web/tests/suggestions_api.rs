//! Inter-session suggestions (闭会建议) and the duty record (履职档案) through the JSON API, on
//! SQLite and PostgreSQL: a co-signed suggestion from draft to the deputy's rating, re-handling
//! and tracking; the refusals (another deputy, a withdrawal after submission, a late return, an
//! edit after submission); the conversion of an opinion; declarations and their review.

#[path = "support/mod.rs"]
mod support;

use liaison_db::Backend;
use serde_json::{Value, json};
use support::TestApp;

backend_tests!(
    a_cosigned_suggestion_runs_from_draft_to_rating_and_tracking,
    refusals_say_why_and_change_nothing,
    a_late_return_is_refused_and_an_early_one_goes_back_for_reassignment,
    lists_are_scoped_and_drafts_stay_private,
    an_opinion_converts_into_a_linked_draft,
    offline_duties_are_declared_and_reviewed,
    duty_entries_are_recorded_once_per_source,
    units_are_reminded_of_suggestion_deadlines_once_a_day,
);

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .client()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, reqwest::Method::GET, token, path, None).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, token, path, Some(body)).await
}

async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> (u16, Value) {
    post(
        app,
        token,
        &format!("/api/v1/suggestions/{id}/actions"),
        body,
    )
    .await
}

async fn deputy_id(app: &TestApp, code: &str) -> i64 {
    liaison_db::directory::deputy_by_code(&app.db, code)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn draft(app: &TestApp, token: &str, title: &str) -> i64 {
    let (s, v) = post(
        app,
        token,
        "/api/v1/suggestions",
        json!({"title": title, "body": "海门街道老旧小区加装电梯进展缓慢，建议区政府统筹资金、简化审批。", "category": "城乡建设"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

/// A draft of deputy.d1, submitted and registered as a suggestion: (id, d1, county tokens).
async fn registered(app: &TestApp) -> (i64, String, String) {
    let d1 = app.token("deputy.d1").await;
    let county = app.token("county.jj").await;
    let id = draft(app, &d1, "关于加快老旧小区加装电梯的建议").await;
    let (s, v) = act(app, &d1, id, json!({"action": "submit"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(
        app,
        &county,
        id,
        json!({"action": "register", "registration": "suggestion"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (id, d1, county)
}

async fn a_cosigned_suggestion_runs_from_draft_to_rating_and_tracking(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let d1 = app.token("deputy.d1").await;
    let d3 = app.token("deputy.d3").await;
    let county = app.token("county.jj").await;
    let unit = app.token("unit.jjzj").await;
    let co = app.token("unit.hmgov").await;
    let jj_zj = app.unit_id("JJ-ZJ").await;
    let hm_gov = app.unit_id("JJ-HM-GOV").await;

    let id = draft(&app, &d1, "关于加快老旧小区加装电梯的建议").await;
    let (s, v) = get(&app, &d1, &format!("/api/v1/suggestions/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["state"], "draft");
    assert!(v["number"].is_null(), "a number comes with submission");
    let actions: Vec<&str> = v["available_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submit", "invite_cosigner"]);

    // The draft can still change; the co-signer is invited and signs.
    let (s, v) = send(
        &app,
        reqwest::Method::PATCH,
        &d1,
        &format!("/api/v1/suggestions/{id}"),
        Some(json!({"title": "关于加快老旧小区加装电梯工作的建议", "body": "建议区政府统筹资金、简化审批，每年完成100台。", "category": "城乡建设", "version": v["version"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(
        &app,
        &d1,
        id,
        json!({"action": "invite_cosigner", "cosigner": "JJ-D3"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["cosigners"][0]["status"], "invited");
    let (s, v) = get(&app, &d3, "/api/v1/suggestions?invited=true").await;
    assert_eq!(s, 200);
    assert_eq!(
        v["total"], 1,
        "the invitation is in the co-signer's list: {v}"
    );
    let (s, v) = act(&app, &d3, id, json!({"action": "cosign"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["cosigners"][0]["status"], "signed");

    // Submission freezes the text with the co-signers.
    let (s, v) = act(&app, &d1, id, json!({"action": "submit"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "submitted");
    let number = v["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("JY"), "{number}");
    assert_eq!(v["snapshot"]["title"], "关于加快老旧小区加装电梯工作的建议");
    assert_eq!(v["snapshot"]["cosigners"], json!(["赵白云"]));
    let (s, v) = post(
        &app,
        &d1,
        &format!("/api/v1/suggestions/{id}/supplements"),
        json!({"content": "补充：已收集到3个小区居民的联名意见。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["records"][0]["kind"], "supplement");
    assert_eq!(
        v["body"], "建议区政府统筹资金、简化审批，每年完成100台。",
        "a supplement does not change the submission"
    );

    // Registration and assignment: the reply deadline is 3 months, the co-units' 1 month.
    let (s, v) = act(
        &app,
        &county,
        id,
        json!({"action": "register", "registration": "suggestion"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["registration"], "suggestion");
    let (s, v) = act(
        &app,
        &county,
        id,
        json!({"action": "assign", "unit_id": jj_zj, "co_unit_ids": [hm_gov]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "assigned");
    let today = liaison_db::handling::today();
    let reply_due = time::Date::parse(
        v["reply_due_on"].as_str().unwrap(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let days = (reply_due - today).whole_days();
    assert!((88..=93).contains(&days), "3 months ahead: {days} days");
    assert!(v["co_opinion_due_on"].is_string(), "{v}");
    assert_eq!(v["due_kind"], "reply");

    // The lead unit signs, meets the deputy; the co-unit gives its opinion.
    let (s, v) = act(&app, &unit, id, json!({"action": "acknowledge"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "record_consultation", "held_on": today.to_string(), "mode": "face_to_face", "content": "与张海门代表座谈，商定分三批推进。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "handling");
    let (s, v) = act(
        &app,
        &co,
        id,
        json!({"action": "submit_co_opinion", "content": "街道负责组织居民协商。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(
        &app,
        &co,
        id,
        json!({"action": "submit_co_opinion", "content": "再补一条。"}),
    )
    .await;
    assert_eq!(s, 422, "one opinion per co-unit and round: {v}");

    // Reply B, unsatisfied rating, re-handling within a month, second reply, tracking.
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "reply", "content": "已列入2026年计划。"}),
    )
    .await;
    assert_eq!(s, 422, "a reply needs a grade: {v}");
    assert_eq!(v["error"]["code"], "refused");
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "reply", "content": "已列入2026年计划。", "resolution_grade": "B"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "replied");
    let (s, v) = act(
        &app,
        &d3,
        id,
        json!({"action": "rate", "rating": "satisfied"}),
    )
    .await;
    assert_eq!(
        s, 403,
        "a co-signer does not rate in the proposer's place: {v}"
    );
    assert_eq!(v["error"]["code"], "not_permitted");
    let (s, v) = act(
        &app,
        &d1,
        id,
        json!({"action": "rate", "rating": "unsatisfied", "comment": "进度太慢"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "evaluated");
    let (s, v) = act(&app, &county, id, json!({"action": "rehandle"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "rehandling");
    assert_eq!(v["round"], 2);
    let rehandle_due = time::Date::parse(
        v["reply_due_on"].as_str().unwrap(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    assert!(
        (rehandle_due - today).whole_days() <= 31,
        "re-reply within a month"
    );
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "reply", "content": "已落实首批30台资金。", "resolution_grade": "B"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(
        &app,
        &d1,
        id,
        json!({"action": "rate", "rating": "basically_satisfied"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(&app, &county, id, json!({"action": "close"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "tracking", "grade B stays under tracking");
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "second_reply", "content": "100台全部完工。", "resolution_grade": "A"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(&app, &county, id, json!({"action": "close"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "closed");
    let labels: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "起草建议",
            "邀请联名",
            "联名",
            "提交",
            "补充材料",
            "立案",
            "交办",
            "签收",
            "面商",
            "提交协办意见",
            "答复",
            "评价",
            "重新办理",
            "答复",
            "评价",
            "办结",
            "再次答复",
            "办结"
        ]
    );

    // Both deputies' duty records hold the suggestion.
    let d1_id = deputy_id(&app, "JJ-D1").await;
    let d3_id = deputy_id(&app, "JJ-D3").await;
    let (s, v) = get(&app, &d1, &format!("/api/v1/deputies/{d1_id}/duty-record")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["kind"], "suggestion_filed");
    assert_eq!(v["items"][0]["link"], format!("/work/suggestions/{id}"));
    let filed = v["summary"]["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "suggestion_filed")
        .unwrap()
        .clone();
    assert_eq!(filed["count"], 1);
    let (s, v) = get(&app, &d3, &format!("/api/v1/deputies/{d3_id}/duty-record")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["kind"], "suggestion_cosigned");

    // Notifications went to the outbox with the suggestion; the audit chain holds.
    let n = liaison_db::sql::Sql::new(
        "SELECT COUNT(*) FROM notification WHERE suggestion_id IS NOT NULL",
    )
    .fetch_count(&app.db)
    .await
    .unwrap();
    assert!(n >= 10, "{n} notifications");
    let check = liaison_db::audit::verify_chain(&app.db, &app.keys)
        .await
        .unwrap();
    assert!(check.first_broken.is_none());
    let recs = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some("suggestion".into()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(recs.len() >= 18, "every step audited: {}", recs.len());
}

async fn refusals_say_why_and_change_nothing(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let d1 = app.token("deputy.d1").await;
    let d3 = app.token("deputy.d3").await;
    let county = app.token("county.jj").await;
    let id = draft(&app, &d1, "关于增设公交站点的建议").await;

    // Another deputy (not invited) acting on the draft: 404, as for reading it, so that
    // nobody learns which drafts exist or who leads them.
    let (s, v) = act(&app, &d3, id, json!({"action": "submit"})).await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    assert!(!v.to_string().contains("张海门"), "{v}");
    let (s, _) = get(&app, &d3, &format!("/api/v1/suggestions/{id}")).await;
    assert_eq!(s, 404, "another deputy's draft is not shown");

    // Bad input keeps the draft as it was.
    let (s, v) = post(
        &app,
        &d1,
        "/api/v1/suggestions",
        json!({"title": "", "body": ""}),
    )
    .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = v["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "body"]);
    let (s, v) = act(
        &app,
        &d1,
        id,
        json!({"action": "invite_cosigner", "cosigner": "JJ-D1"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = act(
        &app,
        &d1,
        id,
        json!({"action": "invite_cosigner", "cosigner": "NOPE"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = act(
        &app,
        &d1,
        id,
        json!({"action": "invite_cosigner", "cosigner": "HY-D1"}),
    )
    .await;
    assert_eq!(s, 422, "a deputy of another county: {v}");
    let (s, v) = act(&app, &d1, id, json!({"action": "fly"})).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        &app,
        &county,
        "/api/v1/suggestions",
        json!({"title": "x", "body": "y"}),
    )
    .await;
    assert_eq!(s, 403, "only deputies draft: {v}");

    // The co-signer signs, the deputy submits; withdrawing now is refused with the reason.
    let (s, _) = act(
        &app,
        &d1,
        id,
        json!({"action": "invite_cosigner", "cosigner": "JJ-D3"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = act(&app, &d3, id, json!({"action": "cosign"})).await;
    assert_eq!(s, 200);
    let (s, v) = act(&app, &d1, id, json!({"action": "submit"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(&app, &d3, id, json!({"action": "withdraw_cosign"})).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["code"], "wrong_state");
    assert_eq!(
        v["error"]["message"],
        "当前状态为“已提交待立案”，不能撤回联名；联名只能在建议提交前邀请、签署或撤回"
    );
    let (_, v) = get(&app, &d1, &format!("/api/v1/suggestions/{id}")).await;
    assert_eq!(v["cosigners"][0]["status"], "signed", "nothing changed");

    // The submission is immutable.
    let (s, v) = send(
        &app,
        reqwest::Method::PATCH,
        &d1,
        &format!("/api/v1/suggestions/{id}"),
        Some(json!({"title": "改个标题", "body": "改内容"})),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("补充材料"));
    let (_, v) = get(&app, &d1, &format!("/api/v1/suggestions/{id}")).await;
    assert_eq!(v["title"], "关于增设公交站点的建议");

    // Staff: registration needs its kind; a deadline past 6 months is refused.
    let (s, v) = act(&app, &county, id, json!({"action": "register"})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "refused");
    let (s, _) = act(
        &app,
        &county,
        id,
        json!({"action": "register", "registration": "suggestion"}),
    )
    .await;
    assert_eq!(s, 200);
    let far = (liaison_db::handling::today() + time::Duration::days(200)).to_string();
    let jj_zj = app.unit_id("JJ-ZJ").await;
    let (s, v) = act(
        &app,
        &county,
        id,
        json!({"action": "assign", "unit_id": jj_zj, "due_on": far}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("最长"),
        "{v}"
    );
    let hy_zj = app.unit_id("HY-ZJ").await;
    let (s, v) = act(
        &app,
        &county,
        id,
        json!({"action": "assign", "unit_id": hy_zj}),
    )
    .await;
    assert_eq!(s, 422, "a unit of another county: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("不在可交办的范围内"),
        "{v}"
    );
    // The deputy cannot register their own suggestion; a stale version is refused.
    let (s, v) = act(&app, &d1, id, json!({"action": "assign", "unit_id": jj_zj})).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "not_permitted");
    let (s, v) = act(
        &app,
        &county,
        id,
        json!({"action": "assign", "unit_id": jj_zj, "version": 1}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["code"], "stale");
    // Another county's staff do not see it.
    let hy = app.token("county.hy").await;
    let (s, _) = act(&app, &hy, id, json!({"action": "assign", "unit_id": jj_zj})).await;
    assert_eq!(s, 404, "nor learn that it exists");
    let (s, _) = get(&app, &hy, &format!("/api/v1/suggestions/{id}")).await;
    assert_eq!(s, 404);
}

async fn set_assigned_on(app: &TestApp, id: i64, day: time::Date) {
    let mut tx = app.db.begin().await.unwrap();
    let mut q = liaison_db::sql::Sql::new("UPDATE suggestion SET assigned_on = ");
    q.bind(day).push(" WHERE id = ").bind(id);
    q.execute_tx(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn a_late_return_is_refused_and_an_early_one_goes_back_for_reassignment(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, _d1, county) = registered(&app).await;
    let unit = app.token("unit.jjzj").await;
    let jj_zj = app.unit_id("JJ-ZJ").await;
    let (s, v) = act(
        &app,
        &county,
        id,
        json!({"action": "assign", "unit_id": jj_zj}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Assigned three weeks ago: the 7-working-day window has passed.
    let long_ago = liaison_db::handling::today() - time::Duration::days(21);
    set_assigned_on(&app, id, long_ago).await;
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "request_return", "reason": "不属于本单位职责"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "refused");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("7个工作日") && msg.contains("现已超过"),
        "{msg}"
    );
    let (_, v) = get(&app, &unit, &format!("/api/v1/suggestions/{id}")).await;
    assert_eq!(v["state"], "assigned", "nothing changed");

    // Within the window: the return is asked for, approved, and the suggestion is free again.
    set_assigned_on(&app, id, liaison_db::handling::today()).await;
    let (s, v) = act(&app, &unit, id, json!({"action": "request_return"})).await;
    assert_eq!(s, 422, "a return needs a reason: {v}");
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "request_return", "reason": "应由街道办理"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "return_requested");
    let (s, v) = act(&app, &county, id, json!({"action": "approve_return"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "registered");
    assert!(v["reply_due_on"].is_null(), "{v}");
    assert!(
        v["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["active"] == false)
    );
    let (s, v) = act(&app, &unit, id, json!({"action": "acknowledge"})).await;
    assert_eq!(s, 403, "the unit no longer holds it: {v}");
}

async fn lists_are_scoped_and_drafts_stay_private(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let d1 = app.token("deputy.d1").await;
    let county = app.token("county.jj").await;
    let d_draft = draft(&app, &d1, "草稿一件").await;
    let (submitted, _, _) = registered(&app).await;
    let (_, v) = get(&app, &d1, "/api/v1/suggestions").await;
    assert_eq!(v["total"], 2, "{v}");
    let (_, v) = get(&app, &d1, "/api/v1/suggestions?state=draft").await;
    assert_eq!(v["items"][0]["id"], d_draft);
    let (s, v) = get(&app, &county, "/api/v1/suggestions").await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 1, "staff do not see drafts: {v}");
    assert_eq!(v["items"][0]["id"], submitted);
    let (s, _) = get(&app, &county, &format!("/api/v1/suggestions/{d_draft}")).await;
    assert_eq!(s, 404);
    let (_, v) = get(
        &app,
        &county,
        "/api/v1/suggestions?q=电梯&registration=suggestion",
    )
    .await;
    assert_eq!(v["total"], 1, "{v}");
    let (_, v) = get(&app, &county, "/api/v1/suggestions?q=不存在的词").await;
    assert_eq!(v["total"], 0);
    let (s, v) = get(&app, &county, "/api/v1/suggestions?state=nope").await;
    assert_eq!(s, 422, "{v}");
    for user in ["county.hy", "station.hm", "unit.jjzj", "admin"] {
        let t = app.token(user).await;
        let (s, v) = get(&app, &t, "/api/v1/suggestions").await;
        assert_eq!(s, 200);
        assert_eq!(v["total"], 0, "{user} sees nothing: {v}");
    }
    let town = app.token("town.hm").await;
    let (_, v) = get(&app, &town, "/api/v1/suggestions").await;
    assert_eq!(v["total"], 1, "the township sees its deputies' suggestions");
    let (_, v) = get(&app, &town, &format!("/api/v1/suggestions/{submitted}")).await;
    assert_eq!(v["available_actions"], json!([]), "read only: {v}");
    // Pages of the list: a cursor.
    let (_, v) = get(&app, &d1, "/api/v1/suggestions?limit=1").await;
    let next = v["next"].as_str().unwrap().to_owned();
    let (_, v) = get(
        &app,
        &d1,
        &format!("/api/v1/suggestions?limit=1&after={next}"),
    )
    .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert!(v["next"].is_null());
    // The OpenAPI document describes the new endpoints.
    let doc: Value = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/suggestions",
        "/api/v1/suggestions/{id}",
        "/api/v1/suggestions/{id}/actions",
        "/api/v1/deputies/{id}/duty-record",
        "/api/v1/deputies/{id}/duty-record/{entry_id}/actions",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} in the OpenAPI document"
        );
    }
}

async fn an_opinion_converts_into_a_linked_draft(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let r = app
        .client()
        .post(app.url("/api/v1/opinions"))
        .json(&json!({
            "deputy_code": "JJ-D1",
            "title": "小区缺少充电桩",
            "body": "东山社区电动车多，没有集中充电桩，楼道充电有火灾隐患。",
            "name": "王小明",
            "phone": "13812345678"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let oid = created["id"].as_i64().unwrap();
    let d1 = app.token("deputy.d1").await;
    let (s, v) = post(
        &app,
        &d1,
        &format!("/api/v1/opinions/{oid}/actions"),
        json!({"action": "accept"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &app,
        &d1,
        &format!("/api/v1/opinions/{oid}/actions"),
        json!({"action": "convert_to_suggestion"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "converted_to_suggestion");
    let sid = v["suggestion_id"]
        .as_i64()
        .expect("the opinion links its suggestion");
    let (s, v) = get(&app, &d1, &format!("/api/v1/suggestions/{sid}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "draft");
    assert_eq!(v["source_opinion_id"], oid);
    assert_eq!(v["title"], "小区缺少充电桩");
    assert!(v["body"].as_str().unwrap().contains("楼道充电"));
    assert_eq!(v["timeline"][0]["label"], "起草建议");

    // Staff converting an item addressed to nobody name the deputy; an unknown one is refused.
    let r = app
        .client()
        .post(app.url("/api/v1/opinions"))
        .json(&json!({"station_code": "JJ-HM", "body": "河道垃圾多，需要定期清理。", "name": "李", "phone": "13812345679"}))
        .send()
        .await
        .unwrap();
    let oid2 = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let station = app.token("station.hm").await;
    let (s, _) = post(
        &app,
        &station,
        &format!("/api/v1/opinions/{oid2}/actions"),
        json!({"action": "accept"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = post(
        &app,
        &station,
        &format!("/api/v1/opinions/{oid2}/actions"),
        json!({"action": "convert_to_suggestion"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("代表"));
    let d2 = deputy_id(&app, "JJ-D2").await;
    let (s, v) = post(
        &app,
        &station,
        &format!("/api/v1/opinions/{oid2}/actions"),
        json!({"action": "convert_to_suggestion", "deputy_id": d2}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let sid2 = v["suggestion_id"].as_i64().unwrap();
    let s2 = liaison_db::suggestions::get(&app.db, sid2).await.unwrap();
    assert_eq!(s2.deputy_id, d2);
}

async fn offline_duties_are_declared_and_reviewed(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let d1 = app.token("deputy.d1").await;
    let d3 = app.token("deputy.d3").await;
    let town = app.token("town.hm").await;
    let d1_id = deputy_id(&app, "JJ-D1").await;
    let path = format!("/api/v1/deputies/{d1_id}/duty-record");
    let today = liaison_db::handling::today();

    let (s, v) = post(
        &app,
        &d1,
        &path,
        json!({"kind": "suggestion_filed", "occurred_on": today.to_string(), "title": "x"}),
    )
    .await;
    assert_eq!(s, 422, "automatic kinds are not declared: {v}");
    let tomorrow = (today + time::Duration::days(1)).to_string();
    let (s, v) = post(
        &app,
        &d1,
        &path,
        json!({"kind": "inspection", "occurred_on": tomorrow, "title": "视察"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["fields"][0]["field"], "occurred_on");
    let (s, v) = post(
        &app,
        &d3,
        &path,
        json!({"kind": "inspection", "occurred_on": today.to_string(), "title": "视察"}),
    )
    .await;
    assert_eq!(s, 404, "another deputy's record is not theirs to see: {v}");
    let (s, v) = post(
        &app,
        &town,
        &path,
        json!({"kind": "inspection", "occurred_on": today.to_string(), "title": "视察"}),
    )
    .await;
    assert_eq!(s, 403, "staff do not declare for deputies: {v}");

    let (s, v) = post(
        &app,
        &d1,
        &path,
        json!({"kind": "inspection", "occurred_on": today.to_string(), "title": "参加区人大常委会老旧小区改造视察", "detail": "东山社区、白云社区"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "pending_approval");
    let entry = v["id"].as_i64().unwrap();
    let (_, v) = get(&app, &d1, &path).await;
    let inspection = v["summary"]["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "inspection")
        .unwrap()
        .clone();
    assert_eq!(inspection["count"], 0);
    assert_eq!(inspection["pending"], 1);

    let review = format!("{path}/{entry}/actions");
    let (s, v) = post(&app, &d1, &review, json!({"action": "approve"})).await;
    assert_eq!(s, 403, "a deputy does not approve their own: {v}");
    let (s, v) = post(&app, &town, &review, json!({"action": "reject"})).await;
    assert_eq!(s, 422, "a rejection needs a reason: {v}");
    let (s, v) = post(&app, &town, &review, json!({"action": "approve"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "approved");
    let (s, v) = post(
        &app,
        &town,
        &review,
        json!({"action": "reject", "reason": "重复"}),
    )
    .await;
    assert_eq!(s, 409, "reviewed once: {v}");
    assert_eq!(v["error"]["code"], "wrong_state");
    let (_, v) = get(&app, &town, &format!("{path}?kind=inspection")).await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["summary"]["total"], 1);
    let (s, _) = get(&app, &app.token("county.hy").await, &path).await;
    assert_eq!(s, 404, "another county does not see the record");
    let (s, v) = get(&app, &d1, &format!("{path}?year=abc")).await;
    assert_eq!(s, 422, "{v}");

    let recs = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some("duty_record".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let actions: Vec<&str> = recs.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["approve", "declare"],
        "declaration and review audited"
    );
}

async fn duty_entries_are_recorded_once_per_source(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let d1_id = deputy_id(&app, "JJ-D1").await;
    let entry = liaison_db::duty_record::NewDutyEntry {
        deputy_id: d1_id,
        kind: liaison_core::duty::DutyKind::Reception,
        occurred_on: liaison_db::handling::today(),
        title: "代表接待日".into(),
        detail: String::new(),
        source_kind: liaison_core::duty::source::ACTIVITY.into(),
        source_id: Some(7),
        link: String::new(),
        status: liaison_core::duty::DutyStatus::Recorded,
        created_by: None,
    };
    let mut tx = app.db.begin().await.unwrap();
    let a = liaison_db::duty_record::record(&mut tx, &entry)
        .await
        .unwrap();
    let b2 = liaison_db::duty_record::record(&mut tx, &entry)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(a, b2, "the same source is recorded once");
    let mut other = entry.clone();
    other.kind = liaison_core::duty::DutyKind::CheckIn;
    let mut tx = app.db.begin().await.unwrap();
    let c = liaison_db::duty_record::record(&mut tx, &other)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_ne!(a, c, "another kind of the same activity is another entry");

    // A deputy answering an opinion on the spot gets one entry for it.
    let r = app
        .client()
        .post(app.url("/api/v1/opinions"))
        .json(&json!({"deputy_code": "JJ-D1", "body": "路灯坏了。", "name": "王", "phone": "13812345678"}))
        .send()
        .await
        .unwrap();
    let oid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let d1 = app.token("deputy.d1").await;
    let (s, v) = post(
        &app,
        &d1,
        &format!("/api/v1/opinions/{oid}/actions"),
        json!({"action": "answer_on_spot", "content": "已联系街道当天修复。", "resolution_grade": "A"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["state"], "feedback_sent",
        "the answer goes to the citizen at once"
    );
    let (_, v) = get(
        &app,
        &d1,
        &format!("/api/v1/deputies/{d1_id}/duty-record?kind=opinion_answered"),
    )
    .await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["items"][0]["source_id"], oid);
}

async fn units_are_reminded_of_suggestion_deadlines_once_a_day(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, _d1, county) = registered(&app).await;
    let (lead, co) = (app.unit_id("JJ-ZJ").await, app.unit_id("JJ-HM-GOV").await);
    let (s, v) = act(
        &app,
        &county,
        id,
        json!({"action": "assign", "unit_id": lead, "co_unit_ids": [co]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Both deadlines passed yesterday.
    let yesterday = liaison_db::handling::today() - time::Duration::days(1);
    let mut tx = app.db.begin().await.unwrap();
    let mut q = liaison_db::sql::Sql::new("UPDATE suggestion SET due_on = ");
    q.bind(yesterday).push(" WHERE id = ").bind(id);
    q.execute_tx(&mut tx).await.unwrap();
    let mut q = liaison_db::sql::Sql::new("UPDATE suggestion_unit SET co_opinion_due_on = ");
    q.bind(yesterday).push(" WHERE suggestion_id = ").bind(id);
    q.execute_tx(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let reminders = |template: &'static str, unit: i64| {
        let mut q =
            liaison_db::sql::Sql::new("SELECT COUNT(*) FROM notification WHERE template = ");
        q.bind(template)
            .push(" AND recipient = ")
            .bind(format!("unit:{unit}"))
            .push(" AND suggestion_id = ")
            .bind(id);
        q
    };
    liaison_web::notify::run_timers_on(&app.state, app.timer_day().await).await;
    liaison_web::notify::run_timers_on(&app.state, app.timer_day().await).await;
    assert_eq!(
        reminders("suggestion.overdue", lead)
            .fetch_count(&app.db)
            .await
            .unwrap(),
        1,
        "the lead unit is reminded once a day"
    );
    assert_eq!(
        reminders("suggestion.co_opinion_overdue", co)
            .fetch_count(&app.db)
            .await
            .unwrap(),
        1,
        "the co-unit is reminded of its opinion"
    );
}
