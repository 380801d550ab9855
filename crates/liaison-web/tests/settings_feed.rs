//! The deadline table form of `/work/settings` (saving, what a change means, Chinese messages
//! that keep what was typed, who may edit) and the staff notification feed (`/work/notifications`,
//! the navigation badge, read state, `GET /api/v1/notifications`), on SQLite and on PostgreSQL
//! (`TEST_DATABASE_URL`).

#[path = "support/mod.rs"]
mod support;

use liaison_core::sla::{DEFAULT_CATEGORY, Span};
use liaison_db::Backend;
use liaison_db::handling::{self, Item};
use liaison_db::opinions;
use serde_json::{Value, json};
use support::{TestApp, csrf_from};

backend_tests!(
    the_deadline_form_saves_and_a_newly_assigned_opinion_gets_the_new_deadlines,
    a_wrong_deadline_shows_the_chinese_message_and_keeps_what_was_typed,
    a_category_row_is_added_previewed_saved_and_removed,
    only_the_city_and_the_system_administrator_may_edit_deadlines,
    the_feed_lists_only_the_users_notifications_with_read_state_and_badge,
    the_feed_api_pages_the_callers_notifications,
);

async fn text(resp: reqwest::Response) -> String {
    resp.text().await.expect("body")
}

async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> String {
    text(c.get(app.url(path)).send().await.unwrap()).await
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The value of attribute `attr` in `tag` (the text of one start tag).
fn attr(tag: &str, attr: &str) -> Option<String> {
    let pat = format!(" {attr}=\"");
    let i = tag.find(&pat)? + pat.len();
    Some(tag[i..i + tag[i..].find('"')?].to_owned())
}

/// The fields of the form posting to `action` on `html`, as a browser would send them
/// (inputs with their values, checked boxes, the selected option of each select).
fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form posting to {action}"));
    let body = &html[start..start + html[start..].find("</form>").unwrap()];
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let end = rest.find('>').unwrap();
        let tag = &rest[..end];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or_default();
            if let Some(name) = attr(tag, "name")
                && kind != "submit"
                && (kind != "checkbox" || tag.contains(" checked"))
            {
                out.push((name, attr(tag, "value").unwrap_or_default()));
            }
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let close = rest.find("</select>").unwrap();
            let options = &rest[..close];
            let selected = options
                .split("<option")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| options.split("<option").nth(1))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            out.push((name, selected));
            rest = &rest[close..];
            continue;
        }
        rest = &rest[end..];
    }
    out
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(f) => f.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

async fn post_form(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    c.post(app.url(path)).form(fields).send().await.unwrap()
}

/// The deadline form of the settings page as `c` sees it now.
async fn deadline_form(app: &TestApp, c: &reqwest::Client) -> Vec<(String, String)> {
    let page = get(app, c, "/work/settings").await;
    form_fields(&page, "/work/settings/deadlines")
}

async fn audit_count(app: &TestApp, entity: &str) -> i64 {
    let mut s = liaison_db::sql::Sql::new("SELECT COUNT(*) FROM audit_log WHERE entity = ");
    s.bind(entity);
    s.fetch_count(&app.db).await.unwrap()
}

/// Submits an opinion to station JJ-HM through the public API.
async fn submit(app: &TestApp, body: &str) -> (i64, String) {
    let r = app
        .client()
        .post(app.url("/api/v1/opinions"))
        .json(&json!({"station_code": "JJ-HM", "body": body, "name": "李群众", "phone": "13911112222"}))
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

/// Posts an action form of opinion `id` with the version its page shows now.
async fn act(
    app: &TestApp,
    c: &reqwest::Client,
    id: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = get(app, c, &format!("/work/opinions/{id}")).await;
    let token = csrf_from(&page).expect("a form on the item page");
    let pat = "name=\"version\" value=\"";
    let i = page.find(pat).expect("a version field") + pat.len();
    let version = page[i..i + page[i..].find('"').unwrap()].to_owned();
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &token), ("version", &version)];
    form.extend_from_slice(fields);
    c.post(app.url(&format!("/work/opinions/{id}/act")))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Accepts opinion `id` as `category` and assigns it to JJ-ZJ (and `co` as co-unit).
async fn accept_and_assign(
    app: &TestApp,
    station: &reqwest::Client,
    id: i64,
    category: &str,
    co: Option<&str>,
) {
    let r = act(
        app,
        station,
        id,
        &[("action", "accept"), ("category", category)],
    )
    .await;
    assert_eq!(r.status(), 303, "accepted");
    let lead = app.unit_id("JJ-ZJ").await.to_string();
    let co = match co {
        Some(c) => app.unit_id(c).await.to_string(),
        None => String::new(),
    };
    let mut fields = vec![("action", "assign"), ("unit_id", lead.as_str())];
    if !co.is_empty() {
        fields.push(("co_unit_ids", co.as_str()));
    }
    let r = act(app, station, id, &fields).await;
    assert_eq!(r.status(), 303, "assigned");
    assert_eq!(opinions::get(&app.db, id).await.unwrap().state, "assigned");
}

async fn the_deadline_form_saves_and_a_newly_assigned_opinion_gets_the_new_deadlines(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let city = app.login("city").await;
    let page = get(&app, &city, "/work/settings").await;
    assert!(
        page.contains("默认（未单独设置的分类） · 紧急"),
        "a block per category × urgency"
    );
    assert!(page.contains("咨询类 · 一般"));
    assert!(
        page.contains("交办后15个工作日内答复"),
        "what each deadline means"
    );
    assert!(
        page.contains("<label for=\"o0_normal_reply_n\">答复期限</label>"),
        "labelled inputs"
    );
    let mut form = deadline_form(&app, &city).await;
    assert!(
        form.iter()
            .any(|(k, v)| k == "o0_normal_reply_u" && v == "working_days")
    );
    set(&mut form, "o0_normal_reply_n", "20");
    set(&mut form, "o0_normal_acknowledge_n", "3");
    set(&mut form, "o0_urgent_reply_n", "5");
    set(&mut form, "s_reply_n", "2");

    // A preview says what the change means and saves nothing.
    let mut preview = form.clone();
    set(&mut preview, "intent", "preview");
    let html = text(post_form(&app, &city, "/work/settings/deadlines", &preview).await).await;
    assert!(html.contains("预览（尚未保存"), "{html}");
    assert!(
        html.contains("默认·紧急·答复期限：15个工作日 → 5个工作日（交办后5个工作日内答复）"),
        "{html}"
    );
    assert!(
        html.contains("value=\"20\""),
        "the preview keeps the typed values"
    );
    assert_eq!(
        app.state.rules.read().await.sla.opinion[DEFAULT_CATEGORY]
            .normal
            .reply,
        Span::WorkingDays(15)
    );
    let audits = audit_count(&app, "sla_table").await;

    set(&mut form, "intent", "save");
    let r = post_form(&app, &city, "/work/settings/deadlines", &form).await;
    assert_eq!(r.status(), 200);
    let html = text(r).await;
    assert!(html.contains("已保存办理期限表"), "{html}");
    assert!(
        html.contains("默认·一般·答复期限：15个工作日 → 20个工作日（交办后20个工作日内答复）"),
        "{html}"
    );
    assert!(html.contains("闭会建议·答复期限：3个月 → 2个月"), "{html}");
    assert!(
        html.contains("默认·一般：收到后1个工作日内受理或不予受理；交办后3个工作日内签收；交办后20个工作日内答复"),
        "the summary line shows the saved table: {html}"
    );
    assert_eq!(
        audit_count(&app, "sla_table").await,
        audits + 1,
        "saved with an audit record"
    );
    {
        let rules = app.state.rules.read().await;
        let d = &rules.sla.opinion[DEFAULT_CATEGORY];
        assert_eq!(d.normal.reply, Span::WorkingDays(20));
        assert_eq!(d.normal.acknowledge, Span::WorkingDays(3));
        assert_eq!(d.urgent.reply, Span::WorkingDays(5));
        assert_eq!(rules.sla.suggestion.reply, Span::Months(2));
        // Untouched deadlines keep their values.
        assert_eq!(d.normal.rating_window, Span::CalendarDays(7));
        assert!(rules.sla.opinion.contains_key("consult"));
    }
    let stored = liaison_db::settings::get(&app.db, "sla_table")
        .await
        .unwrap()
        .expect("stored");
    assert!(stored.contains("\"working_days\": 20"), "{stored}");

    // The next assignment runs on the new table.
    let (id, _) = submit(&app, "海门街道东山路路灯不亮，请修理。").await;
    let station = app.login("station.hm").await;
    accept_and_assign(&app, &station, id, "城乡建设", None).await;
    let o = opinions::get(&app.db, id).await.unwrap();
    let today = liaison_db::handling::today();
    let rules = app.state.rules.read().await;
    assert_eq!(
        o.reply_due_on,
        Some(rules.calendar.add_working_days(today, 20)),
        "reply due 20 working days after assignment"
    );
    assert_eq!(o.due_kind.as_deref(), Some("acknowledge"));
    assert_eq!(
        o.due_on,
        Some(rules.calendar.add_working_days(today, 3)),
        "sign-for due 3 working days after assignment"
    );
}

async fn a_wrong_deadline_shows_the_chinese_message_and_keeps_what_was_typed(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let city = app.login("city").await;
    let before = app.state.rules.read().await.sla.clone();
    let mut form = deadline_form(&app, &city).await;
    set(&mut form, "o0_urgent_reply_n", "十五");
    set(&mut form, "o0_normal_accept_n", "300");
    set(&mut form, "o1_normal_reply_n", "0");
    set(&mut form, "o0_normal_review_n", "");
    set(&mut form, "s_reply_max_n", "1");
    set(&mut form, "o0_normal_extension_cap_n", "4");
    set(&mut form, "o0_normal_extension_cap_u", "calendar_days");
    set(&mut form, "intent", "save");
    let r = post_form(&app, &city, "/work/settings/deadlines", &form).await;
    assert_eq!(r.status(), 200);
    let html = text(r).await;
    assert!(html.contains("期限表有 5 处需要修改，未保存"), "{html}");
    assert!(
        html.contains("默认·紧急·答复期限：“十五”不是有效的数字，请填写 0 或正整数"),
        "{html}"
    );
    assert!(
        html.contains("默认·一般·受理期限：工作日数应在 0 至 250 之间"),
        "{html}"
    );
    assert!(
        html.contains("咨询类·一般·答复期限：该期限不能为0，请至少填写1"),
        "{html}"
    );
    assert!(html.contains("默认·一般·审核期限：请填写数字"), "{html}");
    assert!(
        html.contains("闭会建议·最长答复期限：最长答复期限不能短于一般答复期限"),
        "{html}"
    );
    // Each message sits next to its field, which keeps what was typed.
    assert!(html.contains(
        "id=\"o0_urgent_reply_n\" name=\"o0_urgent_reply_n\" value=\"十五\" min=\"0\" step=\"1\" inputmode=\"numeric\" aria-invalid=\"true\" aria-describedby=\"o0_urgent_reply_e\""
    ), "{html}");
    assert!(html.contains("<p class=\"field-error\" id=\"o0_urgent_reply_e\">"));
    assert!(html.contains("name=\"o0_normal_accept_n\" value=\"300\""));
    assert!(html.contains("name=\"o1_normal_reply_n\" value=\"0\""));
    assert!(html.contains("name=\"s_reply_max_n\" value=\"1\""));
    // A correct change in the same form is kept too, with its unit.
    let kept = form_fields(&html, "/work/settings/deadlines");
    assert!(
        kept.iter()
            .any(|(k, v)| k == "o0_normal_extension_cap_n" && v == "4")
    );
    assert!(
        kept.iter()
            .any(|(k, v)| k == "o0_normal_extension_cap_u" && v == "calendar_days")
    );
    assert!(
        html.contains("每次延期最多延长4日"),
        "the meaning of a valid field"
    );
    assert_eq!(
        app.state.rules.read().await.sla,
        before,
        "nothing was saved"
    );
    // The links of the summary lead to the fields.
    assert!(html.contains("<a href=\"#o0_urgent_reply_n\">"));
}

async fn a_category_row_is_added_previewed_saved_and_removed(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let admin = app.login("admin").await;
    let mut form = deadline_form(&app, &admin).await;
    set(&mut form, "add_category", "环境保护");
    set(&mut form, "intent", "add");
    let html = text(post_form(&app, &admin, "/work/settings/deadlines", &form).await).await;
    assert!(html.contains("已添加“环境保护”一行"), "{html}");
    assert!(html.contains("<legend>环境保护 · 紧急</legend>"), "{html}");
    assert!(
        !app.state
            .rules
            .read()
            .await
            .sla
            .opinion
            .contains_key("环境保护"),
        "adding a row saves nothing"
    );
    let mut form = form_fields(&html, "/work/settings/deadlines");
    assert!(form.iter().any(|(k, v)| k == "o2_key" && v == "环境保护"));
    set(&mut form, "o2_urgent_reply_n", "7");
    set(&mut form, "intent", "save");
    let html = text(post_form(&app, &admin, "/work/settings/deadlines", &form).await).await;
    assert!(html.contains("新增“环境保护”的单独期限"), "{html}");
    assert!(
        html.contains("环境保护·紧急·答复期限：15个工作日 → 7个工作日"),
        "{html}"
    );
    let t = app.state.rules.read().await.sla.clone();
    assert_eq!(t.opinion["环境保护"].urgent.reply, Span::WorkingDays(7));
    assert_eq!(
        t.opinion["环境保护"].normal,
        t.opinion[DEFAULT_CATEGORY].normal
    );

    // Removing the row falls back to the default.
    let mut form = deadline_form(&app, &admin).await;
    set(&mut form, "o2_remove", "1");
    set(&mut form, "intent", "save");
    let html = text(post_form(&app, &admin, "/work/settings/deadlines", &form).await).await;
    assert!(
        html.contains("删除“环境保护”的单独期限，今后按默认期限计算"),
        "{html}"
    );
    assert!(
        !app.state
            .rules
            .read()
            .await
            .sla
            .opinion
            .contains_key("环境保护")
    );
    // A form without changes saves nothing.
    let audits = audit_count(&app, "sla_table").await;
    let mut form = deadline_form(&app, &admin).await;
    set(&mut form, "intent", "save");
    let html = text(post_form(&app, &admin, "/work/settings/deadlines", &form).await).await;
    assert!(html.contains("期限表没有变化，未保存"), "{html}");
    assert_eq!(audit_count(&app, "sla_table").await, audits);
}

async fn only_the_city_and_the_system_administrator_may_edit_deadlines(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let city = app.login("city").await;
    let mut form = deadline_form(&app, &city).await;
    set(&mut form, "o0_normal_reply_n", "30");
    set(&mut form, "intent", "save");
    for user in ["county.jj", "station.hm", "unit.jjzj", "security"] {
        let c = app.login(user).await;
        assert_eq!(
            c.get(app.url("/work/settings"))
                .send()
                .await
                .unwrap()
                .status(),
            403,
            "{user} may not open the settings"
        );
        let token = app.csrf(&c, "/work").await;
        let mut f = form.clone();
        set(&mut f, "_csrf", &token);
        let r = post_form(&app, &c, "/work/settings/deadlines", &f).await;
        assert_eq!(r.status(), 403, "{user} may not save deadlines");
        assert!(text(r).await.contains("无权"));
    }
    assert_eq!(
        app.state.rules.read().await.sla.opinion[DEFAULT_CATEGORY]
            .normal
            .reply,
        Span::WorkingDays(15),
        "nothing changed"
    );
    // Without a session: to the sign-in page.
    let anon = app.client();
    let r = anon
        .post(app.url("/work/settings/deadlines"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
}

/// Queues an in-app notification as the workflows do.
async fn enqueue(app: &TestApp, opinion: i64, channel: &str, recipient: &str, template: &str) {
    let mut tx = app.db.begin().await.unwrap();
    handling::enqueue(
        &mut tx,
        Item::Opinion(opinion),
        channel,
        recipient,
        template,
        &json!({"tracking_no": "LZTEST", "title": format!("测试{recipient}")}).to_string(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn station_id(app: &TestApp, code: &str) -> i64 {
    let mut s = liaison_db::sql::Sql::new("SELECT id FROM station WHERE code = ");
    s.bind(code);
    s.fetch_count(&app.db).await.unwrap()
}

/// The unread count of the navigation badge (0 when none is shown).
fn badge(html: &str) -> i64 {
    let pat = "id=\"unread-badge\">";
    match html.find(pat) {
        Some(i) => {
            let rest = &html[i + pat.len()..];
            rest[..rest.find('<').unwrap()].parse().unwrap()
        }
        None => 0,
    }
}

/// The value of the first hidden field `name`.
fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let i = html.find(&pat).unwrap_or_else(|| panic!("no {name} field")) + pat.len();
    html[i..i + html[i..].find('"').unwrap()].to_owned()
}

/// Ids of the feed entries on a page.
fn entry_ids(html: &str) -> Vec<i64> {
    html.split("\" id=\"n")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

async fn the_feed_lists_only_the_users_notifications_with_read_state_and_badge(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    // An opinion at JJ-HM: the station hears of it; assigned to JJ-ZJ with JJ-HM-GOV as
    // co-unit: the lead unit and the co-unit hear of it.
    let (id, no) = submit(&app, "东山社区垃圾清运不及时，气味很大。").await;
    let station = app.login("station.hm").await;
    accept_and_assign(&app, &station, id, "环境保护", Some("JJ-HM-GOV")).await;
    // Others of the outbox's recipients: the station's liaison point (its staff act for it), a
    // neighbouring station, the regions, a deputy, and the submitter's SMS.
    let point = station_id(&app, "JJ-HM-01").await;
    let by = station_id(&app, "JJ-BY").await;
    enqueue(
        &app,
        id,
        "inapp",
        &format!("station:{point}"),
        "opinion.rated",
    )
    .await;
    enqueue(&app, id, "inapp", &format!("station:{by}"), "opinion.rated").await;
    let hm = liaison_db::directory::region_by_code(&app.db, "331002001")
        .await
        .unwrap()
        .unwrap();
    let hy = liaison_db::directory::region_by_code(&app.db, "331003001")
        .await
        .unwrap()
        .unwrap();
    enqueue(
        &app,
        id,
        "inapp",
        &format!("region:{}", hm.path),
        "opinion.supervised",
    )
    .await;
    enqueue(
        &app,
        id,
        "inapp",
        &format!("region:{}", hy.path),
        "opinion.supervised",
    )
    .await;
    enqueue(
        &app,
        id,
        "sms",
        &format!("submitter:{id}"),
        "opinion.accepted",
    )
    .await;

    let feed = get(&app, &station, "/work/notifications").await;
    assert!(feed.contains("<h1>消息通知</h1>"));
    assert!(feed.contains("收到新的群众意见待受理"), "{feed}");
    assert!(
        feed.contains(&format!("测试station:{point}")),
        "the point's notice"
    );
    assert!(
        !feed.contains(&format!("测试station:{by}")),
        "not another station's"
    );
    assert!(!feed.contains("测试region:"), "not the regions'");
    assert!(!feed.contains("已受理，受理编号"), "not the citizen's SMS");
    assert!(
        feed.contains(&format!("href=\"/work/opinions/{id}\"")),
        "links to the item"
    );
    assert!(feed.contains(&no));
    let ids = entry_ids(&feed);
    assert_eq!(ids.len(), 2, "{feed}");
    assert!(ids[0] > ids[1], "newest first");
    assert!(feed.contains("未读 <b>2</b> 条"));
    let home = get(&app, &station, "/work").await;
    assert_eq!(badge(&home), 2, "the badge in the navigation");
    assert!(
        home.contains("条未读</span>"),
        "the badge has a text for screen readers"
    );

    let unit = app.login("unit.jjzj").await;
    let ufeed = get(&app, &unit, "/work/notifications").await;
    assert!(ufeed.contains("交办事项待签收"), "{ufeed}");
    assert!(!ufeed.contains("协办事项待办理"));
    assert_eq!(entry_ids(&ufeed).len(), 1);
    let co = app.login("unit.hmgov").await;
    let cfeed = get(&app, &co, "/work/notifications").await;
    assert!(cfeed.contains("协办事项待办理"), "the co-unit: {cfeed}");
    assert_eq!(entry_ids(&cfeed).len(), 1);
    // Region staff: their subtree's supervision notices. Township staff run their stations
    // (they act as the station's staff on its items) and also hear what the stations of their
    // subtree hear — JJ-HM and its point, not 白云街道's JJ-BY; county and city offices
    // supervise and get no station's routine notices.
    for (user, count, runs_stations) in [
        ("town.hm", 3, true),
        ("county.jj", 1, false),
        ("city", 2, false),
        ("county.hy", 1, false),
    ] {
        let c = app.login(user).await;
        let f = get(&app, &c, "/work/notifications").await;
        assert_eq!(entry_ids(&f).len(), count, "{user}: {f}");
        assert_eq!(
            f.contains("收到新的群众意见待受理"),
            runs_stations,
            "{user}: {f}"
        );
        assert_eq!(
            f.contains(&format!("测试station:{point}")),
            runs_stations,
            "{user}"
        );
        assert!(!f.contains(&format!("测试station:{by}")), "{user}");
        assert_eq!(badge(&get(&app, &c, "/work").await), count as i64, "{user}");
    }
    // The same rule marks one read: the township may mark its station's notice, not JJ-BY's.
    let town = app.login("town.hm").await;
    let tfeed = get(&app, &town, "/work/notifications").await;
    let ttoken = csrf_from(&tfeed).unwrap();
    let by_notice: i64 = {
        let mut s =
            liaison_db::sql::Sql::new("SELECT MAX(id) FROM notification WHERE recipient = ");
        s.bind(format!("station:{by}"));
        s.fetch_count(&app.db).await.unwrap()
    };
    let r = town
        .post(app.url(&format!("/work/notifications/{by_notice}/read")))
        .form(&[("_csrf", ttoken.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another township's station");
    let r = town
        .post(app.url(&format!("/work/notifications/{}/read", ids[0])))
        .form(&[("_csrf", ttoken.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "a station of the township");
    // A deputy without notices, and an administrator who receives none (no module in the
    // navigation).
    let deputy = app.login("deputy.d1").await;
    let d = get(&app, &deputy, "/work/notifications").await;
    assert!(d.contains("暂无通知"), "{d}");
    assert_eq!(badge(&get(&app, &deputy, "/work").await), 0);
    let admin = app.login("admin").await;
    assert!(
        !get(&app, &admin, "/work")
            .await
            .contains("/work/notifications")
    );
    assert!(
        get(&app, &admin, "/work/notifications")
            .await
            .contains("您的角色不接收站内通知")
    );

    // Marking one read: the badge goes down, the entry says so; another user's notice is 404.
    let token = csrf_from(&feed).unwrap();
    let audits = audit_count(&app, "notification").await;
    let r = station
        .post(app.url(&format!("/work/notifications/{}/read", ids[1])))
        .form(&[("_csrf", token.as_str()), ("after", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/work/notifications?done=one");
    let feed = get(&app, &station, "/work/notifications?done=one").await;
    assert!(feed.contains("已标为已读"));
    assert!(feed.contains("未读 <b>1</b> 条"), "{feed}");
    assert_eq!(badge(&feed), 1);
    assert_eq!(
        audit_count(&app, "notification").await,
        audits + 1,
        "audited"
    );
    let unit_notice = entry_ids(&ufeed)[0];
    let r = station
        .post(app.url(&format!("/work/notifications/{unit_notice}/read")))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "not the station's notification");
    assert_eq!(
        badge(&get(&app, &unit, "/work").await),
        1,
        "still unread for the unit"
    );

    // Mark all read goes up to the newest notice the page showed: one that arrives after the
    // page was drawn (committed while the user read, or while the request runs) stays unread.
    let feed = get(&app, &station, "/work/notifications").await;
    let through = hidden(&feed, "through");
    assert_eq!(through, entry_ids(&feed)[0].to_string(), "the newest shown");
    let sid = station_id(&app, "JJ-HM").await;
    enqueue(
        &app,
        id,
        "inapp",
        &format!("station:{sid}"),
        "opinion.rated",
    )
    .await;
    let r = station
        .post(app.url("/work/notifications/read-all"))
        .form(&[("_csrf", token.as_str()), ("through", through.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let feed = get(&app, &station, "/work/notifications").await;
    assert_eq!(badge(&feed), 1, "the unseen notice stays unread: {feed}");
    assert!(feed.contains("群众已评价"));
    // A forged bound beyond what exists marks only what exists: later notices are unread.
    let r = station
        .post(app.url("/work/notifications/read-all"))
        .form(&[("_csrf", token.as_str()), ("through", "999999999")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Without the bound (a page from before) nothing is marked.
    let r = station
        .post(app.url("/work/notifications/read-all"))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let feed = get(&app, &station, "/work/notifications").await;
    assert_eq!(badge(&feed), 0, "{feed}");
    assert!(feed.contains("没有未读通知"));
    assert!(!feed.contains("全部标为已读"));
    assert_eq!(audit_count(&app, "notification").await, audits + 3);
    enqueue(
        &app,
        id,
        "inapp",
        &format!("station:{sid}"),
        "opinion.replied",
    )
    .await;
    let feed = get(&app, &station, "/work/notifications").await;
    assert_eq!(badge(&feed), 1);
    assert!(feed.contains("承办单位已答复，待审核"));
    // Without a CSRF token nothing happens.
    let r = station
        .post(app.url("/work/notifications/read-all"))
        .form(&[("after", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(badge(&get(&app, &station, "/work").await), 1);
}

async fn the_feed_api_pages_the_callers_notifications(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let (id, _) = submit(&app, "白云街道路面破损，雨天积水。").await;
    let sid = station_id(&app, "JJ-HM").await;
    for _ in 0..4 {
        enqueue(
            &app,
            id,
            "inapp",
            &format!("station:{sid}"),
            "opinion.due_soon",
        )
        .await;
    }
    let token = app.token("station.hm").await;
    let c = app.client();
    let first: Value = c
        .get(app.url("/api/v1/notifications?limit=3"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3, "{first}");
    assert_eq!(first["total"], 5, "{first}");
    assert_eq!(first["unread"], 5);
    assert_eq!(first["total_capped"], false);
    let item = &first["items"][0];
    assert_eq!(item["template"], "opinion.due_soon");
    assert_eq!(item["kind"], "群众意见");
    assert_eq!(item["opinion_id"], id);
    assert_eq!(item["link"], format!("/work/opinions/{id}"));
    assert_eq!(item["read"], false);
    assert!(item["text"].as_str().unwrap().contains("即将到期"));
    let next = first["next"].as_str().expect("a next cursor").to_owned();
    let second: Value = c
        .get(app.url(&format!("/api/v1/notifications?limit=3&after={next}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = second["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{second}");
    assert!(second["next"].is_null());
    assert!(items[0]["id"].as_i64().unwrap() < first["items"][2]["id"].as_i64().unwrap());
    assert_eq!(items[1]["template"], "opinion.submitted");

    // Another user sees none of them; a bad cursor and no token are refused.
    let other = app.token("unit.jjzj").await;
    let v: Value = c
        .get(app.url("/api/v1/notifications"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["total"], 0);
    let r = c
        .get(app.url("/api/v1/notifications?after=x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        c.get(app.url("/api/v1/notifications"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Read state is shared with the page.
    let web = app.login("station.hm").await;
    let feed = get(&app, &web, "/work/notifications").await;
    let csrf = csrf_from(&feed).unwrap();
    let through = hidden(&feed, "through");
    let r = web
        .post(app.url("/work/notifications/read-all"))
        .form(&[("_csrf", csrf.as_str()), ("through", through.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let v: Value = c
        .get(app.url("/api/v1/notifications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["unread"], 0);
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["read"] == true)
    );

    // Documented in the OpenAPI document.
    let doc: Value = c
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = &doc["paths"]["/api/v1/notifications"]["get"];
    assert!(path.is_object(), "documented");
    assert!(
        doc["components"]["schemas"]["NotificationPage"].is_object(),
        "with its schema"
    );
}
