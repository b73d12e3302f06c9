//! The verifier station: a local web application for desks and officers, over the
//! verifier library and its store.
//!
//! It lives in its own crate so that `verifier` keeps no network code: the station
//! listens on 127.0.0.1 only (by default), serves one page whose assets are all
//! embedded in the binary, and reads codes from the page's camera frames (with the
//! same scanner cascade as `verifier scan`) or from a keyboard-wedge scanner typing
//! into the page. See the README, "The verifier station".

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod desk;
pub mod history;
pub mod http;
pub mod layout;
pub mod messages;
pub mod station;
pub mod verdict;

pub use app::Server;
pub use station::{Config, Station, StationError};
