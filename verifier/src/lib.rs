//! The offline verifier: a store of trusted material, and the rendering of
//! verdicts for people (a clerk reads one line) and machines (a stable JSON schema).
//!
//! The verification rules themselves live in `credential::verify`; this crate adds
//! only what a device needs around them: files, rollback protection, output. It has
//! no network code in its dependency tree.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod collect;
pub mod commands;
pub mod desk;
pub mod frames;
pub mod messages;
pub mod render;
pub mod scan;
pub mod store;
pub mod time;

pub use store::{Store, StoreError};
