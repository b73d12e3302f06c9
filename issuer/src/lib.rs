//! The issuer: everything a licensing office does with electronic licences —
//! authority keys, enrolment, portrait review, issuance and re-issue, status,
//! publishing for offline verifiers — over one transactional registry.
//!
//! Layers, each using only the ones below it:
//! - `bin/issuer` (the CLI) and [`serve`] (the refresh service): transport only;
//! - [`usecase`]: the office's workflows, each one transaction that decides and
//!   writes under the write lock; refusals are [`refusal::Refusal`]s;
//! - [`store`]: the storage traits and their backends ([`store::sqlite`],
//!   [`store::postgres`]);
//! - [`model`]: the records, plain data.
//!
//! Beside them: [`keyfile`] (encrypted key files), [`portrait`] (automatic photo
//! checks), [`csv_import`] (batch enrolment files), [`backend`] (which store opens).

#![forbid(unsafe_code)]

pub mod backend;
pub mod clock;
pub mod csv_import;
pub mod error;
pub mod keyfile;
pub mod model;
pub mod portrait;
pub mod portrait_code;
pub mod refusal;
pub mod serve;
pub mod store;
pub mod usecase;

pub use error::IssuerError;
pub use usecase::{Keyring, Registry};
