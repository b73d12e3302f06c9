//! Errors of the wallet, each with a stable code and a sentence saying what to do.

use std::path::PathBuf;

use credential::refresh::{PackageError, Refusal};

/// Everything a wallet operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A wallet file exists but is not what this wallet wrote. It is left as it is.
    #[error("{} is corrupt ({reason}); it was left untouched: restore it from a backup or enrol again in a new wallet directory", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `init` on a directory that already has a device key.
    #[error("{} already holds a device key; refusing to replace it (the issuer knows this phone by it)", .0.display())]
    AlreadyInitialised(PathBuf),
    /// No device key in the directory.
    #[error("no wallet in {}: run `wallet init` first", .0.display())]
    NotInitialised(PathBuf),
    /// No credential yet.
    #[error("no credential in this wallet yet: enrol with the package from the licensing office, or refresh")]
    NotEnrolled,
    /// The credential package cannot be used by this wallet.
    #[error("{0}")]
    Package(#[from] PackageError),
    /// Presenting refused: the issuer revoked the licence.
    #[error("the licence is revoked (吊销): this credential can no longer be shown")]
    Revoked,
    /// Presenting refused: the credential was replaced and the replacement is missing.
    #[error("this credential was replaced by a newer one that the wallet could not store: refresh online")]
    Superseded,
    /// Presenting refused: the credential expired.
    #[error("the credential expired at {} / 凭证已过期: refresh online to get a new one", crate::screen::local_time(*expired_at, 0))]
    Expired {
        /// `exp` of the credential.
        expired_at: u64,
    },
    /// The issuer refused the refresh.
    #[error("the issuer refused the refresh ({}): {message}", refusal.code())]
    Refused {
        /// Why.
        refusal: Refusal,
        /// The issuer's message.
        message: String,
    },
    /// The issuer could not be reached; the wallet keeps its credential.
    #[error(
        "the issuer is unreachable ({0}); the current credential stays usable until it expires"
    )]
    Offline(String),
    /// The TLS connection to the issuer could not be verified or set up
    /// (certificate not trusted, wrong name, bad CA file).
    #[error("TLS with the issuer failed ({0}); check the address, or give the deployment's CA with --ca-file / TLS 连接失败")]
    Tls(String),
    /// The issuer answered something that is not a refresh response.
    #[error("the issuer's answer is not a refresh response: {0}")]
    BadResponse(String),
    /// The device key (software or hardware keystore) failed to sign.
    #[error("the device key could not sign: {0}")]
    DeviceKey(String),
    /// The text does not fit a QR code.
    #[error("cannot make a QR code: {0}")]
    Qr(String),
    /// The stored credential signs no portrait digest (employment profile only?).
    #[error("the credential carries no portrait digest, so no portrait can be stored / 凭证不含照片摘要")]
    NoPortraitDigest,
    /// The portrait is not the one the credential signs.
    #[error("this portrait is not the one the credential signs (its digest differs); use the file the licensing office issued / 照片与凭证签名的摘要不符")]
    PortraitMismatch,
    /// The portrait file is larger than a portrait frame loop carries.
    #[error(
        "the portrait is {len} bytes, more than the {max} the animated code carries / 照片过大"
    )]
    PortraitTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No portrait is stored (or it no longer matches the credential).
    #[error("no portrait matching the current credential is stored: run `wallet portrait set FILE` with the issuer's portrait file / 未存储与当前凭证匹配的照片")]
    NoPortrait,
    /// The portrait could not be split into frames.
    #[error("{0}")]
    PortraitFrames(#[from] credential::portrait_frame::PortraitFrameError),
}

impl WalletError {
    /// The stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::Io { .. } => "io",
            WalletError::Corrupt { .. } => "corrupt",
            WalletError::AlreadyInitialised(_) => "already_initialised",
            WalletError::NotInitialised(_) => "not_initialised",
            WalletError::NotEnrolled => "not_enrolled",
            WalletError::Package(e) => e.code(),
            WalletError::Revoked => "revoked",
            WalletError::Superseded => "superseded",
            WalletError::Expired { .. } => "expired",
            WalletError::Refused { refusal, .. } => refusal.code(),
            WalletError::Offline(_) => "offline",
            WalletError::BadResponse(_) => "bad_response",
            WalletError::Tls(_) => "tls",
            WalletError::DeviceKey(_) => "device_key",
            WalletError::Qr(_) => "qr",
            WalletError::NoPortraitDigest => "no_portrait_digest",
            WalletError::PortraitMismatch => "portrait_mismatch",
            WalletError::PortraitTooLarge { .. } => "portrait_too_large",
            WalletError::NoPortrait => "no_portrait",
            WalletError::PortraitFrames(e) => e.code(),
        }
    }

    /// Exit code of the CLI: 1 for a refusal (by the issuer or the wallet's rules),
    /// 2 for usage, input, I/O and corrupt files.
    pub fn exit_code(&self) -> u8 {
        match self {
            WalletError::NotEnrolled
            | WalletError::Revoked
            | WalletError::Superseded
            | WalletError::Expired { .. }
            | WalletError::Refused { .. }
            | WalletError::Offline(_)
            | WalletError::Tls(_)
            | WalletError::Package(PackageError::OtherDevice)
            | WalletError::PortraitMismatch
            | WalletError::NoPortrait => 1,
            _ => 2,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> WalletError {
        let path = path.into();
        move |source| WalletError::Io { path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> WalletError {
        WalletError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
