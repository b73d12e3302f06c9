//! The device key: the Ed25519 key the credential is bound to (`cnf`), which signs
//! every presentation (holder proof) and every refresh request.
//!
//! It never leaves the phone. [`DeviceKey`] is the seam where a phone app plugs in
//! its hardware keystore (Secure Enclave, StrongBox/TEE) that signs without ever
//! exposing the private key. [`SoftwareDeviceKey`] is the default: the seed is
//! zeroized in memory and stored in the wallet directory as a file readable by
//! the owner only (mode 0600) but **not encrypted** — acceptable for the CLI and
//! tests; a phone app uses its keystore instead.

use std::path::Path;

use credential::ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::error::WalletError;
use crate::storage;

/// A signing key held by the device.
pub trait DeviceKey: Send + Sync {
    /// The Ed25519 public key (what the issuer binds the credential to).
    fn public_key(&self) -> [u8; 32];
    /// Signs `message` (Ed25519, RFC 8032).
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], WalletError>;
}

/// A software Ed25519 key (zeroized on drop).
pub struct SoftwareDeviceKey {
    key: SigningKey,
}

const COMMENT: &str = "untrusted comment: wallet device key (Ed25519 seed, hex; software key, not encrypted: keep this file private)";
const MAX_KEY_FILE_BYTES: u64 = 1024;

impl SoftwareDeviceKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SoftwareDeviceKey, WalletError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut *seed)
            .map_err(|e| WalletError::DeviceKey(format!("no random source: {e}")))?;
        Ok(SoftwareDeviceKey::from_seed(&seed))
    }

    /// A key from a 32-byte seed (tests use fixed seeds).
    pub fn from_seed(seed: &[u8; 32]) -> SoftwareDeviceKey {
        SoftwareDeviceKey {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Writes the key file (mode 0600); refuses to replace an existing one, even
    /// one created at the same moment by another process.
    pub fn save(&self, path: &Path) -> Result<(), WalletError> {
        let seed = Zeroizing::new(hex::encode(self.key.to_bytes()));
        let text = Zeroizing::new(format!("{COMMENT}\n{}\n", seed.as_str()));
        storage::create_atomic(path, text.as_bytes(), 0o600)
    }

    /// Reads a key file written by [`SoftwareDeviceKey::save`].
    pub fn load(path: &Path) -> Result<SoftwareDeviceKey, WalletError> {
        let bytes = Zeroizing::new(
            storage::read_bounded(path, MAX_KEY_FILE_BYTES)?
                .ok_or_else(|| WalletError::NotInitialised(path.to_owned()))?,
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(WalletError::io(path))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(WalletError::corrupt(
                    path,
                    format!("readable by others (mode {:o}); run chmod 600 on it if it is still private", mode & 0o777),
                ));
            }
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| WalletError::corrupt(path, "not UTF-8 text"))?;
        let mut lines = text.lines();
        if !lines
            .next()
            .is_some_and(|l| l.starts_with("untrusted comment:"))
        {
            return Err(WalletError::corrupt(path, "missing the comment line"));
        }
        let encoded = lines
            .next()
            .ok_or_else(|| WalletError::corrupt(path, "missing the key line"))?;
        if lines.any(|l| !l.trim().is_empty()) {
            return Err(WalletError::corrupt(path, "unexpected lines after the key"));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(encoded.trim(), &mut *seed)
            .map_err(|_| WalletError::corrupt(path, "the key line is not 64 hex digits"))?;
        Ok(SoftwareDeviceKey::from_seed(&seed))
    }
}

impl DeviceKey for SoftwareDeviceKey {
    fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], WalletError> {
        Ok(credential::signature::sign(&self.key, message))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn save_load_round_trip_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        let key = SoftwareDeviceKey::generate().unwrap();
        key.save(&path).unwrap();
        let loaded = SoftwareDeviceKey::load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(matches!(
            SoftwareDeviceKey::generate().unwrap().save(&path),
            Err(WalletError::AlreadyInitialised(_))
        ));
        assert_eq!(
            SoftwareDeviceKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
    }

    #[test]
    fn a_damaged_key_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        SoftwareDeviceKey::generate().unwrap().save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 10]).unwrap();
        assert!(matches!(
            SoftwareDeviceKey::load(&path),
            Err(WalletError::Corrupt { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&path, &text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                SoftwareDeviceKey::load(&path),
                Err(WalletError::Corrupt { .. })
            ));
        }
    }
}
