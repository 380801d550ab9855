//! Rules of the citizen opinion loop (民意收集处理), `reference.md` §3.1.
//!
//! Main path: submitted → accepted → assigned → acknowledged → handling → replied → reviewed →
//! feedback_sent → closed. Side paths: declined, answered on the spot, merged as a duplicate,
//! converted to a suggestion; return of a wrongly assigned item (only before acknowledging and
//! within the sign-for window); one extension requested before the due date; unsatisfied
//! ratings re-handled (at most two rounds by default) and then escalated to supervision (督办),
//! which supervisors may also open on any overdue item and the system opens 5 working days
//! after the due date.
//!
//! Two steps not named in the issue are added because the rules need them: `contact_submitter`
//! (first contact after acknowledging, ≤1–2 WD in §3.1; it moves acknowledged → handling) and
//! `close` (the station closes an item rated unsatisfied when the cause is a policy limit rather
//! than the handling, with a reason; a supervisor closes a supervision case). The state
//! `evaluated` is “rated unsatisfied, waiting for the station's decision”.

use super::{
    Actor::*, Context, EffectSpec, EffectSpec::*, Guard::*, RuleSet, Target, Transition,
    WorkflowKind, impl_code,
};
use crate::org::coded_enum;
use crate::sla::SlaItem;
use crate::workflow::DueKind;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// State of an opinion.
    OpinionState {
        Submitted => ("submitted", "待受理"),
        Accepted => ("accepted", "已受理"),
        Declined => ("declined", "不予受理"),
        AnsweredOnSpot => ("answered_on_spot", "已当场答复"),
        Assigned => ("assigned", "已交办"),
        ReturnRequested => ("return_requested", "申请退回中"),
        Acknowledged => ("acknowledged", "已签收"),
        Handling => ("handling", "办理中"),
        ExtensionRequested => ("extension_requested", "申请延期中"),
        Replied => ("replied", "已答复待审核"),
        Reviewed => ("reviewed", "已审核待反馈"),
        FeedbackSent => ("feedback_sent", "已反馈待评价"),
        Evaluated => ("evaluated", "不满意待研判"),
        Closed => ("closed", "已办结"),
        ClosedUnrated => ("closed_unrated", "已办结（未评价）"),
        Rehandling => ("rehandling", "重办中"),
        Supervised => ("supervised", "督办中"),
        Merged => ("merged", "已合并"),
        ConvertedToSuggestion => ("converted_to_suggestion", "已转为闭会建议"),
    }
);
impl_code!(OpinionState);

coded_enum!(
    /// What can be done to an opinion. The label is the timeline entry.
    OpinionAction {
        Accept => ("accept", "受理"),
        Decline => ("decline", "不予受理"),
        AnswerOnSpot => ("answer_on_spot", "当场答复"),
        Assign => ("assign", "交办"),
        Acknowledge => ("acknowledge", "签收"),
        ContactSubmitter => ("contact_submitter", "联系反映人"),
        RequestReturn => ("request_return", "申请退回"),
        ApproveReturn => ("approve_return", "同意退回"),
        RejectReturn => ("reject_return", "不同意退回"),
        RequestExtension => ("request_extension", "申请延期"),
        ApproveExtension => ("approve_extension", "同意延期"),
        RejectExtension => ("reject_extension", "不同意延期"),
        Reply => ("reply", "答复"),
        ApproveReply => ("approve_reply", "审核通过答复"),
        RejectReply => ("reject_reply", "退回答复"),
        SendFeedback => ("send_feedback", "反馈结果"),
        Rate => ("rate", "评价"),
        CloseUnrated => ("close_unrated", "逾期未评价办结"),
        Rehandle => ("rehandle", "重办"),
        Close => ("close", "结案"),
        Merge => ("merge", "合并"),
        Escalate => ("escalate", "督办"),
        ConvertToSuggestion => ("convert_to_suggestion", "转为闭会建议"),
    }
);
impl_code!(OpinionAction);

impl OpinionState {
    /// The deadline whose traffic light the item shows in this state, if any.
    pub fn clock(self) -> Option<DueKind> {
        use OpinionState as S;
        match self {
            S::Submitted => Some(DueKind::Accept),
            S::Assigned => Some(DueKind::Acknowledge),
            S::Acknowledged | S::Handling | S::ExtensionRequested | S::Rehandling => {
                Some(DueKind::Reply)
            }
            S::Supervised => Some(DueKind::Supervision),
            S::Replied => Some(DueKind::Review),
            S::FeedbackSent => Some(DueKind::Rating),
            S::Accepted => Some(DueKind::Assign),
            S::ReturnRequested | S::Evaluated => Some(DueKind::Decide),
            S::Declined
            | S::AnsweredOnSpot
            | S::Reviewed
            | S::Closed
            | S::ClosedUnrated
            | S::Merged
            | S::ConvertedToSuggestion => None,
        }
    }

    /// Who must take the next step before the state's clock runs out — the one reminders
    /// (催办) go to. `None`: nobody (the citizen's rating window closes by itself) or no clock.
    pub fn step_owner(self) -> Option<StepOwner> {
        use OpinionState as S;
        match self {
            S::Assigned | S::Acknowledged | S::Handling | S::Rehandling | S::Supervised => {
                Some(StepOwner::Unit)
            }
            // Accepting, assigning, reviewing a reply, deciding on an extension, a return or
            // what follows an unsatisfied rating.
            S::Submitted
            | S::Accepted
            | S::Replied
            | S::ExtensionRequested
            | S::ReturnRequested
            | S::Evaluated => Some(StepOwner::Station),
            S::FeedbackSent
            | S::Declined
            | S::AnsweredOnSpot
            | S::Reviewed
            | S::Closed
            | S::ClosedUnrated
            | S::Merged
            | S::ConvertedToSuggestion => None,
        }
    }

    /// Whether nothing more can happen to the item.
    pub fn is_final(self) -> bool {
        OpinionAction::ALL
            .iter()
            .all(|&a| !OPINION_RULES.allows_in_state(self, a))
    }
}

/// Who owns the next step of an item (see [`OpinionState::step_owner`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOwner {
    /// The station (its staff, or the township office acting for it).
    Station,
    /// The lead handling unit.
    Unit,
}

use OpinionAction as A;
use OpinionState as S;

/// States in which the handling unit is working on the item and may be late.
const IN_HANDS_OF_UNIT: &[S] = &[
    S::Assigned,
    S::Acknowledged,
    S::Handling,
    S::ExtensionRequested,
    S::Rehandling,
];

/// States in which only the unit can be the cause of a delay: the system opens a supervision
/// case by itself only here. An extension request waits for the station's decision, so the
/// station's delay is not held against the unit (a supervisor may still escalate by hand).
const UNIT_ALONE_LATE: &[S] = &[S::Assigned, S::Acknowledged, S::Handling, S::Rehandling];

const SUPERVISION_EFFECTS: &[EffectSpec] = &[
    CreateSupervisionCase,
    SetDue(DueKind::Supervision, SlaItem::OpinionSupervisionReply),
    Notify(LeadUnit, "opinion.supervised"),
    Notify(UnitLead, "opinion.supervised"),
    // The county and city offices follow their supervision cases in their feed.
    Notify(Supervisor, "opinion.supervision_opened"),
];

/// The opinion rules.
pub static OPINION_RULES: RuleSet<OpinionState, OpinionAction> = RuleSet {
    kind: WorkflowKind::Opinion,
    initial: S::Submitted,
    created_label: "提交意见",
    on_create: &[
        SetDue(DueKind::Accept, SlaItem::OpinionAccept),
        Notify(StationStaff, "opinion.submitted"),
        // An item sent with a deputy's code (代表码) is also the deputy's to know of.
        Notify(Deputy, "opinion.to_deputy"),
    ],
    hint,
    transitions: &[
        // Intake (受理).
        Transition {
            from: &[S::Submitted],
            action: A::Accept,
            to: Target::To(S::Accepted),
            actors: &[StationStaff, Deputy],
            guards: &[],
            effects: &[
                SetDue(DueKind::Assign, SlaItem::OpinionAssign),
                Notify(Submitter, "opinion.accepted"),
            ],
        },
        Transition {
            from: &[S::Submitted],
            action: A::Decline,
            to: Target::To(S::Declined),
            actors: &[StationStaff, Deputy],
            guards: &[ReasonGiven],
            effects: &[Notify(Submitter, "opinion.declined")],
        },
        Transition {
            from: &[S::Submitted, S::Accepted],
            action: A::AnswerOnSpot,
            to: Target::To(S::AnsweredOnSpot),
            actors: &[Deputy, StationStaff],
            guards: &[],
            effects: &[],
        },
        Transition {
            from: &[S::Submitted, S::Accepted],
            action: A::Merge,
            to: Target::To(S::Merged),
            actors: &[StationStaff],
            guards: &[],
            effects: &[LinkDuplicate, Notify(Submitter, "opinion.merged")],
        },
        Transition {
            from: &[S::Accepted, S::Evaluated],
            action: A::ConvertToSuggestion,
            to: Target::To(S::ConvertedToSuggestion),
            actors: &[Deputy, StationStaff, Supervisor],
            guards: &[],
            effects: &[
                CreateSuggestionDraft,
                Notify(Deputy, "opinion.converted"),
                Notify(Submitter, "opinion.converted"),
            ],
        },
        // Assignment (交办), acknowledgement (签收), return (退回).
        Transition {
            from: &[S::Accepted],
            action: A::Assign,
            to: Target::To(S::Assigned),
            actors: &[StationStaff, Supervisor],
            guards: &[DueDateValid],
            effects: &[
                SetDue(DueKind::Acknowledge, SlaItem::OpinionAcknowledge),
                SetDueFromArgs(DueKind::Reply, SlaItem::OpinionReply),
                Notify(LeadUnit, "opinion.assigned"),
                Notify(CoUnit, "opinion.assigned_co"),
            ],
        },
        Transition {
            from: &[S::Assigned],
            action: A::Acknowledge,
            to: Target::To(S::Acknowledged),
            actors: &[LeadUnit],
            guards: &[],
            effects: &[],
        },
        Transition {
            from: &[S::Assigned],
            action: A::RequestReturn,
            to: Target::To(S::ReturnRequested),
            actors: &[LeadUnit],
            guards: &[WithinReturnWindow, ReasonGiven],
            effects: &[
                SetDue(DueKind::Decide, SlaItem::OpinionDecision),
                Notify(StationStaff, "opinion.return_requested"),
            ],
        },
        Transition {
            from: &[S::ReturnRequested],
            action: A::ApproveReturn,
            to: Target::To(S::Accepted),
            actors: &[StationStaff, Supervisor],
            guards: &[],
            effects: &[
                Notify(LeadUnit, "opinion.return_approved"),
                ReleaseUnits,
                SetDue(DueKind::Assign, SlaItem::OpinionAssign),
            ],
        },
        Transition {
            from: &[S::ReturnRequested],
            action: A::RejectReturn,
            to: Target::To(S::Assigned),
            actors: &[StationStaff, Supervisor],
            guards: &[ReasonGiven],
            effects: &[
                SetDue(DueKind::Acknowledge, SlaItem::OpinionAcknowledge),
                Notify(LeadUnit, "opinion.return_rejected"),
            ],
        },
        // Handling (办理) and extension (延期).
        Transition {
            from: &[S::Acknowledged],
            action: A::ContactSubmitter,
            to: Target::To(S::Handling),
            actors: &[LeadUnit],
            guards: &[],
            effects: &[],
        },
        Transition {
            from: &[S::Handling, S::Rehandling, S::Supervised],
            action: A::ContactSubmitter,
            to: Target::Stay,
            actors: &[LeadUnit],
            guards: &[],
            effects: &[],
        },
        Transition {
            from: &[S::Acknowledged, S::Handling],
            action: A::RequestExtension,
            to: Target::To(S::ExtensionRequested),
            actors: &[LeadUnit],
            guards: &[BeforeDue, ExtensionLeft, ExtensionWithinCap, ReasonGiven],
            effects: &[Notify(StationStaff, "opinion.extension_requested")],
        },
        Transition {
            from: &[S::ExtensionRequested],
            action: A::ApproveExtension,
            to: Target::To(S::Handling),
            actors: &[StationStaff, Supervisor],
            guards: &[ExtensionLeft, ExtensionWithinCap],
            effects: &[
                UseExtension,
                SetDueFromArgs(DueKind::Reply, SlaItem::OpinionReply),
                Notify(LeadUnit, "opinion.extension_approved"),
            ],
        },
        Transition {
            from: &[S::ExtensionRequested],
            action: A::RejectExtension,
            to: Target::To(S::Handling),
            actors: &[StationStaff, Supervisor],
            guards: &[ReasonGiven],
            effects: &[Notify(LeadUnit, "opinion.extension_rejected")],
        },
        // Reply (答复) and review (审核).
        Transition {
            from: &[
                S::Acknowledged,
                S::Handling,
                S::ExtensionRequested,
                S::Rehandling,
                S::Supervised,
            ],
            action: A::Reply,
            to: Target::To(S::Replied),
            actors: &[LeadUnit, UnitLead],
            guards: &[GradeGiven],
            effects: &[
                RecordGrade,
                SetDue(DueKind::Review, SlaItem::OpinionReview),
                Notify(StationStaff, "opinion.replied"),
            ],
        },
        Transition {
            from: &[S::Replied],
            action: A::ApproveReply,
            to: Target::To(S::Reviewed),
            actors: &[StationStaff, Deputy],
            guards: &[],
            effects: &[Notify(Deputy, "opinion.reply_approved")],
        },
        Transition {
            from: &[S::Replied],
            action: A::RejectReply,
            // Back to the round the reply belongs to: a re-handling round keeps its own rules
            // (no extension) and deadline.
            to: Target::ByRound {
                first: S::Handling,
                later: S::Rehandling,
            },
            actors: &[StationStaff, Deputy],
            guards: &[ReasonGiven],
            effects: &[Notify(LeadUnit, "opinion.reply_rejected")],
        },
        // Feedback (反馈) and rating (评价).
        Transition {
            from: &[S::Reviewed, S::AnsweredOnSpot],
            action: A::SendFeedback,
            to: Target::To(S::FeedbackSent),
            actors: &[StationStaff, Deputy, System],
            guards: &[],
            effects: &[
                SetDue(DueKind::Rating, SlaItem::OpinionRatingWindow),
                Notify(Submitter, "opinion.feedback"),
            ],
        },
        Transition {
            from: &[S::FeedbackSent],
            action: A::Rate,
            to: Target::ByRating {
                pleased: S::Closed,
                unsatisfied: S::Evaluated,
            },
            // Staff record the rating obtained by a follow-up call (回访).
            actors: &[Submitter, StationStaff],
            guards: &[RatingGiven, WithinRatingWindow],
            effects: &[
                RecordRating,
                CloseRound,
                // Only an unsatisfied rating waits for the station's decision: the clock of a
                // closed item is not set.
                SetDue(DueKind::Decide, SlaItem::OpinionDecision),
                Notify(StationStaff, "opinion.rated"),
                Notify(LeadUnit, "opinion.rated"),
            ],
        },
        Transition {
            from: &[S::FeedbackSent],
            action: A::CloseUnrated,
            to: Target::To(S::ClosedUnrated),
            actors: &[System],
            guards: &[RatingWindowPassed],
            effects: &[CloseRound],
        },
        // After an unsatisfied rating: re-handle, close with a reason, or escalate.
        Transition {
            from: &[S::Evaluated],
            action: A::Rehandle,
            to: Target::To(S::Rehandling),
            actors: &[StationStaff, Supervisor],
            guards: &[RehandleRoundsLeft, DueDateValid],
            effects: &[
                OpenRound,
                SetDueFromArgs(DueKind::Reply, SlaItem::OpinionRehandleReply),
                Notify(LeadUnit, "opinion.rehandle"),
            ],
        },
        Transition {
            from: &[S::Evaluated],
            action: A::Close,
            to: Target::To(S::Closed),
            actors: &[StationStaff, Supervisor],
            guards: &[ReasonGiven],
            effects: &[Notify(Submitter, "opinion.closed")],
        },
        Transition {
            from: &[S::Supervised],
            action: A::Close,
            to: Target::To(S::Closed),
            actors: &[Supervisor],
            guards: &[ReasonGiven],
            effects: &[Notify(Submitter, "opinion.closed")],
        },
        // Supervision (督办): after the last re-handling round, or when the unit is overdue.
        Transition {
            from: &[S::Evaluated],
            action: A::Escalate,
            to: Target::To(S::Supervised),
            actors: &[StationStaff, Supervisor],
            guards: &[RehandleRoundsExhausted],
            effects: SUPERVISION_EFFECTS,
        },
        Transition {
            from: IN_HANDS_OF_UNIT,
            action: A::Escalate,
            to: Target::To(S::Supervised),
            actors: &[Supervisor],
            guards: &[Overdue],
            effects: SUPERVISION_EFFECTS,
        },
        Transition {
            from: UNIT_ALONE_LATE,
            action: A::Escalate,
            to: Target::To(S::Supervised),
            actors: &[System],
            guards: &[OverdueForSupervision],
            effects: SUPERVISION_EFFECTS,
        },
    ],
};

/// When an action is possible, for the message of a refusal by state.
fn hint(action: OpinionAction, ctx: &Context<'_>) -> String {
    let sla = ctx.opinion_sla();
    match action {
        A::Accept | A::Decline => "受理或不予受理只能对待受理的意见进行".to_owned(),
        A::AnswerOnSpot => "当场答复须在交办前进行".to_owned(),
        A::Merge => "只有交办前的意见可以合并到重复的意见".to_owned(),
        A::ConvertToSuggestion => {
            "只有已受理尚未交办、或评价不满意待研判的意见可以转为闭会建议".to_owned()
        }
        A::Assign => "只有已受理、尚未交办的意见可以交办；承办单位退回获准后可重新交办".to_owned(),
        A::Acknowledge => "签收只能对已交办、尚未签收的事项进行".to_owned(),
        A::RequestReturn => format!("退回须在签收前、交办后{}内提出", sla.return_window.label()),
        A::ApproveReturn | A::RejectReturn => "只有承办单位申请退回的事项才能审批退回".to_owned(),
        A::ContactSubmitter => "须先签收，再联系反映人".to_owned(),
        A::RequestExtension => format!(
            "延期须在签收后、答复前且办理期限届满前申请，只能延期{}次",
            sla.extensions_allowed
        ),
        A::ApproveExtension | A::RejectExtension => "只有申请延期中的事项才能审批延期".to_owned(),
        A::Reply => "答复须在签收后、办理中提出（含重办、督办中的事项）".to_owned(),
        A::ApproveReply | A::RejectReply => "只有已答复、待审核的事项才能审核答复".to_owned(),
        A::SendFeedback => "答复审核通过或当场答复后，才能向反映人反馈".to_owned(),
        A::Rate => format!(
            "只有已反馈的事项才能评价，评价须在反馈后{}内",
            sla.rating_window.label()
        ),
        A::CloseUnrated => "只有已反馈、评价期满仍未评价的事项才会自动办结".to_owned(),
        A::Rehandle => "只有评价不满意、待研判的事项才能重办".to_owned(),
        A::Close => "只有评价不满意待研判或督办中的事项可以结案".to_owned(),
        A::Escalate => {
            "督办适用于承办单位办理中逾期的事项，或重办次数已达上限仍不满意的事项".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::SlaTable;
    use crate::workdays::Calendar;
    use crate::workflow::test_support::{EVERYONE, assert_state_table, full_args};
    use crate::workflow::{
        Actor, Effect, Guard, ResolutionGrade, Satisfaction, WorkflowError, available_actions,
        decide, start,
    };
    use time::Date;
    use time::macros::date;

    fn setup() -> (Calendar, SlaTable) {
        (Calendar::builtin(), SlaTable::default())
    }

    fn refused_by(result: Result<crate::workflow::Decision<S>, WorkflowError>) -> Guard {
        match result {
            Err(WorkflowError::Refused { guard, .. }) => guard,
            other => panic!("expected a guard refusal, got {other:?}"),
        }
    }

    /// Every (state, action) pair that the rules allow for somebody. Adding or removing a
    /// transition must update this list.
    const EXPECTED: &[(S, A)] = &[
        (S::Submitted, A::Accept),
        (S::Submitted, A::Decline),
        (S::Submitted, A::AnswerOnSpot),
        (S::Submitted, A::Merge),
        (S::Accepted, A::AnswerOnSpot),
        (S::Accepted, A::Merge),
        (S::Accepted, A::ConvertToSuggestion),
        (S::Accepted, A::Assign),
        (S::AnsweredOnSpot, A::SendFeedback),
        (S::Assigned, A::Acknowledge),
        (S::Assigned, A::RequestReturn),
        (S::Assigned, A::Escalate),
        (S::ReturnRequested, A::ApproveReturn),
        (S::ReturnRequested, A::RejectReturn),
        (S::Acknowledged, A::ContactSubmitter),
        (S::Acknowledged, A::RequestExtension),
        (S::Acknowledged, A::Reply),
        (S::Acknowledged, A::Escalate),
        (S::Handling, A::ContactSubmitter),
        (S::Handling, A::RequestExtension),
        (S::Handling, A::Reply),
        (S::Handling, A::Escalate),
        (S::ExtensionRequested, A::ApproveExtension),
        (S::ExtensionRequested, A::RejectExtension),
        (S::ExtensionRequested, A::Reply),
        (S::ExtensionRequested, A::Escalate),
        (S::Replied, A::ApproveReply),
        (S::Replied, A::RejectReply),
        (S::Reviewed, A::SendFeedback),
        (S::FeedbackSent, A::Rate),
        (S::FeedbackSent, A::CloseUnrated),
        (S::Evaluated, A::Rehandle),
        (S::Evaluated, A::Close),
        (S::Evaluated, A::Escalate),
        (S::Evaluated, A::ConvertToSuggestion),
        (S::Rehandling, A::ContactSubmitter),
        (S::Rehandling, A::Reply),
        (S::Rehandling, A::Escalate),
        (S::Supervised, A::ContactSubmitter),
        (S::Supervised, A::Reply),
        (S::Supervised, A::Close),
    ];

    #[test]
    fn every_state_and_action_pair_is_allowed_or_forbidden_as_designed() {
        let (cal, sla) = setup();
        let ctx = full_args(Context::new(date!(2025 - 06 - 10), &cal, &sla));
        assert_state_table(&OPINION_RULES, EXPECTED, &ctx);
    }

    #[test]
    fn final_states_are_exactly_the_ends_of_the_loop() {
        let finals: Vec<S> = S::ALL.iter().copied().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            vec![
                S::Declined,
                S::Closed,
                S::ClosedUnrated,
                S::Merged,
                S::ConvertedToSuggestion
            ]
        );
    }

    #[test]
    fn a_refusal_by_state_says_why_and_when_the_action_is_possible() {
        let (cal, sla) = setup();
        let ctx = full_args(Context::new(date!(2025 - 06 - 10), &cal, &sla));
        let err = decide(
            &OPINION_RULES,
            S::Acknowledged,
            A::RequestReturn,
            &[LeadUnit],
            &ctx,
        )
        .unwrap_err();
        assert_eq!(err.code(), "wrong_state");
        assert_eq!(
            err.to_string(),
            "当前状态为“已签收”，不能申请退回；退回须在签收前、交办后1个工作日内提出"
        );
    }

    #[test]
    fn a_co_unit_cannot_reply_as_lead_unit() {
        let (cal, sla) = setup();
        let ctx = full_args(Context::new(date!(2025 - 06 - 10), &cal, &sla));
        let err = decide(&OPINION_RULES, S::Handling, A::Reply, &[CoUnit], &ctx).unwrap_err();
        assert_eq!(err.code(), "not_permitted");
        assert_eq!(
            err.to_string(),
            "只有本事项的主办单位、主办单位负责人可以答复；您在本事项中的身份是协办单位。如需办理，请联系有权限的人员"
        );
        assert!(decide(&OPINION_RULES, S::Handling, A::Reply, &[LeadUnit], &ctx).is_ok());
        assert!(decide(&OPINION_RULES, S::Handling, A::Reply, &[UnitLead], &ctx).is_ok());
    }

    #[test]
    fn a_citizen_can_only_rate() {
        let (cal, sla) = setup();
        let mut ctx = full_args(Context::new(date!(2025 - 06 - 10), &cal, &sla));
        ctx.facts.feedback_sent_on = Some(date!(2025 - 06 - 09));
        ctx.facts.assigned_on = Some(date!(2025 - 06 - 09));
        ctx.facts.due_on = Some(date!(2025 - 06 - 30));
        let mut allowed = Vec::new();
        for &state in S::ALL {
            for &action in A::ALL {
                if decide(&OPINION_RULES, state, action, &[Submitter], &ctx).is_ok() {
                    allowed.push((state, action));
                }
            }
        }
        assert_eq!(allowed, vec![(S::FeedbackSent, A::Rate)]);
    }

    #[test]
    fn only_the_system_closes_unrated_items_and_says_so_to_people() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 20), &cal, &sla);
        ctx.facts.feedback_sent_on = Some(date!(2025 - 06 - 09));
        let err = decide(
            &OPINION_RULES,
            S::FeedbackSent,
            A::CloseUnrated,
            &[StationStaff],
            &ctx,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("系统按时限自动处理"), "{err}");
        let d = decide(
            &OPINION_RULES,
            S::FeedbackSent,
            A::CloseUnrated,
            &[System],
            &ctx,
        )
        .unwrap();
        assert_eq!(d.to, S::ClosedUnrated);
    }

    #[test]
    fn a_return_after_the_sign_for_window_is_refused() {
        let (cal, sla) = setup();
        // Assigned Friday 13 June 2025: the window is Monday 16 June included.
        let mut ctx = full_args(Context::new(date!(2025 - 06 - 16), &cal, &sla));
        ctx.facts.assigned_on = Some(date!(2025 - 06 - 13));
        assert!(
            decide(
                &OPINION_RULES,
                S::Assigned,
                A::RequestReturn,
                &[LeadUnit],
                &ctx
            )
            .is_ok()
        );
        ctx.today = date!(2025 - 06 - 17);
        let result = decide(
            &OPINION_RULES,
            S::Assigned,
            A::RequestReturn,
            &[LeadUnit],
            &ctx,
        );
        assert_eq!(refused_by(result.clone()), Guard::WithinReturnWindow);
        assert!(result.unwrap_err().to_string().contains("截止 2025-06-16"));
    }

    #[test]
    fn a_return_needs_a_reason() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 13), &cal, &sla);
        ctx.facts.assigned_on = Some(date!(2025 - 06 - 13));
        ctx.args.reason = Some("  ".to_owned());
        let result = decide(
            &OPINION_RULES,
            S::Assigned,
            A::RequestReturn,
            &[LeadUnit],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::ReasonGiven);
    }

    #[test]
    fn a_second_extension_is_refused_and_the_first_is_capped() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        ctx.facts.due_on = Some(date!(2025 - 06 - 20));
        ctx.args.reason = Some("需要现场勘查".to_owned());

        // 15 WD after Friday 20 June is Friday 11 July.
        ctx.args.due_on = Some(date!(2025 - 07 - 14));
        let result = decide(
            &OPINION_RULES,
            S::Handling,
            A::RequestExtension,
            &[LeadUnit],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::ExtensionWithinCap);

        ctx.args.due_on = Some(date!(2025 - 07 - 11));
        let asked = decide(
            &OPINION_RULES,
            S::Handling,
            A::RequestExtension,
            &[LeadUnit],
            &ctx,
        )
        .unwrap();
        assert_eq!(asked.to, S::ExtensionRequested);
        let granted = decide(
            &OPINION_RULES,
            S::ExtensionRequested,
            A::ApproveExtension,
            &[StationStaff],
            &ctx,
        )
        .unwrap();
        assert_eq!(granted.to, S::Handling);
        assert!(granted.effects.contains(&Effect::UseExtension));
        assert!(granted.effects.contains(&Effect::SetDue {
            kind: DueKind::Reply,
            due_on: date!(2025 - 07 - 11)
        }));

        ctx.facts.extensions_used = 1;
        ctx.facts.due_on = Some(date!(2025 - 07 - 11));
        ctx.args.due_on = Some(date!(2025 - 07 - 18));
        let result = decide(
            &OPINION_RULES,
            S::Handling,
            A::RequestExtension,
            &[LeadUnit],
            &ctx,
        );
        let err = result.clone().unwrap_err();
        assert_eq!(refused_by(result), Guard::ExtensionLeft);
        assert!(err.to_string().contains("不能再次延期"), "{err}");
    }

    #[test]
    fn an_extension_asked_after_the_due_date_is_refused() {
        let (cal, sla) = setup();
        let mut ctx = full_args(Context::new(date!(2025 - 06 - 23), &cal, &sla));
        ctx.facts.due_on = Some(date!(2025 - 06 - 20));
        ctx.args.due_on = Some(date!(2025 - 06 - 27));
        let result = decide(
            &OPINION_RULES,
            S::Handling,
            A::RequestExtension,
            &[LeadUnit],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::BeforeDue);
    }

    #[test]
    fn rating_after_the_seven_day_window_is_refused() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 17), &cal, &sla);
        ctx.facts.feedback_sent_on = Some(date!(2025 - 06 - 10));
        ctx.args.rating = Some(Satisfaction::Satisfied);
        // Day 7 is still inside the window…
        assert!(decide(&OPINION_RULES, S::FeedbackSent, A::Rate, &[Submitter], &ctx).is_ok());
        // …and the system may not close it yet.
        let result = decide(
            &OPINION_RULES,
            S::FeedbackSent,
            A::CloseUnrated,
            &[System],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::RatingWindowPassed);
        // Day 8: rating refused, closing unrated allowed.
        ctx.today = date!(2025 - 06 - 18);
        let result = decide(&OPINION_RULES, S::FeedbackSent, A::Rate, &[Submitter], &ctx);
        assert_eq!(refused_by(result), Guard::WithinRatingWindow);
        assert!(
            decide(
                &OPINION_RULES,
                S::FeedbackSent,
                A::CloseUnrated,
                &[System],
                &ctx
            )
            .is_ok()
        );
        // Once closed unrated, rating is refused by state.
        let err = decide(
            &OPINION_RULES,
            S::ClosedUnrated,
            A::Rate,
            &[Submitter],
            &ctx,
        )
        .unwrap_err();
        assert_eq!(err.code(), "wrong_state");
    }

    #[test]
    fn the_system_never_closes_unrated_without_a_feedback_date() {
        let (cal, sla) = setup();
        let ctx = Context::new(date!(2025 - 06 - 30), &cal, &sla);
        let result = decide(
            &OPINION_RULES,
            S::FeedbackSent,
            A::CloseUnrated,
            &[System],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::RatingWindowPassed);
    }

    #[test]
    fn a_rehandle_beyond_the_maximum_rounds_is_refused_and_escalation_offered() {
        let (cal, sla) = setup();
        let mut ctx = full_args(Context::new(date!(2025 - 06 - 10), &cal, &sla));
        ctx.args.due_on = None;
        ctx.facts.rehandle_rounds = 1;
        assert!(
            decide(
                &OPINION_RULES,
                S::Evaluated,
                A::Rehandle,
                &[StationStaff],
                &ctx
            )
            .is_ok()
        );
        let result = decide(
            &OPINION_RULES,
            S::Evaluated,
            A::Escalate,
            &[StationStaff],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::RehandleRoundsExhausted);

        ctx.facts.rehandle_rounds = 2;
        let result = decide(
            &OPINION_RULES,
            S::Evaluated,
            A::Rehandle,
            &[StationStaff],
            &ctx,
        );
        let err = result.clone().unwrap_err();
        assert_eq!(refused_by(result), Guard::RehandleRoundsLeft);
        assert!(err.to_string().contains("请提请督办"), "{err}");
        let d = decide(
            &OPINION_RULES,
            S::Evaluated,
            A::Escalate,
            &[StationStaff],
            &ctx,
        )
        .unwrap();
        assert_eq!(d.to, S::Supervised);
        // 5 WD after Tuesday 10 June 2025.
        assert!(d.effects.contains(&Effect::CreateSupervisionCase {
            due_on: date!(2025 - 06 - 17)
        }));
    }

    #[test]
    fn supervisors_escalate_overdue_items_and_the_system_after_five_more_working_days() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 09 - 30), &cal, &sla);
        ctx.facts.due_on = Some(date!(2025 - 09 - 30));
        let result = decide(
            &OPINION_RULES,
            S::Handling,
            A::Escalate,
            &[Supervisor],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::Overdue);

        ctx.today = date!(2025 - 10 - 09);
        assert!(
            decide(
                &OPINION_RULES,
                S::Handling,
                A::Escalate,
                &[Supervisor],
                &ctx
            )
            .is_ok()
        );
        // Due Tuesday 30 September: +5 WD over the National Day holiday and its make-up
        // Saturday (9, 10, 11, 13, 14 October) is Tuesday 14 October.
        let result = decide(&OPINION_RULES, S::Handling, A::Escalate, &[System], &ctx);
        assert_eq!(refused_by(result), Guard::OverdueForSupervision);
        ctx.today = date!(2025 - 10 - 13);
        let result = decide(&OPINION_RULES, S::Handling, A::Escalate, &[System], &ctx);
        assert_eq!(refused_by(result), Guard::OverdueForSupervision);
        ctx.today = date!(2025 - 10 - 14);
        let d = decide(&OPINION_RULES, S::Handling, A::Escalate, &[System], &ctx).unwrap();
        assert_eq!(d.to, S::Supervised);
        // An extension request waits for the station: the system does not hold that delay
        // against the unit, a supervisor still may.
        let err = decide(
            &OPINION_RULES,
            S::ExtensionRequested,
            A::Escalate,
            &[System],
            &ctx,
        )
        .unwrap_err();
        assert_eq!(err.code(), "not_permitted");
        assert!(
            decide(
                &OPINION_RULES,
                S::ExtensionRequested,
                A::Escalate,
                &[Supervisor],
                &ctx
            )
            .is_ok()
        );
        // Station staff may not escalate an overdue item on their own.
        let err = decide(
            &OPINION_RULES,
            S::Handling,
            A::Escalate,
            &[StationStaff],
            &ctx,
        )
        .unwrap_err();
        assert_eq!(err.code(), "not_permitted");
    }

    #[test]
    fn a_rejected_reply_goes_back_to_its_own_round() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        ctx.args.reason = Some("答复未回应群众诉求".into());
        let d = decide(
            &OPINION_RULES,
            S::Replied,
            A::RejectReply,
            &[StationStaff],
            &ctx,
        )
        .unwrap();
        assert_eq!(d.to, S::Handling);
        ctx.facts.rehandle_rounds = 1;
        let d = decide(
            &OPINION_RULES,
            S::Replied,
            A::RejectReply,
            &[StationStaff],
            &ctx,
        )
        .unwrap();
        assert_eq!(
            d.to,
            S::Rehandling,
            "no new extension in a re-handling round"
        );
    }

    #[test]
    fn every_clocked_step_has_someone_to_remind() {
        for &s in OpinionState::ALL {
            match (s.clock(), s.step_owner()) {
                // The citizen's rating window closes by itself.
                (Some(DueKind::Rating), owner) => assert_eq!(owner, None),
                (Some(_), owner) => assert!(owner.is_some(), "{s:?}"),
                (None, _) => {}
            }
        }
        assert_eq!(S::Replied.step_owner(), Some(StepOwner::Station));
        assert_eq!(S::Supervised.step_owner(), Some(StepOwner::Unit));
    }

    #[test]
    fn a_due_date_chosen_at_assignment_is_at_most_the_reply_deadline_and_one_extension() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        // 15 WD + 15 WD from Tuesday 10 June 2025 (Dragon Boat Festival was 31 May–2 June).
        ctx.args.due_on = Some(date!(2025 - 07 - 22));
        assert!(
            decide(
                &OPINION_RULES,
                S::Accepted,
                A::Assign,
                &[StationStaff],
                &ctx
            )
            .is_ok()
        );
        ctx.args.due_on = Some(date!(2025 - 07 - 23));
        let result = decide(
            &OPINION_RULES,
            S::Accepted,
            A::Assign,
            &[StationStaff],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::DueDateValid);
    }

    #[test]
    fn a_due_date_chosen_at_assignment_must_be_in_the_future() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        ctx.args.due_on = Some(date!(2025 - 06 - 10));
        let result = decide(
            &OPINION_RULES,
            S::Accepted,
            A::Assign,
            &[StationStaff],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::DueDateValid);
        ctx.args.due_on = Some(date!(2025 - 06 - 20));
        let d = decide(
            &OPINION_RULES,
            S::Accepted,
            A::Assign,
            &[StationStaff],
            &ctx,
        )
        .unwrap();
        assert!(d.effects.contains(&Effect::SetDue {
            kind: DueKind::Reply,
            due_on: date!(2025 - 06 - 20)
        }));
    }

    #[test]
    fn consultation_opinions_get_five_working_days_to_reply() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 09 - 26), &cal, &sla);
        ctx.category = crate::sla::CONSULT_CATEGORY;
        let d = decide(
            &OPINION_RULES,
            S::Accepted,
            A::Assign,
            &[StationStaff],
            &ctx,
        )
        .unwrap();
        assert!(d.effects.contains(&Effect::SetDue {
            kind: DueKind::Reply,
            due_on: date!(2025 - 10 - 10)
        }));
    }

    #[test]
    fn urgent_opinions_must_be_accepted_the_same_working_day() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 13), &cal, &sla);
        ctx.urgency = crate::sla::Urgency::Urgent;
        let created = start(&OPINION_RULES, &ctx);
        assert_eq!(created.to, S::Submitted);
        assert_eq!(
            created.effects[0],
            Effect::SetDue {
                kind: DueKind::Accept,
                due_on: date!(2025 - 06 - 13)
            }
        );
        ctx.urgency = crate::sla::Urgency::Normal;
        assert_eq!(
            start(&OPINION_RULES, &ctx).effects[0],
            Effect::SetDue {
                kind: DueKind::Accept,
                due_on: date!(2025 - 06 - 16)
            }
        );
    }

    #[test]
    fn buttons_show_only_what_the_user_may_do_now() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 13), &cal, &sla);
        ctx.facts.assigned_on = Some(date!(2025 - 06 - 13));
        ctx.facts.due_on = Some(date!(2025 - 07 - 04));
        assert_eq!(
            available_actions(&OPINION_RULES, S::Assigned, &[LeadUnit], &ctx),
            vec![A::Acknowledge, A::RequestReturn]
        );
        ctx.today = date!(2025 - 06 - 17);
        assert_eq!(
            available_actions(&OPINION_RULES, S::Assigned, &[LeadUnit], &ctx),
            vec![A::Acknowledge]
        );
        assert!(available_actions(&OPINION_RULES, S::Assigned, &[CoUnit], &ctx).is_empty());
        assert_eq!(
            available_actions(&OPINION_RULES, S::Handling, &[LeadUnit], &ctx),
            vec![A::ContactSubmitter, A::RequestExtension, A::Reply]
        );
    }

    /// Drives one step the way the storage layer would: decide, then apply the facts.
    struct Item<'a> {
        state: S,
        ctx: Context<'a>,
        timeline: Vec<&'static str>,
    }

    impl<'a> Item<'a> {
        fn step(&mut self, action: A, actor: Actor) -> Vec<Effect> {
            let d = decide(&OPINION_RULES, self.state, action, &[actor], &self.ctx)
                .unwrap_or_else(|e| panic!("{} in {}: {e}", action.code(), self.state.code()));
            for effect in &d.effects {
                match effect {
                    Effect::SetDue {
                        kind: DueKind::Reply,
                        due_on,
                    } => self.ctx.facts.due_on = Some(*due_on),
                    Effect::OpenRound => self.ctx.facts.rehandle_rounds += 1,
                    Effect::RecordRating { rating } => self.ctx.facts.last_rating = Some(*rating),
                    Effect::RecordGrade { grade } => self.ctx.facts.last_grade = Some(*grade),
                    Effect::UseExtension => self.ctx.facts.extensions_used += 1,
                    _ => {}
                }
            }
            match action {
                A::Assign => self.ctx.facts.assigned_on = Some(self.ctx.today),
                A::SendFeedback => self.ctx.facts.feedback_sent_on = Some(self.ctx.today),
                _ => {}
            }
            self.state = d.to;
            self.timeline.push(d.label);
            self.ctx.args = Default::default();
            d.effects
        }

        fn on(&mut self, day: Date) -> &mut Self {
            self.ctx.today = day;
            self
        }
    }

    #[test]
    fn the_happy_path_runs_from_submission_to_a_satisfied_close() {
        let (cal, sla) = setup();
        let mut item = Item {
            state: S::Submitted,
            ctx: Context::new(date!(2025 - 09 - 26), &cal, &sla),
            timeline: Vec::new(),
        };
        item.step(A::Accept, StationStaff);
        let effects = item.step(A::Assign, StationStaff);
        assert_eq!(
            effects,
            vec![
                Effect::SetDue {
                    kind: DueKind::Acknowledge,
                    due_on: date!(2025 - 09 - 28)
                },
                // 15 WD after Friday 26 September 2025, over the National Day holiday.
                Effect::SetDue {
                    kind: DueKind::Reply,
                    due_on: date!(2025 - 10 - 23)
                },
                Effect::Notify {
                    whom: LeadUnit,
                    template: "opinion.assigned"
                },
                Effect::Notify {
                    whom: CoUnit,
                    template: "opinion.assigned_co"
                },
            ]
        );
        item.on(date!(2025 - 09 - 28))
            .step(A::Acknowledge, LeadUnit);
        item.on(date!(2025 - 09 - 29))
            .step(A::ContactSubmitter, LeadUnit);
        item.on(date!(2025 - 10 - 15));
        item.ctx.args.grade = Some(ResolutionGrade::A);
        item.step(A::Reply, UnitLead);
        item.on(date!(2025 - 10 - 16))
            .step(A::ApproveReply, StationStaff);
        item.step(A::SendFeedback, Deputy);
        item.on(date!(2025 - 10 - 18));
        item.ctx.args.rating = Some(Satisfaction::BasicallySatisfied);
        let effects = item.step(A::Rate, Submitter);
        assert!(effects.contains(&Effect::RecordRating {
            rating: Satisfaction::BasicallySatisfied
        }));
        assert_eq!(item.state, S::Closed);
        assert_eq!(
            item.timeline,
            vec![
                "受理",
                "交办",
                "签收",
                "联系反映人",
                "答复",
                "审核通过答复",
                "反馈结果",
                "评价"
            ]
        );
    }

    #[test]
    fn an_unsatisfied_rating_leads_to_a_rehandle_round_and_then_a_satisfied_close() {
        let (cal, sla) = setup();
        let mut item = Item {
            state: S::FeedbackSent,
            ctx: Context::new(date!(2026 - 02 - 10), &cal, &sla),
            timeline: Vec::new(),
        };
        item.ctx.facts.feedback_sent_on = Some(date!(2026 - 02 - 09));
        item.ctx.args.rating = Some(Satisfaction::Unsatisfied);
        item.step(A::Rate, Submitter);
        assert_eq!(item.state, S::Evaluated);

        let effects = item.step(A::Rehandle, StationStaff);
        assert_eq!(item.state, S::Rehandling);
        assert_eq!(item.ctx.facts.rehandle_rounds, 1);
        // 10 WD after Tuesday 10 February 2026, over the Spring Festival and its make-up days:
        // 11, 12, 13, 14 (Sat), 24, 25, 26, 27, 28 (Sat) February, 2 March.
        assert!(effects.contains(&Effect::SetDue {
            kind: DueKind::Reply,
            due_on: date!(2026 - 03 - 02)
        }));

        item.on(date!(2026 - 02 - 27));
        item.ctx.args.grade = Some(ResolutionGrade::A);
        item.step(A::Reply, LeadUnit);
        item.step(A::ApproveReply, StationStaff);
        item.step(A::SendFeedback, System);
        item.on(date!(2026 - 03 - 02));
        item.ctx.args.rating = Some(Satisfaction::Satisfied);
        item.step(A::Rate, Submitter);
        assert_eq!(item.state, S::Closed);
    }

    #[test]
    fn a_station_may_close_an_unsatisfied_item_only_with_a_reason() {
        let (cal, sla) = setup();
        let ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        let result = decide(
            &OPINION_RULES,
            S::Evaluated,
            A::Close,
            &[StationStaff],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::ReasonGiven);
    }

    #[test]
    fn an_approved_return_sends_the_item_back_for_reassignment() {
        let (cal, sla) = setup();
        let ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        let d = decide(
            &OPINION_RULES,
            S::ReturnRequested,
            A::ApproveReturn,
            &[Supervisor],
            &ctx,
        )
        .unwrap();
        assert_eq!(d.to, S::Accepted);
        assert!(d.effects.contains(&Effect::ReleaseUnits));
        // The station has its assignment deadline again.
        assert!(d.effects.contains(&Effect::SetDue {
            kind: DueKind::Assign,
            due_on: date!(2025 - 06 - 11)
        }));
        assert!(decide(&OPINION_RULES, S::Accepted, A::Assign, EVERYONE, &ctx).is_ok());
    }

    #[test]
    fn each_state_shows_the_clock_that_runs_in_it() {
        assert_eq!(S::Assigned.clock(), Some(DueKind::Acknowledge));
        assert_eq!(S::Handling.clock(), Some(DueKind::Reply));
        // Nothing waits for the station without a deadline.
        assert_eq!(S::Accepted.clock(), Some(DueKind::Assign));
        assert_eq!(S::ReturnRequested.clock(), Some(DueKind::Decide));
        assert_eq!(S::Evaluated.clock(), Some(DueKind::Decide));
        assert_eq!(S::FeedbackSent.clock(), Some(DueKind::Rating));
        assert_eq!(S::Closed.clock(), None);
    }
}
