//! The opinion loop through the JSON API, on SQLite and PostgreSQL: intake with idempotency,
//! tracking, every step of handling, an unsatisfied rating, re-handling, a satisfied rating, and
//! the refusals along the way.

#[path = "support/mod.rs"]
mod support;

use liaison_db::Backend;
use serde_json::{Value, json};
use support::TestApp;

backend_tests!(
    the_whole_loop_runs_through_the_api,
    intake_is_validated_with_chinese_messages,
    a_retry_with_the_same_key_lands_once,
    tracking_with_wrong_digits_reveals_nothing,
    a_unit_cannot_act_on_an_item_not_assigned_to_it,
    forbidden_transitions_are_refused_with_the_state,
    two_clerks_acting_at_once_one_wins,
    lists_are_scoped_filtered_and_searchable,
    merge_links_a_duplicate_to_its_master,
    script_in_fields_is_kept_as_text,
    a_follow_up_is_asked_answered_published_and_refused_once_closed,
    an_item_goes_only_to_units_and_deputies_of_its_own_place,
    an_answer_on_the_spot_reaches_the_citizen_who_rates_it,
    nothing_waits_for_the_station_without_a_deadline,
    a_deputy_hears_of_what_reaches_them_by_their_code,
    an_extension_is_approved_for_the_date_asked,
);

async fn submit(app: &TestApp, body: Value, key: Option<&str>) -> reqwest::Response {
    let mut req = app.client().post(app.url("/api/v1/opinions")).json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

fn sample() -> Value {
    json!({
        "station_code": "JJ-HM",
        "title": "小区门口路灯不亮",
        "body": "东山社区3号楼门口的路灯坏了两个星期，晚上出行很不安全，希望尽快修复。",
        "name": "王小明",
        "phone": "13812345678",
        "anonymous": false,
        "confidential": false,
        "public": true
    })
}

async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/opinions/{id}/actions")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// An action or request was refused with `status` and a message that says `says`.
fn assert_refused(s: u16, v: &Value, status: u16, says: &str) {
    assert_eq!(s, status, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap_or("").contains(says),
        "{says}: {v}"
    );
}

/// `GET /api/v1/opinions/<id>` as the holder of `token` sees it.
async fn detail(app: &TestApp, token: &str, id: i64) -> Value {
    app.client()
        .get(app.url(&format!("/api/v1/opinions/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn track(app: &TestApp, no: &str, last4: &str) -> (u16, Value) {
    let r = app
        .client()
        .get(app.url(&format!(
            "/api/v1/opinions/track?tracking_no={no}&phone_last4={last4}"
        )))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

async fn rate(app: &TestApp, no: &str, rating: &str) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url("/api/v1/opinions/track/rating"))
        .json(&json!({"tracking_no": no, "phone_last4": "5678", "rating": rating, "comment": "测试评价"}))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

async fn follow_up(
    app: &TestApp,
    no: &str,
    last4: &str,
    content: &str,
    key: Option<&str>,
) -> (u16, Value) {
    let mut req = app
        .client()
        .post(app.url("/api/v1/opinions/track/follow_up"))
        .json(&json!({"tracking_no": no, "phone_last4": last4, "content": content}));
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

async fn answer(app: &TestApp, token: &str, id: i64, fid: i64, text: &str) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/opinions/{id}/follow_ups/{fid}/answer")))
        .bearer_auth(token)
        .json(&json!({"answer": text}))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

async fn the_whole_loop_runs_through_the_api(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let r = submit(&app, sample(), Some("loop-1")).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    let no = created["tracking_no"].as_str().unwrap().to_owned();
    assert!(no.starts_with("LZ"));

    let station = app.token("station.hm").await;
    let unit = app.token("unit.jjzj").await;
    let jj_zj = app.unit_id("JJ-ZJ").await;

    let (s, v) = act(&app, &station, id, json!({"action": "accept"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "accepted");
    assert!(
        !v["category"].as_str().unwrap().is_empty(),
        "category confirmed from the suggestion"
    );
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": jj_zj}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "assigned");
    assert!(
        v["reply_due_on"].is_string(),
        "a working-day deadline is set: {v}"
    );
    let (s, v) = act(&app, &unit, id, json!({"action": "acknowledge"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "acknowledged");
    assert_eq!(v["due_kind"], "reply");
    assert_eq!(
        v["due_on"], v["reply_due_on"],
        "then the reply deadline runs"
    );
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "reply", "content": "已安排维修，三日内修复。", "resolution_grade": "A"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "replied");
    let (s, v) = act(&app, &station, id, json!({"action": "approve_reply"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["state"], "feedback_sent",
        "feedback goes out when the reply is approved"
    );

    let (s, t) = track(&app, &no, "5678").await;
    assert_eq!(s, 200);
    assert_eq!(t["state"], "feedback_sent");
    assert_eq!(t["replies"][0]["content"], "已安排维修，三日内修复。");
    assert!(t["timeline"].as_array().unwrap().len() >= 6);

    let (s, t) = rate(&app, &no, "unsatisfied").await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["state"], "evaluated");
    let v = detail(&app, &station, id).await;
    assert_eq!(
        v["due_kind"], "decide",
        "the station decides by a deadline: {v}"
    );
    let (s, v) = act(&app, &station, id, json!({"action": "rehandle"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "rehandling");
    assert_eq!(v["round"], 2);
    let (s, v) = act(&app, &unit, id, json!({"action": "reply", "content": "路灯已全部修复并加装一盏。", "resolution_grade": "A"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(&app, &station, id, json!({"action": "approve_reply"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, t) = rate(&app, &no, "satisfied").await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["state"], "closed");
    let (s, _) = rate(&app, &no, "satisfied").await;
    assert_eq!(s, 409, "a closed item cannot be rated again");

    // Every step left an audit record and the chain holds.
    let check = liaison_db::audit::verify_chain(&app.db, &app.keys)
        .await
        .unwrap();
    assert!(check.first_broken.is_none());
    let recs = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some("opinion".into()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(recs.len() >= 11, "{}", recs.len());
}

async fn intake_is_validated_with_chinese_messages(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let mut v = sample();
    v["body"] = json!("");
    v["phone"] = json!("0576-88888888");
    let r = submit(&app, v, None).await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "validation_failed");
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"body") && fields.contains(&"phone"), "{e}");
    let mut v = sample();
    v["body"] = json!("字".repeat(3001));
    let e: Value = submit(&app, v, None).await.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("最多3000个字")
    );
    let mut v = sample();
    v["name"] = json!("名".repeat(31));
    let e: Value = submit(&app, v, None).await.json().await.unwrap();
    assert_eq!(
        e["error"]["fields"].as_array().unwrap().len(),
        1,
        "one message for a name too long, not also 'fill in your name': {e}"
    );
    let mut v = sample();
    v["station_code"] = json!("HY-DC");
    v["deputy_code"] = json!("JJ-D1");
    let e: Value = submit(&app, v, None).await.json().await.unwrap();
    assert_eq!(
        e["error"]["fields"][0]["field"], "station_code",
        "a station code that is not the deputy's: {e}"
    );
    let mut v = sample();
    v["station_code"] = json!("NOPE");
    let e: Value = submit(&app, v, None).await.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("联络站码无效")
    );
    // Anonymous needs neither name nor phone.
    let v = json!({"station_code": "JJ-HM", "body": "匿名反映：河道有垃圾。", "anonymous": true});
    assert_eq!(submit(&app, v, None).await.status(), 201);
    // A deputy's code reaches the deputy.
    let v = json!({"deputy_code": "JJ-D1", "body": "向代表反映：希望增设公交站。", "name": "李", "phone": "13912345678"});
    let r = submit(&app, v, None).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let deputy = app.token("deputy.d1").await;
    let v = detail(&app, &deputy, id).await;
    assert_eq!(v["deputy"], "张海门");
    assert_eq!(v["submitter_phone"], "139****5678", "masked");
}

async fn a_retry_with_the_same_key_lands_once(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let a: Value = submit(&app, sample(), Some("same-key"))
        .await
        .json()
        .await
        .unwrap();
    let r = submit(&app, sample(), Some("same-key")).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let b2: Value = r.json().await.unwrap();
    assert_eq!(a, b2);
    let n = liaison_db::sql::Sql::new("SELECT COUNT(*) FROM opinion")
        .fetch_count(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Another submitter who happens to send the same key learns nothing of the first one's.
    let mut other = sample();
    other["phone"] = json!("13900001111");
    let r = submit(&app, other, Some("same-key")).await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert!(
        !v.to_string().contains(a["tracking_no"].as_str().unwrap()),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("已用于另一条意见"),
        "{v}"
    );
}

async fn tracking_with_wrong_digits_reveals_nothing(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let no = c["tracking_no"].as_str().unwrap();
    let (s1, v1) = track(&app, no, "0000").await;
    let (s2, v2) = track(&app, "LZ000000000000", "5678").await;
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(v1, v2, "the same answer whether or not the number exists");
    let (s, _) = track(&app, no, "5678").await;
    assert_eq!(s, 200);
    let (s, _) = track(&app, &no.to_lowercase(), "5678").await;
    assert_eq!(s, 200, "a number typed in lower case is the same number");

    // A request the server cannot read is answered with the JSON error body, in Chinese.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/opinions/track?tracking_no={no}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_request", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("请求参数有误"),
        "{v}"
    );
    let r = app
        .client()
        .delete(app.url("/api/v1/opinions/track"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");

    // Four digits are ten thousand guesses: five wrong ones in an hour lock the number, from
    // any address, for tracking and for rating alike — right digits included.
    for _ in 0..5 {
        let (s, _) = track(&app, no, "1111").await;
        assert_eq!(s, 404);
    }
    let (s, v) = track(&app, no, "5678").await;
    assert_refused(s, &v, 429, "输错次数过多");
    let (s, _) = rate(&app, no, "satisfied").await;
    assert_eq!(s, 429);
    // Another number is not affected.
    let other: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let (s, _) = track(&app, other["tracking_no"].as_str().unwrap(), "5678").await;
    assert_eq!(s, 200);
}

async fn a_follow_up_is_asked_answered_published_and_refused_once_closed(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    let no = c["tracking_no"].as_str().unwrap().to_owned();
    let station = app.token("station.hm").await;
    let unit = app.token("unit.jjzj").await;
    let co = app.token("unit.hmgov").await;
    let jj = app.unit_id("JJ-ZJ").await;
    let hm_gov = app.unit_id("JJ-HM-GOV").await;
    act(&app, &station, id, json!({"action": "accept"})).await;
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": jj, "co_unit_ids": [hm_gov]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // The same 404 as tracking for a wrong pair; Chinese messages for empty or long text.
    let (s, wrong) = follow_up(&app, &no, "0000", "请问进展？", None).await;
    assert_eq!(s, 404);
    let (_, unknown) = track(&app, &no, "0000").await;
    assert_eq!(wrong, unknown, "does not reveal whether the number exists");
    let (s, v) = follow_up(&app, &no, "5678", "  ", None).await;
    assert_eq!(s, 422);
    assert_eq!(v["error"]["fields"][0]["message"], "请填写追问内容", "{v}");
    let (s, v) = follow_up(&app, &no, "5678", &"问".repeat(501), None).await;
    assert_eq!(s, 422);
    assert!(v.to_string().contains("最多500个字"), "{v}");

    // Asked once however often it is sent; the state does not move.
    let (s, t) = follow_up(
        &app,
        &no,
        "5678",
        "<b>路灯</b>什么时候能修好？",
        Some("q-1"),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["state"], "assigned", "a question changes no state");
    assert_eq!(t["can_follow_up"], true);
    let (s, t) = follow_up(
        &app,
        &no,
        "5678",
        "<b>路灯</b>什么时候能修好？",
        Some("q-1"),
    )
    .await;
    assert_eq!(s, 200, "a double submit is a replay: {t}");
    let (s, t) = follow_up(&app, &no, "5678", "<b>路灯</b>什么时候能修好？", None).await;
    assert_eq!(s, 200, "the same waiting text is a replay: {t}");
    let fus = t["follow_ups"].as_array().unwrap();
    assert_eq!(fus.len(), 1, "{t}");
    assert_eq!(fus[0]["content"], "<b>路灯</b>什么时候能修好？");
    assert!(fus[0]["answer"].is_null());
    let fid = fus[0]["id"].as_i64().unwrap();
    // Existing fields stay as they were.
    for field in [
        "state",
        "timeline",
        "replies",
        "can_rate",
        "title",
        "tracking_no",
    ] {
        assert!(t.get(field).is_some(), "{field} kept");
    }

    // Staff see it unanswered; the station and the lead unit were notified.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/opinions/{id}")))
        .bearer_auth(&station)
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["follow_ups"][0]["open"], true, "{d}");
    assert_eq!(d["may_answer_follow_ups"], true);
    let notes = liaison_db::notifications::for_opinion(&app.db, id)
        .await
        .unwrap();
    let to: Vec<&str> = notes
        .iter()
        .filter(|n| n.template == "opinion.follow_up")
        .map(|n| n.recipient.as_str())
        .collect();
    assert!(to.iter().any(|r| r.starts_with("station:")), "{to:?}");
    assert!(to.contains(&format!("unit:{jj}").as_str()), "{to:?}");
    assert!(!to.iter().any(|r| r.starts_with("co_units:")), "{to:?}");

    // A co-unit does not answer the citizen; a stranger does not see the item; empty is refused.
    let (s, v) = answer(&app, &co, id, fid, "协办单位答复").await;
    assert_eq!(s, 403, "{v}");
    let stranger = app.token("county.hy").await;
    let (s, _) = answer(&app, &stranger, id, fid, "无关").await;
    assert_eq!(s, 404);
    let (s, v) = answer(&app, &unit, id, fid, " ").await;
    assert_eq!(s, 422, "{v}");

    // The lead unit answers once; the answer is published under the question.
    let (s, d) = answer(&app, &unit, id, fid, "已列入本周维修计划，周五前修复。").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["follow_ups"][0]["open"], false);
    assert_eq!(d["state"], "assigned");
    let (s, v) = answer(&app, &station, id, fid, "再答一次").await;
    assert_eq!(s, 409, "{v}");
    let (_, t) = track(&app, &no, "5678").await;
    assert_eq!(
        t["follow_ups"][0]["answer"],
        "已列入本周维修计划，周五前修复。"
    );
    assert!(!t["follow_ups"][0]["answerer"].as_str().unwrap().is_empty());
    let labels: Vec<&str> = t["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"群众追问") && labels.contains(&"答复追问"),
        "{labels:?}"
    );
    let notes = liaison_db::notifications::for_opinion(&app.db, id)
        .await
        .unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.template == "opinion.follow_up_answered" && n.channel == "sms"),
        "the citizen hears of the answer"
    );

    // Closed: no more questions, with advice to submit a new opinion.
    act(&app, &unit, id, json!({"action": "acknowledge"})).await;
    act(
        &app,
        &unit,
        id,
        json!({"action": "reply", "content": "已修复", "resolution_grade": "A"}),
    )
    .await;
    act(&app, &station, id, json!({"action": "approve_reply"})).await;
    let (s, t) = follow_up(&app, &no, "5678", "修好后还会坏吗？", None).await;
    assert_eq!(s, 201, "feedback sent: still open for questions: {t}");
    let (s, t) = rate(&app, &no, "satisfied").await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["state"], "closed");
    assert_eq!(t["can_follow_up"], false);
    assert!(
        t["follow_up_refusal"]
            .as_str()
            .unwrap()
            .contains("重新提交意见")
    );
    let (s, v) = follow_up(&app, &no, "5678", "还有一个问题", None).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["code"], "wrong_state");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("重新提交意见")
    );
    // The question asked before closing can still be answered by the station.
    let fid2 = t["follow_ups"][1]["id"].as_i64().unwrap();
    let (s, d) = answer(&app, &station, id, fid2, "如再损坏请随时反映。").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["state"], "closed", "answering does not reopen");

    let recs = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some("opinion".into()),
            limit: 200,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(recs.iter().filter(|r| r.action == "follow_up").count(), 2);
    assert_eq!(
        recs.iter()
            .filter(|r| r.action == "answer_follow_up")
            .count(),
        2
    );

    // Documented in OpenAPI.
    let doc: Value = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/opinions/track/follow_up"]["post"].is_object());
    assert!(
        doc["paths"]["/api/v1/opinions/{id}/follow_ups/{follow_up_id}/answer"]["post"].is_object()
    );
}

async fn a_unit_cannot_act_on_an_item_not_assigned_to_it(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    let station = app.token("station.hm").await;
    let township = app.unit_id("JJ-HM-GOV").await;
    act(&app, &station, id, json!({"action": "accept"})).await;
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": township}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let unit = app.token("unit.jjzj").await;
    let (s, v) = act(&app, &unit, id, json!({"action": "acknowledge"})).await;
    assert_eq!(s, 404, "an item of another unit does not exist for it: {v}");
    // A deputy not addressed cannot act either.
    let deputy = app.token("deputy.d1").await;
    let (s, _) = act(&app, &deputy, id, json!({"action": "approve_return"})).await;
    assert_eq!(s, 404);
}

/// The forms offer only the units of the item's township, county and city and the deputies of
/// its station; a request built by hand with another county's unit or deputy is refused, and a
/// unit never sees a confidential submitter, not even masked.
async fn an_item_goes_only_to_units_and_deputies_of_its_own_place(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let mut body = sample();
    body["confidential"] = json!(true);
    let c: Value = submit(&app, body, None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    let station = app.token("station.hm").await;
    act(&app, &station, id, json!({"action": "accept"})).await;
    let other_county = app.unit_id("HY-ZJ").await;
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": other_county}),
    )
    .await;
    assert_refused(s, &v, 422, "不在可交办的范围内");
    let own_county = app.unit_id("JJ-ZJ").await;
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": own_county, "co_unit_ids": [other_county]}),
    )
    .await;
    assert_eq!(s, 422, "a co-unit of another county is refused too: {v}");
    let city = app.unit_id("TZ-ZJ").await;
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": own_county, "co_unit_ids": [city]}),
    )
    .await;
    assert_eq!(s, 200, "the county's and the city's units may take it: {v}");
    let unit = app.token("unit.jjzj").await;
    let v = detail(&app, &unit, id).await;
    assert_eq!(v["confidential"], true, "{v}");
    assert_eq!(v["submitter_name"], "", "{v}");
    assert_eq!(v["submitter_phone"], "", "{v}");
    // The station still sees the masked identity.
    let v = detail(&app, &station, id).await;
    assert_eq!(v["submitter_phone"], "138****5678", "{v}");

    // A draft suggestion carries the citizen's text: not to another county's deputy.
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    act(&app, &station, id, json!({"action": "accept"})).await;
    let admin = app.token("admin").await;
    let deputies: Value = app
        .client()
        .get(app.url("/api/v1/deputies?q=HY-D1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hy_deputy = deputies["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "HY-D1")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "convert_to_suggestion", "deputy_id": hy_deputy}),
    )
    .await;
    assert_refused(s, &v, 422, "不是本联络站的代表");
}

/// An answer on the spot needs no unit and no review: the citizen is told at once and rates
/// it, and the loop closes like any other.
async fn an_answer_on_the_spot_reaches_the_citizen_who_rates_it(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let (id, no) = (
        c["id"].as_i64().unwrap(),
        c["tracking_no"].as_str().unwrap().to_owned(),
    );
    let station = app.token("station.hm").await;
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "answer_on_spot", "content": "已联系社区，今晚修好路灯。", "resolution_grade": "A"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "feedback_sent", "{v}");
    assert!(v["due_on"].is_string(), "the rating window runs: {v}");
    let (s, t) = track(&app, &no, "5678").await;
    assert_eq!(s, 200);
    assert_eq!(t["can_rate"], true, "{t}");
    let (s, v) = rate(&app, &no, "satisfied").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "closed");
    let sms: Vec<String> = liaison_db::notifications::for_opinion(&app.db, id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.template)
        .collect();
    assert!(sms.iter().any(|t| t == "opinion.feedback"), "{sms:?}");
}

/// An accepted item waits to be assigned, a return request and an unsatisfied rating wait for
/// the station's decision: each with its deadline (and so its light and its reminders).
async fn nothing_waits_for_the_station_without_a_deadline(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    let station = app.token("station.hm").await;
    let unit = app.token("unit.jjzj").await;
    let (_, v) = act(&app, &station, id, json!({"action": "accept"})).await;
    assert_eq!(
        (v["state"].as_str(), v["due_kind"].as_str()),
        (Some("accepted"), Some("assign")),
        "{v}"
    );
    assert!(v["due_on"].is_string(), "{v}");
    let jj = app.unit_id("JJ-ZJ").await;
    act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": jj}),
    )
    .await;
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "request_return", "reason": "不属于本单位职责，建议交区交通运输局"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["due_kind"], "decide", "{v}");
    let (_, v) = act(&app, &station, id, json!({"action": "approve_return"})).await;
    assert_eq!(
        (v["state"].as_str(), v["due_kind"].as_str()),
        (Some("accepted"), Some("assign")),
        "{v}"
    );
    assert!(
        v["reply_due_on"].is_null(),
        "the returned unit's deadline is gone: {v}"
    );
}

/// An opinion sent with a deputy's code (代表码) tells the deputy as well as the station; one
/// sent with the station's code tells the station once.
async fn a_deputy_hears_of_what_reaches_them_by_their_code(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let mut body = sample();
    body.as_object_mut().unwrap().remove("station_code");
    body["deputy_code"] = json!("JJ-D1");
    let c: Value = submit(&app, body, None).await.json().await.unwrap();
    let to = |id: i64| {
        let app = &app;
        async move {
            let mut v: Vec<(String, String)> = liaison_db::notifications::for_opinion(&app.db, id)
                .await
                .unwrap()
                .into_iter()
                .map(|n| (n.template, n.recipient))
                .collect();
            v.sort();
            v
        }
    };
    let sent = to(c["id"].as_i64().unwrap()).await;
    let templates: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        templates,
        ["opinion.submitted", "opinion.to_deputy"],
        "{sent:?}"
    );
    assert!(sent[1].1.starts_with("deputy:"), "{sent:?}");
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let sent = to(c["id"].as_i64().unwrap()).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].1.starts_with("station:"), "{sent:?}");
}

/// A unit asks for a later date; the station approves it without typing the date again.
async fn an_extension_is_approved_for_the_date_asked(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    let station = app.token("station.hm").await;
    let unit = app.token("unit.jjzj").await;
    act(&app, &station, id, json!({"action": "accept"})).await;
    let jj = app.unit_id("JJ-ZJ").await;
    act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": jj}),
    )
    .await;
    let (_, v) = act(&app, &unit, id, json!({"action": "acknowledge"})).await;
    let due: time::Date = time::Date::parse(
        v["reply_due_on"].as_str().unwrap(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let asked = (due + time::Duration::days(7)).to_string();
    let (s, v) = act(
        &app,
        &unit,
        id,
        json!({"action": "request_extension", "reason": "需协调多个部门", "due_on": asked}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(&app, &station, id, json!({"action": "approve_extension"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "handling");
    assert_eq!(v["reply_due_on"], asked.as_str(), "{v}");
}

async fn forbidden_transitions_are_refused_with_the_state(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    let station = app.token("station.hm").await;
    let (s, v) = act(&app, &station, id, json!({"action": "approve_reply"})).await;
    assert_eq!(s, 409);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("待受理"),
        "{v}"
    );
    let (s, v) = act(&app, &station, id, json!({"action": "decline"})).await;
    assert_eq!(s, 422, "a decline needs a reason: {v}");
    assert_eq!(v["error"]["fields"][0]["field"], "reason", "{v}");
    let (s, v) = act(&app, &station, id, json!({"action": "fly"})).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "accept", "category": "environment"}),
    )
    .await;
    assert_eq!(s, 422, "an unknown category: {v}");
    assert_eq!(v["error"]["fields"][0]["field"], "category", "{v}");
    act(&app, &station, id, json!({"action": "accept"})).await;
    let (s, v) = act(&app, &station, id, json!({"action": "assign"})).await;
    assert_eq!(s, 422, "assign needs a unit: {v}");
    assert_eq!(v["error"]["fields"][0]["field"], "unit_id", "{v}");
    let (s, v) = act(
        &app,
        &station,
        id,
        json!({"action": "assign", "unit_id": 1, "due_on": "2020-01-01"}),
    )
    .await;
    assert_eq!(s, 422, "a past due date is refused: {v}");
}

async fn two_clerks_acting_at_once_one_wins(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    let a = app.token("station.hm").await;
    let b2 = app.token("town.hm").await;
    let (r1, r2) = tokio::join!(
        act(&app, &a, id, json!({"action": "accept", "version": 1})),
        act(
            &app,
            &b2,
            id,
            json!({"action": "decline", "reason": "不属于人大工作范围", "version": 1})
        ),
    );
    let statuses = [r1.0, r2.0];
    assert!(statuses.contains(&200), "{r1:?} {r2:?}");
    assert!(statuses.contains(&409), "the other is told: {r1:?} {r2:?}");
    let loser = if r1.0 == 409 { &r1.1 } else { &r2.1 };
    assert!(
        loser["error"]["code"] == "stale" || loser["error"]["code"] == "wrong_state",
        "{loser}"
    );
}

async fn lists_are_scoped_filtered_and_searchable(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    submit(&app, sample(), None).await;
    let mut other = sample();
    other["station_code"] = json!("HY-DC");
    other["body"] = json!("东城街道菜市场周边停车难，经常堵车。");
    other["title"] = json!("菜市场停车难");
    submit(&app, other, None).await;
    let list = |user: &'static str, q: &'static str| {
        let app = &app;
        async move {
            let token = app.token(user).await;
            let v: Value = app
                .client()
                .get(app.url(&format!("/api/v1/opinions?{q}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    assert_eq!(list("station.hm", "").await["total"], 1);
    assert_eq!(list("county.hy", "").await["total"], 1);
    assert_eq!(list("city", "").await["total"], 2);
    assert_eq!(list("unit.jjzj", "").await["total"], 0);
    assert_eq!(
        list("admin", "").await["total"],
        0,
        "the system administrator sees no business content"
    );
    let v = list("city", "q=停车").await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["items"][0]["title"], "菜市场停车难");
    assert_eq!(list("city", "q=路灯").await["total"], 1);
    assert_eq!(list("city", "state=submitted").await["total"], 2);
    assert_eq!(list("city", "state=closed").await["total"], 0);
    assert_eq!(list("city", "region=331003").await["total"], 1);
    let token = app.token("city").await;
    let r = app
        .client()
        .get(app.url("/api/v1/opinions?state=nope"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

async fn merge_links_a_duplicate_to_its_master(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let a: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let mut dup = sample();
    dup["phone"] = json!("13787654321");
    let d: Value = submit(&app, dup, None).await.json().await.unwrap();
    let station = app.token("station.hm").await;
    let (s, v) = act(
        &app,
        &station,
        d["id"].as_i64().unwrap(),
        json!({"action": "merge", "into_id": a["id"]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "merged");
    // The duplicate's submitter follows the master item.
    let (s, t) = track(&app, d["tracking_no"].as_str().unwrap(), "4321").await;
    assert_eq!(s, 200);
    assert!(
        t["state_label"].as_str().unwrap().contains("合并办理"),
        "{t}"
    );
    assert_eq!(t["can_rate"], false);
    let hy_item: Value = {
        let mut o = sample();
        o["station_code"] = json!("HY-DC");
        submit(&app, o, None).await.json().await.unwrap()
    };
    let (s, _) = act(
        &app,
        &station,
        a["id"].as_i64().unwrap(),
        json!({"action": "merge", "into_id": hy_item["id"]}),
    )
    .await;
    assert_eq!(s, 422, "only items of the same station merge");

    // The master itself merged into a third item: its duplicate follows it there, so the
    // third item's result reaches all three submitters.
    let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let (s, v) = act(
        &app,
        &station,
        a["id"].as_i64().unwrap(),
        json!({"action": "merge", "into_id": c["id"]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let dup = liaison_db::opinions::get(&app.db, d["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(dup.master_id, c["id"].as_i64());
    let (s, t) = track(&app, d["tracking_no"].as_str().unwrap(), "4321").await;
    assert_eq!(s, 200, "{t}");
    // Nothing merges into a finished item: its result was sent already.
    let e: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let e_id = e["id"].as_i64().unwrap();
    let (s, _) = act(
        &app,
        &station,
        e_id,
        json!({"action": "decline", "reason": "不属于人大代表联络站受理范围，建议拨打12345"}),
    )
    .await;
    assert_eq!(s, 200);
    let f: Value = submit(&app, sample(), None).await.json().await.unwrap();
    let (s, v) = act(
        &app,
        &station,
        f["id"].as_i64().unwrap(),
        json!({"action": "merge", "into_id": e_id}),
    )
    .await;
    assert_refused(s, &v, 422, "主件已办结");
}

async fn script_in_fields_is_kept_as_text(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let mut v = sample();
    v["title"] = json!("<script>alert('x')</script>");
    let c: Value = submit(&app, v, None).await.json().await.unwrap();
    let (_, t) = track(&app, c["tracking_no"].as_str().unwrap(), "5678").await;
    assert_eq!(
        t["title"], "<script>alert('x')</script>",
        "stored as typed; pages escape it"
    );
}

mod pages {
    use super::*;

    backend_tests!(
        the_public_form_keeps_what_was_typed_and_gives_a_receipt,
        a_flood_from_one_address_or_phone_is_told_to_wait,
    );

    /// Ten submissions a phone may make at once (then 20 an hour), thirty an address a minute;
    /// past either, a clear message — and the form keeps what was typed.
    async fn a_flood_from_one_address_or_phone_is_told_to_wait(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        for i in 0..10 {
            let r = submit(&app, sample(), None).await;
            assert_eq!(r.status(), 201, "submission {i}");
        }
        let r = submit(&app, sample(), None).await;
        assert_eq!(r.status(), 429);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("该手机号近期提交的意见已较多"),
            "{v}"
        );
        // Other phones, the same address: the address's limit of 30 a minute.
        let mut n = 11;
        let last = loop {
            let mut body = sample();
            body["phone"] = json!(format!("139{:08}", n));
            let r = submit(&app, body, None).await;
            n += 1;
            if r.status() != 201 || n > 40 {
                break r;
            }
        };
        assert_eq!(last.status(), 429);
        assert_eq!(last.headers()["retry-after"], "60");
        assert_eq!(n, 31, "the 31st request of the minute is refused");
        let v: Value = last.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("您提交得太频繁了"),
            "{v}"
        );
        // The public form says the same and keeps the text; its photos are not kept.
        let c = app.client();
        let token = app.csrf(&c, "/stations/JJ-HM/opinion").await;
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token)
            .text("key", "flood")
            .text("body", "楼道灯坏了很久。")
            .text("name", "钱")
            .text("phone", "13712345678")
            .part(
                "photos",
                reqwest::multipart::Part::bytes(vec![0u8; 2 * 1024 * 1024]).file_name("a.jpg"),
            );
        let html = c
            .post(app.url("/stations/JJ-HM/opinion"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("您提交得太频繁了"), "{html}");
        assert!(html.contains("楼道灯坏了很久。") && html.contains("value=\"13712345678\""));
    }

    async fn the_public_form_keeps_what_was_typed_and_gives_a_receipt(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let c = app.client();
        let token = app.csrf(&c, "/stations/JJ-HM/opinion").await;
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("key", "k1")
            .text("body", "路面坑洼，下雨积水。")
            .text("name", "赵")
            .text("phone", "12345");
        let html = c
            .post(app.url("/stations/JJ-HM/opinion"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("请填写正确的11位中国大陆手机号码"), "{html}");
        assert!(
            html.contains("路面坑洼，下雨积水。") && html.contains("value=\"12345\""),
            "typed text kept"
        );
        let png = {
            // A tiny real PNG made by the photo module's own encoder is not available here;
            // a non-image file must be refused with a message.
            b"not an image".to_vec()
        };
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("key", "k2")
            .text("body", "路面坑洼，下雨积水。")
            .text("name", "赵")
            .text("phone", "13612345678")
            .part(
                "photos",
                reqwest::multipart::Part::bytes(png).file_name("x.jpg"),
            );
        let html = c
            .post(app.url("/stations/JJ-HM/opinion"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("第1张照片"), "{html}");
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("key", "k3")
            .text("body", "路面坑洼，下雨积水。")
            .text("name", "赵")
            .text("phone", "13612345678");
        let html = c
            .post(app.url("/stations/JJ-HM/opinion"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("受理编号"), "{html}");
        let no_start = html.find("<b>LZ").unwrap() + 3;
        let no = &html[no_start..no_start + 14];
        let page = c
            .get(app.url(&format!("/track?tracking_no={no}&phone_last4=5678")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("待受理"), "{page}");
        // Without the CSRF token nothing is accepted.
        let form = reqwest::multipart::Form::new()
            .text("body", "x")
            .text("key", "k4");
        let r = c
            .post(app.url("/stations/JJ-HM/opinion"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
}

mod outbox {
    use super::*;
    use liaison_web::notify::{RecordingSms, Senders, deliver_due, run_timers_on};
    use std::sync::Arc;

    backend_tests!(
        the_submitter_gets_an_sms_when_the_reply_is_approved,
        a_failing_gateway_is_retried_and_nothing_is_lost,
        timers_close_unrated_items_and_escalate_overdue_ones,
        reminders_go_to_whoever_owns_the_step,
    );

    /// A reply waiting for review is the station's step: the overdue reminder goes to the
    /// station, not to the unit that has already answered; an item in the unit's hands reminds
    /// the unit; a waiting extension request is the station's and is never escalated by the
    /// timer.
    async fn reminders_go_to_whoever_owns_the_step(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let station = app.token("station.hm").await;
        let unit = app.token("unit.jjzj").await;
        let jj = app.unit_id("JJ-ZJ").await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
            let id = c["id"].as_i64().unwrap();
            act(&app, &station, id, json!({"action": "accept"})).await;
            act(
                &app,
                &station,
                id,
                json!({"action": "assign", "unit_id": jj}),
            )
            .await;
            act(&app, &unit, id, json!({"action": "acknowledge"})).await;
            ids.push(id);
        }
        let (replied, handling, extension) = (ids[0], ids[1], ids[2]);
        let (s, v) = act(
            &app,
            &unit,
            replied,
            json!({"action": "reply", "content": "已处理", "resolution_grade": "A"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let later = (liaison_db::opinions::today() + time::Duration::days(40)).to_string();
        let (s, v) = act(
            &app,
            &unit,
            extension,
            json!({"action": "request_extension", "reason": "需协调多个部门", "due_on": later}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        // The station sees the requested date, as when the request comes from the form.
        let note = format!("申请延期至 {later}：需协调多个部门");
        assert!(
            v["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["note"] == note.as_str()),
            "{v}"
        );
        // Every deadline passed long ago.
        let long_ago = liaison_db::opinions::today() - time::Duration::days(30);
        let mut tx = app.db.begin().await.unwrap();
        let mut s = liaison_db::sql::Sql::new("UPDATE opinion SET due_on = ");
        s.bind(long_ago).push(", reply_due_on = ").bind(long_ago);
        s.execute_tx(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        run_timers_on(&app.state, app.timer_day().await).await;
        let sid = liaison_db::opinions::get(&app.db, replied)
            .await
            .unwrap()
            .station_id;
        let reminder_to = |id: i64| {
            let app = &app;
            async move {
                liaison_db::notifications::for_opinion(&app.db, id)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|n| n.template == "opinion.overdue")
                    .map(|n| n.recipient)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(reminder_to(replied).await, [format!("station:{sid}")]);
        assert_eq!(reminder_to(extension).await, [format!("station:{sid}")]);
        assert_eq!(
            liaison_db::opinions::get(&app.db, handling)
                .await
                .unwrap()
                .state,
            "supervised",
            "the unit alone was late"
        );
        let told: Vec<(String, String)> = liaison_db::notifications::for_opinion(&app.db, handling)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.template.starts_with("opinion.supervis"))
            .map(|n| (n.template, n.recipient))
            .collect();
        assert_eq!(
            told.len(),
            2,
            "the unit once, the supervising office once: {told:?}"
        );
        assert!(
            told.iter()
                .any(|(t, r)| t == "opinion.supervision_opened" && r.starts_with("region:")),
            "{told:?}"
        );
        // The case ends when the unit replies under it.
        let (s, v) = act(
            &app,
            &unit,
            handling,
            json!({"action": "reply", "content": "已督促施工方修复", "resolution_grade": "A"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let mut open_cases = liaison_db::sql::Sql::new(
            "SELECT COUNT(*) FROM supervision_case WHERE closed_at IS NULL AND opinion_id = ",
        );
        open_cases.bind(handling);
        assert_eq!(open_cases.fetch_count(&app.db).await.unwrap(), 0);
        assert_eq!(
            liaison_db::opinions::get(&app.db, extension)
                .await
                .unwrap()
                .state,
            "extension_requested",
            "the station's decision is awaited, not escalated"
        );
    }

    async fn to_feedback(app: &TestApp) -> (i64, String) {
        let c: Value = submit(app, sample(), None).await.json().await.unwrap();
        let id = c["id"].as_i64().unwrap();
        let station = app.token("station.hm").await;
        let unit = app.token("unit.jjzj").await;
        let jj = app.unit_id("JJ-ZJ").await;
        act(app, &station, id, json!({"action": "accept"})).await;
        act(
            app,
            &station,
            id,
            json!({"action": "assign", "unit_id": jj}),
        )
        .await;
        act(app, &unit, id, json!({"action": "acknowledge"})).await;
        act(
            app,
            &unit,
            id,
            json!({"action": "reply", "content": "已处理", "resolution_grade": "A"}),
        )
        .await;
        let (s, v) = act(app, &station, id, json!({"action": "approve_reply"})).await;
        assert_eq!(s, 200, "{v}");
        (id, c["tracking_no"].as_str().unwrap().to_owned())
    }

    async fn the_submitter_gets_an_sms_when_the_reply_is_approved(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let (_, no) = to_feedback(&app).await;
        let sms = Arc::new(RecordingSms::default());
        let senders = Senders {
            sms: sms.clone(),
            webhook: None,
        };
        assert!(deliver_due(&app.state, &senders).await > 0);
        let sent = sms.sent.lock().unwrap().clone();
        assert!(sent.iter().all(|(p, _)| p == "13812345678"));
        assert!(
            sent.iter()
                .any(|(_, t)| t.contains(&no) && t.contains("已有答复")),
            "{sent:?}"
        );
        assert!(sent.iter().any(|(_, t)| t.contains("已受理")), "{sent:?}");
        assert_eq!(
            deliver_due(&app.state, &senders).await,
            0,
            "each notification once"
        );
    }

    async fn a_failing_gateway_is_retried_and_nothing_is_lost(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let (_, no) = to_feedback(&app).await;
        let sms = Arc::new(RecordingSms::default());
        *sms.fail_with.lock().unwrap() = Some("网关超时".into());
        let senders = Senders {
            sms: sms.clone(),
            webhook: None,
        };
        deliver_due(&app.state, &senders).await;
        let pending = liaison_db::sql::Sql::new(
            "SELECT COUNT(*) FROM notification WHERE channel = 'sms' AND status = 'pending' AND attempts = 1",
        )
        .fetch_count(&app.db)
        .await
        .unwrap();
        assert!(
            pending >= 2,
            "failed SMS stay queued for a retry: {pending}"
        );
        assert_eq!(
            deliver_due(&app.state, &senders).await,
            0,
            "not before the retry delay"
        );

        // The gateway stays down until the last attempt (about a day of retries): the citizen
        // never learned of the answer, so the rating window has not started and the timer
        // does not close the item as unrated; the station is told to call instead.
        let id = liaison_db::opinions::by_tracking_no(&app.db, &no)
            .await
            .unwrap()
            .unwrap()
            .id;
        for _ in 1..liaison_db::notifications::MAX_ATTEMPTS {
            let mut tx = app.db.begin().await.unwrap();
            let mut s = liaison_db::sql::Sql::new("UPDATE notification SET next_attempt_at = ");
            s.bind(time::OffsetDateTime::now_utc() - time::Duration::minutes(1))
                .push(" WHERE status = 'pending'");
            s.execute_tx(&mut tx).await.unwrap();
            tx.commit().await.unwrap();
            deliver_due(&app.state, &senders).await;
        }
        let o = liaison_db::opinions::get(&app.db, id).await.unwrap();
        assert_eq!(o.state, "feedback_sent");
        assert_eq!(o.feedback_sent_on, None, "the window has not started");
        let notices = liaison_db::notifications::for_opinion(&app.db, id)
            .await
            .unwrap();
        assert!(
            notices
                .iter()
                .any(|n| n.template == "opinion.feedback" && n.status == "failed"),
            "{notices:?}"
        );
        assert!(
            notices
                .iter()
                .any(|n| n.template == "opinion.feedback_undelivered"
                    && n.recipient.starts_with("station:")),
            "{notices:?}"
        );
        liaison_web::notify::run_timers_on(&app.state, app.timer_day().await).await;
        assert_eq!(
            liaison_db::opinions::get(&app.db, id).await.unwrap().state,
            "feedback_sent",
            "not closed unrated"
        );
        // The station reaches the citizen by phone and records the rating.
        let station = app.token("station.hm").await;
        let (s, v) = act(
            &app,
            &station,
            id,
            json!({"action": "rate", "rating": "satisfied", "comment": "电话回访：满意"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "closed");
    }

    async fn timers_close_unrated_items_and_escalate_overdue_ones(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let (id, _) = to_feedback(&app).await;
        // Feedback sent eight days ago: the 7-day rating window is over.
        let mut s = liaison_db::sql::Sql::new("UPDATE opinion SET feedback_sent_on = ");
        s.bind(liaison_db::opinions::today() - time::Duration::days(8))
            .push(" WHERE id = ")
            .bind(id);
        let mut tx = app.db.begin().await.unwrap();
        s.execute_tx(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        // A second item is assigned and its reply deadline passed long ago.
        let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
        let id2 = c["id"].as_i64().unwrap();
        let station = app.token("station.hm").await;
        let jj = app.unit_id("JJ-ZJ").await;
        act(&app, &station, id2, json!({"action": "accept"})).await;
        act(
            &app,
            &station,
            id2,
            json!({"action": "assign", "unit_id": jj}),
        )
        .await;
        let mut s = liaison_db::sql::Sql::new("UPDATE opinion SET reply_due_on = ");
        s.bind(liaison_db::opinions::today() - time::Duration::days(30))
            .push(" WHERE id = ")
            .bind(id2);
        let mut tx = app.db.begin().await.unwrap();
        s.execute_tx(&mut tx).await.unwrap();
        tx.commit().await.unwrap();

        // One reminder (the assigned item is due to be signed for) plus the two timer actions.
        assert_eq!(run_timers_on(&app.state, app.timer_day().await).await, 3);
        assert_eq!(
            liaison_db::opinions::get(&app.db, id).await.unwrap().state,
            "closed_unrated"
        );
        assert_eq!(
            liaison_db::opinions::get(&app.db, id2).await.unwrap().state,
            "supervised"
        );
        let cases = liaison_db::sql::Sql::new("SELECT COUNT(*) FROM supervision_case")
            .fetch_count(&app.db)
            .await
            .unwrap();
        assert_eq!(cases, 1);
        assert_eq!(
            run_timers_on(&app.state, app.timer_day().await).await,
            0,
            "nothing twice, reminders once a day"
        );
        let reminders = liaison_db::sql::Sql::new("SELECT COUNT(*) FROM notification WHERE template IN ('opinion.overdue', 'opinion.due_soon')")
            .fetch_count(&app.db)
            .await
            .unwrap();
        assert_eq!(reminders, 1);
    }
}

mod open311 {
    use super::*;

    backend_tests!(
        an_open311_client_posts_and_reads_a_request,
        an_open311_client_speaks_xml_and_lists_only_published_items,
    );

    /// Parses an XML answer with a real parser (so it must be well-formed) and returns the
    /// text of every element called `name`, in document order.
    fn xml_texts(xml: &str, name: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        doc.descendants()
            .filter(|n| n.has_tag_name(name))
            .map(|n| n.text().unwrap_or("").to_owned())
            .collect()
    }

    async fn get_text(app: &TestApp, path: &str) -> (u16, String, String) {
        let r = app.client().get(app.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, r.text().await.unwrap())
    }

    async fn an_open311_client_speaks_xml_and_lists_only_published_items(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        // Discovery, services and a service definition, in XML and JSON.
        let (s, kind, xml) = get_text(&app, "/open311/discovery.xml").await;
        assert_eq!(s, 200);
        assert!(kind.starts_with("text/xml"), "{kind}");
        assert!(xml_texts(&xml, "url")[0].ends_with("/open311/v2"));
        assert_eq!(xml_texts(&xml, "format"), ["text/xml", "application/json"]);
        let (s, _, json) = get_text(&app, "/open311/discovery.json").await;
        assert_eq!(s, 200);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v["endpoints"][0]["specification"],
            "http://wiki.open311.org/GeoReport_v2"
        );
        let (s, _, xml) = get_text(&app, "/open311/v2/services.xml").await;
        assert_eq!(s, 200);
        assert!(xml_texts(&xml, "service_code").contains(&"environment".to_owned()));
        let (s, _, xml) = get_text(&app, "/open311/v2/services/environment.xml").await;
        assert_eq!(s, 200);
        assert_eq!(xml_texts(&xml, "service_code"), ["environment"]);
        let (s, _, xml) = get_text(&app, "/open311/v2/services/nothing.xml").await;
        assert_eq!(s, 404);
        assert!(!xml_texts(&xml, "description")[0].is_empty());
        let (s, _, _) = get_text(&app, "/open311/v2/services.csv").await;
        assert_eq!(s, 404);

        // A request posted in XML, not published (Open311 submissions never ask).
        let r = app
            .client()
            .post(app.url("/open311/v2/requests.xml"))
            .form(&[
                ("jurisdiction_id", "JJ-HM"),
                ("service_code", "transport"),
                ("description", "公交站台的顶棚破了，下雨天没法等车。"),
                ("phone", "13512340000"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let xml = r.text().await.unwrap();
        let hidden = xml_texts(&xml, "service_request_id")[0].clone();
        assert!(!hidden.is_empty());
        let r = app
            .client()
            .post(app.url("/open311/v2/requests.xml"))
            .form(&[("service_code", "transport")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(xml_texts(&r.text().await.unwrap(), "description")[0].contains("jurisdiction_id"));

        // A published item whose text holds markup, and a published but confidential one.
        let mut body = sample();
        body["body"] = json!(
            "路口<script>alert(1)</script>的红绿灯坏了 & 没人修，晚上很危险。我的电话13900001111。"
        );
        let r = submit(&app, body, None).await;
        assert_eq!(r.status(), 201);
        let shown: Value = r.json().await.unwrap();
        let shown_id = shown["id"].as_i64().unwrap();
        let shown = shown["tracking_no"].as_str().unwrap().to_owned();
        let mut body = sample();
        body["confidential"] = json!(true);
        let r = submit(&app, body, None).await;
        assert_eq!(r.status(), 201);
        let secret: Value = r.json().await.unwrap();
        let secret = secret["tracking_no"].as_str().unwrap().to_owned();

        let (s, kind, xml) = get_text(&app, "/open311/v2/requests.xml").await;
        assert_eq!(s, 200);
        assert!(kind.starts_with("text/xml"));
        assert_eq!(
            xml_texts(&xml, "service_request_id"),
            std::slice::from_ref(&shown)
        );
        let text = &xml_texts(&xml, "description")[0];
        assert!(
            text.contains("<script>alert(1)</script>"),
            "escaped, then read back: {text}"
        );
        assert!(xml.contains("&lt;script&gt;"));
        assert!(
            text.contains("139******11") && !xml.contains("13900001111"),
            "a phone number in the text is masked before publication: {text}"
        );
        assert!(!xml.contains("13812345678") && !xml.contains("王小明"));
        assert_eq!(xml_texts(&xml, "status"), ["open"]);

        let list = |q: String| {
            let app = &app;
            async move {
                let (s, _, json) = get_text(app, &format!("/open311/v2/requests.json?{q}")).await;
                assert_eq!(s, 200, "{q}: {json}");
                let v: Value = serde_json::from_str(&json).unwrap();
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            list(format!("service_request_id={shown},{secret},{hidden}")).await,
            std::slice::from_ref(&shown),
            "only the published item, whatever is asked for"
        );
        assert_eq!(
            list("status=open".into()).await,
            std::slice::from_ref(&shown)
        );
        assert!(list("status=closed".into()).await.is_empty());
        assert_eq!(
            list("status=open,closed".into()).await,
            std::slice::from_ref(&shown)
        );
        assert_eq!(
            list("jurisdiction_id=JJ-HM".into()).await,
            std::slice::from_ref(&shown)
        );
        assert!(
            list("start_date=2099-01-01T00:00:00Z".into())
                .await
                .is_empty()
        );
        assert_eq!(
            list("start_date=2020-01-01&end_date=2099-12-31T00:00:00%2B08:00".into()).await,
            std::slice::from_ref(&shown)
        );
        // Times in China's offset against rows kept in UTC: an hour ago is before the item,
        // an hour ahead after it.
        let china = |hours: i64| {
            (time::OffsetDateTime::now_utc() + time::Duration::hours(hours))
                .to_offset(time::macros::offset!(+8))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
                .replace('+', "%2B")
        };
        assert_eq!(
            list(format!("start_date={}", china(-1))).await,
            std::slice::from_ref(&shown)
        );
        assert!(list(format!("start_date={}", china(1))).await.is_empty());
        assert!(list(format!("end_date={}", china(-1))).await.is_empty());
        let (_, _, json) = get_text(&app, &format!("/open311/v2/requests/{shown}.json")).await;
        let one: Value = serde_json::from_str(&json).unwrap();
        let code = one[0]["service_code"].as_str().unwrap().to_owned();
        assert_eq!(
            list(format!("service_code={code}")).await,
            std::slice::from_ref(&shown)
        );
        let other = if code == "environment" {
            "health"
        } else {
            "environment"
        };
        assert!(list(format!("service_code={other}")).await.is_empty());

        let (s, _, xml) = get_text(&app, "/open311/v2/requests.xml?start_date=yesterday").await;
        assert_eq!(s, 400);
        assert!(xml_texts(&xml, "description")[0].contains("start_date"));
        let (s, _, _) = get_text(&app, "/open311/v2/requests.json?status=pending").await;
        assert_eq!(s, 400);
        let (s, _, _) = get_text(&app, "/open311/v2/requests.json?jurisdiction_id=NOPE").await;
        assert_eq!(s, 404);

        // An answer on the spot is still open: the feedback goes out at once and the rating
        // follows it.
        let station = app.token("station.hm").await;
        let (s, v) = act(
            &app,
            &station,
            shown_id,
            json!({"action": "answer_on_spot", "content": "已联系交警，今晚修复红绿灯。", "resolution_grade": "A"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "feedback_sent");
        assert_eq!(
            list("status=open".into()).await,
            std::slice::from_ref(&shown)
        );
        assert!(list("status=closed".into()).await.is_empty());

        // One request by its number, in XML: the unpublished one shows its state, not its text.
        let (s, _, xml) = get_text(&app, &format!("/open311/v2/requests/{hidden}.xml")).await;
        assert_eq!(s, 200);
        assert_eq!(xml_texts(&xml, "status"), ["open"]);
        assert_eq!(xml_texts(&xml, "description"), [""]);
        assert!(!xml.contains("13512340000"));
        let (s, _, _) = get_text(&app, "/open311/v2/requests/LZ000000000000.xml").await;
        assert_eq!(s, 404);
    }

    async fn an_open311_client_posts_and_reads_a_request(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let c = app.client();
        let v: Value = c
            .get(app.url("/open311/v2/services.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            v.as_array()
                .unwrap()
                .iter()
                .any(|s| s["service_code"] == "environment")
        );
        let r = c
            .post(app.url("/open311/v2/requests.json"))
            .form(&[
                ("jurisdiction_id", "JJ-HM"),
                ("service_code", "environment"),
                ("description", "河道里漂着很多垃圾，气味很大。"),
                ("lat", "28.6821"),
                ("long", "121.4403"),
                ("first_name", "小红"),
                ("last_name", "陈"),
                ("phone", "13512345678"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        let id = v[0]["service_request_id"].as_str().unwrap().to_owned();
        let v: Value = c
            .get(app.url(&format!("/open311/v2/requests/{id}.json")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v[0]["status"], "open");
        assert_eq!(v[0]["description"], "", "not published without consent");
        assert!(!v.to_string().contains("13512345678"));
        let (s, _) = track(&app, &id, "5678").await;
        assert_eq!(s, 200, "the same item is trackable by the citizen");
        let r = c
            .post(app.url("/open311/v2/requests.json"))
            .form(&[("service_code", "environment")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert!(
            v[0]["description"]
                .as_str()
                .unwrap()
                .contains("jurisdiction_id")
        );
        let r = c
            .get(app.url("/open311/v2/requests/LZ000000000000.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
}

mod settings {
    use super::*;

    backend_tests!(the_city_uploads_next_years_calendar_and_routes_a_category,);

    async fn the_city_uploads_next_years_calendar_and_routes_a_category(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let station = app.login("station.hm").await;
        assert_eq!(
            station
                .get(app.url("/work/settings"))
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        let c = app.login("city").await;
        // The workbench warns the city while a notice that today's deadlines need is missing
        // (this year's, or from November next year's), and says nothing otherwise.
        let home_warns = async || {
            let home = c
                .get(app.url("/work"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let missing = app
                .state
                .rules
                .read()
                .await
                .calendar
                .missing_notice(liaison_db::opinions::today());
            match missing {
                Some(y) => assert!(home.contains(&format!("尚未载入{y}年")), "{home}"),
                None => assert!(!home.contains("尚未载入"), "{home}"),
            }
        };
        home_warns().await;
        let token = app.csrf(&c, "/work/settings").await;
        let bad = c
            .post(app.url("/work/settings/calendar"))
            .form(&[("_csrf", token.as_str()), ("notice", "{\"year\": 2027}")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(bad.contains("class=\"errors\""), "{bad}");
        assert!(
            bad.contains("{&#34;year&#34;: 2027}") || bad.contains("{&quot;year&quot;: 2027}"),
            "what was typed is kept"
        );
        let notice = r#"{"year":2027,"papers":[],"days":[{"name":"元旦","date":"2027-01-01","isOffDay":true}]}"#;
        let ok = c
            .post(app.url("/work/settings/calendar"))
            .form(&[("_csrf", token.as_str()), ("notice", notice)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(ok.contains("已保存2027年节假日安排"), "{ok}");
        assert!(app.state.rules.read().await.calendar.covers(2027));
        home_warns().await;
        let bad_sla = c
            .post(app.url("/work/settings/sla"))
            .form(&[("_csrf", token.as_str()), ("table", "{}")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(bad_sla.contains("class=\"errors\""));
        let ok = c
            .post(app.url("/work/settings/routes"))
            .form(&[
                ("_csrf", token.as_str()),
                ("category", "环境保护"),
                ("region_code", "331002"),
                ("unit_code", "JJ-ZJ"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(ok.contains("已保存默认承办单位"), "{ok}");
        let hm = liaison_db::directory::region_by_code(&app.db, "331002001")
            .await
            .unwrap()
            .unwrap();
        let u = liaison_db::opinions::suggest_unit(&app.db, "环境保护", &hm.path)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.code, "JJ-ZJ", "a township inherits its county's route");
    }
}

mod hot {
    use super::*;

    backend_tests!(hot_topics_count_recent_items_of_the_scope,);

    async fn hot_topics_count_recent_items_of_the_scope(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        for (i, text) in [
            "东山社区停车难，车位太少",
            "停车难，希望建停车场",
            "海门街道停车难问题",
            "噪声扰民",
        ]
        .iter()
        .enumerate()
        {
            let mut v = sample();
            v["title"] = json!(text);
            v["body"] = json!(text);
            v["phone"] = json!(format!("1381234567{i}"));
            assert_eq!(submit(&app, v, None).await.status(), 201);
        }
        let token = app.token("county.jj").await;
        let v: Value = app
            .client()
            .get(app.url("/api/v1/opinions/hot-topics?days=7"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v[0]["keyword"], "停车难", "{v}");
        assert_eq!(v[0]["count"], 3);
        let token = app.token("county.hy").await;
        let v: Value = app
            .client()
            .get(app.url("/api/v1/opinions/hot-topics"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            v.as_array().unwrap().len(),
            0,
            "another county's items are not counted"
        );
    }
}

mod learning {
    use super::*;

    backend_tests!(a_staff_correction_teaches_the_classifier,);

    async fn a_staff_correction_teaches_the_classifier(b: Backend) {
        let Some(app) = TestApp::spawn(b).await else {
            return;
        };
        let c: Value = submit(&app, sample(), None).await.json().await.unwrap();
        let id = c["id"].as_i64().unwrap();
        let station = app.token("station.hm").await;
        let v = detail(&app, &station, id).await;
        let suggested = v["category_suggested"].as_str().unwrap().to_owned();
        let corrected = if suggested == "卫生计生" {
            "商贸旅游"
        } else {
            "卫生计生"
        };
        let (s, v) = act(
            &app,
            &station,
            id,
            json!({"action": "accept", "category": corrected}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["category"], corrected);
        let title = sample()["title"].as_str().unwrap().to_owned();
        let body = sample()["body"].as_str().unwrap().to_owned();
        let score = |p: &liaison_text::classify::Prediction| {
            p.scores
                .iter()
                .find(|(l, _)| l == corrected)
                .map(|(_, s)| *s)
                .unwrap()
        };
        let before = score(&liaison_text::classify::embedded_model().predict(&title, &body));
        let now = score(&app.state.classifier.read().unwrap().predict(&title, &body));
        assert!(
            now > before,
            "the correction moved the model toward {corrected}: {before} → {now}"
        );
        // After a restart the corrections are replayed from the database.
        *app.state.classifier.write().unwrap() = liaison_text::classify::embedded_model().clone();
        assert_eq!(app.state.learn_corrections().await.unwrap(), 1);
        let again = score(&app.state.classifier.read().unwrap().predict(&title, &body));
        assert!((again - now).abs() < 1e-4, "replayed: {again} vs {now}");
    }
}
