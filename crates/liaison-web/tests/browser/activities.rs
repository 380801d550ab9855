//! 主题活动 in one browser: a station clerk (PC) creates and publishes a reception day, a citizen
//! on a phone finds it in the station's calendar and signs up without an account, the deputy
//! signs in on a phone and checks in from the station's check-in link, and the clerk enters an
//! opinion raised at the reception, which lands in the station's opinion inbox and on the
//! activity's page. A second test runs axe-core over the new pages at PC and phone sizes.

use crate::axe;
use crate::harness::{PC, PHONE, Page, with_browser};
use fantoccini::Locator;
use serde_json::json;
use std::time::{Duration, Instant};

const STEP_WAIT: Duration = Duration::from_secs(20);
const TITLE: &str = "代表接待日：老旧小区加装电梯";
const OPINION: &str = "3号楼加装电梯，低层住户有顾虑，希望街道组织协商。";

async fn wait_for_text(page: &Page, css: &str, expected: &str) -> String {
    let deadline = Instant::now() + STEP_WAIT;
    loop {
        let mut seen = String::new();
        if let Ok(e) = page.client.find(Locator::Css(css)).await
            && let Ok(text) = e.text().await
        {
            if text.contains(expected) {
                return text;
            }
            seen = text;
        }
        if Instant::now() > deadline {
            panic!(
                "`{css}` on {} should contain “{expected}”, it reads “{seen}”",
                page.path().await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(page: &Page, css: &str) {
    page.find(css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
}

async fn sign_out(page: &Page) {
    click(page, "header form[action='/logout'] button[type=submit]").await;
    page.wait_for_path("/login").await;
}

/// Start (China time) 30 minutes from now, and an end two hours later on the same day.
fn times() -> (String, String, String) {
    let start = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8))
        + time::Duration::minutes(30);
    let end = (start + time::Duration::hours(2)).min(
        start
            .replace_time(time::macros::time!(23:59))
            .max(start + time::Duration::minutes(1)),
    );
    let hm = |t: time::OffsetDateTime| format!("{:02}:{:02}", t.hour(), t.minute());
    (start.date().to_string(), hm(start), hm(end))
}

/// Sets a date/time field's value the way a date picker would (typing into Chromium's
/// segmented date fields depends on the locale).
async fn set_value(page: &Page, id: &str, value: &str) {
    page.eval(&format!(
        "(() => {{ const e = document.getElementById('{id}'); e.value = '{value}'; \
         e.dispatchEvent(new Event('change')); return e.value; }})()"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reception_is_published_signed_up_for_checked_in_and_its_opinion_enters_the_loop() {
    with_browser("activity-reception", PC, |mut page| async move {
        // The clerk creates the reception day and publishes it.
        page.sign_in("station.hm").await;
        click(&page, "nav.modules a[href='/work/activities']").await;
        page.wait_for_path("/work/activities").await;
        click(&page, "main a[href='/work/activities/new']").await;
        page.wait_for_path("/work/activities/new").await;
        let (date, start, end) = times();
        page.fill("title", TITLE).await;
        set_value(&page, "date", &date).await;
        set_value(&page, "start_time", &start).await;
        set_value(&page, "end_time", &end).await;
        page.fill("place", "海门街道联络站一楼接待室").await;
        page.fill("capacity", "20").await;
        click(&page, "#dep-JJ-D1").await;
        page.screenshot("1-new").await;
        click(&page, "main form button[type=submit]").await;
        wait_for_text(&page, "main .notice", "活动已创建").await;
        assert_eq!(page.text("main h1").await, TITLE);
        let id: i64 = page
            .path()
            .await
            .trim_start_matches("/work/activities/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .expect("activity id in the address");
        click(&page, "form#act-announce button[type=submit]").await;
        let notice = wait_for_text(&page, "main .notice", "已发布预告").await;
        assert!(
            notice.contains("少于2天"),
            "a reception 30 minutes away is announced late: {notice}"
        );
        wait_for_text(&page, "main .tag-state", "已发布预告").await;
        page.screenshot("2-announced").await;
        sign_out(&page).await;

        // A citizen on a phone finds it in the station's calendar and signs up.
        page.resize(PHONE).await;
        page.open("/stations/JJ-HM").await;
        click(&page, "main a[href='/stations/JJ-HM/activities']").await;
        page.wait_for_path("/stations/JJ-HM/activities").await;
        click(&page, &format!("main a[href='/activities/{id}']")).await;
        page.wait_for_path(&format!("/activities/{id}")).await;
        assert_eq!(page.text("main h1").await, TITLE);
        page.fill("name", "陈阿姨").await;
        page.fill("phone", "13911112222").await;
        let (fits, m) = page.fits_viewport().await;
        assert!(fits, "the sign-up page scrolls sideways on a phone: {m}");
        click(
            &page,
            "main form[action^='/activities/'] button[type=submit]",
        )
        .await;
        let done = wait_for_text(&page, "#signup-result", "报名成功").await;
        assert!(done.contains("报名号 BM"), "{done}");
        page.screenshot("3-signed-up").await;

        // The deputy signs in on the phone and checks in from the station's check-in link.
        page.sign_in("deputy.d1").await;
        page.open("/check-in/JJ-HM").await;
        wait_for_text(&page, "main h1", "代表签到").await;
        click(
            &page,
            "main form[action='/check-in/JJ-HM'] button[type=submit]",
        )
        .await;
        wait_for_text(&page, "main .notice", "签到成功").await;
        let (fits, m) = page.fits_viewport().await;
        assert!(fits, "the check-in page scrolls sideways on a phone: {m}");
        page.screenshot("4-checked-in").await;
        sign_out(&page).await;

        // The clerk enters the opinion raised at the reception.
        page.resize(PC).await;
        page.sign_in("station.hm").await;
        page.open(&format!("/work/activities/{id}")).await;
        wait_for_text(&page, "main .tag-state", "进行中").await;
        click(
            &page,
            &format!("main a[href='/work/opinions/new?activity={id}']"),
        )
        .await;
        page.wait_for_path("/work/opinions/new").await;
        wait_for_text(&page, "main .notice", TITLE).await;
        page.fill("name", "陈阿姨").await;
        page.fill("phone", "13911112222").await;
        page.fill("body", OPINION).await;
        click(
            &page,
            "main form[action='/work/opinions/new'] button[type=submit]",
        )
        .await;
        wait_for_text(&page, "main .notice", "已代录").await;
        page.screenshot("5-entered").await;

        // It is in the station's inbox, waiting to be accepted, and on the activity's page.
        page.open("/work/opinions").await;
        wait_for_text(&page, "main table", "3号楼加装电梯").await;
        page.open(&format!("/work/activities/{id}")).await;
        let linked = wait_for_text(
            &page,
            "main section[aria-labelledby=opinions-h]",
            "3号楼加装电梯",
        )
        .await;
        assert!(linked.contains("待受理"), "{linked}");
        let present = page.text("main section[aria-labelledby=deputies-h]").await;
        assert!(present.contains("扫码签到"), "{present}");
        page.screenshot("6-activity").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_and_deliberation_pages_have_no_serious_accessibility_violations() {
    let Some(source) = axe::axe_source() else {
        return;
    };
    with_browser("activity-accessibility", PC, |mut page| async move {
        // Data for the pages, the way the API takes it.
        let app = &page.app;
        let token = app.token("station.hm").await;
        let start = time::OffsetDateTime::now_utc() + time::Duration::days(3);
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let c = app.client();
        let v: serde_json::Value = c
            .post(app.url("/api/v1/activities"))
            .bearer_auth(&token)
            .json(&json!({"station_code": "JJ-HM", "kind": "director_face_to_face", "title": "局长代表面对面",
                "place": "联络站", "organiser": "海门街道人大工委", "starts_at": fmt(start),
                "ends_at": fmt(start + time::Duration::hours(2)), "capacity": 30, "signup_open": true,
                "deputy_codes": ["JJ-D1"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = v["id"].as_i64().expect("activity id");
        c.post(app.url(&format!("/api/v1/activities/{id}/actions")))
            .bearer_auth(&token)
            .json(&json!({"action": "announce"}))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = c
            .post(app.url("/api/v1/deliberations"))
            .bearer_auth(&token)
            .json(&json!({"station_code": "JJ-HM", "kind": "consultation", "title": "停车难协商议事",
                "background": "小区停车位不足。"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let did = v["id"].as_i64().expect("deliberation id");
        let system = liaison_db::audit::Actor::system("test");
        let station_id = liaison_db::directory::station_by_code(&app.db, "JJ-HM")
            .await
            .unwrap()
            .unwrap()
            .id;
        let year = i64::from(start.year());
        let plan = liaison_db::activities::create_plan(
            &app.db, &app.keys, &system, station_id, year, "年度活动计划", "",
        )
        .await
        .unwrap();
        liaison_db::activities::add_plan_item(
            &app.db,
            &app.keys,
            &system,
            plan,
            3,
            liaison_core::activity::ActivityKind::ReportBack,
            "代表向选民述职",
            "",
        )
        .await
        .unwrap();
        let unit_id = liaison_db::directory::list_units(
            &app.db,
            &liaison_core::scope::Scope::Everything,
            &liaison_db::directory::UnitFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
            .id;
        let today = liaison_core::activity::china_date(time::OffsetDateTime::now_utc());
        let window = liaison_db::deliberations::create_window(
            &app.db,
            &app.keys,
            &system,
            &liaison_db::deliberations::NewWindow {
                station_id,
                unit_id,
                title: "住建局长云问政".into(),
                description: "老旧小区改造".into(),
                opens_on: today,
                closes_on: today + time::Duration::days(7),
            },
        )
        .await
        .unwrap();
        liaison_db::deliberations::post_question(
            &app.db, &app.keys, &system, window, "电梯什么时候装？", "孙立", "13812345611", today,
        )
        .await
        .unwrap();

        let staff = [
            "/work/activities".to_owned(),
            "/work/activities/new".to_owned(),
            format!("/work/activities/{id}"),
            format!("/work/activities/{id}/edit"),
            "/work/activity-plans".to_owned(),
            "/work/deliberations".to_owned(),
            "/work/deliberations/new".to_owned(),
            format!("/work/deliberations/{did}"),
            "/work/questions".to_owned(),
            format!("/work/questions/{window}"),
            format!("/work/activity-plans/{plan}"),
            "/check-in/JJ-HM".to_owned(),
        ];
        let deputy = [
            "/work/activities".to_owned(),
            format!("/work/activities/{id}"),
            "/check-in/JJ-HM".to_owned(),
        ];
        let city = ["/work/sensitive-words".to_owned()];
        let public = [
            format!("/activities/{id}"),
            format!("/activities/{id}/my-signup"),
            "/stations/JJ-HM/activities".to_owned(),
            "/regions/331002/activities".to_owned(),
            "/ask".to_owned(),
            format!("/ask/{window}"),
        ];
        let mut found = Vec::new();
        for path in &public {
            for size in [PC, PHONE] {
                page.resize(size).await;
                page.open(path).await;
                page.find("main h1").await;
                found.extend(axe::check(&page, &source, path, size.0).await);
            }
        }
        for (user, paths) in [
            ("station.hm", &staff[..]),
            ("deputy.d1", &deputy[..]),
            ("city", &city[..]),
        ] {
            page.resize(PC).await;
            if user != "station.hm" {
                click(&page, "header form[action='/logout'] button[type=submit]").await;
                page.wait_for_path("/login").await;
            }
            page.sign_in(user).await;
            for path in paths {
                for size in [PC, PHONE] {
                    page.resize(size).await;
                    page.open(path).await;
                    page.find("main h1").await;
                    let (fits, m) = page.fits_viewport().await;
                    assert!(fits, "{path} scrolls sideways at {}px: {m}", size.0);
                    found.extend(axe::check(&page, &source, path, size.0).await);
                }
            }
        }
        eprintln!(
            "axe-core: {} activity pages at {}px and {}px, {} violations",
            staff.len() + public.len() + deputy.len() + city.len(),
            PC.0,
            PHONE.0,
            found.len()
        );
        for v in &found {
            eprint!("{v}");
        }
        let blocking: Vec<_> = found.iter().filter(|v| v.is_blocking()).collect();
        assert!(
            blocking.is_empty(),
            "{} serious or critical accessibility violations:\n{}",
            blocking.len(),
            blocking.iter().map(|v| v.to_string()).collect::<String>()
        );
    })
    .await;
}
