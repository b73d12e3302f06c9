//! Test support shared by the station's tests and bench.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod client;
pub mod fixture;
pub mod keyboards;
pub mod video;
pub mod webdriver;
