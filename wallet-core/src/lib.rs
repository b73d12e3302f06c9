//! The holder's wallet (issue #4): the library a phone app embeds, and the small
//! `wallet` CLI built on it.
//!
//! - [`DeviceKey`]: the key the credential is bound to; a phone app plugs in its
//!   hardware keystore, [`SoftwareDeviceKey`] is the default.
//! - [`Wallet`]: a directory holding the credential package and what the issuer
//!   said about it (atomic writes; a corrupt file is reported, never replaced).
//!   [`Wallet::present`] makes the live QR (text, module matrix, PNG, SVG,
//!   terminal); [`Wallet::refresh`] fetches the current credential through a
//!   [`RefreshClient`] (spec/refresh.md); [`Wallet::status`] and
//!   [`Wallet::time_left`] are what the app shows.
//! - [`Screen`]: the app's screen (issue #12) — the code black when the licence
//!   is normal and red when not, generation and current time, countdown — as
//!   terminal text here and, with the `screen-image` feature, PNG, SVG and an
//!   animated GIF ([`screen_image`]); [`animated`] makes the loop of the
//!   presentation plus portrait frames (spec §17).
//! - With the `https` feature, [`https::HttpsClient`]: a [`RefreshClient`] over
//!   ureq and rustls for the CLI (phone apps bring their own networking).
//!
//! Like `credential`, the library reads no clock: times are parameters. It
//! decodes the credentials for display and binding checks but does not verify
//! the issuer's signatures (that needs the trust bundle; verifiers do it).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod animated;
pub mod client;
pub mod device_key;
pub mod error;
#[cfg(feature = "https")]
pub mod https;
pub mod qr;
pub mod screen;
#[cfg(feature = "screen-image")]
pub mod screen_image;
pub mod state;
pub mod storage;
pub mod wallet;

pub use client::{HttpClient, RefreshClient};
pub use device_key::{DeviceKey, SoftwareDeviceKey};
pub use error::WalletError;
pub use qr::{Qr, TerminalCells};
pub use screen::{AtAGlance, CodeColour, Screen};
pub use state::CredentialStatus;
pub use wallet::{
    random_nonce, HolderSummary, Presented, RefreshOutcome, TimeLeft, Wallet, WalletConfig,
    WalletStatus,
};
