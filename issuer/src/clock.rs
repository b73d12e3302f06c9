//! Times as people read them: the machine's local time with its UTC offset. JSON
//! output keeps Unix seconds; a clerk or an operator reading a log gets this.

use chrono::TimeZone;

/// `2026-06-01 10:00:00 +08:00`, for a clerk's screen.
pub fn local_time(unix: u64) -> String {
    format_local(unix, "%Y-%m-%d %H:%M:%S %:z")
}

/// `2026-06-01T10:00:00+08:00` (RFC 3339), one token for a log line.
pub fn log_time(unix: u64) -> String {
    format_local(unix, "%Y-%m-%dT%H:%M:%S%:z")
}

fn format_local(unix: u64, format: &str) -> String {
    match i64::try_from(unix)
        .ok()
        .and_then(|s| chrono::Local.timestamp_opt(s, 0).single())
    {
        Some(time) => time.format(format).to_string(),
        None => format!("{unix} (Unix seconds)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_their_offset() {
        let text = local_time(1_780_279_200);
        assert!(text.starts_with("2026-06-0"), "{text}");
        let offset = text.rsplit(' ').next().unwrap_or_default();
        assert!(offset.starts_with('+') || offset.starts_with('-'), "{text}");
        assert!(log_time(1_780_279_200).contains('T'));
    }
}
