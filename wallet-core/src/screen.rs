//! The wallet screen as the national app shows it (issue #12): the holder's name,
//! the licence code **black when the licence is normal and red when it is not**,
//! the generation time and the current time under it, and the seconds until the
//! next code.
//!
//! Why the colour is decided here and not by the renderer: it is a rule about the
//! licence (DOMAIN.md, "How the app shows it today"), and every rendering — PNG,
//! SVG, terminal, a phone app's own UI — must apply the same one. The rule reads the
//! full-profile record of the stored credential and what the issuer last said:
//! red for any status letter other than A (spec §5.3; the app turns the code red
//! for "may drive" notices such as H too), for the points limit reached even
//! before B is recorded, for a licence outside its validity period, and for a
//! credential the issuer reported suspended.
//!
//! Times are shown as local time with its UTC offset (`2026-06-08 10:00:00
//! +08:00`), never as Unix seconds. The library reads no clock: `now` is a
//! parameter, and the offset comes from [`crate::WalletConfig::utc_offset_s`].

use credential::date::Date;
use credential::licence::{LicenceRecord, StatusLetter, StatusSet};
use credential::Profile;

use crate::qr::{Qr, TerminalCells};
use crate::state::CredentialStatus;
use crate::wallet::Presented;

/// Penalty points that reach the limit of a 12-month scoring cycle (DOMAIN.md:
/// "reaching 12 points suspends driving until re-education and a re-test").
pub const POINTS_LIMIT: u32 = 12;

/// The colour the code is drawn in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeColour {
    /// The licence is normal.
    Black,
    /// The licence is not normal (see [`Abnormal`]).
    Red,
}

impl CodeColour {
    /// sRGB of the dark modules. The red keeps a luminance of about 72 of 255 on
    /// white, so greyscale scanners threshold it exactly like black (tested with
    /// the verifier's scanner on the photo corpus).
    pub fn rgb(self) -> [u8; 3] {
        match self {
            CodeColour::Black => [0, 0, 0],
            CodeColour::Red => [0xc8, 0x10, 0x1e],
        }
    }

    /// Stable name for JSON.
    pub fn name(self) -> &'static str {
        match self {
            CodeColour::Black => "black",
            CodeColour::Red => "red",
        }
    }
}

/// Why the licence is not normal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abnormal {
    /// A status letter other than A (正常), with its GA/T 16.25 label.
    Status(&'static StatusLetter),
    /// The points limit is reached but the record does not carry B (超分) yet.
    PointsLimit {
        /// Points in the current cycle.
        points: u32,
    },
    /// Past the last day of the validity period.
    LicenceExpired {
        /// Last valid day.
        valid_to: Date,
    },
    /// Before the first day of the validity period.
    LicenceNotYetValid {
        /// First valid day.
        valid_from: Date,
    },
    /// The issuer reported the credential suspended, and the record shows no
    /// status that says so.
    CredentialSuspended,
}

impl Abnormal {
    /// Stable code for JSON.
    pub fn code(&self) -> String {
        match self {
            Abnormal::Status(letter) => format!("status_{}", letter.letter),
            Abnormal::PointsLimit { .. } => "points_limit".into(),
            Abnormal::LicenceExpired { .. } => "licence_expired".into(),
            Abnormal::LicenceNotYetValid { .. } => "licence_not_yet_valid".into(),
            Abnormal::CredentialSuspended => "credential_suspended".into(),
        }
    }

    /// Chinese label, as on the app.
    pub fn chinese(&self) -> String {
        match self {
            Abnormal::Status(letter) => letter.chinese.to_owned(),
            Abnormal::PointsLimit { points } => format!("记分已满 ({points} 分)"),
            Abnormal::LicenceExpired { valid_to } => format!("已过有效期 ({valid_to})"),
            Abnormal::LicenceNotYetValid { valid_from } => format!("尚未生效 ({valid_from})"),
            Abnormal::CredentialSuspended => "暂停使用".into(),
        }
    }

    /// English label.
    pub fn english(&self) -> String {
        match self {
            Abnormal::Status(letter) => letter.english.to_owned(),
            Abnormal::PointsLimit { points } => format!("points limit reached ({points})"),
            Abnormal::LicenceExpired { valid_to } => format!("licence expired on {valid_to}"),
            Abnormal::LicenceNotYetValid { valid_from } => {
                format!("licence valid from {valid_from}")
            }
            Abnormal::CredentialSuspended => "suspended by the issuer".into(),
        }
    }

    /// Whether the holder may drive despite this (a notice such as H).
    pub fn may_drive(&self) -> bool {
        matches!(self, Abnormal::Status(letter) if letter.may_drive)
    }
}

/// The licence at a glance: the code's colour and every reason it is red.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtAGlance {
    /// Black exactly when `reasons` is empty.
    pub colour: CodeColour,
    /// Why the licence is not normal, statuses first in letter order.
    pub reasons: Vec<Abnormal>,
}

impl AtAGlance {
    /// Judges `record` (the full-profile licence record) on `today` (local date),
    /// with what the issuer last said about the credential.
    pub fn of(record: &LicenceRecord, credential: CredentialStatus, today: Date) -> AtAGlance {
        let status = record.status.unwrap_or(StatusSet::NORMAL);
        let mut reasons: Vec<Abnormal> = status
            .letters()
            .filter(|letter| letter.letter != 'A')
            .map(Abnormal::Status)
            .collect();
        let points = record.points.unwrap_or(0);
        if points >= POINTS_LIMIT && !status.contains('B') {
            reasons.push(Abnormal::PointsLimit { points });
        }
        if let Some(validity) = record.validity {
            if validity.to.is_some_and(|to| today > to) {
                reasons.push(Abnormal::LicenceExpired {
                    valid_to: validity.to.unwrap_or(validity.from),
                });
            }
            if today < validity.from {
                reasons.push(Abnormal::LicenceNotYetValid {
                    valid_from: validity.from,
                });
            }
        }
        if credential == CredentialStatus::Suspended && status.prohibiting().is_empty() {
            reasons.push(Abnormal::CredentialSuspended);
        }
        AtAGlance {
            colour: if reasons.is_empty() {
                CodeColour::Black
            } else {
                CodeColour::Red
            },
            reasons,
        }
    }

    /// `正常 normal`, or the reasons joined, e.g. `超分 points exceeded`.
    pub fn label(&self) -> String {
        if self.reasons.is_empty() {
            return "正常 normal".into();
        }
        self.reasons
            .iter()
            .map(|r| format!("{} {}", r.chinese(), r.english()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Unix time as local time with its offset, e.g. `2026-06-08 10:00:00 +08:00`.
pub fn local_time(t: u64, utc_offset_s: i32) -> String {
    let offset = i64::from(utc_offset_s);
    let date = Date::at(t, offset);
    let seconds = (i128::from(t) + i128::from(offset)).rem_euclid(86_400);
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    format!(
        "{date} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
        abs / 3600,
        abs % 3600 / 60
    )
}

/// Parses `+08:00`, `-05:30` or `Z` into seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Option<i32> {
    if text == "Z" {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i32 = hours.parse().ok().filter(|h| *h <= 14)?;
    let minutes: i32 = minutes.parse().ok().filter(|m| *m < 60)?;
    Some(sign * (hours * 3600 + minutes * 60))
}

/// One screen: everything the app shows at `now` for one presentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    /// 姓名.
    pub holder_name: String,
    /// 证号.
    pub licence_number: String,
    /// 准驾车型.
    pub classes: String,
    /// Status letters as recorded, e.g. `A` or `BH`.
    pub status_letters: String,
    /// 累积记分.
    pub points: u32,
    /// Colour and reasons.
    pub at_a_glance: AtAGlance,
    /// The code shown, with its generation time.
    pub presented: Presented,
    /// The current time.
    pub now: u64,
    /// Offset of the local time shown.
    pub utc_offset_s: i32,
}

impl Screen {
    /// The profile shown.
    pub fn profile(&self) -> Profile {
        self.presented.profile
    }

    /// Seconds until the app shows a new code (0 when due).
    pub fn seconds_to_refresh(&self) -> u64 {
        self.presented.refresh_at.saturating_sub(self.now)
    }

    /// The code in the status colour.
    pub fn qr(&self) -> &Qr {
        &self.presented.qr
    }

    /// The text shown beside or under the code, one entry per line, each at most
    /// [`TEXT_COLUMNS`] terminal columns wide. Shared by every rendering.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("姓名 {}", self.holder_name),
            format!("证号 {}", self.licence_number),
            format!("准驾车型 {}  记分 {}", self.classes, self.points),
            format!("状态 status {}", self.status_letters),
        ];
        if self.at_a_glance.reasons.is_empty() {
            lines.push("  正常 normal".into());
        }
        for reason in &self.at_a_glance.reasons {
            lines.push(format!("  {}", reason.chinese()));
            lines.push(format!("  {}", reason.english()));
        }
        lines.extend([
            "生成时间 generated".to_owned(),
            format!(
                "  {}",
                local_time(self.presented.presented_at, self.utc_offset_s)
            ),
            "当前时间 now".to_owned(),
            format!("  {}", local_time(self.now, self.utc_offset_s)),
            format!(
                "{} s 后刷新 next code in {} s",
                self.seconds_to_refresh(),
                self.seconds_to_refresh()
            ),
            format!(
                "{} profile, QR version {}",
                self.profile(),
                self.qr().version()
            ),
        ]);
        lines
            .into_iter()
            .map(|line| truncate_to_columns(&line, TEXT_COLUMNS))
            .collect()
    }

    /// The screen for a terminal: the code on the left in the status colour on
    /// white, the text on the right. With [`TerminalCells::Octant`] the full
    /// profile's code (up to version 15) and its text fit an 80 × 24 terminal.
    pub fn to_terminal(&self, cells: TerminalCells) -> String {
        let code = self
            .qr()
            .to_terminal_in(self.at_a_glance.colour.rgb(), cells);
        let code_lines: Vec<&str> = code.lines().collect();
        let code_columns = self.qr().terminal_columns(cells);
        let text = self.lines();
        let rows = code_lines.len().max(text.len());
        let red = self.at_a_glance.colour == CodeColour::Red;
        let mut out = String::new();
        for row in 0..rows {
            match code_lines.get(row) {
                Some(line) => out += line,
                None => out += &" ".repeat(code_columns),
            }
            if let Some(line) = text.get(row) {
                out += "  ";
                // The status lines carry the colour too, for people who cannot tell red.
                let status_line = row >= 3 && row < 4 + self.at_a_glance.reasons.len() * 2 + 1;
                if red && status_line {
                    out += &format!("\x1b[1;31m{line}\x1b[0m");
                } else {
                    out += line;
                }
            }
            out.push('\n');
        }
        out
    }
}

/// Width of the text column of the terminal screen: 80 columns minus the widest
/// code the octant rendering draws (43 columns for version 15) and a gap of 2.
pub const TEXT_COLUMNS: usize = 35;

/// Columns a character takes in a terminal: 2 for East Asian wide characters.
pub fn char_columns(c: char) -> usize {
    let wide = matches!(u32::from(c),
        0x1100..=0x115f | 0x2e80..=0x303e | 0x3041..=0x33ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf | 0xac00..=0xd7a3 | 0xf900..=0xfaff | 0xfe30..=0xfe4f | 0xff00..=0xff60
        | 0xffe0..=0xffe6 | 0x20000..=0x3fffd);
    if wide {
        2
    } else {
        1
    }
}

/// Display width of `text` in terminal columns.
pub fn text_columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

fn truncate_to_columns(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_columns(c);
        if used + w > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use credential::licence::Validity;

    fn record(status: &str, points: u32) -> LicenceRecord {
        LicenceRecord {
            name: Some("欧阳婷婷".into()),
            status: StatusSet::parse(status),
            points: Some(points),
            validity: Some(Validity {
                from: Date::parse("2020-07-22").unwrap(),
                to: Some(Date::parse("2030-07-22").unwrap()),
            }),
            ..LicenceRecord::default()
        }
    }

    fn glance(status: &str, points: u32, credential: CredentialStatus, today: &str) -> AtAGlance {
        AtAGlance::of(
            &record(status, points),
            credential,
            Date::parse(today).unwrap(),
        )
    }

    #[test]
    fn the_colour_follows_the_status() {
        let normal = glance("A", 3, CredentialStatus::Valid, "2026-06-01");
        assert_eq!(normal.colour, CodeColour::Black);
        assert_eq!(normal.label(), "正常 normal");
        for (letters, label) in [
            ("B", "超分 points exceeded"),
            ("D", "暂扣 temporarily seized"),
            ("F", "吊销 revoked"),
            ("S", "逾期未审验 overdue inspection"),
            ("H", "违法未处理 unprocessed violation"),
        ] {
            let g = glance(letters, 0, CredentialStatus::Valid, "2026-06-01");
            assert_eq!((g.colour, g.label().as_str()), (CodeColour::Red, label));
        }
        // Status B is 超分, never 暂扣 (that is D).
        let b = glance("B", 12, CredentialStatus::Suspended, "2026-06-01");
        assert_eq!(b.reasons.len(), 1, "{b:?}");
        assert_eq!(b.reasons[0].chinese(), "超分");
        let points = glance("A", 12, CredentialStatus::Valid, "2026-06-01");
        assert_eq!(points.reasons, vec![Abnormal::PointsLimit { points: 12 }]);
        let expired = glance("A", 0, CredentialStatus::Valid, "2030-07-23");
        assert_eq!(expired.reasons[0].code(), "licence_expired");
        assert_eq!(
            glance("A", 0, CredentialStatus::Valid, "2030-07-22").colour,
            CodeColour::Black,
            "the last day is valid"
        );
        let early = glance("A", 0, CredentialStatus::Valid, "2020-07-21");
        assert_eq!(early.reasons[0].code(), "licence_not_yet_valid");
        let suspended = glance("A", 0, CredentialStatus::Suspended, "2026-06-01");
        assert_eq!(suspended.reasons, vec![Abnormal::CredentialSuspended]);
        let hs = glance("HS", 0, CredentialStatus::Valid, "2026-06-01");
        assert_eq!(
            hs.reasons
                .iter()
                .map(Abnormal::may_drive)
                .collect::<Vec<_>>(),
            [true, false]
        );
    }

    #[test]
    fn local_time_has_its_offset() {
        assert_eq!(
            local_time(1_780_279_200, 8 * 3600),
            "2026-06-01 10:00:00 +08:00"
        );
        assert_eq!(local_time(1_780_279_200, 0), "2026-06-01 02:00:00 +00:00");
        assert_eq!(
            local_time(1_780_279_200, -(5 * 3600 + 1800)),
            "2026-05-31 20:30:00 -05:30"
        );
        assert_eq!(parse_utc_offset("+08:00"), Some(28_800));
        assert_eq!(parse_utc_offset("-05:30"), Some(-19_800));
        assert_eq!(parse_utc_offset("Z"), Some(0));
        for bad in ["08:00", "+8:00", "+15:00", "+08:60", "", "+08"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(text_columns("姓名 ab"), 7);
        assert_eq!(truncate_to_columns("欧阳婷婷", 5), "欧阳");
    }
}
