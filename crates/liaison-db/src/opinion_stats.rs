//! 民意办理统计: reads what happened to each opinion received in a period — its row and the
//! dates of its timeline events, one row per item — and hands the facts to
//! `liaison_core::opinion_stats`, which does the arithmetic. Grouped by the next level of
//! regions below the viewer, by station, by the unit that led the item last, or by category.

use crate::db::Db;
use crate::error::DbResult;
use crate::opinions::{scope_where, start_of_day};
use crate::sql::Sql;
use liaison_core::opinion_stats::{
    GroupTally, ItemFacts, REPEAT_WINDOW_DAYS, StatsContext, Tally, tally_groups,
};
use liaison_core::scope::Scope;
use liaison_core::workflow::{OpinionState, ResolutionGrade, Satisfaction};
use std::collections::HashMap;
use time::{Date, OffsetDateTime};

/// How a report is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// By the regions one level below the viewer's (counties for the city, townships for a
    /// county, …); a township and a station break down by station.
    Region,
    /// By station (rooms and points count for their own).
    Station,
    /// By the unit that led the item last; items never assigned are left out.
    Unit,
    /// By category.
    Category,
}

impl Grouping {
    /// Every grouping, in the order pages offer them.
    pub const ALL: &'static [Grouping] = &[
        Grouping::Region,
        Grouping::Station,
        Grouping::Unit,
        Grouping::Category,
    ];

    /// Code in URLs and the API.
    pub fn code(self) -> &'static str {
        match self {
            Grouping::Region => "region",
            Grouping::Station => "station",
            Grouping::Unit => "unit",
            Grouping::Category => "category",
        }
    }

    /// Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Grouping::Region => "按下级地区",
            Grouping::Station => "按联络站",
            Grouping::Unit => "按承办单位",
            Grouping::Category => "按分类",
        }
    }

    /// The column header of the group's name.
    pub fn column(self) -> &'static str {
        match self {
            Grouping::Region => "地区",
            Grouping::Station => "联络站",
            Grouping::Unit => "承办单位",
            Grouping::Category => "分类",
        }
    }

    /// The grouping of a code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|g| g.code() == code.trim())
    }
}

/// Which items a report covers, within the viewer's scope.
#[derive(Debug, Clone)]
pub struct StatsFilter {
    /// Received on or after (a day in China).
    pub from: Date,
    /// Received on or before.
    pub to: Date,
    /// Only this region's subtree.
    pub region_path: Option<String>,
    /// Only this station and its rooms and points.
    pub station_id: Option<i64>,
    /// Only this category.
    pub category: Option<String>,
    /// Only items this unit led last (a unit's own report).
    pub lead_unit_id: Option<i64>,
}

/// A report: one tally per group and the total.
#[derive(Debug, Clone)]
pub struct Report {
    /// Groups, largest first.
    pub groups: Vec<GroupTally>,
    /// All items of the report (for the unit grouping, items never assigned too).
    pub total: Tally,
}

#[derive(sqlx::FromRow)]
struct FactRow {
    state: String,
    category: String,
    urgency: String,
    anonymous: bool,
    region_path: String,
    station_id: i64,
    station_name: String,
    reply_due_on: Option<Date>,
    closed_at: Option<OffsetDateTime>,
    extensions_used: i64,
    rehandle_rounds: i64,
    last_rating: Option<String>,
    last_grade: Option<String>,
    supervised: bool,
    lead_unit_id: Option<i64>,
    accepts: i64,
    on_spot: i64,
    merges: i64,
    return_requests: i64,
    returns_rejected: i64,
    first_assign: Option<OffsetDateTime>,
    first_ack: Option<OffsetDateTime>,
    first_contact: Option<OffsetDateTime>,
    last_reply: Option<OffsetDateTime>,
    next_same: Option<OffsetDateTime>,
}

/// One statement: the item's row, its last lead unit, whether it was ever supervised, the
/// next item of the same submitter and category after it closed, and the events that matter,
/// folded per item. Only the events named here are joined.
const SELECT: &str = "SELECT o.state, o.category, o.urgency, o.anonymous, o.region_path, \
    o.station_id, s.name AS station_name, o.reply_due_on, o.closed_at, o.extensions_used, \
    o.rehandle_rounds, o.last_rating, o.last_grade, \
    EXISTS (SELECT 1 FROM supervision_case sc WHERE sc.opinion_id = o.id) AS supervised, \
    (SELECT ou.unit_id FROM opinion_unit ou WHERE ou.opinion_id = o.id AND ou.is_lead \
     ORDER BY ou.id DESC LIMIT 1) AS lead_unit_id, \
    COALESCE(SUM(CASE WHEN e.action = 'accept' THEN 1 ELSE 0 END), 0) AS accepts, \
    COALESCE(SUM(CASE WHEN e.action = 'answer_on_spot' THEN 1 ELSE 0 END), 0) AS on_spot, \
    COALESCE(SUM(CASE WHEN e.action = 'merge' THEN 1 ELSE 0 END), 0) AS merges, \
    COALESCE(SUM(CASE WHEN e.action = 'request_return' THEN 1 ELSE 0 END), 0) AS return_requests, \
    COALESCE(SUM(CASE WHEN e.action = 'reject_return' THEN 1 ELSE 0 END), 0) AS returns_rejected, \
    MIN(CASE WHEN e.action = 'assign' THEN e.at END) AS first_assign, \
    MIN(CASE WHEN e.action = 'acknowledge' THEN e.at END) AS first_ack, \
    MIN(CASE WHEN e.action = 'contact_submitter' THEN e.at END) AS first_contact, \
    MAX(CASE WHEN e.action = 'reply' THEN e.at END) AS last_reply, \
    CASE WHEN o.closed_at IS NOT NULL AND o.submitter_phone_idx <> '' THEN \
      (SELECT MIN(r.created_at) FROM opinion r WHERE r.submitter_phone_idx = o.submitter_phone_idx \
       AND r.category = o.category AND r.id <> o.id AND r.created_at > o.closed_at) END AS next_same \
    FROM opinion o JOIN station s ON s.id = o.station_id \
    LEFT JOIN opinion_event e ON e.opinion_id = o.id AND e.action IN \
    ('accept','answer_on_spot','merge','request_return','reject_return','assign','acknowledge',\
    'contact_submitter','reply') \
    WHERE o.created_at >= ";

/// A moment as a day in China.
fn china_day(t: OffsetDateTime) -> Date {
    t.to_offset(time::macros::offset!(+8)).date()
}

impl FactRow {
    fn facts(&self) -> ItemFacts {
        let state = OpinionState::parse(&self.state).unwrap_or(OpinionState::Submitted);
        let closed_on = self
            .closed_at
            .map(china_day)
            .filter(|_| matches!(state, OpinionState::Closed | OpinionState::ClosedUnrated));
        let repeated = match (self.closed_at, self.next_same) {
            (Some(c), Some(n)) => n - c <= time::Duration::days(REPEAT_WINDOW_DAYS),
            _ => false,
        };
        ItemFacts {
            state,
            category: self.category.clone(),
            urgent: self.urgency == "urgent",
            anonymous: self.anonymous,
            // Answering on the spot takes the item in as well, with or without 受理 first.
            accepted: self.accepts > 0 || self.on_spot > 0,
            answered_on_spot: self.on_spot > 0,
            merged: self.merges > 0 || state == OpinionState::Merged,
            assigned_on: self.first_assign.map(china_day),
            acknowledged_on: self.first_ack.map(china_day),
            first_contact_on: self.first_contact.map(china_day),
            replied_on: self.last_reply.map(china_day),
            reply_due_on: self.reply_due_on,
            closed_on,
            return_requests: self.return_requests.max(0) as u32,
            returns_rejected: self.returns_rejected.max(0) as u32,
            extensions: self.extensions_used.max(0) as u32,
            rehandle_rounds: self.rehandle_rounds.max(0) as u32,
            supervised: self.supervised || state == OpinionState::Supervised,
            rating: self.last_rating.as_deref().and_then(Satisfaction::parse),
            grade: self.last_grade.as_deref().and_then(ResolutionGrade::parse),
            repeated,
        }
    }
}

async fn fact_rows(db: &Db, scope: &Scope, f: &StatsFilter) -> DbResult<Vec<FactRow>> {
    let mut s = Sql::new(SELECT);
    s.bind(start_of_day(f.from));
    s.push(" AND o.created_at < ")
        .bind(start_of_day(f.to + time::Duration::days(1)));
    scope_where(&mut s, scope);
    if let Some(p) = &f.region_path {
        s.push(" AND o.region_path LIKE ").bind(format!("{p}%"));
    }
    if let Some(id) = f.station_id {
        s.push(" AND o.station_id IN (SELECT id FROM station WHERE id = ")
            .bind(id)
            .push(" OR parent_id = ")
            .bind(id)
            .push(")");
    }
    if let Some(c) = &f.category {
        s.push(" AND o.category = ").bind(c.clone());
    }
    if let Some(u) = f.lead_unit_id {
        s.push(
            " AND (SELECT ou.unit_id FROM opinion_unit ou WHERE ou.opinion_id = o.id AND ou.is_lead \
             ORDER BY ou.id DESC LIMIT 1) = ",
        )
        .bind(u);
    }
    // Grouped by the item's key alone: PostgreSQL accepts the row's other columns since `id`
    // is the key, and the station's name through its own key.
    s.push(" GROUP BY o.id, s.id");
    s.fetch_all(db).await
}

/// The report of the items received in `f`'s period within `scope`, broken down by `grouping`.
/// `base_path` is the region the region grouping starts below (the viewer's region, or the
/// filter's); without one it starts at the top.
pub async fn report(
    db: &Db,
    scope: &Scope,
    f: &StatsFilter,
    grouping: Grouping,
    base_path: Option<&str>,
    cx: &StatsContext<'_>,
) -> DbResult<Report> {
    let rows = fact_rows(db, scope, f).await?;
    let facts: Vec<ItemFacts> = rows.iter().map(FactRow::facts).collect();
    let base = base_path.unwrap_or("/");
    let keys: Vec<Option<String>> = rows
        .iter()
        .map(|r| match grouping {
            Grouping::Region => Some(child_path(base, &r.region_path)),
            Grouping::Station => Some(r.station_id.to_string()),
            Grouping::Unit => r.lead_unit_id.map(|u| u.to_string()),
            Grouping::Category => Some(r.category.clone()),
        })
        .collect();
    let names: HashMap<String, String> = match grouping {
        Grouping::Region => region_names(db, base).await?,
        Grouping::Station => rows
            .iter()
            .map(|r| (r.station_id.to_string(), r.station_name.clone()))
            .collect(),
        Grouping::Unit => {
            let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.lead_unit_id).collect();
            ids.sort_unstable();
            ids.dedup();
            unit_names(db, &ids).await?
        }
        Grouping::Category => HashMap::new(),
    };
    let name_of = |key: &str| -> String {
        match grouping {
            Grouping::Region if key == base => match names.get(key) {
                Some(n) => format!("{n}本级"),
                None => "本级".to_owned(),
            },
            Grouping::Category if key.is_empty() => "未分类".to_owned(),
            Grouping::Category => key.to_owned(),
            _ => names.get(key).cloned().unwrap_or_else(|| key.to_owned()),
        }
    };
    let grouped = keys
        .iter()
        .zip(&facts)
        .filter_map(|(k, f)| k.as_deref().map(|k| (k, f)));
    let (groups, mut total) = tally_groups(grouped, &name_of, cx);
    if grouping == Grouping::Unit {
        // The total covers every item, assigned or not.
        total = Tally::default();
        for f in &facts {
            total.add(f, cx);
        }
    }
    Ok(Report { groups, total })
}

/// The path of the region one level below `base` that `path` lies in, or `base` itself for
/// items of `base`'s own level (and any outside it, which a scope never lets in).
fn child_path(base: &str, path: &str) -> String {
    match path.strip_prefix(base) {
        Some(rest) => match rest.find('/') {
            Some(i) if i > 0 => format!("{base}{}", &rest[..=i]),
            _ => base.to_owned(),
        },
        None => base.to_owned(),
    }
}

async fn region_names(db: &Db, base: &str) -> DbResult<HashMap<String, String>> {
    let mut s = Sql::new("SELECT path, name FROM region WHERE path LIKE ");
    s.bind(format!("{base}%"));
    let rows: Vec<(String, String)> = s.fetch_all(db).await?;
    Ok(rows.into_iter().collect())
}

async fn unit_names(db: &Db, ids: &[i64]) -> DbResult<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut s = Sql::new("SELECT id, name FROM handling_unit WHERE id IN ");
    s.bind_list(ids.iter().copied());
    let rows: Vec<(i64, String)> = s.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id.to_string(), n))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_falls_into_the_region_one_level_below() {
        assert_eq!(child_path("/1/", "/1/2/5/"), "/1/2/");
        assert_eq!(child_path("/1/2/", "/1/2/5/"), "/1/2/5/");
        assert_eq!(child_path("/1/2/", "/1/2/"), "/1/2/");
        assert_eq!(child_path("/", "/1/2/"), "/1/");
        assert_eq!(child_path("/1/3/", "/1/2/5/"), "/1/3/");
    }

    #[test]
    fn groupings_round_trip_their_codes() {
        for g in Grouping::ALL {
            assert_eq!(Grouping::parse(g.code()), Some(*g));
        }
        assert_eq!(Grouping::parse("nope"), None);
    }
}
