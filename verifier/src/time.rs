//! Reading and printing instants for people (`--at`, output).

use credential::date::Date;

/// Parses Unix seconds or `YYYY-MM-DDTHH:MM:SSZ` (UTC) / `YYYY-MM-DDTHH:MM:SS+08:00`.
pub fn parse_instant(text: &str) -> Option<u64> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(seconds);
    }
    let (date, rest) = text.split_once('T')?;
    let date = Date::parse(date)?;
    let (clock, offset_s) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, 0i64)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset.get(1..)?.split_once(':')?;
        (
            clock,
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60),
        )
    };
    let mut parts = clock.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let s: i64 = parts.next().unwrap_or("0").parse().ok()?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    u64::try_from(date.0 * 86_400 + h * 3600 + m * 60 + s - offset_s).ok()
}

/// Formats Unix seconds in China Standard Time, e.g. `2026-06-01 10:00:00 +08:00`.
pub fn format_instant(seconds: u64) -> String {
    let local = seconds + 8 * 3600;
    let date = Date::at(seconds, 8 * 3600);
    let s = local % 86_400;
    format!(
        "{date} {:02}:{:02}:{:02} +08:00",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_parse_in_every_accepted_form() {
        assert_eq!(parse_instant("1780279200"), Some(1_780_279_200));
        assert_eq!(parse_instant("2026-06-01T02:00:00Z"), Some(1_780_279_200));
        assert_eq!(
            parse_instant("2026-06-01T10:00:00+08:00"),
            Some(1_780_279_200)
        );
        assert_eq!(parse_instant("2026-06-01 10:00"), None);
        assert_eq!(parse_instant("2026-06-01T25:00:00Z"), None);
        assert_eq!(format_instant(1_780_279_200), "2026-06-01 10:00:00 +08:00");
    }
}
