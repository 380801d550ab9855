//! The generated opinion set: each row is a corpus text sent to a station of the demo
//! organisation on a day of the last two years, then walked along the opinion workflow
//! (accept, assign, acknowledge, … rate) with random step durations until "now". Old items are
//! therefore mostly closed, recent ones open in every state, and items that got stuck at a step
//! are overdue — the mix a real installation has after two years.
//!
//! Deadlines use the product's own rules (`OpinionSla::NORMAL`/`URGENT` and the built-in
//! working-day calendar). Personal data is encrypted with the installation's keys exactly as
//! the intake does (`Keys::encrypt`, `Keys::blind_index`), and the search text is segmented by
//! `liaison_text::search_text::segment_for_index`, so the rows are indistinguishable from
//! received ones. The category is the corpus label where the corpus has one, else the
//! classifier's answer (see [`category_of`]).

use crate::corpus::{Corpus, Text};
use liaison_core::protect::Keys;
use liaison_core::sla::{OpinionSla, Span};
use liaison_core::workdays::Calendar;
use liaison_core::workflow::{DueKind, OpinionAction as A, OpinionState as S};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// China Standard Time: the day of a deadline or a tracking number is a day in China.
const CST: UtcOffset = time::macros::offset!(+8);

/// A station of the organisation with what items sent to it need.
#[derive(Debug, Clone)]
pub struct Station {
    /// Id.
    pub id: i64,
    /// Station code (联络站码), as the public form sends it.
    pub code: String,
    /// Tier code (`city_center`, `county_hub`, `township_station`, `liaison_point`).
    pub tier: String,
    /// Path of its region (the scope key of its items).
    pub region_path: String,
    /// Deputies resident at the station.
    pub deputies: Vec<i64>,
    /// Handling units whose region contains the station's region, nearest first in preference:
    /// (unit id, depth of the unit's region path).
    pub units: Vec<(i64, usize)>,
}

/// The organisation the rows are spread over.
#[derive(Debug, Clone)]
pub struct Org {
    /// Active stations.
    pub stations: Vec<Station>,
    /// Cumulative weights for picking a station (township stations and county hubs receive more).
    cumulative: Vec<f64>,
}

impl Org {
    /// Wraps the stations, weighting them by tier.
    pub fn new(stations: Vec<Station>) -> Org {
        let mut total = 0.0;
        let cumulative = stations
            .iter()
            .map(|s| {
                total += match s.tier.as_str() {
                    "county_hub" => 3.0,
                    "township_station" => 2.0,
                    _ => 1.0,
                };
                total
            })
            .collect();
        Org {
            stations,
            cumulative,
        }
    }

    fn pick(&self, rng: &mut impl Rng) -> &Station {
        let total = *self.cumulative.last().expect("at least one station");
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.stations[i.min(self.stations.len() - 1)]
    }
}

/// One timeline event.
#[derive(Debug, Clone)]
pub struct Event {
    /// When.
    pub at: OffsetDateTime,
    /// Actor's name.
    pub actor_name: &'static str,
    /// Actor's role code.
    pub actor_role: &'static str,
    /// Action code.
    pub action: &'static str,
    /// Chinese label.
    pub label: &'static str,
    /// State before.
    pub from_state: Option<&'static str>,
    /// State after.
    pub to_state: &'static str,
    /// Note the submitter sees.
    pub public_note: &'static str,
}

/// A reply of the lead unit.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Handling round.
    pub round: i64,
    /// Unit.
    pub unit_id: Option<i64>,
    /// Text.
    pub content: String,
    /// A/B/C/D.
    pub grade: &'static str,
    /// `pending_review`, `approved` or `rejected`.
    pub status: &'static str,
    /// Written.
    pub created_at: OffsetDateTime,
    /// Reviewed.
    pub reviewed_at: Option<OffsetDateTime>,
}

/// An assignment of a unit.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// Unit.
    pub unit_id: i64,
    /// Round.
    pub round: i64,
    /// Still assigned.
    pub active: bool,
    /// When.
    pub assigned_at: OffsetDateTime,
    /// When signed for.
    pub acknowledged_at: Option<OffsetDateTime>,
}

/// One opinion with everything that hangs off it.
#[derive(Debug, Clone)]
pub struct Row {
    /// Id (explicit, so dependent rows can refer to it).
    pub id: i64,
    /// Tracking number.
    pub tracking_no: String,
    /// Station.
    pub station_id: i64,
    /// Addressed deputy.
    pub deputy_id: Option<i64>,
    /// Region path of the station.
    pub region_path: String,
    /// Channel code.
    pub channel: &'static str,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Confirmed category (empty until accepted).
    pub category: String,
    /// Suggested category.
    pub category_suggested: String,
    /// Confidence of the suggestion.
    pub category_confidence: f64,
    /// `normal` / `urgent`.
    pub urgency: &'static str,
    /// Phone, plain (kept for the tracking sample).
    pub phone: String,
    /// Encrypted name.
    pub name_enc: String,
    /// Encrypted phone.
    pub phone_enc: String,
    /// Blind index of the phone.
    pub phone_idx: String,
    /// Anonymous.
    pub anonymous: bool,
    /// Confidential.
    pub confidential: bool,
    /// Publishable.
    pub publishable: bool,
    /// State code.
    pub state: &'static str,
    /// Round.
    pub round: i64,
    /// Lead unit.
    pub lead_unit_id: Option<i64>,
    /// Current deadline kind.
    pub due_kind: Option<&'static str>,
    /// Current deadline.
    pub due_on: Option<Date>,
    /// Reply deadline.
    pub reply_due_on: Option<Date>,
    /// Assigned on.
    pub assigned_on: Option<Date>,
    /// Feedback sent on.
    pub feedback_sent_on: Option<Date>,
    /// Extensions used.
    pub extensions_used: i64,
    /// Re-handling rounds.
    pub rehandle_rounds: i64,
    /// Last rating.
    pub last_rating: Option<&'static str>,
    /// Last grade.
    pub last_grade: Option<&'static str>,
    /// Master item (merged duplicates).
    pub master_id: Option<i64>,
    /// Segmented search text.
    pub search_text: String,
    /// Version (one per event).
    pub version: i64,
    /// Received.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// Closed.
    pub closed_at: Option<OffsetDateTime>,
    /// Timeline.
    pub events: Vec<Event>,
    /// Replies.
    pub replies: Vec<Reply>,
    /// Unit assignments.
    pub units: Vec<Assignment>,
}

/// The fixed inputs of a generation run.
pub struct Plan<'a> {
    /// Texts.
    pub corpus: &'a Corpus,
    /// Stations.
    pub org: &'a Org,
    /// The installation's keys.
    pub keys: &'a Keys,
    /// Working-day calendar for deadlines.
    pub calendar: &'a Calendar,
    /// First id to use.
    pub first_id: i64,
    /// Rows in the whole run.
    pub count: u64,
    /// The end of the period (generation time); rows are received over `days` before it.
    pub now: OffsetDateTime,
    /// Length of the period in days.
    pub days: u32,
    /// Seed.
    pub seed: u64,
}

/// The suggested category and its confidence: the corpus label (confidence 0.9) when the
/// corpus has one — that is what a well-trained classifier answers on its own training data
/// and it saves a second jieba pass per row — else the embedded classifier's answer.
pub fn category_of(text: &Text) -> (String, f64) {
    match &text.label {
        Some(l) => (l.clone(), 0.9),
        None => {
            let p = liaison_text::classify::classify(&text.title, &text.body);
            (p.label_l1, f64::from(p.confidence))
        }
    }
}

/// A tracking number of the product's shape (`LZ` + yymmdd + 6 digits) that is unique for
/// ids less than a million apart received on the same day: the 6 digits are the id multiplied
/// by a number coprime to 10⁶, modulo 10⁶.
pub fn tracking_no(day: Date, id: i64) -> String {
    let n = (id.rem_euclid(1_000_000) * 7_919 + 123_457).rem_euclid(1_000_000);
    format!(
        "LZ{:02}{:02}{:02}{:06}",
        day.year() % 100,
        day.month() as u8,
        day.day(),
        n
    )
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "华", "建国", "志强", "海燕", "晓东", "春梅", "立新", "玉兰",
];
const PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "157", "158", "159", "177", "180", "181", "182", "186", "187", "188", "189", "199",
];

/// A valid mainland mobile number.
pub fn phone(rng: &mut impl Rng) -> String {
    format!(
        "{}{:08}",
        PREFIXES.choose(rng).expect("not empty"),
        rng.random_range(0..100_000_000u32)
    )
}

/// A plausible name.
pub fn name(rng: &mut impl Rng) -> String {
    format!(
        "{}{}",
        SURNAMES.choose(rng).expect("not empty"),
        GIVEN.choose(rng).expect("not empty")
    )
}

const CHANNELS: &[(&str, f64)] = &[
    ("qr_station", 0.45),
    ("qr_deputy", 0.15),
    ("web", 0.10),
    ("walk_in", 0.10),
    ("reception", 0.08),
    ("phone", 0.07),
    ("grid", 0.03),
    ("paper", 0.02),
];

fn channel(rng: &mut impl Rng) -> &'static str {
    let mut x = rng.random::<f64>();
    for (c, p) in CHANNELS {
        if x < *p {
            return c;
        }
        x -= p;
    }
    "qr_station"
}

/// Who takes a step.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Public,
    Station,
    Unit,
    Submitter,
    System,
    Supervisor,
}

impl Who {
    fn actor(self) -> (&'static str, &'static str) {
        match self {
            Who::Public => ("公众", "public"),
            Who::Station => ("联络站工作人员", "station_staff"),
            Who::Unit => ("承办单位经办人", "unit_officer"),
            Who::Submitter => ("反映人", "submitter"),
            Who::System => ("系统", "system"),
            Who::Supervisor => ("县人大常委会工作人员", "county_staff"),
        }
    }
}

/// One step of an item's path: the action, the state it leads to, who takes it and how many
/// days after the previous step.
#[derive(Debug, Clone, Copy)]
struct Step {
    action: A,
    to: S,
    who: Who,
    days: f64,
}

fn step(action: A, to: S, who: Who, days: f64) -> Step {
    Step {
        action,
        to,
        who,
        days,
    }
}

fn days(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

/// The rating part of a path, after feedback was sent.
fn rating_steps(rng: &mut impl Rng, p: &mut Vec<Step>) {
    let r = rng.random::<f64>();
    if r < 0.80 {
        p.push(step(
            A::Rate,
            S::Closed,
            Who::Submitter,
            days(rng, 0.0, 6.5),
        ));
    } else if r < 0.88 {
        p.push(step(A::CloseUnrated, S::ClosedUnrated, Who::System, 7.0));
    } else {
        p.push(step(
            A::Rate,
            S::Evaluated,
            Who::Submitter,
            days(rng, 0.0, 6.5),
        ));
        let r = rng.random::<f64>();
        if r < 0.4 {
            p.push(step(A::Close, S::Closed, Who::Station, days(rng, 0.5, 4.0)));
        } else if r < 0.8 {
            p.push(step(
                A::Rehandle,
                S::Rehandling,
                Who::Station,
                days(rng, 0.5, 3.0),
            ));
            p.push(step(A::Reply, S::Replied, Who::Unit, days(rng, 2.0, 12.0)));
            p.push(step(
                A::ApproveReply,
                S::Reviewed,
                Who::Station,
                days(rng, 0.1, 2.5),
            ));
            p.push(step(
                A::SendFeedback,
                S::FeedbackSent,
                Who::Station,
                days(rng, 0.1, 2.0),
            ));
            p.push(step(
                A::Rate,
                S::Closed,
                Who::Submitter,
                days(rng, 0.0, 6.5),
            ));
        } else {
            p.push(step(
                A::Escalate,
                S::Supervised,
                Who::Supervisor,
                days(rng, 0.5, 3.0),
            ));
            p.push(step(
                A::Close,
                S::Closed,
                Who::Supervisor,
                days(rng, 3.0, 12.0),
            ));
        }
    }
}

/// The whole path an item would take if nothing stopped it at "now".
fn path(rng: &mut impl Rng) -> Vec<Step> {
    let mut p = Vec::with_capacity(12);
    let r = rng.random::<f64>();
    if r < 0.04 {
        p.push(step(
            A::Decline,
            S::Declined,
            Who::Station,
            days(rng, 0.1, 1.5),
        ));
        return p;
    }
    if r < 0.10 {
        p.push(step(
            A::AnswerOnSpot,
            S::AnsweredOnSpot,
            Who::Station,
            days(rng, 0.0, 1.0),
        ));
        p.push(step(
            A::SendFeedback,
            S::FeedbackSent,
            Who::Station,
            days(rng, 0.0, 1.5),
        ));
        rating_steps(rng, &mut p);
        return p;
    }
    if r < 0.12 {
        p.push(step(A::Merge, S::Merged, Who::Station, days(rng, 0.1, 1.5)));
        return p;
    }
    if r < 0.13 {
        p.push(step(
            A::ConvertToSuggestion,
            S::ConvertedToSuggestion,
            Who::Station,
            days(rng, 0.5, 3.0),
        ));
        return p;
    }
    p.push(step(
        A::Accept,
        S::Accepted,
        Who::Station,
        days(rng, 0.05, 1.5),
    ));
    p.push(step(
        A::Assign,
        S::Assigned,
        Who::Station,
        days(rng, 0.05, 2.0),
    ));
    if rng.random_bool(0.02) {
        p.push(step(
            A::RequestReturn,
            S::ReturnRequested,
            Who::Unit,
            days(rng, 0.1, 1.0),
        ));
        p.push(step(
            A::ApproveReturn,
            S::Accepted,
            Who::Station,
            days(rng, 0.1, 2.0),
        ));
        p.push(step(
            A::Assign,
            S::Assigned,
            Who::Station,
            days(rng, 0.1, 2.0),
        ));
    }
    p.push(step(
        A::Acknowledge,
        S::Acknowledged,
        Who::Unit,
        days(rng, 0.05, 1.5),
    ));
    p.push(step(
        A::ContactSubmitter,
        S::Handling,
        Who::Unit,
        days(rng, 0.1, 2.0),
    ));
    if rng.random_bool(0.06) {
        p.push(step(
            A::RequestExtension,
            S::ExtensionRequested,
            Who::Unit,
            days(rng, 3.0, 10.0),
        ));
        p.push(step(
            A::ApproveExtension,
            S::Handling,
            Who::Station,
            days(rng, 0.1, 2.0),
        ));
    }
    p.push(step(A::Reply, S::Replied, Who::Unit, days(rng, 2.0, 18.0)));
    if rng.random_bool(0.03) {
        p.push(step(
            A::RejectReply,
            S::Handling,
            Who::Station,
            days(rng, 0.1, 2.0),
        ));
        p.push(step(A::Reply, S::Replied, Who::Unit, days(rng, 1.0, 5.0)));
    }
    p.push(step(
        A::ApproveReply,
        S::Reviewed,
        Who::Station,
        days(rng, 0.1, 2.5),
    ));
    p.push(step(
        A::SendFeedback,
        S::FeedbackSent,
        Who::Station,
        days(rng, 0.1, 2.0),
    ));
    rating_steps(rng, &mut p);
    p
}

fn china_day(t: OffsetDateTime) -> Date {
    t.to_offset(CST).date()
}

fn grade(rng: &mut impl Rng) -> &'static str {
    match rng.random_range(0..100) {
        0..60 => "A",
        60..85 => "B",
        85..95 => "C",
        _ => "D",
    }
}

/// Builds the rows `first..first + n` (indices within the run) deterministically from the seed.
pub fn rows(plan: &Plan<'_>, first: u64, n: u64) -> Vec<Row> {
    let mut rng = SmallRng::seed_from_u64(plan.seed ^ first.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    (first..first + n).map(|i| row(plan, i, &mut rng)).collect()
}

fn row(plan: &Plan<'_>, index: u64, rng: &mut SmallRng) -> Row {
    let id = plan.first_id + index as i64;
    // Received times grow with the id (lists are newest first by id), one day of jitter, and
    // the period ends a day before now so that today's tracking numbers stay free for intake.
    let span_secs = f64::from(plan.days) * 86_400.0;
    let frac = (index as f64 + rng.random::<f64>()) / plan.count.max(1) as f64;
    let created_at = plan.now - Duration::days(i64::from(plan.days) + 1)
        + Duration::seconds_f64(frac * span_secs);
    let created_at = created_at.replace_nanosecond(0).unwrap_or(created_at);
    let station = plan.org.pick(rng);
    let text = plan.corpus.compose(rng);
    let (suggested, confidence) = category_of(&text);
    let search_text =
        liaison_text::search_text::segment_for_index(&format!("{} {}", text.title, text.body));
    let channel = channel(rng);
    let deputy_id = if channel == "qr_deputy" || channel == "reception" {
        station.deputies.choose(rng).copied()
    } else {
        None
    };
    let anonymous = rng.random_bool(0.08);
    let (name, phone) = if anonymous {
        (String::new(), String::new())
    } else {
        (name(rng), phone(rng))
    };
    let urgent = rng.random_bool(0.03);
    let sla = if urgent {
        &OpinionSla::URGENT
    } else {
        &OpinionSla::NORMAL
    };
    let mut r = Row {
        id,
        tracking_no: tracking_no(china_day(created_at), id),
        station_id: station.id,
        deputy_id,
        region_path: station.region_path.clone(),
        channel,
        title: text.title,
        body: text.body,
        category: String::new(),
        category_suggested: suggested,
        category_confidence: confidence,
        urgency: if urgent { "urgent" } else { "normal" },
        name_enc: plan.keys.encrypt(&name),
        phone_enc: plan.keys.encrypt(&phone),
        phone_idx: plan.keys.blind_index(&phone),
        phone,
        anonymous,
        confidential: rng.random_bool(0.10),
        publishable: rng.random_bool(0.40),
        state: S::Submitted.code(),
        round: 1,
        lead_unit_id: None,
        due_kind: None,
        due_on: None,
        reply_due_on: None,
        assigned_on: None,
        feedback_sent_on: None,
        extensions_used: 0,
        rehandle_rounds: 0,
        last_rating: None,
        last_grade: None,
        master_id: None,
        search_text,
        version: 1,
        created_at,
        updated_at: created_at,
        closed_at: None,
        events: Vec::with_capacity(12),
        replies: Vec::new(),
        units: Vec::new(),
    };
    r.events.push(Event {
        at: created_at,
        actor_name: Who::Public.actor().0,
        actor_role: Who::Public.actor().1,
        action: "submit",
        label: "提交",
        from_state: None,
        to_state: S::Submitted.code(),
        public_note: "",
    });
    let mut steps = path(rng);
    // A few items get stuck at one step for weeks, and a very few are never moved on: these
    // are the overdue ones (and the backlog the supervision timer works through).
    if rng.random_bool(0.04) {
        let k = rng.random_range(0..steps.len());
        steps[k].days *= rng.random_range(6.0..30.0);
    }
    if rng.random_bool(0.003) {
        let k = rng.random_range(0..steps.len());
        steps.truncate(k);
    }
    let mut state = S::Submitted;
    let mut t = created_at;
    let mut entered = china_day(created_at);
    for s in steps {
        let next = t + Duration::seconds_f64(s.days * 86_400.0);
        if next >= plan.now {
            break;
        }
        t = next;
        apply(plan, &mut r, station, rng, s, t, sla);
        let (actor_name, actor_role) = s.who.actor();
        r.events.push(Event {
            at: t,
            actor_name,
            actor_role,
            action: s.action.code(),
            label: s.action.label(),
            from_state: Some(state.code()),
            to_state: s.to.code(),
            public_note: match s.action {
                A::Decline => "经研究，该事项不属于联络站受理范围，建议向有关部门反映。",
                A::Merge => "您反映的问题已有其他群众反映，正在一并办理。",
                _ => "",
            },
        });
        state = s.to;
        entered = china_day(t);
    }
    r.state = state.code();
    r.version = r.events.len() as i64;
    r.updated_at = t;
    if state.is_final() {
        r.closed_at = Some(t);
        for u in &mut r.units {
            u.active = false;
        }
    }
    let today = china_day(plan.now);
    (r.due_kind, r.due_on) = match state.clock() {
        None => (None, None),
        Some(kind) => {
            let due = match kind {
                DueKind::Accept => sla.accept.due_from(china_day(created_at), plan.calendar),
                DueKind::Acknowledge => sla.acknowledge.due_from(entered, plan.calendar),
                DueKind::Reply => r.reply_due_on.unwrap_or(today),
                DueKind::Review => sla.review.due_from(entered, plan.calendar),
                DueKind::Assign => sla.assign.due_from(entered, plan.calendar),
                DueKind::Decide => sla.decision.due_from(entered, plan.calendar),
                DueKind::Rating => sla.rating_window.due_from(entered, plan.calendar),
                DueKind::Supervision => sla.supervision_reply.due_from(entered, plan.calendar),
                DueKind::CoUnitOpinion => today,
            };
            (Some(kind.code()), Some(due))
        }
    };
    r
}

/// An opinion as the intake stores it on arrival (state `submitted`), for the raw-insert
/// comparison: the same classification, segmentation and encryption as the intake does.
pub fn submitted(
    keys: &Keys,
    station: &Station,
    text: &Text,
    name: &str,
    phone: &str,
    tracking_no: String,
    now: OffsetDateTime,
) -> Row {
    let p = liaison_text::classify::classify(&text.title, &text.body);
    Row {
        id: 0,
        tracking_no,
        station_id: station.id,
        deputy_id: None,
        region_path: station.region_path.clone(),
        channel: "api",
        title: text.title.clone(),
        body: text.body.clone(),
        category: String::new(),
        category_suggested: p.label_l1,
        category_confidence: f64::from(p.confidence),
        urgency: "normal",
        phone: phone.to_owned(),
        name_enc: keys.encrypt(name),
        phone_enc: keys.encrypt(phone),
        phone_idx: keys.blind_index(phone),
        anonymous: false,
        confidential: false,
        publishable: false,
        state: S::Submitted.code(),
        round: 1,
        lead_unit_id: None,
        due_kind: None,
        due_on: None,
        reply_due_on: None,
        assigned_on: None,
        feedback_sent_on: None,
        extensions_used: 0,
        rehandle_rounds: 0,
        last_rating: None,
        last_grade: None,
        master_id: None,
        search_text: liaison_text::search_text::segment_for_index(&format!(
            "{} {}",
            text.title, text.body
        )),
        version: 1,
        created_at: now,
        updated_at: now,
        closed_at: None,
        events: Vec::new(),
        replies: Vec::new(),
        units: Vec::new(),
    }
}

/// Applies the side effects of a step to the row (units, replies, deadlines, ratings).
fn apply(
    plan: &Plan<'_>,
    r: &mut Row,
    station: &Station,
    rng: &mut SmallRng,
    s: Step,
    t: OffsetDateTime,
    sla: &OpinionSla,
) {
    let day = china_day(t);
    match s.action {
        A::Accept => {
            // Staff confirm the suggestion nine times in ten and correct it otherwise.
            r.category = if rng.random_bool(0.9) {
                r.category_suggested.clone()
            } else {
                plan.corpus
                    .labels
                    .choose(rng)
                    .expect("labels is not empty")
                    .clone()
            };
        }
        A::Merge => {
            // The master is an earlier item of the same run (a duplicate refers back).
            let back = (r.id - plan.first_id).min(50);
            r.master_id = (back > 0).then(|| r.id - rng.random_range(1..=back));
        }
        A::Assign => {
            let unit = pick_unit(station, rng);
            r.lead_unit_id = unit;
            r.assigned_on = Some(day);
            r.reply_due_on = Some(sla.reply.due_from(day, plan.calendar));
            if let Some(u) = unit {
                r.units.push(Assignment {
                    unit_id: u,
                    round: r.round,
                    active: true,
                    assigned_at: t,
                    acknowledged_at: None,
                });
            }
        }
        A::Acknowledge => {
            if let Some(u) = r.units.last_mut() {
                u.acknowledged_at = Some(t);
            }
        }
        A::ApproveReturn => {
            for u in &mut r.units {
                u.active = false;
            }
            r.lead_unit_id = None;
            r.assigned_on = None;
        }
        A::ApproveExtension => {
            r.extensions_used += 1;
            let from = r.reply_due_on.unwrap_or(day);
            r.reply_due_on = Some(sla.extension_cap.due_from(from, plan.calendar));
        }
        A::Reply => {
            let g = grade(rng);
            r.last_grade = Some(g);
            r.replies.push(Reply {
                round: r.round,
                unit_id: r.lead_unit_id,
                content: plan
                    .corpus
                    .replies
                    .choose(rng)
                    .expect("replies is not empty")
                    .clone(),
                grade: g,
                status: "pending_review",
                created_at: t,
                reviewed_at: None,
            });
        }
        A::ApproveReply | A::RejectReply => {
            if let Some(rep) = r.replies.last_mut() {
                rep.status = if s.action == A::ApproveReply {
                    "approved"
                } else {
                    "rejected"
                };
                rep.reviewed_at = Some(t);
            }
        }
        A::SendFeedback => r.feedback_sent_on = Some(day),
        A::Rate => {
            r.last_rating = Some(if s.to == S::Evaluated {
                "unsatisfied"
            } else if rng.random_bool(0.75) {
                "satisfied"
            } else {
                "basically_satisfied"
            });
        }
        A::Rehandle => {
            r.round += 1;
            r.rehandle_rounds += 1;
            r.reply_due_on = Some(sla.rehandle_reply.due_from(day, plan.calendar));
        }
        A::Escalate => {
            r.reply_due_on = Some(Span::WorkingDays(5).due_from(day, plan.calendar));
        }
        _ => {}
    }
}

/// A lead unit for an item of the station: its township office 40 %, a county department
/// 50 %, a city department 10 % — whichever exist.
fn pick_unit(station: &Station, rng: &mut impl Rng) -> Option<i64> {
    if station.units.is_empty() {
        return None;
    }
    let deepest = station.units.iter().map(|u| u.1).max().unwrap_or(0);
    let shallowest = station.units.iter().map(|u| u.1).min().unwrap_or(0);
    let want = match rng.random_range(0..10) {
        0..4 => deepest,
        4..9 => deepest.saturating_sub(1).max(shallowest),
        _ => shallowest,
    };
    let candidates: Vec<i64> = station
        .units
        .iter()
        .filter(|u| u.1 == want)
        .map(|u| u.0)
        .collect();
    candidates
        .choose(rng)
        .copied()
        .or_else(|| station.units.choose(rng).map(|u| u.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Message;
    use std::collections::{HashMap, HashSet};

    fn corpus() -> Corpus {
        Corpus {
            labels: vec!["城乡建设".into(), "交通运输".into()],
            messages: vec![Message {
                title: "小区停车难".into(),
                body: "小区里车位太少。晚上回家找不到地方停车！".into(),
                label: Some(0),
            }],
            titles: vec![vec!["路灯不亮".into()], vec!["公交线路调整".into()]],
            bodies: vec![
                vec!["路灯坏了三个月没人修。".into()],
                vec!["希望增加公交班次。".into()],
            ],
            replies: vec!["经核实，已安排维修。".into()],
        }
    }

    fn org() -> Org {
        Org::new(vec![
            Station {
                id: 1,
                code: "JJ".into(),
                tier: "township_station".into(),
                region_path: "/1/2/3/".into(),
                deputies: vec![7],
                units: vec![(10, 3), (11, 2), (12, 1)],
            },
            Station {
                id: 2,
                code: "JJ-XC".into(),
                tier: "liaison_point".into(),
                region_path: "/1/2/3/4/".into(),
                deputies: vec![],
                units: vec![(11, 2)],
            },
        ])
    }

    fn sample(n: u64) -> Vec<Row> {
        let c = corpus();
        let o = org();
        let keys = Keys::from_master(&[7u8; 32]);
        let cal = Calendar::builtin();
        let plan = Plan {
            corpus: &c,
            org: &o,
            keys: &keys,
            calendar: &cal,
            first_id: 1,
            count: n,
            now: time::macros::datetime!(2026-06-01 10:00 UTC),
            days: 730,
            seed: 5,
        };
        rows(&plan, 0, n)
    }

    #[test]
    fn tracking_numbers_of_one_day_never_collide() {
        let day = time::macros::date!(2026 - 03 - 04);
        let set: HashSet<String> = (1..200_000).map(|id| tracking_no(day, id)).collect();
        assert_eq!(set.len(), 199_999);
        assert!(tracking_no(day, 1).starts_with("LZ260304"));
        assert_eq!(tracking_no(day, 1).len(), 14);
    }

    #[test]
    fn generated_phones_pass_the_intake_validation() {
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..1000 {
            let p = phone(&mut rng);
            assert!(
                liaison_core::validate::Phone::parse("phone", &p).is_ok(),
                "{p}"
            );
        }
    }

    #[test]
    fn old_items_are_mostly_closed_and_recent_ones_open_in_many_states() {
        let rows = sample(6000);
        let mut states: HashMap<&str, usize> = HashMap::new();
        for r in &rows {
            *states.entry(r.state).or_default() += 1;
        }
        let final_share = rows
            .iter()
            .filter(|r| S::parse(r.state).is_some_and(S::is_final))
            .count() as f64
            / rows.len() as f64;
        assert!(final_share > 0.8, "{states:?}");
        for open in [
            "submitted",
            "assigned",
            "handling",
            "replied",
            "feedback_sent",
        ] {
            assert!(states.contains_key(open), "no {open} in {states:?}");
        }
        let overdue = rows
            .iter()
            .filter(|r| {
                r.due_on
                    .is_some_and(|d| d < time::macros::date!(2026 - 06 - 01))
            })
            .count();
        assert!(overdue > 0);
    }

    #[test]
    fn rows_are_consistent_with_their_state() {
        for r in sample(3000) {
            let s = S::parse(r.state).expect("known state");
            assert_eq!(r.events.first().map(|e| e.action), Some("submit"));
            assert_eq!(r.events.last().map(|e| e.to_state), Some(r.state));
            assert_eq!(r.version, r.events.len() as i64);
            assert_eq!(s.is_final(), r.closed_at.is_some());
            assert_eq!(s.clock().is_some(), r.due_on.is_some());
            assert!(r.units.iter().all(|u| !u.active) || !s.is_final());
            assert!(r.updated_at >= r.created_at);
            if r.anonymous {
                assert!(r.phone_enc.is_empty());
            } else {
                assert!(r.phone_enc.starts_with("sm4gcm:"));
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        let a = sample(50);
        let b = sample(50);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.tracking_no, y.tracking_no);
            assert_eq!(x.body, y.body);
            assert_eq!(x.state, y.state);
            assert_eq!(x.phone, y.phone);
        }
    }
}
