//! Files in the wallet directory: atomic replacement, bounded reads.
//!
//! A write goes to a new temporary file in the same directory, is flushed to disk
//! (`fsync`), renamed over the target (atomic on POSIX file systems), and then the
//! directory is flushed so the rename itself survives a power cut. A crash at any
//! point leaves either the old file or the new one, never a mix or an empty file.
//! Temporary files get unique names (process id and a counter), so two writers
//! never write into the same one; one left by a killed process is ignored and
//! removed by [`remove_stale_temporaries`].

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::error::WalletError;

const TEMP_SUFFIX: &str = ".tmp";
/// Temporary files older than this are left-overs of a killed process.
const STALE_AFTER: Duration = Duration::from_secs(3600);

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}{TEMP_SUFFIX}", std::process::id()))
}

/// Replaces `path` with `bytes` atomically; the new file gets `mode` (Unix).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WalletError> {
    let temporary = temporary_path(path);
    let result = write_then_rename(&temporary, path, bytes, mode);
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

fn write_then_rename(
    temporary: &Path,
    path: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<(), WalletError> {
    write_new_synced(temporary, bytes, mode)?;
    fs::rename(temporary, path).map_err(WalletError::io(path))?;
    sync_directory(path)
}

/// Writes `bytes` to a new file (never an existing one) with `mode`, and fsyncs it.
fn write_new_synced(temporary: &Path, bytes: &[u8], mode: u32) -> Result<(), WalletError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(temporary)
        .map_err(WalletError::io(temporary))?;
    file.write_all(bytes).map_err(WalletError::io(temporary))?;
    file.sync_all().map_err(WalletError::io(temporary))
}

/// Creates `path` with `bytes` atomically, refusing to replace an existing file
/// (even one created concurrently): the new file is linked into place, which
/// fails if the name exists, rather than renamed over it.
pub fn create_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WalletError> {
    let temporary = temporary_path(path);
    let result = write_then_link(&temporary, path, bytes, mode);
    let _ = fs::remove_file(&temporary);
    result?;
    sync_directory(path)
}

fn write_then_link(
    temporary: &Path,
    path: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<(), WalletError> {
    write_new_synced(temporary, bytes, mode)?;
    fs::hard_link(temporary, path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => WalletError::AlreadyInitialised(path.to_owned()),
        _ => WalletError::io(path)(e),
    })
}

/// Flushes the directory holding `path`, so a rename or creation in it is durable.
pub fn sync_directory(path: &Path) -> Result<(), WalletError> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(WalletError::io(dir))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads a whole file of at most `max` bytes; `None` if it does not exist. A
/// larger file is reported as corrupt, not read.
pub fn read_bounded(path: &Path, max: u64) -> Result<Option<Vec<u8>>, WalletError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WalletError::io(path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(WalletError::io(path))?;
    if bytes.len() as u64 > max {
        return Err(WalletError::corrupt(
            path,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(Some(bytes))
}

/// Removes temporary files next to `path` older than an hour (left by a process
/// killed mid-write). Best effort: failures are ignored.
pub fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.starts_with(&prefix) || !file_name.ends_with(TEMP_SUFFIX) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.cbor");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.cbor");
        write_atomic(&path, b"old", 0o600).unwrap();
        // Renaming onto a directory fails: the old content must survive.
        let blocked = dir.path().join("sub");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        assert!(write_atomic(&blocked, b"new", 0o600).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let temporaries = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(temporaries, 0);
    }

    #[test]
    fn create_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        create_atomic(&path, b"first", 0o600).unwrap();
        assert!(matches!(
            create_atomic(&path, b"second", 0o600),
            Err(WalletError::AlreadyInitialised(_))
        ));
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn reads_are_bounded_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(read_bounded(&path, 10).unwrap().is_none());
        fs::write(&path, [0u8; 11]).unwrap();
        assert!(matches!(
            read_bounded(&path, 10),
            Err(WalletError::Corrupt { .. })
        ));
        assert_eq!(read_bounded(&path, 11).unwrap().unwrap().len(), 11);
    }
}
