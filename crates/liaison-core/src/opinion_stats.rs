//! 民意办理统计: the KPIs of the opinion loop and of handling units (reference §4.1), computed
//! from what happened to each item received in a period.
//!
//! Storage reads one [`ItemFacts`] per item (its row and the dates of its timeline events);
//! everything here is arithmetic on those facts, so every formula is tested without a database.
//! Each KPI keeps its numerator and denominator: a page shows "92.3%（120/130）", never a bare
//! percentage whose base the reader cannot check.
//!
//! Which items count: those *received* in the period (a cohort). A report for January therefore
//! keeps changing while January's items are still being handled; the page says so. Each item
//! counts once, and by unit for the unit leading it now (a closed item: its last lead unit).

use crate::sla::SlaTable;
use crate::workdays::Calendar;
use crate::workflow::{OpinionState, ResolutionGrade, Satisfaction};
use serde::Serialize;
use time::Date;

/// Working days after acknowledging within which a unit should first call the submitter
/// (首次联系). Reference §4.1 leaves N open; two working days is what the 12345 hotlines of
/// several provinces ask of their units.
pub const FIRST_CONTACT_WORKING_DAYS: u32 = 2;

/// Days after closing within which another item of the same submitter and category counts as a
/// repeat complaint (息诉率 window, reference §4.1).
pub const REPEAT_WINDOW_DAYS: i64 = 90;

/// What one item received in the period went through. Dates are days in China.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFacts {
    /// The state now.
    pub state: OpinionState,
    /// Category code (for the deadline table).
    pub category: String,
    /// Urgent (for the deadline table).
    pub urgent: bool,
    /// Submitted without a name and phone.
    pub anonymous: bool,
    /// Ever accepted (受理).
    pub accepted: bool,
    /// Answered on the spot by the station or deputy (直办).
    pub answered_on_spot: bool,
    /// Merged into another item as its duplicate.
    pub merged: bool,
    /// First assigned to a handling unit.
    pub assigned_on: Option<Date>,
    /// First acknowledged (签收) by a unit.
    pub acknowledged_on: Option<Date>,
    /// First call to the submitter recorded by the unit.
    pub first_contact_on: Option<Date>,
    /// Latest reply of a unit.
    pub replied_on: Option<Date>,
    /// The reply deadline in force now (after extensions and re-handling rounds).
    pub reply_due_on: Option<Date>,
    /// Closed (rated, or closed unrated), not declined or merged.
    pub closed_on: Option<Date>,
    /// Return requests (申请退回) made.
    pub return_requests: u32,
    /// Return requests the station refused.
    pub returns_rejected: u32,
    /// Extensions granted.
    pub extensions: u32,
    /// Re-handling rounds after an unsatisfied rating.
    pub rehandle_rounds: u32,
    /// Ever under supervision (督办).
    pub supervised: bool,
    /// The citizen's latest rating, or the one recorded on a follow-up call.
    pub rating: Option<Satisfaction>,
    /// The latest reply's resolution grade.
    pub grade: Option<ResolutionGrade>,
    /// The same submitter raised another item of the same category within
    /// [`REPEAT_WINDOW_DAYS`] after this one closed.
    pub repeated: bool,
}

impl ItemFacts {
    /// A just-submitted item with nothing happened to it yet; tests and storage fill the rest.
    pub fn submitted(category: &str) -> Self {
        ItemFacts {
            state: OpinionState::Submitted,
            category: category.to_owned(),
            urgent: false,
            anonymous: false,
            accepted: false,
            answered_on_spot: false,
            merged: false,
            assigned_on: None,
            acknowledged_on: None,
            first_contact_on: None,
            replied_on: None,
            reply_due_on: None,
            closed_on: None,
            return_requests: 0,
            returns_rejected: 0,
            extensions: 0,
            rehandle_rounds: 0,
            supervised: false,
            rating: None,
            grade: None,
            repeated: false,
        }
    }

    fn is_closed(&self) -> bool {
        matches!(
            self.state,
            OpinionState::Closed | OpinionState::ClosedUnrated
        ) && self.closed_on.is_some()
    }

    /// Still with a unit, waiting for its reply.
    fn awaits_unit_reply(&self) -> bool {
        use OpinionState as S;
        matches!(
            self.state,
            S::Assigned
                | S::ReturnRequested
                | S::Acknowledged
                | S::Handling
                | S::ExtensionRequested
                | S::Rehandling
                | S::Supervised
        )
    }
}

/// What the formulas need besides the facts.
#[derive(Debug, Clone, Copy)]
pub struct StatsContext<'a> {
    /// Working days.
    pub calendar: &'a Calendar,
    /// The deadline table (签收 within the category's span).
    pub sla: &'a SlaTable,
    /// The day the report is made (what is overdue now).
    pub today: Date,
}

/// Counts over a group of items, from which every KPI is a ratio.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Items received.
    pub received: u64,
    /// Of them, with name and phone (实名).
    pub real_name: u64,
    /// Merged as duplicates.
    pub merged: u64,
    /// Accepted.
    pub accepted: u64,
    /// Declined (不予受理).
    pub declined: u64,
    /// Answered on the spot.
    pub answered_on_spot: u64,
    /// Assigned to a unit.
    pub assigned: u64,
    /// Acknowledged within the deadline table's span.
    pub acknowledged_in_sla: u64,
    /// Acknowledged within one working day.
    pub acknowledged_in_1wd: u64,
    /// Acknowledged at all.
    pub acknowledged: u64,
    /// First contact within [`FIRST_CONTACT_WORKING_DAYS`] of acknowledging.
    pub contacted_in_time: u64,
    /// Replied by a unit.
    pub replied: u64,
    /// Replied by a unit or answered on the spot: what can be followed up.
    pub answered: u64,
    /// Closed (rated or unrated).
    pub closed: u64,
    /// Closed items a unit handled.
    pub closed_assigned: u64,
    /// Of those, replied on or before the reply deadline.
    pub closed_on_time: u64,
    /// Assigned items whose reply deadline has come (or which were replied).
    pub due: u64,
    /// Open past the reply deadline without a reply, or replied after it.
    pub overdue: u64,
    /// Of the overdue, still open.
    pub overdue_open: u64,
    /// Σ working days from acknowledging to closing, over the closed items acknowledged.
    pub handling_working_days: u64,
    /// How many items that sum is over.
    pub handling_measured: u64,
    /// Rated (by the citizen or on a follow-up call).
    pub rated: u64,
    /// Rated satisfied.
    pub satisfied: u64,
    /// Rated basically satisfied.
    pub basically_satisfied: u64,
    /// Rated unsatisfied.
    pub unsatisfied: u64,
    /// Closed with grade A (solved or basically solved).
    pub solved: u64,
    /// Closed with grade A without re-handling.
    pub solved_first_round: u64,
    /// Closed after at least one re-handling round.
    pub rehandled: u64,
    /// Return requests made.
    pub return_requests: u64,
    /// Return requests refused.
    pub returns_rejected: u64,
    /// Assigned items given an extension.
    pub extended: u64,
    /// Items ever under supervision.
    pub supervised: u64,
    /// Closed items not followed by a repeat complaint.
    pub closed_without_repeat: u64,
}

impl Tally {
    /// Adds one item.
    pub fn add(&mut self, f: &ItemFacts, cx: &StatsContext<'_>) {
        self.received += 1;
        self.real_name += u64::from(!f.anonymous);
        self.merged += u64::from(f.merged);
        self.accepted += u64::from(f.accepted);
        self.declined += u64::from(f.state == OpinionState::Declined);
        self.answered_on_spot += u64::from(f.answered_on_spot);
        self.supervised += u64::from(f.supervised);
        self.return_requests += u64::from(f.return_requests);
        self.returns_rejected += u64::from(f.returns_rejected);
        if let Some(assigned) = f.assigned_on {
            self.assigned += 1;
            self.extended += u64::from(f.extensions > 0);
            if let Some(ack) = f.acknowledged_on {
                self.acknowledged += 1;
                let urgency = if f.urgent {
                    crate::sla::Urgency::Urgent
                } else {
                    crate::sla::Urgency::Normal
                };
                let span = cx.sla.opinion(&f.category, urgency).acknowledge;
                self.acknowledged_in_sla += u64::from(ack <= span.due_from(assigned, cx.calendar));
                self.acknowledged_in_1wd +=
                    u64::from(ack <= cx.calendar.add_working_days(assigned, 1));
                let contact_by = cx
                    .calendar
                    .add_working_days(ack, FIRST_CONTACT_WORKING_DAYS);
                self.contacted_in_time +=
                    u64::from(f.first_contact_on.is_some_and(|c| c <= contact_by));
            }
            self.replied += u64::from(f.replied_on.is_some());
            // Late: replied after the deadline, or still waiting past it.
            if let Some(due) = f.reply_due_on {
                let waiting = f.awaits_unit_reply();
                let came = f.replied_on.is_some() || due < cx.today;
                if came {
                    self.due += 1;
                    let late_reply = f.replied_on.is_some_and(|r| r > due) && !waiting;
                    let late_open = waiting && due < cx.today;
                    self.overdue += u64::from(late_reply || late_open);
                    self.overdue_open += u64::from(late_open);
                }
            }
        }
        self.answered += u64::from(f.replied_on.is_some() || f.answered_on_spot);
        if let Some(r) = f.rating {
            self.rated += 1;
            match r {
                Satisfaction::Satisfied => self.satisfied += 1,
                Satisfaction::BasicallySatisfied => self.basically_satisfied += 1,
                Satisfaction::Unsatisfied => self.unsatisfied += 1,
            }
        }
        if f.is_closed() {
            self.closed += 1;
            self.rehandled += u64::from(f.rehandle_rounds > 0);
            self.closed_without_repeat += u64::from(!f.repeated);
            if f.grade == Some(ResolutionGrade::A) {
                self.solved += 1;
                self.solved_first_round += u64::from(f.rehandle_rounds == 0);
            }
            if f.assigned_on.is_some() {
                self.closed_assigned += 1;
                let on_time = match (f.replied_on, f.reply_due_on) {
                    (Some(r), Some(d)) => r <= d,
                    _ => false,
                };
                self.closed_on_time += u64::from(on_time);
            }
            if let (Some(ack), Some(closed)) = (f.acknowledged_on, f.closed_on) {
                self.handling_measured += 1;
                self.handling_working_days +=
                    cx.calendar.working_days_between(ack, closed).max(0) as u64;
            }
        }
    }

    /// Adds another tally (a total row).
    pub fn merge(&mut self, o: &Tally) {
        macro_rules! sum {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        sum!(
            received,
            real_name,
            merged,
            accepted,
            declined,
            answered_on_spot,
            assigned,
            acknowledged_in_sla,
            acknowledged_in_1wd,
            acknowledged,
            contacted_in_time,
            replied,
            answered,
            closed,
            closed_assigned,
            closed_on_time,
            due,
            overdue,
            overdue_open,
            handling_working_days,
            handling_measured,
            rated,
            satisfied,
            basically_satisfied,
            unsatisfied,
            solved,
            solved_first_round,
            rehandled,
            return_requests,
            returns_rejected,
            extended,
            supervised,
            closed_without_repeat
        );
    }

    /// Mean working days from acknowledging to closing, if any item was measured.
    pub fn average_handling_days(&self) -> Option<f64> {
        (self.handling_measured > 0)
            .then(|| self.handling_working_days as f64 / self.handling_measured as f64)
    }

    /// Every ratio KPI of reference §4.1, in [`KPIS`] order.
    pub fn ratios(&self) -> Vec<Ratio> {
        KPIS.iter()
            .map(|k| {
                let (num, den) = (k.parts)(self);
                Ratio {
                    code: k.code,
                    num,
                    den,
                }
            })
            .collect()
    }

    /// One KPI by code.
    pub fn ratio(&self, code: &str) -> Option<Ratio> {
        self.ratios().into_iter().find(|r| r.code == code)
    }
}

/// One KPI of one group: numerator over denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ratio {
    /// KPI code (see [`KPIS`]).
    pub code: &'static str,
    /// Numerator.
    pub num: u64,
    /// Denominator.
    pub den: u64,
}

impl Ratio {
    /// The rate in 0…1, none over an empty base.
    pub fn rate(self) -> Option<f64> {
        (self.den > 0).then(|| self.num as f64 / self.den as f64)
    }

    /// "92.3%", or "—" over an empty base.
    pub fn percent(self) -> String {
        match self.rate() {
            Some(r) => format!("{:.1}%", r * 100.0),
            None => "—".to_owned(),
        }
    }
}

/// A ratio KPI: its code, Chinese name, formula as the page explains it, and how it is taken
/// from a tally.
pub struct KpiDef {
    /// Stable code (API, export).
    pub code: &'static str,
    /// Name.
    pub label: &'static str,
    /// Formula in words.
    pub formula: &'static str,
    /// Whether a higher value is worse (逾期率, 不满意率, …), for colouring.
    pub lower_is_better: bool,
    parts: fn(&Tally) -> (u64, u64),
}

/// The ratio KPIs of reference §4.1, in the order pages show them.
pub const KPIS: &[KpiDef] = &[
    KpiDef {
        code: "response_rate",
        label: "响应率",
        formula: "在期限表规定时限内签收的件数 ÷ 交办件数",
        lower_is_better: false,
        parts: |t| (t.acknowledged_in_sla, t.assigned),
    },
    KpiDef {
        code: "on_time_acknowledgement",
        label: "按时签收率",
        formula: "交办后1个工作日内签收的件数 ÷ 交办件数",
        lower_is_better: false,
        parts: |t| (t.acknowledged_in_1wd, t.assigned),
    },
    KpiDef {
        code: "first_contact",
        label: "首次联系及时率",
        formula: "签收后2个工作日内联系反映人的件数 ÷ 签收件数",
        lower_is_better: false,
        parts: |t| (t.contacted_in_time, t.acknowledged),
    },
    KpiDef {
        code: "reply_rate",
        label: "答复率",
        formula: "承办单位已答复的件数 ÷ 交办件数",
        lower_is_better: false,
        parts: |t| (t.replied, t.assigned),
    },
    KpiDef {
        code: "completion_rate",
        label: "办结率",
        formula: "已办结的交办件 ÷ 交办件数",
        lower_is_better: false,
        parts: |t| (t.closed_assigned, t.assigned),
    },
    KpiDef {
        code: "on_time_completion",
        label: "按期办结率",
        formula: "在答复期限（含批准的延期）内答复的办结件 ÷ 已办结的交办件",
        lower_is_better: false,
        parts: |t| (t.closed_on_time, t.closed_assigned),
    },
    KpiDef {
        code: "overdue_rate",
        label: "逾期率",
        formula: "（超期未答复 + 超期后才答复）÷ 答复期限已到或已答复的交办件",
        lower_is_better: true,
        parts: |t| (t.overdue, t.due),
    },
    KpiDef {
        code: "follow_up_rate",
        label: "回访率",
        formula: "已评价（网上评价或电话回访）的件数 ÷ 已答复（含当场答复）的件数",
        lower_is_better: false,
        parts: |t| (t.rated, t.answered),
    },
    KpiDef {
        code: "satisfaction_rate",
        label: "满意率",
        formula: "（满意 + 基本满意）÷ 已评价件数",
        lower_is_better: false,
        parts: |t| (t.satisfied + t.basically_satisfied, t.rated),
    },
    KpiDef {
        code: "very_satisfied_rate",
        label: "非常满意率",
        formula: "满意 ÷ 已评价件数",
        lower_is_better: false,
        parts: |t| (t.satisfied, t.rated),
    },
    KpiDef {
        code: "unsatisfied_rate",
        label: "不满意率",
        formula: "不满意 ÷ 已评价件数（以最后一次评价为准）",
        lower_is_better: true,
        parts: |t| (t.unsatisfied, t.rated),
    },
    KpiDef {
        code: "resolution_rate",
        label: "解决率",
        formula: "解决程度为A（已解决或基本解决）的办结件 ÷ 办结件数",
        lower_is_better: false,
        parts: |t| (t.solved, t.closed),
    },
    KpiDef {
        code: "first_time_resolution",
        label: "一次解决率",
        formula: "未经重办即以A类办结的件数 ÷ 办结件数",
        lower_is_better: false,
        parts: |t| (t.solved_first_round, t.closed),
    },
    KpiDef {
        code: "rehandle_rate",
        label: "重办率",
        formula: "经过重办的办结件 ÷ 办结件数",
        lower_is_better: true,
        parts: |t| (t.rehandled, t.closed),
    },
    KpiDef {
        code: "return_rate",
        label: "退单率",
        formula: "申请退回次数 ÷ 交办件数",
        lower_is_better: true,
        parts: |t| (t.return_requests, t.assigned),
    },
    KpiDef {
        code: "return_rejected_rate",
        label: "退单驳回率",
        formula: "不同意退回的次数 ÷ 申请退回次数",
        lower_is_better: true,
        parts: |t| (t.returns_rejected, t.return_requests),
    },
    KpiDef {
        code: "extension_rate",
        label: "延期率",
        formula: "获准延期的件数 ÷ 交办件数",
        lower_is_better: true,
        parts: |t| (t.extended, t.assigned),
    },
    KpiDef {
        code: "direct_answer_rate",
        label: "直办率",
        formula: "当场答复的件数 ÷ 受理件数",
        lower_is_better: false,
        parts: |t| (t.answered_on_spot, t.accepted),
    },
    KpiDef {
        code: "no_repeat_rate",
        label: "息诉率",
        formula: "办结后90日内同一反映人未就同类问题再次反映的件数 ÷ 办结件数",
        lower_is_better: false,
        parts: |t| (t.closed_without_repeat, t.closed),
    },
    KpiDef {
        code: "real_name_rate",
        label: "实名率",
        formula: "留有姓名和手机号的件数 ÷ 收到件数",
        lower_is_better: false,
        parts: |t| (t.real_name, t.received),
    },
    KpiDef {
        code: "duplicate_rate",
        label: "重复诉求率",
        formula: "作为重复件合并的件数 ÷ 收到件数",
        lower_is_better: true,
        parts: |t| (t.merged, t.received),
    },
];

/// The definition of a KPI code.
pub fn kpi(code: &str) -> Option<&'static KpiDef> {
    KPIS.iter().find(|k| k.code == code)
}

/// A group of items (a region, a station, a unit or a category) and its tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupTally {
    /// What identifies the group (a region path, a station id, a unit id, a category code).
    pub key: String,
    /// Its name.
    pub name: String,
    /// Counts.
    pub tally: Tally,
}

/// Tallies facts into groups, largest first, then by name; returns the groups and the total.
/// An item without a group key (never with a unit, when grouped by unit) counts in the total only.
pub fn tally_groups<'a>(
    items: impl IntoIterator<Item = (Option<&'a str>, &'a ItemFacts)>,
    names: &dyn Fn(&str) -> String,
    cx: &StatsContext<'_>,
) -> (Vec<GroupTally>, Tally) {
    let mut groups: Vec<GroupTally> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut total = Tally::default();
    for (key, facts) in items {
        total.add(facts, cx);
        let Some(key) = key else {
            continue;
        };
        let i = *index.entry(key.to_owned()).or_insert_with(|| {
            groups.push(GroupTally {
                key: key.to_owned(),
                name: names(key),
                tally: Tally::default(),
            });
            groups.len() - 1
        });
        groups[i].tally.add(facts, cx);
    }
    groups.sort_by(|a, b| {
        b.tally
            .received
            .cmp(&a.tally.received)
            .then_with(|| a.name.cmp(&b.name))
    });
    (groups, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn cx<'a>(cal: &'a Calendar, sla: &'a SlaTable) -> StatsContext<'a> {
        StatsContext {
            calendar: cal,
            sla,
            today: date!(2025 - 03 - 31),
        }
    }

    /// An item that went all the way: assigned Monday 3 March 2025, acknowledged the next day,
    /// called the day after, replied on time, rated satisfied, closed with grade A.
    fn model_item() -> ItemFacts {
        ItemFacts {
            state: OpinionState::Closed,
            accepted: true,
            assigned_on: Some(date!(2025 - 03 - 03)),
            acknowledged_on: Some(date!(2025 - 03 - 04)),
            first_contact_on: Some(date!(2025 - 03 - 05)),
            replied_on: Some(date!(2025 - 03 - 10)),
            reply_due_on: Some(date!(2025 - 03 - 24)),
            closed_on: Some(date!(2025 - 03 - 14)),
            rating: Some(Satisfaction::Satisfied),
            grade: Some(ResolutionGrade::A),
            ..ItemFacts::submitted("urban")
        }
    }

    fn tally(items: &[ItemFacts]) -> Tally {
        let cal = Calendar::weekends_only();
        let sla = SlaTable::default();
        let mut t = Tally::default();
        for f in items {
            t.add(f, &cx(&cal, &sla));
        }
        t
    }

    fn rate(t: &Tally, code: &str) -> (u64, u64) {
        let r = t.ratio(code).expect("known KPI");
        (r.num, r.den)
    }

    #[test]
    fn a_model_item_scores_full_marks_and_zero_on_the_bad_ones() {
        let t = tally(&[model_item()]);
        for k in KPIS {
            let (num, den) = rate(&t, k.code);
            let expected = match k.code {
                // Nothing was answered on the spot, merged or returned.
                "direct_answer_rate" | "duplicate_rate" | "overdue_rate" | "unsatisfied_rate"
                | "rehandle_rate" | "return_rate" | "extension_rate" => (0, den),
                "return_rejected_rate" => (0, 0),
                _ => (1, 1),
            };
            assert_eq!((num, den), expected, "{}", k.code);
        }
        // Acknowledged Tuesday 4, closed Friday 14 March: eight working days.
        assert_eq!(t.average_handling_days(), Some(8.0));
    }

    #[test]
    fn acknowledging_late_misses_both_acknowledgement_rates_and_first_contact_counts_from_acknowledging()
     {
        let late = ItemFacts {
            // Thursday 6 March is three working days after Monday 3 March.
            acknowledged_on: Some(date!(2025 - 03 - 06)),
            // Two working days after Thursday 6: Monday 10 March.
            first_contact_on: Some(date!(2025 - 03 - 10)),
            ..model_item()
        };
        let t = tally(std::slice::from_ref(&late));
        assert_eq!(rate(&t, "on_time_acknowledgement"), (0, 1));
        assert_eq!(rate(&t, "response_rate"), (0, 1));
        assert_eq!(rate(&t, "first_contact"), (1, 1));
        let later = ItemFacts {
            first_contact_on: Some(date!(2025 - 03 - 11)),
            ..late
        };
        assert_eq!(rate(&tally(&[later]), "first_contact"), (0, 1));
        let never = ItemFacts {
            first_contact_on: None,
            ..model_item()
        };
        assert_eq!(rate(&tally(&[never]), "first_contact"), (0, 1));
    }

    #[test]
    fn acknowledging_over_a_weekend_is_on_time() {
        // Assigned Friday 7 March, acknowledged Monday 10 March: one working day.
        let f = ItemFacts {
            assigned_on: Some(date!(2025 - 03 - 07)),
            acknowledged_on: Some(date!(2025 - 03 - 10)),
            first_contact_on: None,
            ..model_item()
        };
        let t = tally(&[f]);
        assert_eq!(rate(&t, "on_time_acknowledgement"), (1, 1));
        assert_eq!(rate(&t, "response_rate"), (1, 1));
    }

    #[test]
    fn late_replies_and_items_waiting_past_their_deadline_are_overdue() {
        let replied_late = ItemFacts {
            replied_on: Some(date!(2025 - 03 - 25)),
            ..model_item()
        };
        let waiting_late = ItemFacts {
            state: OpinionState::Handling,
            replied_on: None,
            closed_on: None,
            rating: None,
            grade: None,
            ..model_item()
        };
        let waiting_in_time = ItemFacts {
            reply_due_on: Some(date!(2025 - 04 - 10)),
            ..waiting_late.clone()
        };
        let t = tally(&[replied_late, waiting_late, waiting_in_time, model_item()]);
        // Three items' deadlines have come (the one still in time has not), two of them late.
        assert_eq!(rate(&t, "overdue_rate"), (2, 3));
        assert_eq!(t.overdue_open, 1);
        // Of the two closed, one replied on time.
        assert_eq!(rate(&t, "on_time_completion"), (1, 2));
        assert_eq!(rate(&t, "completion_rate"), (2, 4));
        assert_eq!(rate(&t, "reply_rate"), (2, 4));
    }

    #[test]
    fn a_rehandled_item_replied_again_is_judged_by_its_latest_reply_and_deadline() {
        // Re-handled after an unsatisfied rating: a new deadline, a new reply before it.
        let f = ItemFacts {
            rehandle_rounds: 1,
            replied_on: Some(date!(2025 - 03 - 28)),
            reply_due_on: Some(date!(2025 - 04 - 07)),
            closed_on: Some(date!(2025 - 03 - 31)),
            ..model_item()
        };
        let t = tally(&[f]);
        assert_eq!(rate(&t, "on_time_completion"), (1, 1));
        assert_eq!(rate(&t, "rehandle_rate"), (1, 1));
        assert_eq!(rate(&t, "resolution_rate"), (1, 1));
        assert_eq!(rate(&t, "first_time_resolution"), (0, 1));
    }

    #[test]
    fn ratings_count_by_their_latest_value() {
        let mut items = vec![model_item()];
        for r in [
            Satisfaction::BasicallySatisfied,
            Satisfaction::Unsatisfied,
            Satisfaction::Satisfied,
        ] {
            items.push(ItemFacts {
                rating: Some(r),
                ..model_item()
            });
        }
        items.push(ItemFacts {
            state: OpinionState::ClosedUnrated,
            rating: None,
            ..model_item()
        });
        let t = tally(&items);
        assert_eq!(rate(&t, "satisfaction_rate"), (3, 4));
        assert_eq!(rate(&t, "very_satisfied_rate"), (2, 4));
        assert_eq!(rate(&t, "unsatisfied_rate"), (1, 4));
        // Five answered, four rated.
        assert_eq!(rate(&t, "follow_up_rate"), (4, 5));
    }

    #[test]
    fn intake_ratios_count_every_item_received() {
        let anonymous = ItemFacts {
            anonymous: true,
            ..ItemFacts::submitted("urban")
        };
        let merged = ItemFacts {
            state: OpinionState::Merged,
            merged: true,
            accepted: true,
            ..ItemFacts::submitted("urban")
        };
        let declined = ItemFacts {
            state: OpinionState::Declined,
            ..ItemFacts::submitted("urban")
        };
        let on_spot = ItemFacts {
            state: OpinionState::Closed,
            accepted: true,
            answered_on_spot: true,
            closed_on: Some(date!(2025 - 03 - 04)),
            rating: Some(Satisfaction::Satisfied),
            ..ItemFacts::submitted("urban")
        };
        let t = tally(&[anonymous, merged, declined, on_spot.clone(), model_item()]);
        assert_eq!(rate(&t, "real_name_rate"), (4, 5));
        assert_eq!(rate(&t, "duplicate_rate"), (1, 5));
        assert_eq!(t.declined, 1);
        assert_eq!(rate(&t, "direct_answer_rate"), (1, 3));
        // The item answered on the spot was never with a unit: it counts for closing and
        // follow-up, not for the units' deadlines.
        assert_eq!(rate(&t, "completion_rate"), (1, 1));
        assert_eq!(rate(&t, "resolution_rate"), (1, 2));
        assert_eq!(rate(&t, "follow_up_rate"), (2, 2));
        assert_eq!(t.handling_measured, 1);
    }

    #[test]
    fn returns_extensions_supervision_and_repeats() {
        let f = ItemFacts {
            return_requests: 2,
            returns_rejected: 1,
            extensions: 1,
            supervised: true,
            repeated: true,
            ..model_item()
        };
        let t = tally(&[f, model_item()]);
        assert_eq!(rate(&t, "return_rate"), (2, 2));
        assert_eq!(rate(&t, "return_rejected_rate"), (1, 2));
        assert_eq!(rate(&t, "extension_rate"), (1, 2));
        assert_eq!(rate(&t, "no_repeat_rate"), (1, 2));
        assert_eq!(t.supervised, 1);
    }

    #[test]
    fn groups_sum_to_the_total_and_come_largest_first() {
        let cal = Calendar::weekends_only();
        let sla = SlaTable::default();
        let a = model_item();
        let b = ItemFacts {
            anonymous: true,
            ..model_item()
        };
        let items = [
            (Some("x"), &a),
            (Some("y"), &b),
            (Some("y"), &a),
            (None, &b),
        ];
        let (groups, total) = tally_groups(
            items.iter().map(|(k, f)| (*k, *f)),
            &|k| format!("组{k}"),
            &cx(&cal, &sla),
        );
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].name, "组y");
        assert_eq!(groups[0].tally.received, 2);
        // The item without a key counts in the total only.
        let mut summed = Tally::default();
        for g in &groups {
            summed.merge(&g.tally);
        }
        summed.add(&b, &cx(&cal, &sla));
        assert_eq!(summed, total);
        assert_eq!(rate(&total, "real_name_rate"), (2, 4));
    }

    #[test]
    fn an_empty_base_is_a_dash_not_a_zero() {
        let t = Tally::default();
        let r = t.ratio("satisfaction_rate").unwrap();
        assert_eq!(r.rate(), None);
        assert_eq!(r.percent(), "—");
        assert_eq!(t.average_handling_days(), None);
        let r = Ratio {
            code: "x",
            num: 2,
            den: 3,
        };
        assert_eq!(r.percent(), "66.7%");
    }

    #[test]
    fn every_kpi_code_is_unique_and_found() {
        let mut codes: Vec<_> = KPIS.iter().map(|k| k.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), KPIS.len());
        assert!(kpi("satisfaction_rate").is_some());
        assert!(kpi("nope").is_none());
    }
}
