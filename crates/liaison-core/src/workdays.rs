//! Working days (工作日) under the State Council holiday calendar with its make-up days (调休).
//!
//! Deadlines in the opinion and suggestion loops are counted in working days. A plain weekday is
//! not enough: every year the State Council moves some weekends to working days and gives whole
//! weeks off around 春节 and 国庆. The calendar of 2022–2026 is built in (see
//! `data/holidays/README.md` for its source); an administrator loads a new year's notice, in the
//! same JSON shape, without a new release. Years that no notice covers fall back to
//! Monday–Friday, and [`Calendar::covers`] lets the interface warn about it.
//!
//! Counting rule used everywhere: the start day never counts. An item assigned on Friday with
//! one working day is due on Monday.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, Weekday};

// Serde format of a date as `YYYY-MM-DD`, the shape of the holiday files and of the API
// (`#[serde(with = "iso_date")]`; `iso_date::option` for `Option<Date>`).
time::serde::format_description!(
    pub iso_date,
    Date,
    "[year]-[month]-[day]"
);

/// The built-in notices, one file a year, embedded at compile time.
const BUILTIN_YEARS: &[&str] = &[
    include_str!("../data/holidays/2022.json"),
    include_str!("../data/holidays/2023.json"),
    include_str!("../data/holidays/2024.json"),
    include_str!("../data/holidays/2025.json"),
    include_str!("../data/holidays/2026.json"),
];

/// Why a holiday notice could not be loaded. Messages are shown to the administrator uploading it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The text is not JSON of the expected shape.
    #[error(
        "节假日文件格式不正确：{0}。请上传与内置文件相同格式的 JSON（含 year 和 days，days 每项含 name、date、isOffDay）"
    )]
    Format(String),
    /// The year is not plausible.
    #[error("节假日文件的年份 {0} 不合理，请检查 year 字段（应在 2000 至 2100 之间）")]
    Year(i32),
    /// The file lists no day at all.
    #[error("{0} 年的节假日文件没有列出任何日期，请上传国务院办公厅通知对应的完整文件")]
    Empty(i32),
    /// A day lies too far from the notice's year.
    #[error("{year} 年的节假日文件中的日期 {date} 不属于该年度，请检查 date 字段")]
    DateOutsideYear {
        /// The notice's year.
        year: i32,
        /// The offending date, `YYYY-MM-DD`.
        date: String,
    },
    /// The same day is listed twice.
    #[error("日期 {0} 在文件中出现了两次，请删除重复的一项")]
    Duplicate(String),
    /// A make-up working day that is not a weekend day is meaningless and usually a swapped flag.
    #[error(
        "日期 {0} 是周一至周五，本来就是工作日，不能标为调休上班（isOffDay: false），请检查该项"
    )]
    MakeUpOnWeekday(String),
}

/// One day that differs from the plain week: a holiday, or a weekend day worked instead.
///
/// This is also the row shape for storing a year's notice in a database table
/// (`year, date, is_off_day, name`, with the year from [`YearNotice`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOverride {
    /// The day.
    #[serde(with = "iso_date")]
    pub date: Date,
    /// `true`: a day off (法定节假日); `false`: a weekend day that is a working day (调休补班).
    #[serde(rename = "isOffDay")]
    pub is_off_day: bool,
    /// The holiday it belongs to, e.g. 国庆节.
    pub name: String,
}

/// One year's State Council notice in the holiday-cn JSON shape (extra fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearNotice {
    /// The year the notice is for.
    pub year: i32,
    /// Links to the notice text, kept for the record.
    #[serde(default)]
    pub papers: Vec<String>,
    /// Every day that differs from the plain week.
    pub days: Vec<DayOverride>,
}

impl YearNotice {
    /// Parses and checks one year's notice.
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        let notice: YearNotice =
            serde_json::from_str(json).map_err(|e| CalendarError::Format(e.to_string()))?;
        notice.check()?;
        Ok(notice)
    }

    /// The notice in the same JSON shape it is read from.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a notice is always representable as JSON")
    }

    /// Checks the notice is plausible: a sane year, days in or next to that year (the New Year
    /// holiday may start on 31 December of the year before), no duplicates, make-up days on
    /// weekends only.
    pub fn check(&self) -> Result<(), CalendarError> {
        if !(2000..=2100).contains(&self.year) {
            return Err(CalendarError::Year(self.year));
        }
        if self.days.is_empty() {
            return Err(CalendarError::Empty(self.year));
        }
        let mut seen = std::collections::BTreeSet::new();
        for day in &self.days {
            let text = format_date(day.date);
            if (day.date.year() - self.year).abs() > 1 {
                return Err(CalendarError::DateOutsideYear {
                    year: self.year,
                    date: text,
                });
            }
            if !seen.insert(day.date) {
                return Err(CalendarError::Duplicate(text));
            }
            if !day.is_off_day && !is_weekend(day.date) {
                return Err(CalendarError::MakeUpOnWeekday(text));
            }
        }
        Ok(())
    }
}

/// The working-day calendar: weekends, plus every loaded notice's holidays and make-up days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    /// Loaded notices by year.
    notices: BTreeMap<i32, YearNotice>,
    /// Merged view of all notices: day → is it a day off.
    days: BTreeMap<Date, bool>,
}

impl Calendar {
    /// A calendar with no notice: Monday–Friday are working days, nothing else.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    /// The calendar with the built-in notices of 2022–2026.
    pub fn builtin() -> Self {
        let mut calendar = Self::default();
        for json in BUILTIN_YEARS {
            // The files are part of the source tree and checked by a test, so failing here is a
            // build defect, not a runtime condition.
            let notice = YearNotice::from_json(json).expect("built-in holiday file is valid");
            calendar.set_year(notice);
        }
        calendar
    }

    /// Loads (or replaces) one year from the JSON of a notice, e.g. uploaded by an administrator.
    pub fn add_year_from_json(&mut self, json: &str) -> Result<(), CalendarError> {
        let notice = YearNotice::from_json(json)?;
        self.set_year(notice);
        Ok(())
    }

    /// Loads (or replaces) one year's notice, e.g. read back from the database at start-up.
    /// The notice is not checked again; use [`YearNotice::from_json`] or [`YearNotice::check`]
    /// on input from people.
    pub fn set_year(&mut self, notice: YearNotice) {
        self.notices.insert(notice.year, notice);
        self.rebuild();
    }

    /// Removes a year's notice; the year falls back to weekends only.
    pub fn remove_year(&mut self, year: i32) -> Option<YearNotice> {
        let removed = self.notices.remove(&year);
        self.rebuild();
        removed
    }

    /// Whether a notice for `year` is loaded. When it is not, deadlines in that year count
    /// weekends only and may be wrong around holidays: the interface should warn.
    pub fn covers(&self, year: i32) -> bool {
        self.notices.contains_key(&year)
    }

    /// The year whose State Council notice is missing and matters on `today`: this year, or
    /// from November on (when the notice for the next year is usually published and deadlines
    /// start to run into it) the next one. `None` when both are loaded.
    pub fn missing_notice(&self, today: Date) -> Option<i32> {
        let year = today.year();
        if !self.covers(year) {
            Some(year)
        } else if u8::from(today.month()) >= 11 && !self.covers(year + 1) {
            Some(year + 1)
        } else {
            None
        }
    }

    /// The years with a loaded notice, ascending.
    pub fn covered_years(&self) -> Vec<i32> {
        self.notices.keys().copied().collect()
    }

    /// The loaded notices, by ascending year (for storing or exporting them).
    pub fn notices(&self) -> impl Iterator<Item = &YearNotice> {
        self.notices.values()
    }

    /// All overrides of all loaded notices, by ascending year then as listed.
    pub fn overrides(&self) -> Vec<DayOverride> {
        self.notices
            .values()
            .flat_map(|n| n.days.iter().cloned())
            .collect()
    }

    /// Whether people work on `date`: a listed holiday is off, a listed make-up day is worked,
    /// any other day is worked when it is Monday to Friday.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.days.get(&date) {
            Some(is_off_day) => !is_off_day,
            None => !is_weekend(date),
        }
    }

    /// The holiday or make-up day name of `date`, if a notice lists it (e.g. 国庆节).
    pub fn day_name(&self, date: Date) -> Option<&str> {
        // Later notices win, as in `rebuild`.
        self.notices
            .values()
            .rev()
            .flat_map(|n| n.days.iter())
            .find(|d| d.date == date)
            .map(|d| d.name.as_str())
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: Date) -> Date {
        let mut day = date;
        loop {
            day = next_day(day);
            if self.is_working_day(day) || day == Date::MAX {
                return day;
            }
        }
    }

    /// The deadline `n` working days after `start`; `start` itself never counts.
    ///
    /// Assigned on Friday with `n = 1`, the item is due on Monday. With `n = 0` ("same day") the
    /// result is `start` when it is a working day, otherwise the next working day.
    pub fn add_working_days(&self, start: Date, n: u32) -> Date {
        if n == 0 {
            return if self.is_working_day(start) {
                start
            } else {
                self.next_working_day(start)
            };
        }
        let mut day = start;
        for _ in 0..n {
            day = self.next_working_day(day);
        }
        day
    }

    /// Working days from `a` to `b`: the working days in `(a, b]` when `b` is after `a`, the
    /// negated count of `(b, a]` when `b` is before `a`, zero when equal. It inverts
    /// [`Calendar::add_working_days`]: `working_days_between(s, add_working_days(s, n)) == n`
    /// for every `n ≥ 1`.
    pub fn working_days_between(&self, a: Date, b: Date) -> i64 {
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = next_day(day);
            if self.is_working_day(day) {
                count += 1;
            }
        }
        sign * count
    }

    fn rebuild(&mut self) {
        self.days.clear();
        // Ascending years: when two notices list the same day, the later notice wins.
        for notice in self.notices.values() {
            for day in &notice.days {
                self.days.insert(day.date, day.is_off_day);
            }
        }
    }
}

/// Saturday or Sunday.
pub fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn next_day(date: Date) -> Date {
    date.next_day().unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn builtin_calendar_covers_2022_to_2026_and_no_other_year() {
        let cal = Calendar::builtin();
        assert_eq!(cal.covered_years(), vec![2022, 2023, 2024, 2025, 2026]);
        assert!(!cal.covers(2021));
        assert!(!cal.covers(2027));
    }

    #[test]
    fn every_builtin_file_passes_the_checks_and_round_trips() {
        for json in BUILTIN_YEARS {
            let notice = YearNotice::from_json(json).unwrap();
            let again = YearNotice::from_json(&notice.to_json()).unwrap();
            assert_eq!(notice, again);
        }
    }

    #[test]
    fn national_day_2025_is_off_and_its_make_up_saturdays_are_worked() {
        let cal = Calendar::builtin();
        // 国庆节、中秋节 2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked.
        for day in 1..=8 {
            let d = Date::from_calendar_date(2025, time::Month::October, day).unwrap();
            assert!(!cal.is_working_day(d), "{d}");
        }
        assert!(cal.is_working_day(date!(2025 - 09 - 28)));
        assert!(cal.is_working_day(date!(2025 - 10 - 11)));
        assert!(!cal.is_working_day(date!(2025 - 10 - 12)));
        assert_eq!(cal.day_name(date!(2025 - 10 - 03)), Some("国庆节、中秋节"));
        assert_eq!(cal.day_name(date!(2025 - 10 - 13)), None);
    }

    #[test]
    fn an_item_assigned_before_national_day_2025_skips_the_whole_holiday() {
        let cal = Calendar::builtin();
        // Tuesday 30 September + 1 WD: 1–8 October are off, Thursday 9 October is due.
        assert_eq!(
            cal.add_working_days(date!(2025 - 09 - 30), 1),
            date!(2025 - 10 - 09)
        );
        // Friday 26 September + 1 WD: Sunday 28 September is a make-up working day.
        assert_eq!(
            cal.add_working_days(date!(2025 - 09 - 26), 1),
            date!(2025 - 09 - 28)
        );
        // + 3 WD from Friday 26 Sept: Sun 28, Mon 29, Tue 30.
        assert_eq!(
            cal.add_working_days(date!(2025 - 09 - 26), 3),
            date!(2025 - 09 - 30)
        );
        // + 5 WD from Friday 26 Sept: Sun 28, Mon 29, Tue 30, Thu 9 Oct, Fri 10 Oct.
        assert_eq!(
            cal.add_working_days(date!(2025 - 09 - 26), 5),
            date!(2025 - 10 - 10)
        );
        // The Saturday after is a make-up day too.
        assert_eq!(
            cal.add_working_days(date!(2025 - 10 - 10), 1),
            date!(2025 - 10 - 11)
        );
    }

    #[test]
    fn spring_festival_2026_with_its_two_make_up_saturdays() {
        let cal = Calendar::builtin();
        // 春节 2026: 15–23 February off; Saturdays 14 and 28 February worked.
        assert!(cal.is_working_day(date!(2026 - 02 - 14)));
        assert!(!cal.is_working_day(date!(2026 - 02 - 16)));
        assert!(!cal.is_working_day(date!(2026 - 02 - 23)));
        assert!(cal.is_working_day(date!(2026 - 02 - 28)));
        // Friday 13 February + 1 WD is the make-up Saturday.
        assert_eq!(
            cal.add_working_days(date!(2026 - 02 - 13), 1),
            date!(2026 - 02 - 14)
        );
        // Saturday 14 February + 1 WD: the holiday, then Tuesday 24 February.
        assert_eq!(
            cal.add_working_days(date!(2026 - 02 - 14), 1),
            date!(2026 - 02 - 24)
        );
        // 15 WD from Friday 13 February, counted by hand:
        // 14, 24, 25, 26, 27, 28 Feb (6), 2–6 Mar (11), 9–12 Mar (15).
        assert_eq!(
            cal.add_working_days(date!(2026 - 02 - 13), 15),
            date!(2026 - 03 - 12)
        );
    }

    #[test]
    fn friday_plus_one_working_day_is_monday() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.add_working_days(date!(2025 - 06 - 13), 1),
            date!(2025 - 06 - 16)
        );
        assert_eq!(
            cal.next_working_day(date!(2025 - 06 - 13)),
            date!(2025 - 06 - 16)
        );
    }

    #[test]
    fn zero_working_days_is_the_same_day_or_the_next_working_day() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.add_working_days(date!(2025 - 06 - 13), 0),
            date!(2025 - 06 - 13)
        );
        assert_eq!(
            cal.add_working_days(date!(2025 - 10 - 01), 0),
            date!(2025 - 10 - 09)
        );
    }

    #[test]
    fn working_days_between_counts_the_end_but_not_the_start_and_inverts_adding() {
        let cal = Calendar::builtin();
        let start = date!(2025 - 09 - 26);
        for n in 1..40 {
            let due = cal.add_working_days(start, n);
            assert_eq!(cal.working_days_between(start, due), i64::from(n));
            assert_eq!(cal.working_days_between(due, start), -i64::from(n));
        }
        assert_eq!(cal.working_days_between(start, start), 0);
        // Over the holiday: 30 September to 9 October is one working day.
        assert_eq!(
            cal.working_days_between(date!(2025 - 09 - 30), date!(2025 - 10 - 09)),
            1
        );
    }

    #[test]
    fn a_year_without_notice_counts_weekends_only() {
        let cal = Calendar::builtin();
        // 1 October 2027 is a Friday; without the 2027 notice it is a working day.
        assert!(!cal.covers(2027));
        assert!(cal.is_working_day(date!(2027 - 10 - 01)));
        assert!(!cal.is_working_day(date!(2027 - 10 - 02)));
        assert_eq!(
            cal.add_working_days(date!(2027 - 10 - 01), 1),
            date!(2027 - 10 - 04)
        );
    }

    #[test]
    fn an_administrator_can_load_next_year_and_replace_it_later() {
        let mut cal = Calendar::builtin();
        let json = r#"{"year": 2027, "papers": [], "days": [
            {"name": "国庆节", "date": "2027-10-01", "isOffDay": true},
            {"name": "国庆节", "date": "2027-10-09", "isOffDay": false}
        ]}"#;
        cal.add_year_from_json(json).unwrap();
        assert!(cal.covers(2027));
        assert!(!cal.is_working_day(date!(2027 - 10 - 01)));
        assert!(cal.is_working_day(date!(2027 - 10 - 09)));

        let corrected = r#"{"year": 2027, "days": [
            {"name": "国庆节", "date": "2027-10-04", "isOffDay": true}
        ]}"#;
        cal.add_year_from_json(corrected).unwrap();
        assert!(cal.is_working_day(date!(2027 - 10 - 01)));
        assert!(!cal.is_working_day(date!(2027 - 10 - 04)));
        assert!(
            !cal.is_working_day(date!(2027 - 10 - 09)),
            "back to a Saturday"
        );
        assert_eq!(cal.overrides().len(), 33 + 34 + 36 + 38 + 39 + 1);
    }

    #[test]
    fn stored_overrides_rebuild_the_same_calendar() {
        let builtin = Calendar::builtin();
        let mut from_db = Calendar::weekends_only();
        for notice in builtin.notices() {
            let stored: String = serde_json::to_string(notice).unwrap();
            from_db.set_year(serde_json::from_str(&stored).unwrap());
        }
        assert_eq!(builtin, from_db);
    }

    #[test]
    fn bad_notices_are_refused_with_a_reason() {
        let mut cal = Calendar::weekends_only();
        let err = cal.add_year_from_json("not json").unwrap_err();
        assert!(matches!(err, CalendarError::Format(_)));
        assert!(err.to_string().contains("格式不正确"));

        let err = cal
            .add_year_from_json(r#"{"year": 2027, "days": []}"#)
            .unwrap_err();
        assert_eq!(err, CalendarError::Empty(2027));

        let err = cal
            .add_year_from_json(
                r#"{"year": 2027, "days": [{"name": "x", "date": "2030-01-01", "isOffDay": true}]}"#,
            )
            .unwrap_err();
        assert!(matches!(err, CalendarError::DateOutsideYear { .. }));

        let err = cal
            .add_year_from_json(
                r#"{"year": 2027, "days": [{"name": "x", "date": "2027-10-01", "isOffDay": false}]}"#,
            )
            .unwrap_err();
        assert_eq!(err, CalendarError::MakeUpOnWeekday("2027-10-01".into()));

        let err = cal
            .add_year_from_json(
                r#"{"year": 2027, "days": [
                    {"name": "x", "date": "2027-10-01", "isOffDay": true},
                    {"name": "x", "date": "2027-10-01", "isOffDay": true}]}"#,
            )
            .unwrap_err();
        assert_eq!(err, CalendarError::Duplicate("2027-10-01".into()));

        let err = cal
            .add_year_from_json(r#"{"year": 1900, "days": []}"#)
            .unwrap_err();
        assert_eq!(err, CalendarError::Year(1900));
        assert!(cal.covered_years().is_empty(), "nothing was loaded");
    }

    #[test]
    fn a_missing_notice_is_reported_from_november_for_the_next_year() {
        let cal = Calendar::builtin();
        let last = *cal.covered_years().last().unwrap();
        let mid = Date::from_calendar_date(last, time::Month::June, 1).unwrap();
        assert_eq!(cal.missing_notice(mid), None);
        let nov = Date::from_calendar_date(last, time::Month::November, 2).unwrap();
        assert_eq!(cal.missing_notice(nov), Some(last + 1));
        let next = Date::from_calendar_date(last + 1, time::Month::March, 2).unwrap();
        assert_eq!(cal.missing_notice(next), Some(last + 1));
    }
}
