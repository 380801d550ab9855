//! 主题活动 and 督政议事 without input/output: the kinds of activity a station's annual plan
//! names, the lifecycle of an activity (`reference.md` §3.5), the rules of public sign-up,
//! deputies' check-in and notice periods, the small lifecycle of a deliberation topic, and the
//! iCalendar text of a deputy's feed.
//!
//! The lifecycle is a small explicit table ([`ACTIVITY_RULES`]) rather than a third rule set of
//! [`crate::workflow`]: that engine's context, guards and effects are built around handling
//! deadlines in working days, rounds, ratings and grades, none of which an activity has, while an
//! activity's guards are about clock time (notice period, check-in window); and growing the
//! engine's guard and kind enums for them would tie two unrelated workflows together. The table
//! reuses the engine's vocabulary — [`crate::workflow::Code`], [`Actor`] — and its refusals ([`RuleError`]) carry
//! the same stable codes as the engine's (`wrong_state`, `not_permitted`, `refused`).

use crate::org::coded_enum;
use crate::workflow::{Actor, impl_code};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// China Standard Time, the one time zone of the installation.
pub const CHINA: UtcOffset = time::macros::offset!(+8);

/// Days of notice an announcement should give (2–3 days in practice, §3.5); a later one is
/// allowed, warned about and recorded.
pub const NOTICE_MIN_DAYS: i64 = 2;

/// Check-in opens this long before the start …
pub const CHECK_IN_OPENS_BEFORE: Duration = Duration::minutes(60);
/// … and closes this long after the end.
pub const CHECK_IN_CLOSES_AFTER: Duration = Duration::minutes(60);

coded_enum!(
    /// What kind of activity it is; the annual plan is made of these.
    ActivityKind {
        ReceptionDay => ("reception_day", "代表接待日"),
        DutyShift => ("duty_shift", "轮值驻站"),
        Themed => ("themed", "主题活动"),
        DirectorFaceToFace => ("director_face_to_face", "局长代表面对面"),
        StateOrganVisit => ("state_organ_visit", "一府一委两院进站"),
        Inspection => ("inspection", "视察调研"),
        LawEnforcementCheck => ("law_enforcement_check", "执法检查"),
        DeputyGroup => ("deputy_group", "代表小组活动"),
        ReportBack => ("report_back", "代表述职"),
        StudyExchange => ("study_exchange", "学习交流"),
        DemocraticConsultation => ("democratic_consultation", "民主恳谈/协商议事"),
        LegislativeConsultation => ("legislative_consultation", "立法征询座谈会"),
        DeputiesInGrids => ("deputies_in_grids", "代表进网格"),
    }
);
impl_code!(ActivityKind);

impl ActivityKind {
    /// The type of duty-record entry attending this kind of activity is for a deputy.
    pub fn duty_kind(self) -> crate::duty::DutyKind {
        use crate::duty::DutyKind as K;
        match self {
            ActivityKind::ReceptionDay => K::Reception,
            ActivityKind::DutyShift => K::DutyShift,
            ActivityKind::Inspection => K::Inspection,
            ActivityKind::LawEnforcementCheck => K::LawEnforcementCheck,
            ActivityKind::ReportBack => K::ReportBack,
            ActivityKind::StudyExchange => K::Study,
            ActivityKind::DemocraticConsultation
            | ActivityKind::DirectorFaceToFace
            | ActivityKind::StateOrganVisit => K::Deliberation,
            ActivityKind::LegislativeConsultation => K::LegislativeConsultation,
            ActivityKind::Themed | ActivityKind::DeputyGroup | ActivityKind::DeputiesInGrids => {
                K::ActivityAttended
            }
        }
    }

    /// Whether citizens usually come: the public sign-up form is offered by default.
    pub fn public_by_default(self) -> bool {
        matches!(
            self,
            ActivityKind::ReceptionDay
                | ActivityKind::Themed
                | ActivityKind::DirectorFaceToFace
                | ActivityKind::StateOrganVisit
                | ActivityKind::ReportBack
                | ActivityKind::DemocraticConsultation
                | ActivityKind::LegislativeConsultation
        )
    }
}

coded_enum!(
    /// State of an activity (§3.5), plus cancellation before it takes place.
    ActivityState {
        Planned => ("planned", "计划中"),
        Announced => ("announced", "已发布预告"),
        InSession => ("in_session", "进行中"),
        Recorded => ("recorded", "已记录"),
        FollowUp => ("follow_up", "跟踪落实中"),
        Reported => ("reported", "已上报"),
        Cancelled => ("cancelled", "已取消"),
    }
);
impl_code!(ActivityState);

impl ActivityState {
    /// Whether the public may see the activity (calendar, page, feed).
    pub fn is_public(self) -> bool {
        !matches!(self, ActivityState::Planned)
    }

    /// Whether the activity has taken place (its record is being kept or is done).
    pub fn has_happened(self) -> bool {
        matches!(
            self,
            ActivityState::InSession
                | ActivityState::Recorded
                | ActivityState::FollowUp
                | ActivityState::Reported
        )
    }
}

coded_enum!(
    /// What can be done to an activity. The label is the history entry.
    ActivityAction {
        Announce => ("announce", "发布预告"),
        Start => ("start", "开始活动"),
        Record => ("record", "形成活动记录"),
        TrackFollowUp => ("track_follow_up", "转入跟踪落实"),
        Report => ("report", "上报"),
        Cancel => ("cancel", "取消活动"),
    }
);
impl_code!(ActivityAction);

coded_enum!(
    /// A deputy's answer to an invitation.
    InvitationReply {
        Pending => ("pending", "待回复"),
        Accepted => ("accepted", "参加"),
        Declined => ("declined", "请假"),
    }
);

coded_enum!(
    /// Where a citizen's sign-up stands.
    SignupStatus {
        Confirmed => ("confirmed", "报名成功"),
        Waitlisted => ("waitlisted", "候补"),
        Cancelled => ("cancelled", "已取消"),
    }
);

coded_enum!(
    /// How a deputy's attendance was recorded.
    AttendanceMethod {
        CheckIn => ("check_in", "扫码签到"),
        StaffMarked => ("staff_marked", "工作人员登记"),
    }
);

coded_enum!(
    /// State of an agreed follow-up item or measure.
    FollowUpState {
        Open => ("open", "落实中"),
        Done => ("done", "已落实"),
    }
);

/// A condition of an activity transition besides state and actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityGuard {
    /// The activity starts later than now (an announcement of the past means nothing).
    StartsInFuture,
    /// Now is inside the check-in window.
    WithinCheckInWindow,
    /// The start time has been reached (a record of what has not happened is refused).
    HasStarted,
    /// Minutes are written.
    MinutesGiven,
    /// At least one follow-up item is open.
    HasOpenItems,
    /// No follow-up item is open.
    AllItemsDone,
    /// A reason is given.
    ReasonGiven,
}

/// One row of the activity table.
#[derive(Debug, Clone, Copy)]
pub struct ActivityRule {
    /// States in which the action is possible.
    pub from: &'static [ActivityState],
    /// The action.
    pub action: ActivityAction,
    /// Where it leads.
    pub to: ActivityState,
    /// Who may take it.
    pub actors: &'static [Actor],
    /// Conditions, checked in order.
    pub guards: &'static [ActivityGuard],
}

use ActivityAction as AA;
use ActivityGuard as G;
use ActivityState as AS;

/// The activity lifecycle: planned → announced → in session → recorded → follow-up → reported.
/// An activity entered after the fact (补录) may be recorded straight from planned, and one
/// without agreed follow-up items is reported straight from recorded.
pub static ACTIVITY_RULES: &[ActivityRule] = &[
    ActivityRule {
        from: &[AS::Planned],
        action: AA::Announce,
        to: AS::Announced,
        actors: &[Actor::StationStaff],
        guards: &[G::StartsInFuture],
    },
    ActivityRule {
        from: &[AS::Announced],
        action: AA::Start,
        to: AS::InSession,
        // The system starts it when the first deputy checks in.
        actors: &[Actor::StationStaff, Actor::System],
        guards: &[G::WithinCheckInWindow],
    },
    // In session it has begun (check-in opens before the start); otherwise its time must have
    // come: a record of what has not happened is refused.
    ActivityRule {
        from: &[AS::InSession],
        action: AA::Record,
        to: AS::Recorded,
        actors: &[Actor::StationStaff],
        guards: &[G::MinutesGiven],
    },
    ActivityRule {
        from: &[AS::Planned, AS::Announced],
        action: AA::Record,
        to: AS::Recorded,
        actors: &[Actor::StationStaff],
        guards: &[G::HasStarted, G::MinutesGiven],
    },
    ActivityRule {
        from: &[AS::Recorded],
        action: AA::TrackFollowUp,
        to: AS::FollowUp,
        actors: &[Actor::StationStaff],
        guards: &[G::HasOpenItems],
    },
    ActivityRule {
        from: &[AS::Recorded, AS::FollowUp],
        action: AA::Report,
        to: AS::Reported,
        actors: &[Actor::StationStaff],
        guards: &[G::AllItemsDone],
    },
    ActivityRule {
        from: &[AS::Planned, AS::Announced],
        action: AA::Cancel,
        to: AS::Cancelled,
        actors: &[Actor::StationStaff],
        guards: &[G::ReasonGiven],
    },
];

/// What the guards look at.
#[derive(Debug, Clone)]
pub struct ActivityFacts {
    /// Now.
    pub now: OffsetDateTime,
    /// Start.
    pub starts_at: OffsetDateTime,
    /// End.
    pub ends_at: OffsetDateTime,
    /// Minutes written (already stored, or given with the action).
    pub has_minutes: bool,
    /// Follow-up items not yet done.
    pub open_items: i64,
    /// A reason given with the action.
    pub reason: Option<String>,
}

/// Why an action on an activity or a deliberation is refused; the message is Chinese, says why
/// and what to do. Suggested HTTP statuses: 409, 403, 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Not possible in the current state.
    #[error("{message}")]
    WrongState {
        /// Code of the current state.
        state: &'static str,
        /// Code of the action.
        action: &'static str,
        /// Chinese explanation.
        message: String,
    },
    /// The user is not an organiser of the item.
    #[error("{message}")]
    NotPermitted {
        /// Code of the action.
        action: &'static str,
        /// Chinese explanation.
        message: String,
    },
    /// A condition is not met (time, minutes, open items, reason).
    #[error("{message}")]
    Refused {
        /// Chinese explanation.
        message: String,
    },
}

impl RuleError {
    /// Stable code for the API: `wrong_state`, `not_permitted` or `refused`.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::WrongState { .. } => "wrong_state",
            RuleError::NotPermitted { .. } => "not_permitted",
            RuleError::Refused { .. } => "refused",
        }
    }

    /// The Chinese message.
    pub fn message(&self) -> &str {
        match self {
            RuleError::WrongState { message, .. }
            | RuleError::NotPermitted { message, .. }
            | RuleError::Refused { message } => message,
        }
    }
}

/// What an allowed action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityDecision {
    /// State before.
    pub from: ActivityState,
    /// State after.
    pub to: ActivityState,
    /// Chinese label for the history.
    pub label: &'static str,
    /// A warning that does not stop the action (a late announcement), to show and record.
    pub warning: Option<String>,
}

/// Whether any rule allows `action` in `state`.
pub fn activity_allows(state: ActivityState, action: ActivityAction) -> bool {
    ACTIVITY_RULES
        .iter()
        .any(|r| r.action == action && r.from.contains(&state))
}

/// Decides an action on an activity in `state` by users who are `actors`.
pub fn decide_activity(
    state: ActivityState,
    action: ActivityAction,
    actors: &[Actor],
    facts: &ActivityFacts,
) -> Result<ActivityDecision, RuleError> {
    let Some(rule) = ACTIVITY_RULES
        .iter()
        .find(|r| r.action == action && r.from.contains(&state))
    else {
        return Err(RuleError::WrongState {
            state: state.code(),
            action: action.code(),
            message: format!(
                "活动当前状态为“{}”，不能{}；{}",
                state.label(),
                action.label(),
                activity_hint(action)
            ),
        });
    };
    if !rule.actors.iter().any(|a| actors.contains(a)) {
        return Err(RuleError::NotPermitted {
            action: action.code(),
            message: format!(
                "只有活动所属联络站的工作人员可以{}；您与该活动没有组织关系。如需办理，请联系该联络站",
                action.label()
            ),
        });
    }
    for &guard in rule.guards {
        if let Some(message) = activity_refusal(guard, facts) {
            return Err(RuleError::Refused { message });
        }
    }
    let warning = match action {
        AA::Announce => notice_warning(facts.now, facts.starts_at),
        _ => None,
    };
    Ok(ActivityDecision {
        from: state,
        to: rule.to,
        label: action.label(),
        warning,
    })
}

/// The actions `actors` may take now (for buttons); guards on input (minutes, reason) are
/// skipped since nothing is typed yet.
pub fn available_activity_actions(
    state: ActivityState,
    actors: &[Actor],
    facts: &ActivityFacts,
) -> Vec<ActivityAction> {
    ActivityAction::ALL
        .iter()
        .copied()
        .filter(|&action| {
            ACTIVITY_RULES.iter().any(|r| {
                r.action == action
                    && r.from.contains(&state)
                    && r.actors
                        .iter()
                        .any(|a| actors.contains(a) && *a != Actor::System)
                    && r.guards.iter().all(|g| {
                        matches!(g, G::MinutesGiven | G::ReasonGiven)
                            || activity_refusal(*g, facts).is_none()
                    })
            })
        })
        .collect()
}

fn activity_hint(action: ActivityAction) -> &'static str {
    match action {
        AA::Announce => "只有计划中的活动可以发布预告",
        AA::Start => "发布预告后，在活动时间开始签到时才能开始",
        AA::Record => "活动举行后（或补录已举行的活动时）才能形成活动记录",
        AA::TrackFollowUp => "形成活动记录后，有议定事项需要落实时才能转入跟踪",
        AA::Report => "形成活动记录、议定事项全部落实后才能上报",
        AA::Cancel => "只有尚未举行的活动可以取消",
    }
}

fn activity_refusal(guard: ActivityGuard, f: &ActivityFacts) -> Option<String> {
    match guard {
        G::StartsInFuture => (f.starts_at <= f.now).then(|| {
            format!(
                "活动时间（{}）已过，不能再发布预告；如活动已举行，请直接补录活动记录，或修改活动时间",
                local_minute(f.starts_at)
            )
        }),
        G::WithinCheckInWindow => check_in_window(f.now, f.starts_at, f.ends_at)
            .err()
            .map(|r| r.message()),
        G::HasStarted => (f.now < f.starts_at).then(|| {
            format!(
                "活动尚未举行（{}开始），不能形成活动记录",
                local_minute(f.starts_at)
            )
        }),
        G::MinutesGiven => {
            (!f.has_minutes).then(|| "请填写活动记录（时间、参加人员、群众反映的主要问题、议定事项）后再提交".to_owned())
        }
        G::HasOpenItems => (f.open_items == 0).then(|| {
            "没有待落实的议定事项，不需要转入跟踪；可以直接上报".to_owned()
        }),
        G::AllItemsDone => (f.open_items > 0).then(|| {
            format!(
                "还有{}项议定事项尚未落实，全部落实后才能上报",
                f.open_items
            )
        }),
        G::ReasonGiven => f
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
            .then(|| "取消活动须说明原因，原因会在公开页面上告知已报名的群众".to_owned()),
    }
}

/// The warning of an announcement that gives less than [`NOTICE_MIN_DAYS`] of notice.
pub fn notice_warning(announced_at: OffsetDateTime, starts_at: OffsetDateTime) -> Option<String> {
    let notice = starts_at - announced_at;
    (notice < Duration::days(NOTICE_MIN_DAYS)).then(|| {
        format!(
            "预告距活动开始仅{}，少于{}天的提前公告要求；已发布并记录为“预告不足{}天”，请尽量提前{}至3天发布",
            span_words(notice),
            NOTICE_MIN_DAYS,
            NOTICE_MIN_DAYS,
            NOTICE_MIN_DAYS
        )
    })
}

/// Whole hours of notice an announcement gave (never negative).
pub fn notice_hours(announced_at: OffsetDateTime, starts_at: OffsetDateTime) -> i64 {
    (starts_at - announced_at).whole_hours().max(0)
}

fn span_words(d: Duration) -> String {
    let hours = d.whole_hours().max(0);
    if hours >= 24 {
        format!("{}天{}小时", hours / 24, hours % 24)
    } else if hours >= 1 {
        format!("{hours}小时")
    } else {
        format!("{}分钟", d.whole_minutes().max(0))
    }
}

/// Why a check-in is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckInRefusal {
    /// The activity is not announced or in session (planned, recorded, cancelled…).
    WrongState(ActivityState),
    /// Check-in has not opened yet.
    TooEarly {
        /// When it opens.
        opens_at: OffsetDateTime,
    },
    /// Check-in has closed.
    TooLate {
        /// When it closed.
        closed_at: OffsetDateTime,
    },
}

impl CheckInRefusal {
    /// Stable API code: `wrong_state` or `outside_window`.
    pub fn code(&self) -> &'static str {
        match self {
            CheckInRefusal::WrongState(_) => "wrong_state",
            _ => "outside_window",
        }
    }

    /// The Chinese message.
    pub fn message(&self) -> String {
        match self {
            CheckInRefusal::WrongState(s) => format!(
                "活动当前状态为“{}”，不能签到；只有已发布预告或正在进行的活动可以签到",
                s.label()
            ),
            CheckInRefusal::TooEarly { opens_at } => format!(
                "签到尚未开始：活动开始前{}分钟（{}）起才能签到",
                CHECK_IN_OPENS_BEFORE.whole_minutes(),
                local_minute(*opens_at)
            ),
            CheckInRefusal::TooLate { closed_at } => format!(
                "签到已于{}结束（活动结束后{}分钟内可签到）；如确实参加了活动，请联系联络站工作人员登记出席",
                local_minute(*closed_at),
                CHECK_IN_CLOSES_AFTER.whole_minutes()
            ),
        }
    }
}

/// Whether `now` is inside the check-in window of an activity.
pub fn check_in_window(
    now: OffsetDateTime,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
) -> Result<(), CheckInRefusal> {
    let opens_at = starts_at - CHECK_IN_OPENS_BEFORE;
    let closed_at = ends_at + CHECK_IN_CLOSES_AFTER;
    if now < opens_at {
        Err(CheckInRefusal::TooEarly { opens_at })
    } else if now > closed_at {
        Err(CheckInRefusal::TooLate { closed_at })
    } else {
        Ok(())
    }
}

/// Whether a deputy may check in to an activity in `state` now.
pub fn check_in_allowed(
    state: ActivityState,
    now: OffsetDateTime,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
) -> Result<(), CheckInRefusal> {
    if !matches!(state, AS::Announced | AS::InSession) {
        return Err(CheckInRefusal::WrongState(state));
    }
    check_in_window(now, starts_at, ends_at)
}

/// Whether the public may sign up now; the error is the Chinese reason.
pub fn signup_allowed(
    state: ActivityState,
    signup_open: bool,
    starts_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), String> {
    if !signup_open {
        return Err("本活动不接受群众报名，可直接到联络站参加或通过联络站码反映意见".to_owned());
    }
    if state != AS::Announced {
        return Err(format!("活动当前状态为“{}”，已不能报名", state.label()));
    }
    if now >= starts_at {
        return Err("活动已经开始，报名已截止；可直接到现场参加".to_owned());
    }
    Ok(())
}

/// A new sign-up's status: confirmed while places are left, else on the waiting list. Without a
/// capacity every sign-up is confirmed.
pub fn signup_status(capacity: Option<i64>, confirmed: i64) -> SignupStatus {
    match capacity {
        Some(c) if confirmed >= c => SignupStatus::Waitlisted,
        _ => SignupStatus::Confirmed,
    }
}

/// Whether changing an activity now is a correction of the record (kept with before and after
/// and a reason) rather than an edit of a plan: once it has started or its time has come.
pub fn is_correction(state: ActivityState, starts_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    state.has_happened() || now >= starts_at
}

/// The date in China of an instant.
pub fn china_date(t: OffsetDateTime) -> Date {
    t.to_offset(CHINA).date()
}

/// `YYYY-MM-DD HH:MM` in China time.
pub fn local_minute(t: OffsetDateTime) -> String {
    let l = t.to_offset(CHINA);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        l.year(),
        l.month() as u8,
        l.day(),
        l.hour(),
        l.minute()
    )
}

/// An instant from a date and an `HH:MM` time in China. The error is Chinese.
pub fn china_instant(date: Date, hhmm: &str) -> Result<OffsetDateTime, String> {
    let t = time::Time::parse(
        hhmm.trim(),
        time::macros::format_description!("[hour]:[minute]"),
    )
    .map_err(|_| "时间格式须为 时:分，例如 09:00".to_owned())?;
    Ok(date
        .with_time(t)
        .assume_offset(CHINA)
        .to_offset(UtcOffset::UTC))
}

// ---------------------------------------------------------------------------------------------
// Deliberation (督政议事)

coded_enum!(
    /// What kind of deliberation or supervision item it is.
    DeliberationKind {
        Consultation => ("consultation", "协商议事"),
        DemocraticForum => ("democratic_forum", "民主恳谈"),
        Inspection => ("inspection", "视察调研"),
        LawEnforcementCheck => ("law_enforcement_check", "执法检查"),
        SpecialInquiry => ("special_inquiry", "专题询问"),
    }
);
impl_code!(DeliberationKind);

impl DeliberationKind {
    /// Supervision items (监督事项) arise from inspections, law-enforcement checks and special
    /// inquiries; the others are deliberation topics (议题).
    pub fn is_supervision(self) -> bool {
        matches!(
            self,
            DeliberationKind::Inspection
                | DeliberationKind::LawEnforcementCheck
                | DeliberationKind::SpecialInquiry
        )
    }
}

coded_enum!(
    /// State of a deliberation topic or supervision item.
    DeliberationState {
        Open => ("open", "议事中"),
        Concluded => ("concluded", "议定事项落实中"),
        Closed => ("closed", "已办结"),
    }
);
impl_code!(DeliberationState);

coded_enum!(
    /// Actions on a deliberation.
    DeliberationAction {
        Conclude => ("conclude", "形成议定结果"),
        Close => ("close", "办结"),
        Reopen => ("reopen", "重新议事"),
    }
);
impl_code!(DeliberationAction);

coded_enum!(
    /// Who takes part in a deliberation.
    ParticipantKind {
        Deputy => ("deputy", "人大代表"),
        Citizen => ("citizen", "群众"),
        Official => ("official", "政府部门（单位）人员"),
    }
);

/// Decides an action on a deliberation: conclude (an outcome is written) while open; close when
/// concluded and every agreed measure is done; reopen a concluded item for another round.
pub fn decide_deliberation(
    state: DeliberationState,
    action: DeliberationAction,
    is_staff: bool,
    outcome_given: bool,
    open_measures: i64,
) -> Result<DeliberationState, RuleError> {
    use DeliberationAction as DA;
    use DeliberationState as DS;
    let to = match (state, action) {
        (DS::Open, DA::Conclude) => DS::Concluded,
        (DS::Concluded, DA::Close) => DS::Closed,
        (DS::Concluded, DA::Reopen) => DS::Open,
        _ => {
            return Err(RuleError::WrongState {
                state: state.code(),
                action: action.code(),
                message: format!(
                    "当前状态为“{}”，不能{}；议事中的事项形成议定结果后，议定事项全部落实才能办结",
                    state.label(),
                    action.label()
                ),
            });
        }
    };
    if !is_staff {
        return Err(RuleError::NotPermitted {
            action: action.code(),
            message: format!(
                "只有事项所属联络站或上级人大的工作人员可以{}",
                action.label()
            ),
        });
    }
    if action == DA::Conclude && !outcome_given {
        return Err(RuleError::Refused {
            message: "请填写议定结果（达成的共识、议定的措施）后再提交".to_owned(),
        });
    }
    if action == DA::Close && open_measures > 0 {
        return Err(RuleError::Refused {
            message: format!("还有{open_measures}项议定措施尚未落实，全部落实后才能办结"),
        });
    }
    Ok(to)
}

// ---------------------------------------------------------------------------------------------
// 云问政

/// Whether an online question window takes questions or answers on `today`.
pub fn window_open(opens_on: Date, closes_on: Date, today: Date) -> bool {
    opens_on <= today && today <= closes_on
}

/// The sensitive words found in `text` (case-insensitive for Latin letters), in list order.
pub fn sensitive_hits<'a>(text: &str, words: &'a [String]) -> Vec<&'a str> {
    let lower = text.to_lowercase();
    words
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty() && lower.contains(&w.to_lowercase()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// iCalendar (RFC 5545)

/// One event of a calendar feed.
#[derive(Debug, Clone)]
pub struct IcsEvent {
    /// Globally unique id, e.g. `activity-12@host`.
    pub uid: String,
    /// When the feed was made (DTSTAMP).
    pub stamp: OffsetDateTime,
    /// Start.
    pub starts_at: OffsetDateTime,
    /// End.
    pub ends_at: OffsetDateTime,
    /// Title.
    pub summary: String,
    /// Place.
    pub location: String,
    /// Longer text.
    pub description: String,
    /// Link to the activity's page.
    pub url: String,
    /// Cancelled activities stay in the feed as `STATUS:CANCELLED` so calendars remove them.
    pub cancelled: bool,
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines.
pub fn ics_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (RFC 5545 §3.1) without splitting a UTF-8 character; each
/// physical line ends with CRLF.
pub fn ics_fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        // Continuation lines start with a space, which counts towards their 75 octets.
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
    out
}

fn ics_time(t: OffsetDateTime) -> String {
    let u = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        u.year(),
        u.month() as u8,
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    )
}

/// A whole `VCALENDAR` with `events`.
pub fn ics_calendar(name: &str, events: &[IcsEvent]) -> String {
    let mut out = String::new();
    let mut line = |s: String| out.push_str(&ics_fold(&s));
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Liaison//人大代表联络站//ZH".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", ics_escape(name)));
    line("X-WR-TIMEZONE:Asia/Shanghai".into());
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", ics_escape(&e.uid)));
        line(format!("DTSTAMP:{}", ics_time(e.stamp)));
        line(format!("DTSTART:{}", ics_time(e.starts_at)));
        line(format!("DTEND:{}", ics_time(e.ends_at)));
        line(format!("SUMMARY:{}", ics_escape(&e.summary)));
        if !e.location.is_empty() {
            line(format!("LOCATION:{}", ics_escape(&e.location)));
        }
        if !e.description.is_empty() {
            line(format!("DESCRIPTION:{}", ics_escape(&e.description)));
        }
        if !e.url.is_empty() {
            line(format!("URL:{}", e.url));
        }
        line(format!(
            "STATUS:{}",
            if e.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const STAFF: &[Actor] = &[Actor::StationStaff];
    const EVERYONE: &[Actor] = Actor::ALL;

    fn facts(now: OffsetDateTime) -> ActivityFacts {
        ActivityFacts {
            now,
            starts_at: datetime!(2026-05-15 01:00 UTC),
            ends_at: datetime!(2026-05-15 03:00 UTC),
            has_minutes: true,
            open_items: 0,
            reason: Some("因台风停课".into()),
        }
    }

    /// Facts under which every guard of the action holds, to test the state table alone.
    fn passing(action: ActivityAction) -> ActivityFacts {
        let during = datetime!(2026-05-15 02:00 UTC);
        let before = datetime!(2026-05-10 02:00 UTC);
        let mut f = facts(match action {
            AA::Announce | AA::Cancel => before,
            _ => during,
        });
        if action == AA::TrackFollowUp {
            f.open_items = 1;
        }
        f
    }

    #[test]
    fn every_allowed_and_forbidden_transition() {
        let expected: &[(AS, AA, AS)] = &[
            (AS::Planned, AA::Announce, AS::Announced),
            (AS::Planned, AA::Record, AS::Recorded),
            (AS::Planned, AA::Cancel, AS::Cancelled),
            (AS::Announced, AA::Start, AS::InSession),
            (AS::Announced, AA::Record, AS::Recorded),
            (AS::Announced, AA::Cancel, AS::Cancelled),
            (AS::InSession, AA::Record, AS::Recorded),
            (AS::Recorded, AA::TrackFollowUp, AS::FollowUp),
            (AS::Recorded, AA::Report, AS::Reported),
            (AS::FollowUp, AA::Report, AS::Reported),
        ];
        let mut mismatches = Vec::new();
        for &state in AS::ALL {
            for &action in AA::ALL {
                let want = expected
                    .iter()
                    .find(|(s, a, _)| *s == state && *a == action)
                    .map(|(_, _, to)| *to);
                let got = decide_activity(state, action, EVERYONE, &passing(action));
                match (want, got) {
                    (Some(to), Ok(d)) if d.to == to && d.from == state => {}
                    (None, Err(RuleError::WrongState { .. })) => {}
                    (w, g) => mismatches.push(format!(
                        "{} × {}: expected {w:?}, got {g:?}",
                        state.code(),
                        action.code()
                    )),
                }
                assert_eq!(activity_allows(state, action), want.is_some());
            }
        }
        assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
    }

    #[test]
    fn reported_and_cancelled_are_final() {
        for s in [AS::Reported, AS::Cancelled] {
            assert!(AA::ALL.iter().all(|a| !activity_allows(s, *a)), "{s}");
        }
    }

    #[test]
    fn only_organisers_act_and_the_system_only_starts() {
        for &action in AA::ALL {
            let from = ACTIVITY_RULES
                .iter()
                .find(|r| r.action == action)
                .unwrap()
                .from[0];
            let f = passing(action);
            for who in [Actor::Deputy, Actor::Submitter, Actor::LeadUnit] {
                let e = decide_activity(from, action, &[who], &f).unwrap_err();
                assert_eq!(e.code(), "not_permitted", "{action} by {who}");
            }
            let by_system = decide_activity(from, action, &[Actor::System], &f);
            assert_eq!(by_system.is_ok(), action == AA::Start, "{action}");
            assert!(decide_activity(from, action, STAFF, &f).is_ok(), "{action}");
        }
    }

    #[test]
    fn an_announcement_of_the_past_is_refused_and_a_late_one_is_warned_about() {
        let f = facts(datetime!(2026-05-15 02:00 UTC));
        let e = decide_activity(AS::Planned, AA::Announce, STAFF, &f).unwrap_err();
        assert_eq!(e.code(), "refused");
        assert!(e.message().contains("补录"), "{}", e.message());

        let f = facts(datetime!(2026-05-14 01:00 UTC));
        let d = decide_activity(AS::Planned, AA::Announce, STAFF, &f).unwrap();
        let w = d.warning.expect("one day of notice is warned about");
        assert!(w.contains("1天0小时") && w.contains("2天"), "{w}");

        let f = facts(datetime!(2026-05-12 01:00 UTC));
        let d = decide_activity(AS::Planned, AA::Announce, STAFF, &f).unwrap();
        assert_eq!(d.warning, None, "three days of notice is enough");
        assert_eq!(
            notice_hours(datetime!(2026-05-12 01:00 UTC), f.starts_at),
            72
        );
    }

    #[test]
    fn guards_say_why() {
        let mut f = facts(datetime!(2026-05-15 00:30 UTC));
        f.has_minutes = false;
        let e = decide_activity(AS::Announced, AA::Record, STAFF, &f).unwrap_err();
        assert!(e.message().contains("尚未举行"), "{}", e.message());
        f.has_minutes = true;
        assert!(
            decide_activity(AS::InSession, AA::Record, STAFF, &f).is_ok(),
            "started early by a check-in: it has begun"
        );
        f.has_minutes = false;
        f.now = datetime!(2026-05-15 02:00 UTC);
        let e = decide_activity(AS::InSession, AA::Record, STAFF, &f).unwrap_err();
        assert!(e.message().contains("活动记录"), "{}", e.message());
        f.open_items = 2;
        let e = decide_activity(AS::Recorded, AA::Report, STAFF, &f).unwrap_err();
        assert!(e.message().contains("2项"), "{}", e.message());
        f.open_items = 0;
        let e = decide_activity(AS::Recorded, AA::TrackFollowUp, STAFF, &f).unwrap_err();
        assert!(e.message().contains("直接上报"), "{}", e.message());
        f.reason = Some("  ".into());
        f.now = datetime!(2026-05-01 00:00 UTC);
        let e = decide_activity(AS::Announced, AA::Cancel, STAFF, &f).unwrap_err();
        assert!(e.message().contains("原因"), "{}", e.message());
        let e = decide_activity(AS::Announced, AA::Start, STAFF, &f).unwrap_err();
        assert!(e.message().contains("签到尚未开始"), "{}", e.message());
    }

    #[test]
    fn buttons_skip_input_guards_but_not_time_guards() {
        let mut f = facts(datetime!(2026-05-10 00:00 UTC));
        f.has_minutes = false;
        assert_eq!(
            available_activity_actions(AS::Planned, STAFF, &f),
            vec![AA::Announce, AA::Cancel]
        );
        f.now = datetime!(2026-05-15 02:00 UTC);
        assert_eq!(
            available_activity_actions(AS::Announced, STAFF, &f),
            vec![AA::Start, AA::Record, AA::Cancel]
        );
        assert!(available_activity_actions(AS::Announced, &[Actor::System], &f).is_empty());
    }

    #[test]
    fn check_in_opens_an_hour_before_and_closes_an_hour_after() {
        let s = datetime!(2026-05-15 01:00 UTC);
        let e = datetime!(2026-05-15 03:00 UTC);
        assert!(check_in_allowed(AS::Announced, datetime!(2026-05-15 00:00 UTC), s, e).is_ok());
        assert!(check_in_allowed(AS::InSession, datetime!(2026-05-15 04:00 UTC), s, e).is_ok());
        let early =
            check_in_allowed(AS::Announced, datetime!(2026-05-14 23:59 UTC), s, e).unwrap_err();
        assert_eq!(early.code(), "outside_window");
        assert!(
            early.message().contains("2026-05-15 08:00"),
            "{}",
            early.message()
        );
        let late =
            check_in_allowed(AS::InSession, datetime!(2026-05-15 04:01 UTC), s, e).unwrap_err();
        assert_eq!(late.code(), "outside_window");
        assert!(late.message().contains("工作人员登记"));
        for st in [AS::Planned, AS::Recorded, AS::Cancelled, AS::Reported] {
            let r = check_in_allowed(st, datetime!(2026-05-15 02:00 UTC), s, e).unwrap_err();
            assert_eq!(r.code(), "wrong_state", "{st}");
        }
    }

    #[test]
    fn sign_up_fills_the_places_then_the_waiting_list() {
        assert_eq!(signup_status(Some(2), 0), SignupStatus::Confirmed);
        assert_eq!(signup_status(Some(2), 1), SignupStatus::Confirmed);
        assert_eq!(signup_status(Some(2), 2), SignupStatus::Waitlisted);
        assert_eq!(signup_status(None, 500), SignupStatus::Confirmed);
        let s = datetime!(2026-05-15 01:00 UTC);
        let before = datetime!(2026-05-14 01:00 UTC);
        assert!(signup_allowed(AS::Announced, true, s, before).is_ok());
        assert!(signup_allowed(AS::Announced, false, s, before).is_err());
        assert!(signup_allowed(AS::Planned, true, s, before).is_err());
        assert!(
            signup_allowed(AS::Announced, true, s, s)
                .unwrap_err()
                .contains("截止")
        );
    }

    #[test]
    fn an_edit_after_the_start_is_a_correction() {
        let s = datetime!(2026-05-15 01:00 UTC);
        assert!(!is_correction(
            AS::Announced,
            s,
            datetime!(2026-05-14 00:00 UTC)
        ));
        assert!(is_correction(AS::Announced, s, s));
        assert!(is_correction(
            AS::Recorded,
            s,
            datetime!(2026-05-14 00:00 UTC)
        ));
    }

    #[test]
    fn times_are_read_and_shown_in_china_time() {
        let t = china_instant(time::macros::date!(2026 - 05 - 15), "09:30").unwrap();
        assert_eq!(t, datetime!(2026-05-15 01:30 UTC));
        assert_eq!(local_minute(t), "2026-05-15 09:30");
        assert_eq!(
            china_date(datetime!(2026-05-14 17:00 UTC)),
            time::macros::date!(2026 - 05 - 15)
        );
        assert!(china_instant(time::macros::date!(2026 - 05 - 15), "9点").is_err());
    }

    #[test]
    fn deliberations_conclude_with_an_outcome_and_close_when_measures_are_done() {
        use DeliberationAction as DA;
        use DeliberationState as DS;
        assert_eq!(
            decide_deliberation(DS::Open, DA::Conclude, true, true, 0),
            Ok(DS::Concluded)
        );
        assert_eq!(
            decide_deliberation(DS::Open, DA::Conclude, true, false, 0)
                .unwrap_err()
                .code(),
            "refused"
        );
        assert_eq!(
            decide_deliberation(DS::Concluded, DA::Close, true, true, 1)
                .unwrap_err()
                .code(),
            "refused"
        );
        assert_eq!(
            decide_deliberation(DS::Concluded, DA::Close, true, true, 0),
            Ok(DS::Closed)
        );
        assert_eq!(
            decide_deliberation(DS::Concluded, DA::Reopen, true, true, 0),
            Ok(DS::Open)
        );
        assert_eq!(
            decide_deliberation(DS::Open, DA::Conclude, false, true, 0)
                .unwrap_err()
                .code(),
            "not_permitted"
        );
        for (s, a) in [
            (DS::Open, DA::Close),
            (DS::Open, DA::Reopen),
            (DS::Concluded, DA::Conclude),
            (DS::Closed, DA::Close),
            (DS::Closed, DA::Conclude),
            (DS::Closed, DA::Reopen),
        ] {
            assert_eq!(
                decide_deliberation(s, a, true, true, 0).unwrap_err().code(),
                "wrong_state",
                "{s} × {a}"
            );
        }
        assert!(DeliberationKind::SpecialInquiry.is_supervision());
        assert!(!DeliberationKind::Consultation.is_supervision());
    }

    #[test]
    fn sensitive_words_are_found_and_windows_are_inclusive() {
        let words = vec!["赌博".to_owned(), "VPN".to_owned(), " ".to_owned()];
        assert_eq!(
            sensitive_hits("有人在这里开设赌博和vpn", &words),
            vec!["赌博", "VPN"]
        );
        assert!(sensitive_hits("路灯坏了", &words).is_empty());
        let d = time::macros::date!(2026 - 05 - 15);
        assert!(window_open(d, d, d));
        assert!(!window_open(d, d, d.next_day().unwrap()));
    }

    #[test]
    fn ics_text_is_escaped_and_lines_are_folded_with_crlf() {
        assert_eq!(ics_escape("a,b;c\\d\ne\r\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
        let long = format!("SUMMARY:{}", "接待".repeat(40));
        let folded = ics_fold(&long);
        for l in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        assert_eq!(folded.replace("\r\n ", ""), format!("{long}\r\n"));
        let cal = ics_calendar(
            "张海门的活动",
            &[IcsEvent {
                uid: "activity-1@example".into(),
                stamp: datetime!(2026-05-01 00:00 UTC),
                starts_at: datetime!(2026-05-15 01:00 UTC),
                ends_at: datetime!(2026-05-15 03:00 UTC),
                summary: "代表接待日：老旧小区改造, 停车".into(),
                location: "海门街道联络站;二楼".into(),
                description: String::new(),
                url: "http://x/activities/1".into(),
                cancelled: false,
            }],
        );
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !cal.replace("\r\n", "").contains('\n'),
            "only CRLF line ends"
        );
        assert!(cal.contains("DTSTART:20260515T010000Z\r\n"));
        assert!(cal.contains("SUMMARY:代表接待日：老旧小区改造\\, 停车\r\n"));
        assert!(cal.contains("LOCATION:海门街道联络站\\;二楼\r\n"));
        assert!(cal.contains("STATUS:CONFIRMED"));
    }

    #[test]
    fn kinds_map_to_duty_record_types() {
        use crate::duty::DutyKind;
        assert_eq!(ActivityKind::ReceptionDay.duty_kind(), DutyKind::Reception);
        assert_eq!(ActivityKind::DutyShift.duty_kind(), DutyKind::DutyShift);
        assert_eq!(ActivityKind::Inspection.duty_kind(), DutyKind::Inspection);
        assert_eq!(ActivityKind::Themed.duty_kind(), DutyKind::ActivityAttended);
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.label()), Some(*k));
        }
    }
}
