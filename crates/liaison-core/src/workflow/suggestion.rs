//! Rules of deputies' inter-session suggestions (闭会建议), `reference.md` §3.2.
//!
//! draft (co-signers invited, sign or withdraw) → submitted (text frozen) → registered (立案 as a
//! suggestion, referred as a motion, or kept for reference) → assigned to a lead unit and co-units
//! (reply within 3 months, at most 6; co-units give their opinion within 1 month) → acknowledged
//! → handling (face-to-face consultation, 面商) → replied with a grade → evaluated by the deputy →
//! closed, or tracking for grades B/C until a second reply; an unsatisfied rating may be
//! re-handled (new reply within 1 month).
//!
//! Added to the list because the rules need them: the state `return_requested` with the
//! action `reject_return` (a return request is decided like for opinions), and the action
//! `submit_co_opinion` (a co-unit's opinion to the lead unit, which stops its 1-month clock).
//!
//! Actors: [`Actor::Deputy`](super::Actor::Deputy) is the proposing deputy (领衔代表) of this
//! suggestion, [`Actor::Cosigner`](super::Actor::Cosigner) a deputy invited to co-sign it, and
//! [`Actor::Supervisor`](super::Actor::Supervisor) the deputy affairs office that registers, assigns and
//! closes suggestions.

use super::{
    Actor::*, Context, EffectSpec::*, Guard::*, RuleSet, Target, Transition, WorkflowKind,
    impl_code,
};
use crate::org::coded_enum;
use crate::sla::SlaItem;
use crate::workflow::DueKind;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// State of a suggestion.
    SuggestionState {
        Draft => ("draft", "草稿"),
        Submitted => ("submitted", "已提交待立案"),
        Registered => ("registered", "已立案"),
        Assigned => ("assigned", "已交办"),
        ReturnRequested => ("return_requested", "申请退回中"),
        Acknowledged => ("acknowledged", "已签收"),
        Handling => ("handling", "办理中"),
        Replied => ("replied", "已答复待评价"),
        Evaluated => ("evaluated", "已评价"),
        Closed => ("closed", "已办结"),
        Tracking => ("tracking", "跟踪督办中"),
        SecondReplied => ("second_replied", "已再次答复"),
        Rehandling => ("rehandling", "重新办理中"),
    }
);
impl_code!(SuggestionState);

coded_enum!(
    /// What can be done to a suggestion. The label is the timeline entry.
    SuggestionAction {
        Submit => ("submit", "提交"),
        InviteCosigner => ("invite_cosigner", "邀请联名"),
        Cosign => ("cosign", "联名"),
        WithdrawCosign => ("withdraw_cosign", "撤回联名"),
        Register => ("register", "立案"),
        Assign => ("assign", "交办"),
        Acknowledge => ("acknowledge", "签收"),
        RequestReturn => ("request_return", "申请退回"),
        ApproveReturn => ("approve_return", "同意退回"),
        RejectReturn => ("reject_return", "不同意退回"),
        RecordConsultation => ("record_consultation", "面商"),
        SubmitCoOpinion => ("submit_co_opinion", "提交协办意见"),
        Reply => ("reply", "答复"),
        Rate => ("rate", "评价"),
        Rehandle => ("rehandle", "重新办理"),
        SecondReply => ("second_reply", "再次答复"),
        Close => ("close", "办结"),
    }
);
impl_code!(SuggestionAction);

impl SuggestionState {
    /// The deadline whose traffic light the suggestion shows in this state, if any.
    pub fn clock(self) -> Option<DueKind> {
        use SuggestionState as S;
        match self {
            S::Assigned | S::Acknowledged | S::Handling | S::Rehandling => Some(DueKind::Reply),
            S::Draft
            | S::Submitted
            | S::Registered
            | S::ReturnRequested
            | S::Replied
            | S::Evaluated
            | S::Closed
            | S::Tracking
            | S::SecondReplied => None,
        }
    }

    /// Whether nothing more can happen to the suggestion.
    pub fn is_final(self) -> bool {
        SuggestionAction::ALL
            .iter()
            .all(|&a| !SUGGESTION_RULES.allows_in_state(self, a))
    }
}

use SuggestionAction as A;
use SuggestionState as S;

/// The suggestion rules.
pub static SUGGESTION_RULES: RuleSet<SuggestionState, SuggestionAction> = RuleSet {
    kind: WorkflowKind::Suggestion,
    initial: S::Draft,
    created_label: "起草建议",
    on_create: &[],
    hint,
    transitions: &[
        // Drafting and co-signing (联名): only before submission.
        Transition {
            from: &[S::Draft],
            action: A::InviteCosigner,
            to: Target::Stay,
            actors: &[Deputy],
            guards: &[],
            effects: &[Notify(Cosigner, "suggestion.cosign_invited")],
        },
        Transition {
            from: &[S::Draft],
            action: A::Cosign,
            to: Target::Stay,
            actors: &[Cosigner],
            guards: &[],
            effects: &[Notify(Deputy, "suggestion.cosigned")],
        },
        Transition {
            from: &[S::Draft],
            action: A::WithdrawCosign,
            to: Target::Stay,
            actors: &[Cosigner],
            guards: &[],
            effects: &[Notify(Deputy, "suggestion.cosign_withdrawn")],
        },
        Transition {
            from: &[S::Draft],
            action: A::Submit,
            to: Target::To(S::Submitted),
            actors: &[Deputy],
            guards: &[],
            effects: &[
                FreezeSubmission,
                Notify(Supervisor, "suggestion.submitted"),
                Notify(Cosigner, "suggestion.submitted"),
            ],
        },
        // Registration (立案).
        Transition {
            from: &[S::Submitted],
            action: A::Register,
            to: Target::To(S::Registered),
            actors: &[Supervisor],
            guards: &[RegistrationGiven],
            effects: &[RecordRegistration, Notify(Deputy, "suggestion.registered")],
        },
        Transition {
            from: &[S::Registered],
            action: A::Close,
            to: Target::To(S::Closed),
            actors: &[Supervisor],
            guards: &[NotRegisteredAsSuggestion],
            effects: &[Notify(Deputy, "suggestion.closed")],
        },
        // Assignment (交办), acknowledgement, return of a wrongly assigned suggestion.
        Transition {
            from: &[S::Registered],
            action: A::Assign,
            to: Target::To(S::Assigned),
            actors: &[Supervisor],
            guards: &[RegisteredAsSuggestion, DueDateValid],
            effects: &[
                SetDueFromArgs(DueKind::Reply, SlaItem::SuggestionReply),
                SetDue(DueKind::CoUnitOpinion, SlaItem::SuggestionCoUnitOpinion),
                Notify(LeadUnit, "suggestion.assigned"),
                Notify(CoUnit, "suggestion.assigned_co"),
                Notify(Deputy, "suggestion.assigned"),
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
            effects: &[Notify(Supervisor, "suggestion.return_requested")],
        },
        Transition {
            from: &[S::ReturnRequested],
            action: A::ApproveReturn,
            to: Target::To(S::Registered),
            actors: &[Supervisor],
            guards: &[],
            effects: &[Notify(LeadUnit, "suggestion.return_approved"), ReleaseUnits],
        },
        Transition {
            from: &[S::ReturnRequested],
            action: A::RejectReturn,
            to: Target::To(S::Assigned),
            actors: &[Supervisor],
            guards: &[ReasonGiven],
            effects: &[Notify(LeadUnit, "suggestion.return_rejected")],
        },
        // Handling: consultation with the deputy (面商) and co-units' opinions.
        Transition {
            from: &[S::Acknowledged],
            action: A::RecordConsultation,
            to: Target::To(S::Handling),
            actors: &[LeadUnit],
            guards: &[],
            effects: &[],
        },
        Transition {
            from: &[S::Handling, S::Rehandling],
            action: A::RecordConsultation,
            to: Target::Stay,
            actors: &[LeadUnit],
            guards: &[],
            effects: &[],
        },
        Transition {
            from: &[S::Assigned, S::Acknowledged, S::Handling, S::Rehandling],
            action: A::SubmitCoOpinion,
            to: Target::Stay,
            actors: &[CoUnit],
            guards: &[],
            effects: &[Notify(LeadUnit, "suggestion.co_opinion")],
        },
        // Reply (答复), rating (评价), re-handling.
        Transition {
            from: &[S::Acknowledged, S::Handling, S::Rehandling],
            action: A::Reply,
            to: Target::To(S::Replied),
            actors: &[LeadUnit, UnitLead],
            guards: &[GradeGiven],
            effects: &[
                RecordGrade,
                Notify(Deputy, "suggestion.replied"),
                Notify(Cosigner, "suggestion.replied"),
            ],
        },
        Transition {
            from: &[S::Replied],
            action: A::Rate,
            to: Target::To(S::Evaluated),
            actors: &[Deputy],
            guards: &[RatingGiven],
            effects: &[
                RecordRating,
                CloseRound,
                Notify(Supervisor, "suggestion.rated"),
                Notify(LeadUnit, "suggestion.rated"),
            ],
        },
        Transition {
            from: &[S::Evaluated],
            action: A::Rehandle,
            to: Target::To(S::Rehandling),
            actors: &[Supervisor],
            guards: &[RatedUnsatisfied, RehandleRoundsLeft],
            effects: &[
                OpenRound,
                SetDue(DueKind::Reply, SlaItem::SuggestionReReply),
                Notify(LeadUnit, "suggestion.rehandle"),
            ],
        },
        // Closing (办结): B/C grades stay under tracking until solved.
        Transition {
            from: &[S::Evaluated],
            action: A::Close,
            to: Target::ByGrade {
                solved: S::Closed,
                pending: S::Tracking,
            },
            actors: &[Supervisor],
            guards: &[ReasonIfUnsatisfied],
            effects: &[Notify(Deputy, "suggestion.closed")],
        },
        Transition {
            from: &[S::Tracking],
            action: A::SecondReply,
            to: Target::To(S::SecondReplied),
            actors: &[LeadUnit, UnitLead],
            guards: &[GradeGiven],
            effects: &[
                RecordGrade,
                Notify(Deputy, "suggestion.second_replied"),
                Notify(Cosigner, "suggestion.second_replied"),
            ],
        },
        Transition {
            from: &[S::SecondReplied],
            action: A::Close,
            to: Target::To(S::Closed),
            actors: &[Supervisor],
            guards: &[],
            effects: &[Notify(Deputy, "suggestion.closed")],
        },
        Transition {
            from: &[S::Tracking],
            action: A::Close,
            to: Target::To(S::Closed),
            actors: &[Supervisor],
            guards: &[ReasonGiven],
            effects: &[Notify(Deputy, "suggestion.closed")],
        },
    ],
};

/// When an action is possible, for the message of a refusal by state.
fn hint(action: SuggestionAction, ctx: &Context<'_>) -> String {
    let sla = &ctx.sla.suggestion;
    match action {
        A::Submit => "只有草稿可以提交；提交后内容不能修改，可补充材料".to_owned(),
        A::InviteCosigner | A::Cosign | A::WithdrawCosign => {
            "联名只能在建议提交前邀请、签署或撤回".to_owned()
        }
        A::Register => "只有已提交、尚未立案的建议可以立案".to_owned(),
        A::Assign => "只有已立案、尚未交办的建议可以交办；退回获准后可重新交办".to_owned(),
        A::Acknowledge => "签收只能对已交办、尚未签收的建议进行".to_owned(),
        A::RequestReturn => format!("退回须在签收前、交办后{}内提出", sla.return_window.label()),
        A::ApproveReturn | A::RejectReturn => "只有承办单位申请退回的建议才能审批退回".to_owned(),
        A::RecordConsultation => "面商须在签收后、答复前进行".to_owned(),
        A::SubmitCoOpinion => "协办意见须在交办后、主办单位答复前提交".to_owned(),
        A::Reply => "答复须在签收后、办理中提出".to_owned(),
        A::Rate => "只有已答复的建议才能评价".to_owned(),
        A::Rehandle => "只有代表评价不满意的建议才能重新办理".to_owned(),
        A::SecondReply => "再次答复适用于答复为B、C类、办结后跟踪中的建议".to_owned(),
        A::Close => {
            "办结适用于已评价、跟踪中、已再次答复的建议，或转作议案、转供参考的建议".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::SlaTable;
    use crate::workdays::Calendar;
    use crate::workflow::test_support::{assert_state_table, full_args};
    use crate::workflow::{
        Actor, Effect, Guard, Registration, ResolutionGrade, Satisfaction, WorkflowError, decide,
        start,
    };
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
        (S::Draft, A::InviteCosigner),
        (S::Draft, A::Cosign),
        (S::Draft, A::WithdrawCosign),
        (S::Draft, A::Submit),
        (S::Submitted, A::Register),
        (S::Registered, A::Close),
        (S::Registered, A::Assign),
        (S::Assigned, A::Acknowledge),
        (S::Assigned, A::RequestReturn),
        (S::Assigned, A::SubmitCoOpinion),
        (S::ReturnRequested, A::ApproveReturn),
        (S::ReturnRequested, A::RejectReturn),
        (S::Acknowledged, A::RecordConsultation),
        (S::Acknowledged, A::SubmitCoOpinion),
        (S::Acknowledged, A::Reply),
        (S::Handling, A::RecordConsultation),
        (S::Handling, A::SubmitCoOpinion),
        (S::Handling, A::Reply),
        (S::Rehandling, A::RecordConsultation),
        (S::Rehandling, A::SubmitCoOpinion),
        (S::Rehandling, A::Reply),
        (S::Replied, A::Rate),
        (S::Evaluated, A::Rehandle),
        (S::Evaluated, A::Close),
        (S::Tracking, A::SecondReply),
        (S::Tracking, A::Close),
        (S::SecondReplied, A::Close),
    ];

    #[test]
    fn every_state_and_action_pair_is_allowed_or_forbidden_as_designed() {
        let (cal, sla) = setup();
        let ctx = full_args(Context::new(date!(2025 - 06 - 10), &cal, &sla));
        assert_state_table(&SUGGESTION_RULES, EXPECTED, &ctx);
    }

    #[test]
    fn only_a_closed_suggestion_is_final() {
        let finals: Vec<S> = S::ALL.iter().copied().filter(|s| s.is_final()).collect();
        assert_eq!(finals, vec![S::Closed]);
    }

    #[test]
    fn a_deputy_cannot_act_on_another_deputys_suggestion() {
        let (cal, sla) = setup();
        let ctx = full_args(Context::new(date!(2025 - 06 - 10), &cal, &sla));
        // The caller finds that the user is a deputy but neither proposer nor invited co-signer
        // of this suggestion: no actor at all.
        for action in [A::Submit, A::InviteCosigner, A::Cosign, A::WithdrawCosign] {
            let err = decide(&SUGGESTION_RULES, S::Draft, action, &[], &ctx).unwrap_err();
            assert_eq!(err.code(), "not_permitted", "{action:?}");
            assert!(err.to_string().contains("您与本事项没有办理关系"), "{err}");
        }
        let err = decide(&SUGGESTION_RULES, S::Replied, A::Rate, &[], &ctx).unwrap_err();
        assert_eq!(err.code(), "not_permitted");
        // A co-signer neither submits nor rates in the proposer's place.
        let err = decide(&SUGGESTION_RULES, S::Draft, A::Submit, &[Cosigner], &ctx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "只有本事项的代表可以提交；您在本事项中的身份是联名代表。如需办理，请联系有权限的人员"
        );
        assert!(decide(&SUGGESTION_RULES, S::Replied, A::Rate, &[Cosigner], &ctx).is_err());
    }

    #[test]
    fn a_cosignature_can_be_withdrawn_only_before_submission() {
        let (cal, sla) = setup();
        let ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        let err = decide(
            &SUGGESTION_RULES,
            S::Submitted,
            A::WithdrawCosign,
            &[Cosigner],
            &ctx,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "当前状态为“已提交待立案”，不能撤回联名；联名只能在建议提交前邀请、签署或撤回"
        );
    }

    #[test]
    fn a_return_after_seven_working_days_is_refused() {
        let (cal, sla) = setup();
        // Assigned Friday 26 September 2025; 7 WD: 28, 29, 30 Sept, 9, 10, 11, 13 Oct.
        let mut ctx = full_args(Context::new(date!(2025 - 10 - 13), &cal, &sla));
        ctx.facts.assigned_on = Some(date!(2025 - 09 - 26));
        assert!(
            decide(
                &SUGGESTION_RULES,
                S::Assigned,
                A::RequestReturn,
                &[LeadUnit],
                &ctx
            )
            .is_ok()
        );
        ctx.today = date!(2025 - 10 - 14);
        let result = decide(
            &SUGGESTION_RULES,
            S::Assigned,
            A::RequestReturn,
            &[LeadUnit],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::WithinReturnWindow);
    }

    #[test]
    fn a_suggestion_kept_for_reference_is_closed_not_assigned() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        ctx.facts.registration = Some(Registration::Reference);
        let err = decide(
            &SUGGESTION_RULES,
            S::Registered,
            A::Assign,
            &[Supervisor],
            &ctx,
        )
        .unwrap_err();
        assert!(err.to_string().contains("转供参考"), "{err}");
        let d = decide(
            &SUGGESTION_RULES,
            S::Registered,
            A::Close,
            &[Supervisor],
            &ctx,
        )
        .unwrap();
        assert_eq!(d.to, S::Closed);
        ctx.facts.registration = Some(Registration::Suggestion);
        let result = decide(
            &SUGGESTION_RULES,
            S::Registered,
            A::Close,
            &[Supervisor],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::NotRegisteredAsSuggestion);
    }

    #[test]
    fn a_reply_deadline_beyond_six_months_is_refused() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 03 - 31), &cal, &sla);
        ctx.facts.registration = Some(Registration::Suggestion);
        ctx.args.due_on = Some(date!(2025 - 10 - 01));
        let result = decide(
            &SUGGESTION_RULES,
            S::Registered,
            A::Assign,
            &[Supervisor],
            &ctx,
        );
        let err = result.clone().unwrap_err();
        assert_eq!(refused_by(result), Guard::DueDateValid);
        assert!(err.to_string().contains("2025-09-30"), "{err}");
        ctx.args.due_on = Some(date!(2025 - 09 - 30));
        assert!(
            decide(
                &SUGGESTION_RULES,
                S::Registered,
                A::Assign,
                &[Supervisor],
                &ctx
            )
            .is_ok()
        );
    }

    #[test]
    fn a_satisfied_deputy_cannot_have_the_suggestion_rehandled() {
        let (cal, sla) = setup();
        let mut ctx = Context::new(date!(2025 - 06 - 10), &cal, &sla);
        ctx.facts.last_rating = Some(Satisfaction::BasicallySatisfied);
        let result = decide(
            &SUGGESTION_RULES,
            S::Evaluated,
            A::Rehandle,
            &[Supervisor],
            &ctx,
        );
        assert_eq!(refused_by(result), Guard::RatedUnsatisfied);
    }

    struct Item<'a> {
        state: S,
        ctx: crate::workflow::Context<'a>,
        timeline: Vec<&'static str>,
    }

    impl Item<'_> {
        fn step(&mut self, action: A, actor: Actor) -> Vec<Effect> {
            let d = decide(&SUGGESTION_RULES, self.state, action, &[actor], &self.ctx)
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
                    Effect::RecordRegistration { registration } => {
                        self.ctx.facts.registration = Some(*registration)
                    }
                    _ => {}
                }
            }
            if action == A::Assign {
                self.ctx.facts.assigned_on = Some(self.ctx.today);
            }
            self.state = d.to;
            self.timeline.push(d.label);
            self.ctx.args = Default::default();
            d.effects
        }
    }

    #[test]
    fn a_cosigned_suggestion_runs_from_draft_to_rated_and_tracked_until_solved() {
        let (cal, sla) = setup();
        let ctx = Context::new(date!(2025 - 03 - 31), &cal, &sla);
        let created = start(&SUGGESTION_RULES, &ctx);
        let mut item = Item {
            state: created.to,
            ctx,
            timeline: vec![created.label],
        };
        item.step(A::InviteCosigner, Deputy);
        item.step(A::Cosign, Cosigner);
        let effects = item.step(A::Submit, Deputy);
        assert_eq!(effects[0], Effect::FreezeSubmission);
        item.ctx.args.registration = Some(Registration::Suggestion);
        item.step(A::Register, Supervisor);
        let effects = item.step(A::Assign, Supervisor);
        assert_eq!(
            effects[..2],
            [
                Effect::SetDue {
                    kind: DueKind::Reply,
                    due_on: date!(2025 - 06 - 30)
                },
                Effect::SetDue {
                    kind: DueKind::CoUnitOpinion,
                    due_on: date!(2025 - 04 - 30)
                },
            ]
        );
        item.step(A::Acknowledge, LeadUnit);
        item.step(A::SubmitCoOpinion, CoUnit);
        item.step(A::RecordConsultation, LeadUnit);
        assert_eq!(item.state, S::Handling);
        item.ctx.args.grade = Some(ResolutionGrade::B);
        item.step(A::Reply, UnitLead);
        item.ctx.args.rating = Some(Satisfaction::Satisfied);
        item.step(A::Rate, Deputy);
        assert_eq!(item.state, S::Evaluated);
        item.step(A::Close, Supervisor);
        assert_eq!(item.state, S::Tracking, "grade B stays under tracking");
        item.ctx.args.grade = Some(ResolutionGrade::A);
        item.step(A::SecondReply, LeadUnit);
        item.step(A::Close, Supervisor);
        assert_eq!(item.state, S::Closed);
        assert_eq!(
            item.timeline,
            vec![
                "起草建议",
                "邀请联名",
                "联名",
                "提交",
                "立案",
                "交办",
                "签收",
                "提交协办意见",
                "面商",
                "答复",
                "评价",
                "办结",
                "再次答复",
                "办结"
            ]
        );
    }

    #[test]
    fn an_unsatisfied_deputy_gets_a_new_reply_within_a_month_once() {
        let (cal, sla) = setup();
        let mut item = Item {
            state: S::Replied,
            ctx: Context::new(date!(2025 - 07 - 15), &cal, &sla),
            timeline: Vec::new(),
        };
        item.ctx.facts.last_grade = Some(ResolutionGrade::C);
        item.ctx.args.rating = Some(Satisfaction::Unsatisfied);
        item.step(A::Rate, Deputy);
        let effects = item.step(A::Rehandle, Supervisor);
        assert!(effects.contains(&Effect::SetDue {
            kind: DueKind::Reply,
            due_on: date!(2025 - 08 - 15)
        }));
        item.step(A::RecordConsultation, LeadUnit);
        assert_eq!(item.state, S::Rehandling);
        item.ctx.args.grade = Some(ResolutionGrade::A);
        item.step(A::Reply, LeadUnit);
        item.ctx.args.rating = Some(Satisfaction::Unsatisfied);
        item.step(A::Rate, Deputy);
        // The one re-handling round is used: the office closes, with a reason.
        let result = decide(
            &SUGGESTION_RULES,
            S::Evaluated,
            A::Rehandle,
            &[Supervisor],
            &item.ctx,
        );
        assert_eq!(refused_by(result), Guard::RehandleRoundsLeft);
        let result = decide(
            &SUGGESTION_RULES,
            S::Evaluated,
            A::Close,
            &[Supervisor],
            &item.ctx,
        );
        assert_eq!(refused_by(result), Guard::ReasonIfUnsatisfied);
        item.ctx.args.reason = Some("受上级政策限制，已向代表说明".to_owned());
        item.step(A::Close, Supervisor);
        assert_eq!(item.state, S::Closed, "the last grade is A");
    }
}
