//! Disclosure profiles: which fields a relying party sees (spec §6).
//!
//! Each profile is a separate issuer-signed credential holding exactly its fields
//! (the field set names the profile: no profile code travels in the credential),
//! so a hidden field is absent from the QR code rather than masked, and a shown
//! field is covered by the issuer's signature. The issuing authority (发证机关) is
//! no record field: it is the signing key's trust bundle entry, shown in every
//! profile (the key id reveals it anyway). Spec §6.2 explains why this beats
//! salted per-field digests for QR sizes.

use std::fmt;

/// A licence record field, with its integer key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Field {
    Name = 1,
    Sex = 2,
    Nationality = 3,
    BirthDate = 4,
    Address = 5,
    LicenceNumber = 6,
    FileNumber = 7,
    FirstIssueDate = 8,
    Classes = 9,
    Validity = 10,
    Status = 11,
    Points = 12,
    PortraitDigest = 13,
}

impl Field {
    /// Every field in key order.
    pub const ALL: [Field; 13] = [
        Field::Name,
        Field::Sex,
        Field::Nationality,
        Field::BirthDate,
        Field::Address,
        Field::LicenceNumber,
        Field::FileNumber,
        Field::FirstIssueDate,
        Field::Classes,
        Field::Validity,
        Field::Status,
        Field::Points,
        Field::PortraitDigest,
    ];

    /// The map key.
    pub fn key(self) -> i64 {
        self as i64
    }

    /// The stable snake_case name (JSON output).
    pub fn name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Sex => "sex",
            Field::Nationality => "nationality",
            Field::BirthDate => "birth_date",
            Field::Address => "address",
            Field::LicenceNumber => "licence_number",
            Field::FileNumber => "file_number",
            Field::FirstIssueDate => "first_issue_date",
            Field::Classes => "classes",
            Field::Validity => "validity",
            Field::Status => "status",
            Field::Points => "points",
            Field::PortraitDigest => "portrait_digest",
        }
    }

    /// The label on the paper licence, in Chinese or English.
    pub fn label(self, chinese: bool) -> &'static str {
        let (zh, en) = match self {
            Field::Name => ("姓名", "Name"),
            Field::Sex => ("性别", "Sex"),
            Field::Nationality => ("国籍", "Nationality"),
            Field::BirthDate => ("出生日期", "Date of birth"),
            Field::Address => ("住址", "Address"),
            Field::LicenceNumber => ("证号", "Licence number"),
            Field::FileNumber => ("档案编号", "File number"),
            Field::FirstIssueDate => ("初次领证日期", "First issued"),
            Field::Classes => ("准驾车型", "Classes"),
            Field::Validity => ("有效期限", "Valid"),
            Field::Status => ("状态", "Status"),
            Field::Points => ("累积记分", "Penalty points"),
            Field::PortraitDigest => ("照片摘要", "Portrait digest"),
        };
        if chinese {
            zh
        } else {
            en
        }
    }
}

/// Who the presentation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Traffic officer: everything.
    Full,
    /// Car-rental desk.
    Rental,
    /// Insurer.
    Insurance,
    /// Employer hiring a driver.
    Employment,
}

impl Profile {
    /// All profiles, in code order.
    pub const ALL: [Profile; 4] = [
        Profile::Full,
        Profile::Rental,
        Profile::Insurance,
        Profile::Employment,
    ];

    /// The code the holder proof signs.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// From the code.
    pub fn from_code(code: u64) -> Option<Profile> {
        Profile::ALL
            .into_iter()
            .find(|p| u64::from(p.code()) == code)
    }

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Full => "full",
            Profile::Rental => "rental",
            Profile::Insurance => "insurance",
            Profile::Employment => "employment",
        }
    }

    /// From the name.
    pub fn parse(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The fields of this profile, in key order.
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Profile::Full => &Field::ALL,
            Profile::Rental => &[
                Name,
                LicenceNumber,
                Classes,
                Validity,
                Status,
                PortraitDigest,
            ],
            Profile::Insurance => &[
                Name,
                LicenceNumber,
                FirstIssueDate,
                Classes,
                Validity,
                Status,
                Points,
                PortraitDigest,
            ],
            Profile::Employment => &[Name, FirstIssueDate, Classes, Validity, Status],
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
