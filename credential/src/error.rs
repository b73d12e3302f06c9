//! Errors and their stable reason codes (spec §12).
//!
//! Every rejection a verifier can reach is one variant of [`VerifyError`], one per
//! rule of the spec, each with a reason code that never changes once published:
//! the codes appear in JSON output, in the spec's vectors and in auditors' logs.

use crate::cbor::CborError;
use crate::licence::StatusSet;

/// What is structurally wrong with an input (reason code `malformed`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// The bytes are not deterministic CBOR within limits.
    #[error("invalid CBOR: {0}")]
    Cbor(#[from] CborError),
    /// The text is not UTF-8 (so it cannot be a `DL1:` or `DL1U:` text).
    #[error("the input is not UTF-8 text")]
    NotUtf8,
    /// The text is empty.
    #[error("empty input")]
    Empty,
    /// The text is longer than allowed.
    #[error("input of {len} characters exceeds the limit of {max}")]
    TooLong {
        /// Length seen.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The text does not start with a known prefix such as `DL1:`.
    #[error("not a licence code (expected the prefix DL1:)")]
    UnknownPrefix,
    /// The text contains a character outside its encoding's alphabet, or an impossible group.
    #[error("invalid {encoding} text at character {position}")]
    BadTextEncoding {
        /// `base45` or `base64url`.
        encoding: &'static str,
        /// Zero-based character offset.
        position: usize,
    },
    /// A value has the wrong CBOR type.
    #[error("{0} has the wrong type")]
    WrongType(&'static str),
    /// An array or byte string has the wrong length.
    #[error("{0} has the wrong length")]
    WrongLength(&'static str),
    /// A number is out of its allowed range.
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    /// A value breaks a rule of the format (text too long, unknown class bit, ...).
    #[error("{0} is invalid")]
    Invalid(&'static str),
    /// A required field is missing.
    #[error("{0} is missing")]
    MissingField(&'static str),
    /// A map carries a key the format does not define.
    #[error("unknown key {key} in {within}")]
    UnknownField {
        /// Which map.
        within: &'static str,
        /// The key.
        key: i64,
    },
    /// The COSE tag is missing or is not 18 (COSE_Sign1).
    #[error("not a tagged COSE_Sign1 (tag 18)")]
    WrongCoseTag,
    /// A COSE header that must be protected was in the unprotected bucket, or vice versa.
    #[error("COSE header {0} is in the wrong bucket")]
    MisplacedHeader(&'static str),
    /// A protected header label the format does not define (including `crit`).
    #[error("unknown COSE protected header label {0}")]
    UnknownHeader(i64),
    /// A public key is malformed or of small order.
    #[error("{0} is not a usable Ed25519 public key")]
    BadPublicKey(&'static str),
    /// The status list does not decompress to its declared size.
    #[error("status list data is corrupt: {0}")]
    BadStatusList(&'static str),
}

/// Why a presentation was rejected. One variant per rule of spec §11.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is not a well-formed presentation.
    #[error("the code is not a well-formed licence presentation: {0}")]
    Malformed(#[from] Malformed),
    /// A version prefix (`DL2`, `DL01U`, ...) other than exactly `DL1` / `DL1U`.
    #[error(
        "the code's format prefix {0}: is not supported (only DL1: and DL1U:); update the verifier"
    )]
    UnsupportedVersion(String),
    /// A signature algorithm other than EdDSA.
    #[error("signature algorithm {0} is not supported (only EdDSA)")]
    UnsupportedAlgorithm(i64),
    /// The key id is not in the trust bundle.
    #[error("the issuing key {kid} is not in the trust bundle; import a newer bundle if this authority is new")]
    UnknownIssuer {
        /// Hex key id.
        kid: String,
    },
    /// The key is marked retired in the trust bundle.
    #[error("the issuing key of {authority} has been retired")]
    IssuerKeyRetired {
        /// Authority code.
        authority: String,
    },
    /// The issuer signature does not verify.
    #[error("the issuer's signature does not match: the credential was altered or forged")]
    BadSignature,
    /// The credential was issued outside its key's validity window.
    #[error("the credential was issued at {issued_at}, outside its key's validity [{valid_from}, {valid_to}]")]
    IssuerKeyNotValidAtTime {
        /// iat.
        issued_at: u64,
        /// Key valid from.
        valid_from: u64,
        /// Key valid to.
        valid_to: u64,
    },
    /// `iat` is in the future.
    #[error("the credential is not valid before {issued_at}: check the verifier's clock")]
    CredentialNotYetValid {
        /// iat.
        issued_at: u64,
    },
    /// `exp` has passed.
    #[error("the credential expired at {expired_at}; the holder must refresh it online")]
    CredentialExpired {
        /// exp.
        expired_at: u64,
    },
    /// The credential claims a longer life than the policy allows.
    #[error("the credential is valid for {lifetime_s} s, longer than the {max_s} s this verifier accepts")]
    CredentialLifetimeTooLong {
        /// exp - iat.
        lifetime_s: u64,
        /// The policy's bound.
        max_s: u64,
    },
    /// The disclosed fields are not exactly those of any profile.
    #[error("the disclosed fields ({fields}) are not those of any profile")]
    ProfileMismatch {
        /// The fields present.
        fields: String,
    },
    /// The holder proof does not verify with the credential's device key.
    #[error("the holder proof does not verify: this code was not produced by the phone the licence was issued to")]
    BadHolderProof,
    /// The presentation is older than the freshness window.
    #[error("the code was generated {age_s} s ago (limit {window_s} s): ask the holder to show the live code")]
    StalePresentation {
        /// Age.
        age_s: u64,
        /// Window.
        window_s: u64,
    },
    /// The presentation time is ahead of the verifier's clock beyond the skew allowance.
    #[error("the code claims a time {ahead_s} s in the future (allowance {skew_s} s): check both clocks")]
    PresentationFromFuture {
        /// Seconds ahead.
        ahead_s: u64,
        /// Allowance.
        skew_s: u64,
    },
    /// The licence validity period has not begun.
    #[error("the licence is not valid before {valid_from}")]
    LicenceNotYetValid {
        /// First valid day.
        valid_from: String,
    },
    /// The licence validity period has ended.
    #[error("the licence expired on {valid_to}")]
    LicenceExpired {
        /// Last valid day.
        valid_to: String,
    },
    /// The licence carries a status under which its holder may not drive.
    #[error("licence status {0} does not allow driving")]
    LicenceStatus(StatusSet),
    /// The status list marks the serial revoked.
    #[error("the credential is revoked (status list)")]
    RevokedByStatusList,
    /// The status list marks the serial suspended.
    #[error("the credential is suspended (status list)")]
    SuspendedByStatusList,
    /// The status list marks the serial superseded by a re-issued credential.
    #[error("the credential was replaced by a newer one; the holder must refresh")]
    SupersededByStatusList,
    /// The credential expired at or before the compaction horizon of its
    /// authority's installed status list (spec §10.5): its entry may have been
    /// compacted to 0, and the list proves it expired whatever the verifier's clock says.
    #[error("the credential expired at {expired_at}, before its authority's status list was signed (horizon {horizon}): check the verifier's clock; the holder must refresh")]
    ExpiredBeforeStatusList {
        /// exp.
        expired_at: u64,
        /// The list's compaction horizon.
        horizon: u64,
    },
}

impl VerifyError {
    /// Every reason code a presentation can be rejected with, in spec order.
    pub const REASON_CODES: [&'static str; 21] = [
        "malformed",
        "unsupported_version",
        "unsupported_algorithm",
        "unknown_issuer",
        "issuer_key_retired",
        "bad_signature",
        "issuer_key_not_valid_at_time",
        "credential_not_yet_valid",
        "credential_expired",
        "credential_lifetime_too_long",
        "profile_mismatch",
        "bad_holder_proof",
        "stale_presentation",
        "presentation_from_future",
        "licence_not_yet_valid",
        "licence_expired",
        "licence_status",
        "revoked_by_status_list",
        "suspended_by_status_list",
        "superseded_by_status_list",
        "expired_before_status_list",
    ];

    /// The stable reason code (spec §12).
    pub fn reason_code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnsupportedVersion(_) => "unsupported_version",
            VerifyError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            VerifyError::UnknownIssuer { .. } => "unknown_issuer",
            VerifyError::IssuerKeyRetired { .. } => "issuer_key_retired",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::IssuerKeyNotValidAtTime { .. } => "issuer_key_not_valid_at_time",
            VerifyError::CredentialNotYetValid { .. } => "credential_not_yet_valid",
            VerifyError::CredentialExpired { .. } => "credential_expired",
            VerifyError::CredentialLifetimeTooLong { .. } => "credential_lifetime_too_long",
            VerifyError::ProfileMismatch { .. } => "profile_mismatch",
            VerifyError::BadHolderProof => "bad_holder_proof",
            VerifyError::StalePresentation { .. } => "stale_presentation",
            VerifyError::PresentationFromFuture { .. } => "presentation_from_future",
            VerifyError::LicenceNotYetValid { .. } => "licence_not_yet_valid",
            VerifyError::LicenceExpired { .. } => "licence_expired",
            VerifyError::LicenceStatus(_) => "licence_status",
            VerifyError::RevokedByStatusList => "revoked_by_status_list",
            VerifyError::SuspendedByStatusList => "suspended_by_status_list",
            VerifyError::SupersededByStatusList => "superseded_by_status_list",
            VerifyError::ExpiredBeforeStatusList { .. } => "expired_before_status_list",
        }
    }
}

/// Errors of the trust bundle and status list (their own verification, at import).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Not well formed.
    #[error("malformed: {0}")]
    Malformed(#[from] Malformed),
    /// Algorithm other than EdDSA.
    #[error("signature algorithm {0} is not supported (only EdDSA)")]
    UnsupportedAlgorithm(i64),
    /// Signed by a key other than the expected one.
    #[error("signed by an unknown key {kid}")]
    UnknownSigner {
        /// Hex key id.
        kid: String,
    },
    /// The signature does not verify.
    #[error("the signature does not verify: the file was altered or forged")]
    BadSignature,
    /// The status list names another authority than its signing key belongs to.
    #[error("status list of {claimed} signed by a key of {actual}")]
    IssuerMismatch {
        /// Claimed.
        claimed: String,
        /// Key owner.
        actual: String,
    },
    /// The status list was signed outside its key's validity window.
    #[error(
        "status list signed at {issued_at}, outside its key's validity [{valid_from}, {valid_to}]"
    )]
    SignerNotValidAtTime {
        /// The list's issued_at.
        issued_at: u64,
        /// Key valid from.
        valid_from: u64,
        /// Key valid to.
        valid_to: u64,
    },
    /// The signing key of the status list is retired.
    #[error("status list signed by a retired key of {0}")]
    SignerRetired(String),
}

impl DocumentError {
    /// Every refusal code of trust material (spec §12), in step order of §10.4.
    pub const REASON_CODES: [&'static str; 7] = [
        "malformed",
        "unsupported_algorithm",
        "unknown_issuer",
        "bad_signature",
        "issuer_key_retired",
        "issuer_mismatch",
        "issuer_key_not_valid_at_time",
    ];

    /// The stable reason code.
    pub fn reason_code(&self) -> &'static str {
        match self {
            DocumentError::Malformed(_) => "malformed",
            DocumentError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            DocumentError::UnknownSigner { .. } => "unknown_issuer",
            DocumentError::BadSignature => "bad_signature",
            DocumentError::IssuerMismatch { .. } => "issuer_mismatch",
            DocumentError::SignerRetired(_) => "issuer_key_retired",
            DocumentError::SignerNotValidAtTime { .. } => "issuer_key_not_valid_at_time",
        }
    }
}

/// Errors when building (signing) a document from issuer-side data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The licence lacks a field the profile needs.
    #[error("the licence has no {field}, which the {profile} profile needs")]
    MissingField {
        /// Field name.
        field: &'static str,
        /// Profile name.
        profile: &'static str,
    },
    /// A value breaks a format rule.
    #[error("{0}")]
    Invalid(#[from] Malformed),
}
