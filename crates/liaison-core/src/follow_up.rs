//! 追问: a citizen's follow-up question on their own opinion, asked from the tracking page
//! (tracking number + last four digits of the phone, no account), and the staff's answer, which
//! is published under the question.
//!
//! A follow-up is a conversation beside the workflow, not a step of it: asking does not change
//! the item's state, deadlines or round (the workflow engine is not consulted), so a question
//! never silently reopens an item or resets a clock. Questions are accepted while the item is
//! open — from submission through feedback and the wait for a rating — and refused once nothing
//! more can happen to it (closed, closed unrated, declined, merged, converted to a suggestion):
//! the citizen is told to submit a new opinion instead. A citizen unhappy with the answer itself
//! rates it "unsatisfied" while the item waits for a rating, which starts the existing re-handling
//! round; a follow-up is for asking, not for reopening.

use crate::validate::{self, FieldError};
use crate::workflow::{Actor, OpinionState};

/// Most characters of a question.
pub const QUESTION_MAX: usize = 500;
/// Most characters of an answer.
pub const ANSWER_MAX: usize = 2000;
/// Most unanswered questions an item may have at once: a flood from one tracking number waits
/// for an answer first.
pub const OPEN_PER_ITEM_MAX: i64 = 3;

/// Whether the submitter may ask a follow-up question in `state`; otherwise why not, in Chinese.
pub fn may_ask(state: OpinionState) -> Result<(), &'static str> {
    use OpinionState as S;
    match state {
        S::Closed | S::ClosedUnrated => Err(
            "本事项已办结，不能再追问。如有新的情况或问题，请重新提交意见；我们将作为新事项受理。",
        ),
        S::Declined => Err(
            "本事项未予受理，不能追问。如有新的情况或问题，请重新提交意见，或按不予受理说明中建议的渠道反映。",
        ),
        S::Merged => Err(
            "本事项已与相同问题合并办理，办理结果将一并告知您，暂不能单独追问。如有新的情况，请重新提交意见。",
        ),
        S::ConvertedToSuggestion => {
            Err("本事项已转为人大代表闭会建议办理，不能再追问。如有新的情况，请重新提交意见。")
        }
        S::Submitted
        | S::Accepted
        | S::AnsweredOnSpot
        | S::Assigned
        | S::ReturnRequested
        | S::Acknowledged
        | S::Handling
        | S::ExtensionRequested
        | S::Replied
        | S::Reviewed
        | S::FeedbackSent
        | S::Evaluated
        | S::Rehandling
        | S::Supervised => Ok(()),
    }
}

/// Checks the text of a question (required, at most [`QUESTION_MAX`] characters).
pub fn question(input: &str) -> Result<String, FieldError> {
    validate::required_text("content", "追问内容", input, QUESTION_MAX)
}

/// Checks the text of an answer (required, at most [`ANSWER_MAX`] characters).
pub fn answer(input: &str) -> Result<String, FieldError> {
    validate::required_text("answer", "答复内容", input, ANSWER_MAX)
}

/// Whether someone who is `actors` for an item may answer its follow-up questions: the station
/// side (station staff, and township, county and city staff for a station of theirs), the
/// deputy the item is addressed to, and the lead unit holding it now. Co-units answer to the
/// lead unit, not to the citizen.
pub fn may_answer(actors: &[Actor]) -> bool {
    actors.iter().any(|a| {
        matches!(
            a,
            Actor::StationStaff | Actor::Deputy | Actor::LeadUnit | Actor::UnitLead
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_refused_exactly_where_nothing_more_can_happen() {
        for s in OpinionState::ALL {
            assert_eq!(
                may_ask(*s).is_err(),
                s.is_final(),
                "{s:?}: a follow-up is refused only on a final state"
            );
        }
    }

    #[test]
    fn a_closed_item_points_to_a_new_opinion() {
        let m = may_ask(OpinionState::Closed).unwrap_err();
        assert!(m.contains("重新提交意见"), "{m}");
    }

    #[test]
    fn the_texts_are_required_and_limited_with_the_limit_named() {
        assert_eq!(question("  ").unwrap_err().message, "请填写追问内容");
        let long = "问".repeat(QUESTION_MAX + 1);
        let e = question(&long).unwrap_err();
        assert!(e.message.contains("最多500个字"), "{}", e.message);
        assert_eq!(question(" 何时修好？ ").unwrap(), "何时修好？");
        assert!(answer(&"答".repeat(ANSWER_MAX)).is_ok());
        assert!(answer(&"答".repeat(ANSWER_MAX + 1)).is_err());
    }

    #[test]
    fn co_units_and_supervisors_alone_do_not_answer() {
        assert!(may_answer(&[Actor::StationStaff]));
        assert!(may_answer(&[Actor::LeadUnit]));
        assert!(may_answer(&[Actor::Deputy]));
        assert!(!may_answer(&[Actor::CoUnit]));
        assert!(!may_answer(&[Actor::Supervisor]));
        assert!(!may_answer(&[]));
    }
}
