//! 民意办理统计: reads what happened to each opinion received in a period — its row with the
//! dates of its milestones, one row per item — and hands the facts to
//! `liaison_core::opinion_stats`, which does the arithmetic. Grouped by the next level of
//! regions below the viewer, by station, by the unit leading the item, or by category.

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
    /// By the unit leading the item (the last one, once it is closed); items not with a unit —
    /// never assigned, or returned and not yet assigned again — are left out.
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
    /// Only items this unit leads or led last (a unit's own report).
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
    reply_due_on: Option<Date>,
    closed_at: Option<OffsetDateTime>,
    extensions_used: i64,
    rehandle_rounds: i64,
    last_rating: Option<String>,
    last_grade: Option<String>,
    accepted_at: Option<OffsetDateTime>,
    answered_on_spot_at: Option<OffsetDateTime>,
    first_assigned_at: Option<OffsetDateTime>,
    first_acknowledged_at: Option<OffsetDateTime>,
    first_contacted_at: Option<OffsetDateTime>,
    last_replied_at: Option<OffsetDateTime>,
    supervised_at: Option<OffsetDateTime>,
    return_requests: i64,
    returns_rejected: i64,
    lead_unit_id: Option<i64>,
    next_same: Option<OffsetDateTime>,
}

/// One statement, one row per item: its row with its milestones (migration 0019) and lead unit
/// and, once closed, the next item of the same submitter and category. No join: PostgreSQL
/// plans a prepared statement for any period once it has run five times, and with a join to
/// the stations that generic plan looped over every station for every item (15 s for a city's
/// year instead of 3; docs/benchmarks.md, fifteenth pass). Names come by their own queries.
const SELECT: &str = "SELECT o.state, o.category, o.urgency, o.anonymous, o.region_path, \
    o.station_id, o.reply_due_on, o.closed_at, o.extensions_used, \
    o.rehandle_rounds, o.last_rating, o.last_grade, o.accepted_at, o.answered_on_spot_at, \
    o.first_assigned_at, o.first_acknowledged_at, o.first_contacted_at, o.last_replied_at, \
    o.supervised_at, o.return_requests, o.returns_rejected, \
    o.lead_unit_id, \
    CASE WHEN o.closed_at IS NOT NULL AND o.submitter_phone_idx <> '' THEN \
      (SELECT MIN(r.created_at) FROM opinion r WHERE r.submitter_phone_idx = o.submitter_phone_idx \
       AND r.category = o.category AND r.id <> o.id AND r.created_at > o.closed_at) END AS next_same \
    FROM opinion o WHERE o.created_at >= ";

/// The statement that fills the milestone columns of every item from its timeline: migration
/// 0020, which the bench generator runs again after writing rows and events directly.
pub fn backfill_sql(backend: crate::Backend) -> &'static str {
    match backend {
        crate::Backend::Sqlite => {
            include_str!("../migrations/sqlite/0020_opinion_milestones_backfill.sql")
        }
        crate::Backend::Postgres => {
            include_str!("../migrations/postgres/0020_opinion_milestones_backfill.sql")
        }
    }
}

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
            accepted: self.accepted_at.is_some() || self.answered_on_spot_at.is_some(),
            answered_on_spot: self.answered_on_spot_at.is_some(),
            merged: state == OpinionState::Merged,
            assigned_on: self.first_assigned_at.map(china_day),
            acknowledged_on: self.first_acknowledged_at.map(china_day),
            first_contact_on: self.first_contacted_at.map(china_day),
            replied_on: self.last_replied_at.map(china_day),
            reply_due_on: self.reply_due_on,
            closed_on,
            return_requests: self.return_requests.max(0) as u32,
            returns_rejected: self.returns_rejected.max(0) as u32,
            extensions: self.extensions_used.max(0) as u32,
            rehandle_rounds: self.rehandle_rounds.max(0) as u32,
            supervised: self.supervised_at.is_some() || state == OpinionState::Supervised,
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
        s.push(" AND o.lead_unit_id = ").bind(u);
    }
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
        Grouping::Station => {
            let ids = distinct(rows.iter().map(|r| r.station_id));
            names_of(db, "SELECT id, name FROM station WHERE id IN ", &ids).await?
        }
        Grouping::Unit => {
            let ids = distinct(rows.iter().filter_map(|r| r.lead_unit_id));
            names_of(db, "SELECT id, name FROM handling_unit WHERE id IN ", &ids).await?
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
    // The total covers every item, with a unit or not.
    let (groups, total) = tally_groups(keys.iter().map(|k| k.as_deref()).zip(&facts), &name_of, cx);
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

fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = ids.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Names by id from `select` (`SELECT id, name FROM … WHERE id IN `), keyed by the id as text.
async fn names_of(db: &Db, select: &'static str, ids: &[i64]) -> DbResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    // Bounded lists: SQLite takes at most 32,766 values in one statement.
    for chunk in ids.chunks(5_000) {
        let mut s = Sql::new(select);
        s.bind_list(chunk.iter().copied());
        let rows: Vec<(i64, String)> = s.fetch_all(db).await?;
        out.extend(rows.into_iter().map(|(id, n)| (id.to_string(), n)));
    }
    Ok(out)
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
