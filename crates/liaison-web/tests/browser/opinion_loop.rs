//! The whole 民意 loop in one browser, the way the people involved use it: a citizen on a phone
//! scans the station's QR code and writes in, the station clerk (PC) accepts and assigns, the
//! handling unit signs for it and replies, the clerk approves the reply, the citizen is not
//! satisfied and asks a follow-up question (追问), the clerk answers it and sends the item back
//! for re-handling, and the second reply satisfies the citizen, who reads the answer to the
//! question under it.
//!
//! One browser plays every part: staff sign out (the 退出 button) before the next person signs
//! in, and the citizen's steps are done signed out. Each step waits for what the page must show
//! next rather than sleeping, and leaves a screenshot in `target/screenshots/`.

use crate::harness::{PC, PHONE, Page, with_browser};
use fantoccini::Locator;
use fantoccini::elements::Element;
use std::time::{Duration, Instant};

/// How long a step may take to show its result (the machine running the tests may be busy).
const STEP_WAIT: Duration = Duration::from_secs(20);

/// The citizen's phone number; the last four digits open the tracking page.
const PHONE_NO: &str = "13812345678";
/// The title the citizen gives; the tracking page heads its result with it.
const TITLE: &str = "3号楼楼道灯坏了";
/// The citizen's follow-up question after the first reply, and the clerk's answer.
const FOLLOW_UP: &str = "线路老化的问题会一起处理吗？";
const FOLLOW_UP_ANSWER: &str = "会的，已要求承办单位一并排查线路。";
/// The handling unit the clerk assigns to (JJ-ZJ in the fixture).
const UNIT_NAME: &str = "椒江区住房和城乡建设局";

/// Waits until the first element matching `css` contains `expected`, and returns its text.
/// Polls instead of waiting for the element once, because the page before a form submission
/// may hold an element of the same kind (a notice, a state tag) with an older text.
pub(crate) async fn wait_for_text(page: &Page, css: &str, expected: &str) -> String {
    let deadline = Instant::now() + STEP_WAIT;
    loop {
        let mut seen = String::new();
        if let Ok(element) = page.client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
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

/// Clicks the first element matching `css`.
pub(crate) async fn click(page: &Page, css: &str) {
    page.find(css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
}

/// Clicks the link in `scope` whose text starts with `text` (tab labels carry a count after them).
pub(crate) async fn click_link(page: &Page, scope: &str, text: &str) {
    let xpath = format!("{scope}//a[starts-with(normalize-space(.), '{text}')]");
    let found = page
        .client
        .wait()
        .at_most(STEP_WAIT)
        .for_element(Locator::XPath(&xpath))
        .await;
    let link = match found {
        Ok(link) => link,
        Err(e) => panic!("no link “{text}” on {}: {e}", page.path().await),
    };
    link.click()
        .await
        .unwrap_or_else(|e| panic!("click “{text}”: {e}"));
}

/// Signs the current staff user out with the 退出 button in the page header.
pub(crate) async fn sign_out(page: &Page) {
    click(page, "header form[action='/logout'] button[type=submit]").await;
    page.wait_for_path("/login").await;
}

/// The form of action `code` on an item page, unfolded: the rarer actions start folded inside
/// `<details>`, which a user opens by clicking its summary.
pub(crate) async fn action_form(page: &Page, code: &str) -> Element {
    let details = page
        .find(&format!(
            "details:has(> form[action$='/act'] input[name=action][value='{code}'])"
        ))
        .await;
    if details
        .attr("open")
        .await
        .expect("open attribute")
        .is_none()
    {
        details
            .find(Locator::Css("summary"))
            .await
            .expect("summary")
            .click()
            .await
            .expect("unfold the action");
    }
    details
        .find(Locator::Css("form"))
        .await
        .expect("the action's form")
}

/// Submits an action form with its own button, checking the button says what the action is.
pub(crate) async fn submit(form: &Element, label: &str) {
    let button = form
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("submit button");
    assert_eq!(button.text().await.expect("button text"), label);
    button
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {label}: {e}"));
}

/// Waits for the state tag of the item page to read `state`.
pub(crate) async fn wait_for_state(page: &Page, state: &str) {
    wait_for_text(page, "main .tag-state", state).await;
}

/// The unit's reply: content and grade A (已解决或基本解决).
async fn reply(page: &Page, content: &str) {
    let form = action_form(page, "reply").await;
    page.fill("reply-content", content).await;
    form.find(Locator::Css("#reply-grade-A"))
        .await
        .expect("grade A")
        .click()
        .await
        .expect("choose grade A");
    submit(&form, "答复").await;
    wait_for_state(page, "已答复待审核").await;
    wait_for_text(page, "main .notice", "等待联络站审核").await;
}

/// The station's approval of the pending reply; feedback to the citizen follows at once.
async fn approve_reply(page: &Page) {
    let form = action_form(page, "approve_reply").await;
    submit(&form, "审核通过答复").await;
    wait_for_state(page, "已反馈待评价").await;
    wait_for_text(page, "main .notice", "答复已审核通过").await;
}

/// The citizen looks the item up on the tracking page with the number and the last four digits.
async fn track(page: &Page, tracking_no: &str) {
    page.open("/track").await;
    assert_eq!(page.text("main h1").await, "查询办理进度");
    page.fill("tracking_no", tracking_no).await;
    page.fill("phone_last4", &PHONE_NO[PHONE_NO.len() - 4..])
        .await;
    click(
        page,
        "main form[method=get][action='/track'] button[type=submit]",
    )
    .await;
    wait_for_text(page, "#status-h", TITLE).await;
    let (fits, m) = page.fits_viewport().await;
    assert!(fits, "the tracking page scrolls sideways on a phone: {m}");
}

/// The citizen rates the reply on the tracking page (radio `id`) and waits for the new state.
async fn rate(page: &Page, radio: &str, comment: &str, state: &str) {
    click(
        page,
        &format!("main form[method=post][action='/track'] #{radio}"),
    )
    .await;
    page.fill("comment", comment).await;
    click(
        page,
        "main form[method=post][action='/track'] button[type=submit]",
    )
    .await;
    wait_for_text(page, "main .notice", "感谢您的评价").await;
    wait_for_text(page, "main section[aria-labelledby=status-h] p b", state).await;
}

/// The id of the item shown now, from its `/work/opinions/{id}` address.
async fn item_id(page: &Page) -> i64 {
    let path = page.path().await;
    let id = path
        .strip_prefix("/work/opinions/")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("not on an item page: {path}"));
    id.parse().unwrap_or_else(|_| panic!("item id in {path}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizens_opinion_goes_round_the_whole_loop_from_the_qr_code_to_a_satisfied_rating() {
    with_browser("opinion-loop", PHONE, |mut page| async move {
        let started = Instant::now();
        let mut defects: Vec<String> = Vec::new();
        let lap = |step: &str| eprintln!("opinion-loop: {step} at {:.1} s", started.elapsed().as_secs_f64());

        // 1. The citizen scans the QR code on the station door and writes in, on a phone.
        page.open("/s/JJ-HM").await;
        page.wait_for_path("/stations/JJ-HM").await;
        assert_eq!(page.text("main h1").await, "海门街道人大代表联络站");
        page.screenshot("01-station").await;
        click_link(&page, "//main", "我要反映意见建议").await;
        page.wait_for_path("/stations/JJ-HM/opinion").await;
        assert_eq!(
            page.text("main h1").await,
            "向海门街道人大代表联络站反映意见建议"
        );
        page.fill(
            "body",
            "东山社区3号楼楼道的灯坏了一个多月，晚上上下楼看不见，老人已经摔倒过一次，希望尽快修好。",
        )
        .await;
        page.fill("title", TITLE).await;
        page.fill("place", "海门街道东山社区3号楼").await;
        page.fill("name", "王小明").await;
        page.fill("phone", PHONE_NO).await;
        click(&page, "#publishable").await;
        page.assert_viewport().await;
        let (fits, m) = page.fits_viewport().await;
        assert!(fits, "the opinion form scrolls sideways on a phone: {m}");
        page.screenshot("02-form").await;
        click(&page, "main form button[type=submit]").await;

        let tracking_no = wait_for_text(&page, "main .receipt-no b", "LZ").await;
        assert!(
            tracking_no.len() > 2 && tracking_no[2..].chars().all(|c| c.is_ascii_digit()),
            "tracking number: {tracking_no}"
        );
        assert_eq!(page.text("main h1").await, "已收到您的意见");
        let (fits, m) = page.fits_viewport().await;
        assert!(fits, "the receipt scrolls sideways on a phone: {m}");
        page.screenshot("03-receipt").await;
        lap("submitted");

        // 2. The station clerk, at a PC, accepts the item from the inbox and assigns it.
        page.resize(PC).await;
        page.sign_in("station.hm").await;
        page.open("/work/opinions").await;
        assert_eq!(page.text("main h1").await, "民意收集处理");
        let tab = page.text("nav.tabs a[aria-current=page]").await;
        assert!(tab.starts_with("待受理"), "the clerk's inbox opens on 待受理, not {tab}");
        page.screenshot("04-inbox").await;
        click_link(&page, "//main//table", &tracking_no).await;
        wait_for_text(&page, "main .crumbs", &tracking_no).await;
        let id = item_id(&page).await;
        wait_for_state(&page, "待受理").await;

        let accept = action_form(&page, "accept").await;
        submit(&accept, "受理").await;
        wait_for_state(&page, "已受理").await;
        wait_for_text(&page, "main .notice", "已受理").await;
        page.screenshot("05-accepted").await;

        let assign = action_form(&page, "assign").await;
        assign
            .find(Locator::XPath(&format!(
                ".//select[@name='unit_id']/option[contains(., '{UNIT_NAME}')]"
            )))
            .await
            .expect("the unit in the 主办单位 list")
            .click()
            .await
            .expect("choose the unit");
        submit(&assign, "交办").await;
        wait_for_state(&page, "已交办").await;
        wait_for_text(&page, "main .notice", "已交办").await;
        let units = page.text("main section[aria-labelledby=units-h] table").await;
        assert!(units.contains(UNIT_NAME), "units after assigning: {units}");
        page.screenshot("06-assigned").await;
        sign_out(&page).await;
        lap("assigned");

        // 3. The unit officer signs for the item from the 待签收 tab and replies.
        page.sign_in("unit.jjzj").await;
        page.open("/work/opinions").await;
        click_link(&page, "//nav[contains(@class, 'tabs')]", "待签收").await;
        wait_for_text(&page, "nav.tabs a[aria-current=page]", "待签收").await;
        wait_for_text(&page, "main table", &tracking_no).await;
        page.screenshot("07-unit-inbox").await;
        click_link(&page, "//main//table", &tracking_no).await;
        page.wait_for_path(&format!("/work/opinions/{id}")).await;
        wait_for_state(&page, "已交办").await;

        let acknowledge = action_form(&page, "acknowledge").await;
        submit(&acknowledge, "签收").await;
        wait_for_state(&page, "已签收").await;
        wait_for_text(&page, "main .notice", "已签收").await;
        reply(
            &page,
            "已于本周派电工更换3号楼楼道灯具，并对东山社区其他楼道照明进行了排查，共修复5处。",
        )
        .await;
        page.screenshot("08-unit-replied").await;
        sign_out(&page).await;
        lap("replied");

        // 4. The station clerk approves the reply, which goes to the citizen.
        page.sign_in("station.hm").await;
        page.open("/work/opinions").await;
        click_link(&page, "//nav[contains(@class, 'tabs')]", "待审核").await;
        wait_for_text(&page, "main table", &tracking_no).await;
        click_link(&page, "//main//table", &tracking_no).await;
        page.wait_for_path(&format!("/work/opinions/{id}")).await;
        wait_for_text(&page, "main section[aria-labelledby=replies-h]", "共修复5处").await;
        approve_reply(&page).await;
        page.screenshot("09-approved").await;
        sign_out(&page).await;
        lap("approved");

        // 5. The citizen reads the reply on the phone and is not satisfied.
        page.resize(PHONE).await;
        track(&page, &tracking_no).await;
        wait_for_text(&page, "main section[aria-labelledby=status-h] p b", "已反馈待评价").await;
        let replies = page.texts("main .reply").await;
        assert_eq!(replies.len(), 1, "one approved reply: {replies:?}");
        assert!(
            replies[0].contains("共修复5处") && replies[0].contains(UNIT_NAME),
            "the reply with its unit: {replies:?}"
        );
        page.screenshot("10-track-reply").await;
        // A follow-up question, without JavaScript: it is listed as waiting for an answer and
        // leaves the state alone.
        page.fill("fu-content", FOLLOW_UP).await;
        click(
            &page,
            "main form[method=post][action='/track/follow-up'] button[type=submit]",
        )
        .await;
        wait_for_text(&page, "main .notice", "已收到您的追问").await;
        let asked = page.text("main .follow-ups").await;
        assert!(
            asked.contains(FOLLOW_UP) && asked.contains("等待答复"),
            "the question waits for its answer: {asked}"
        );
        wait_for_text(&page, "main section[aria-labelledby=status-h] p b", "已反馈待评价").await;
        page.screenshot("10b-follow-up").await;
        rate(
            &page,
            "r3",
            "灯修好两天又不亮了，线路老化的问题没有解决。",
            "不满意待研判",
        )
        .await;
        page.screenshot("11-unsatisfied").await;
        lap("rated unsatisfied");

        // 6. The clerk sends it back for re-handling; the unit replies again; the clerk approves.
        page.resize(PC).await;
        page.sign_in("station.hm").await;
        page.open(&format!("/work/opinions/{id}")).await;
        wait_for_state(&page, "不满意待研判").await;
        // What the clerk needs to decide between 重办, 结案 and 督办: why the citizen is not
        // satisfied, and which unit handled it. Checked at the end, so the loop still runs.
        let timeline = page.text("main section[aria-labelledby=timeline-h]").await;
        if !timeline.contains("线路老化") {
            defects.push(format!(
                "the clerk's item page does not show the citizen's rating comment; 办理记录 reads:\n{timeline}"
            ));
        }
        // The entry's note is on the line after its heading.
        let assigned: Vec<&str> = timeline
            .lines()
            .skip_while(|l| !l.contains(" 交办 "))
            .take(2)
            .collect();
        if !assigned.iter().any(|l| l.contains(UNIT_NAME)) {
            defects.push(format!(
                "the 交办 entry of 办理记录 does not name the unit ({UNIT_NAME}): “{}”",
                assigned.join(" / ")
            ));
        }
        // The citizen's question waits on the item page with its answer form.
        let questions = page.text("main section[aria-labelledby=follow-ups-h]").await;
        assert!(
            questions.contains(FOLLOW_UP) && questions.contains("1条待答复"),
            "the unanswered follow-up on the item page: {questions}"
        );
        let answer = page
            .find("main section[aria-labelledby=follow-ups-h] textarea[name=answer]")
            .await;
        answer.send_keys(FOLLOW_UP_ANSWER).await.expect("type the answer");
        click(
            &page,
            "main section[aria-labelledby=follow-ups-h] form button[type=submit]",
        )
        .await;
        wait_for_text(&page, "main .notice", "已答复追问").await;
        wait_for_text(&page, "main section[aria-labelledby=follow-ups-h]", "已答复").await;
        page.screenshot("11b-follow-up-answered").await;
        let rehandle = action_form(&page, "rehandle").await;
        page.fill("rehandle-reason", "请排查线路老化问题，彻底解决。").await;
        submit(&rehandle, "重办").await;
        wait_for_state(&page, "重办中").await;
        page.screenshot("12-rehandle").await;
        sign_out(&page).await;

        // Re-handling needs no new signing for: the item is back in the unit's 办理中 list.
        page.sign_in("unit.jjzj").await;
        page.open("/work/opinions").await;
        click_link(&page, "//nav[contains(@class, 'tabs')]", "办理中").await;
        wait_for_text(&page, "nav.tabs a[aria-current=page]", "办理中").await;
        wait_for_text(&page, "main table", &tracking_no).await;
        click_link(&page, "//main//table", &tracking_no).await;
        page.wait_for_path(&format!("/work/opinions/{id}")).await;
        wait_for_state(&page, "重办中").await;
        reply(
            &page,
            "已更换3号楼整条楼道的老化线路和全部灯具，经连续一周观察照明正常。",
        )
        .await;
        sign_out(&page).await;

        page.sign_in("station.hm").await;
        page.open(&format!("/work/opinions/{id}")).await;
        wait_for_state(&page, "已答复待审核").await;
        approve_reply(&page).await;
        page.screenshot("13-second-approval").await;
        sign_out(&page).await;
        lap("re-handled");

        // 7. The citizen is satisfied and the item is closed; the timeline tells the whole story.
        page.resize(PHONE).await;
        track(&page, &tracking_no).await;
        let replies = page.texts("main .reply").await;
        assert_eq!(replies.len(), 2, "both rounds' replies: {replies:?}");
        assert!(
            replies[1].contains("老化线路") && replies[1].contains("第2轮"),
            "the second round's reply: {replies:?}"
        );
        let answered = page.text("main .follow-ups").await;
        assert!(
            answered.contains(FOLLOW_UP) && answered.contains(FOLLOW_UP_ANSWER),
            "the answer is published under the question: {answered}"
        );
        rate(&page, "r1", "这次彻底修好了，谢谢。", "已办结").await;
        assert!(
            page.client
                .find(Locator::Css("main form[action='/track/follow-up']"))
                .await
                .is_err(),
            "a closed item takes no more questions"
        );
        wait_for_text(&page, "main section[aria-labelledby=status-h]", "请重新提交意见").await;
        assert!(
            page.client
                .find(Locator::Css("main form[method=post][action='/track']"))
                .await
                .is_err(),
            "a closed item offers no rating form"
        );
        let steps: Vec<String> = page
            .texts("main ol.timeline li b")
            .await;
        let expected = [
            "提交意见",
            "受理",
            "交办",
            "签收",
            "答复",
            "审核通过答复",
            "反馈结果",
            "群众追问",
            "评价",
            "答复追问",
            "重办",
            "答复",
            "审核通过答复",
            "反馈结果",
            "评价",
        ];
        assert_eq!(steps, expected, "the public timeline");
        page.screenshot("14-closed").await;
        // Citizens read times as the staff pages show them: China time, to the minute.
        let times = page.texts("main ol.timeline li span.muted").await;
        if let Some(raw) = times.iter().find(|t| t.contains('T') || t.ends_with('Z')) {
            defects.push(format!(
                "the public timeline on /track shows machine time stamps (UTC), e.g. “{raw}”, \
                 where the staff pages show “YYYY-MM-DD HH:MM” in China time"
            ));
        }
        page.eval("document.querySelector('main ol.timeline').scrollIntoView()")
            .await;
        page.screenshot("15-timeline").await;
        lap("closed");
        assert!(
            defects.is_empty(),
            "the loop ran to the end, but:\n{}",
            defects.join("\n")
        );
    })
    .await;
}
