//! The verification algorithm of spec §11, step by step.
//!
//! Each step is one named check; the first failure ends the run with that step's
//! reason code, and the verdict lists every check with its outcome so that a clerk
//! or an auditor sees *why*. Warnings (old lists, status notices) never turn a
//! verdict into a rejection, and a missing or stale status list never produces a
//! false "revoked".

use crate::claims::Claims;
use crate::cose::{HeaderError, Sign1};
use crate::date::Date;
use crate::error::{Malformed, VerifyError};
use crate::licence::{LicenceRecord, StatusSet};
use crate::limits::CborLimits;
use crate::presentation::Presentation;
use crate::profile::Profile;
use crate::signature::{self, KID_LEN};
use crate::status_list::{SerialStatus, StatusList};
use crate::trust_bundle::{hex, TrustBundle};

/// The verifier's tolerances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A presentation older than this is stale (seconds).
    pub freshness_window_s: u64,
    /// Allowed clock difference between phone, issuer and verifier (seconds).
    pub clock_skew_s: u64,
    /// Offset from UTC of the licence's calendar (China Standard Time: +8 h).
    pub utc_offset_s: i64,
    /// Longest credential lifetime (`exp - iat`) accepted. Credentials live days
    /// and are refreshed; the bound caps what a stolen, not yet retired authority
    /// key can sign.
    pub max_credential_lifetime_s: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            freshness_window_s: 180,
            clock_skew_s: 60,
            utc_offset_s: 8 * 3600,
            max_credential_lifetime_s: 31 * 86_400,
        }
    }
}

/// The status lists a verifier holds, one per authority.
#[derive(Clone, Debug, Default)]
pub struct StatusLists {
    lists: Vec<StatusList>,
}

impl StatusLists {
    /// Adds or replaces the list of its authority (the newer one wins).
    pub fn insert(&mut self, list: StatusList) {
        match self.lists.iter_mut().find(|l| l.issuer == list.issuer) {
            Some(existing) if existing.issued_at <= list.issued_at => *existing = list,
            Some(_) => {}
            None => self.lists.push(list),
        }
    }

    /// The list of an authority.
    pub fn get(&self, issuer: &str) -> Option<&StatusList> {
        self.lists.iter().find(|l| l.issuer == issuer)
    }

    /// All lists.
    pub fn iter(&self) -> impl Iterator<Item = &StatusList> {
        self.lists.iter()
    }
}

/// Something the verifier should say without rejecting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The trust bundle is past its next-update time.
    TrustBundleStale {
        /// Seconds past next_update.
        overdue_s: u64,
    },
    /// No status list for the issuer: revocation status undetermined.
    StatusUnknown,
    /// The status list is past its next-update time.
    StatusListStale {
        /// Age of the list (seconds since it was signed).
        age_s: u64,
    },
    /// The serial is newer than the status list.
    StatusNotCovered {
        /// Serial.
        serial: u64,
        /// Entries in the list.
        size: u64,
    },
    /// A stale status list says suspended: may have been lifted since.
    SuspendedOnStaleList {
        /// Age of the list.
        age_s: u64,
    },
    /// The licence carries statuses that allow driving but deserve attention.
    LicenceStatusNotice(StatusSet),
}

impl Warning {
    /// Every warning code, in step order (spec §11.3).
    pub const CODES: [&'static str; 6] = [
        "licence_status_notice",
        "status_unknown",
        "status_list_stale",
        "status_not_covered",
        "suspended_on_stale_list",
        "trust_bundle_stale",
    ];

    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Warning::TrustBundleStale { .. } => "trust_bundle_stale",
            Warning::StatusUnknown => "status_unknown",
            Warning::StatusListStale { .. } => "status_list_stale",
            Warning::StatusNotCovered { .. } => "status_not_covered",
            Warning::SuspendedOnStaleList { .. } => "suspended_on_stale_list",
            Warning::LicenceStatusNotice(_) => "licence_status_notice",
        }
    }

    /// A sentence for people.
    pub fn message(&self) -> String {
        match self {
            Warning::TrustBundleStale { overdue_s } => format!(
                "the trust bundle is {} overdue for an update; import a newer one",
                human_duration(*overdue_s)
            ),
            Warning::StatusUnknown => {
                "no status list for this authority: revocation status undetermined".into()
            }
            Warning::StatusListStale { age_s } => format!(
                "the status list is {} old and past its update time: recent revocations may be missing",
                human_duration(*age_s)
            ),
            Warning::StatusNotCovered { serial, size } => format!(
                "serial {serial} is newer than the status list ({size} entries): status undetermined"
            ),
            Warning::SuspendedOnStaleList { age_s } => format!(
                "a {} old status list says suspended; it may have been lifted since",
                human_duration(*age_s)
            ),
            Warning::LicenceStatusNotice(set) => {
                let labels: Vec<_> = set.letters().map(|s| format!("{} {} ({})", s.letter, s.chinese, s.english)).collect();
                format!("licence status: {}", labels.join(", "))
            }
        }
    }
}

/// Seconds as "3 d 4 h", "12 min", "40 s".
pub fn human_duration(seconds: u64) -> String {
    match seconds {
        s if s >= 86_400 => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The names of the checks, in the order they run (spec §11).
pub const CHECKS: [&str; 15] = [
    "parse_text",
    "decode_presentation",
    "decode_credential",
    "issuer_key",
    "issuer_signature",
    "decode_claims",
    "key_validity",
    "credential_validity",
    "profile_fields",
    "holder_proof",
    "freshness",
    "licence_validity",
    "licence_status",
    "status_list",
    "trust_bundle_freshness",
];

/// How one check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Passed.
    Passed,
    /// Passed with a warning.
    Warning(Warning),
    /// Failed with this reason code.
    Failed(&'static str),
    /// Not run because an earlier check failed.
    NotRun,
}

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Name from [`CHECKS`].
    pub name: &'static str,
    /// Outcome.
    pub outcome: CheckOutcome,
}

/// What a valid presentation establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedPresentation {
    /// Profile.
    pub profile: Profile,
    /// Disclosed fields.
    pub licence: LicenceRecord,
    /// Issuing authority code (from the signing key's trust bundle entry).
    pub issuer: String,
    /// Issuing authority name (from the trust bundle).
    pub issuer_name: String,
    /// Issuer key id.
    pub kid: [u8; KID_LEN],
    /// Serial.
    pub serial: u64,
    /// Credential issued at.
    pub issued_at: u64,
    /// Credential expires at.
    pub expires_at: u64,
    /// When the phone generated the code.
    pub presented_at: u64,
}

/// What the issuer's signature vouches for, known once the claims were decoded from
/// signed bytes (step 6): shown with a rejection that comes later (revoked, expired,
/// stale, ...) so that the verifier can say *who* was rejected. Never present when the
/// signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedCredential {
    /// The profile, once step 9 found one (`None` on `profile_mismatch`).
    pub profile: Option<Profile>,
    /// The disclosed fields, as signed.
    pub licence: LicenceRecord,
    /// Issuing authority code (from the signing key's trust bundle entry).
    pub issuer: String,
    /// Issuing authority name (from the trust bundle).
    pub issuer_name: String,
    /// Issuer key id.
    pub kid: [u8; KID_LEN],
    /// Serial.
    pub serial: u64,
    /// Credential issued at.
    pub issued_at: u64,
    /// Credential expires at.
    pub expires_at: u64,
}

/// The verdict: outcome, and every check with its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The result.
    pub outcome: Result<VerifiedPresentation, VerifyError>,
    /// Every check in order.
    pub checks: Vec<Check>,
    /// Warnings raised along the way.
    pub warnings: Vec<Warning>,
    /// Time of the check.
    pub checked_at: u64,
    /// Version of the trust bundle used.
    pub trust_bundle_version: u64,
    /// Age of the issuer's status list, if one was available.
    pub status_list_age_s: Option<u64>,
    /// The issuer-signed content, whenever the issuer signature verified and the
    /// claims decoded (valid, or rejected at step 7 or later); `None` otherwise.
    pub authenticated: Option<AuthenticatedCredential>,
}

impl Verdict {
    /// The reason code if rejected.
    pub fn reason_code(&self) -> Option<&'static str> {
        self.outcome.as_ref().err().map(VerifyError::reason_code)
    }
}

struct Run {
    checks: Vec<Check>,
    warnings: Vec<Warning>,
    authenticated: Option<AuthenticatedCredential>,
}

impl Run {
    fn check<T>(&mut self, result: Result<T, VerifyError>) -> Result<T, VerifyError> {
        let name = CHECKS[self.checks.len() % CHECKS.len()];
        let outcome = match &result {
            Ok(_) => CheckOutcome::Passed,
            Err(error) => CheckOutcome::Failed(error.reason_code()),
        };
        self.checks.push(Check { name, outcome });
        result
    }

    fn warn_on_last(&mut self, warning: Warning) {
        if let Some(last) = self.checks.last_mut() {
            if last.outcome == CheckOutcome::Passed {
                last.outcome = CheckOutcome::Warning(warning.clone());
            }
        }
        self.warnings.push(warning);
    }
}

/// Verifies QR text (`DL1:` or `DL1U:`).
pub fn verify(
    text: &str,
    bundle: &TrustBundle,
    lists: &StatusLists,
    now: u64,
    policy: &Policy,
) -> Verdict {
    verify_input(Input::Text(text), bundle, lists, now, policy)
}

/// Verifies QR text as the bytes received (a keyboard-wedge scanner, stdin): input
/// that is not UTF-8 is a `malformed` presentation (spec §8.1 item 1), not an error
/// of the channel.
pub fn verify_qr_bytes(
    text: &[u8],
    bundle: &TrustBundle,
    lists: &StatusLists,
    now: u64,
    policy: &Policy,
) -> Verdict {
    verify_input(Input::TextBytes(text), bundle, lists, now, policy)
}

/// Verifies raw presentation bytes (NFC, files).
pub fn verify_bytes(
    bytes: &[u8],
    bundle: &TrustBundle,
    lists: &StatusLists,
    now: u64,
    policy: &Policy,
) -> Verdict {
    verify_input(Input::Bytes(bytes), bundle, lists, now, policy)
}

enum Input<'a> {
    Text(&'a str),
    TextBytes(&'a [u8]),
    Bytes(&'a [u8]),
}

fn verify_input(
    input: Input<'_>,
    bundle: &TrustBundle,
    lists: &StatusLists,
    now: u64,
    policy: &Policy,
) -> Verdict {
    let mut run = Run {
        checks: Vec::with_capacity(CHECKS.len()),
        warnings: Vec::new(),
        authenticated: None,
    };
    let outcome = run_checks(&mut run, input, bundle, lists, now, policy);
    for name in &CHECKS[run.checks.len()..] {
        run.checks.push(Check {
            name,
            outcome: CheckOutcome::NotRun,
        });
    }
    let status_list_age_s = run
        .authenticated
        .as_ref()
        .and_then(|a| lists.get(&a.issuer))
        .map(|l| now.saturating_sub(l.issued_at));
    Verdict {
        outcome,
        checks: run.checks,
        warnings: run.warnings,
        checked_at: now,
        trust_bundle_version: bundle.content.version,
        status_list_age_s,
        authenticated: run.authenticated,
    }
}

fn run_checks(
    run: &mut Run,
    input: Input<'_>,
    bundle: &TrustBundle,
    lists: &StatusLists,
    now: u64,
    policy: &Policy,
) -> Result<VerifiedPresentation, VerifyError> {
    // 1 parse_text
    let bytes = run.check(match input {
        Input::Text(text) => crate::qr_text::decode_text(text),
        Input::TextBytes(bytes) => std::str::from_utf8(bytes)
            .map_err(|_| VerifyError::from(Malformed::NotUtf8))
            .and_then(crate::qr_text::decode_text),
        Input::Bytes(bytes) if bytes.len() > crate::limits::MAX_PRESENTATION_BYTES => {
            Err(Malformed::TooLong {
                len: bytes.len(),
                max: crate::limits::MAX_PRESENTATION_BYTES,
            }
            .into())
        }
        Input::Bytes(bytes) => Ok(bytes.to_vec()),
    })?;
    // 2 decode_presentation
    let presentation = run.check(Presentation::decode(&bytes))?;
    // 3 decode_credential
    let (sign1, kid) = run.check(decode_credential(&presentation.credential))?;
    // 4 issuer_key
    let (key_entry, verifying_key) = run.check(match bundle.key(&kid) {
        None => Err(VerifyError::UnknownIssuer { kid: hex(&kid) }),
        Some((entry, _)) if entry.retired => Err(VerifyError::IssuerKeyRetired {
            authority: entry.authority_code.clone(),
        }),
        Some(found) => Ok(found),
    })?;
    // 5 issuer_signature
    run.check(
        sign1
            .ed25519_signature()
            .map_err(VerifyError::from)
            .and_then(|sig| {
                signature::verify_strict(verifying_key, &sign1.to_be_signed(), &sig)
                    .then_some(())
                    .ok_or(VerifyError::BadSignature)
            }),
    )?;
    // 6 decode_claims: only signed bytes reach the claims parser.
    let claims = run.check(
        crate::cbor::decode(&sign1.payload, &CborLimits::DOCUMENT)
            .map_err(Malformed::from)
            .and_then(Claims::from_value)
            .map_err(VerifyError::from),
    )?;
    run.authenticated = Some(AuthenticatedCredential {
        profile: None,
        licence: claims.licence.clone(),
        issuer: key_entry.authority_code.clone(),
        issuer_name: key_entry.authority_name.clone(),
        kid,
        serial: claims.serial,
        issued_at: claims.issued_at,
        expires_at: claims.expires_at,
    });
    // 7 key_validity
    run.check(
        if (key_entry.valid_from..=key_entry.valid_to).contains(&claims.issued_at) {
            Ok(())
        } else {
            Err(VerifyError::IssuerKeyNotValidAtTime {
                issued_at: claims.issued_at,
                valid_from: key_entry.valid_from,
                valid_to: key_entry.valid_to,
            })
        },
    )?;
    // 8 credential_validity
    run.check(
        if claims.issued_at > now.saturating_add(policy.clock_skew_s) {
            Err(VerifyError::CredentialNotYetValid {
                issued_at: claims.issued_at,
            })
        } else if now >= claims.expires_at.saturating_add(policy.clock_skew_s) {
            Err(VerifyError::CredentialExpired {
                expired_at: claims.expires_at,
            })
        } else if claims.expires_at - claims.issued_at > policy.max_credential_lifetime_s {
            Err(VerifyError::CredentialLifetimeTooLong {
                lifetime_s: claims.expires_at - claims.issued_at,
                max_s: policy.max_credential_lifetime_s,
            })
        } else {
            Ok(())
        },
    )?;
    // 9 profile_fields
    let profile = run.check(claims.licence.profile().ok_or_else(|| {
        VerifyError::ProfileMismatch {
            fields: claims
                .licence
                .present_fields()
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }))?;
    if let Some(authenticated) = &mut run.authenticated {
        authenticated.profile = Some(profile);
    }
    // 10 holder_proof
    run.check(check_holder_proof(&presentation, &claims, profile))?;
    // 11 freshness
    run.check(check_freshness(presentation.presented_at, now, policy))?;
    // 12 licence_validity
    let today = Date::at(now, policy.utc_offset_s);
    run.check(match claims.licence.validity {
        Some(v) if today < v.from => Err(VerifyError::LicenceNotYetValid {
            valid_from: v.from.to_string(),
        }),
        Some(v) if v.to.is_some_and(|to| today > to) => Err(VerifyError::LicenceExpired {
            valid_to: v.to.map(|d| d.to_string()).unwrap_or_default(),
        }),
        // Every profile discloses validity (checked in step 10).
        _ => Ok(()),
    })?;
    // 13 licence_status
    let status = claims.licence.status.unwrap_or(StatusSet::NORMAL);
    run.check(if status.prohibiting().is_empty() {
        Ok(())
    } else {
        Err(VerifyError::LicenceStatus(status.prohibiting()))
    })?;
    if !status.notices().is_empty() {
        run.warn_on_last(Warning::LicenceStatusNotice(status.notices()));
    }
    // 14 status_list
    let (result, warning) = check_status_list(lists.get(&key_entry.authority_code), &claims, now);
    run.check(result)?;
    if let Some(warning) = warning {
        run.warn_on_last(warning);
    }
    // 15 trust_bundle_freshness
    run.check(Ok(()))?;
    if now > bundle.content.next_update {
        run.warn_on_last(Warning::TrustBundleStale {
            overdue_s: now - bundle.content.next_update,
        });
    }
    Ok(VerifiedPresentation {
        profile,
        licence: claims.licence,
        issuer: key_entry.authority_code.clone(),
        issuer_name: key_entry.authority_name.clone(),
        kid,
        serial: claims.serial,
        issued_at: claims.issued_at,
        expires_at: claims.expires_at,
        presented_at: presentation.presented_at,
    })
}

fn decode_credential(bytes: &[u8]) -> Result<(Sign1, [u8; KID_LEN]), VerifyError> {
    let sign1 = Sign1::from_cbor(bytes, &CborLimits::DOCUMENT)?;
    let header = sign1.strict_header().map_err(|e| match e {
        HeaderError::Malformed(m) => VerifyError::Malformed(m),
        HeaderError::UnsupportedAlgorithm(alg) => VerifyError::UnsupportedAlgorithm(alg),
    })?;
    Ok((sign1, header.kid))
}

fn check_holder_proof(
    presentation: &Presentation,
    claims: &Claims,
    profile: Profile,
) -> Result<(), VerifyError> {
    let key = signature::public_key(&claims.device_key, "device key")
        .map_err(|_| VerifyError::BadHolderProof)?;
    let message =
        Presentation::message_to_sign(&presentation.credential, profile, presentation.presented_at);
    signature::verify_strict(&key, &message, &presentation.holder_signature)
        .then_some(())
        .ok_or(VerifyError::BadHolderProof)
}

fn check_freshness(presented_at: u64, now: u64, policy: &Policy) -> Result<(), VerifyError> {
    if presented_at > now.saturating_add(policy.clock_skew_s) {
        return Err(VerifyError::PresentationFromFuture {
            ahead_s: presented_at - now,
            skew_s: policy.clock_skew_s,
        });
    }
    let age_s = now.saturating_sub(presented_at);
    if age_s > policy.freshness_window_s {
        return Err(VerifyError::StalePresentation {
            age_s,
            window_s: policy.freshness_window_s,
        });
    }
    Ok(())
}

fn check_status_list(
    list: Option<&StatusList>,
    claims: &Claims,
    now: u64,
) -> (Result<(), VerifyError>, Option<Warning>) {
    let Some(list) = list else {
        return (Ok(()), Some(Warning::StatusUnknown));
    };
    let serial = claims.serial;
    // The issuer may have compacted this serial's entry to 0 (§10.5): the list
    // itself proves the credential expired, so a verifier whose clock runs behind
    // cannot be led to accept a revoked credential by the compaction.
    if let Some(horizon) = list.compacted_before.filter(|h| claims.expires_at <= *h) {
        return (
            Err(VerifyError::ExpiredBeforeStatusList {
                expired_at: claims.expires_at,
                horizon,
            }),
            None,
        );
    }
    let age_s = now.saturating_sub(list.issued_at);
    let stale = now > list.next_update;
    let stale_warning = stale.then_some(Warning::StatusListStale { age_s });
    match list.get(serial) {
        None => (
            Ok(()),
            Some(Warning::StatusNotCovered {
                serial,
                size: list.size,
            }),
        ),
        Some(SerialStatus::Valid) => (Ok(()), stale_warning),
        // Revocation and supersession are permanent: an old list still tells the truth.
        Some(SerialStatus::Revoked) => (Err(VerifyError::RevokedByStatusList), None),
        Some(SerialStatus::Superseded) => (Err(VerifyError::SupersededByStatusList), None),
        Some(SerialStatus::Suspended) if stale => {
            (Ok(()), Some(Warning::SuspendedOnStaleList { age_s }))
        }
        Some(SerialStatus::Suspended) => (Err(VerifyError::SuspendedByStatusList), None),
    }
}
