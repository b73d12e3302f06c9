//! The issuer: everything a licensing office does with electronic licences —
//! authority keys, enrolment, portrait review, issuance and re-issue, status,
//! publishing for offline verifiers — over one transactional registry.

#![forbid(unsafe_code)]

pub mod enrol;
pub mod error;
pub mod keys;
pub mod portrait;
pub mod portrait_code;
pub mod registry;
pub mod serve;
pub mod sqlite;
pub mod store;

pub use error::IssuerError;
pub use registry::Registry;
