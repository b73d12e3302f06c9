//! The verifier's store: a directory with the root public key, the installed trust
//! bundle and one status list per authority.
//!
//! Imports are verified before anything is written, and written atomically (temp
//! file + rename), so a power cut never leaves a half-written bundle. A bundle older
//! than the installed one is refused: an attacker who can hand the verifier a file
//! must not be able to bring back a key that has since been retired.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use credential::ed25519_dalek::VerifyingKey;
use credential::status_list::StatusList;
use credential::trust_bundle::TrustBundle;
use credential::{DocumentError, StatusLists};

const ROOT_FILE: &str = "root.pub";
const BUNDLE_FILE: &str = "trust-bundle.cbor";
const STATUS_DIR: &str = "status";
const ROOT_COMMENT: &str = "untrusted comment: licence verifier root public key (Ed25519, base64)";

/// What can go wrong with the store. Each says what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// No root key configured.
    #[error("no root key in {0}; run `verifier init --root PUBKEY` first")]
    NotInitialised(PathBuf),
    /// No trust bundle installed.
    #[error("no trust bundle installed; run `verifier trust import FILE`")]
    NoTrustBundle,
    /// The root key text is not a key.
    #[error("not an Ed25519 public key (expected 64 hex digits, base64 of 32 bytes, or a root.pub file)")]
    BadRootKey,
    /// A root key is already configured and differs.
    #[error("a different root key is already configured in {0}; use --force to replace it")]
    RootAlreadySet(PathBuf),
    /// The file failed verification.
    #[error("refused: {0}")]
    Document(#[from] DocumentError),
    /// Rollback refused.
    #[error("trust bundle version {offered} is older than installed version {installed}; refusing rollback")]
    Rollback {
        /// Offered version.
        offered: u64,
        /// Installed version.
        installed: u64,
    },
    /// Same version, different content.
    #[error("trust bundle version {0} is already installed with different content; refusing (the root signed two different bundles with one version)")]
    VersionConflict(u64),
    /// A different status list with the same signing time as the installed one.
    #[error(
        "a different status list of {0} signed at the same time is already installed; refusing"
    )]
    StatusConflict(String),
    /// Status list older than the installed one.
    #[error("status list of {authority} signed at {offered} is older than the installed one ({installed}); refusing")]
    StatusRollback {
        /// Authority.
        authority: String,
        /// Offered issued_at.
        offered: u64,
        /// Installed issued_at.
        installed: u64,
    },
}

impl StoreError {
    /// Whether this is a refusal (exit 1) rather than a usage or I/O problem (exit 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::Document(_)
                | StoreError::Rollback { .. }
                | StoreError::VersionConflict(_)
                | StoreError::StatusRollback { .. }
                | StoreError::StatusConflict(_)
        )
    }

    /// Stable reason code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "io_error",
            StoreError::NotInitialised(_) => "not_initialised",
            StoreError::NoTrustBundle => "no_trust_bundle",
            StoreError::BadRootKey => "bad_root_key",
            StoreError::RootAlreadySet(_) => "root_already_set",
            StoreError::Document(e) => e.reason_code(),
            StoreError::Rollback { .. } => "trust_bundle_rollback",
            StoreError::VersionConflict(_) => "trust_bundle_conflict",
            StoreError::StatusRollback { .. } => "status_list_rollback",
            StoreError::StatusConflict(_) => "status_list_conflict",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Parses a root public key: 64 hex digits, base64 of 32 bytes, or the text of a `root.pub` file.
pub fn parse_root_key(text: &str) -> Result<VerifyingKey, StoreError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .ok_or(StoreError::BadRootKey)?;
    let bytes = hex::decode(line)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(line).ok())
        .ok_or(StoreError::BadRootKey)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| StoreError::BadRootKey)?;
    credential::signature::public_key(&bytes, "root key").map_err(|_| StoreError::BadRootKey)
}

/// Writes a file atomically: temp file, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

/// A verifier store directory.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

/// What a store holds, loaded and verified.
#[derive(Debug)]
pub struct Loaded {
    /// The root key.
    pub root: VerifyingKey,
    /// The trust bundle.
    pub bundle: TrustBundle,
    /// Status lists that verify against the bundle.
    pub lists: StatusLists,
}

impl Store {
    /// A store at `dir` (not touched until used).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Configures the root key. Refuses to replace a different one unless `force`.
    pub fn init(&self, root: &VerifyingKey, force: bool) -> Result<(), StoreError> {
        fs::create_dir_all(self.dir.join(STATUS_DIR)).map_err(io(&self.dir))?;
        let path = self.dir.join(ROOT_FILE);
        if let Ok(existing) = self.root() {
            if existing != *root && !force {
                return Err(StoreError::RootAlreadySet(path));
            }
        }
        let text = format!(
            "{ROOT_COMMENT}\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(root.as_bytes())
        );
        write_atomic(&path, text.as_bytes())
    }

    /// The configured root key.
    pub fn root(&self) -> Result<VerifyingKey, StoreError> {
        let path = self.dir.join(ROOT_FILE);
        let text =
            fs::read_to_string(&path).map_err(|_| StoreError::NotInitialised(self.dir.clone()))?;
        parse_root_key(&text)
    }

    /// The installed trust bundle, if any.
    pub fn bundle(&self) -> Result<Option<TrustBundle>, StoreError> {
        let root = self.root()?;
        let path = self.dir.join(BUNDLE_FILE);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(TrustBundle::verify(&bytes, &root)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Verifies and installs a trust bundle; refuses rollback. Returns the new bundle.
    pub fn import_trust(&self, bytes: &[u8]) -> Result<TrustBundle, StoreError> {
        let root = self.root()?;
        let offered = TrustBundle::verify(bytes, &root)?;
        if let Some(installed) = self.bundle()? {
            let (offered_v, installed_v) = (offered.content.version, installed.content.version);
            if offered_v < installed_v {
                return Err(StoreError::Rollback {
                    offered: offered_v,
                    installed: installed_v,
                });
            }
            if offered_v == installed_v && offered.bytes != installed.bytes {
                return Err(StoreError::VersionConflict(offered_v));
            }
        }
        write_atomic(&self.dir.join(BUNDLE_FILE), bytes)?;
        Ok(offered)
    }

    fn status_path(&self, authority: &str) -> PathBuf {
        self.dir
            .join(STATUS_DIR)
            .join(format!("{}.cbor", hex::encode(authority.as_bytes())))
    }

    /// Verifies and installs a status list; refuses one older than the installed list.
    pub fn import_status(&self, bytes: &[u8]) -> Result<StatusList, StoreError> {
        let bundle = self.bundle()?.ok_or(StoreError::NoTrustBundle)?;
        let offered = StatusList::verify(bytes, &bundle)?;
        let path = self.status_path(&offered.issuer);
        if let Ok(existing) = fs::read(&path) {
            if let Ok(installed) = StatusList::verify(&existing, &bundle) {
                if installed.issued_at == offered.issued_at && existing != bytes {
                    return Err(StoreError::StatusConflict(offered.issuer));
                }
                if installed.issued_at > offered.issued_at {
                    return Err(StoreError::StatusRollback {
                        authority: offered.issuer,
                        offered: offered.issued_at,
                        installed: installed.issued_at,
                    });
                }
            }
        }
        fs::create_dir_all(self.dir.join(STATUS_DIR)).map_err(io(&self.dir))?;
        write_atomic(&path, bytes)?;
        Ok(offered)
    }

    /// Loads everything needed to verify. Status lists that no longer verify against
    /// the bundle (e.g. their key was retired) are skipped: their status is then unknown.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let root = self.root()?;
        let bundle = self.bundle()?.ok_or(StoreError::NoTrustBundle)?;
        let mut lists = StatusLists::default();
        let dir = self.dir.join(STATUS_DIR);
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "cbor") {
                    if let Ok(list) = fs::read(&path)
                        .map_err(drop)
                        .and_then(|b| StatusList::verify(&b, &bundle).map_err(drop))
                    {
                        lists.insert(list);
                    }
                }
            }
        }
        Ok(Loaded {
            root,
            bundle,
            lists,
        })
    }
}
