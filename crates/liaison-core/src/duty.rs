//! The deputy's duty record (履职档案): what kinds of duty a dated entry can be, and where an
//! entry stands. Entries are typed so that the duty evaluation (`reference.md` §4.4) can score
//! them per kind; the scoring itself is not here.

use crate::org::coded_enum;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// Kind of a duty-record entry. The list follows the categories of published duty-point
    /// schemes (§4.4: plenary attendance, meetings and training, suggestions lead/co-signed,
    /// motions, inspection and research, station duty shifts, opinions answered, report-back,
    /// absences) and the station activities of §3.5.
    DutyKind {
        PlenarySession => ("plenary_session", "出席人民代表大会会议"),
        Meeting => ("meeting", "列席或参加会议"),
        Training => ("training", "参加履职培训"),
        Study => ("study", "学习交流"),
        Reception => ("reception", "接待选民"),
        DutyShift => ("duty_shift", "轮值驻站"),
        CheckIn => ("check_in", "到站签到"),
        ActivityAttended => ("activity_attended", "参加主题活动"),
        Inspection => ("inspection", "视察调研"),
        LawEnforcementCheck => ("law_enforcement_check", "执法检查"),
        Deliberation => ("deliberation", "督政议事、民主恳谈"),
        LegislativeConsultation => ("legislative_consultation", "立法征询"),
        ProjectSupervision => ("project_supervision", "民生实事监督"),
        OpinionAnswered => ("opinion_answered", "答复群众意见"),
        SuggestionFiled => ("suggestion_filed", "领衔提出建议"),
        SuggestionCosigned => ("suggestion_cosigned", "联名提出建议"),
        MotionFiled => ("motion_filed", "提出议案"),
        ReportBack => ("report_back", "向选民述职"),
        OfflineOther => ("offline_other", "其他线下履职"),
        AbsenceWithoutLeave => ("absence_without_leave", "无故缺席"),
    }
);

impl DutyKind {
    /// Kinds a deputy may declare as an offline duty for staff approval. Kinds the system records
    /// from its own data (opinions answered, suggestions, check-ins) are left out so they cannot
    /// be claimed twice, and an absence is recorded by staff, not declared.
    pub const DECLARABLE: &'static [DutyKind] = &[
        DutyKind::PlenarySession,
        DutyKind::Meeting,
        DutyKind::Training,
        DutyKind::Study,
        DutyKind::Reception,
        DutyKind::DutyShift,
        DutyKind::ActivityAttended,
        DutyKind::Inspection,
        DutyKind::LawEnforcementCheck,
        DutyKind::Deliberation,
        DutyKind::LegislativeConsultation,
        DutyKind::ProjectSupervision,
        DutyKind::MotionFiled,
        DutyKind::ReportBack,
        DutyKind::OfflineOther,
    ];

    /// Whether a deputy may declare this kind as an offline duty.
    pub fn is_declarable(self) -> bool {
        Self::DECLARABLE.contains(&self)
    }
}

coded_enum!(
    /// Where a duty-record entry stands. Entries the system records from its own data are
    /// `recorded`; a deputy's offline declaration waits for staff approval.
    DutyStatus {
        Recorded => ("recorded", "已记录"),
        PendingApproval => ("pending_approval", "待审核"),
        Approved => ("approved", "已审核通过"),
        Rejected => ("rejected", "未通过审核"),
    }
);

impl DutyStatus {
    /// Whether the entry counts in summaries and (later) in scoring.
    pub fn counts(self) -> bool {
        matches!(self, DutyStatus::Recorded | DutyStatus::Approved)
    }
}

/// Where an entry came from (`source_kind`): the system's own records, or a declaration.
pub mod source {
    /// An inter-session suggestion (`suggestion.id`).
    pub const SUGGESTION: &str = "suggestion";
    /// A citizen opinion (`opinion.id`).
    pub const OPINION: &str = "opinion";
    /// An activity (`activity.id`).
    pub const ACTIVITY: &str = "activity";
    /// A deputy's own declaration of an offline duty (no source row).
    pub const OFFLINE: &str = "offline";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_unique_codes_and_labels() {
        let mut codes: Vec<&str> = DutyKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), DutyKind::ALL.len());
        assert_eq!(
            DutyKind::parse("联名提出建议"),
            Some(DutyKind::SuggestionCosigned)
        );
        assert_eq!(
            DutyKind::parse("opinion_answered"),
            Some(DutyKind::OpinionAnswered)
        );
    }

    #[test]
    fn automatic_kinds_cannot_be_declared() {
        for k in [
            DutyKind::OpinionAnswered,
            DutyKind::SuggestionFiled,
            DutyKind::SuggestionCosigned,
            DutyKind::CheckIn,
            DutyKind::AbsenceWithoutLeave,
        ] {
            assert!(!k.is_declarable(), "{k}");
        }
        assert!(DutyKind::Inspection.is_declarable());
    }

    #[test]
    fn only_recorded_and_approved_entries_count() {
        assert!(DutyStatus::Recorded.counts());
        assert!(DutyStatus::Approved.counts());
        assert!(!DutyStatus::PendingApproval.counts());
        assert!(!DutyStatus::Rejected.counts());
    }
}
