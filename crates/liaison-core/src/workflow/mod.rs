//! The workflow engine: one engine, two rule sets (citizen opinions, deputies' suggestions).
//!
//! A rule set is a table of transitions: from which states an action may be taken, by whom (the
//! acting user's relation to the item, [`Actor`]), under which conditions ([`Guard`]), to which
//! state, and with which consequences ([`Effect`]). [`decide`] reads the table and either refuses
//! with a Chinese message that says why and what to do, or returns a [`Decision`]: the new state
//! and the effects as data. The storage layer applies a decision in one transaction together with
//! the timeline event (labelled [`Decision::label`]) and the audit record; the engine itself does
//! no input or output, so the rules are tested here exhaustively.
//!
//! Division of work with the caller:
//! - the caller works out which [`Actor`]s the current user is for the item (station staff of its
//!   station, the addressed deputy, the lead unit's officer…) — a user may be several at once, or
//!   none;
//! - the caller fills [`Context`] with the facts the guards need and the action's arguments that
//!   change the outcome (rating, grade, requested date, reason); the action's other data (reply
//!   text, unit ids) is stored by the caller as it is.

pub mod opinion;
pub mod suggestion;

pub use opinion::{OPINION_RULES, OpinionAction, OpinionState, StepOwner};
pub use suggestion::{SUGGESTION_RULES, SuggestionAction, SuggestionState};

use crate::org::coded_enum;
use crate::sla::{DEFAULT_CATEGORY, OpinionSla, SlaItem, SlaTable, Span, Urgency};
use crate::workdays::{Calendar, format_date, iso_date};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Date;

/// A state or action enum of a workflow: English code for storage and API, Chinese label for
/// people. Implemented by the four enums of [`opinion`] and [`suggestion`].
pub trait Code: Copy + Eq + fmt::Debug + 'static {
    /// Every value, in display order.
    fn all() -> &'static [Self];
    /// The English snake_case code.
    fn code(self) -> &'static str;
    /// The Chinese label.
    fn label(self) -> &'static str;
}

/// Implements [`Code`] for an enum made with `coded_enum!`.
macro_rules! impl_code {
    ($name:ident) => {
        impl $crate::workflow::Code for $name {
            fn all() -> &'static [Self] {
                $name::ALL
            }
            fn code(self) -> &'static str {
                $name::code(self)
            }
            fn label(self) -> &'static str {
                $name::label(self)
            }
        }
    };
}
pub(crate) use impl_code;

coded_enum!(
    /// The acting user's relation to the item. The caller computes it; one user may be several.
    Actor {
        StationStaff => ("station_staff", "联络站工作人员"),
        Deputy => ("deputy", "代表"),
        Cosigner => ("cosigner", "联名代表"),
        LeadUnit => ("lead_unit", "主办单位"),
        CoUnit => ("co_unit", "协办单位"),
        UnitLead => ("unit_lead", "主办单位负责人"),
        Supervisor => ("supervisor", "上级人大工作人员"),
        Submitter => ("submitter", "反映人"),
        System => ("system", "系统"),
    }
);

coded_enum!(
    /// Satisfaction rating (满意度评价), the three-level scale used almost everywhere.
    Satisfaction {
        Satisfied => ("satisfied", "满意"),
        BasicallySatisfied => ("basically_satisfied", "基本满意"),
        Unsatisfied => ("unsatisfied", "不满意"),
    }
);

coded_enum!(
    /// How a submitted suggestion is registered (立案).
    Registration {
        Suggestion => ("suggestion", "作为建议立案"),
        Motion => ("motion", "转作议案处理"),
        Reference => ("reference", "转供参考"),
    }
);

coded_enum!(
    /// Which deadline (clock) of an item a date belongs to.
    DueKind {
        Accept => ("accept", "受理期限"),
        Acknowledge => ("acknowledge", "签收期限"),
        Reply => ("reply", "答复期限"),
        Review => ("review", "审核期限"),
        Assign => ("assign", "分办期限"),
        Decide => ("decide", "审批研判期限"),
        Rating => ("rating", "评价截止"),
        Supervision => ("supervision", "督办期限"),
        CoUnitOpinion => ("co_unit_opinion", "协办意见期限"),
    }
);

/// Resolution grade (解决程度) recorded on every reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResolutionGrade {
    /// Solved or basically solved.
    A,
    /// Being solved or planned.
    B,
    /// Not feasible now because of conditions.
    C,
    /// Kept for reference.
    D,
}

impl ResolutionGrade {
    /// Every grade.
    pub const ALL: &'static [ResolutionGrade] = &[Self::A, Self::B, Self::C, Self::D];

    /// `A`…`D`.
    pub fn code(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
        }
    }

    /// The Chinese meaning.
    pub fn label(self) -> &'static str {
        match self {
            Self::A => "已解决或基本解决",
            Self::B => "正在解决或列入计划解决",
            Self::C => "因条件限制暂时难以解决",
            Self::D => "留作参考",
        }
    }

    /// Reads `A`…`D` (either case) or the Chinese meaning.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|g| g.code().eq_ignore_ascii_case(s) || g.label() == s)
    }

    /// B and C mean the problem is not solved yet: the suggestion stays under tracking (跟踪).
    pub fn needs_tracking(self) -> bool {
        matches!(self, Self::B | Self::C)
    }
}

/// Which workflow a rule set belongs to; selects the deadlines the guards read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowKind {
    /// Citizen opinions (民意), §3.1.
    Opinion,
    /// Inter-session suggestions of deputies (闭会建议), §3.2.
    Suggestion,
}

/// Where a transition leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<S> {
    /// Always this state.
    To(S),
    /// The state does not change (recording a step such as a co-signature or a consultation).
    Stay,
    /// By the rating given ([`Args::rating`]): satisfied or basically satisfied, or unsatisfied.
    ByRating {
        /// Satisfied or basically satisfied.
        pleased: S,
        /// Unsatisfied.
        unsatisfied: S,
    },
    /// By the handling round ([`Facts::rehandle_rounds`]): the first, or a re-handling one.
    ByRound {
        /// The first round.
        first: S,
        /// A re-handling round.
        later: S,
    },
    /// By the grade of the last reply ([`Facts::last_grade`]): B or C need tracking.
    ByGrade {
        /// A, D or no grade.
        solved: S,
        /// B or C.
        pending: S,
    },
}

/// A condition a transition needs besides state and actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// A reason is given ([`Args::reason`]).
    ReasonGiven,
    /// A reason is given when the last rating was unsatisfied.
    ReasonIfUnsatisfied,
    /// A resolution grade is given ([`Args::grade`]).
    GradeGiven,
    /// A rating is given ([`Args::rating`]).
    RatingGiven,
    /// A registration kind is given ([`Args::registration`]).
    RegistrationGiven,
    /// A due date given by the caller ([`Args::due_on`]) is after today and, for suggestions,
    /// within the longest reply time.
    DueDateValid,
    /// Today is within the return window counted from [`Facts::assigned_on`].
    WithinReturnWindow,
    /// Today is not after the reply deadline ([`Facts::due_on`]).
    BeforeDue,
    /// Fewer extensions used than allowed.
    ExtensionLeft,
    /// The new deadline ([`Args::due_on`]) is after the current one and within the cap.
    ExtensionWithinCap,
    /// Today is within the rating window counted from [`Facts::feedback_sent_on`].
    WithinRatingWindow,
    /// The rating window has ended.
    RatingWindowPassed,
    /// Fewer re-handling rounds so far than the maximum.
    RehandleRoundsLeft,
    /// The maximum of re-handling rounds is reached.
    RehandleRoundsExhausted,
    /// The reply deadline has passed.
    Overdue,
    /// The reply deadline passed long enough ago for the system to open a supervision case.
    OverdueForSupervision,
    /// The last rating was unsatisfied.
    RatedUnsatisfied,
    /// The suggestion was registered as a suggestion (not referred or kept for reference).
    RegisteredAsSuggestion,
    /// The suggestion was referred as a motion or kept for reference.
    NotRegisteredAsSuggestion,
}

impl Guard {
    /// Whether the guard checks the action's arguments rather than facts of the item. Listing
    /// the actions available on a screen ([`available_actions`]) skips these, since the user has
    /// not typed anything yet.
    pub fn is_about_input(self) -> bool {
        matches!(
            self,
            Guard::ReasonGiven
                | Guard::ReasonIfUnsatisfied
                | Guard::GradeGiven
                | Guard::RatingGiven
                | Guard::RegistrationGiven
                | Guard::DueDateValid
                | Guard::ExtensionWithinCap
        )
    }
}

/// A consequence written in a rule; [`decide`] turns it into an [`Effect`] with concrete dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectSpec {
    /// Set a deadline to today plus the span of an SLA item.
    SetDue(DueKind, SlaItem),
    /// Set a deadline to the date given by the caller ([`Args::due_on`]), or else today plus the
    /// span of an SLA item.
    SetDueFromArgs(DueKind, SlaItem),
    /// Notify someone, with a message template key.
    Notify(Actor, &'static str),
    /// Start a new handling round (re-handling).
    OpenRound,
    /// The current round is over (its reply was rated or the rating window ended).
    CloseRound,
    /// Open a supervision case due after the supervision span.
    CreateSupervisionCase,
    /// Record the rating of [`Args::rating`].
    RecordRating,
    /// Record the grade of [`Args::grade`] on the reply.
    RecordGrade,
    /// Record the registration of [`Args::registration`].
    RecordRegistration,
    /// Count one extension used.
    UseExtension,
    /// Remove the handling units (a return was approved).
    ReleaseUnits,
    /// Freeze the submitted text; later material goes in as supplements.
    FreezeSubmission,
    /// Create a suggestion draft for the deputy from this opinion and link both.
    CreateSuggestionDraft,
    /// Link this item to the master item it duplicates.
    LinkDuplicate,
}

/// A consequence the storage layer must apply, in the same transaction as the state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Set (or replace) the deadline of `kind`.
    SetDue {
        /// Which deadline.
        kind: DueKind,
        /// The new date.
        #[serde(with = "iso_date")]
        due_on: Date,
    },
    /// Notify the people who are `whom` for this item, with message template `template`.
    Notify {
        /// Who, as a relation to the item.
        whom: Actor,
        /// Message template key, e.g. `opinion.assigned`.
        template: &'static str,
    },
    /// Start a new handling round: the next reply belongs to round + 1.
    OpenRound,
    /// The current round is over.
    CloseRound,
    /// Open a supervision case (督办) on the item.
    CreateSupervisionCase {
        /// The case's deadline.
        #[serde(with = "iso_date")]
        due_on: Date,
    },
    /// Record the rating.
    RecordRating {
        /// The rating given.
        rating: Satisfaction,
    },
    /// Record the grade on the reply being stored.
    RecordGrade {
        /// The grade given.
        grade: ResolutionGrade,
    },
    /// Record how the suggestion was registered.
    RecordRegistration {
        /// The registration given.
        registration: Registration,
    },
    /// Count one extension used.
    UseExtension,
    /// Remove the handling units of the item.
    ReleaseUnits,
    /// Freeze the submitted text.
    FreezeSubmission,
    /// Create a suggestion draft from the opinion and link both.
    CreateSuggestionDraft,
    /// Link the item to its master item.
    LinkDuplicate,
}

/// One row of a rule set.
#[derive(Debug, Clone, Copy)]
pub struct Transition<S: 'static, A: 'static> {
    /// States in which the action is possible.
    pub from: &'static [S],
    /// The action.
    pub action: A,
    /// Where it leads.
    pub to: Target<S>,
    /// Who may take it (any one suffices).
    pub actors: &'static [Actor],
    /// Conditions, all required, checked in order.
    pub guards: &'static [Guard],
    /// Consequences, in the order they should be applied.
    pub effects: &'static [EffectSpec],
}

/// A workflow's rules.
#[derive(Debug)]
pub struct RuleSet<S: 'static, A: 'static> {
    /// Which workflow.
    pub kind: WorkflowKind,
    /// The state a new item starts in.
    pub initial: S,
    /// The timeline label of creating an item.
    pub created_label: &'static str,
    /// Consequences of creating an item.
    pub on_create: &'static [EffectSpec],
    /// The transitions; for one state and action, the first whose actor and guards match wins.
    pub transitions: &'static [Transition<S, A>],
    /// When an action is possible, in Chinese, for the message of a refused action.
    pub hint: fn(A, &Context<'_>) -> String,
}

impl<S: Code, A: Code> RuleSet<S, A> {
    /// Whether any transition allows `action` in `state`, for whoever and whatever the facts.
    pub fn allows_in_state(&self, state: S, action: A) -> bool {
        self.transitions
            .iter()
            .any(|t| t.action == action && t.from.contains(&state))
    }
}

/// Facts about the item that guards need. The caller reads them from storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Day of the current assignment to the handling unit (start of the return window).
    pub assigned_on: Option<Date>,
    /// The reply deadline in force (办理期限).
    pub due_on: Option<Date>,
    /// Day the result was sent to the submitter (start of the rating window). Without it the
    /// rating is not limited in time and the system does not close the item unrated.
    pub feedback_sent_on: Option<Date>,
    /// Extensions granted so far.
    pub extensions_used: u32,
    /// Re-handling rounds so far (0 during the first handling).
    pub rehandle_rounds: u32,
    /// The latest rating.
    pub last_rating: Option<Satisfaction>,
    /// The grade of the latest reply.
    pub last_grade: Option<ResolutionGrade>,
    /// How the suggestion was registered.
    pub registration: Option<Registration>,
}

/// The arguments of the action that change the outcome. Other arguments (texts, unit ids) are
/// the caller's to store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// Reason (decline, return, extension, rejection, closing).
    pub reason: Option<String>,
    /// A deadline chosen by the user: the reply deadline of an assignment or re-handling, or the
    /// new deadline of an extension.
    pub due_on: Option<Date>,
    /// Resolution grade of a reply.
    pub grade: Option<ResolutionGrade>,
    /// Rating.
    pub rating: Option<Satisfaction>,
    /// Registration of a suggestion.
    pub registration: Option<Registration>,
}

/// Everything [`decide`] looks at besides state, action and actors.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Today, in the installation's time zone (China Standard Time).
    pub today: Date,
    /// Working-day calendar.
    pub calendar: &'a Calendar,
    /// Deadline table.
    pub sla: &'a SlaTable,
    /// Opinion category key for the deadline table.
    pub category: &'a str,
    /// Opinion urgency for the deadline table.
    pub urgency: Urgency,
    /// Facts about the item.
    pub facts: Facts,
    /// Arguments of the action.
    pub args: Args,
}

impl<'a> Context<'a> {
    /// A context for `today`, default category, normal urgency, no facts and no arguments.
    pub fn new(today: Date, calendar: &'a Calendar, sla: &'a SlaTable) -> Self {
        Self {
            today,
            calendar,
            sla,
            category: DEFAULT_CATEGORY,
            urgency: Urgency::Normal,
            facts: Facts::default(),
            args: Args::default(),
        }
    }

    /// The opinion deadlines of this item's category and urgency.
    pub fn opinion_sla(&self) -> &'a OpinionSla {
        self.sla.opinion(self.category, self.urgency)
    }

    /// Today plus the span of `item`.
    pub fn due_after(&self, item: SlaItem) -> Date {
        self.sla
            .span(item, self.category, self.urgency)
            .due_from(self.today, self.calendar)
    }

    fn max_rehandle_rounds(&self, kind: WorkflowKind) -> u32 {
        match kind {
            WorkflowKind::Opinion => self.opinion_sla().max_rehandle_rounds,
            WorkflowKind::Suggestion => self.sla.suggestion.max_rehandle_rounds,
        }
    }

    fn return_window(&self, kind: WorkflowKind) -> Span {
        match kind {
            WorkflowKind::Opinion => self.opinion_sla().return_window,
            WorkflowKind::Suggestion => self.sla.suggestion.return_window,
        }
    }

    fn has_reason(&self) -> bool {
        self.args
            .reason
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
    }
}

/// What an allowed action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<S> {
    /// State before.
    pub from: S,
    /// State after (equal to `from` for steps that only record something).
    pub to: S,
    /// Chinese label of the step for the timeline, e.g. 交办.
    pub label: &'static str,
    /// Consequences to apply, in order.
    pub effects: Vec<Effect>,
}

/// Why an action is refused. The message is Chinese, says why and what to do, and is meant to be
/// shown as it is. Suggested HTTP statuses: 409, 403, 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// The action is not possible in the item's current state.
    #[error("{message}")]
    WrongState {
        /// Code of the current state.
        state: &'static str,
        /// Code of the action.
        action: &'static str,
        /// Chinese explanation.
        message: String,
    },
    /// The user is not in a relation to the item that allows the action.
    #[error("{message}")]
    NotPermitted {
        /// Code of the action.
        action: &'static str,
        /// Chinese explanation.
        message: String,
    },
    /// A condition is not met (window passed, extension used, argument missing…).
    #[error("{message}")]
    Refused {
        /// The condition not met.
        guard: Guard,
        /// Chinese explanation.
        message: String,
    },
}

impl WorkflowError {
    /// A stable code for the API: `wrong_state`, `not_permitted` or `refused`.
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowError::WrongState { .. } => "wrong_state",
            WorkflowError::NotPermitted { .. } => "not_permitted",
            WorkflowError::Refused { .. } => "refused",
        }
    }

    /// The Chinese message.
    pub fn message(&self) -> &str {
        match self {
            WorkflowError::WrongState { message, .. }
            | WorkflowError::NotPermitted { message, .. }
            | WorkflowError::Refused { message, .. } => message,
        }
    }
}

/// The state and consequences of creating an item (e.g. the acceptance deadline of an opinion).
pub fn start<S: Code, A: Code>(rules: &RuleSet<S, A>, ctx: &Context<'_>) -> Decision<S> {
    Decision {
        from: rules.initial,
        to: rules.initial,
        label: rules.created_label,
        effects: rules
            .on_create
            .iter()
            .map(|spec| resolve(*spec, ctx))
            .collect(),
    }
}

/// Decides whether the users who are `actors` for an item in `current` state may take `action`,
/// and if so what follows.
pub fn decide<S: Code, A: Code>(
    rules: &RuleSet<S, A>,
    current: S,
    action: A,
    actors: &[Actor],
    ctx: &Context<'_>,
) -> Result<Decision<S>, WorkflowError> {
    let candidates: Vec<&Transition<S, A>> = rules
        .transitions
        .iter()
        .filter(|t| t.action == action && t.from.contains(&current))
        .collect();
    if candidates.is_empty() {
        return Err(WorkflowError::WrongState {
            state: current.code(),
            action: action.code(),
            message: format!(
                "当前状态为“{}”，不能{}；{}",
                current.label(),
                action.label(),
                (rules.hint)(action, ctx)
            ),
        });
    }
    let permitted: Vec<&&Transition<S, A>> = candidates
        .iter()
        .filter(|t| t.actors.iter().any(|a| actors.contains(a)))
        .collect();
    if permitted.is_empty() {
        return Err(not_permitted(&candidates, action, actors));
    }
    let mut first_refusal = None;
    for transition in permitted {
        match check_guards(transition.guards, rules.kind, ctx, false) {
            Ok(()) => return Ok(build(transition, current, ctx)),
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    Err(first_refusal.expect("at least one permitted transition was checked"))
}

/// The actions the users who are `actors` may take now, for the buttons of a screen. Guards on
/// arguments are skipped (the user has not filled the form yet); [`decide`] checks them later.
pub fn available_actions<S: Code, A: Code>(
    rules: &RuleSet<S, A>,
    current: S,
    actors: &[Actor],
    ctx: &Context<'_>,
) -> Vec<A> {
    A::all()
        .iter()
        .copied()
        .filter(|&action| {
            rules.transitions.iter().any(|t| {
                t.action == action
                    && t.from.contains(&current)
                    && t.actors.iter().any(|a| actors.contains(a))
                    && check_guards(t.guards, rules.kind, ctx, true).is_ok()
            })
        })
        .collect()
}

fn not_permitted<S: Code, A: Code>(
    candidates: &[&Transition<S, A>],
    action: A,
    actors: &[Actor],
) -> WorkflowError {
    let mut allowed: Vec<Actor> = Vec::new();
    for t in candidates {
        for a in t.actors {
            if *a != Actor::System && !allowed.contains(a) {
                allowed.push(*a);
            }
        }
    }
    let who = if allowed.is_empty() {
        "系统按时限自动处理".to_owned()
    } else {
        format!(
            "只有本事项的{}可以{}",
            join_labels(&allowed),
            action.label()
        )
    };
    let you = if actors.is_empty() {
        "您与本事项没有办理关系".to_owned()
    } else {
        format!("您在本事项中的身份是{}", join_labels(actors))
    };
    WorkflowError::NotPermitted {
        action: action.code(),
        message: format!("{who}；{you}。如需办理，请联系有权限的人员"),
    }
}

fn join_labels(actors: &[Actor]) -> String {
    actors
        .iter()
        .map(|a| a.label())
        .collect::<Vec<_>>()
        .join("、")
}

fn build<S: Code, A: Code>(t: &Transition<S, A>, current: S, ctx: &Context<'_>) -> Decision<S> {
    let to = match t.to {
        Target::To(s) => s,
        Target::Stay => current,
        Target::ByRating {
            pleased,
            unsatisfied,
        } => {
            if ctx.args.rating == Some(Satisfaction::Unsatisfied) {
                unsatisfied
            } else {
                pleased
            }
        }
        Target::ByRound { first, later } => {
            if ctx.facts.rehandle_rounds > 0 {
                later
            } else {
                first
            }
        }
        Target::ByGrade { solved, pending } => {
            if ctx
                .facts
                .last_grade
                .is_some_and(ResolutionGrade::needs_tracking)
            {
                pending
            } else {
                solved
            }
        }
    };
    Decision {
        from: current,
        to,
        label: t.action.label(),
        effects: t.effects.iter().map(|spec| resolve(*spec, ctx)).collect(),
    }
}

fn resolve(spec: EffectSpec, ctx: &Context<'_>) -> Effect {
    match spec {
        EffectSpec::SetDue(due, item) => Effect::SetDue {
            kind: due,
            due_on: ctx.due_after(item),
        },
        EffectSpec::SetDueFromArgs(due, item) => Effect::SetDue {
            kind: due,
            due_on: ctx.args.due_on.unwrap_or_else(|| ctx.due_after(item)),
        },
        EffectSpec::Notify(whom, template) => Effect::Notify { whom, template },
        EffectSpec::OpenRound => Effect::OpenRound,
        EffectSpec::CloseRound => Effect::CloseRound,
        EffectSpec::CreateSupervisionCase => Effect::CreateSupervisionCase {
            due_on: ctx.due_after(SlaItem::OpinionSupervisionReply),
        },
        // The guards of the rules that record these make sure the argument is present; the
        // fallbacks only keep a misconfigured rule from panicking.
        EffectSpec::RecordRating => Effect::RecordRating {
            rating: ctx.args.rating.unwrap_or(Satisfaction::Satisfied),
        },
        EffectSpec::RecordGrade => Effect::RecordGrade {
            grade: ctx.args.grade.unwrap_or(ResolutionGrade::D),
        },
        EffectSpec::RecordRegistration => Effect::RecordRegistration {
            registration: ctx.args.registration.unwrap_or(Registration::Suggestion),
        },
        EffectSpec::UseExtension => Effect::UseExtension,
        EffectSpec::ReleaseUnits => Effect::ReleaseUnits,
        EffectSpec::FreezeSubmission => Effect::FreezeSubmission,
        EffectSpec::CreateSuggestionDraft => Effect::CreateSuggestionDraft,
        EffectSpec::LinkDuplicate => Effect::LinkDuplicate,
    }
}

fn check_guards(
    guards: &[Guard],
    kind: WorkflowKind,
    ctx: &Context<'_>,
    facts_only: bool,
) -> Result<(), WorkflowError> {
    for &guard in guards {
        if facts_only && guard.is_about_input() {
            continue;
        }
        if let Some(message) = refusal(guard, kind, ctx) {
            return Err(WorkflowError::Refused { guard, message });
        }
    }
    Ok(())
}

/// The Chinese reason `guard` fails, or `None` when it holds.
fn refusal(guard: Guard, kind: WorkflowKind, ctx: &Context<'_>) -> Option<String> {
    let facts = &ctx.facts;
    let args = &ctx.args;
    let today = ctx.today;
    let cal = ctx.calendar;
    match guard {
        Guard::ReasonGiven => (!ctx.has_reason()).then(|| "此操作须说明理由，请填写理由后再提交".to_owned()),
        Guard::ReasonIfUnsatisfied => (facts.last_rating == Some(Satisfaction::Unsatisfied)
            && !ctx.has_reason())
        .then(|| "代表评价为不满意，办结须说明理由（例如受政策或条件限制），请填写理由后再提交".to_owned()),
        Guard::GradeGiven => args
            .grade
            .is_none()
            .then(|| "请选择解决程度（A 已解决或基本解决、B 正在解决或列入计划、C 暂时难以解决、D 留作参考）后再提交答复".to_owned()),
        Guard::RatingGiven => args
            .rating
            .is_none()
            .then(|| "请选择满意、基本满意或不满意后再提交评价".to_owned()),
        Guard::RegistrationGiven => args
            .registration
            .is_none()
            .then(|| "请选择立案方式：作为建议立案、转作议案处理或转供参考".to_owned()),
        Guard::DueDateValid => {
            let due = args.due_on?;
            if due <= today {
                return Some(format!(
                    "办理期限 {} 不晚于今天，请选择今天以后的日期，或留空使用默认期限",
                    format_date(due)
                ));
            }
            if kind == WorkflowKind::Opinion {
                // No longer than the table's reply deadline plus the most one extension may
                // add: a later date would make the extension rule and on-time figures empty.
                let o = ctx.opinion_sla();
                let latest = o.extension_cap.due_from(o.reply.due_from(today, cal), cal);
                if due > latest {
                    return Some(format!(
                        "办理期限最长为交办后{}再加{}（{}），请选择不晚于该日的日期",
                        o.reply.label(),
                        o.extension_cap.label(),
                        format_date(latest)
                    ));
                }
            }
            if kind == WorkflowKind::Suggestion {
                let max_span = ctx.sla.suggestion.reply_max;
                let latest = max_span.due_from(today, cal);
                if due > latest {
                    return Some(format!(
                        "建议答复期限最长为交办后{}（{}），请选择不晚于该日的日期",
                        max_span.label(),
                        format_date(latest)
                    ));
                }
            }
            None
        }
        Guard::WithinReturnWindow => {
            let window = ctx.return_window(kind);
            let Some(assigned_on) = facts.assigned_on else {
                return Some("找不到交办日期，无法判断退回时限，请联系系统管理员".to_owned());
            };
            let last_day = window.due_from(assigned_on, cal);
            (today > last_day).then(|| {
                format!(
                    "退回须在交办后{}内提出（截止 {}），现已超过；如确属交办错误，请与交办单位联系，由其改派",
                    window.label(),
                    format_date(last_day)
                )
            })
        }
        Guard::BeforeDue => {
            let due = facts.due_on?;
            (today > due).then(|| {
                format!(
                    "办理期限（{}）已过，不能再申请延期；请尽快答复",
                    format_date(due)
                )
            })
        }
        Guard::ExtensionLeft => {
            let allowed = ctx.opinion_sla().extensions_allowed;
            (facts.extensions_used >= allowed).then(|| {
                format!(
                    "本事项已延期{}次，最多只能延期{}次，不能再次延期；请在现有期限内答复",
                    facts.extensions_used, allowed
                )
            })
        }
        Guard::ExtensionWithinCap => {
            let cap = ctx.opinion_sla().extension_cap;
            let Some(current) = facts.due_on else {
                return Some("本事项没有办理期限，不需要延期".to_owned());
            };
            let Some(new_due) = args.due_on else {
                return Some("请选择延期后的办理期限".to_owned());
            };
            let latest = cap.due_from(current, cal);
            if new_due <= current {
                Some(format!(
                    "延期后的期限须晚于现有期限 {}，请重新选择",
                    format_date(current)
                ))
            } else if new_due > latest {
                Some(format!(
                    "延期最长{}，延期后的期限不能晚于 {}，请重新选择",
                    cap.label(),
                    format_date(latest)
                ))
            } else {
                None
            }
        }
        Guard::WithinRatingWindow => {
            let window = ctx.opinion_sla().rating_window;
            let sent = facts.feedback_sent_on?;
            let last_day = window.due_from(sent, cal);
            (today > last_day).then(|| {
                format!(
                    "评价期已于 {} 结束（反馈后{}内评价），不能再评价；如仍有问题，请提交新的意见",
                    format_date(last_day),
                    window.label()
                )
            })
        }
        Guard::RatingWindowPassed => {
            let window = ctx.opinion_sla().rating_window;
            // Unlike the window check for people, closing without a known start is refused:
            // a missing fact must not close items.
            let Some(sent) = facts.feedback_sent_on else {
                return Some("找不到反馈日期，无法判断评价期是否结束，请联系系统管理员".to_owned());
            };
            let last_day = window.due_from(sent, cal);
            (today <= last_day).then(|| {
                format!(
                    "评价期到 {} 才结束，现在不能按未评价办结",
                    format_date(last_day)
                )
            })
        }
        Guard::RehandleRoundsLeft => {
            let max = ctx.max_rehandle_rounds(kind);
            (facts.rehandle_rounds >= max).then(|| {
                format!(
                    "已重办{}次，达到上限{}次，不能再重办；请提请督办或转为闭会建议",
                    facts.rehandle_rounds, max
                )
            })
        }
        Guard::RehandleRoundsExhausted => {
            let max = ctx.max_rehandle_rounds(kind);
            (facts.rehandle_rounds < max).then(|| {
                format!(
                    "已重办{}次，未达上限{}次，请先安排重办；重办仍不满意或办理逾期的，才可督办",
                    facts.rehandle_rounds, max
                )
            })
        }
        Guard::Overdue => match facts.due_on {
            None => Some("本事项没有办理期限，不能按逾期督办".to_owned()),
            Some(due) => (today <= due).then(|| {
                format!(
                    "本事项尚未逾期（办理期限 {}），不能督办；可先催办",
                    format_date(due)
                )
            }),
        },
        Guard::OverdueForSupervision => {
            let grace = ctx.opinion_sla().supervision_after;
            let Some(due) = facts.due_on else {
                return Some("本事项没有办理期限，不能按逾期督办".to_owned());
            };
            let from = grace.due_from(due, cal);
            (today < from).then(|| {
                format!(
                    "逾期未满{}（办理期限 {}），{}起才自动督办",
                    grace.label(),
                    format_date(due),
                    format_date(from)
                )
            })
        }
        Guard::RatedUnsatisfied => match facts.last_rating {
            Some(Satisfaction::Unsatisfied) => None,
            Some(other) => Some(format!(
                "评价为“{}”，不需要重办；可以办结",
                other.label()
            )),
            None => Some("尚未评价，不能重办；请等待评价".to_owned()),
        },
        Guard::RegisteredAsSuggestion => match facts.registration {
            Some(Registration::Suggestion) => None,
            Some(other) => Some(format!(
                "本件已{}，不进入交办；只有作为建议立案的才能交办",
                other.label()
            )),
            None => Some("本件尚未立案，请先立案再交办".to_owned()),
        },
        Guard::NotRegisteredAsSuggestion => (facts.registration
            == Some(Registration::Suggestion))
        .then(|| "本件已作为建议立案，须交办并答复后才能办结".to_owned()),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared helpers of the two rule sets' tests.

    use super::*;

    /// Every actor: used to separate state checks from actor checks.
    pub const EVERYONE: &[Actor] = Actor::ALL;

    /// A context whose arguments satisfy every argument guard.
    pub fn full_args(mut ctx: Context<'_>) -> Context<'_> {
        ctx.args = Args {
            reason: Some("理由".to_owned()),
            due_on: ctx.today.checked_add(time::Duration::days(3)),
            grade: Some(ResolutionGrade::A),
            rating: Some(Satisfaction::Satisfied),
            registration: Some(Registration::Suggestion),
        };
        ctx
    }

    /// Checks the rule table against an explicit list of (state, action) pairs that must be
    /// possible, over the full cross product, both by table lookup and through `decide`.
    pub fn assert_state_table<S: Code, A: Code>(
        rules: &RuleSet<S, A>,
        expected: &[(S, A)],
        ctx: &Context<'_>,
    ) {
        let mut mismatches = Vec::new();
        for &state in S::all() {
            for &action in A::all() {
                let want = expected.contains(&(state, action));
                let table = rules.allows_in_state(state, action);
                let decided = !matches!(
                    decide(rules, state, action, EVERYONE, ctx),
                    Err(WorkflowError::WrongState { .. })
                );
                if want != table || want != decided {
                    mismatches.push(format!(
                        "{} × {}: expected {want}, table {table}, decide {decided}",
                        state.code(),
                        action.code()
                    ));
                }
            }
        }
        assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_parse_from_letters_and_chinese() {
        assert_eq!(ResolutionGrade::parse("b"), Some(ResolutionGrade::B));
        assert_eq!(ResolutionGrade::parse("留作参考"), Some(ResolutionGrade::D));
        assert_eq!(ResolutionGrade::parse("E"), None);
        assert!(ResolutionGrade::C.needs_tracking());
        assert!(!ResolutionGrade::A.needs_tracking());
    }

    #[test]
    fn effects_serialise_for_the_audit_record() {
        let effect = Effect::SetDue {
            kind: DueKind::Reply,
            due_on: time::macros::date!(2025 - 10 - 09),
        };
        assert_eq!(
            serde_json::to_string(&effect).unwrap(),
            r#"{"effect":"set_due","kind":"reply","due_on":"2025-10-09"}"#
        );
        let notify = Effect::Notify {
            whom: Actor::LeadUnit,
            template: "opinion.assigned",
        };
        assert_eq!(
            serde_json::to_string(&notify).unwrap(),
            r#"{"effect":"notify","whom":"lead_unit","template":"opinion.assigned"}"#
        );
    }

    #[test]
    fn errors_have_stable_codes_and_chinese_messages() {
        let err = WorkflowError::Refused {
            guard: Guard::ReasonGiven,
            message: "此操作须说明理由".to_owned(),
        };
        assert_eq!(err.code(), "refused");
        assert_eq!(err.to_string(), "此操作须说明理由");
        assert_eq!(err.message(), "此操作须说明理由");
    }
}
