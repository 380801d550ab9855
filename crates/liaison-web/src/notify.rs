//! Delivering the notification outbox, and the timers of the opinion loop.
//!
//! Senders are pluggable: in-app notices need no delivery (the workbench inboxes show the work),
//! SMS goes through an [`SmsGateway`] (a real gateway is deployment-specific; the default logs
//! the masked number and the text), and every notice can also be posted to a webhook (for
//! example a relay to 浙政钉 work notices). Failed deliveries are retried with a growing delay.

use crate::AppState;
use liaison_core::workflow::OpinionAction;
use liaison_db::audit::Actor;
use liaison_db::notifications::{self, Notification};
use liaison_db::opinions::{self, Acting, ActionInput};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Sends a text message.
pub trait SmsGateway: Send + Sync {
    /// Sends `text` to `phone`; an error is retried later.
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// The default gateway: writes the masked number and the text to the log.
pub struct LogSms;

impl SmsGateway for LogSms {
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(phone = %liaison_core::validate::mask_phone(phone), %text, "SMS (log gateway)");
            Ok(())
        })
    }
}

/// A test double that keeps what it was asked to send.
#[derive(Default)]
pub struct RecordingSms {
    /// (phone, text) pairs in order.
    pub sent: Mutex<Vec<(String, String)>>,
    /// When set, every send fails with this error.
    pub fail_with: Mutex<Option<String>>,
}

impl SmsGateway for RecordingSms {
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            if let Some(e) = self.fail_with.lock().expect("lock").clone() {
                return Err(e);
            }
            self.sent
                .lock()
                .expect("lock")
                .push((phone.to_owned(), text.to_owned()));
            Ok(())
        })
    }
}

/// How notifications leave the system.
pub struct Senders {
    /// SMS gateway.
    pub sms: Arc<dyn SmsGateway>,
    /// Optional webhook receiving every notification as JSON.
    pub webhook: Option<String>,
}

impl Default for Senders {
    fn default() -> Self {
        Senders {
            sms: Arc::new(LogSms),
            webhook: std::env::var("LIAISON_WEBHOOK_URL")
                .ok()
                .filter(|u| !u.is_empty()),
        }
    }
}

/// The Chinese text of a notification.
pub fn render(n: &Notification, public_url: &str) -> String {
    let p: serde_json::Value = serde_json::from_str(&n.payload).unwrap_or_default();
    let no = p["tracking_no"].as_str().unwrap_or("");
    let title = p["title"].as_str().unwrap_or("");
    match n.template.as_str() {
        "opinion.submitted" => format!("【联络站】收到新的群众意见待受理：{title}（{no}）"),
        "opinion.to_deputy" => format!(
            "【联络站】群众通过您的代表码反映了意见：{title}（{no}），联络站将受理交办，您可在工作台查看和当场答复"
        ),
        "opinion.assigned" => {
            format!("【联络站】交办事项待签收：{title}（{no}），请在1个工作日内签收")
        }
        "opinion.feedback" | "opinion.feedback_sent" => format!(
            "【人大代表联络站】您反映的事项（受理编号{no}）已有答复，请凭受理编号和手机号后四位查询并评价：{public_url}/track?tracking_no={no}"
        ),
        "opinion.declined" => format!(
            "【人大代表联络站】您反映的事项（受理编号{no}）不予受理，原因及建议的反映渠道请查询：{public_url}/track?tracking_no={no}"
        ),
        "opinion.accepted" => format!(
            "【人大代表联络站】您反映的事项已受理，受理编号{no}，可凭编号和手机号后四位查询进度：{public_url}/track?tracking_no={no}"
        ),
        "opinion.closed" => {
            format!("【人大代表联络站】您反映的事项（受理编号{no}）已办结，感谢您的参与和评价。")
        }
        "opinion.merged" => format!(
            "【人大代表联络站】您反映的事项（受理编号{no}）与相同问题合并办理，办理结果将一并反馈。"
        ),
        "opinion.follow_up_answered" => format!(
            "【人大代表联络站】您对反映事项（受理编号{no}）的追问已有答复，请凭受理编号和手机号后四位查看：{public_url}/track?tracking_no={no}"
        ),
        "opinion.converted" => format!("【联络站】事项 {no}（{title}）已转为代表闭会建议办理"),
        // 主题活动: invitations and changes for deputies, replies and reports for stations.
        "activity.invited" => format!("【联络站】邀请您参加活动“{title}”，请在工作台回复是否参加"),
        "activity.substitute" => {
            format!("【联络站】有代表请假并推荐您代为参加活动“{title}”，请在工作台回复")
        }
        "activity.cancelled" => format!("【联络站】活动“{title}”已取消"),
        "activity.replied" => format!("【联络站】受邀代表已回复活动“{title}”的邀请"),
        "activity.promoted" => format!(
            "【人大代表联络站】您报名的活动“{title}”（{}，{}）已由候补递补为报名成功，报名号{}，请按时参加；如不能参加，请凭报名号和手机号后四位取消。",
            p["starts"].as_str().unwrap_or(""),
            p["place"].as_str().unwrap_or(""),
            p["signup_no"].as_str().unwrap_or("")
        ),
        "activity.reported" => format!("【联络站】活动“{title}”的情况已上报，请查阅"),
        other => {
            let what = match other {
                "opinion.assigned_co" => "协办事项待办理",
                "opinion.replied" => "承办单位已答复，待审核",
                "opinion.reply_approved" => "答复已审核通过并反馈群众",
                "opinion.reply_rejected" => "答复被退回，请重新答复",
                "opinion.return_requested" => "承办单位申请退回，待审批",
                "opinion.return_approved" => "退回申请已同意",
                "opinion.supervision_opened" => "已列入督办，请跟踪承办单位在督办期限内答复",
                "opinion.feedback_undelivered" => {
                    "反馈短信多次发送失败，群众尚不知道已有答复，请电话回访并记录评价"
                }
                "opinion.return_rejected" => "退回申请未同意，请继续办理",
                "opinion.extension_requested" => "承办单位申请延期，待审批",
                "opinion.extension_approved" => "延期申请已同意",
                "opinion.extension_rejected" => "延期申请未同意",
                "opinion.rated" => "群众已评价",
                "opinion.follow_up" => "群众追问，请答复",
                "opinion.rehandle" => "群众不满意，需重新办理",
                "opinion.supervised" => "事项已列入督办",
                "opinion.due_soon" => "即将到期，请抓紧办理（黄灯）",
                "opinion.overdue" => "已超期，请立即办理（红灯催办）",
                // 闭会建议 (issue 4).
                "suggestion.cosign_invited" => "代表邀请您联名闭会建议",
                "suggestion.cosigned" => "有代表已联名您的建议",
                "suggestion.cosign_withdrawn" => "有代表撤回了联名",
                "suggestion.submitted" => "代表建议已提交，待立案",
                "suggestion.registered" => "建议已立案",
                "suggestion.assigned" => "代表建议已交办，请签收并在期限内答复",
                "suggestion.assigned_co" => "代表建议协办，请在1个月内向主办单位提出协办意见",
                "suggestion.return_requested" => "承办单位申请退回建议，待审批",
                "suggestion.return_approved" => "建议退回申请已同意",
                "suggestion.return_rejected" => "建议退回申请未同意，请继续办理",
                "suggestion.co_opinion" => "协办单位已提出协办意见",
                "suggestion.replied" => "建议已答复，请评价",
                "suggestion.rated" => "代表已评价建议办理结果",
                "suggestion.rehandle" => "代表不满意，请重新办理并在1个月内再次答复",
                "suggestion.second_replied" => "建议已再次答复",
                "suggestion.closed" => "建议已办结",
                "suggestion.supplemented" => "代表为建议补充了材料",
                "suggestion.due_soon" => "建议答复即将到期，请抓紧办理（黄灯）",
                "suggestion.overdue" => "建议答复已超期，请立即办理（红灯催办）",
                "suggestion.co_opinion_due_soon" => "协办意见即将到期，请尽快向主办单位提出",
                "suggestion.co_opinion_overdue" => "协办意见已超期，请立即向主办单位提出",
                _ => "有新的进展",
            };
            format!("【联络站】{title}（{no}）：{what}")
        }
    }
}

/// Delivers one notification: to the webhook first (if configured), then by SMS. In this order
/// a failing webhook retries before the citizen's SMS has gone out, so nobody gets the same
/// text twice; a failing SMS gateway may make the webhook see a notification again, which its
/// `id` lets the receiver recognise.
async fn deliver(state: &AppState, senders: &Senders, n: &Notification) -> Result<(), String> {
    let text = render(n, &state.config.public_url);
    if let Some(url) = &senders.webhook {
        let body = serde_json::json!({
            "id": n.id, "channel": n.channel, "recipient": n.recipient, "template": n.template,
            "opinion_id": n.opinion_id, "text": text,
        });
        let resp = reqwest::Client::new()
            .post(url)
            .json(&body)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("webhook: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("webhook 返回 {}", resp.status()));
        }
    }
    if n.channel == "sms" {
        let id_after = |prefix: &str| {
            n.recipient
                .strip_prefix(prefix)
                .and_then(|s| s.parse::<i64>().ok())
        };
        // The phone is looked up (and decrypted) only at delivery: the outbox holds no numbers.
        let phone_enc = if let Some(opinion_id) = id_after("submitter:") {
            opinions::get(&state.db, opinion_id)
                .await
                .map_err(|e| e.to_string())?
                .submitter_phone_enc
        } else if let Some(signup_id) = id_after("signup:") {
            liaison_db::activities::signup_phone_enc(&state.db, signup_id)
                .await
                .map_err(|e| e.to_string())?
        } else {
            return Err("收件人格式错误".into());
        };
        let phone = state.keys.decrypt(&phone_enc).map_err(|e| e.to_string())?;
        if phone.is_empty() {
            return Ok(());
        }
        senders.sms.send(&phone, &text).await?;
    }
    Ok(())
}

/// Delivers every due notification once. Returns how many were handled.
pub async fn deliver_due(state: &AppState, senders: &Senders) -> usize {
    let due = match notifications::due(&state.db, 200).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox failed");
            return 0;
        }
    };
    let mut sent = Vec::with_capacity(due.len());
    for n in &due {
        match deliver(state, senders, n).await {
            Ok(()) => sent.push(n),
            Err(err) => {
                tracing::warn!(id = n.id, error = %err, "notification delivery failed; will retry");
                if let Err(e) = notifications::mark_failed(&state.db, n, &err).await {
                    tracing::error!(error = %e, "updating the outbox failed");
                }
            }
        }
    }
    if let Err(e) = notifications::mark_sent(&state.db, &sent).await {
        tracing::error!(error = %e, "updating the outbox failed");
    }
    due.len()
}

/// A timer's action on one item failed. A refusal by the workflow is expected (the guards
/// decide on each candidate); anything else is logged, so that a broken timer shows.
fn timer_failed(id: i64, action: &str, e: liaison_db::handling::ActError) {
    match e {
        liaison_db::handling::ActError::Workflow(_) => {}
        other => tracing::warn!(id, action, error = %other, "timer action failed"),
    }
}

/// Runs the timers once: closes items whose rating window ended, and opens supervision cases
/// for items long overdue. The workflow's guards make the final decision for each item.
pub async fn run_timers(state: &AppState) -> usize {
    run_timers_on(state, opinions::today()).await
}

/// [`run_timers`] as on `today` (China time), which tests choose so that their reminders do not
/// depend on the day of the week they run on.
pub async fn run_timers_on(state: &AppState, today: time::Date) -> usize {
    let mut done = 0;
    // A copy: holding the lock for the whole run would make every action on an opinion wait
    // behind an administrator saving the calendar meanwhile (writers go first).
    let rules = state.rules.read().await.clone();
    let mut r = state.opinion_rules(&rules);
    r.today = today;
    let system = Actor::system("定时任务");
    // Candidates by the shortest window configured (the 时限设置 page can change it); the
    // guard checks each item's own window.
    let window_start = today - time::Duration::days(rules.sla.shortest_rating_window_days());
    let candidates = notifications::rating_window_candidates(&state.db, window_start, 500)
        .await
        .unwrap_or_default();
    for id in candidates {
        if opinions::act(
            &state.db,
            &state.keys,
            &r,
            Acting::System,
            &system,
            id,
            OpinionAction::CloseUnrated,
            &ActionInput::default(),
        )
        .await
        .map_err(|e| timer_failed(id, "CloseUnrated", e))
        .is_ok()
        {
            done += 1;
        }
    }
    // Reminders (催办): the day before a step's deadline, and every day after it has passed.
    // Only on working days: nobody acts on a reminder sent on a Sunday.
    let remind = rules.calendar.is_working_day(today);
    let tomorrow = rules.calendar.next_working_day(today);
    // They go to whoever owns the step: the unit while it handles the item, the station while
    // a reply waits for review or a request for its decision; nobody for the citizen's rating
    // window, which closes by itself.
    for (id, no, title, station, unit, due, st) in
        notifications::due_soon(&state.db, tomorrow, if remind { 5000 } else { 0 })
            .await
            .unwrap_or_default()
    {
        use liaison_core::workflow::{OpinionState, StepOwner};
        let whom = match (OpinionState::parse(&st).and_then(|s| s.step_owner()), unit) {
            (Some(StepOwner::Unit), Some(u)) => format!("unit:{u}"),
            (Some(_), _) => format!("station:{station}"),
            (None, _) => continue,
        };
        let template = if due < today {
            "opinion.overdue"
        } else {
            "opinion.due_soon"
        };
        let payload =
            serde_json::json!({"tracking_no": no, "title": title, "due_on": due.to_string()})
                .to_string();
        if notifications::remind_once(
            &state.db,
            liaison_db::handling::Item::Opinion(id),
            &whom,
            template,
            &payload,
            today,
        )
        .await
        .unwrap_or(false)
        {
            done += 1;
        }
    }
    // The same for suggestions (闭会建议): the lead unit's reply and co-units' opinions.
    for (id, no, title, unit, due, kind) in
        notifications::suggestion_deadlines(&state.db, tomorrow, if remind { 2000 } else { 0 })
            .await
            .unwrap_or_default()
    {
        let template = match (kind, due < today) {
            ("reply", true) => "suggestion.overdue",
            ("reply", false) => "suggestion.due_soon",
            (_, true) => "suggestion.co_opinion_overdue",
            (_, false) => "suggestion.co_opinion_due_soon",
        };
        let payload = serde_json::json!({"number": no, "title": title, "due_on": due.to_string()})
            .to_string();
        if notifications::remind_once(
            &state.db,
            liaison_db::handling::Item::Suggestion(id),
            &format!("unit:{unit}"),
            template,
            &payload,
            today,
        )
        .await
        .unwrap_or(false)
        {
            done += 1;
        }
    }
    let overdue = notifications::overdue_candidates(&state.db, today, 500)
        .await
        .unwrap_or_default();
    for id in overdue {
        if opinions::act(
            &state.db,
            &state.keys,
            &r,
            Acting::System,
            &system,
            id,
            OpinionAction::Escalate,
            &ActionInput::default(),
        )
        .await
        .map_err(|e| timer_failed(id, "Escalate", e))
        .is_ok()
        {
            done += 1;
        }
    }
    done
}

/// Starts the background delivery and timer loops; they stop when the returned handles drop.
pub fn spawn_workers(state: AppState, senders: Arc<Senders>) -> Vec<tokio::task::JoinHandle<()>> {
    let s1 = state.clone();
    let deliver_loop = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            deliver_due(&s1, &senders).await;
        }
    });
    let timer_loop = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let n = run_timers(&state).await;
            if n > 0 {
                tracing::info!(count = n, "timers closed or escalated items");
            }
        }
    });
    vec![deliver_loop, timer_loop]
}
