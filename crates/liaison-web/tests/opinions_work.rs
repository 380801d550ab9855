//! The opinion workbench over HTTP: inbox tabs, the action forms from intake to an approved
//! reply, refusals, bulk acceptance, the ledger, proxy entry, revealing the submitter and photos,
//! on SQLite and on PostgreSQL (`TEST_DATABASE_URL`).

#[path = "support/mod.rs"]
mod support;

use liaison_db::Backend;
use liaison_db::opinions;
use serde_json::{Value, json};
use support::{TestApp, csrf_from};

backend_tests!(
    an_opinion_goes_from_intake_to_an_approved_reply_through_the_forms,
    a_stale_version_is_refused_with_the_chinese_message,
    a_refused_action_keeps_what_was_typed_next_to_the_field,
    bulk_acceptance_reports_each_item,
    the_ledger_downloads_reads_back_and_is_audited,
    proxy_entry_creates_an_item_with_its_channel,
    a_deputy_enters_with_their_own_code_and_sees_it_as_theirs,
    revealing_the_submitter_is_audited,
    photos_are_served_only_to_those_who_may_see_the_item,
    administrators_and_citizens_are_refused_the_opinion_workbench,
    supervisors_get_the_supervision_centre,
    a_grid_worker_records_for_their_station_and_sees_only_their_own,
    the_workbench_shows_each_users_to_do_counts,
    proxy_entry_takes_photos_and_keeps_the_text_when_one_is_refused,
    a_follow_up_goes_from_the_tracking_page_to_the_station_and_back,
);

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

/// The value of the first hidden field `name`.
fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let i = html.find(&pat).unwrap_or_else(|| panic!("no {name} field")) + pat.len();
    html[i..i + html[i..].find('"').unwrap()].to_owned()
}

/// The tracking number on a receipt.
fn tracking_no(html: &str) -> String {
    let pat = "class=\"tracking\">";
    let i = html.find(pat).expect("a tracking number") + pat.len();
    html[i..i + html[i..].find('<').unwrap()].to_owned()
}

/// Submits an opinion to station JJ-HM through the public API.
async fn submit(app: &TestApp, body: &str, phone: &str) -> (i64, String) {
    submit_json(
        app,
        json!({"station_code": "JJ-HM", "body": body, "name": "李群众", "phone": phone}),
    )
    .await
}

async fn submit_json(app: &TestApp, v: Value) -> (i64, String) {
    let r = app
        .client()
        .post(app.url("/api/v1/opinions"))
        .json(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "opinion accepted by the API");
    let v: Value = r.json().await.unwrap();
    (
        v["id"].as_i64().unwrap(),
        v["tracking_no"].as_str().unwrap().to_owned(),
    )
}

/// Posts an action form of item `id` with the version the page shows now.
async fn act(
    app: &TestApp,
    c: &reqwest::Client,
    id: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = text(
        c.get(app.url(&format!("/work/opinions/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = csrf_from(&page).unwrap_or_else(|| panic!("no form on the item page: {page}"));
    let version = hidden(&page, "version");
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &token), ("version", &version)];
    form.extend_from_slice(fields);
    c.post(app.url(&format!("/work/opinions/{id}/act")))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn state_of(app: &TestApp, id: i64) -> String {
    opinions::get(&app.db, id).await.unwrap().state
}

async fn an_opinion_goes_from_intake_to_an_approved_reply_through_the_forms(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, no) = submit(
        &app,
        "东山路的路灯坏了一个月，晚上很黑，请尽快修理。",
        "13911110001",
    )
    .await;

    // The city gives 城乡建设 a reply deadline of 10 working days: the assign form offers it.
    {
        let mut rules = app.state.rules.write().await;
        let mut row = rules.sla.opinion[liaison_core::sla::DEFAULT_CATEGORY].clone();
        row.normal.reply = liaison_core::sla::Span::WorkingDays(10);
        rules.sla.opinion.insert("城乡建设".into(), row);
    }
    let ten_wd = {
        let rules = app.state.rules.read().await;
        rules
            .calendar
            .add_working_days(opinions::today(), 10)
            .to_string()
    };
    let station = app.login("station.hm").await;
    let home = text(station.get(app.url("/work")).send().await.unwrap()).await;
    assert!(
        home.contains("href=\"/work/opinions\""),
        "the module is in the navigation"
    );
    let inbox = text(station.get(app.url("/work/opinions")).send().await.unwrap()).await;
    assert!(inbox.contains(&no), "the new item is listed");
    assert!(
        inbox.contains("待受理 <span class=\"count\">1</span>"),
        "with its count"
    );
    assert!(inbox.contains("light-"), "with a traffic light");

    let r = act(
        &app,
        &station,
        id,
        &[("action", "accept"), ("category", "城乡建设")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/work/opinions/{id}?notice=accept"));
    let page = text(station.get(app.url(&location(&r))).send().await.unwrap()).await;
    assert!(page.contains("已受理。"));
    assert!(
        page.contains("椒江区住房和城乡建设局"),
        "the assign form lists the county bureau"
    );
    assert!(
        page.contains(&format!("value=\"{ten_wd}\"")),
        "the category's own deadline is offered ({ten_wd})"
    );
    let inbox = text(
        station
            .get(app.url("/work/opinions?tab=to_assign"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(inbox.contains(&no) && inbox.contains("待分办 <span class=\"count\">1</span>"));

    let jjzj = app.unit_id("JJ-ZJ").await.to_string();
    let r = act(
        &app,
        &station,
        id,
        &[("action", "assign"), ("unit_id", &jjzj)],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = text(station.get(app.url(&location(&r))).send().await.unwrap()).await;
    assert!(page.contains("已交办"));
    assert_eq!(state_of(&app, id).await, "assigned");

    let unit = app.login("unit.jjzj").await;
    let inbox = text(unit.get(app.url("/work/opinions")).send().await.unwrap()).await;
    assert!(inbox.contains("待签收 <span class=\"count\">1</span>") && inbox.contains(&no));
    let r = act(&app, &unit, id, &[("action", "acknowledge")]).await;
    assert_eq!(r.status(), 303);
    let r = act(
        &app,
        &unit,
        id,
        &[
            ("action", "reply"),
            ("content", "已安排维修，路灯已于本周修复。"),
            ("resolution_grade", "A"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(state_of(&app, id).await, "replied");
    let inbox = text(
        unit.get(app.url("/work/opinions?tab=replied"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(inbox.contains(&no), "the unit finds it under 已答复");

    let inbox = text(
        station
            .get(app.url("/work/opinions?tab=review"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(inbox.contains(&no), "the station finds it under 待审核");
    let r = act(&app, &station, id, &[("action", "approve_reply")]).await;
    assert_eq!(r.status(), 303);
    let page = text(station.get(app.url(&location(&r))).send().await.unwrap()).await;
    assert!(page.contains("已反馈待评价"));
    assert!(page.contains("已安排维修，路灯已于本周修复。"));
    assert!(page.contains("A 已解决或基本解决"));
    let timeline = &page[page.find("办理记录").unwrap()..];
    let mut at = 0;
    for step in [
        "提交意见",
        "受理",
        "交办",
        "签收",
        "答复",
        "审核通过答复",
        "反馈结果",
    ] {
        let found = timeline[at..]
            .find(&format!("<b>{step}</b>"))
            .unwrap_or_else(|| panic!("timeline shows {step} in order"));
        at += found + 1;
    }

    let hy = app.login("county.hy").await;
    let r = hy
        .get(app.url(&format!("/work/opinions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another county does not learn the item exists"
    );
    let token = app.csrf(&hy, "/work").await;
    let r = hy
        .post(app.url(&format!("/work/opinions/{id}/act")))
        .form(&[
            ("_csrf", token.as_str()),
            ("action", "close"),
            ("reason", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "nor can it act on it");
    let jj = app.login("county.jj").await;
    let r = jj
        .get(app.url(&format!("/work/opinions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the county office sees its region's items");
}

async fn a_stale_version_is_refused_with_the_chinese_message(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, _) = submit(&app, "菜市场门口占道经营，交通拥堵。", "13911110002").await;
    let station = app.login("station.hm").await;
    let town = app.login("town.hm").await;
    // Both clerks open the item.
    let page = text(
        town.get(app.url(&format!("/work/opinions/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let version = hidden(&page, "version");
    let token = csrf_from(&page).unwrap();
    let r = act(&app, &station, id, &[("action", "accept")]).await;
    assert_eq!(r.status(), 303);
    let r = town
        .post(app.url(&format!("/work/opinions/{id}/act")))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", version.as_str()),
            ("action", "decline"),
            ("reason", "建议通过12345热线反映"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = text(r).await;
    assert!(page.contains("已被他人处理"), "the second clerk is told");
    assert!(page.contains("已受理"), "and sees the item as it is now");
    assert_eq!(state_of(&app, id).await, "accepted");
}

async fn a_refused_action_keeps_what_was_typed_next_to_the_field(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, _) = submit(&app, "小区垃圾清运不及时，气味很大。", "13911110003").await;
    let station = app.login("station.hm").await;
    let r = act(
        &app,
        &station,
        id,
        &[("action", "decline"), ("reason", "  ")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = text(r).await;
    assert!(page.contains("此操作须说明理由"));
    assert!(page.contains("id=\"decline-reason\" name=\"reason\" required aria-invalid=\"true\" aria-describedby=\"decline-reason-err\""));

    assert_eq!(
        act(&app, &station, id, &[("action", "accept")])
            .await
            .status(),
        303
    );
    let jjzj = app.unit_id("JJ-ZJ").await.to_string();
    let r = act(
        &app,
        &station,
        id,
        &[
            ("action", "assign"),
            ("unit_id", &jjzj),
            ("due_on", "2020-01-01"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = text(r).await;
    assert!(
        page.contains("不晚于今天"),
        "the workflow's reason is shown"
    );
    assert!(
        page.contains("value=\"2020-01-01\""),
        "the typed date is kept"
    );
    assert!(
        page.contains(&format!("value=\"{jjzj}\" selected")),
        "the chosen unit is kept"
    );
    assert!(page.contains("assign-due_on-err"));
    assert_eq!(state_of(&app, id).await, "accepted");

    let r = act(&app, &station, id, &[("action", "assign")]).await;
    assert!(text(r).await.contains("请选择主办单位"));
}

async fn bulk_acceptance_reports_each_item(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (a, _) = submit(&app, "公交站台顶棚破损漏雨。", "13911110004").await;
    let (c, _) = submit(&app, "学校门口缺少红绿灯，孩子过马路危险。", "13911110014").await;
    let station = app.login("station.hm").await;
    let inbox = text(
        station
            .get(app.url("/work/opinions?tab=pending"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        inbox.contains(&format!("name=\"id\" value=\"{a}\"")),
        "rows can be selected"
    );
    assert!(inbox.contains("批量受理所选事项"));
    let token = csrf_from(&inbox).unwrap();
    let (a_s, c_s) = (a.to_string(), c.to_string());
    let r = station
        .post(app.url("/work/opinions/bulk-accept"))
        .form(&[
            ("_csrf", token.as_str()),
            ("id", a_s.as_str()),
            ("id", c_s.as_str()),
            ("id", "999999"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = text(r).await;
    assert!(page.contains("成功 2 件，未成功 1 件"));
    assert!(page.contains("编号999999：事项不存在或不在您的工作范围内"));
    assert_eq!(state_of(&app, a).await, "accepted");
    assert_eq!(state_of(&app, c).await, "accepted");
    let unit = app.login("unit.jjzj").await;
    let inbox = text(unit.get(app.url("/work/opinions")).send().await.unwrap()).await;
    assert!(!inbox.contains("批量受理"), "units do not accept");
}

async fn the_ledger_downloads_reads_back_and_is_audited(b: Backend) {
    use calamine::{Reader, Xlsx};
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (_, no) = submit(&app, "河道里有人倾倒建筑垃圾。", "13911110005").await;
    let station = app.login("station.hm").await;
    let inbox = text(
        station
            .get(app.url("/work/opinions?tab=all"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(inbox.contains("/work/opinions/ledger.xlsx?tab=all"));
    let r = station
        .get(app.url("/work/opinions/ledger.xlsx?tab=all&q=建筑垃圾"))
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
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range("民意台账").unwrap();
    let cells: Vec<String> = range.cells().map(|(_, _, v)| v.to_string()).collect();
    assert!(
        cells.contains(&no),
        "the item's tracking number is in the ledger"
    );
    assert!(cells.iter().any(|c| c == "受理编号"));
    assert!(cells.iter().any(|c| c == "来站反映" || c == "数据接口"));
    assert!(
        !cells
            .iter()
            .any(|c| c.contains("13911110005") || c.contains("李群众")),
        "no personal data"
    );
    let audit = liaison_db::audit::list(
        &app.db,
        &liaison_db::audit::AuditQuery {
            action: Some("export".into()),
            entity: Some("opinion".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].summary.contains("民意台账") && audit[0].summary.contains("建筑垃圾"));

    let r = station
        .get(app.url("/work/opinions/ledger.xlsx?from=昨天"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a wrong filter is refused in Chinese");
    assert!(text(r).await.contains("YYYY-MM-DD"));
}

async fn proxy_entry_creates_an_item_with_its_channel(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c = app.login("station.hm").await;
    let page = text(c.get(app.url("/work/opinions/new")).send().await.unwrap()).await;
    assert!(
        page.contains("value=\"walk_in\" selected"),
        "来站反映 is the default channel"
    );
    assert!(
        page.contains("value=\"JJ-HM\" selected"),
        "the clerk's station is preselected"
    );
    assert!(
        !page.contains("HY-DC"),
        "other counties' stations are not offered"
    );
    let token = csrf_from(&page).unwrap();
    let key = hidden(&page, "key");
    let form = [
        ("_csrf", token.as_str()),
        ("key", key.as_str()),
        ("station_code", "JJ-HM"),
        ("channel", "walk_in"),
        ("name", "王大爷"),
        ("phone", "13911110006"),
        ("title", ""),
        ("body", "老旧小区加装电梯的补助政策想了解一下。"),
        ("place", "东山小区"),
    ];
    let r = c
        .post(app.url("/work/opinions/new"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let receipt = text(r).await;
    assert!(receipt.contains("受理回执"));
    let no = tracking_no(&receipt);
    let o = opinions::by_tracking_no(&app.db, &no)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(o.channel, "walk_in");
    assert!(
        o.entered_by.is_some(),
        "the clerk is recorded as entering it"
    );
    assert!(
        receipt.contains(&format!("/work/opinions/{}", o.id)),
        "a link to the item"
    );

    let again = text(
        c.post(app.url("/work/opinions/new"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        again.contains("此前已提交") && again.contains(&no),
        "a double submission stores one item"
    );

    let page = text(c.get(app.url("/work/opinions/new")).send().await.unwrap()).await;
    let token = csrf_from(&page).unwrap();
    let key = hidden(&page, "key");
    let r = c
        .post(app.url("/work/opinions/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("key", key.as_str()),
            ("station_code", "HY-DC"),
            ("channel", "phone"),
            ("name", "赵先生"),
            ("phone", "13911110007"),
            ("body", ""),
        ])
        .send()
        .await
        .unwrap();
    let page = text(r).await;
    assert!(page.contains("不在您的工作范围内"));
    assert!(page.contains("value=\"赵先生\""), "what was typed is kept");

    let r = c
        .post(app.url("/work/opinions/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("key", key.as_str()),
            ("station_code", "JJ-HM"),
            ("channel", "phone"),
            ("name", "赵先生"),
            ("phone", "13911110007"),
            ("body", ""),
        ])
        .send()
        .await
        .unwrap();
    let page = text(r).await;
    assert!(page.contains("请填写反映内容"));
    assert!(
        page.contains("aria-invalid=\"true\" aria-describedby=\"body-hint body-err\"")
            || page.contains("body-err")
    );

    let unit = app.login("unit.jjzj").await;
    let r = unit
        .get(app.url("/work/opinions/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "units do not enter opinions");
}

async fn a_deputy_enters_with_their_own_code_and_sees_it_as_theirs(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let d = app.login("deputy.d1").await;
    let page = text(d.get(app.url("/work/opinions/new")).send().await.unwrap()).await;
    assert!(page.contains("JJ-D1") && page.contains("value=\"deputy\" selected"));
    let token = csrf_from(&page).unwrap();
    let key = hidden(&page, "key");
    let r = d
        .post(app.url("/work/opinions/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("key", key.as_str()),
            ("channel", "reception"),
            ("anonymous", "1"),
            ("body", "接待日群众反映：村道路面破损严重。"),
        ])
        .send()
        .await
        .unwrap();
    let receipt = text(r).await;
    let no = tracking_no(&receipt);
    let o = opinions::by_tracking_no(&app.db, &no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.channel, "reception");
    assert!(o.deputy_id.is_some() && o.anonymous);
    assert_eq!(o.station_code, "JJ-HM");
    let (_, other) = submit_json(
        &app,
        json!({"deputy_code": "JJ-D1", "body": "扫码反映：路口积水。", "name": "钱女士", "phone": "13911110008"}),
    )
    .await;
    let inbox = text(d.get(app.url("/work/opinions")).send().await.unwrap()).await;
    assert!(inbox.contains("给我的 <span class=\"count\">2</span>"));
    assert!(inbox.contains(&no) && inbox.contains(&other));
}

async fn revealing_the_submitter_is_audited(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, _) = submit(
        &app,
        "楼上装修噪音扰民，周末早上七点就开始。",
        "13911110009",
    )
    .await;
    let c = app.login("station.hm").await;
    let page = text(
        c.get(app.url(&format!("/work/opinions/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.contains("139****0009") && page.contains("李**"),
        "masked by default"
    );
    assert!(!page.contains("13911110009"));
    let token = csrf_from(&page).unwrap();
    let r = c
        .post(app.url(&format!("/work/opinions/{id}/reveal")))
        .form(&[("_csrf", token.as_str()), ("purpose", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(text(r).await.contains("请填写查看事由"));
    let r = c
        .post(app.url(&format!("/work/opinions/{id}/reveal")))
        .form(&[("_csrf", token.as_str()), ("purpose", "电话了解噪音情况")])
        .send()
        .await
        .unwrap();
    let page = text(r).await;
    assert!(page.contains("13911110009") && page.contains("李群众"));
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
    assert!(audit[0].summary.contains("电话了解噪音情况"));
    let hy = app.login("county.hy").await;
    let token = app.csrf(&hy, "/work").await;
    let r = hy
        .post(app.url(&format!("/work/opinions/{id}/reveal")))
        .form(&[("_csrf", token.as_str()), ("purpose", "查看")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn photos_are_served_only_to_those_who_may_see_the_item(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let station = liaison_db::directory::station_by_code(&app.db, "JJ-HM")
        .await
        .unwrap()
        .unwrap();
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];
    let calendar = liaison_core::workdays::Calendar::builtin();
    let sla = liaison_core::sla::SlaTable::default();
    let created = opinions::create(
        &app.db,
        &app.keys,
        &opinions::Rules {
            calendar: &calendar,
            sla: &sla,
            today: opinions::today(),
        },
        &liaison_db::audit::Actor::system("test"),
        &opinions::NewOpinion {
            station_id: station.id,
            channel: "web".into(),
            title: "井盖缺失".into(),
            body: "人行道井盖缺失，有人差点掉下去。".into(),
            urgency: "urgent".into(),
            name: "孙先生".into(),
            phone: "13911110010".into(),
            search_text: "井盖 缺失".into(),
            photos: vec![("image/jpeg".into(), 1, 1, jpeg.clone())],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let pid = opinions::photo_ids(&app.db, created.id).await.unwrap()[0];
    let c = app.login("station.hm").await;
    let page = text(
        c.get(app.url(&format!("/work/opinions/{}", created.id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains(&format!("<img src=\"/work/opinions/photos/{pid}\"")));
    assert!(page.contains("紧急"));
    let r = c
        .get(app.url(&format!("/work/opinions/photos/{pid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().to_vec(), jpeg);
    for user in ["county.hy", "unit.jjzj"] {
        let other = app.login(user).await;
        let r = other
            .get(app.url(&format!("/work/opinions/photos/{pid}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{user} may not see the photo");
    }
}

async fn administrators_and_citizens_are_refused_the_opinion_workbench(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, _) = submit(&app, "路边停车收费不规范。", "13911110011").await;
    for user in ["admin", "security", "auditor", "citizen.1"] {
        let c = app.login(user).await;
        for path in [
            "/work/opinions".to_owned(),
            format!("/work/opinions/{id}"),
            "/work/opinions/ledger.xlsx".to_owned(),
        ] {
            let r = c.get(app.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 403, "{user} on {path}");
        }
        let home = text(c.get(app.url("/work")).send().await.unwrap()).await;
        assert!(
            !home.contains("href=\"/work/opinions\""),
            "{user} has no such menu entry"
        );
    }
    let anon = app.client();
    let r = anon.get(app.url("/work/opinions")).send().await.unwrap();
    assert!(r.status().is_redirection(), "sign-in first");
}

async fn supervisors_get_the_supervision_centre(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    submit(&app, "农贸市场周边夜间噪音。", "13911110012").await;
    let c = app.login("county.jj").await;
    let page = text(
        c.get(app.url("/work/opinions?tab=supervision"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("督办中心") && page.contains("超期未办结（可提请督办）"));
    let page = text(
        c.get(app.url("/work/opinions?tab=pending&station=JJ-HM"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.contains("待受理 <span class=\"count\">1</span>"),
        "counts follow the filters"
    );
    let page = text(
        c.get(app.url("/work/opinions?tab=pending&station=JJ-BY"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("待受理 <span class=\"count\">0</span>"));
    let page = text(
        c.get(app.url("/work/opinions?from=not-a-date"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("日期格式须为 YYYY-MM-DD") && page.contains("aria-invalid"));
    let town = app.login("town.hm").await;
    let page = text(town.get(app.url("/work/opinions")).send().await.unwrap()).await;
    assert!(
        !page.contains("督办中心"),
        "township staff have no supervision centre"
    );
}

async fn a_grid_worker_records_for_their_station_and_sees_only_their_own(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (other_id, _) = submit(&app, "扫码提交的另一件事：路口红绿灯坏了。", "13911110020").await;
    let g = app.login("grid.hm").await;
    let page = text(g.get(app.url("/work/opinions/new")).send().await.unwrap()).await;
    assert!(
        page.contains("value=\"grid\" selected"),
        "网格员走访 is the default channel"
    );
    assert!(
        page.contains("value=\"JJ-HM\" selected"),
        "the grid's station"
    );
    assert!(!page.contains("JJ-BY"), "no other station is offered");
    let token = csrf_from(&page).unwrap();
    let key = hidden(&page, "key");
    // Whatever station the form names, a grid worker's entry goes to their own station.
    let r = g
        .post(app.url("/work/opinions/new"))
        .form(&[
            ("_csrf", token.as_str()),
            ("key", key.as_str()),
            ("station_code", "JJ-BY"),
            ("channel", "grid"),
            ("name", "赵阿姨"),
            ("phone", "13911110021"),
            ("title", ""),
            ("body", "楼道里堆满杂物，消防通道被堵。"),
            ("place", "东山社区3幢"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let no = tracking_no(&text(r).await);
    let o = opinions::by_tracking_no(&app.db, &no)
        .await
        .unwrap()
        .unwrap();
    let hm = liaison_db::directory::station_by_code(&app.db, "JJ-HM")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((o.station_id, o.channel.as_str()), (hm.id, "grid"));

    let inbox = text(g.get(app.url("/work/opinions")).send().await.unwrap()).await;
    assert!(inbox.contains("我代录的"), "the grid worker's tab");
    assert!(inbox.contains(&no), "their own entry is listed");
    assert_eq!(
        g.get(app.url(&format!("/work/opinions/{}", o.id)))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = g
        .get(app.url(&format!("/work/opinions/{other_id}")))
        .send()
        .await
        .unwrap();
    assert!(
        r.status() == 403 || r.status() == 404,
        "another citizen's item at the same station is not theirs to see"
    );
    // The station handles it like any other item.
    let s = app.login("station.hm").await;
    let inbox = text(s.get(app.url("/work/opinions")).send().await.unwrap()).await;
    assert!(inbox.contains(&no));
    // A grid worker takes no workflow action.
    let detail = text(
        g.get(app.url(&format!("/work/opinions/{}", o.id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        !detail.contains(&format!("action=\"/work/opinions/{}/act\"", o.id)),
        "no action forms for a grid worker"
    );
}

async fn the_workbench_shows_each_users_to_do_counts(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    submit(&app, "公交站台的顶棚漏雨。", "13911110030").await;
    submit(&app, "菜市场门口的积水一直没人管。", "13911110031").await;
    let s = app.login("station.hm").await;
    let home = text(s.get(app.url("/work")).send().await.unwrap()).await;
    assert!(home.contains("我的待办"));
    assert!(
        home.contains("href=\"/work/opinions?tab=pending\"><b>2</b>待受理"),
        "two items wait for acceptance: {home}"
    );
    // Staff without opinion work see no to-do block.
    let a = app.login("security").await;
    let home = text(a.get(app.url("/work")).send().await.unwrap()).await;
    assert!(!home.contains("我的待办"));
}

async fn proxy_entry_takes_photos_and_keeps_the_text_when_one_is_refused(b: Backend) {
    use base64::Engine as _;
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let c = app.login("station.hm").await;
    let page = text(c.get(app.url("/work/opinions/new")).send().await.unwrap()).await;
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("name=\"photos\""));
    let token = csrf_from(&page).unwrap();
    let key = hidden(&page, "key");
    let form = |photo: (Vec<u8>, &'static str)| {
        reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("key", key.clone())
            .text("station_code", "JJ-HM")
            .text("channel", "paper")
            .text("name", "钱师傅")
            .text("phone", "13911110040")
            .text("body", "信里说：河边护栏松动，孩子放学经过很危险。")
            .part(
                "photos",
                reqwest::multipart::Part::bytes(photo.0).file_name(photo.1),
            )
    };
    // A file that is not an image is refused by name; what was typed stays.
    let html = text(
        c.post(app.url("/work/opinions/new"))
            .multipart(form((b"scanned letter".to_vec(), "letter.txt")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("第1张照片"), "{html}");
    assert!(
        html.contains("河边护栏松动") && html.contains("钱师傅"),
        "typed text kept"
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
        .unwrap();
    let r = c
        .post(app.url("/work/opinions/new"))
        .multipart(form((png, "railing.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let no = tracking_no(&text(r).await);
    let o = opinions::by_tracking_no(&app.db, &no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.channel, "paper");
    let ids = opinions::photo_ids(&app.db, o.id).await.unwrap();
    assert_eq!(ids.len(), 1, "the photo is stored with the item");
    let (_, mime, _) = opinions::photo(&app.db, ids[0]).await.unwrap();
    assert_eq!(mime, "image/jpeg", "re-encoded");
}

/// The follow-up form of the tracking page, as a browser without JavaScript sends it.
async fn ask_on_track_page(
    app: &TestApp,
    c: &reqwest::Client,
    no: &str,
    content: &str,
) -> (reqwest::StatusCode, String) {
    let page = text(
        c.get(app.url(&format!("/track?tracking_no={no}&phone_last4=0040")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("action=\"/track/follow-up\""), "{page}");
    let token = csrf_from(&page).unwrap();
    let key = hidden(&page, "key");
    let form = [
        ("_csrf", token.as_str()),
        ("tracking_no", no),
        ("phone_last4", "0040"),
        ("key", key.as_str()),
        ("content", content),
    ];
    let first = c
        .post(app.url("/track/follow-up"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = first.status();
    let html = text(first).await;
    if status.is_success() && !html.contains("role=\"alert\"") {
        // A double tap sends the same form again: still one question.
        let again = c
            .post(app.url("/track/follow-up"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(again.status().is_success());
    }
    (status, html)
}

async fn a_follow_up_goes_from_the_tracking_page_to_the_station_and_back(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, no) = submit(&app, "小区电梯经常停运，老人上下楼困难。", "13911110040").await;
    let citizen = app.client();

    // Without the CSRF token the form is refused.
    let r = citizen
        .post(app.url("/track/follow-up"))
        .form(&[
            ("tracking_no", no.as_str()),
            ("phone_last4", "0040"),
            ("content", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    // Too long: the limit is said in Chinese and the text is kept.
    let long = "梯".repeat(501);
    let (_, html) = ask_on_track_page(&app, &citizen, &no, &long).await;
    assert!(html.contains("追问内容最多500个字"), "{html}");
    assert!(html.contains(&long), "what was typed is kept");

    let (status, html) =
        ask_on_track_page(&app, &citizen, &no, "请问<script>x</script>什么时候处理？").await;
    assert!(status.is_success());
    assert!(html.contains("已收到您的追问"), "{html}");
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "escaped"
    );
    assert!(html.contains("等待答复"));
    assert_eq!(
        liaison_db::follow_ups::list(&app.db, id)
            .await
            .unwrap()
            .len(),
        1,
        "a double submit stores one question"
    );

    // The station's workbench counts it and the tab lists it.
    let station = app.login("station.hm").await;
    let home = text(station.get(app.url("/work")).send().await.unwrap()).await;
    assert!(
        home.contains("href=\"/work/opinions?tab=questions\"><b>1</b>追问待答"),
        "{home}"
    );
    let list = text(
        station
            .get(app.url("/work/opinions?tab=questions"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(list.contains(&no), "{list}");

    // The item page shows it unanswered with an answer form; an empty answer keeps the page.
    let page = text(
        station
            .get(app.url(&format!("/work/opinions/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("1条待答复"), "{page}");
    let fid = liaison_db::follow_ups::list(&app.db, id).await.unwrap()[0].id;
    let action = format!("/work/opinions/{id}/follow-ups/{fid}/answer");
    assert!(page.contains(&action));
    let token = csrf_from(&page).unwrap();
    let r = station
        .post(app.url(&action))
        .form(&[("_csrf", token.as_str()), ("answer", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(text(r).await.contains("请填写答复内容"));
    // A unit that does not hold the item cannot reach it.
    let other_unit = app.login("unit.hmgov").await;
    let r = other_unit
        .post(app.url(&action))
        .form(&[
            (
                "_csrf",
                csrf_from(&text(other_unit.get(app.url("/work")).send().await.unwrap()).await)
                    .unwrap()
                    .as_str(),
            ),
            ("answer", "越权答复"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = station
        .post(app.url(&action))
        .form(&[
            ("_csrf", token.as_str()),
            ("answer", "已联系物业，本周检修电梯。"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("notice=answer_follow_up"));
    let page = text(station.get(app.url(&location(&r))).send().await.unwrap()).await;
    assert!(page.contains("已答复追问"), "{page}");
    let home = text(station.get(app.url("/work")).send().await.unwrap()).await;
    assert!(
        home.contains("href=\"/work/opinions?tab=questions\"><b>0</b>追问待答"),
        "no longer waiting: {home}"
    );

    // The citizen reads the answer under the question; the state did not move.
    let html = text(
        citizen
            .get(app.url(&format!("/track?tracking_no={no}&phone_last4=0040")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("已联系物业，本周检修电梯。"), "{html}");
    assert_eq!(state_of(&app, id).await, "submitted");
}
