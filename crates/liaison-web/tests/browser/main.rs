//! Browser tests: a real headless Chromium, driven over WebDriver (fantoccini + ChromeDriver),
//! uses the web app the way a station clerk and a citizen do, at PC and phone sizes, and axe-core
//! checks the pages for accessibility problems.
//!
//! They run against SQLite only: what is tested here is the user interface, which does not
//! depend on the database backend (the HTTP tests cover both backends). Prerequisites come from
//! `scripts/install-browser-deps.sh`; without them the tests skip, except in CI.
//! Screenshots of each step land in `target/screenshots/`.

#[path = "../support/mod.rs"]
mod support;

mod activities;
mod axe;
mod harness;
mod opinion_loop;
mod suggestion_loop;

use fantoccini::key::Key;
use harness::{PC, PHONE, with_browser};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_clerk_signs_in_and_changes_the_opening_hours_on_a_pc() {
    with_browser("clerk-edits-station", PC, |page| async move {
        page.open("/login").await;
        assert_eq!(page.text("h1").await, "工作人员登录");
        page.fill("username", "station.hm").await;
        page.fill("password", support::FIXTURE_PASSWORD).await;
        page.screenshot("1-login").await;
        page.find("main form button[type=submit]")
            .await
            .click()
            .await
            .expect("click 登录");

        page.wait_for_path("/work").await;
        assert_eq!(page.text("main h1").await, "工作台");
        let nav = page.texts("nav.modules a").await;
        assert!(
            nav.iter().any(|t| t == "联络站"),
            "workbench nav should offer 联络站: {nav:?}"
        );
        page.screenshot("2-workbench").await;

        page.find("nav.modules a[href='/work/stations']")
            .await
            .click()
            .await
            .expect("click 联络站");
        page.wait_for_path("/work/stations").await;
        page.find("main a[href='/work/stations/JJ-HM']")
            .await
            .click()
            .await
            .expect("open JJ-HM");
        page.wait_for_path("/work/stations/JJ-HM").await;
        assert_eq!(page.text("main h1").await, "海门街道人大代表联络站");
        page.screenshot("3-station").await;

        page.find("a[href='/work/stations/JJ-HM/edit']")
            .await
            .click()
            .await
            .expect("click 编辑");
        page.wait_for_path("/work/stations/JJ-HM/edit").await;
        let new_hours = "周一至周六 9:00—18:00（法定节假日除外）";
        page.fill("opening_hours", new_hours).await;
        page.screenshot("4-edit").await;
        page.find("main form button[type=submit]")
            .await
            .click()
            .await
            .expect("click 保存");

        page.wait_for_path("/work/stations/JJ-HM").await;
        let notice = page.text("main .notice").await;
        assert!(notice.contains("已保存"), "notice after saving: {notice}");
        let facts = page.text("main dl.facts").await;
        assert!(
            facts.contains(new_hours),
            "station page should show the new hours: {facts}"
        );
        page.screenshot("5-saved").await;

        // The public page shows the change too.
        page.open("/stations/JJ-HM").await;
        let facts = page.text("main dl.facts").await;
        assert!(
            facts.contains(new_hours),
            "public page should show the new hours: {facts}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_fits_a_phone_screen_without_sideways_scrolling() {
    with_browser("workbench-phone", PHONE, |page| async move {
        page.sign_in("station.hm").await;
        assert_eq!(
            page.eval("window.innerWidth").await,
            json!(PHONE.0),
            "phone viewport"
        );
        for (path, step) in [
            ("/work", "home"),
            ("/work/stations", "stations"),
            ("/work/stations/JJ-HM", "station"),
            ("/work/stations/JJ-HM/edit", "edit"),
            ("/work/deputies", "deputies"),
        ] {
            page.open(path).await;
            page.find("main h1").await;
            let (fits, m) = page.fits_viewport().await;
            page.screenshot(step).await;
            assert!(fits, "{path} scrolls sideways on a phone: {m}");
            // Every table keeps its overflow inside its own scroll box.
            let wraps = page
                .eval(
                    "Array.from(document.querySelectorAll('table')).every(t => \
                       t.parentElement.classList.contains('table-wrap') && \
                       t.parentElement.getBoundingClientRect().right <= window.innerWidth)",
                )
                .await;
            assert_eq!(
                wraps,
                json!(true),
                "a table on {path} is not inside a fitting .table-wrap"
            );
        }

        // The module navigation is reachable and works by tapping on a phone.
        page.open("/work").await;
        let link = page.find("nav.modules a[href='/work/deputies']").await;
        assert!(
            link.is_displayed().await.expect("displayed"),
            "人大代表 in the nav is hidden"
        );
        link.click().await.expect("tap 人大代表");
        page.wait_for_path("/work/deputies").await;
        assert_eq!(page.text("main h1").await, "人大代表");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_on_a_phone_finds_the_station_and_its_resident_deputy() {
    with_browser("citizen", PHONE, |mut page| async move {
        // The QR code on the station's door carries the short link.
        page.open("/s/JJ-HM").await;
        page.wait_for_path("/stations/JJ-HM").await;
        assert_eq!(page.text("main h1").await, "海门街道人大代表联络站");
        page.assert_viewport().await;
        let (fits, m) = page.fits_viewport().await;
        assert!(
            fits,
            "the public station page scrolls sideways on a phone: {m}"
        );
        page.screenshot("1-station").await;

        let deputy = page.find("main a[href='/deputies/JJ-D1']").await;
        assert_eq!(deputy.text().await.expect("link text"), "张海门");
        deputy.click().await.expect("tap 张海门");
        page.wait_for_path("/deputies/JJ-D1").await;
        assert_eq!(page.text("main h1").await, "张海门");
        let card = page.text("main").await;
        assert!(
            card.contains("海门街道人大代表联络站"),
            "deputy page names the station: {card}"
        );
        assert!(
            !card.contains("13700000001"),
            "a deputy's own phone must not be public"
        );
        page.screenshot("2-deputy").await;

        page.resize(PC).await;
        page.open("/").await;
        assert_eq!(page.text("main h1").await, "找联络站");
        page.assert_viewport().await;
        let (fits, m) = page.fits_viewport().await;
        assert!(fits, "the public home scrolls sideways at 1366: {m}");
        page.screenshot("3-home").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_says_so_in_chinese_and_keeps_the_user_name() {
    with_browser("wrong-password", PC, |page| async move {
        page.open("/login").await;
        page.fill("username", "station.hm").await;
        page.fill("password", "not-the-password").await;
        page.find("main form button[type=submit]")
            .await
            .click()
            .await
            .expect("click 登录");

        let error = page.text("main [role=alert]").await;
        assert!(error.contains("用户名或密码错误"), "error message: {error}");
        assert_eq!(page.path().await, "/login", "stays on the login page");
        let name = page.find("#username").await;
        assert_eq!(
            name.prop("value").await.expect("value").as_deref(),
            Some("station.hm")
        );
        // Screen readers announce the error with the field it belongs to.
        assert_eq!(
            name.attr("aria-describedby")
                .await
                .expect("attr")
                .as_deref(),
            Some("login-error")
        );
        let password = page.find("#password").await;
        assert_eq!(
            password.prop("value").await.expect("value").as_deref(),
            Some("")
        );
        page.screenshot("error").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_can_be_used_with_the_keyboard_alone() {
    with_browser("keyboard-login", PC, |page| async move {
        page.open("/login").await;
        let focused = || async { page.client.active_element().await.expect("active element") };

        page.press(Key::Tab).await;
        let first = focused().await;
        assert_eq!(
            first.text().await.expect("text"),
            "跳到正文",
            "first Tab stop"
        );
        assert_eq!(
            first.attr("class").await.expect("class").as_deref(),
            Some("skip")
        );
        let (x, ..) = first.rectangle().await.expect("rect");
        assert!(
            x >= 0.0,
            "the focused skip link must move into view, it is at x = {x}"
        );
        page.screenshot("1-skip-link").await;

        // Following the skip link puts the next Tab stop at the start of the content.
        page.press(Key::Enter).await;
        page.press(Key::Tab).await;
        assert_eq!(
            focused().await.attr("id").await.expect("id").as_deref(),
            Some("username"),
            "after the skip link, Tab should reach the user name field"
        );
        focused()
            .await
            .send_keys("station.hm")
            .await
            .expect("type user name");
        page.press(Key::Tab).await;
        assert_eq!(
            focused().await.attr("id").await.expect("id").as_deref(),
            Some("password")
        );
        focused()
            .await
            .send_keys(support::FIXTURE_PASSWORD)
            .await
            .expect("type password");
        page.press(Key::Enter).await;

        page.wait_for_path("/work").await;
        assert_eq!(page.text("main h1").await, "工作台");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_have_no_serious_accessibility_violations_at_pc_and_phone_sizes() {
    let Some(source) = axe::axe_source() else {
        return;
    };
    with_browser("accessibility", PC, |mut page| async move {
        // The point of injecting through WebDriver: the app's CSP stays strict.
        let resp = page
            .app
            .client()
            .get(page.app.url("/login"))
            .send()
            .await
            .expect("GET /login");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .expect("CSP")
            .to_owned();
        assert!(
            csp.contains("script-src 'self'"),
            "the app should send a strict CSP: {csp}"
        );

        // An item for the tracking page and the item page, submitted the way the JSON API takes it.
        let resp = page
            .app
            .client()
            .post(page.app.url("/api/v1/opinions"))
            .json(&json!({
                "station_code": "JJ-HM",
                "body": "东山社区3号楼楼道的灯坏了，晚上看不见。",
                "name": "王",
                "phone": "13812345678",
            }))
            .send()
            .await
            .expect("POST /api/v1/opinions");
        assert_eq!(resp.status(), 201, "submitting an opinion through the API");
        let created: serde_json::Value = resp.json().await.expect("JSON reply");
        let item = format!("/work/opinions/{}", created["id"]);
        let tracked = format!(
            "/track?tracking_no={}&phone_last4=5678",
            created["tracking_no"].as_str().expect("tracking_no")
        );
        // A follow-up question, so the tracking page lists it and the item page shows its
        // answer form.
        let resp = page
            .app
            .client()
            .post(page.app.url("/api/v1/opinions/track/follow_up"))
            .json(&json!({
                "tracking_no": created["tracking_no"],
                "phone_last4": "5678",
                "content": "请问什么时候能修好？",
            }))
            .send()
            .await
            .expect("POST /api/v1/opinions/track/follow_up");
        assert_eq!(resp.status(), 201, "asking a follow-up question through the API");

        let public = [
            "/",
            "/stations/JJ-HM",
            "/deputies/JJ-D1",
            "/login",
            "/stations/JJ-HM/opinion",
            "/stations/JJ-HM/opinion?elder=1",
            "/track",
            &tracked,
        ];
        let staff = [
            "/work",
            "/work/stations",
            "/work/stations/JJ-HM/edit",
            "/work/deputies",
            "/work/opinions",
            "/work/opinions/new",
            "/work/opinions?tab=questions",
            &item,
            // The notification feed, with the new item's notice unread (and the badge).
            "/work/notifications",
            // 民意办理统计 with the new item in it.
            "/work/opinions/stats",
        ];
        // The rules settings are for city staff and system administrators only; the statistics
        // by region are the city's view.
        let city = ["/work/settings", "/work/opinions/stats?group=region"];
        let mut found = Vec::new();
        let mut signed_in = false;
        for (user, paths) in [
            (None, &public[..]),
            (Some("station.hm"), &staff[..]),
            (Some("city"), &city[..]),
        ] {
            if let Some(user) = user {
                page.resize(PC).await;
                if signed_in {
                    page.find("header form[action='/logout'] button[type=submit]")
                        .await
                        .click()
                        .await
                        .expect("click 退出");
                    page.wait_for_path("/login").await;
                }
                page.sign_in(user).await;
                signed_in = true;
            }
            for path in paths {
                for size in [PC, PHONE] {
                    page.resize(size).await;
                    page.open(path).await;
                    page.find("main h1").await;
                    page.assert_viewport().await;
                    found.extend(axe::check(&page, &source, path, size.0).await);
                }
            }
        }
        // A check that finds nothing must still be able to find something: an image without
        // a text alternative has to be reported.
        page.eval("document.querySelector('main').appendChild(document.createElement('img')).src = '/assets/favicon.svg'")
            .await;
        let canary = axe::check(&page, &source, "(with an unlabelled image)", PHONE.0).await;
        assert!(
            canary.iter().any(|v| v.id == "image-alt" && v.is_blocking()),
            "axe-core should report an image without alt text"
        );

        eprintln!(
            "axe-core: {} pages at {}px and {}px, {} violations",
            public.len() + staff.len() + city.len(),
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
