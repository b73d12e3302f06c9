//! Reading holders from CSV (batch enrolment), line by line with reasons.
//!
//! Columns (header required, any order): licence_number, name, sex, nationality,
//! birth_date, address, file_number, first_issue_date, classes, valid_from,
//! valid_to (empty or 长期 = long-term), authority, points (default 0), channel
//! (app or counter, default app), device_key (hex, optional), portrait (optional:
//! a retained photo's file, relative to the CSV's folder).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use credential::date::Date;
use credential::licence::{ClassSet, Sex, Validity};

use crate::registry::{Channel, HolderInput};

/// The columns an enrolment CSV must have.
pub const REQUIRED_COLUMNS: [&str; 12] = [
    "licence_number",
    "name",
    "sex",
    "nationality",
    "birth_date",
    "address",
    "file_number",
    "first_issue_date",
    "classes",
    "valid_from",
    "valid_to",
    "authority",
];

/// One parsed line: the holder and, if given, the retained portrait's bytes.
pub type EnrolRow = Result<(HolderInput, Option<Vec<u8>>), String>;

/// Parses a CSV; returns one entry per data line with its line number (1-based,
/// header = line 1). Portrait paths are resolved against `base`.
pub fn read_csv(input: impl Read, base: &Path) -> Result<Vec<(usize, EnrolRow)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read the header line: {e}"))?
        .clone();
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    let missing: Vec<_> = REQUIRED_COLUMNS
        .iter()
        .filter(|c| !index.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        return Err(format!("the header lacks the columns {missing:?}"));
    }
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(n + 2, |p| p.line() as usize);
        let row = match record {
            Ok(record) => {
                let columns: HashMap<&str, &str> = headers.iter().zip(record.iter()).collect();
                parse_row(&columns).and_then(|input| {
                    match columns.get("portrait").copied().unwrap_or("") {
                        "" => Ok((input, None)),
                        file => std::fs::read(base.join(file))
                            .map(|bytes| (input, Some(bytes)))
                            .map_err(|e| format!("portrait {file}: {e}")),
                    }
                })
            }
            Err(e) => Err(format!("unreadable line: {e}")),
        };
        rows.push((line, row));
    }
    Ok(rows)
}

fn parse_row(columns: &HashMap<&str, &str>) -> Result<HolderInput, String> {
    let field = |name: &str| columns.get(name).copied().unwrap_or("");
    let date = |name: &str| {
        Date::parse(field(name))
            .ok_or_else(|| format!("{name} {:?} is not a YYYY-MM-DD date", field(name)))
    };
    let valid_to = match field("valid_to") {
        "" | "长期" | "long-term" => None,
        _ => Some(date("valid_to")?),
    };
    let device_key = match field("device_key") {
        "" => None,
        hex_text => Some(
            hex::decode(hex_text)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or("device_key is not 64 hex digits")?,
        ),
    };
    Ok(HolderInput {
        licence_number: field("licence_number").to_owned(),
        name: field("name").to_owned(),
        sex: Sex::parse(field("sex"))
            .ok_or_else(|| format!("sex {:?} is not M/F/男/女", field("sex")))?,
        nationality: field("nationality").to_owned(),
        birth_date: date("birth_date")?,
        address: field("address").to_owned(),
        file_number: field("file_number").to_owned(),
        first_issue_date: date("first_issue_date")?,
        classes: ClassSet::parse(field("classes")).ok_or_else(|| {
            format!(
                "classes {:?} are not licence classes like C1E",
                field("classes")
            )
        })?,
        validity: Validity {
            from: date("valid_from")?,
            to: valid_to,
        },
        authority_code: field("authority").to_owned(),
        points: match field("points") {
            "" => 0,
            p => p
                .parse()
                .map_err(|_| format!("points {p:?} is not a number"))?,
        },
        channel: match field("channel") {
            "" => Channel::App,
            c => Channel::parse(c).ok_or_else(|| format!("channel {c:?} is not app or counter"))?,
        },
        device_key,
    })
}
