//! The refresh protocol between a wallet and the issuer's refresh service
//! (spec/refresh.md): the signed request, the response, and the credential package.
//!
//! Pure like the rest of this crate: the caller supplies the time and the nonce,
//! and signs through a closure, so a phone's hardware keystore can do the signing.
//! Every decoder is bounded and returns a typed error on any byte string.
//!
//! - A request is `[payload: bstr, signature: bstr .size 64]`; the device key
//!   signs `["DL1 refresh request", payload]` (spec/refresh.md §2). The payload
//!   names the device key itself, so [`verify_request`] needs no database.
//! - A response is a map with a `code` (`ok`, `superseded`, `suspended` with a
//!   package; or a refusal, §4) and a `message` (§3).
//! - A package is the issuer's map of the four profile credentials and, from
//!   issuers that make it, the portrait their digest signs (§7);
//!   [`Package::decode_for`] checks it is bound to the wallet's device key and that
//!   the portrait is the signed one.

use ciborium::value::Value;

use crate::cbor::{self, int, take};
use crate::claims::Claims;
use crate::cose::Sign1;
use crate::error::Malformed;
use crate::licence::LicenceRecord;
use crate::limits::{CborLimits, MAX_TEXT_BYTES};
use crate::profile::Profile;

/// Domain separation string of the request signature.
pub const REQUEST_CONTEXT: &str = "DL1 refresh request";
/// Length of the request nonce.
pub const NONCE_LEN: usize = 16;
/// Largest request accepted (a real one is about 150 bytes).
pub const MAX_REQUEST_BYTES: usize = 1024;
/// Largest response or package accepted.
pub const MAX_RESPONSE_BYTES: usize = crate::limits::MAX_DOCUMENT_BYTES;
/// Longest refusal message accepted (bytes of UTF-8).
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Default allowed difference between the wallet's and the service's clocks.
pub const DEFAULT_MAX_SKEW_S: u64 = 300;

const REQUEST_LIMITS: CborLimits = CborLimits {
    max_bytes: MAX_REQUEST_BYTES,
    max_depth: 4,
    max_items: 32,
};
const RESPONSE_LIMITS: CborLimits = CborLimits {
    max_bytes: MAX_RESPONSE_BYTES,
    max_depth: 4,
    max_items: 64,
};

// Request payload keys.
const KEY_DEVICE_KEY: i64 = 1;
const KEY_REQUESTED_AT: i64 = 2;
const KEY_NONCE: i64 = 3;
const KEY_AUTHORITY: i64 = 4;
const KEY_SERIAL: i64 = 5;

// Response keys.
const KEY_CODE: i64 = 1;
const KEY_MESSAGE: i64 = 2;
const KEY_PACKAGE: i64 = 3;
const KEY_RETRY_AFTER: i64 = 4;
const KEY_SERVER_TIME: i64 = 5;

/// The credential a wallet currently holds: its authority and serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRef {
    /// Authority code (the serial space).
    pub authority: String,
    /// Serial.
    pub serial: u64,
}

/// What a wallet asks for: "the current credential of the holder of this key".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRequest {
    /// The wallet's device public key; the request is signed by it.
    pub device_key: [u8; 32],
    /// The wallet's clock when it made the request.
    pub requested_at: u64,
    /// Random bytes from the caller; the service refuses a nonce seen before.
    pub nonce: [u8; NONCE_LEN],
    /// The credential the wallet holds, if any: lets the service say `superseded`.
    pub current: Option<CredentialRef>,
}

impl RefreshRequest {
    /// The payload bytes (deterministic CBOR).
    pub fn payload(&self) -> Vec<u8> {
        let mut entries = vec![
            (int(KEY_DEVICE_KEY), Value::Bytes(self.device_key.to_vec())),
            (int(KEY_REQUESTED_AT), int(self.requested_at)),
            (int(KEY_NONCE), Value::Bytes(self.nonce.to_vec())),
        ];
        if let Some(current) = &self.current {
            entries.push((int(KEY_AUTHORITY), Value::Text(current.authority.clone())));
            entries.push((int(KEY_SERIAL), int(current.serial)));
        }
        cbor::encode(&cbor::map(entries))
    }

    /// The bytes the device key signs for `payload`.
    pub fn message_to_sign(payload: &[u8]) -> Vec<u8> {
        cbor::encode(&Value::Array(vec![
            Value::Text(REQUEST_CONTEXT.into()),
            Value::Bytes(payload.to_vec()),
        ]))
    }

    /// The signed request bytes; `sign` is the device key (software or hardware).
    pub fn sign_with<E>(
        &self,
        sign: impl FnOnce(&[u8]) -> Result<[u8; 64], E>,
    ) -> Result<Vec<u8>, E> {
        let payload = self.payload();
        let signature = sign(&Self::message_to_sign(&payload))?;
        Ok(cbor::encode(&Value::Array(vec![
            Value::Bytes(payload),
            Value::Bytes(signature.to_vec()),
        ])))
    }

    /// Decodes a signed request without checking its signature or time.
    /// Returns the request, the payload bytes as received and the signature.
    pub fn decode_unverified(
        bytes: &[u8],
    ) -> Result<(RefreshRequest, Vec<u8>, [u8; 64]), RefreshError> {
        if bytes.is_empty() {
            return Err(Malformed::Empty.into());
        }
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(Malformed::TooLong {
                len: bytes.len(),
                max: MAX_REQUEST_BYTES,
            }
            .into());
        }
        let value = cbor::decode(bytes, &REQUEST_LIMITS).map_err(Malformed::from)?;
        let [payload, signature] = take::array_of(value, "refresh request")?;
        let payload = take::bytes(payload, "request payload")?;
        let signature = take::bytes_of(signature, "request signature")?;
        let mut map = take::IntMap::new(
            cbor::decode(&payload, &REQUEST_LIMITS).map_err(Malformed::from)?,
            "request payload",
        )?;
        let device_key = take::bytes_of(map.required(KEY_DEVICE_KEY, "device key")?, "device key")?;
        let requested_at = take::uint(
            map.required(KEY_REQUESTED_AT, "requested_at")?,
            "requested_at",
        )?;
        let nonce = take::bytes_of(map.required(KEY_NONCE, "nonce")?, "nonce")?;
        let authority = map
            .optional(KEY_AUTHORITY)
            .map(|v| take::text(v, "authority"))
            .transpose()?;
        let serial = map
            .optional(KEY_SERIAL)
            .map(|v| take::uint(v, "serial"))
            .transpose()?;
        map.finish()?;
        let current = match (authority, serial) {
            (None, None) => None,
            (Some(authority), Some(serial)) => {
                if authority.is_empty() || authority.len() > MAX_TEXT_BYTES {
                    return Err(Malformed::Invalid("authority").into());
                }
                if serial == 0 {
                    return Err(Malformed::Invalid("serial").into());
                }
                Some(CredentialRef { authority, serial })
            }
            (None, Some(_)) => return Err(Malformed::MissingField("authority").into()),
            (Some(_), None) => return Err(Malformed::MissingField("serial").into()),
        };
        let request = RefreshRequest {
            device_key,
            requested_at,
            nonce,
            current,
        };
        Ok((request, payload, signature))
    }
}

/// Why a request is refused before the service looks anything up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// Not a well-formed request (reason code `malformed`).
    #[error("malformed refresh request: {0}")]
    Malformed(#[from] Malformed),
    /// The device key is unusable or the signature does not verify with it (`bad_proof`).
    #[error("the request signature does not verify with the device key it names")]
    BadProof,
    /// The request time is too far from the service's clock (`stale_request`).
    #[error("the request was made at {requested_at}, {} s from the service's clock {now} (allowed {max_skew_s} s): check the phone's clock", requested_at.abs_diff(*now))]
    StaleRequest {
        /// The request's time.
        requested_at: u64,
        /// The service's time.
        now: u64,
        /// Allowed difference.
        max_skew_s: u64,
    },
}

impl RefreshError {
    /// The stable reason code (spec/refresh.md §4).
    pub fn reason_code(&self) -> &'static str {
        self.refusal().code()
    }

    /// The refusal the service answers with.
    pub fn refusal(&self) -> Refusal {
        match self {
            RefreshError::Malformed(_) => Refusal::Malformed,
            RefreshError::BadProof => Refusal::BadProof,
            RefreshError::StaleRequest { now, .. } => Refusal::StaleRequest { server_time: *now },
        }
    }
}

/// Decodes a request, verifies its signature with the device key it names (strict
/// Ed25519), and checks `|now - requested_at| <= max_skew_s`. Nonce replay and the
/// holder lookup need the registry: they are the service's job.
pub fn verify_request(
    bytes: &[u8],
    now: u64,
    max_skew_s: u64,
) -> Result<RefreshRequest, RefreshError> {
    let (request, payload, signature) = RefreshRequest::decode_unverified(bytes)?;
    let key = crate::signature::public_key(&request.device_key, "device key")
        .map_err(|_| RefreshError::BadProof)?;
    let message = RefreshRequest::message_to_sign(&payload);
    if !crate::signature::verify_strict(&key, &message, &signature) {
        return Err(RefreshError::BadProof);
    }
    if request.requested_at.abs_diff(now) > max_skew_s {
        return Err(RefreshError::StaleRequest {
            requested_at: request.requested_at,
            now,
            max_skew_s,
        });
    }
    Ok(request)
}

/// Why the service refuses to hand out a credential. One variant per wire code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// No holder has this device key (never enrolled, or another phone enrolled since).
    UnknownHolder,
    /// The holder's credential is revoked (吊销): the wallet must stop presenting it.
    Revoked,
    /// Too many refreshes; try again after this many seconds.
    RateLimited {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// The request signature does not verify.
    BadProof,
    /// The request time is too far from the service's clock.
    StaleRequest {
        /// The service's clock, so the wallet can tell the user how far off it is.
        server_time: u64,
    },
    /// This nonce was already used by this device.
    Replayed,
    /// The request is not well formed.
    Malformed,
    /// The service cannot answer now (database or key trouble); try later.
    Unavailable,
}

impl Refusal {
    /// Every refusal code, in spec order.
    pub const CODES: [&'static str; 8] = [
        "unknown_holder",
        "revoked",
        "rate_limited",
        "bad_proof",
        "stale_request",
        "replayed",
        "malformed",
        "unavailable",
    ];

    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownHolder => "unknown_holder",
            Refusal::Revoked => "revoked",
            Refusal::RateLimited { .. } => "rate_limited",
            Refusal::BadProof => "bad_proof",
            Refusal::StaleRequest { .. } => "stale_request",
            Refusal::Replayed => "replayed",
            Refusal::Malformed => "malformed",
            Refusal::Unavailable => "unavailable",
        }
    }

    /// The HTTP status the service answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Refusal::UnknownHolder => 404,
            Refusal::Revoked => 410,
            Refusal::RateLimited { .. } => 429,
            Refusal::BadProof => 403,
            Refusal::StaleRequest { .. } | Refusal::Malformed => 400,
            Refusal::Replayed => 409,
            Refusal::Unavailable => 503,
        }
    }

    /// A default sentence for people, saying what to do next.
    pub fn default_message(&self) -> String {
        match self {
            Refusal::UnknownHolder => "this phone's key is not enrolled with the issuer (or another phone was enrolled since): enrol again at the licensing office".into(),
            Refusal::Revoked => "the licence is revoked: the credential must no longer be shown".into(),
            Refusal::RateLimited { retry_after_s } => format!("too many refreshes: try again in {retry_after_s} s"),
            Refusal::BadProof => "the request signature does not verify with the device key it names".into(),
            Refusal::StaleRequest { server_time } => format!("the request time is too far from the issuer's clock ({server_time}): set the phone's clock automatically"),
            Refusal::Replayed => "this request was already received (replay): make a new one".into(),
            Refusal::Malformed => "not a well-formed refresh request".into(),
            Refusal::Unavailable => "the refresh service cannot answer now: try again later".into(),
        }
    }
}

/// What the service answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshResponse {
    /// `ok`: the current credential package, re-signed with a new expiry.
    Current {
        /// Package bytes.
        package: Vec<u8>,
    },
    /// `superseded`: the wallet's credential was replaced by a re-issue (new serial);
    /// this is the new package, which the wallet must store instead.
    Superseded {
        /// Package bytes.
        package: Vec<u8>,
    },
    /// `suspended`: the licence is suspended (暂扣); the package carries status D,
    /// so verifiers reject it until the suspension is lifted and the wallet refreshes.
    Suspended {
        /// Package bytes.
        package: Vec<u8>,
    },
    /// A refusal, with a message for people.
    Refused {
        /// Why.
        refusal: Refusal,
        /// What to do next.
        message: String,
    },
}

impl RefreshResponse {
    /// A refusal with its default message.
    pub fn refused(refusal: Refusal) -> RefreshResponse {
        RefreshResponse::Refused {
            message: refusal.default_message(),
            refusal,
        }
    }

    /// The wire code.
    pub fn code(&self) -> &'static str {
        match self {
            RefreshResponse::Current { .. } => "ok",
            RefreshResponse::Superseded { .. } => "superseded",
            RefreshResponse::Suspended { .. } => "suspended",
            RefreshResponse::Refused { refusal, .. } => refusal.code(),
        }
    }

    /// The HTTP status: 200 when a package is returned.
    pub fn http_status(&self) -> u16 {
        match self {
            RefreshResponse::Refused { refusal, .. } => refusal.http_status(),
            _ => 200,
        }
    }

    /// The package, if the response carries one.
    pub fn package(&self) -> Option<&[u8]> {
        match self {
            RefreshResponse::Current { package }
            | RefreshResponse::Superseded { package }
            | RefreshResponse::Suspended { package } => Some(package),
            RefreshResponse::Refused { .. } => None,
        }
    }

    /// The response bytes (deterministic CBOR).
    pub fn encode(&self) -> Vec<u8> {
        let message = match self {
            RefreshResponse::Current { .. } => "current credential".to_owned(),
            RefreshResponse::Superseded { .. } => {
                "the credential was replaced by a new one: store this package".to_owned()
            }
            RefreshResponse::Suspended { .. } => {
                "the licence is suspended: verifiers will refuse it until reinstated".to_owned()
            }
            RefreshResponse::Refused { message, .. } => truncate(message, MAX_MESSAGE_BYTES),
        };
        let mut entries = vec![
            (int(KEY_CODE), Value::Text(self.code().into())),
            (int(KEY_MESSAGE), Value::Text(message)),
        ];
        if let Some(package) = self.package() {
            entries.push((int(KEY_PACKAGE), Value::Bytes(package.to_vec())));
        }
        match self {
            RefreshResponse::Refused {
                refusal: Refusal::RateLimited { retry_after_s },
                ..
            } => entries.push((int(KEY_RETRY_AFTER), int(*retry_after_s))),
            RefreshResponse::Refused {
                refusal: Refusal::StaleRequest { server_time },
                ..
            } => entries.push((int(KEY_SERVER_TIME), int(*server_time))),
            _ => {}
        }
        cbor::encode(&cbor::map(entries))
    }

    /// Decodes response bytes. Unknown keys are ignored (a newer service may add
    /// some); unknown codes and missing fields are `malformed`.
    pub fn decode(bytes: &[u8]) -> Result<RefreshResponse, Malformed> {
        if bytes.is_empty() {
            return Err(Malformed::Empty);
        }
        let mut map = take::IntMap::new(cbor::decode(bytes, &RESPONSE_LIMITS)?, "response")?;
        let code = take::text(map.required(KEY_CODE, "code")?, "code")?;
        let message = take::text(map.required(KEY_MESSAGE, "message")?, "message")?;
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(Malformed::TooLong {
                len: message.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        let package_value = map.optional(KEY_PACKAGE);
        let package = || -> Result<Vec<u8>, Malformed> {
            take::bytes(
                package_value.ok_or(Malformed::MissingField("package"))?,
                "package",
            )
        };
        let response = match code.as_str() {
            "ok" => RefreshResponse::Current {
                package: package()?,
            },
            "superseded" => RefreshResponse::Superseded {
                package: package()?,
            },
            "suspended" => RefreshResponse::Suspended {
                package: package()?,
            },
            other => {
                let refusal = match other {
                    "unknown_holder" => Refusal::UnknownHolder,
                    "revoked" => Refusal::Revoked,
                    "rate_limited" => Refusal::RateLimited {
                        retry_after_s: take::uint(
                            map.required(KEY_RETRY_AFTER, "retry_after_s")?,
                            "retry_after_s",
                        )?,
                    },
                    "bad_proof" => Refusal::BadProof,
                    "stale_request" => Refusal::StaleRequest {
                        server_time: take::uint(
                            map.required(KEY_SERVER_TIME, "server_time")?,
                            "server_time",
                        )?,
                    },
                    "replayed" => Refusal::Replayed,
                    "malformed" => Refusal::Malformed,
                    "unavailable" => Refusal::Unavailable,
                    _ => return Err(Malformed::Invalid("response code")),
                };
                RefreshResponse::Refused { refusal, message }
            }
        };
        Ok(response)
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The credential package: one credential per profile, as the issuer signed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// Authority code.
    pub authority: String,
    /// Serial (shared by the four credentials).
    pub serial: u64,
    /// Issued at.
    pub issued_at: u64,
    /// Expires at.
    pub expires_at: u64,
    /// Tagged COSE_Sign1 bytes per profile, in [`Profile::ALL`] order.
    pub credentials: Vec<(Profile, Vec<u8>)>,
    /// The issuer-made portrait (format §17.3) whose truncated SHA-256 every
    /// credential's `portrait_digest` is; `None` from issuers that do not send it.
    pub portrait: Option<Vec<u8>>,
    /// The full profile's claims (for display: decoded, not signature-checked).
    pub full_claims: Claims,
}

/// Largest portrait a package may carry: the bound of a portrait loop
/// (format §17.2 `portrait_len`), so a portrait the wallet accepts can always be sent.
pub const MAX_PACKAGE_PORTRAIT_BYTES: usize = crate::portrait_frame::MAX_PORTRAIT_BYTES;

impl Package {
    /// Encodes a package (§7): the CBOR map that [`Package::decode_for`] reads, with
    /// the text keys in the deterministic order of the format's encoder. The one
    /// encoder of packages: the issuer and every test build packages through it.
    /// `portrait` is the issuer-made portrait the credentials' digest signs.
    pub fn encode(
        authority: &str,
        serial: u64,
        issued_at: u64,
        expires_at: u64,
        credentials: &[(Profile, Vec<u8>)],
        portrait: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut entries = vec![
            (
                Value::Text("authority".into()),
                Value::Text(authority.into()),
            ),
            (
                Value::Text("expires_at".into()),
                Value::Integer(expires_at.into()),
            ),
            (
                Value::Text("issued_at".into()),
                Value::Integer(issued_at.into()),
            ),
            (Value::Text("serial".into()), Value::Integer(serial.into())),
        ];
        for (profile, bytes) in credentials {
            entries.push((
                Value::Text(profile.name().into()),
                Value::Bytes(bytes.clone()),
            ));
        }
        if let Some(portrait) = portrait {
            entries.push((
                Value::Text("portrait".into()),
                Value::Bytes(portrait.to_vec()),
            ));
        }
        cbor::encode(&cbor::map(entries))
    }

    /// Decodes a package and checks that every credential is a well-formed
    /// COSE_Sign1 of its profile, bound to `device_key`, with the package's serial
    /// and times, and that a portrait, if present, is at most
    /// [`MAX_PACKAGE_PORTRAIT_BYTES`] and the one every credential's
    /// `portrait_digest` signs. The issuer signatures are not verified here (that
    /// needs the trust bundle; verifiers do it).
    pub fn decode_for(bytes: &[u8], device_key: &[u8; 32]) -> Result<Package, PackageError> {
        if bytes.is_empty() {
            return Err(Malformed::Empty.into());
        }
        let value = cbor::decode(bytes, &CborLimits::DOCUMENT).map_err(Malformed::from)?;
        let Value::Map(entries) = value else {
            return Err(Malformed::WrongType("credential package").into());
        };
        let mut fields = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            fields.push((take::text(key, "package key")?, value));
        }
        let mut take_field = |name: &'static str| -> Result<Value, Malformed> {
            let index = fields
                .iter()
                .position(|(k, _)| k == name)
                .ok_or(Malformed::MissingField(name))?;
            Ok(fields.swap_remove(index).1)
        };
        let authority = take::text(take_field("authority")?, "authority")?;
        let serial = take::uint(take_field("serial")?, "serial")?;
        let issued_at = take::uint(take_field("issued_at")?, "issued_at")?;
        let expires_at = take::uint(take_field("expires_at")?, "expires_at")?;
        let mut credentials = Vec::with_capacity(Profile::ALL.len());
        for profile in Profile::ALL {
            credentials.push((
                profile,
                take::bytes(take_field(profile.name())?, profile.name())?,
            ));
        }
        let portrait = match take_field("portrait") {
            Ok(value) => Some(take::bytes(value, "portrait")?),
            Err(_) => None,
        };
        if let Some(portrait) = &portrait {
            if portrait.is_empty() || portrait.len() > MAX_PACKAGE_PORTRAIT_BYTES {
                return Err(PackageError::PortraitTooLarge {
                    len: portrait.len(),
                    max: MAX_PACKAGE_PORTRAIT_BYTES,
                });
            }
        }
        if !fields.is_empty() {
            return Err(Malformed::Invalid("credential package (unknown key)").into());
        }
        let mut full_claims = None;
        let mut signed_digests = Vec::with_capacity(credentials.len());
        for (profile, credential) in &credentials {
            let claims = credential_claims(credential)?;
            if claims.device_key != *device_key {
                return Err(PackageError::OtherDevice);
            }
            if claims.serial != serial
                || claims.issued_at != issued_at
                || claims.expires_at != expires_at
            {
                return Err(PackageError::Inconsistent(profile.name()));
            }
            if claims.licence.profile() != Some(*profile) {
                return Err(PackageError::Inconsistent(profile.name()));
            }
            signed_digests.push((profile.name(), claims.licence.portrait_digest));
            if *profile == Profile::Full {
                full_claims = Some(claims);
            }
        }
        let full_claims = full_claims.ok_or(Malformed::MissingField("full"))?;
        if let Some(portrait) = &portrait {
            check_portrait(portrait, &signed_digests)?;
        }
        Ok(Package {
            authority,
            serial,
            issued_at,
            expires_at,
            credentials,
            portrait,
            full_claims,
        })
    }

    /// The credential of `profile`.
    pub fn credential(&self, profile: Profile) -> Option<&[u8]> {
        self.credentials
            .iter()
            .find(|(p, _)| *p == profile)
            .map(|(_, c)| c.as_slice())
    }

    /// The full licence record (display only).
    pub fn licence(&self) -> &LicenceRecord {
        &self.full_claims.licence
    }

    /// This package's reference for a refresh request.
    pub fn reference(&self) -> CredentialRef {
        CredentialRef {
            authority: self.authority.clone(),
            serial: self.serial,
        }
    }
}

/// Checks a package's portrait against the digest each credential signs (`None`
/// for a profile without one): every digest must be the portrait's, and at least
/// one credential must sign one — a portrait nobody signs is one nobody could check.
/// (With today's profiles the full one always signs a digest; the rule stands for
/// a package whose credentials were made otherwise.)
fn check_portrait(
    portrait: &[u8],
    signed_digests: &[(
        &'static str,
        Option<[u8; crate::licence::PORTRAIT_DIGEST_LEN]>,
    )],
) -> Result<(), PackageError> {
    let digest = crate::licence::portrait_digest(portrait);
    let mut signed = false;
    for (profile, signed_digest) in signed_digests {
        if let Some(signed_digest) = signed_digest {
            if *signed_digest != digest {
                return Err(PackageError::PortraitMismatch(profile));
            }
            signed = true;
        }
    }
    if signed {
        Ok(())
    } else {
        Err(PackageError::PortraitWithoutDigest)
    }
}

/// The claims of a credential, decoded without checking the issuer signature.
pub fn credential_claims(credential: &[u8]) -> Result<Claims, Malformed> {
    let sign1 = Sign1::from_cbor(credential, &CborLimits::DOCUMENT)?;
    sign1.strict_header().map_err(|e| match e {
        crate::cose::HeaderError::Malformed(m) => m,
        crate::cose::HeaderError::UnsupportedAlgorithm(_) => Malformed::Invalid("alg"),
    })?;
    Claims::from_value(cbor::decode(&sign1.payload, &CborLimits::DOCUMENT)?)
}

/// Why a credential package is not usable by this wallet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// Not a well-formed package.
    #[error("malformed credential package: {0}")]
    Malformed(#[from] Malformed),
    /// The credentials are bound to another device key.
    #[error("the credential package is bound to another phone's device key")]
    OtherDevice,
    /// A credential disagrees with the package (serial, times or profile).
    #[error("the {0} credential does not match its package (serial, times or profile)")]
    Inconsistent(&'static str),
    /// The package's portrait is empty or larger than [`MAX_PACKAGE_PORTRAIT_BYTES`].
    #[error("the package's portrait is {len} bytes (1 to {max} allowed) / 凭证包中的照片大小不符 ({len} 字节，应为 1 至 {max})")]
    PortraitTooLarge {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The package's portrait is not the one the named profile's credential signs.
    #[error("the package's portrait is not the one the {0} credential signs (portrait digest differs) / 凭证包中的照片与凭证签名的照片摘要不符")]
    PortraitMismatch(&'static str),
    /// The package carries a portrait but its credentials sign no portrait digest.
    #[error("the package carries a portrait but its credentials sign no portrait digest / 凭证包含照片，但凭证未签名照片摘要")]
    PortraitWithoutDigest,
}

impl PackageError {
    /// Stable reason code (wallet JSON output, spec/refresh.md §7).
    pub fn code(&self) -> &'static str {
        match self {
            PackageError::Malformed(_) | PackageError::Inconsistent(_) => "package_malformed",
            PackageError::OtherDevice => "package_other_device",
            PackageError::PortraitTooLarge { .. } => "package_portrait_too_large",
            PackageError::PortraitMismatch(_) => "package_portrait_mismatch",
            PackageError::PortraitWithoutDigest => "package_portrait_without_digest",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ed25519_dalek::SigningKey;

    const NOW: u64 = 1_780_279_200;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&crate::signature::sha256(&[n]))
    }

    fn request(key: &SigningKey) -> RefreshRequest {
        RefreshRequest {
            device_key: key.verifying_key().to_bytes(),
            requested_at: NOW,
            nonce: [7; NONCE_LEN],
            current: Some(CredentialRef {
                authority: "川J".into(),
                serial: 42,
            }),
        }
    }

    fn signed(request: &RefreshRequest, key: &SigningKey) -> Vec<u8> {
        request
            .sign_with(|m| Ok::<_, ()>(crate::signature::sign(key, m)))
            .unwrap()
    }

    #[test]
    fn a_signed_request_verifies_and_round_trips() {
        let k = key(1);
        let r = request(&k);
        let bytes = signed(&r, &k);
        assert!(bytes.len() < 200, "{}", bytes.len());
        assert_eq!(verify_request(&bytes, NOW + 300, 300).unwrap(), r);
        assert_eq!(verify_request(&bytes, NOW - 300, 300).unwrap(), r);
        let mut without = r.clone();
        without.current = None;
        assert_eq!(
            verify_request(&signed(&without, &k), NOW, 300).unwrap(),
            without
        );
    }

    #[test]
    fn the_signed_message_is_domain_separated() {
        let payload = request(&key(1)).payload();
        let message = RefreshRequest::message_to_sign(&payload);
        assert_eq!(&message[..2], &[0x82, 0x73]);
        assert_eq!(&message[2..21], REQUEST_CONTEXT.as_bytes());
        // A holder proof or COSE signature by the same key never has this shape.
        assert_ne!(message[0], 0x84);
    }

    #[test]
    fn stale_requests_are_refused_either_way() {
        let k = key(1);
        let bytes = signed(&request(&k), &k);
        for now in [NOW + 301, NOW - 301] {
            let error = verify_request(&bytes, now, 300).unwrap_err();
            assert_eq!(error.reason_code(), "stale_request");
            assert_eq!(error.refusal(), Refusal::StaleRequest { server_time: now });
        }
    }

    #[test]
    fn another_key_or_a_flipped_bit_is_bad_proof() {
        let k = key(1);
        let r = request(&k);
        // Names key 1, signed by key 2.
        let forged = signed(&r, &key(2));
        assert_eq!(
            verify_request(&forged, NOW, 300),
            Err(RefreshError::BadProof)
        );
        let mut flipped = signed(&r, &k);
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            verify_request(&flipped, NOW, 300),
            Err(RefreshError::BadProof)
        );
        // A small-order device key cannot prove anything.
        let mut weak = r.clone();
        weak.device_key = [0; 32];
        weak.device_key[0] = 1;
        assert_eq!(
            verify_request(&signed(&weak, &k), NOW, 300),
            Err(RefreshError::BadProof)
        );
    }

    #[test]
    fn bad_bytes_are_malformed_never_a_panic() {
        let k = key(1);
        let good = signed(&request(&k), &k);
        for cut in 0..good.len() {
            let error = verify_request(&good[..cut], NOW, 300).unwrap_err();
            assert_eq!(error.reason_code(), "malformed", "cut at {cut}");
        }
        let huge = vec![0x40; MAX_REQUEST_BYTES + 1];
        assert!(matches!(
            verify_request(&huge, NOW, 300),
            Err(RefreshError::Malformed(Malformed::TooLong { .. }))
        ));
        let wrong_types: Vec<Vec<u8>> = vec![
            cbor::encode(&int(1)),
            cbor::encode(&Value::Text("hello".into())),
            cbor::encode(&Value::Array(vec![int(1), int(2)])),
            cbor::encode(&Value::Array(vec![
                Value::Bytes(vec![0xa0]),
                Value::Bytes(vec![0; 63]),
            ])),
            cbor::encode(&Value::Array(vec![
                Value::Text("payload".into()),
                Value::Bytes(vec![0; 64]),
            ])),
            // Payload that is a map with a text device key.
            cbor::encode(&Value::Array(vec![
                Value::Bytes(cbor::encode(&cbor::map(vec![
                    (int(1), Value::Text("key".into())),
                    (int(2), int(NOW)),
                    (int(3), Value::Bytes(vec![0; 16])),
                ]))),
                Value::Bytes(vec![0; 64]),
            ])),
            // Unknown key 9 in the payload.
            cbor::encode(&Value::Array(vec![
                Value::Bytes(cbor::encode(&cbor::map(vec![
                    (int(1), Value::Bytes(vec![0; 32])),
                    (int(2), int(NOW)),
                    (int(3), Value::Bytes(vec![0; 16])),
                    (int(9), int(0)),
                ]))),
                Value::Bytes(vec![0; 64]),
            ])),
            // Serial without authority.
            cbor::encode(&Value::Array(vec![
                Value::Bytes(cbor::encode(&cbor::map(vec![
                    (int(1), Value::Bytes(vec![0; 32])),
                    (int(2), int(NOW)),
                    (int(3), Value::Bytes(vec![0; 16])),
                    (int(5), int(3)),
                ]))),
                Value::Bytes(vec![0; 64]),
            ])),
            // A negative time.
            cbor::encode(&Value::Array(vec![
                Value::Bytes(cbor::encode(&cbor::map(vec![
                    (int(1), Value::Bytes(vec![0; 32])),
                    (int(2), int(-1)),
                    (int(3), Value::Bytes(vec![0; 16])),
                ]))),
                Value::Bytes(vec![0; 64]),
            ])),
            // Nonce of 15 bytes.
            cbor::encode(&Value::Array(vec![
                Value::Bytes(cbor::encode(&cbor::map(vec![
                    (int(1), Value::Bytes(vec![0; 32])),
                    (int(2), int(NOW)),
                    (int(3), Value::Bytes(vec![0; 15])),
                ]))),
                Value::Bytes(vec![0; 64]),
            ])),
            // Indefinite-length array.
            vec![0x9f, 0x40, 0x40, 0xff],
            // Trailing byte.
            [good.clone(), vec![0]].concat(),
        ];
        for (i, bytes) in wrong_types.iter().enumerate() {
            let error = verify_request(bytes, NOW, 300).unwrap_err();
            assert_eq!(error.reason_code(), "malformed", "case {i}: {error}");
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small deterministic generator: no RNG dependency in this crate.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let k = key(1);
        let good = signed(&request(&k), &k);
        for _ in 0..20_000 {
            let mut bytes = good.clone();
            let flips = 1 + next() % 4;
            for _ in 0..flips {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            let _ = verify_request(&bytes, NOW, 300);
            let _ = RefreshResponse::decode(&bytes);
            let _ = Package::decode_for(&bytes, &[0; 32]);
        }
    }

    #[test]
    fn responses_round_trip() {
        let responses = vec![
            RefreshResponse::Current {
                package: vec![1, 2, 3],
            },
            RefreshResponse::Superseded { package: vec![4] },
            RefreshResponse::Suspended { package: vec![5] },
            RefreshResponse::refused(Refusal::UnknownHolder),
            RefreshResponse::refused(Refusal::Revoked),
            RefreshResponse::refused(Refusal::RateLimited { retry_after_s: 90 }),
            RefreshResponse::refused(Refusal::BadProof),
            RefreshResponse::refused(Refusal::StaleRequest { server_time: NOW }),
            RefreshResponse::refused(Refusal::Replayed),
            RefreshResponse::refused(Refusal::Malformed),
            RefreshResponse::refused(Refusal::Unavailable),
        ];
        let mut codes = Vec::new();
        for response in responses {
            let bytes = response.encode();
            let decoded = RefreshResponse::decode(&bytes).unwrap();
            match (&decoded, &response) {
                (
                    RefreshResponse::Refused { refusal: a, .. },
                    RefreshResponse::Refused { refusal: b, .. },
                ) => {
                    assert_eq!(a, b)
                }
                _ => assert_eq!(decoded, response),
            }
            if let RefreshResponse::Refused { refusal, .. } = &response {
                codes.push(refusal.code());
            }
        }
        assert_eq!(codes, Refusal::CODES);
    }

    #[test]
    fn bad_responses_are_malformed() {
        let missing_package = cbor::encode(&cbor::map(vec![
            (int(1), Value::Text("ok".into())),
            (int(2), Value::Text("".into())),
        ]));
        assert_eq!(
            RefreshResponse::decode(&missing_package),
            Err(Malformed::MissingField("package"))
        );
        let unknown_code = cbor::encode(&cbor::map(vec![
            (int(1), Value::Text("teapot".into())),
            (int(2), Value::Text("".into())),
        ]));
        assert_eq!(
            RefreshResponse::decode(&unknown_code),
            Err(Malformed::Invalid("response code"))
        );
        let extra_key_ignored = cbor::encode(&cbor::map(vec![
            (int(1), Value::Text("replayed".into())),
            (int(2), Value::Text("again".into())),
            (int(99), int(1)),
        ]));
        assert!(RefreshResponse::decode(&extra_key_ignored).is_ok());
        assert_eq!(RefreshResponse::decode(&[]), Err(Malformed::Empty));
        let long = RefreshResponse::Refused {
            refusal: Refusal::Malformed,
            message: "字".repeat(1000),
        };
        assert!(RefreshResponse::decode(&long.encode()).is_ok());
    }

    /// A licence of the fixture holder signing `portrait`'s digest, issued in all
    /// four profiles under serial 9 and bound to `key(1)`.
    fn credentials_signing(portrait: &[u8]) -> Vec<(Profile, Vec<u8>)> {
        use crate::date::Date;
        use crate::licence::{Authority, ClassSet, Licence, Sex, StatusSet, Validity};
        let licence = Licence {
            name: "欧阳婷婷".into(),
            sex: Sex::Female,
            nationality: "CHN".into(),
            birth_date: Date::parse("1988-03-14").unwrap(),
            address: "四川省遂宁市船山区明月路88号".into(),
            licence_number: "510903198803140029".into(),
            file_number: "510900123456".into(),
            first_issue_date: Date::parse("2008-07-22").unwrap(),
            classes: ClassSet::parse("C1").unwrap(),
            validity: Validity {
                from: Date::parse("2020-07-22").unwrap(),
                to: None,
            },
            issuing_authority: Authority {
                code: "川J".into(),
                name: "遂宁".into(),
            },
            status: StatusSet::NORMAL,
            points: 0,
            portrait_digest: crate::licence::portrait_digest(portrait),
        };
        let params = crate::issue::IssueParams {
            serial: 9,
            issued_at: NOW,
            expires_at: NOW + 100,
            device_key: key(1).verifying_key().to_bytes(),
        };
        crate::issue::issue_all_profiles(&licence, &params, &key(9)).unwrap()
    }

    #[test]
    fn a_package_round_trips_with_and_without_its_portrait() {
        let portrait = b"\xff\xd8 issuer-made portrait".to_vec();
        let credentials = credentials_signing(&portrait);
        let device = key(1).verifying_key().to_bytes();
        let with = Package::encode("川J", 9, NOW, NOW + 100, &credentials, Some(&portrait));
        let without = Package::encode("川J", 9, NOW, NOW + 100, &credentials, None);
        let decoded = Package::decode_for(&with, &device).unwrap();
        assert_eq!(decoded.portrait.as_deref(), Some(portrait.as_slice()));
        assert_eq!(decoded.credentials, credentials);
        // Decoding then encoding gives back the same bytes, with or without it.
        let again = Package::encode(
            &decoded.authority,
            decoded.serial,
            decoded.issued_at,
            decoded.expires_at,
            &decoded.credentials,
            decoded.portrait.as_deref(),
        );
        assert_eq!(again, with);
        let decoded = Package::decode_for(&without, &device).unwrap();
        assert_eq!(decoded.portrait, None);
        assert!(with.len() > without.len() + portrait.len());
        // The key sits in the deterministic order: strict decoding accepts it.
        assert!(cbor::decode(&with, &CborLimits::DOCUMENT).is_ok());
    }

    #[test]
    fn a_package_with_another_portrait_or_an_unbounded_one_is_refused_with_its_code() {
        let portrait = b"issuer-made portrait".to_vec();
        let credentials = credentials_signing(&portrait);
        let device = key(1).verifying_key().to_bytes();
        let package = |p: &[u8]| Package::encode("川J", 9, NOW, NOW + 100, &credentials, Some(p));
        let crafted = Package::decode_for(&package(b"another file"), &device).unwrap_err();
        // The full profile is checked first: the first credential that signs a digest.
        assert_eq!(crafted, PackageError::PortraitMismatch("full"));
        assert_eq!(crafted.code(), "package_portrait_mismatch");
        let too_large = vec![0u8; MAX_PACKAGE_PORTRAIT_BYTES + 1];
        let error = Package::decode_for(&package(&too_large), &device).unwrap_err();
        assert_eq!(error.code(), "package_portrait_too_large");
        assert_eq!(
            Package::decode_for(&package(&[]), &device)
                .unwrap_err()
                .code(),
            "package_portrait_too_large"
        );
        // A portrait that is not a byte string is malformed.
        let mut entries = match cbor::decode(&package(&portrait), &CborLimits::DOCUMENT).unwrap() {
            Value::Map(entries) => entries,
            _ => unreachable!(),
        };
        for (key, value) in &mut entries {
            if key.as_text() == Some("portrait") {
                *value = Value::Text("portrait".into());
            }
        }
        let wrong_type = cbor::encode(&cbor::map(entries));
        assert_eq!(
            Package::decode_for(&wrong_type, &device)
                .unwrap_err()
                .code(),
            "package_malformed"
        );
        // Every message has the Chinese beside the English.
        for error in [crafted, PackageError::PortraitWithoutDigest, error] {
            assert!(error
                .to_string()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }

    #[test]
    fn a_portrait_beside_credentials_that_sign_no_digest_is_refused() {
        let portrait = b"p";
        let digest = crate::licence::portrait_digest(portrait);
        let error = check_portrait(portrait, &[("full", None), ("employment", None)]).unwrap_err();
        assert_eq!(error, PackageError::PortraitWithoutDigest);
        assert_eq!(error.code(), "package_portrait_without_digest");
        assert!(check_portrait(portrait, &[("full", Some(digest)), ("employment", None)]).is_ok());
        assert_eq!(
            check_portrait(
                portrait,
                &[("full", Some(digest)), ("rental", Some([0; 16]))]
            ),
            Err(PackageError::PortraitMismatch("rental"))
        );
    }

    #[test]
    fn packages_are_checked_against_the_device_key() {
        use crate::date::Date;
        use crate::licence::{Authority, ClassSet, Licence, Sex, StatusSet, Validity};
        let licence = Licence {
            name: "欧阳婷婷".into(),
            sex: Sex::Female,
            nationality: "CHN".into(),
            birth_date: Date::parse("1988-03-14").unwrap(),
            address: "四川省遂宁市船山区明月路88号".into(),
            licence_number: "510903198803140029".into(),
            file_number: "510900123456".into(),
            first_issue_date: Date::parse("2008-07-22").unwrap(),
            classes: ClassSet::parse("C1").unwrap(),
            validity: Validity {
                from: Date::parse("2020-07-22").unwrap(),
                to: None,
            },
            issuing_authority: Authority {
                code: "川J".into(),
                name: "遂宁".into(),
            },
            status: StatusSet::NORMAL,
            points: 0,
            portrait_digest: [1; crate::licence::PORTRAIT_DIGEST_LEN],
        };
        let device = key(1).verifying_key().to_bytes();
        let params = crate::issue::IssueParams {
            serial: 9,
            issued_at: NOW,
            expires_at: NOW + 100,
            device_key: device,
        };
        let credentials = crate::issue::issue_all_profiles(&licence, &params, &key(9)).unwrap();
        let package = |credentials: &[(Profile, Vec<u8>)], serial: u64| {
            Package::encode("川J", serial, NOW, NOW + 100, credentials, None)
        };
        let good = Package::decode_for(&package(&credentials, 9), &device).unwrap();
        assert_eq!(good.serial, 9);
        assert_eq!(good.licence().name.as_deref(), Some("欧阳婷婷"));
        assert_eq!(
            Package::decode_for(
                &package(&credentials, 9),
                &key(2).verifying_key().to_bytes()
            ),
            Err(PackageError::OtherDevice)
        );
        assert_eq!(
            Package::decode_for(&package(&credentials, 10), &device),
            Err(PackageError::Inconsistent("full"))
        );
        let mut swapped = credentials.clone();
        swapped.swap(1, 2);
        let swapped: Vec<_> = swapped
            .into_iter()
            .zip(Profile::ALL)
            .map(|((_, c), p)| (p, c))
            .collect();
        assert_eq!(
            Package::decode_for(&package(&swapped, 9), &device),
            Err(PackageError::Inconsistent("rental"))
        );
        assert!(matches!(
            Package::decode_for(&package(&credentials[..3], 9), &device),
            Err(PackageError::Malformed(Malformed::MissingField(
                "employment"
            )))
        ));
    }
}
