//! Calendar dates as day counts since 1970-01-01 (spec §2.3, RFC 8943 day numbers).

use std::fmt;

/// A calendar date: days since 1970-01-01 (negative before).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i64);

/// Earliest and latest dates accepted (0001-01-01 ..= 9999-12-31).
const MIN_DAY: i64 = -719_162;
const MAX_DAY: i64 = 2_932_896;

impl Date {
    /// From a civil date; `None` if it does not exist.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        (MIN_DAY..=MAX_DAY).contains(&days).then_some(Date(days))
    }

    /// The civil date (year, month, day).
    pub fn ymd(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// The local date at Unix time `now` with a UTC offset in seconds.
    pub fn at(now: u64, utc_offset_s: i64) -> Date {
        let local = i128::from(now) + i128::from(utc_offset_s);
        Date(i64::try_from(local.div_euclid(86_400)).unwrap_or(i64::MAX))
    }

    /// Checks the accepted range (years 1..=9999).
    pub fn from_days(days: i64) -> Option<Date> {
        (MIN_DAY..=MAX_DAY).contains(&days).then_some(Date(days))
    }

    /// The date `years` later (Feb 29 becomes Feb 28).
    pub fn add_years(self, years: i64) -> Option<Date> {
        let (y, m, d) = self.ymd();
        Date::from_ymd(y + years, m, d.min(days_in_month(y + years, m)))
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_the_whole_range() {
        for days in (MIN_DAY..=MAX_DAY).step_by(97) {
            let (y, m, d) = Date(days).ymd();
            assert_eq!(Date::from_ymd(y, m, d), Some(Date(days)), "{days}");
        }
        assert_eq!(Date::from_ymd(1970, 1, 1), Some(Date(0)));
        assert_eq!(
            Date::from_ymd(2000, 2, 29).map(|d| d.to_string()),
            Some("2000-02-29".into())
        );
        assert_eq!(Date::from_ymd(1900, 2, 29), None);
        assert_eq!(Date::parse("1969-12-31"), Some(Date(-1)));
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::from_ymd(0, 12, 31), None);
        assert_eq!(Date::from_ymd(10000, 1, 1), None);
    }

    #[test]
    fn local_day_uses_the_offset() {
        // 2026-01-01T16:00:00Z is already 2026-01-02 in China (UTC+8).
        let now = 1_767_283_200;
        assert_eq!(Date::at(now, 0).to_string(), "2026-01-01");
        assert_eq!(Date::at(now, 8 * 3600).to_string(), "2026-01-02");
    }
}
