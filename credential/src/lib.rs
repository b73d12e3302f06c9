//! The electronic driving licence format: data model, deterministic CBOR/COSE
//! codec, signing and the verification algorithm (spec/format.md).
//!
//! This crate does no I/O and reads no clock or random source: times and keys are
//! parameters, which is what makes the spec's vectors exact. Every decoder is
//! bounded by [`limits`] and returns a typed error on any byte string.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod base45;
pub mod cbor;
pub mod claims;
pub mod cose;
pub mod date;
pub mod error;
pub mod holder_proof;
pub mod issue;
pub mod licence;
pub mod limits;
pub mod portrait_frame;
pub mod presentation;
pub mod profile;
pub mod qr_text;
pub mod refresh;
pub mod signature;
pub mod status_list;
pub mod trust_bundle;
pub mod verify;

pub use ed25519_dalek;
pub use error::{BuildError, DocumentError, Malformed, VerifyError};
pub use licence::{Authority, ClassSet, Licence, LicenceRecord, Sex, StatusSet, Validity};
pub use profile::{Field, Profile};
pub use verify::{verify, verify_bytes, Policy, StatusLists, Verdict};
