//! A small builder for dynamic queries (filters, scope, keyset pagination) that runs on both
//! backends: it numbers `$N` placeholders and keeps the values, and only static SQL fragments
//! can be pushed, so user input always travels as a bound value.

use crate::Backend;
use crate::db::{Db, Tx};
use crate::error::DbResult;
use liaison_core::scope::Scope;
use sqlx::{AssertSqlSafe, FromRow};

/// A bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Integer.
    I64(i64),
    /// Optional integer.
    OptI64(Option<i64>),
    /// Text.
    Text(String),
    /// Optional text.
    OptText(Option<String>),
    /// Boolean.
    Bool(bool),
    /// Timestamp.
    Time(time::OffsetDateTime),
    /// Date.
    Date(time::Date),
    /// Optional date.
    OptDate(Option<time::Date>),
    /// Real number.
    F64(f64),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident),+) => { $(impl From<$t> for Arg { fn from(x: $t) -> Self { Arg::$v(x) } })+ };
}
arg_from!(i64 => I64, Option<i64> => OptI64, String => Text, Option<String> => OptText, bool => Bool,
    time::OffsetDateTime => Time, time::Date => Date, Option<time::Date> => OptDate, f64 => F64);
impl From<&str> for Arg {
    fn from(x: &str) -> Self {
        Arg::Text(x.to_owned())
    }
}

/// A query under construction.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
    /// Where each placeholder of `text` starts and ends (`$N`), for [`Sql::text_for`].
    marks: Vec<(usize, usize)>,
}

/// Which columns of the query's tables carry the scope facts, for [`Sql::scope_filter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ScopeColumns {
    /// Materialised region path of the row (e.g. `r.path`).
    pub region_path: Option<&'static str>,
    /// Station id of the row (e.g. `s.id` or `d.station_id`).
    pub station_id: Option<&'static str>,
    /// Handling unit id of the row.
    pub unit_id: Option<&'static str>,
    /// Deputy id of the row.
    pub deputy_id: Option<&'static str>,
    /// Account that entered the row.
    pub entered_by: Option<&'static str>,
}

impl Sql {
    /// Starts a query with a static fragment.
    pub fn new(s: &'static str) -> Self {
        Sql {
            text: s.to_owned(),
            args: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Appends a static fragment.
    pub fn push(&mut self, s: &'static str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `v`.
    pub fn bind(&mut self, v: impl Into<Arg>) -> &mut Self {
        self.args.push(v.into());
        let start = self.text.len();
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self.marks.push((start, self.text.len()));
        self
    }

    /// The text as the backend runs it. SQLite gets anonymous `?` placeholders, which number
    /// themselves in order as `$N` here do: for each `$N` it looks the name up by walking the
    /// statement's list of names, so binding a 32-row `INSERT` (800 values) walked it 320,000
    /// times, 5 % of the intake writer's time (docs/benchmarks.md, seventh pass).
    fn text_for(&self, backend: Backend) -> String {
        if backend == Backend::Postgres || self.marks.is_empty() {
            return self.text.clone();
        }
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for &(start, end) in &self.marks {
            out.push_str(&self.text[at..start]);
            out.push('?');
            at = end;
        }
        out.push_str(&self.text[at..]);
        out
    }

    /// Appends one row of a multi-row `VALUES` list, `($1,$2,…)` bound to `values`, with the
    /// comma before it when it is not the first (`first`).
    pub fn bind_row(&mut self, first: bool, values: impl IntoIterator<Item = Arg>) -> &mut Self {
        if !first {
            self.push(",");
        }
        self.bind_list(values)
    }

    /// Appends `($1,$2,…)` bound to `values`, for `IN` lists; an empty list is `(NULL)`, which
    /// matches nothing.
    pub fn bind_list<V: Into<Arg>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        let mut first = true;
        for v in values {
            if !first {
                self.push(",");
            }
            first = false;
            self.bind(v);
        }
        if first {
            self.push("NULL");
        }
        self.push(")")
    }

    /// Appends another query's text and values, its placeholders numbered after this one's.
    fn push_query(&mut self, other: Sql) {
        debug_assert_eq!(
            other.marks.len(),
            other.args.len(),
            "one value per placeholder"
        );
        let mut at = 0;
        let mut args = other.args.into_iter();
        for &(start, end) in &other.marks {
            self.text.push_str(&other.text[at..start]);
            self.bind(args.next().expect("one value per placeholder"));
            at = end;
        }
        self.text.push_str(&other.text[at..]);
    }

    /// Runs data-changing statements (`INSERT`, `UPDATE`, without `RETURNING`) in order, in one
    /// round trip: on SQLite as one text of several statements, on PostgreSQL as the
    /// data-modifying `WITH` parts of one statement. It saves the intake writer four of its
    /// twelve round trips a batch (docs/benchmarks.md, twelfth pass). PostgreSQL runs the parts
    /// of one statement on one snapshot, so no part may depend on another's rows.
    pub async fn execute_all_tx(mut stmts: Vec<Sql>, tx: &mut Tx) -> DbResult<()> {
        let Some(last) = stmts.pop() else {
            return Ok(());
        };
        let mut all = Sql::new("");
        if tx.backend() == Backend::Postgres {
            for (n, s) in stmts.into_iter().enumerate() {
                let lead = if n == 0 { "WITH" } else { "," };
                all.text.push_str(&format!("{lead} q{n} AS ("));
                all.push_query(s);
                all.push(") ");
            }
        } else {
            for s in stmts {
                all.push_query(s);
                all.push("; ");
            }
        }
        all.push_query(last);
        all.execute_tx(tx).await.map(|_| ())
    }

    /// The SQL text so far (for tests and logs; values are never in it).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends ` AND (<scope condition>)`: the one scoping rule applied to a query.
    /// A scope that the row kind has no column for sees nothing (`1=0`), never everything.
    pub fn scope_filter(&mut self, scope: &Scope, cols: ScopeColumns) -> &mut Self {
        self.push(" AND (");
        match scope {
            Scope::Everything => {
                self.push("1=1");
            }
            Scope::RegionSubtree(path) => match cols.region_path {
                Some(c) => {
                    self.push_col(c).push(" LIKE ").bind(format!("{path}%"));
                }
                None => {
                    self.push("1=0");
                }
            },
            Scope::Station(id) => match cols.station_id {
                Some(c) => {
                    // A station's staff see the station and its rooms/points.
                    self.push_col(c)
                        .push(" IN (SELECT id FROM station WHERE id = ")
                        .bind(*id)
                        .push(" OR parent_id = ")
                        .bind(*id)
                        .push(")");
                }
                None => {
                    self.push("1=0");
                }
            },
            Scope::Unit(id) => match cols.unit_id {
                Some(c) => {
                    self.push_col(c).push(" = ").bind(*id);
                }
                None => {
                    self.push("1=0");
                }
            },
            Scope::Deputy(id) => match cols.deputy_id {
                Some(c) => {
                    self.push_col(c).push(" = ").bind(*id);
                }
                None => {
                    self.push("1=0");
                }
            },
            Scope::EnteredBy(id) => match cols.entered_by {
                Some(c) => {
                    self.push_col(c).push(" = ").bind(*id);
                }
                None => {
                    self.push("1=0");
                }
            },
            Scope::Nothing => {
                self.push("1=0");
            }
        }
        self.push(")")
    }

    fn push_col(&mut self, c: &'static str) -> &mut Self {
        self.push(c)
    }

    /// Runs the query and maps every row.
    pub async fn fetch_all<T>(&self, db: &Db) -> DbResult<Vec<T>>
    where
        T: for<'r> FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let text = self.text_for(db.backend());
        Ok(on_db!(db, p => {
            let mut q = sqlx::query_as::<_, T>(AssertSqlSafe(text));
            for a in &self.args {
                q = bind_arg!(q, a);
            }
            q.fetch_all(p).await?
        }))
    }

    /// Runs the query and maps the first row, if any.
    pub async fn fetch_optional<T>(&self, db: &Db) -> DbResult<Option<T>>
    where
        T: for<'r> FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let text = self.text_for(db.backend());
        Ok(on_db!(db, p => {
            let mut q = sqlx::query_as::<_, T>(AssertSqlSafe(text));
            for a in &self.args {
                q = bind_arg!(q, a);
            }
            q.fetch_optional(p).await?
        }))
    }

    /// Runs a `SELECT COUNT(*)`-style query returning one integer.
    pub async fn fetch_count(&self, db: &Db) -> DbResult<i64> {
        let text = self.text_for(db.backend());
        Ok(on_db!(db, p => {
            let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(text));
            for a in &self.args {
                q = bind_arg!(q, a);
            }
            q.fetch_one(p).await?
        }))
    }

    /// Runs the query inside a transaction and maps every row.
    pub async fn fetch_all_tx<T>(&self, tx: &mut Tx) -> DbResult<Vec<T>>
    where
        T: for<'r> FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let text = self.text_for(tx.backend());
        Ok(on_tx!(tx, t => {
            let mut q = sqlx::query_as::<_, T>(AssertSqlSafe(text));
            for a in &self.args {
                q = bind_arg!(q, a);
            }
            q.fetch_all(t).await?
        }))
    }

    /// Runs a `SELECT COUNT(*)`-style query returning one integer, inside a transaction.
    pub async fn fetch_count_tx(&self, tx: &mut Tx) -> DbResult<i64> {
        let text = self.text_for(tx.backend());
        Ok(on_tx!(tx, t => {
            let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(text));
            for a in &self.args {
                q = bind_arg!(q, a);
            }
            q.fetch_one(t).await?
        }))
    }

    /// Executes a statement inside a transaction; returns rows affected.
    pub async fn execute_tx(&self, tx: &mut Tx) -> DbResult<u64> {
        let text = self.text_for(tx.backend());
        Ok(on_tx!(tx, t => {
            let mut q = sqlx::query(AssertSqlSafe(text));
            for a in &self.args {
                q = bind_arg!(q, a);
            }
            q.execute(t).await?.rows_affected()
        }))
    }
}

macro_rules! bind_arg {
    ($q:expr, $a:expr) => {
        match $a {
            Arg::I64(v) => $q.bind(*v),
            Arg::OptI64(v) => $q.bind(*v),
            Arg::Text(v) => $q.bind(v.clone()),
            Arg::OptText(v) => $q.bind(v.clone()),
            Arg::Bool(v) => $q.bind(*v),
            Arg::Time(v) => $q.bind(*v),
            Arg::Date(v) => $q.bind(*v),
            Arg::OptDate(v) => $q.bind(*v),
            Arg::F64(v) => $q.bind(*v),
        }
    };
}
use bind_arg;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut s = Sql::new("SELECT 1 FROM t WHERE a = ");
        s.bind(1i64).push(" AND b = ").bind("x");
        assert_eq!(s.text(), "SELECT 1 FROM t WHERE a = $1 AND b = $2");
    }

    #[test]
    fn in_lists_bind_each_value_and_an_empty_one_matches_nothing() {
        let mut s = Sql::new("SELECT 1 FROM t WHERE a = ");
        s.bind(7i64).push(" AND b IN ").bind_list(["x", "y", "z"]);
        assert_eq!(s.text(), "SELECT 1 FROM t WHERE a = $1 AND b IN ($2,$3,$4)");
        let mut e = Sql::new("SELECT 1 FROM t WHERE b IN ");
        e.bind_list(Vec::<i64>::new());
        assert_eq!(e.text(), "SELECT 1 FROM t WHERE b IN (NULL)");
    }

    #[test]
    fn sqlite_gets_anonymous_placeholders_in_the_same_order() {
        let mut s = Sql::new("SELECT '$1' AS t FROM t WHERE a = ");
        for i in 0..12i64 {
            s.push(" OR a = ").bind(i);
        }
        s.push(" LIMIT ").bind(5i64);
        let pg = s.text_for(Backend::Postgres);
        assert_eq!(pg, s.text());
        assert!(pg.ends_with("a = $12 LIMIT $13"));
        let lite = s.text_for(Backend::Sqlite);
        assert!(lite.starts_with("SELECT '$1' AS t FROM t WHERE a =  OR a = ? OR a = ?"));
        assert!(lite.ends_with("a = ? LIMIT ?"));
        assert_eq!(lite.matches('?').count(), 13);
        assert_eq!(Sql::new("SELECT 1").text_for(Backend::Sqlite), "SELECT 1");
    }

    #[test]
    fn a_scope_without_a_matching_column_sees_nothing() {
        let mut s = Sql::new("SELECT 1 WHERE 1=1");
        s.scope_filter(
            &Scope::Unit(3),
            ScopeColumns {
                region_path: Some("r.path"),
                ..Default::default()
            },
        );
        assert!(s.text().ends_with("AND (1=0)"));
        let mut s = Sql::new("SELECT 1 WHERE 1=1");
        s.scope_filter(
            &Scope::RegionSubtree("/1/".into()),
            ScopeColumns {
                region_path: Some("r.path"),
                ..Default::default()
            },
        );
        assert!(s.text().ends_with("AND (r.path LIKE $1)"));
    }
}
