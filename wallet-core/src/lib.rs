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
//!
//! Like `credential`, the library reads no clock: times are parameters. It
//! decodes the credentials for display and binding checks but does not verify
//! the issuer's signatures (that needs the trust bundle; verifiers do it).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod device_key;
pub mod error;
pub mod qr;
pub mod state;
pub mod storage;
pub mod wallet;

pub use client::{HttpClient, RefreshClient};
pub use device_key::{DeviceKey, SoftwareDeviceKey};
pub use error::WalletError;
pub use qr::Qr;
pub use state::CredentialStatus;
pub use wallet::{
    random_nonce, HolderSummary, Presented, RefreshOutcome, TimeLeft, Wallet, WalletConfig,
    WalletStatus,
};
