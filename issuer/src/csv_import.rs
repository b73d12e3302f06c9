//! Reading holders from CSV (batch enrolment), one physical line at a time.
//!
//! Columns (header required, any order): licence_number, name, sex, nationality,
//! birth_date, address, file_number, first_issue_date, classes, valid_from,
//! valid_to (empty or 长期 = long-term), authority, points (default 0), channel
//! (app or counter, default app), device_key (hex, optional), portrait (optional:
//! a retained photo's file, relative to the CSV's folder).
//!
//! Why not a general CSV reader: RFC 4180 lets a quoted field run over line breaks,
//! so one stray `"` at the start of a junk line swallows every following line into
//! one field — thousands of good holders neither enrolled nor reported, and every
//! line number after it wrong. Holder data never contains a line break, so here a
//! record is exactly one physical line: quotes work within the line (`""` is a
//! quote), and a quote left open at the end of the line, or text after a closing
//! quote, is that line's error. Every physical line is therefore either a holder or
//! a reported line with its true number; blank lines are counted and passed over.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use credential::date::Date;
use credential::licence::{ClassSet, Sex, Validity};

use crate::model::{Channel, HolderInput};

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

/// Largest import file read (about 2 million holders).
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Longest line accepted (a holder line is a few hundred bytes).
const MAX_LINE_BYTES: usize = 64 * 1024;

/// One good line: the holder and, if given, the retained portrait's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// The holder.
    pub input: HolderInput,
    /// The retained portrait file's content.
    pub portrait: Option<Vec<u8>>,
}

/// One physical line of the file after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportLine {
    /// 1-based physical line number (the header is line 1).
    pub number: usize,
    /// The holder, or why the line is refused.
    pub row: Result<ImportRow, String>,
}

/// A parsed import file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportFile {
    /// Every non-blank line after the header, in order.
    pub lines: Vec<ImportLine>,
    /// Blank lines passed over.
    pub blank_lines: usize,
}

/// Parses an import file; portrait paths are resolved against `base`. Fails as a
/// whole only when the header is unusable or the file is too large.
pub fn read_csv(mut input: impl Read, base: &Path) -> Result<ImportFile, String> {
    let mut bytes = Vec::new();
    input
        .by_ref()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the file is larger than {} MiB: split it",
            MAX_FILE_BYTES >> 20
        ));
    }
    let mut physical = physical_lines(&bytes);
    let header = physical
        .next()
        .ok_or("the file is empty: the first line must name the columns")?;
    let header = std::str::from_utf8(header.strip_prefix(b"\xef\xbb\xbf").unwrap_or(header))
        .map_err(|_| "the header line is not UTF-8 text".to_owned())?;
    let columns = split_fields(header).map_err(|e| format!("the header line: {e}"))?;
    let missing: Vec<_> = REQUIRED_COLUMNS
        .iter()
        .filter(|c| !columns.iter().any(|h| h == *c))
        .collect();
    if !missing.is_empty() {
        return Err(format!("the header lacks the columns {missing:?}"));
    }
    let mut file = ImportFile::default();
    for (index, line) in physical.enumerate() {
        let number = index + 2;
        if line.iter().all(u8::is_ascii_whitespace) {
            file.blank_lines += 1;
            continue;
        }
        file.lines.push(ImportLine {
            number,
            row: parse_line(line, &columns, base),
        });
    }
    Ok(file)
}

/// The file's physical lines, without their `\n` or `\r\n`; no empty last line after
/// a final line break.
fn physical_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take(if empty { 0 } else { usize::MAX })
}

fn parse_line(line: &[u8], columns: &[String], base: &Path) -> Result<ImportRow, String> {
    if line.len() > MAX_LINE_BYTES {
        return Err(format!("the line is longer than {MAX_LINE_BYTES} bytes"));
    }
    let text = std::str::from_utf8(line).map_err(|_| "the line is not UTF-8 text".to_owned())?;
    let fields = split_fields(text)?;
    if fields.len() > columns.len() {
        return Err(format!(
            "{} fields, but the header names {} columns",
            fields.len(),
            columns.len()
        ));
    }
    let values: HashMap<&str, &str> = columns
        .iter()
        .map(String::as_str)
        .zip(fields.iter().map(String::as_str))
        .collect();
    let input = holder_from_fields(&|name| values.get(name).copied())?;
    let portrait = match values.get("portrait").copied().unwrap_or("") {
        "" => None,
        file => Some(std::fs::read(base.join(file)).map_err(|e| format!("portrait {file}: {e}"))?),
    };
    Ok(ImportRow { input, portrait })
}

/// Splits one line into fields: comma-separated, each either bare (no quote in it)
/// or quoted (`"…"`, with `""` for a quote); whitespace around a field is dropped.
fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let column = fields.len() + 1;
        let trimmed = rest.trim_start();
        let (field, after) = if let Some(quoted) = trimmed.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "field {column} opens a quote that is not closed on this line"
                        ))
                    }
                    Some((i, '"')) => {
                        if quoted[i + 1..].starts_with('"') {
                            value.push('"');
                            chars.next();
                        } else {
                            break i + 1;
                        }
                    }
                    Some((_, c)) => value.push(c),
                }
            };
            let after = quoted[end..].trim_start();
            if !(after.is_empty() || after.starts_with(',')) {
                return Err(format!("text after the closing quote of field {column}"));
            }
            (value, after)
        } else {
            let end = trimmed.find(',').unwrap_or(trimmed.len());
            let value = trimmed[..end].trim_end();
            if value.contains('"') {
                return Err(format!(
                    "a quote inside field {column}: quote the whole field and double the quote"
                ));
            }
            (value.to_owned(), &trimmed[end..])
        };
        fields.push(field);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

/// A holder from named text fields, as a CSV line or the `holder add` options give
/// them (missing optional fields are `None`): the one place text becomes a
/// [`HolderInput`].
pub fn holder_from_fields<'a>(
    field: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<HolderInput, String> {
    let text = |name: &str| field(name).unwrap_or("").trim();
    let date = |name: &str| {
        Date::parse(text(name))
            .ok_or_else(|| format!("{name} {:?} is not a YYYY-MM-DD date", text(name)))
    };
    let valid_to = match text("valid_to") {
        "" | "长期" | "long-term" => None,
        _ => Some(date("valid_to")?),
    };
    let device_key = match text("device_key") {
        "" => None,
        hex_text => Some(
            hex::decode(hex_text)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or("device_key is not 64 hex digits")?,
        ),
    };
    Ok(HolderInput {
        licence_number: text("licence_number").to_owned(),
        name: text("name").to_owned(),
        sex: Sex::parse(text("sex"))
            .ok_or_else(|| format!("sex {:?} is not M/F/男/女", text("sex")))?,
        nationality: match text("nationality") {
            "" => "CHN".to_owned(),
            n => n.to_owned(),
        },
        birth_date: date("birth_date")?,
        address: text("address").to_owned(),
        file_number: text("file_number").to_owned(),
        first_issue_date: date("first_issue_date")?,
        classes: ClassSet::parse(text("classes")).ok_or_else(|| {
            format!(
                "classes {:?} are not licence classes like C1E",
                text("classes")
            )
        })?,
        validity: Validity {
            from: date("valid_from")?,
            to: valid_to,
        },
        authority_code: text("authority").to_owned(),
        points: match text("points") {
            "" => 0,
            p => p
                .parse()
                .map_err(|_| format!("points {p:?} is not a number"))?,
        },
        channel: match text("channel") {
            "" => Channel::App,
            c => Channel::parse(c).ok_or_else(|| format!("channel {c:?} is not app or counter"))?,
        },
        device_key,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEADER: &str = "licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority";

    fn line(n: usize) -> String {
        format!("L{n:08},\"张, 三\",M,CHN,1990-01-01,四川省遂宁市,510900123456,2010-01-01,C1,2020-01-01,,川J")
    }

    #[test]
    fn fields_split_with_quotes_inside_one_line() {
        assert_eq!(
            split_fields("a, \"b,c\" ,\"d\"\"e\",").unwrap(),
            ["a", "b,c", "d\"e", ""]
        );
        assert!(split_fields("\"open").unwrap_err().contains("not closed"));
        assert!(split_fields("\"a\"b")
            .unwrap_err()
            .contains("after the closing quote"));
        assert!(split_fields("a\"b").unwrap_err().contains("quote inside"));
    }

    #[test]
    fn a_stray_quote_costs_its_own_line_only() {
        let mut text = format!("{HEADER}\n");
        for n in 2..=1000 {
            if n == 400 {
                text += "\"junk line that opens a quote,,,\n";
            } else if n == 700 {
                text += "\r\n";
            } else {
                text += &(line(n) + "\r\n");
            }
        }
        let file = read_csv(text.as_bytes(), Path::new(".")).unwrap();
        assert_eq!(file.blank_lines, 1);
        assert_eq!(file.lines.len(), 998);
        let bad: Vec<_> = file
            .lines
            .iter()
            .filter(|l| l.row.is_err())
            .map(|l| l.number)
            .collect();
        assert_eq!(bad, [400]);
        let good: Vec<_> = file
            .lines
            .iter()
            .filter(|l| l.row.is_ok())
            .map(|l| l.number)
            .collect();
        assert_eq!(good.len(), 997);
        // Every line's number is its physical line: line n carries licence L{n}.
        for l in &file.lines {
            if let Ok(row) = &l.row {
                assert_eq!(row.input.licence_number, format!("L{:08}", l.number));
            }
        }
    }

    #[test]
    fn bad_headers_and_bytes_are_reported() {
        assert!(read_csv(&b""[..], Path::new(".")).is_err());
        assert!(read_csv(&b"name,sex\n"[..], Path::new("."))
            .unwrap_err()
            .contains("lacks"));
        let mut bytes = format!("\u{feff}{HEADER}\n{}\n", line(2)).into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        let file = read_csv(&bytes[..], Path::new(".")).unwrap();
        assert!(file.lines[0].row.is_ok(), "{:?}", file.lines[0]);
        assert_eq!(file.lines[1].number, 3);
        assert!(file.lines[1].row.as_ref().unwrap_err().contains("UTF-8"));
    }
}
