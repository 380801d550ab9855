//! 主题活动 and 督政议事 end to end, on SQLite and PostgreSQL: a reception from creation to the
//! report (late notice, sign-up beyond capacity onto the waiting list and promotion, a second
//! check-in, an opinion entered at the reception running in the normal loop, follow-up items),
//! check-in outside the window, an edit after the fact kept as an audited correction, refusals
//! with stable codes and scoping, annual plans read-only above the station, deliberations with
//! measures tracked to done, and 云问政 with moderation and answers inside the window.

#[path = "support/mod.rs"]
mod support;

use liaison_db::Backend;
use serde_json::{Value, json};
use support::{TestApp, csrf_from};
use time::{Duration, OffsetDateTime};

backend_tests!(
    a_reception_runs_from_announcement_to_report,
    check_in_outside_the_window_is_refused,
    an_activity_edited_after_it_happened_is_kept_as_a_correction,
    refusals_have_stable_codes_and_scope_is_enforced,
    plans_are_kept_by_the_station_and_read_above_it,
    public_sign_up_works_on_a_page_without_an_account,
    deliberations_close_when_their_measures_are_done,
    questions_are_moderated_and_answered_within_the_window,
    plans_over_the_api_are_kept_by_the_station_and_scoped,
    question_windows_over_the_api_are_moderated_and_answered,
    a_citizen_promoted_from_the_waiting_list_gets_an_sms,
);

async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client().request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn post(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    call(app, token, reqwest::Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    call(app, Some(token), reqwest::Method::GET, path, None).await
}

async fn act(app: &TestApp, token: Option<&str>, id: i64, body: Value) -> (u16, Value) {
    post(
        app,
        token,
        &format!("/api/v1/activities/{id}/actions"),
        body,
    )
    .await
}

/// RFC 3339 in China time, whole minutes.
fn at(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::macros::offset!(+8))
        .replace_second(0)
        .unwrap()
        .replace_nanosecond(0)
        .unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn reception(starts_in: Duration, capacity: Option<i64>) -> Value {
    let start = OffsetDateTime::now_utc() + starts_in;
    json!({
        "station_code": "JJ-HM",
        "kind": "reception_day",
        "title": "代表接待日：老旧小区加装电梯",
        "description": "听取群众对老旧小区加装电梯的意见建议",
        "place": "海门街道联络站一楼接待室",
        "organiser": "海门街道人大工委",
        "starts_at": at(start),
        "ends_at": at(start + Duration::hours(2)),
        "capacity": capacity,
        "signup_open": true,
        "deputy_codes": ["JJ-D1"],
        "unit_ids": [],
        "officials": [{"name": "王局长", "post": "椒江区住建局局长"}],
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = post(app, Some(token), "/api/v1/activities", body).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "planned");
    v["id"].as_i64().unwrap()
}

async fn audit_count(app: &TestApp, entity: &str, action: &str) -> usize {
    liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            entity: Some(entity.into()),
            limit: 500,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .iter()
    .filter(|r| r.action == action)
    .count()
}

async fn a_reception_runs_from_announcement_to_report(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = app.token("station.hm").await;
    let deputy = app.token("deputy.d1").await;
    let id = create(&app, &station, reception(Duration::minutes(30), Some(2))).await;

    // Announced 30 minutes ahead: allowed, warned about, recorded.
    let (s, v) = act(&app, Some(&station), id, json!({"action": "announce"})).await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["warning"].as_str().unwrap().contains("少于2天"),
        "late notice is warned about: {v}"
    );
    assert_eq!(v["activity"]["state"], "announced");
    assert_eq!(v["activity"]["late_notice"], true);

    // Public sign-up: two places, then the waiting list.
    let signup =
        |name: &str, phone: &str| json!({"action": "signup", "name": name, "phone": phone});
    let (s, a) = act(&app, None, id, signup("王小明", "13812340001")).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["signup"]["status"], "confirmed");
    let first_no = a["signup"]["signup_no"].as_str().unwrap().to_owned();
    let (s, _) = act(&app, None, id, signup("李红", "13812340002")).await;
    assert_eq!(s, 201);
    let (s, c) = act(&app, None, id, signup("赵强", "13812340003")).await;
    assert_eq!(s, 202, "beyond capacity: {c}");
    assert_eq!(c["code"], "full");
    assert_eq!(c["signup"]["status"], "waitlisted");
    assert_eq!(c["signup"]["position"], 1);
    let waiting_no = c["signup"]["signup_no"].as_str().unwrap().to_owned();
    let (s, e) = act(&app, None, id, signup("王小明", "138 1234 0001")).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "already_signed_up");
    let (s, e) = act(&app, None, id, signup("", "123")).await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["code"], "validation_failed");
    // A wrong last-four cancels nothing; the right one frees the place for the waiting list.
    let (s, _) = act(
        &app,
        None,
        id,
        json!({"action": "cancel_signup", "signup_no": first_no, "phone_last4": "9999"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, v) = act(
        &app,
        None,
        id,
        json!({"action": "cancel_signup", "signup_no": first_no, "phone_last4": "0001"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["promoted"], json!([waiting_no]));
    let (_, d) = get(&app, &station, &format!("/api/v1/activities/{id}")).await;
    assert_eq!(
        (d["confirmed"].as_i64(), d["waitlisted"].as_i64()),
        (Some(2), Some(0))
    );
    let phones: Vec<&str> = d["signups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["phone"].as_str().unwrap())
        .collect();
    assert!(phones.contains(&"138****0003"), "masked: {phones:?}");
    assert!(!d.to_string().contains("13812340003"), "never in clear");

    // The deputy accepts and checks in (the first check-in starts the activity), once.
    let (s, v) = act(
        &app,
        Some(&deputy),
        id,
        json!({"action": "reply_invitation", "reply": "accepted"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = act(&app, Some(&deputy), id, json!({"action": "check_in"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["activity"]["state"], "in_session");
    let (s, e) = act(&app, Some(&deputy), id, json!({"action": "check_in"})).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "already_checked_in");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("无需重复签到")
    );
    // The check-in is in the deputy's duty record, once.
    let d1 = liaison_db::directory::deputy_by_code(&app.db, "JJ-D1")
        .await
        .unwrap()
        .unwrap();
    let (s, rec) = get(
        &app,
        &deputy,
        &format!("/api/v1/deputies/{}/duty-record", d1.id),
    )
    .await;
    assert_eq!(s, 200, "{rec}");
    let check_ins = rec["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "check_in" && e["source_id"] == json!(id))
        .count();
    assert_eq!(check_ins, 1, "{rec}");
    // Station staff cannot check in for a deputy; they mark attendance.
    let (s, e) = act(&app, Some(&station), id, json!({"action": "check_in"})).await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["error"]["code"], "not_permitted");

    // An opinion taken at the reception goes through proxy entry and into the station's loop.
    let clerk = app.login("station.hm").await;
    let page = clerk
        .get(app.url(&format!("/work/opinions/new?activity={id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("现场收集的意见"), "{page}");
    let token = csrf_from(&page).unwrap();
    let key = format!("act-{id}");
    let resp = clerk
        .post(app.url("/work/opinions/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("station_code", "JJ-HM"),
            ("channel", "reception"),
            ("name", "陈阿姨"),
            ("phone", "13911112222"),
            ("body", "3号楼加装电梯，低层住户有顾虑，希望街道组织协商。"),
            ("key", key.as_str()),
            ("activity", &id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, d) = get(&app, &station, &format!("/api/v1/activities/{id}")).await;
    let op = &d["opinions"][0];
    assert_eq!(op["state"], "submitted", "{d}");
    let oid = op["id"].as_i64().unwrap();
    let (_, list) = get(&app, &station, "/api/v1/opinions?state=submitted").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == oid),
        "in the station's inbox: {list}"
    );
    let (s, o) = get(&app, &station, &format!("/api/v1/opinions/{oid}")).await;
    assert_eq!(s, 200);
    assert_eq!(o["channel"], "reception");

    // Record, follow-up items, report.
    let (s, e) = act(&app, Some(&station), id, json!({"action": "record"})).await;
    assert_eq!(s, 422, "minutes are required: {e}");
    assert_eq!(e["error"]["code"], "refused");
    let (s, v) = act(
        &app,
        Some(&station),
        id,
        json!({"action": "record", "minutes": "接待群众12人次，收集意见3条。议定：街道牵头召开加装电梯协商会。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["activity"]["state"], "recorded");
    let (s, v) = act(
        &app,
        Some(&station),
        id,
        json!({"action": "add_follow_up", "content": "召开加装电梯协商会", "owner": "海门街道城建办", "due_on": "2030-01-31"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let item = v["activity"]["follow_ups"][0]["id"].as_i64().unwrap();
    let (s, e) = act(&app, Some(&station), id, json!({"action": "report"})).await;
    assert_eq!(s, 422, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("1项"));
    let (s, v) = act(
        &app,
        Some(&station),
        id,
        json!({"action": "track_follow_up"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["activity"]["state"], "follow_up");
    let (s, e) = act(
        &app,
        Some(&station),
        id,
        json!({"action": "complete_follow_up", "item_id": item}),
    )
    .await;
    assert_eq!(s, 422, "a note is required: {e}");
    let (s, _) = act(
        &app,
        Some(&station),
        id,
        json!({"action": "complete_follow_up", "item_id": item, "done_note": "已于1月20日召开协商会"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = act(&app, Some(&station), id, json!({"action": "report"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["activity"]["state"], "reported");
    let labels: Vec<&str> = v["activity"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        vec![
            "create",
            "announce",
            "start",
            "record",
            "track_follow_up",
            "report"
        ]
    );

    // Calendars and the deputy's feed.
    let html = app
        .client()
        .get(app.url("/stations/JJ-HM/activities"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("代表接待日：老旧小区加装电梯"));
    let html = app
        .client()
        .get(app.url("/regions/331002/activities"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("代表接待日：老旧小区加装电梯"));
    let r = app
        .client()
        .get(app.url("/deputies/JJ-D1/activities.ics"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let ics = r.text().await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
    assert!(ics.contains("BEGIN:VEVENT\r\n"));
    assert!(ics.contains(&format!("UID:activity-{id}@")));
    assert!(!ics.replace("\r\n", "").contains('\n'), "CRLF only");
    assert!(ics.lines().all(|l| l.len() <= 76), "folded at 75 octets");

    // Every step was audited and the chain holds.
    assert!(audit_count(&app, "activity", "sign_up").await >= 3);
    assert_eq!(audit_count(&app, "activity", "promote_signup").await, 1);
    assert_eq!(audit_count(&app, "activity", "check_in").await, 1);
    let check = liaison_db::audit::verify_chain(&app.db, &app.keys)
        .await
        .unwrap();
    assert!(check.first_broken.is_none());
}

async fn check_in_outside_the_window_is_refused(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = app.token("station.hm").await;
    let deputy = app.token("deputy.d1").await;
    let id = create(&app, &station, reception(Duration::days(3), None)).await;
    let (s, e) = act(&app, Some(&deputy), id, json!({"action": "check_in"})).await;
    assert_eq!(s, 409, "planned: {e}");
    assert_eq!(e["error"]["code"], "wrong_state");
    let (s, v) = act(&app, Some(&station), id, json!({"action": "announce"})).await;
    assert_eq!(s, 200);
    assert!(v["warning"].is_null(), "three days of notice: {v}");
    let (s, e) = act(&app, Some(&deputy), id, json!({"action": "check_in"})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "outside_window");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("签到尚未开始")
    );
    // Staff cannot start it early either, and nothing was stored.
    let (s, e) = act(&app, Some(&station), id, json!({"action": "start"})).await;
    assert_eq!(s, 422, "{e}");
    let (_, d) = get(&app, &station, &format!("/api/v1/activities/{id}")).await;
    assert_eq!(d["state"], "announced");
    assert!(d["attendees"].as_array().unwrap().is_empty());
    // The check-in page says so too.
    let c = app.login("deputy.d1").await;
    let html = c
        .get(app.url("/check-in/JJ-HM"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("现在没有可以签到的活动"), "{html}");
}

async fn an_activity_edited_after_it_happened_is_kept_as_a_correction(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = app.token("station.hm").await;
    // Before it happens, an edit is a plain (audited) edit.
    let later = create(&app, &station, reception(Duration::days(5), None)).await;
    let mut body = reception(Duration::days(5), None);
    body["place"] = json!("海门街道联络站二楼会议室");
    let (s, v) = call(
        &app,
        Some(&station),
        reqwest::Method::PATCH,
        &format!("/api/v1/activities/{later}"),
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["correction"], false);

    // Once it has started, a change needs a reason and is kept with before and after.
    let id = create(&app, &station, reception(Duration::minutes(20), None)).await;
    act(&app, Some(&station), id, json!({"action": "announce"})).await;
    let (s, v) = act(&app, Some(&station), id, json!({"action": "start"})).await;
    assert_eq!(s, 200, "{v}");
    let mut body = reception(Duration::minutes(20), None);
    body["place"] = json!("海门街道文化礼堂");
    let (s, e) = call(
        &app,
        Some(&station),
        reqwest::Method::PATCH,
        &format!("/api/v1/activities/{id}"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "reason");
    let (_, d) = get(&app, &station, &format!("/api/v1/activities/{id}")).await;
    assert_eq!(d["place"], "海门街道联络站一楼接待室", "nothing changed");
    body["reason"] = json!("接待室漏水，临时改到文化礼堂");
    body["version"] = d["version"].clone();
    let (s, v) = call(
        &app,
        Some(&station),
        reqwest::Method::PATCH,
        &format!("/api/v1/activities/{id}"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["correction"], true);
    let c = &v["activity"]["corrections"][0];
    assert_eq!(c["reason"], "接待室漏水，临时改到文化礼堂");
    assert_eq!(c["before"]["place"], "海门街道联络站一楼接待室");
    assert_eq!(c["after"]["place"], "海门街道文化礼堂");
    assert_eq!(audit_count(&app, "activity", "correct").await, 1);
    assert_eq!(audit_count(&app, "activity", "update").await, 1);
    // The same version again is stale.
    let (s, e) = call(
        &app,
        Some(&station),
        reqwest::Method::PATCH,
        &format!("/api/v1/activities/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "stale");
    // Photos are re-encoded without metadata; those of a held activity are public.
    let clerk = app.login("station.hm").await;
    let token = app.csrf(&clerk, &format!("/work/activities/{id}")).await;
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("caption", "群众排队反映问题")
            .part(
                "photos",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        clerk
            .post(app.url(&format!("/work/activities/{id}/photos")))
            .multipart(form)
            .send()
    };
    let r = upload(b"not a picture".to_vec(), "note.txt").await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("不是图片"));
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
        .unwrap();
    let r = upload(png, "scene.png").await.unwrap();
    assert_eq!(r.status(), 303);
    let (pid, caption) = liaison_db::activities::photos(&app.db, id).await.unwrap()[0].clone();
    assert_eq!(caption, "群众排队反映问题");
    let r = app
        .client()
        .get(app.url(&format!("/activities/photos/{pid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    // The workbench shows the correction.
    let html = clerk
        .get(app.url(&format!("/work/activities/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("更正记录") && html.contains("接待室漏水"),
        "{html}"
    );
}

async fn refusals_have_stable_codes_and_scope_is_enforced(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = app.token("station.hm").await;
    let deputy = app.token("deputy.d1").await;
    let other = app.token("county.hy").await;
    let county = app.token("county.jj").await;
    let unit = app.token("unit.jjzj").await;
    // A past activity (entered after the fact) cannot be announced, but can be recorded.
    let past = create(&app, &station, reception(-Duration::days(2), None)).await;
    let (s, e) = act(&app, Some(&station), past, json!({"action": "announce"})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "refused");
    let (s, e) = act(&app, Some(&station), past, json!({"action": "report"})).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "wrong_state");
    let (s, _) = act(
        &app,
        Some(&station),
        past,
        json!({"action": "record", "minutes": "补录：接待群众5人次。"}),
    )
    .await;
    assert_eq!(s, 200);
    // A deputy is not an organiser.
    let id = create(&app, &station, reception(Duration::days(4), None)).await;
    let (s, e) = act(&app, Some(&deputy), id, json!({"action": "announce"})).await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["error"]["code"], "not_permitted");
    // Another county sees nothing; the county above organises too.
    let (s, _) = get(&app, &other, &format!("/api/v1/activities/{id}")).await;
    assert_eq!(s, 404);
    let (s, v) = get(&app, &other, "/api/v1/activities").await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 0);
    let (s, v) = act(&app, Some(&county), id, json!({"action": "announce"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = get(&app, &county, "/api/v1/activities?state=announced").await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(1)), "{v}");
    // The invited deputy sees it in their list; a unit not invited does not.
    let (_, v) = get(&app, &deputy, "/api/v1/activities").await;
    assert!(v["total"].as_i64().unwrap() >= 1);
    let (_, v) = get(&app, &unit, "/api/v1/activities").await;
    assert_eq!(v["total"], 0);
    // Creating for a station outside the scope is refused at the field.
    let mut body = reception(Duration::days(4), None);
    body["station_code"] = json!("HY-DC");
    let (s, e) = post(&app, Some(&station), "/api/v1/activities", body).await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["fields"][0]["field"], "station_code");
    // The deputy declines and names a substitute, who is invited in their place.
    let (s, e) = act(
        &app,
        Some(&deputy),
        id,
        json!({"action": "reply_invitation", "reply": "declined", "substitute_code": "JJ-D1"}),
    )
    .await;
    assert_eq!(s, 422, "not oneself: {e}");
    let (s, v) = act(
        &app,
        Some(&deputy),
        id,
        json!({"action": "reply_invitation", "reply": "declined", "note": "外出学习", "substitute_code": "JJ-D2"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let invitees = v["activity"]["invitees"].as_array().unwrap();
    assert_eq!(invitees[0]["reply"], "declined");
    assert_eq!(invitees[1]["deputy_code"], "JJ-D2");
    assert_eq!(invitees[1]["substitute_for"], "张海门");
    // Cancelling needs a reason; the public page then says it is cancelled.
    let (s, e) = act(&app, Some(&station), id, json!({"action": "cancel"})).await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = act(
        &app,
        Some(&station),
        id,
        json!({"action": "cancel", "reason": "台风预警，改期举行"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, e) = act(
        &app,
        None,
        id,
        json!({"action": "signup", "name": "王", "phone": "13812345678"}),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(e["error"]["code"], "signup_closed");
    // Without a token only the public steps exist.
    let (s, _) = act(&app, None, id, json!({"action": "announce"})).await;
    assert_eq!(s, 401);
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
    for p in [
        "/api/v1/activities",
        "/api/v1/activities/{id}/actions",
        "/api/v1/deliberations/{id}/actions",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} in OpenAPI");
    }
}

async fn plans_are_kept_by_the_station_and_read_above_it(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let year = OffsetDateTime::now_utc().year();
    let clerk = app.login("station.hm").await;
    let token = app.csrf(&clerk, "/work/activity-plans").await;
    let r = clerk
        .post(app.url("/work/activity-plans"))
        .form(&[
            ("_csrf", token.as_str()),
            ("year", &year.to_string()),
            ("title", &format!("海门街道联络站{year}年度活动计划")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let plan_path = r.headers()["location"].to_str().unwrap().to_owned();
    let plan_id: i64 = plan_path.rsplit('/').next().unwrap().parse().unwrap();
    let r = clerk
        .post(app.url(&format!("{plan_path}/items")))
        .form(&[
            ("_csrf", token.as_str()),
            ("month", "6"),
            ("kind", "director_face_to_face"),
            ("theme", "住建局长与代表群众面对面"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // An empty theme is refused with the input kept.
    let r = clerk
        .post(app.url(&format!("{plan_path}/items")))
        .form(&[
            ("_csrf", token.as_str()),
            ("month", "7"),
            ("kind", "themed"),
            ("theme", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // A second plan for the same year is refused.
    let r = clerk
        .post(app.url("/work/activity-plans"))
        .form(&[
            ("_csrf", token.as_str()),
            ("year", &year.to_string()),
            ("title", "重复"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("已存在"));

    // An activity carries the item out.
    let item = liaison_db::activities::plan_items(&app.db, plan_id)
        .await
        .unwrap()[0]
        .id;
    let station = app.token("station.hm").await;
    let mut body = reception(-Duration::days(1), None);
    body["plan_item_id"] = json!(item);
    let id = create(&app, &station, body).await;
    let (s, _) = act(
        &app,
        Some(&station),
        id,
        json!({"action": "record", "minutes": "局长现场答复群众问题8个。"}),
    )
    .await;
    assert_eq!(s, 200);

    // The township reads the plan against what happened, but cannot change it.
    let town = app.login("town.hm").await;
    let html = town
        .get(app.url(&plan_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("住建局长与代表群众面对面"), "{html}");
    assert!(html.contains("已安排"), "planned item carried out: {html}");
    assert!(html.contains("只读"));
    let t = app.csrf(&town, &plan_path).await;
    let r = town
        .post(app.url(&format!("{plan_path}/items")))
        .form(&[
            ("_csrf", t.as_str()),
            ("month", "8"),
            ("kind", "themed"),
            ("theme", "乡镇加的"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let html = town
        .get(app.url(&format!("/work/activity-plans?year={year}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("100%"),
        "one of one planned items carried out: {html}"
    );
    // Another county does not see it.
    let other = app.login("county.hy").await;
    let r = other.get(app.url(&plan_path)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn public_sign_up_works_on_a_page_without_an_account(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = app.token("station.hm").await;
    let id = create(&app, &station, reception(Duration::days(3), Some(1))).await;
    let citizen = app.client();
    let r = citizen
        .get(app.url(&format!("/activities/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a planned activity is not public");
    act(&app, Some(&station), id, json!({"action": "announce"})).await;
    let page = app.csrf(&citizen, &format!("/activities/{id}")).await;
    let r = citizen
        .post(app.url(&format!("/activities/{id}")))
        .form(&[
            ("_csrf", page.as_str()),
            ("name", "周<b>华</b>"),
            ("phone", "1381234"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("11位"), "{html}");
    assert!(
        html.contains("周&#60;b&#62;华") || html.contains("周&lt;b&gt;华"),
        "input kept, escaped"
    );
    let r = citizen
        .post(app.url(&format!("/activities/{id}")))
        .form(&[
            ("_csrf", page.as_str()),
            ("name", "周华"),
            ("phone", "13812345601"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("报名成功"), "{html}");
    let r = citizen
        .post(app.url(&format!("/activities/{id}")))
        .form(&[
            ("_csrf", page.as_str()),
            ("name", "吴敏"),
            ("phone", "13812345602"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("候补名单第1位"));
    // Without the CSRF token nothing is stored.
    let r = citizen
        .post(app.url(&format!("/activities/{id}")))
        .form(&[("name", "无令牌"), ("phone", "13812345603")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (confirmed, waiting) = liaison_db::activities::signup_counts(&app.db, id)
        .await
        .unwrap();
    assert_eq!((confirmed, waiting), (1, 1));
}

async fn deliberations_close_when_their_measures_are_done(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = app.token("station.hm").await;
    let (s, v) = post(
        &app,
        Some(&station),
        "/api/v1/deliberations",
        json!({"station_code": "JJ-HM", "kind": "law_enforcement_check", "title": "《物业管理条例》执法检查",
               "background": "群众反映小区物业收费不透明。", "held_on": "2026-05-20"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["supervision"], true);
    let id = v["id"].as_i64().unwrap();
    let path = format!("/api/v1/deliberations/{id}/actions");
    let (s, v) = post(
        &app,
        Some(&station),
        &path,
        json!({"action": "add_participant", "kind": "deputy", "deputy_code": "JJ-D1"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &app,
        Some(&station),
        &path,
        json!({"action": "add_participant", "kind": "citizen", "name": "钱多多"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["participants"][1]["name"], "钱**",
        "a citizen's name is masked"
    );
    let speaker = v["participants"][0]["id"].as_i64().unwrap();
    let (s, v) = post(
        &app,
        Some(&station),
        &path,
        json!({"action": "add_view", "participant_id": speaker, "content": "建议公示物业收支。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["views"][0]["speaker"], "张海门");
    let (s, e) = post(&app, Some(&station), &path, json!({"action": "conclude"})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "refused");
    let (s, e) = post(&app, Some(&station), &path, json!({"action": "close"})).await;
    assert_eq!(s, 409);
    assert_eq!(e["error"]["code"], "wrong_state");
    let (s, v) = post(
        &app,
        Some(&station),
        &path,
        json!({"action": "conclude", "outcome": "物业每季度公示收支，街道督促落实。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "concluded");
    let (s, v) = post(&app, Some(&station), &path, json!({"action": "add_measure", "content": "物业公示收支", "owner": "海门街道物业办", "due_on": "2030-03-31"})).await;
    assert_eq!(s, 200, "{v}");
    let m = v["measures"][0]["id"].as_i64().unwrap();
    let (s, e) = post(&app, Some(&station), &path, json!({"action": "close"})).await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = post(
        &app,
        Some(&station),
        &path,
        json!({"action": "complete_measure", "item_id": m, "done_note": "已在小区公告栏公示"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = post(&app, Some(&station), &path, json!({"action": "close"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "closed");
    let (s, e) = post(
        &app,
        Some(&station),
        &path,
        json!({"action": "add_view", "content": "补充"}),
    )
    .await;
    assert_eq!(s, 409, "closed: {e}");
    // Lists filter supervision items; the deputy taking part sees it, another county does not.
    let (_, l) = get(&app, &station, "/api/v1/deliberations?supervision=true").await;
    assert_eq!(l["total"], 1);
    let (_, l) = get(&app, &station, "/api/v1/deliberations?supervision=false").await;
    assert_eq!(l["total"], 0);
    let deputy = app.token("deputy.d1").await;
    let (s, _) = get(&app, &deputy, &format!("/api/v1/deliberations/{id}")).await;
    assert_eq!(s, 200);
    let (s, e) = post(&app, Some(&deputy), &path, json!({"action": "reopen"})).await;
    assert_eq!(s, 409, "closed first: {e}");
    let other = app.token("county.hy").await;
    let (s, _) = get(&app, &other, &format!("/api/v1/deliberations/{id}")).await;
    assert_eq!(s, 404);
    assert!(audit_count(&app, "deliberation", "close").await == 1);
}

async fn questions_are_moderated_and_answered_within_the_window(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let today = liaison_core::activity::china_date(OffsetDateTime::now_utc());
    let unit_id = app.unit_id("JJ-ZJ").await;
    // The station opens a window for the district housing bureau.
    let clerk = app.login("station.hm").await;
    let t = app.csrf(&clerk, "/work/questions").await;
    let r = clerk
        .post(app.url("/work/questions"))
        .form(&[
            ("_csrf", t.as_str()),
            ("station_code", "JJ-HM"),
            ("unit_id", &unit_id.to_string()),
            ("title", "住建局长云问政：老旧小区改造"),
            ("opens_on", &today.to_string()),
            ("closes_on", &(today + Duration::days(7)).to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let window = r.headers()["location"].to_str().unwrap().to_owned();
    let wid: i64 = window.rsplit('/').next().unwrap().parse().unwrap();
    // The city keeps the sensitive-word list.
    let city = app.login("city").await;
    let t = app.csrf(&city, "/work/sensitive-words").await;
    let r = city
        .post(app.url("/work/sensitive-words"))
        .form(&[("_csrf", t.as_str()), ("op", "add"), ("word", "博彩")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(audit_count(&app, "sensitive_word", "add").await, 1);

    // Citizens ask (no account, CSRF); a question with a listed word is held back.
    let citizen = app.client();
    let t = app.csrf(&citizen, &format!("/ask/{wid}")).await;
    let ask = |body: &'static str, phone: &'static str| {
        let c = citizen.clone();
        let t = t.clone();
        let url = app.url(&format!("/ask/{wid}"));
        async move {
            c.post(url)
                .form(&[
                    ("_csrf", t.as_str()),
                    ("body", body),
                    ("name", "孙立"),
                    ("phone", phone),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = ask(
        "小区<script>alert(1)</script>加装电梯什么时候开工？",
        "13812345611",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("提问已发布"));
    let r = ask("小区里有人搞博彩，能管吗？", "13812345612").await;
    assert!(r.text().await.unwrap().contains("审核后公开"));
    let public = || async {
        app.client()
            .get(app.url(&format!("/ask/{wid}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let html = public().await;
    assert!(html.contains("加装电梯什么时候开工"));
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "public text is escaped"
    );
    assert!(!html.contains("搞博彩"), "held for moderation");
    assert!(html.contains("孙*"), "masked asker");
    let qs = liaison_db::deliberations::questions(&app.db, wid, true)
        .await
        .unwrap();
    let held = qs.iter().find(|q| q.hidden).unwrap().id;
    let open = qs.iter().find(|q| !q.hidden).unwrap().id;
    assert_eq!(qs.iter().find(|q| q.hidden).unwrap().flagged_words, "博彩");

    // Staff restore it (it is a real concern) and hide nothing without a reason.
    let t = app.csrf(&clerk, &window).await;
    let r = clerk
        .post(app.url(&format!("{window}/items/{open}/moderate")))
        .form(&[("_csrf", t.as_str()), ("hide", "1"), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = clerk
        .post(app.url(&format!("{window}/items/{held}/moderate")))
        .form(&[("_csrf", t.as_str()), ("hide", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(public().await.contains("搞博彩"));
    assert_eq!(audit_count(&app, "question", "restore").await, 1);

    // The unit answers publicly; the station cannot answer for it.
    let officer = app.login("unit.jjzj").await;
    let t = app.csrf(&officer, &window).await;
    let r = officer
        .post(app.url(&format!("{window}/items/{open}/answer")))
        .form(&[
            ("_csrf", t.as_str()),
            ("answer", "计划下月开工，施工前张贴公告。"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(public().await.contains("计划下月开工"));
    let t = app.csrf(&clerk, &window).await;
    let r = clerk
        .post(app.url(&format!("{window}/items/{held}/answer")))
        .form(&[("_csrf", t.as_str()), ("answer", "代答")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // A window that has closed takes no questions and no answers.
    let station_id = liaison_db::directory::station_by_code(&app.db, "JJ-HM")
        .await
        .unwrap()
        .unwrap()
        .id;
    let old = liaison_db::deliberations::create_window(
        &app.db,
        &app.keys,
        &liaison_db::audit::Actor::system("test"),
        &liaison_db::deliberations::NewWindow {
            station_id,
            unit_id,
            title: "上月问政".into(),
            description: String::new(),
            opens_on: today - Duration::days(20),
            closes_on: today - Duration::days(1),
        },
    )
    .await
    .unwrap();
    // The closed window shows no form; the visitor's token from before still applies.
    let t = app.csrf(&citizen, &format!("/ask/{wid}")).await;
    let r = citizen
        .post(app.url(&format!("/ask/{old}")))
        .form(&[
            ("_csrf", t.as_str()),
            ("body", "还能问吗？"),
            ("name", "孙立"),
            ("phone", "13812345613"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("现在不能提问"));
    let p = liaison_db::users::find_by_username(&app.db, "unit.jjzj")
        .await
        .unwrap()
        .unwrap()
        .principal();
    let late = liaison_db::deliberations::answer(
        &app.db,
        &app.keys,
        &liaison_db::audit::Actor::system("test"),
        &p,
        held,
        "迟到的答复",
        today + Duration::days(8),
    )
    .await;
    assert!(
        matches!(late, Err(liaison_db::activities::ActError::Rule(ref r)) if r.code() == "wrong_state"),
        "{late:?}"
    );
}

async fn delete(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    call(app, Some(token), reqwest::Method::DELETE, path, None).await
}

fn field_names(v: &Value) -> Vec<&str> {
    v["error"]["fields"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default()
}

async fn plans_over_the_api_are_kept_by_the_station_and_scoped(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let year = OffsetDateTime::now_utc().year();
    let station = app.token("station.hm").await;
    let town = app.token("town.hm").await;
    let other_county = app.token("county.hy").await;
    let deputy = app.token("deputy.d1").await;

    // Validation with the page's messages; only station staff make plans.
    let (s, e) = post(
        &app,
        Some(&station),
        "/api/v1/activities/plans",
        json!({"year": 1999, "title": ""}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "validation_failed");
    assert_eq!(field_names(&e), ["year", "title"]);
    assert!(e["error"]["message"].as_str().unwrap().contains("四位年份"));
    let body = json!({"year": year, "title": format!("海门街道联络站{year}年度活动计划")});
    let (s, e) = post(&app, Some(&town), "/api/v1/activities/plans", body.clone()).await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = post(&app, None, "/api/v1/activities/plans", body.clone()).await;
    assert_eq!(s, 401, "{e}");
    let (s, p) = post(
        &app,
        Some(&station),
        "/api/v1/activities/plans",
        body.clone(),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["can_edit"], true);
    assert_eq!(p["months"].as_array().unwrap().len(), 12);
    assert_eq!(p["station_code"], "JJ-HM");
    let plan_id = p["id"].as_i64().unwrap();
    let (s, e) = post(&app, Some(&station), "/api/v1/activities/plans", body).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "plan_exists");
    assert!(e["error"]["message"].as_str().unwrap().contains("已存在"));
    assert_eq!(audit_count(&app, "activity_plan", "create").await, 1);

    // Items by month; a bad one names every field.
    let items = format!("/api/v1/activities/plans/{plan_id}/items");
    let (s, e) = post(
        &app,
        Some(&station),
        &items,
        json!({"month": 13, "kind": "party", "theme": ""}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(field_names(&e), ["month", "kind", "theme"]);
    let (s, p) = post(
        &app,
        Some(&station),
        &items,
        json!({"month": 6, "kind": "director_face_to_face", "theme": "住建局长与代表群众面对面"}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let june = p["months"][5]["items"][0].clone();
    assert_eq!(june["kind_label"], "局长代表面对面");
    let used_item = june["id"].as_i64().unwrap();
    let (s, p) = post(
        &app,
        Some(&station),
        &items,
        json!({"month": 7, "kind": "themed", "theme": "垃圾分类专题调研", "note": "视情况调整"}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let spare_item = p["months"][6]["items"][0]["id"].as_i64().unwrap();
    assert_eq!(p["planned"], 2);

    // An activity carries the June item out; the plan shows it against the item.
    let mut body = reception(-Duration::days(1), None);
    body["plan_item_id"] = json!(used_item);
    let aid = create(&app, &station, body).await;
    let (s, _) = act(
        &app,
        Some(&station),
        aid,
        json!({"action": "record", "minutes": "局长现场答复群众问题8个。"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, p) = get(
        &app,
        &station,
        &format!("/api/v1/activities/plans/{plan_id}"),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["carried_out"], 1);
    let carried: Vec<i64> = p["months"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["items"].as_array().unwrap().iter())
        .filter(|i| i["id"] == used_item)
        .flat_map(|i| i["activities"].as_array().unwrap().iter())
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(carried, [aid]);

    // A used item stays; an unused one goes (audited).
    let (s, e) = delete(&app, &station, &format!("{items}/{used_item}")).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "item_in_use");
    let (s, p) = delete(&app, &station, &format!("{items}/{spare_item}")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["planned"], 1);
    assert_eq!(audit_count(&app, "activity_plan", "remove_item").await, 1);
    let (s, _) = delete(&app, &station, &format!("{items}/{spare_item}")).await;
    assert_eq!(s, 404);

    // The township reads, cannot change; another county sees nothing; deputies have no plans.
    let (s, l) = get(
        &app,
        &town,
        &format!("/api/v1/activities/plans?year={year}"),
    )
    .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["total"], 1);
    assert_eq!(l["total_capped"], false);
    assert!(l["next"].is_null());
    assert_eq!(l["items"][0]["id"], plan_id);
    let (s, p) = get(&app, &town, &format!("/api/v1/activities/plans/{plan_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(p["can_edit"], false);
    let (s, e) = post(
        &app,
        Some(&town),
        &items,
        json!({"month": 8, "kind": "themed", "theme": "乡镇代改"}),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["error"]["code"], "not_permitted");
    let (s, l) = get(&app, &other_county, "/api/v1/activities/plans").await;
    assert_eq!((s, l["total"].as_i64()), (200, Some(0)), "{l}");
    let (s, _) = get(
        &app,
        &other_county,
        &format!("/api/v1/activities/plans/{plan_id}"),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = delete(&app, &other_county, &format!("{items}/{used_item}")).await;
    assert_eq!(s, 404);
    let (s, _) = get(&app, &deputy, "/api/v1/activities/plans").await;
    assert_eq!(s, 403);
    let (s, l) = get(&app, &station, "/api/v1/activities/plans?year=2001").await;
    assert_eq!((s, l["total"].as_i64()), (200, Some(0)));
    let (s, e) = get(&app, &station, "/api/v1/activities/plans?after=x").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
}

async fn question_windows_over_the_api_are_moderated_and_answered(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let today = liaison_core::activity::china_date(OffsetDateTime::now_utc());
    let unit_id = app.unit_id("JJ-ZJ").await;
    let station_id = liaison_db::directory::station_by_code(&app.db, "JJ-HM")
        .await
        .unwrap()
        .unwrap()
        .id;
    let system = liaison_db::audit::Actor::system("test");
    let window = |title: &str, opens: i64, closes: i64| liaison_db::deliberations::NewWindow {
        station_id,
        unit_id,
        title: title.into(),
        description: "老旧小区改造有关问题".into(),
        opens_on: today + Duration::days(opens),
        closes_on: today + Duration::days(closes),
    };
    let wid = liaison_db::deliberations::create_window(
        &app.db,
        &app.keys,
        &system,
        &window("住建局长云问政", 0, 7),
    )
    .await
    .unwrap();
    let old = liaison_db::deliberations::create_window(
        &app.db,
        &app.keys,
        &system,
        &window("上月问政", -20, -1),
    )
    .await
    .unwrap();
    let later = liaison_db::deliberations::create_window(
        &app.db,
        &app.keys,
        &system,
        &window("下月问政", 10, 20),
    )
    .await
    .unwrap();
    liaison_db::deliberations::set_sensitive_word(&app.db, &app.keys, &system, "博彩", true)
        .await
        .unwrap();

    // The public lists open and recent windows without a token; staff and the unit theirs.
    let (s, l) = call(
        &app,
        None,
        reqwest::Method::GET,
        "/api/v1/deliberations/windows",
        None,
    )
    .await;
    assert_eq!(s, 200, "{l}");
    let ids: Vec<i64> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&wid) && ids.contains(&old) && !ids.contains(&later));
    assert_eq!(
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == wid)
            .unwrap()["open"],
        true
    );
    let station = app.token("station.hm").await;
    let unit = app.token("unit.jjzj").await;
    let other_county = app.token("county.hy").await;
    let (_, l) = get(&app, &station, "/api/v1/deliberations/windows").await;
    assert_eq!(l["total"], 3, "{l}");
    let (_, l) = get(&app, &unit, "/api/v1/deliberations/windows").await;
    assert_eq!(l["total"], 3, "{l}");
    let (s, l) = get(&app, &other_county, "/api/v1/deliberations/windows").await;
    assert_eq!((s, l["total"].as_i64()), (200, Some(0)), "{l}");
    let path = format!("/api/v1/deliberations/windows/{wid}");
    let (s, _) = get(&app, &other_county, &path).await;
    assert_eq!(s, 404);
    let (s, d) = get(&app, &station, &path).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["can_moderate"].as_bool(), d["can_answer"].as_bool()),
        (Some(true), Some(false))
    );
    let (_, d) = get(&app, &unit, &path).await;
    assert_eq!(
        (d["can_moderate"].as_bool(), d["can_answer"].as_bool()),
        (Some(false), Some(true))
    );

    // Asking: the page's validation messages; a listed word holds the question back.
    let ask_path = format!("{path}/questions");
    let (s, e) = post(
        &app,
        None,
        &ask_path,
        json!({"body": "", "name": "", "phone": "123"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(field_names(&e), ["body", "name", "phone"]);
    assert!(e["error"]["message"].as_str().unwrap().contains("提问内容"));
    let (s, q) = post(
        &app,
        None,
        &ask_path,
        json!({"body": "小区加装电梯什么时候开工？我的电话13812345611", "name": "孙立", "phone": "13812345611"}),
    )
    .await;
    assert_eq!(s, 201, "{q}");
    assert_eq!(q["held"], false);
    let open_q = q["id"].as_i64().unwrap();
    let (s, q) = post(
        &app,
        None,
        &ask_path,
        json!({"body": "小区里有人搞博彩，能管吗？", "name": "孙立", "phone": "13812345612"}),
    )
    .await;
    assert_eq!(s, 201, "{q}");
    assert_eq!(q["held"], true);
    assert!(q["message"].as_str().unwrap().contains("审核后公开"));
    let held_q = q["id"].as_i64().unwrap();
    assert_eq!(
        audit_count(&app, "question_window", "post_question").await,
        2
    );
    let (s, e) = post(
        &app,
        None,
        &format!("/api/v1/deliberations/windows/{old}/questions"),
        json!({"body": "还能问吗？", "name": "孙立", "phone": "13812345613"}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "window_closed");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("现在不能提问")
    );
    let (s, _) = post(
        &app,
        None,
        &format!("/api/v1/deliberations/windows/{later}/questions"),
        json!({"body": "提前问", "name": "孙立", "phone": "13812345614"}),
    )
    .await;
    assert_eq!(s, 404, "not yet opened");
    let public = || async {
        call(&app, None, reqwest::Method::GET, &ask_path, None)
            .await
            .1
    };
    let l = public().await;
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(l["items"][0]["asker"], "孙*");
    assert!(l["items"][0].get("phone").is_none());
    // A number typed into the text is masked wherever the public reads it.
    assert_eq!(
        l["items"][0]["body"], "小区加装电梯什么时候开工？我的电话138******11",
        "{l}"
    );
    let page = app
        .client()
        .get(app.url(&format!("/ask/{wid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("我的电话138******11") && !page.contains("13812345611"));

    // Moderation: a reason is required to hide; staff restore; the unit cannot moderate.
    let actions = |qid: i64| format!("{ask_path}/{qid}/actions");
    let (s, e) = post(
        &app,
        Some(&station),
        &actions(open_q),
        json!({"action": "hide"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("须说明原因")
    );
    let (s, e) = post(
        &app,
        Some(&unit),
        &actions(held_q),
        json!({"action": "restore"}),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = post(
        &app,
        Some(&other_county),
        &actions(held_q),
        json!({"action": "restore"}),
    )
    .await;
    assert_eq!(s, 404, "{e}");
    let (s, d) = post(
        &app,
        Some(&station),
        &actions(held_q),
        json!({"action": "restore"}),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(audit_count(&app, "question", "restore").await, 1);
    let (s, e) = post(
        &app,
        Some(&station),
        &actions(held_q),
        json!({"action": "restore"}),
    )
    .await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("wrong_state")));
    assert_eq!(public().await["total"], 2);
    let (s, _) = post(
        &app,
        Some(&station),
        &actions(held_q),
        json!({"action": "hide", "reason": "与主题无关"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(audit_count(&app, "question", "hide").await, 1);
    assert_eq!(public().await["total"], 1);

    // Answers: the unit only, not empty, not on a hidden question.
    let (s, e) = post(
        &app,
        Some(&station),
        &actions(open_q),
        json!({"action": "answer", "answer": "代答"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("not_permitted")),
        "{e}"
    );
    let (s, e) = post(
        &app,
        Some(&unit),
        &actions(open_q),
        json!({"action": "answer", "answer": " "}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = post(
        &app,
        Some(&unit),
        &actions(held_q),
        json!({"action": "answer", "answer": "答复"}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    let (s, d) = post(
        &app,
        Some(&unit),
        &actions(open_q),
        json!({"action": "answer", "answer": "计划下月开工，施工前张贴公告。"}),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(audit_count(&app, "question", "answer").await, 1);
    let l = public().await;
    assert_eq!(l["items"][0]["answer"], "计划下月开工，施工前张贴公告。");
    assert!(l["items"][0]["answered_at"].is_string());
    let (s, e) = post(
        &app,
        Some(&unit),
        &actions(open_q),
        json!({"action": "delete"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("validation_failed"))
    );
    // A question of another window is not found under this one.
    let (s, _) = post(
        &app,
        Some(&station),
        &format!("/api/v1/deliberations/windows/{old}/questions/{open_q}/actions"),
        json!({"action": "restore"}),
    )
    .await;
    assert_eq!(s, 404);

    // Asking is rate limited per address like the other public writes.
    let mut limited = false;
    for _ in 0..40 {
        let (s, e) = post(&app, None, &ask_path, json!({})).await;
        if s == 429 {
            assert_eq!(e["error"]["code"], "rate_limited");
            limited = true;
            break;
        }
    }
    assert!(limited, "public questions are rate limited");
}

async fn a_citizen_promoted_from_the_waiting_list_gets_an_sms(b: Backend) {
    use liaison_web::notify::{RecordingSms, Senders, deliver_due};
    use std::sync::Arc;
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = app.token("station.hm").await;
    let id = create(&app, &station, reception(Duration::days(3), Some(1))).await;
    let (s, v) = act(&app, Some(&station), id, json!({"action": "announce"})).await;
    assert_eq!(s, 200, "{v}");
    let signup =
        |name: &str, phone: &str| json!({"action": "signup", "name": name, "phone": phone});
    let (s, a) = act(&app, None, id, signup("王小明", "13812340001")).await;
    assert_eq!(s, 201, "{a}");
    let first_no = a["signup"]["signup_no"].as_str().unwrap().to_owned();
    let (s, c) = act(&app, None, id, signup("赵强", "13812340003")).await;
    assert_eq!(s, 202, "{c}");
    let waiting_no = c["signup"]["signup_no"].as_str().unwrap().to_owned();

    let sms = Arc::new(RecordingSms::default());
    let senders = Senders {
        sms: sms.clone(),
        webhook: None,
    };
    deliver_due(&app.state, &senders).await;
    assert!(
        sms.sent.lock().unwrap().is_empty(),
        "no SMS before a promotion"
    );

    let (s, v) = act(
        &app,
        None,
        id,
        json!({"action": "cancel_signup", "signup_no": first_no, "phone_last4": "0001"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["promoted"], json!([waiting_no]));
    // Queued with the promotion, addressed to the sign-up (the outbox holds no number).
    let queued = liaison_db::sql::Sql::new(
        "SELECT COUNT(*) FROM notification WHERE channel = 'sms' AND template = 'activity.promoted' \
         AND recipient LIKE 'signup:%' AND payload NOT LIKE '%1381234%'",
    )
    .fetch_count(&app.db)
    .await
    .unwrap();
    assert_eq!(queued, 1);
    assert!(deliver_due(&app.state, &senders).await > 0);
    let sent = sms.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (phone, text) = &sent[0];
    assert_eq!(
        phone, "13812340003",
        "the promoted citizen, not the one who cancelled"
    );
    let start = liaison_core::activity::local_minute(
        liaison_db::activities::get(&app.db, id)
            .await
            .unwrap()
            .starts_at,
    );
    assert!(text.contains("代表接待日：老旧小区加装电梯"), "{text}");
    assert!(text.contains(&start), "{text}");
    assert!(
        text.contains(&waiting_no) && text.contains("递补"),
        "{text}"
    );
    assert_eq!(deliver_due(&app.state, &senders).await, 0, "each SMS once");
}
