//! The licence record: every field of the paper licence (spec §5).
//!
//! [`Licence`] is the issuer's complete record; [`LicenceRecord`] is what one
//! credential carries, holding only its profile's fields (the others are `None`).

use std::fmt;

use ciborium::value::Value;

use crate::cbor::{self, int, take};
use crate::date::Date;
use crate::error::{BuildError, Malformed};
use crate::limits::MAX_TEXT_BYTES;
use crate::profile::{Field, Profile};

/// 性别, coded as in GB/T 2261.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    /// 男.
    Male = 1,
    /// 女.
    Female = 2,
}

impl Sex {
    fn from_code(code: u64) -> Option<Sex> {
        match code {
            1 => Some(Sex::Male),
            2 => Some(Sex::Female),
            _ => None,
        }
    }

    /// Parses `M`/`F`/`男`/`女`/`1`/`2`.
    pub fn parse(text: &str) -> Option<Sex> {
        match text {
            "M" | "m" | "男" | "1" | "male" => Some(Sex::Male),
            "F" | "f" | "女" | "2" | "female" => Some(Sex::Female),
            _ => None,
        }
    }

    /// Label in Chinese and English.
    pub fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (Sex::Male, true) => "男",
            (Sex::Female, true) => "女",
            (Sex::Male, false) => "male",
            (Sex::Female, false) => "female",
        }
    }
}

/// The 17 licence classes (准驾车型), in bit order.
pub const CLASS_CODES: [&str; 17] = [
    "A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F", "M", "N", "P",
];

/// A set of licence classes, as a bitmask in [`CLASS_CODES`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassSet(u32);

impl ClassSet {
    const ALL: u32 = (1 << CLASS_CODES.len()) - 1;

    /// From the bitmask; `None` if empty or with unknown bits.
    pub fn from_bits(bits: u64) -> Option<ClassSet> {
        let bits = u32::try_from(bits).ok()?;
        (bits != 0 && bits & !Self::ALL == 0).then_some(ClassSet(bits))
    }

    /// The bitmask.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Parses the licence's notation, e.g. `C1E` or `A2D`; whitespace and commas are ignored.
    pub fn parse(text: &str) -> Option<ClassSet> {
        let mut rest: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ',')
            .collect();
        rest.make_ascii_uppercase();
        let mut bits = 0u32;
        let mut rest = rest.as_str();
        while !rest.is_empty() {
            // Two-character codes first, so "C1" is not read as "C" + "1".
            let (index, len) = CLASS_CODES
                .iter()
                .enumerate()
                .filter(|(_, code)| rest.starts_with(**code))
                .map(|(i, code)| (i, code.len()))
                .max_by_key(|(_, len)| *len)?;
            bits |= 1 << index;
            rest = &rest[len..];
        }
        ClassSet::from_bits(u64::from(bits))
    }

    /// The codes in the set.
    pub fn codes(self) -> impl Iterator<Item = &'static str> {
        CLASS_CODES
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, code)| *code)
    }
}

impl fmt::Display for ClassSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.codes().try_for_each(|code| f.write_str(code))
    }
}

/// One licence status (驾驶证状态), GA/T 16.25-2012 letter codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLetter {
    /// The letter.
    pub letter: char,
    /// Chinese label.
    pub chinese: &'static str,
    /// English label.
    pub english: &'static str,
    /// Whether the holder may drive under this status.
    pub may_drive: bool,
}

const fn status(
    letter: char,
    chinese: &'static str,
    english: &'static str,
    may_drive: bool,
) -> StatusLetter {
    StatusLetter {
        letter,
        chinese,
        english,
        may_drive,
    }
}

/// The statuses in bit order.
pub const STATUS_LETTERS: [StatusLetter; 17] = [
    status('A', "正常", "normal", true),
    status('B', "超分", "points exceeded", false),
    status('C', "转出", "transferred out", true),
    status('D', "暂扣", "temporarily seized", false),
    status('E', "撤销", "cancelled", false),
    status('F', "吊销", "revoked", false),
    status('G', "注销", "deregistered", false),
    status('H', "违法未处理", "unprocessed violation", true),
    status('I', "事故未处理", "unprocessed accident", true),
    status('J', "停止使用", "stopped", false),
    status('K', "协查", "under investigation", true),
    status('L', "锁定", "locked", true),
    status('M', "逾期未换证", "overdue renewal", false),
    status('N', "延期换证", "postponed renewal", true),
    status('P', "延期体检", "postponed medical", true),
    status('R', "逾期未体检", "overdue medical", false),
    status('S', "逾期未审验", "overdue inspection", false),
];

/// A licence's statuses: a set, since several can hold at once (e.g. `HS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusSet(u32);

impl StatusSet {
    /// Normal (A) alone.
    pub const NORMAL: StatusSet = StatusSet(1);
    const ALL: u32 = (1 << STATUS_LETTERS.len()) - 1;

    /// From the bitmask: non-empty, known bits, and A only alone.
    pub fn from_bits(bits: u64) -> Option<StatusSet> {
        let bits = u32::try_from(bits).ok()?;
        let valid = bits != 0 && bits & !Self::ALL == 0 && (bits & 1 == 0 || bits == 1);
        valid.then_some(StatusSet(bits))
    }

    /// The bitmask.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Parses letters such as `A` or `HS`.
    pub fn parse(text: &str) -> Option<StatusSet> {
        let mut bits = 0u64;
        for c in text.trim().chars() {
            let index = STATUS_LETTERS
                .iter()
                .position(|s| s.letter == c.to_ascii_uppercase())?;
            bits |= 1 << index;
        }
        StatusSet::from_bits(bits)
    }

    /// The statuses in the set.
    pub fn letters(self) -> impl Iterator<Item = &'static StatusLetter> {
        STATUS_LETTERS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, s)| s)
    }

    /// The statuses under which the holder may not drive (empty if driving is allowed).
    pub fn prohibiting(self) -> StatusSet {
        StatusSet(self.filter_bits(|s| !s.may_drive))
    }

    /// The statuses other than normal that still allow driving (worth a notice).
    pub fn notices(self) -> StatusSet {
        StatusSet(self.filter_bits(|s| s.may_drive && s.letter != 'A'))
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the set includes a letter.
    pub fn contains(self, letter: char) -> bool {
        self.letters().any(|s| s.letter == letter)
    }

    /// Adds or removes letters by bits, keeping the A-only-alone rule: an empty result is normal.
    pub fn with(self, letter: char, present: bool) -> StatusSet {
        let Some(index) = STATUS_LETTERS.iter().position(|s| s.letter == letter) else {
            return self;
        };
        let mut bits = self.0 & !1;
        if present {
            bits |= 1 << index;
        } else {
            bits &= !(1 << index);
        }
        if bits == 0 {
            StatusSet::NORMAL
        } else if bits & 1 != 0 && bits != 1 {
            StatusSet(bits & !1)
        } else {
            StatusSet(bits)
        }
    }

    fn filter_bits(self, keep: impl Fn(&StatusLetter) -> bool) -> u32 {
        STATUS_LETTERS
            .iter()
            .enumerate()
            .filter(|(i, s)| self.0 & (1 << i) != 0 && keep(s))
            .fold(0, |bits, (i, _)| bits | (1 << i))
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.letters().try_for_each(|s| write!(f, "{}", s.letter))
    }
}

/// 有效期限: from a date to a date, or long-term (长期).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// First valid day.
    pub from: Date,
    /// Last valid day; `None` for long-term.
    pub to: Option<Date>,
}

/// 发证机关: code (e.g. the plate prefix 川J) and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// The issuer's complete licence record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Licence {
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 国籍 (ISO 3166-1 alpha-3).
    pub nationality: String,
    /// 出生日期.
    pub birth_date: Date,
    /// 住址.
    pub address: String,
    /// 证号.
    pub licence_number: String,
    /// 档案编号 (12 digits).
    pub file_number: String,
    /// 初次领证日期.
    pub first_issue_date: Date,
    /// 准驾车型.
    pub classes: ClassSet,
    /// 有效期限.
    pub validity: Validity,
    /// 发证机关.
    pub issuing_authority: Authority,
    /// 驾驶证状态.
    pub status: StatusSet,
    /// 累积记分 in the current cycle.
    pub points: u32,
    /// Digest of the approved portrait ([`portrait_digest`]).
    pub portrait_digest: [u8; PORTRAIT_DIGEST_LEN],
}

/// The fields one credential discloses (those outside its profile are `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LicenceRecord {
    pub name: Option<String>,
    pub sex: Option<Sex>,
    pub nationality: Option<String>,
    pub birth_date: Option<Date>,
    pub address: Option<String>,
    pub licence_number: Option<String>,
    pub file_number: Option<String>,
    pub first_issue_date: Option<Date>,
    pub classes: Option<ClassSet>,
    pub validity: Option<Validity>,
    pub status: Option<StatusSet>,
    pub points: Option<u32>,
    pub portrait_digest: Option<[u8; PORTRAIT_DIGEST_LEN]>,
}

impl Licence {
    /// Checks every field against the format's rules.
    pub fn validate(&self) -> Result<(), Malformed> {
        check_text(&self.name, "name")?;
        check_text(&self.address, "address")?;
        check_nationality(&self.nationality)?;
        check_licence_number(&self.licence_number)?;
        check_file_number(&self.file_number)?;
        check_authority(&self.issuing_authority)?;
        check_validity(&self.validity)?;
        // Everything the decoder checks is checked here too, so the issuer never
        // signs a credential that every verifier would reject as malformed.
        for (date, what) in [
            (self.birth_date, "birth_date"),
            (self.first_issue_date, "first_issue_date"),
            (self.validity.from, "validity from"),
        ]
        .into_iter()
        .chain(self.validity.to.map(|to| (to, "validity to")))
        {
            Date::from_days(date.0).ok_or(Malformed::OutOfRange(what))?;
        }
        if self.points > MAX_POINTS {
            return Err(Malformed::OutOfRange("points"));
        }
        Ok(())
    }

    /// The record a credential of `profile` carries, after checking the licence.
    pub fn disclose(&self, profile: Profile) -> Result<LicenceRecord, BuildError> {
        self.validate()?;
        Ok(self.project(profile))
    }

    /// The fields of `profile`, for a licence already validated.
    pub(crate) fn project(&self, profile: Profile) -> LicenceRecord {
        let has = |field: Field| profile.fields().contains(&field);
        LicenceRecord {
            name: has(Field::Name).then(|| self.name.clone()),
            sex: has(Field::Sex).then_some(self.sex),
            nationality: has(Field::Nationality).then(|| self.nationality.clone()),
            birth_date: has(Field::BirthDate).then_some(self.birth_date),
            address: has(Field::Address).then(|| self.address.clone()),
            licence_number: has(Field::LicenceNumber).then(|| self.licence_number.clone()),
            file_number: has(Field::FileNumber).then(|| self.file_number.clone()),
            first_issue_date: has(Field::FirstIssueDate).then_some(self.first_issue_date),
            classes: has(Field::Classes).then_some(self.classes),
            validity: has(Field::Validity).then_some(self.validity),
            status: has(Field::Status).then_some(self.status),
            points: has(Field::Points).then_some(self.points),
            portrait_digest: has(Field::PortraitDigest).then_some(self.portrait_digest),
        }
    }
}

fn check_text(text: &str, what: &'static str) -> Result<(), Malformed> {
    if text.is_empty() || text.len() > MAX_TEXT_BYTES || text.chars().any(char::is_control) {
        return Err(Malformed::Invalid(what));
    }
    Ok(())
}

fn check_nationality(text: &str) -> Result<(), Malformed> {
    let ok = text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase());
    ok.then_some(()).ok_or(Malformed::Invalid("nationality"))
}

fn check_licence_number(text: &str) -> Result<(), Malformed> {
    let ok = (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(()).ok_or(Malformed::Invalid("licence_number"))
}

fn check_file_number(text: &str) -> Result<(), Malformed> {
    let ok = text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(()).ok_or(Malformed::Invalid("file_number"))
}

fn check_authority(authority: &Authority) -> Result<(), Malformed> {
    check_text(&authority.code, "issuing_authority code")?;
    check_text(&authority.name, "issuing_authority name")
}

fn check_validity(validity: &Validity) -> Result<(), Malformed> {
    match validity.to {
        Some(to) if to < validity.from => Err(Malformed::Invalid("validity")),
        _ => Ok(()),
    }
}

/// Most penalty points a record can carry.
pub const MAX_POINTS: u32 = 999;

/// Length of the portrait digest: SHA-256 truncated to 128 bits (spec §5.1 says why).
pub const PORTRAIT_DIGEST_LEN: usize = 16;

/// The digest of a portrait file as the licence record carries it.
pub fn portrait_digest(portrait: &[u8]) -> [u8; PORTRAIT_DIGEST_LEN] {
    let full = crate::signature::sha256(portrait);
    let mut digest = [0u8; PORTRAIT_DIGEST_LEN];
    digest.copy_from_slice(&full[..PORTRAIT_DIGEST_LEN]);
    digest
}

/// The check character of an 18-character citizen ID number (GB 11643, ISO 7064 MOD
/// 11-2) from its first 17 digits. Issuers use it to refuse a mistyped number at the
/// counter; the format uses it to carry citizen IDs as integers.
pub fn citizen_id_check(first17: u64) -> char {
    const WEIGHTS: [u64; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let digits = format!("{first17:017}");
    let sum: u64 = digits
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u64::from(d - b'0') * w)
        .sum();
    char::from(b"10X98765432"[(sum % 11) as usize])
}

/// A citizen ID number with a correct check character, as its first 17 digits.
fn citizen_id_digits(text: &str) -> Option<u64> {
    let (digits, check) = (text.get(..17)?, text.get(17..)?);
    if text.len() != 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first17 = digits.parse().ok()?;
    (check.chars().eq([citizen_id_check(first17)])).then_some(first17)
}

/// Citizen ID numbers (the common case) travel as an integer of their first 17
/// digits, 9 bytes instead of 19; other licence numbers as text.
fn licence_number_value(text: &str) -> Value {
    match citizen_id_digits(text) {
        Some(first17) => int(first17),
        None => Value::Text(text.to_owned()),
    }
}

fn take_licence_number(value: Value) -> Result<String, Malformed> {
    match value {
        Value::Integer(_) => {
            let first17 = take::uint(value, "licence_number")?;
            if first17 >= 100_000_000_000_000_000 {
                return Err(Malformed::OutOfRange("licence_number"));
            }
            Ok(format!("{first17:017}{}", citizen_id_check(first17)))
        }
        value => {
            let text = take::text(value, "licence_number")?;
            check_licence_number(&text)?;
            // One encoding per value: a citizen ID number must use the integer form.
            if citizen_id_digits(&text).is_some() {
                return Err(Malformed::Invalid(
                    "licence_number (citizen ID sent as text)",
                ));
            }
            Ok(text)
        }
    }
}

fn file_number_value(text: &str) -> Value {
    int(text.parse::<u64>().unwrap_or(u64::MAX))
}

fn date_value(date: Date) -> Value {
    int(date.0)
}

fn take_date(value: Value, what: &'static str) -> Result<Date, Malformed> {
    Date::from_days(take::int(value, what)?).ok_or(Malformed::OutOfRange(what))
}

fn take_text(value: Value, what: &'static str) -> Result<String, Malformed> {
    let text = take::text(value, what)?;
    check_text(&text, what)?;
    Ok(text)
}

impl LicenceRecord {
    /// The fields present, in key order.
    pub fn present_fields(&self) -> Vec<Field> {
        Field::ALL
            .iter()
            .copied()
            .filter(|f| self.has(*f))
            .collect()
    }

    /// The profile whose field set this record carries exactly, if any.
    pub fn profile(&self) -> Option<Profile> {
        let fields = self.present_fields();
        Profile::ALL
            .into_iter()
            .find(|p| p.fields() == fields.as_slice())
    }

    fn has(&self, field: Field) -> bool {
        match field {
            Field::Name => self.name.is_some(),
            Field::Sex => self.sex.is_some(),
            Field::Nationality => self.nationality.is_some(),
            Field::BirthDate => self.birth_date.is_some(),
            Field::Address => self.address.is_some(),
            Field::LicenceNumber => self.licence_number.is_some(),
            Field::FileNumber => self.file_number.is_some(),
            Field::FirstIssueDate => self.first_issue_date.is_some(),
            Field::Classes => self.classes.is_some(),
            Field::Validity => self.validity.is_some(),
            Field::Status => self.status.is_some(),
            Field::Points => self.points.is_some(),
            Field::PortraitDigest => self.portrait_digest.is_some(),
        }
    }

    /// The CBOR map.
    pub fn to_value(&self) -> Value {
        let mut entries = Vec::new();
        let mut put = |field: Field, value: Option<Value>| {
            if let Some(value) = value {
                entries.push((int(field.key()), value));
            }
        };
        put(Field::Name, self.name.clone().map(Value::Text));
        put(Field::Sex, self.sex.map(|s| int(s as u8)));
        put(
            Field::Nationality,
            self.nationality.clone().map(Value::Text),
        );
        put(Field::BirthDate, self.birth_date.map(date_value));
        put(Field::Address, self.address.clone().map(Value::Text));
        put(
            Field::LicenceNumber,
            self.licence_number.as_deref().map(licence_number_value),
        );
        put(
            Field::FileNumber,
            self.file_number.as_deref().map(file_number_value),
        );
        put(Field::FirstIssueDate, self.first_issue_date.map(date_value));
        put(Field::Classes, self.classes.map(|c| int(c.bits())));
        put(
            Field::Validity,
            self.validity.map(|v| {
                Value::Array(vec![
                    date_value(v.from),
                    v.to.map_or(Value::Null, date_value),
                ])
            }),
        );
        put(Field::Status, self.status.map(|s| int(s.bits())));
        put(Field::Points, self.points.map(int));
        put(
            Field::PortraitDigest,
            self.portrait_digest.map(|d| Value::Bytes(d.to_vec())),
        );
        cbor::map(entries)
    }

    /// Reads the CBOR map: the fields present, each checked.
    pub fn from_value(value: Value) -> Result<LicenceRecord, Malformed> {
        let mut map = take::IntMap::new(value, "licence record")?;
        let mut get = |field: Field| map.optional(field.key());
        let mut record = LicenceRecord::default();
        if let Some(v) = get(Field::Name) {
            record.name = Some(take_text(v, "name")?);
        }
        if let Some(v) = get(Field::Sex) {
            record.sex =
                Some(Sex::from_code(take::uint(v, "sex")?).ok_or(Malformed::OutOfRange("sex"))?);
        }
        if let Some(v) = get(Field::Nationality) {
            let text = take::text(v, "nationality")?;
            check_nationality(&text)?;
            record.nationality = Some(text);
        }
        if let Some(v) = get(Field::BirthDate) {
            record.birth_date = Some(take_date(v, "birth_date")?);
        }
        if let Some(v) = get(Field::Address) {
            record.address = Some(take_text(v, "address")?);
        }
        if let Some(v) = get(Field::LicenceNumber) {
            record.licence_number = Some(take_licence_number(v)?);
        }
        if let Some(v) = get(Field::FileNumber) {
            let number = take::uint(v, "file_number")?;
            if number >= 1_000_000_000_000 {
                return Err(Malformed::OutOfRange("file_number"));
            }
            record.file_number = Some(format!("{number:012}"));
        }
        if let Some(v) = get(Field::FirstIssueDate) {
            record.first_issue_date = Some(take_date(v, "first_issue_date")?);
        }
        if let Some(v) = get(Field::Classes) {
            let bits = take::uint(v, "classes")?;
            record.classes = Some(ClassSet::from_bits(bits).ok_or(Malformed::Invalid("classes"))?);
        }
        if let Some(v) = get(Field::Validity) {
            let [from, to] = take::array_of(v, "validity")?;
            let from = take_date(from, "validity from")?;
            let to = match to {
                Value::Null => None,
                to => Some(take_date(to, "validity to")?),
            };
            let validity = Validity { from, to };
            check_validity(&validity)?;
            record.validity = Some(validity);
        }
        if let Some(v) = get(Field::Status) {
            let bits = take::uint(v, "status")?;
            record.status = Some(StatusSet::from_bits(bits).ok_or(Malformed::Invalid("status"))?);
        }
        if let Some(v) = get(Field::Points) {
            let points = take::uint(v, "points")?;
            record.points = Some(
                u32::try_from(points)
                    .ok()
                    .filter(|p| *p <= MAX_POINTS)
                    .ok_or(Malformed::OutOfRange("points"))?,
            );
        }
        if let Some(v) = get(Field::PortraitDigest) {
            record.portrait_digest = Some(take::bytes_of(v, "portrait_digest")?);
        }
        map.finish()?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn classes_parse_and_print_in_licence_notation() {
        let set = ClassSet::parse("C1E").unwrap();
        assert_eq!(set.to_string(), "C1E");
        assert_eq!(ClassSet::parse("a2, d").unwrap().to_string(), "A2D");
        assert_eq!(ClassSet::parse("ALLA1A2A3B1B2C1C2C3C4C5C6DEFMNP"), None);
        assert_eq!(
            ClassSet::parse("A1A2A3B1B2C1C2C3C4C5C6DEFMNP")
                .unwrap()
                .bits(),
            0x1ffff
        );
        assert_eq!(ClassSet::parse("C7"), None);
        assert_eq!(ClassSet::parse(""), None);
        assert_eq!(ClassSet::from_bits(1 << 17), None);
    }

    #[test]
    fn citizen_ids_travel_as_integers_and_come_back_identical() {
        for id in ["510903198803140029", "11010519491231002X"] {
            let value = licence_number_value(id);
            assert!(matches!(value, Value::Integer(_)), "{id}");
            assert_eq!(take_licence_number(value).unwrap(), id);
        }
        // Wrong check character: not a citizen ID, so text.
        assert!(matches!(
            licence_number_value("510903198803140028"),
            Value::Text(_)
        ));
        assert!(take_licence_number(Value::Text("510903198803140029".into())).is_err());
        assert_eq!(
            take_licence_number(Value::Text("P12345678".into())).unwrap(),
            "P12345678"
        );
    }

    #[test]
    fn status_rules() {
        assert_eq!(StatusSet::parse("A"), Some(StatusSet::NORMAL));
        assert_eq!(StatusSet::parse("AB"), None, "A only alone");
        let hs = StatusSet::parse("SH").unwrap();
        assert_eq!(hs.to_string(), "HS");
        assert_eq!(hs.prohibiting().to_string(), "S");
        assert_eq!(hs.notices().to_string(), "H");
        assert!(StatusSet::NORMAL.prohibiting().is_empty());
        assert_eq!(StatusSet::NORMAL.with('D', true).to_string(), "D");
        assert_eq!(
            StatusSet::parse("D").unwrap().with('D', false),
            StatusSet::NORMAL
        );
        assert_eq!(StatusSet::from_bits(0), None);
    }
}
