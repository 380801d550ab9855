//! Service-level deadlines (办理时限) of the opinion and suggestion loops, and the traffic light.
//!
//! The defaults follow `reference.md` §3.1–§3.2 (12345 practice and published suggestion rules);
//! most are design defaults that the city centre must be able to change, so the whole table is a
//! plain serialisable value that is stored and edited as JSON.

pub mod form;

use crate::org::coded_enum;
use crate::workdays::Calendar;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;

/// The category key whose entry applies to every category without its own entry.
pub const DEFAULT_CATEGORY: &str = "default";

/// The category key of consultation-type opinions (咨询类), answered faster.
pub const CONSULT_CATEGORY: &str = "consult";

coded_enum!(
    /// How urgent an opinion is, chosen at intake.
    Urgency {
        Normal => ("normal", "一般"),
        Urgent => ("urgent", "紧急"),
    }
);

coded_enum!(
    /// The traffic light (红黄灯) of a deadline.
    SlaLight {
        Green => ("green", "正常"),
        Yellow => ("yellow", "临期"),
        Red => ("red", "逾期"),
    }
);

/// A length of time with its unit, as rules state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// Working days; the start day does not count (see [`Calendar::add_working_days`]).
    WorkingDays(u32),
    /// Calendar days; the start day does not count.
    CalendarDays(u32),
    /// Calendar months, to the same day of the month (or its last day).
    Months(u32),
}

impl Span {
    /// The date this span ends when it starts on `start`.
    pub fn due_from(self, start: Date, calendar: &Calendar) -> Date {
        match self {
            Span::WorkingDays(n) => calendar.add_working_days(start, n),
            Span::CalendarDays(n) => start
                .checked_add(time::Duration::days(i64::from(n)))
                .unwrap_or(Date::MAX),
            Span::Months(n) => add_months(start, n),
        }
    }

    /// The span in Chinese, e.g. “15个工作日”, “7日”, “3个月”; zero working days is “当日”.
    pub fn label(self) -> String {
        match self {
            Span::WorkingDays(0) | Span::CalendarDays(0) => "当日".to_owned(),
            Span::WorkingDays(n) => format!("{n}个工作日"),
            Span::CalendarDays(n) => format!("{n}日"),
            Span::Months(n) => format!("{n}个月"),
        }
    }

    fn amount(self) -> u32 {
        match self {
            Span::WorkingDays(n) | Span::CalendarDays(n) | Span::Months(n) => n,
        }
    }
}

/// `date` plus `months` calendar months; a day that does not exist in the target month becomes
/// that month's last day (31 January + 1 month = 28 or 29 February).
pub fn add_months(date: Date, months: u32) -> Date {
    let index =
        i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let Ok(year) = i32::try_from(index.div_euclid(12)) else {
        return Date::MAX;
    };
    let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap_or(12))
        .unwrap_or(time::Month::December);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

/// The light of a deadline `due` seen on `today`: red once past due, yellow when due today or
/// on the next working day, green otherwise.
pub fn light(today: Date, due: Date, calendar: &Calendar) -> SlaLight {
    if today > due {
        SlaLight::Red
    } else if calendar.working_days_between(today, due) <= 1 {
        SlaLight::Yellow
    } else {
        SlaLight::Green
    }
}

/// Deadlines of the opinion loop for one category and urgency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpinionSla {
    /// Submission → accepted or declined (受理). 1 WD; urgent items the same day.
    pub accept: Span,
    /// Acceptance (or an approved return) → assigned to a unit (分办). 1 WD. Tables stored
    /// before this deadline existed read the default.
    #[serde(default = "default_assign")]
    pub assign: Span,
    /// A unit's return request, or an unsatisfied rating → the station's decision (退回审批、
    /// 不满意研判). 2 WD.
    #[serde(default = "default_decision")]
    pub decision: Span,
    /// Assignment → acknowledged by the unit (签收). 1 WD.
    pub acknowledge: Span,
    /// Window after assignment in which the unit may ask to return the item (退回). 1 WD, the
    /// sign-for window.
    pub return_window: Span,
    /// Assignment → formal reply (答复). 15 WD; consultation-type 5 WD.
    pub reply: Span,
    /// Reply → checked by the station (审核). 2 WD.
    pub review: Span,
    /// Feedback → the submitter's rating, after which the item closes unrated. 7 calendar days.
    pub rating_window: Span,
    /// Re-handling round → new reply (重办). 10 WD.
    pub rehandle_reply: Span,
    /// The most one extension may add to the reply deadline (延期). 15 WD.
    pub extension_cap: Span,
    /// How many extensions an item may get. 1.
    pub extensions_allowed: u32,
    /// Still without a reply this long after the due date, the system opens a supervision case
    /// (督办). 5 WD.
    pub supervision_after: Span,
    /// Deadline of a supervision case for the unit's reply. 5 WD (design default).
    pub supervision_reply: Span,
    /// Re-handling rounds after unsatisfied ratings before the item must go to supervision. 2.
    pub max_rehandle_rounds: u32,
}

fn default_assign() -> Span {
    OpinionSla::NORMAL.assign
}

fn default_decision() -> Span {
    OpinionSla::NORMAL.decision
}

impl OpinionSla {
    /// The defaults for normal urgency.
    pub const NORMAL: OpinionSla = OpinionSla {
        accept: Span::WorkingDays(1),
        assign: Span::WorkingDays(1),
        decision: Span::WorkingDays(2),
        acknowledge: Span::WorkingDays(1),
        return_window: Span::WorkingDays(1),
        reply: Span::WorkingDays(15),
        review: Span::WorkingDays(2),
        rating_window: Span::CalendarDays(7),
        rehandle_reply: Span::WorkingDays(10),
        extension_cap: Span::WorkingDays(15),
        extensions_allowed: 1,
        supervision_after: Span::WorkingDays(5),
        supervision_reply: Span::WorkingDays(5),
        max_rehandle_rounds: 2,
    };

    /// The defaults for urgent items: accepted the same day, the rest as normal.
    pub const URGENT: OpinionSla = OpinionSla {
        accept: Span::WorkingDays(0),
        ..OpinionSla::NORMAL
    };
}

/// Normal and urgent deadlines of one opinion category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpinionSlaByUrgency {
    /// For normal items.
    pub normal: OpinionSla,
    /// For urgent items.
    pub urgent: OpinionSla,
}

impl OpinionSlaByUrgency {
    /// The entry for `urgency`.
    pub fn get(&self, urgency: Urgency) -> &OpinionSla {
        match urgency {
            Urgency::Normal => &self.normal,
            Urgency::Urgent => &self.urgent,
        }
    }
}

/// Deadlines of the inter-session suggestion loop (闭会建议).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionSla {
    /// Assignment → reply. 3 months.
    pub reply: Span,
    /// The latest reply deadline that may be set for complex suggestions. 6 months.
    pub reply_max: Span,
    /// Assignment → co-handling unit's opinion to the lead unit (协办意见). 1 month.
    pub co_unit_opinion: Span,
    /// Unsatisfied rating → new reply (重新答复). 1 month.
    pub re_reply: Span,
    /// Window after assignment in which a unit may ask to return a wrongly assigned suggestion.
    /// 7 WD.
    pub return_window: Span,
    /// Re-handling rounds after unsatisfied ratings. 1 (design default).
    pub max_rehandle_rounds: u32,
}

impl SuggestionSla {
    /// The defaults.
    pub const DEFAULT: SuggestionSla = SuggestionSla {
        reply: Span::Months(3),
        reply_max: Span::Months(6),
        co_unit_opinion: Span::Months(1),
        re_reply: Span::Months(1),
        return_window: Span::WorkingDays(7),
        max_rehandle_rounds: 1,
    };
}

/// One named deadline of the table, so that rules can refer to it without knowing its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaItem {
    /// [`OpinionSla::accept`].
    OpinionAccept,
    /// [`OpinionSla::acknowledge`].
    OpinionAcknowledge,
    /// [`OpinionSla::reply`].
    OpinionReply,
    /// [`OpinionSla::review`].
    OpinionReview,
    /// [`OpinionSla::assign`].
    OpinionAssign,
    /// [`OpinionSla::decision`].
    OpinionDecision,
    /// [`OpinionSla::rating_window`].
    OpinionRatingWindow,
    /// [`OpinionSla::rehandle_reply`].
    OpinionRehandleReply,
    /// [`OpinionSla::supervision_reply`].
    OpinionSupervisionReply,
    /// [`SuggestionSla::reply`].
    SuggestionReply,
    /// [`SuggestionSla::co_unit_opinion`].
    SuggestionCoUnitOpinion,
    /// [`SuggestionSla::re_reply`].
    SuggestionReReply,
}

/// Why an edited table was refused. Shown to the administrator editing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    /// Not JSON of the table's shape.
    #[error("时限配置格式不正确：{0}。请在导出的配置上修改后再上传")]
    Format(String),
    /// The fallback entry is missing.
    #[error("时限配置缺少“default”（默认）类别，请保留该类别，未单独配置的类别都使用它")]
    MissingDefault,
    /// A value is out of its sensible range.
    #[error("时限配置“{field}”的值 {value} 不合理：{hint}")]
    OutOfRange {
        /// Where, e.g. `opinion.consult.urgent.reply`.
        field: String,
        /// The value as written.
        value: String,
        /// What is allowed.
        hint: &'static str,
    },
}

/// The whole deadline table: opinion deadlines by category and urgency, suggestion deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTable {
    /// By opinion category key (free text, e.g. `consult`); [`DEFAULT_CATEGORY`] is required and
    /// applies to every category without its own entry.
    pub opinion: BTreeMap<String, OpinionSlaByUrgency>,
    /// Suggestion deadlines.
    pub suggestion: SuggestionSla,
}

impl Default for SlaTable {
    fn default() -> Self {
        let standard = OpinionSlaByUrgency {
            normal: OpinionSla::NORMAL,
            urgent: OpinionSla::URGENT,
        };
        let consult = OpinionSlaByUrgency {
            normal: OpinionSla {
                reply: Span::WorkingDays(5),
                ..OpinionSla::NORMAL
            },
            urgent: OpinionSla {
                reply: Span::WorkingDays(5),
                ..OpinionSla::URGENT
            },
        };
        SlaTable {
            opinion: BTreeMap::from([
                (DEFAULT_CATEGORY.to_owned(), standard),
                (CONSULT_CATEGORY.to_owned(), consult),
            ]),
            suggestion: SuggestionSla::DEFAULT,
        }
    }
}

impl SlaTable {
    /// The fewest calendar days any configured rating window lasts (a working day is at least
    /// a calendar day, a month at least 28): an item whose feedback is more recent than that
    /// cannot have reached the end of its window, so the timer need not look at it.
    pub fn shortest_rating_window_days(&self) -> i64 {
        self.opinion
            .values()
            .flat_map(|by| [by.normal.rating_window, by.urgent.rating_window])
            .map(|span| match span {
                Span::WorkingDays(n) | Span::CalendarDays(n) => i64::from(n),
                Span::Months(n) => 28 * i64::from(n),
            })
            .min()
            .unwrap_or(0)
    }

    /// Reads and checks a table edited as JSON.
    pub fn from_json(json: &str) -> Result<Self, SlaError> {
        let table: SlaTable =
            serde_json::from_str(json).map_err(|e| SlaError::Format(e.to_string()))?;
        table.check()?;
        Ok(table)
    }

    /// The table as JSON for storing or editing.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the table is always representable as JSON")
    }

    /// The opinion deadlines of `category` (or of the default category) and `urgency`.
    pub fn opinion(&self, category: &str, urgency: Urgency) -> &OpinionSla {
        match self
            .opinion
            .get(category)
            .or_else(|| self.opinion.get(DEFAULT_CATEGORY))
        {
            Some(entry) => entry.get(urgency),
            // Only a table that skipped `check` lacks the default; use the built-in values.
            None => match urgency {
                Urgency::Normal => &OpinionSla::NORMAL,
                Urgency::Urgent => &OpinionSla::URGENT,
            },
        }
    }

    /// The span of one named deadline; `category` and `urgency` matter for opinion items only.
    pub fn span(&self, item: SlaItem, category: &str, urgency: Urgency) -> Span {
        let o = self.opinion(category, urgency);
        let s = &self.suggestion;
        match item {
            SlaItem::OpinionAccept => o.accept,
            SlaItem::OpinionAcknowledge => o.acknowledge,
            SlaItem::OpinionReply => o.reply,
            SlaItem::OpinionReview => o.review,
            SlaItem::OpinionAssign => o.assign,
            SlaItem::OpinionDecision => o.decision,
            SlaItem::OpinionRatingWindow => o.rating_window,
            SlaItem::OpinionRehandleReply => o.rehandle_reply,
            SlaItem::OpinionSupervisionReply => o.supervision_reply,
            SlaItem::SuggestionReply => s.reply,
            SlaItem::SuggestionCoUnitOpinion => s.co_unit_opinion,
            SlaItem::SuggestionReReply => s.re_reply,
        }
    }

    /// Checks the table: the default category exists and every value is in a sensible range.
    pub fn check(&self) -> Result<(), SlaError> {
        if !self.opinion.contains_key(DEFAULT_CATEGORY) {
            return Err(SlaError::MissingDefault);
        }
        for (category, entry) in &self.opinion {
            for (urgency, sla) in [("normal", &entry.normal), ("urgent", &entry.urgent)] {
                let at = |field: &str| format!("opinion.{category}.{urgency}.{field}");
                check_span(&at("accept"), sla.accept, false)?;
                check_span(&at("assign"), sla.assign, false)?;
                check_span(&at("decision"), sla.decision, false)?;
                check_span(&at("acknowledge"), sla.acknowledge, false)?;
                check_span(&at("return_window"), sla.return_window, false)?;
                check_span(&at("reply"), sla.reply, true)?;
                check_span(&at("review"), sla.review, false)?;
                check_span(&at("rating_window"), sla.rating_window, true)?;
                check_span(&at("rehandle_reply"), sla.rehandle_reply, true)?;
                check_span(&at("extension_cap"), sla.extension_cap, false)?;
                check_span(&at("supervision_after"), sla.supervision_after, false)?;
                check_span(&at("supervision_reply"), sla.supervision_reply, true)?;
                check_count(&at("extensions_allowed"), sla.extensions_allowed)?;
                check_count(&at("max_rehandle_rounds"), sla.max_rehandle_rounds)?;
            }
        }
        let s = &self.suggestion;
        check_span("suggestion.reply", s.reply, true)?;
        check_span("suggestion.reply_max", s.reply_max, true)?;
        check_span("suggestion.co_unit_opinion", s.co_unit_opinion, true)?;
        check_span("suggestion.re_reply", s.re_reply, true)?;
        check_span("suggestion.return_window", s.return_window, false)?;
        check_count("suggestion.max_rehandle_rounds", s.max_rehandle_rounds)?;
        // Compare on a fixed reference date, weekends only: the order does not depend on holidays
        // enough to matter for a sanity check.
        let reference =
            Date::from_calendar_date(2025, time::Month::January, 1).expect("a valid fixed date");
        let plain = Calendar::weekends_only();
        if s.reply_max.due_from(reference, &plain) < s.reply.due_from(reference, &plain) {
            return Err(SlaError::OutOfRange {
                field: "suggestion.reply_max".to_owned(),
                value: s.reply_max.label(),
                hint: "最长答复期限不能短于一般答复期限",
            });
        }
        Ok(())
    }
}

fn check_span(field: &str, span: Span, must_be_positive: bool) -> Result<(), SlaError> {
    let (max, hint) = match span {
        Span::WorkingDays(_) => (250, "工作日数应在 0 至 250 之间"),
        Span::CalendarDays(_) => (366, "日数应在 0 至 366 之间"),
        Span::Months(_) => (24, "月数应在 0 至 24 之间"),
    };
    if span.amount() > max {
        return Err(SlaError::OutOfRange {
            field: field.to_owned(),
            value: span.label(),
            hint,
        });
    }
    if must_be_positive && span.amount() == 0 {
        return Err(SlaError::OutOfRange {
            field: field.to_owned(),
            value: span.label(),
            hint: "该期限不能为0，请至少填写1",
        });
    }
    Ok(())
}

fn check_count(field: &str, count: u32) -> Result<(), SlaError> {
    if count > 10 {
        return Err(SlaError::OutOfRange {
            field: field.to_owned(),
            value: count.to_string(),
            hint: "次数应在 0 至 10 之间",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn default_table_has_the_documented_values() {
        let t = SlaTable::default();
        let normal = t.opinion("traffic", Urgency::Normal);
        assert_eq!(normal.accept, Span::WorkingDays(1));
        assert_eq!(normal.reply, Span::WorkingDays(15));
        assert_eq!(normal.rating_window, Span::CalendarDays(7));
        assert_eq!(normal.extension_cap, Span::WorkingDays(15));
        assert_eq!(normal.extensions_allowed, 1);
        assert_eq!(normal.max_rehandle_rounds, 2);
        assert_eq!(
            t.opinion("traffic", Urgency::Urgent).accept,
            Span::WorkingDays(0)
        );
        assert_eq!(
            t.opinion(CONSULT_CATEGORY, Urgency::Normal).reply,
            Span::WorkingDays(5)
        );
        assert_eq!(t.suggestion.reply, Span::Months(3));
        assert_eq!(t.suggestion.reply_max, Span::Months(6));
        assert_eq!(t.suggestion.return_window, Span::WorkingDays(7));
        assert_eq!(
            t.span(SlaItem::OpinionReply, CONSULT_CATEGORY, Urgency::Urgent),
            Span::WorkingDays(5)
        );
        t.check().unwrap();
    }

    #[test]
    fn the_table_round_trips_through_json_for_editing() {
        let t = SlaTable::default();
        let json = t.to_json();
        assert!(json.contains("\"working_days\": 15"), "{json}");
        assert_eq!(SlaTable::from_json(&json).unwrap(), t);
    }

    #[test]
    fn an_edited_table_without_default_or_with_absurd_values_is_refused() {
        let mut t = SlaTable::default();
        t.opinion.remove(DEFAULT_CATEGORY);
        assert_eq!(
            SlaTable::from_json(&t.to_json()).unwrap_err(),
            SlaError::MissingDefault
        );
        // Without the check, lookups still fall back to the built-in defaults.
        assert_eq!(t.opinion("x", Urgency::Normal), &OpinionSla::NORMAL);

        let mut t = SlaTable::default();
        t.opinion.get_mut(CONSULT_CATEGORY).unwrap().urgent.reply = Span::WorkingDays(0);
        let err = SlaTable::from_json(&t.to_json()).unwrap_err();
        assert!(
            err.to_string().contains("opinion.consult.urgent.reply"),
            "{err}"
        );

        let mut t = SlaTable::default();
        t.suggestion.reply_max = Span::Months(2);
        assert!(SlaTable::from_json(&t.to_json()).is_err());

        assert!(matches!(
            SlaTable::from_json("{}").unwrap_err(),
            SlaError::Format(_)
        ));
    }

    #[test]
    fn months_keep_the_day_or_clamp_to_the_month_end() {
        assert_eq!(add_months(date!(2025 - 03 - 15), 3), date!(2025 - 06 - 15));
        assert_eq!(add_months(date!(2025 - 01 - 31), 1), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2025 - 11 - 30), 3), date!(2026 - 02 - 28));
        assert_eq!(add_months(date!(2025 - 12 - 01), 0), date!(2025 - 12 - 01));
    }

    #[test]
    fn spans_end_on_the_right_day() {
        let cal = Calendar::builtin();
        let fri = date!(2025 - 09 - 26);
        assert_eq!(
            Span::WorkingDays(1).due_from(fri, &cal),
            date!(2025 - 09 - 28)
        );
        assert_eq!(
            Span::CalendarDays(7).due_from(fri, &cal),
            date!(2025 - 10 - 03)
        );
        assert_eq!(Span::Months(1).due_from(fri, &cal), date!(2025 - 10 - 26));
        assert_eq!(Span::WorkingDays(15).label(), "15个工作日");
        assert_eq!(Span::WorkingDays(0).label(), "当日");
    }

    #[test]
    fn the_light_turns_yellow_one_working_day_before_and_red_after_due() {
        let cal = Calendar::builtin();
        let due = date!(2025 - 10 - 09); // Thursday after the National Day holiday
        assert_eq!(light(date!(2025 - 09 - 29), due, &cal), SlaLight::Green);
        // Tuesday 30 September: the next working day is the due day.
        assert_eq!(light(date!(2025 - 09 - 30), due, &cal), SlaLight::Yellow);
        assert_eq!(light(date!(2025 - 10 - 05), due, &cal), SlaLight::Yellow);
        assert_eq!(light(due, due, &cal), SlaLight::Yellow);
        assert_eq!(light(date!(2025 - 10 - 10), due, &cal), SlaLight::Red);
        assert_eq!(SlaLight::Red.label(), "逾期");
    }

    #[test]
    fn the_timer_looks_back_by_the_shortest_rating_window() {
        let mut t = SlaTable::default();
        assert_eq!(t.shortest_rating_window_days(), 7);
        let mut row = t.opinion[DEFAULT_CATEGORY].clone();
        row.urgent.rating_window = Span::WorkingDays(3);
        t.opinion.insert("交通运输".into(), row);
        assert_eq!(t.shortest_rating_window_days(), 3);
    }
}
