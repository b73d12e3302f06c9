//! The office's records as plain data: what a holder, a portrait, a credential, a key
//! and an audit entry are. No SQL, no JSON, no I/O: the storage traits
//! ([`crate::store`]) speak these types, and the use cases ([`crate::usecase`]) decide
//! with them, so neither needs the other to be read.

use credential::date::Date;
use credential::licence::{Authority, ClassSet, Licence, Sex, StatusSet, Validity};
use credential::Profile;

/// Seconds in a day.
pub const DAY: u64 = 86_400;
/// Default credential lifetime: the wallet refreshes well before.
pub const DEFAULT_LIFETIME_S: u64 = 7 * DAY;
/// Penalty points that stop the holder driving in a 12-month cycle (status B).
pub const POINTS_LIMIT: u32 = 12;

/// Generates `name()`/`parse()` for an enum stored and shown by a stable name, so the
/// two directions can never disagree.
macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// Stable name (stored, and shown in JSON output).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// From the name.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }
    };
}

named_enum! {
    /// How a holder enrolled.
    pub enum Channel {
        /// Through the app.
        App => "app",
        /// At the vehicle office's counter (窗口办理).
        Counter => "counter",
    }
}

named_enum! {
    /// Where a portrait came from.
    pub enum PortraitSource {
        /// Already on file: usable at once.
        Retained => "retained",
        /// Phone camera: reviewed within one working day.
        Camera => "camera",
        /// Album ID photo: reviewed within one working day.
        Album => "album",
    }
}

named_enum! {
    /// A credential's state in the status list.
    pub enum CredentialState {
        /// Good to verify.
        Valid => "valid",
        /// Temporarily not valid (licence suspended or otherwise prohibited).
        Suspended => "suspended",
        /// Permanently not valid.
        Revoked => "revoked",
        /// Replaced by a newer credential of the same holder.
        Superseded => "superseded",
    }
}

named_enum! {
    /// A portrait's review state.
    pub enum PortraitState {
        /// Waiting for a reviewer.
        Pending => "pending",
        /// The holder's portrait (the latest approved one).
        Approved => "approved",
        /// Refused, automatically or by a reviewer.
        Rejected => "rejected",
        /// Was approved, then a newer portrait was approved.
        Replaced => "replaced",
    }
}

impl CredentialState {
    /// The state a holder's current credential must have for these licence status
    /// letters: E, F and G end the licence (revoked), any other prohibiting letter
    /// (B, D, …) suspends it, the rest keep it valid.
    pub fn for_status(status: StatusSet) -> CredentialState {
        if status.contains('F') || status.contains('E') || status.contains('G') {
            CredentialState::Revoked
        } else if !status.prohibiting().is_empty() {
            CredentialState::Suspended
        } else {
            CredentialState::Valid
        }
    }
}

/// A holder's licence data as enrolled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderInput {
    /// 证号.
    pub licence_number: String,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 国籍.
    pub nationality: String,
    /// 出生日期.
    pub birth_date: Date,
    /// 住址.
    pub address: String,
    /// 档案编号.
    pub file_number: String,
    /// 初次领证日期.
    pub first_issue_date: Date,
    /// 准驾车型.
    pub classes: ClassSet,
    /// 有效期限.
    pub validity: Validity,
    /// 发证机关 code (must be an authority of this registry).
    pub authority_code: String,
    /// 累积记分.
    pub points: u32,
    /// Enrolment channel.
    pub channel: Channel,
    /// The wallet's device public key, if already known.
    pub device_key: Option<[u8; 32]>,
}

impl HolderInput {
    /// The licence record of this holder, as the format signs it.
    pub fn to_licence(
        &self,
        authority_name: String,
        status: StatusSet,
        portrait_digest: [u8; credential::licence::PORTRAIT_DIGEST_LEN],
    ) -> Licence {
        Licence {
            name: self.name.clone(),
            sex: self.sex,
            nationality: self.nationality.clone(),
            birth_date: self.birth_date,
            address: self.address.clone(),
            licence_number: self.licence_number.clone(),
            file_number: self.file_number.clone(),
            first_issue_date: self.first_issue_date,
            classes: self.classes,
            validity: self.validity,
            issuing_authority: Authority {
                code: self.authority_code.clone(),
                name: authority_name,
            },
            status,
            points: self.points,
            portrait_digest,
        }
    }
}

/// A holder as stored: the enrolled data and the current status letters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Holder id.
    pub id: i64,
    /// The licence data (points included).
    pub input: HolderInput,
    /// The GA/T 16.25 status letters.
    pub status: StatusSet,
}

/// Changes that force a re-issue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolderChanges {
    /// New classes.
    pub classes: Option<ClassSet>,
    /// New start of validity (the end stays unless given).
    pub valid_from: Option<Date>,
    /// New end of validity: `Some(None)` is long-term (长期).
    pub valid_to: Option<Option<Date>>,
    /// New issuing authority.
    pub authority_code: Option<String>,
    /// New address (re-issue as well: it is in the full profile).
    pub address: Option<String>,
}

impl HolderChanges {
    /// `before` with these changes applied.
    pub fn apply(&self, before: &HolderInput) -> HolderInput {
        let mut after = before.clone();
        if let Some(classes) = self.classes {
            after.classes = classes;
        }
        if let Some(from) = self.valid_from {
            after.validity.from = from;
        }
        if let Some(to) = self.valid_to {
            after.validity.to = to;
        }
        if let Some(code) = &self.authority_code {
            after.authority_code = code.clone();
        }
        if let Some(address) = &self.address {
            after.address = address.clone();
        }
        after
    }
}

/// A signed credential set as stored and as the refresh service returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// Holder id.
    pub holder_id: i64,
    /// Authority code.
    pub authority_code: String,
    /// Serial.
    pub serial: u64,
    /// Issued at.
    pub issued_at: u64,
    /// Expires at.
    pub expires_at: u64,
    /// One credential per profile.
    pub credentials: Vec<(Profile, Vec<u8>)>,
    /// The issuer-made portrait whose digest the credentials sign (format §17.3),
    /// sent in the package so the wallet has it without another step.
    pub portrait: Option<Vec<u8>>,
}

impl Issued {
    /// The package file (spec/refresh.md §7), encoded by the format's own encoder:
    /// what `issue --out` writes and a refresh answers.
    pub fn package(&self) -> Vec<u8> {
        self.encoded(self.portrait.as_deref())
    }

    /// The package as the registry keeps it: without the portrait. The registry
    /// already holds those bytes once, as the approved portrait's made bytes, and
    /// the credentials sign their digest; copying them into every re-signature would
    /// triple the row a refresh rewrites and push it out of its table page (on
    /// PostgreSQL into TOAST, which cannot be updated in place).
    pub fn stored_package(&self) -> Vec<u8> {
        self.encoded(None)
    }

    fn encoded(&self, portrait: Option<&[u8]>) -> Vec<u8> {
        credential::refresh::Package::encode(
            &self.authority_code,
            self.serial,
            self.issued_at,
            self.expires_at,
            &self.credentials,
            portrait,
        )
    }

    /// `authority/serial`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.authority_code, self.serial)
    }
}

/// Which credentials a status list still has to carry (spec §10.5): those whose
/// latest credential expires after `expires_after` or was issued after
/// `issued_after` (an earlier credential of the serial may outlive the latest
/// one by up to the longest lifetime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StillMatters {
    /// Latest `exp` strictly after this: still matters.
    pub expires_after: u64,
    /// Latest `iat` strictly after this: still matters.
    pub issued_after: u64,
}

impl StillMatters {
    /// Every credential matters: an uncompacted list.
    pub const ALWAYS: StillMatters = StillMatters {
        expires_after: 0,
        issued_after: 0,
    };
}

/// A credential row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential {
    /// Its state in the status list.
    pub state: CredentialState,
    /// The package as stored (see [`Issued::stored_package`]).
    pub package: Vec<u8>,
    /// `authority/serial` of the credential that replaced it.
    pub superseded_by: Option<String>,
}

/// A signing key's record (the key itself is in its encrypted file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id (hex).
    pub kid: String,
    /// The encrypted key file's name inside the registry's `keys` folder. Never a
    /// path: a moved or copied registry must use its own keys, not the original's.
    pub file_name: String,
    /// Ed25519 public key as stored.
    pub public_key: Vec<u8>,
}

/// A new key to record.
#[derive(Clone, Copy, Debug)]
pub struct NewKey<'a> {
    /// Key id (hex).
    pub kid: &'a str,
    /// `None` for the root key, else the authority it signs for.
    pub authority_code: Option<&'a str>,
    /// Ed25519 public key.
    pub public_key: &'a [u8; 32],
    /// The encrypted key file's name inside the registry's `keys` folder.
    pub file_name: &'a str,
    /// Signing period start.
    pub valid_from: u64,
    /// Signing period end (`u64::MAX`: no end).
    pub valid_to: u64,
}

/// The holder's latest approved portrait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedPortrait {
    /// Portrait id.
    pub id: i64,
    /// When it was approved.
    pub decided_at: u64,
    /// SHA-256 of the photo as submitted (not what credentials sign).
    pub sha256: Vec<u8>,
    /// The portrait made from it for the code ([`crate::portrait_code`]), whose
    /// digest the credentials sign; `None` in a registry from before the issuer made
    /// portraits, until the holder's next issuance makes it.
    pub made: Option<Vec<u8>>,
}

/// A portrait as stored, for review and export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortraitRecord {
    /// Portrait id.
    pub id: i64,
    /// Holder id.
    pub holder_id: i64,
    /// Where it came from.
    pub source: PortraitSource,
    /// Review state.
    pub state: PortraitState,
    /// Submission time.
    pub submitted_at: u64,
    /// The image.
    pub bytes: Vec<u8>,
    /// The portrait made from it for the code, once approved.
    pub made: Option<Vec<u8>>,
}

/// A new portrait to record, with its first decision if already decided.
#[derive(Clone, Copy, Debug)]
pub struct NewPortrait<'a> {
    /// Holder id.
    pub holder_id: i64,
    /// Where it came from.
    pub source: PortraitSource,
    /// The image.
    pub bytes: &'a [u8],
    /// SHA-256 of `bytes`.
    pub sha256: &'a [u8; 32],
    /// The portrait made from `bytes` for the code, if approved at once.
    pub made: Option<&'a [u8]>,
    /// Submission time.
    pub submitted_at: u64,
    /// State.
    pub state: PortraitState,
    /// Decision time and decider, unless pending.
    pub decided: Option<(u64, &'a str)>,
    /// Rejection reason.
    pub reason: Option<&'a str>,
    /// The automatic checks' failures (JSON array).
    pub auto_failures: &'a str,
}

/// A portrait waiting for review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPortrait {
    /// Portrait id.
    pub id: i64,
    /// Holder id.
    pub holder_id: i64,
    /// Holder name.
    pub holder_name: String,
    /// Where it came from.
    pub source: PortraitSource,
    /// Submission time.
    pub submitted_at: u64,
}

/// A holder's current (not superseded) credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentCredential {
    /// Authority code.
    pub authority_code: String,
    /// Serial.
    pub serial: u64,
    /// State.
    pub state: CredentialState,
    /// Expiry.
    pub expires_at: u64,
}

/// What refreshing one phone's credential reads: the holder with that device key,
/// the holder's approved portrait, the name of the holder's authority and the
/// current credential. Read once for a whole batch of refreshes (one query on a
/// database server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshContext {
    /// The holder (the lowest id if several share the device key).
    pub holder: Holder,
    /// [`crate::store::StoreRead::approved_portrait`] of the holder.
    pub portrait: Option<ApprovedPortrait>,
    /// The name of the holder's authority (`None`: unknown authority).
    pub authority_name: Option<String>,
    /// [`crate::store::StoreRead::current_credential`] of the holder.
    pub current: Option<CurrentCredential>,
}

/// A credential re-signed by a refresh: same serial and state, new key, times and
/// package.
#[derive(Clone, Copy, Debug)]
pub struct RefreshedCredential<'a> {
    /// Authority code.
    pub authority_code: &'a str,
    /// Serial.
    pub serial: u64,
    /// The key that signed it.
    pub kid: &'a str,
    /// Issued at.
    pub issued_at: u64,
    /// Expires at.
    pub expires_at: u64,
    /// The new package.
    pub package: &'a [u8],
}

/// A refresh request's nonce, to remember.
#[derive(Clone, Copy, Debug)]
pub struct NonceUse<'a> {
    /// The phone's device key.
    pub device_key: &'a [u8; 32],
    /// The request's nonce.
    pub nonce: &'a [u8],
    /// When it was received.
    pub at: u64,
}

/// A current credential's package, for the integrity check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentPackage {
    /// Holder id.
    pub holder_id: i64,
    /// `authority/serial`.
    pub reference: String,
    /// The package as stored.
    pub package: Vec<u8>,
}

/// A credential to record.
#[derive(Clone, Copy, Debug)]
pub struct NewCredential<'a> {
    /// Authority code.
    pub authority_code: &'a str,
    /// Serial (from [`crate::store::StoreTx::allocate_serial`]).
    pub serial: u64,
    /// Holder id.
    pub holder_id: i64,
    /// Signing key id.
    pub kid: &'a str,
    /// Issued at.
    pub issued_at: u64,
    /// Expires at.
    pub expires_at: u64,
    /// State.
    pub state: CredentialState,
    /// The package as stored (see [`Issued::stored_package`]).
    pub package: &'a [u8],
}

/// One audit log entry to append.
#[derive(Clone, Copy, Debug)]
pub struct AuditEntry<'a> {
    /// When.
    pub at: u64,
    /// Who.
    pub operator: &'a str,
    /// What (`holder.add`, `credential.issue`, ...).
    pub action: &'a str,
    /// On what (holder id, kid, authority code, ...).
    pub subject: &'a str,
    /// Before (JSON text).
    pub old: Option<&'a str>,
    /// After (JSON text).
    pub new: Option<&'a str>,
}

/// One audit log entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// Sequence number, in commit order.
    pub id: i64,
    /// When.
    pub at: i64,
    /// Who.
    pub operator: String,
    /// What.
    pub action: String,
    /// On what.
    pub subject: String,
    /// Before (JSON text).
    pub old: Option<String>,
    /// After (JSON text).
    pub new: Option<String>,
}

/// What the store found checking itself; the use case judges it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// The backend's own consistency check: `None` if fine, else what it reported.
    pub storage_problem: Option<String>,
    /// Dangling references.
    pub foreign_key_violations: u64,
    /// Authorities whose next serial is not above every serial they issued.
    pub serial_counters_behind: u64,
    /// Holders with more than one not-superseded credential.
    pub holders_with_two_current: u64,
    /// Holders.
    pub holders: u64,
    /// Credentials, superseded included.
    pub credentials: u64,
    /// Not-superseded credentials.
    pub current_credentials: u64,
    /// Audit log entries.
    pub audit_entries: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back() {
        for state in CredentialState::ALL {
            assert_eq!(CredentialState::parse(state.name()), Some(*state));
        }
        for state in PortraitState::ALL {
            assert_eq!(PortraitState::parse(state.name()), Some(*state));
        }
        for source in PortraitSource::ALL {
            assert_eq!(PortraitSource::parse(source.name()), Some(*source));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.name()), Some(*channel));
        }
        assert_eq!(CredentialState::parse("Valid"), None);
    }

    #[test]
    fn status_letters_decide_the_credential_state() {
        let normal = StatusSet::NORMAL;
        assert_eq!(CredentialState::for_status(normal), CredentialState::Valid);
        assert_eq!(
            CredentialState::for_status(normal.with('D', true)),
            CredentialState::Suspended
        );
        assert_eq!(
            CredentialState::for_status(normal.with('B', true)),
            CredentialState::Suspended
        );
        assert_eq!(
            CredentialState::for_status(normal.with('D', true).with('F', true)),
            CredentialState::Revoked
        );
    }
}
