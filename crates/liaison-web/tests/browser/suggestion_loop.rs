//! An inter-session suggestion in one browser, the way the people involved use it: a deputy on a
//! phone drafts it from the deputy workbench and invites a colleague, who co-signs; the deputy
//! submits; the county's deputy affairs office (PC) registers and assigns it; the handling unit
//! signs for it, records the face-to-face consultation and replies; the deputy rates the reply
//! on the phone. Then axe-core checks the new pages at PC and phone sizes.

use crate::axe;
use crate::harness::{PC, PHONE, Page, with_browser};
use crate::opinion_loop::{
    action_form, click, click_link, sign_out, submit, wait_for_state, wait_for_text,
};
use fantoccini::Locator;

const TITLE: &str = "关于加快老旧小区加装电梯的建议";
const UNIT_NAME: &str = "椒江区住房和城乡建设局";

/// The id of the suggestion shown now, from its `/work/suggestions/{id}` address.
async fn suggestion_id(page: &Page) -> i64 {
    let path = page.path().await;
    path.strip_prefix("/work/suggestions/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not on a suggestion page: {path}"))
}

/// Chooses the option of `select[name=…]` inside `form` whose text contains `text`.
async fn choose(form: &fantoccini::elements::Element, name: &str, text: &str) {
    form.find(Locator::XPath(&format!(
        ".//select[@name='{name}']/option[contains(., '{text}')]"
    )))
    .await
    .unwrap_or_else(|e| panic!("option “{text}” of {name}: {e}"))
    .click()
    .await
    .expect("choose the option");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_goes_from_draft_through_cosigning_and_assignment_to_the_deputys_rating() {
    with_browser("suggestion-loop", PHONE, |mut page| async move {
        // 1. The deputy, on a phone, drafts from the deputy workbench.
        page.sign_in("deputy.d1").await;
        page.open("/work/me").await;
        assert_eq!(page.text("main h1").await, "代表工作台");
        let (fits, m) = page.fits_viewport().await;
        assert!(fits, "the deputy workbench scrolls sideways on a phone: {m}");
        page.screenshot("01-deputy-home").await;
        click_link(&page, "//main", "起草建议").await;
        page.wait_for_path("/work/suggestions/new").await;
        page.fill("title", TITLE).await;
        page.fill(
            "body",
            "海门街道老旧小区多，老人上下楼困难。建议区政府统筹资金、简化审批，每年完成100台加装电梯。",
        )
        .await;
        page.screenshot("02-draft-form").await;
        click(&page, "main form button[type=submit]").await;
        wait_for_text(&page, "main .notice", "草稿已保存").await;
        let id = suggestion_id(&page).await;
        wait_for_state(&page, "草稿").await;

        let invite = action_form(&page, "invite_cosigner").await;
        choose(&invite, "cosigner", "赵白云").await;
        submit(&invite, "邀请联名").await;
        wait_for_text(&page, "main .notice", "已邀请联名").await;
        wait_for_text(&page, "main section[aria-labelledby=cos-h]", "已邀请，待联名").await;
        page.screenshot("03-invited").await;
        sign_out(&page).await;

        // 2. The invited deputy finds the invitation and co-signs.
        page.sign_in("deputy.d3").await;
        page.open("/work/suggestions").await;
        click_link(&page, "//nav[contains(@class, 'tabs')]", "邀请我联名").await;
        wait_for_text(&page, "main table", TITLE).await;
        click_link(&page, "//main//table", "草稿").await;
        page.wait_for_path(&format!("/work/suggestions/{id}")).await;
        let cosign = action_form(&page, "cosign").await;
        submit(&cosign, "联名").await;
        wait_for_text(&page, "main .notice", "您已联名").await;
        wait_for_text(&page, "main section[aria-labelledby=cos-h]", "已联名").await;
        page.screenshot("04-cosigned").await;
        sign_out(&page).await;

        // 3. The proposing deputy submits: the text is frozen.
        page.sign_in("deputy.d1").await;
        page.open(&format!("/work/suggestions/{id}")).await;
        let submit_form = action_form(&page, "submit").await;
        submit(&submit_form, "提交").await;
        wait_for_state(&page, "已提交待立案").await;
        wait_for_text(&page, "main .crumbs", "JY").await;
        wait_for_text(&page, "main section[aria-labelledby=body-h] h2", "提交时的版本").await;
        page.screenshot("05-submitted").await;
        sign_out(&page).await;

        // 4. The county office, at a PC, registers and assigns it.
        page.resize(PC).await;
        page.sign_in("county.jj").await;
        page.open("/work/suggestions").await;
        let tab = page.text("nav.tabs a[aria-current=page]").await;
        assert!(tab.starts_with("待立案"), "the registry opens on 待立案, not {tab}");
        wait_for_text(&page, "main table", TITLE).await;
        page.screenshot("06-registry").await;
        click_link(&page, "//main//table", "JY").await;
        page.wait_for_path(&format!("/work/suggestions/{id}")).await;
        let register = action_form(&page, "register").await;
        register
            .find(Locator::Css("#register-reg-suggestion"))
            .await
            .expect("作为建议立案")
            .click()
            .await
            .expect("choose 作为建议立案");
        submit(&register, "立案").await;
        wait_for_state(&page, "已立案").await;
        let assign = action_form(&page, "assign").await;
        choose(&assign, "unit_id", UNIT_NAME).await;
        submit(&assign, "交办").await;
        wait_for_state(&page, "已交办").await;
        wait_for_text(&page, "main section[aria-labelledby=units-h]", UNIT_NAME).await;
        page.screenshot("07-assigned").await;
        sign_out(&page).await;

        // 5. The unit signs for it, records the consultation with the deputy, and replies.
        page.sign_in("unit.jjzj").await;
        page.open("/work/suggestions").await;
        let tab = page.text("nav.tabs a[aria-current=page]").await;
        assert!(tab.starts_with("待签收"), "the unit's list opens on 待签收, not {tab}");
        wait_for_text(&page, "main table", TITLE).await;
        click_link(&page, "//main//table", "JY").await;
        page.wait_for_path(&format!("/work/suggestions/{id}")).await;
        let ack = action_form(&page, "acknowledge").await;
        submit(&ack, "签收").await;
        wait_for_state(&page, "已签收").await;
        let consult = action_form(&page, "record_consultation").await;
        page.fill(
            "record_consultation-content",
            "与张海门代表当面座谈，商定分三批推进，首批30台年内开工。",
        )
        .await;
        submit(&consult, "面商").await;
        wait_for_state(&page, "办理中").await;
        let reply = action_form(&page, "reply").await;
        page.fill(
            "reply-content",
            "已将加装电梯列入2026年民生实事，首批30台已开工，审批时限压缩至15个工作日。",
        )
        .await;
        reply
            .find(Locator::Css("#reply-grade-A"))
            .await
            .expect("grade A")
            .click()
            .await
            .expect("choose grade A");
        submit(&reply, "答复").await;
        wait_for_state(&page, "已答复待评价").await;
        wait_for_text(&page, "main section[aria-labelledby=records-h]", "面商记录").await;
        page.screenshot("08-replied").await;
        sign_out(&page).await;

        // 6. The deputy rates on the phone, from the workbench's 待我评价.
        page.resize(PHONE).await;
        page.sign_in("deputy.d1").await;
        page.open("/work/me").await;
        click_link(&page, "//main", "1待我评价").await;
        wait_for_text(&page, "main table", TITLE).await;
        click_link(&page, "//main//table", "JY").await;
        page.wait_for_path(&format!("/work/suggestions/{id}")).await;
        wait_for_text(&page, "main section[aria-labelledby=records-h]", "首批30台已开工").await;
        let rate = action_form(&page, "rate").await;
        rate.find(Locator::Css("#rate-rating-satisfied"))
            .await
            .expect("满意")
            .click()
            .await
            .expect("choose 满意");
        page.fill("rate-comment", "办理认真，进展明显。").await;
        submit(&rate, "评价").await;
        wait_for_state(&page, "已评价").await;
        wait_for_text(&page, "main .notice", "评价已提交").await;
        let (fits, m) = page.fits_viewport().await;
        assert!(fits, "the suggestion page scrolls sideways on a phone: {m}");
        page.screenshot("09-rated").await;
        let steps = page.texts("main ol.timeline li b").await;
        assert_eq!(
            steps,
            ["起草建议", "邀请联名", "联名", "提交", "立案", "交办", "签收", "面商", "答复", "评价"]
        );

        // The suggestion is in the deputy's duty record.
        page.open("/work/duty-record").await;
        wait_for_text(&page, "main ol.timeline", "领衔提出建议").await;
        page.screenshot("10-duty-record").await;

        // 7. Accessibility of the new pages, for the deputy and for the county office.
        let Some(source) = axe::axe_source() else {
            return;
        };
        let deputy_pages = [
            "/work/me".to_owned(),
            "/work/suggestions".to_owned(),
            "/work/suggestions/new".to_owned(),
            format!("/work/suggestions/{id}"),
            "/work/duty-record".to_owned(),
        ];
        let county_pages = [
            "/work/suggestions".to_owned(),
            format!("/work/suggestions/{id}"),
            "/work/duty-record".to_owned(),
        ];
        let mut found = Vec::new();
        for (user, paths) in [("deputy.d1", &deputy_pages[..]), ("county.jj", &county_pages[..])] {
            if user != "deputy.d1" {
                page.resize(PC).await;
                sign_out(&page).await;
                page.sign_in(user).await;
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
        for v in &found {
            eprint!("{v}");
        }
        let blocking: Vec<_> = found.iter().filter(|v| v.is_blocking()).collect();
        assert!(
            blocking.is_empty(),
            "{} serious or critical accessibility violations:\n{}",
            blocking.len(),
            blocking
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("")
        );
    })
    .await;
}
