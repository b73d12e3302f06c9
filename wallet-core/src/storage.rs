//! Files in the wallet directory, written through the project's one file primitive
//! ([`atomic_file`]): a crash at any point leaves the old file or the new one, never
//! a mix or an empty file, and two writers never share a temporary file. This module
//! only puts the wallet's own error (with the path) on each failure.

use std::path::Path;

use crate::error::WalletError;

/// Replaces `path` with `bytes` atomically; the new file gets `mode` (Unix).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WalletError> {
    atomic_file::replace(path, bytes, mode).map_err(WalletError::io(path))
}

/// Creates `path` with `bytes` atomically, refusing to replace an existing file
/// (even one created concurrently).
pub fn create_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WalletError> {
    atomic_file::create_new(path, bytes, mode).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => WalletError::AlreadyInitialised(path.to_owned()),
        _ => WalletError::io(path)(e),
    })
}

/// Reads a whole file of at most `max` bytes; `None` if it does not exist. A
/// larger file is reported as corrupt, not read.
pub fn read_bounded(path: &Path, max: u64) -> Result<Option<Vec<u8>>, WalletError> {
    atomic_file::read_bounded(path, max).map_err(|e| match e {
        atomic_file::ReadError::Io(e) => WalletError::io(path)(e),
        atomic_file::ReadError::TooLarge { max } => {
            WalletError::corrupt(path, format!("larger than {max} bytes"))
        }
    })
}

/// Removes temporary files next to `path` left by a process killed mid-write.
pub fn remove_stale_temporaries(path: &Path) {
    atomic_file::remove_stale_temporaries(path);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn create_never_replaces_and_says_the_wallet_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        create_atomic(&path, b"first", 0o600).unwrap();
        assert!(matches!(
            create_atomic(&path, b"second", 0o600),
            Err(WalletError::AlreadyInitialised(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
    }

    #[test]
    fn an_oversized_file_is_corrupt_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(read_bounded(&path, 10).unwrap().is_none());
        std::fs::write(&path, [0u8; 11]).unwrap();
        assert!(matches!(
            read_bounded(&path, 10),
            Err(WalletError::Corrupt { .. })
        ));
    }
}
