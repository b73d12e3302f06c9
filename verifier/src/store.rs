//! The verifier's store: a directory with the root public key, the installed trust
//! bundle and one status list per authority, and a manifest recording what was
//! installed (spec §9.4, §10.4 step 12).
//!
//! **Fail closed.** `manifest.json` names every installed file with its SHA-256 and
//! keeps the rollback floors (the bundle version and each authority's list
//! `issued_at`). Loading checks every file the manifest names; one that is missing,
//! unreadable or altered is a [`StoreError::Damaged`] naming the file and the command
//! that repairs it, and no verdict is given. A damaged status list therefore never
//! turns into "no status list" (which would let a revoked licence pass with a
//! warning), and the floors survive the loss of the file they protect.
//!
//! **Crash and concurrency safety.** Installed bundles and lists are stored under
//! their own digest (`trust-bundle/<sha256>.cbor`, `status/<sha256>.cbor`), so a
//! file's content never changes once written; the manifest, replaced atomically, is
//! the single commit point of an import. Imports hold an exclusive advisory lock
//! (`.lock`) from reading the manifest to installing the new one, so two imports
//! never decide on the same old state. Readers take no lock: a file removed by an
//! import that committed meanwhile is noticed by re-reading the manifest. A batch of
//! status lists ([`Store::import_status_lists`]) is one such import: one lock, the
//! new files written together, one manifest commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use credential::ed25519_dalek::VerifyingKey;
use credential::limits::{MAX_STATUS_LIST_BYTES, MAX_TRUST_BUNDLE_BYTES};
use credential::status_list::StatusList;
use credential::trust_bundle::TrustBundle;
use credential::{DocumentError, StatusLists};
use serde::{Deserialize, Serialize};

const ROOT_FILE: &str = "root.pub";
const MANIFEST_FILE: &str = "manifest.json";
const LOCK_FILE: &str = ".lock";
const BUNDLE_DIR: &str = "trust-bundle";
const STATUS_DIR: &str = "status";
const ROOT_COMMENT: &str = "untrusted comment: licence verifier root public key (Ed25519, base64)";
const MANIFEST_FORMAT: &str = "licence-verifier-store/1";
/// A root.pub is a few hundred bytes; anything far larger is damage.
const MAX_SMALL_FILE_BYTES: u64 = 64 * 1024;
/// The manifest records one status list per authority, about 200 bytes each, and a
/// bundle lists at most 4096 keys (spec §2.2), so 4 MiB holds a national store
/// (400 authorities ≈ 80 KB); anything larger is damage.
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// How often a reader re-reads the manifest when an import replaced a file under it.
const LOAD_ATTEMPTS: usize = 8;
/// Directories and files of the store: readable by the operator's account only is
/// not needed (nothing secret), but nobody else may write them.
const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o644;

/// A file of the store, as named in errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreFile {
    /// `manifest.json`.
    Manifest,
    /// `root.pub`.
    Root,
    /// The installed trust bundle.
    TrustBundle,
    /// The installed status list of an authority.
    StatusList(String),
}

impl StoreFile {
    /// The command that repairs this file.
    pub fn repair(&self) -> &'static str {
        match self {
            StoreFile::Manifest => "verifier init --root KEY --force, then import the trust bundle and status lists again",
            StoreFile::Root => "verifier init --root KEY (the same national root key)",
            StoreFile::TrustBundle => "verifier trust import FILE (the current trust bundle)",
            StoreFile::StatusList(_) => "verifier status import FILE (the authority's current status list)",
        }
    }

    /// A short name of the file's role.
    pub fn role(&self) -> String {
        match self {
            StoreFile::Manifest => "store manifest".into(),
            StoreFile::Root => "root key".into(),
            StoreFile::TrustBundle => "trust bundle".into(),
            StoreFile::StatusList(authority) => format!("status list of {authority}"),
        }
    }
}

/// How an installed file is damaged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The manifest names it but it is not there.
    Missing,
    /// It exists but cannot be read (a directory, permissions, I/O error).
    Unreadable(String),
    /// Its bytes differ from what was installed (truncated, emptied, bit flips, replaced).
    Altered,
    /// It is intact but does not verify or parse (the manifest cannot be parsed, the
    /// bundle is not signed by the root, the root key file is not a key).
    Invalid(String),
}

/// What can go wrong with the store. Each says what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// File system error while writing or reading something outside the installed set.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// An installed file is missing, unreadable, altered or invalid: no verdict is possible.
    #[error("{} ({}) {}; no verdict can be given until it is repaired: {}", path.display(), file.role(), damage_text(damage), file.repair())]
    Damaged {
        /// Which file.
        file: StoreFile,
        /// Its path.
        path: PathBuf,
        /// What is wrong.
        damage: Damage,
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
    #[error("a different root key is already configured in {0}; use --force to replace it (this forgets the installed bundle and lists)")]
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

fn damage_text(damage: &Damage) -> String {
    match damage {
        Damage::Missing => "is missing".into(),
        Damage::Unreadable(e) => format!("cannot be read ({e})"),
        Damage::Altered => "differs from what was installed (damaged or replaced)".into(),
        Damage::Invalid(e) => format!("is invalid ({e})"),
    }
}

/// How the command line reports a [`StoreError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// A refusal of offered material (exit 1).
    Refused,
    /// A usage problem: store not set up, bad argument, I/O on a given file (exit 2).
    Usage,
    /// The store's installed material is damaged (exit 3).
    Store,
}

impl StoreError {
    /// Every code [`StoreError::code`] can return, apart from the document codes of
    /// `DocumentError` (which have their own list).
    pub const CODES: [&'static str; 13] = [
        "io_error",
        "store_file_missing",
        "store_file_unreadable",
        "store_file_altered",
        "store_file_invalid",
        "not_initialised",
        "no_trust_bundle",
        "bad_root_key",
        "root_already_set",
        "trust_bundle_rollback",
        "trust_bundle_conflict",
        "status_list_rollback",
        "status_list_conflict",
    ];

    /// Whether this is a refusal (exit 1) rather than a usage or I/O problem (exit 2).
    pub fn is_refusal(&self) -> bool {
        self.class() == ErrorClass::Refused
    }

    /// Refusal, usage problem or damaged store.
    pub fn class(&self) -> ErrorClass {
        match self {
            StoreError::Document(_)
            | StoreError::Rollback { .. }
            | StoreError::VersionConflict(_)
            | StoreError::StatusRollback { .. }
            | StoreError::StatusConflict(_) => ErrorClass::Refused,
            StoreError::Damaged { .. } => ErrorClass::Store,
            _ => ErrorClass::Usage,
        }
    }

    /// Stable reason code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "io_error",
            StoreError::Damaged { damage, .. } => match damage {
                Damage::Missing => "store_file_missing",
                Damage::Unreadable(_) => "store_file_unreadable",
                Damage::Altered => "store_file_altered",
                Damage::Invalid(_) => "store_file_invalid",
            },
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

fn root_file_text(root: &VerifyingKey) -> String {
    format!(
        "{ROOT_COMMENT}\n{}\n",
        base64::engine::general_purpose::STANDARD.encode(root.as_bytes())
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(credential::signature::sha256(bytes))
}

/// One installed file as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Installed {
    /// Path relative to the store directory.
    file: String,
    sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InstalledBundle {
    #[serde(flatten)]
    installed: Installed,
    /// The rollback floor: no lower version is ever installed again.
    version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InstalledList {
    #[serde(flatten)]
    installed: Installed,
    /// The rollback floor of this authority's lists.
    issued_at: u64,
}

/// `manifest.json`: what the store installed, and the rollback floors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    root: Installed,
    trust_bundle: Option<InstalledBundle>,
    /// By authority code.
    status_lists: BTreeMap<String, InstalledList>,
}

impl Manifest {
    fn new(root: &VerifyingKey) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT.into(),
            root: Installed {
                file: ROOT_FILE.into(),
                sha256: sha256_hex(root_file_text(root).as_bytes()),
            },
            trust_bundle: None,
            status_lists: BTreeMap::new(),
        }
    }

    /// Every file the manifest names, relative to the store.
    fn files(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.root.file.as_str())
            .chain(self.trust_bundle.iter().map(|b| b.installed.file.as_str()))
            .chain(
                self.status_lists
                    .values()
                    .map(|l| l.installed.file.as_str()),
            )
    }
}

/// What a status-list import judges a candidate against, per authority.
#[derive(Clone, Debug, Default)]
struct Floor {
    /// The rollback floor.
    issued_at: u64,
    /// The digest of the list at the floor.
    sha256: String,
    /// Whether the list at the floor still passes §10.4 steps 1–11 (or is damaged,
    /// whose floor holds all the same); an untrusted one is replaced by any candidate.
    trusted: bool,
    /// Whether the file named by the manifest holds exactly this list.
    intact: bool,
}

/// `f` over `items` on every core, results in order. Verifying a status list is pure
/// CPU (inflate and a signature), so a batch import spreads it.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    if items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|chunk| scope.spawn(|| chunk.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
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

/// Reads of the manifest: absent, or its bytes and content.
enum ManifestRead {
    Absent,
    Present(Vec<u8>, Manifest),
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

    /// The path of an installed file, e.g. for the repair hint or tests that damage it.
    /// `None` if nothing of that kind is installed.
    pub fn installed_path(&self, file: &StoreFile) -> Result<Option<PathBuf>, StoreError> {
        let manifest = self.manifest()?;
        let relative = match file {
            StoreFile::Manifest => Some(MANIFEST_FILE),
            StoreFile::Root => Some(manifest.root.file.as_str()),
            StoreFile::TrustBundle => manifest
                .trust_bundle
                .as_ref()
                .map(|b| b.installed.file.as_str()),
            StoreFile::StatusList(authority) => manifest
                .status_lists
                .get(authority)
                .map(|l| l.installed.file.as_str()),
        };
        Ok(relative.map(|r| self.dir.join(r)))
    }

    fn damaged(&self, file: StoreFile, relative: &str, damage: Damage) -> StoreError {
        StoreError::Damaged {
            file,
            path: self.dir.join(relative),
            damage,
        }
    }

    fn lock(&self) -> Result<atomic_file::Lock, StoreError> {
        atomic_file::create_dir_all(&self.dir, DIR_MODE).map_err(io(&self.dir))?;
        let path = self.dir.join(LOCK_FILE);
        atomic_file::lock_exclusive(&path).map_err(io(&path))
    }

    /// Reads a file the manifest names, bounded, as the given role.
    fn read_installed(
        &self,
        file: StoreFile,
        relative: &str,
        max: u64,
    ) -> Result<Vec<u8>, StoreError> {
        match atomic_file::read_bounded(&self.dir.join(relative), max) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(self.damaged(file, relative, Damage::Missing)),
            Err(atomic_file::ReadError::TooLarge { .. }) => {
                Err(self.damaged(file, relative, Damage::Altered))
            }
            Err(atomic_file::ReadError::Io(e)) => {
                Err(self.damaged(file, relative, Damage::Unreadable(e.to_string())))
            }
        }
    }

    /// Reads an installed file and checks it against its recorded digest.
    fn read_checked(
        &self,
        file: StoreFile,
        installed: &Installed,
        max: u64,
    ) -> Result<Vec<u8>, StoreError> {
        let bytes = self.read_installed(file.clone(), &installed.file, max)?;
        if sha256_hex(&bytes) != installed.sha256 {
            return Err(self.damaged(file, &installed.file, Damage::Altered));
        }
        Ok(bytes)
    }

    fn read_manifest(&self) -> Result<ManifestRead, StoreError> {
        let bytes =
            match atomic_file::read_bounded(&self.dir.join(MANIFEST_FILE), MAX_MANIFEST_BYTES) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Ok(ManifestRead::Absent),
                Err(atomic_file::ReadError::TooLarge { .. }) => {
                    return Err(self.damaged(
                        StoreFile::Manifest,
                        MANIFEST_FILE,
                        Damage::Invalid("too large".into()),
                    ))
                }
                Err(atomic_file::ReadError::Io(e)) => {
                    return Err(self.damaged(
                        StoreFile::Manifest,
                        MANIFEST_FILE,
                        Damage::Unreadable(e.to_string()),
                    ))
                }
            };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            self.damaged(
                StoreFile::Manifest,
                MANIFEST_FILE,
                Damage::Invalid(e.to_string()),
            )
        })?;
        let safe = |relative: &str| {
            let path = Path::new(relative);
            path.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
        };
        if manifest.format != MANIFEST_FORMAT || !manifest.files().all(safe) {
            return Err(self.damaged(
                StoreFile::Manifest,
                MANIFEST_FILE,
                Damage::Invalid(format!("not a {MANIFEST_FORMAT} manifest")),
            ));
        }
        Ok(ManifestRead::Present(bytes, manifest))
    }

    /// The manifest of an initialised store. A store with a root key but no manifest
    /// lost it (or predates it): that is damage, not "not initialised".
    fn manifest(&self) -> Result<Manifest, StoreError> {
        self.manifest_with_bytes().map(|(_, m)| m)
    }

    fn manifest_with_bytes(&self) -> Result<(Vec<u8>, Manifest), StoreError> {
        match self.read_manifest()? {
            ManifestRead::Present(bytes, manifest) => Ok((bytes, manifest)),
            ManifestRead::Absent if self.dir.join(ROOT_FILE).exists() => {
                Err(self.damaged(StoreFile::Manifest, MANIFEST_FILE, Damage::Missing))
            }
            ManifestRead::Absent => Err(StoreError::NotInitialised(self.dir.clone())),
        }
    }

    fn write_manifest(&self, manifest: &Manifest) -> Result<(), StoreError> {
        let path = self.dir.join(MANIFEST_FILE);
        let mut text = serde_json::to_string_pretty(manifest).map_err(|e| StoreError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        atomic_file::replace(&path, text.as_bytes(), FILE_MODE).map_err(io(&path))
    }

    /// Writes content-addressed bytes under `subdir`; returns the manifest record.
    fn install_file(&self, subdir: &str, bytes: &[u8]) -> Result<Installed, StoreError> {
        let dir = self.dir.join(subdir);
        atomic_file::create_dir_all(&dir, DIR_MODE).map_err(io(&dir))?;
        atomic_file::sync_directory(&dir).map_err(io(&self.dir))?;
        let sha256 = sha256_hex(bytes);
        let relative = format!("{subdir}/{sha256}.cbor");
        let path = self.dir.join(&relative);
        atomic_file::remove_stale_temporaries(&path);
        // Replace (not create_new): the name may hold a damaged copy being repaired.
        atomic_file::replace(&path, bytes, FILE_MODE).map_err(io(&path))?;
        Ok(Installed {
            file: relative,
            sha256,
        })
    }

    /// Removes files of `subdir` the manifest no longer names (replaced versions, or
    /// left by an import that crashed before its commit). Best effort.
    fn remove_unrecorded(&self, manifest: &Manifest, subdir: &str) {
        let Ok(entries) = std::fs::read_dir(self.dir.join(subdir)) else {
            return;
        };
        let recorded: Vec<&str> = manifest.files().collect();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{subdir}/{name}");
            if name.ends_with(".cbor") && !recorded.contains(&relative.as_str()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Configures the root key. Refuses to replace a different one unless `force`,
    /// which starts the store afresh. With the same key it repairs a damaged or
    /// missing `root.pub`; `force` also rebuilds a damaged or lost manifest.
    pub fn init(&self, root: &VerifyingKey, force: bool) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let text = root_file_text(root);
        let fresh = Manifest::new(root);
        let manifest = match self.read_manifest() {
            Ok(ManifestRead::Present(_, existing)) => {
                if existing.root.sha256 == fresh.root.sha256 {
                    existing
                } else if force {
                    fresh
                } else {
                    return Err(StoreError::RootAlreadySet(self.dir.join(ROOT_FILE)));
                }
            }
            Ok(ManifestRead::Absent) => match std::fs::read_to_string(self.dir.join(ROOT_FILE))
                .ok()
                .and_then(|t| parse_root_key(&t).ok())
            {
                Some(existing) if existing != *root && !force => {
                    return Err(StoreError::RootAlreadySet(self.dir.join(ROOT_FILE)))
                }
                _ => fresh,
            },
            Err(damaged) if !force => return Err(damaged),
            Err(_) => fresh,
        };
        let path = self.dir.join(ROOT_FILE);
        atomic_file::replace(&path, text.as_bytes(), FILE_MODE).map_err(io(&path))?;
        self.write_manifest(&manifest)?;
        self.remove_unrecorded(&manifest, BUNDLE_DIR);
        self.remove_unrecorded(&manifest, STATUS_DIR);
        Ok(())
    }

    fn root_of(&self, manifest: &Manifest) -> Result<VerifyingKey, StoreError> {
        let bytes = self.read_checked(StoreFile::Root, &manifest.root, MAX_SMALL_FILE_BYTES)?;
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| parse_root_key(text).ok())
            .ok_or_else(|| {
                self.damaged(
                    StoreFile::Root,
                    &manifest.root.file,
                    Damage::Invalid("not an Ed25519 public key".into()),
                )
            })
    }

    fn bundle_of(
        &self,
        manifest: &Manifest,
        root: &VerifyingKey,
    ) -> Result<Option<TrustBundle>, StoreError> {
        let Some(entry) = &manifest.trust_bundle else {
            return Ok(None);
        };
        let bytes = self.read_checked(
            StoreFile::TrustBundle,
            &entry.installed,
            MAX_TRUST_BUNDLE_BYTES as u64,
        )?;
        TrustBundle::verify(&bytes, root).map(Some).map_err(|e| {
            self.damaged(
                StoreFile::TrustBundle,
                &entry.installed.file,
                Damage::Invalid(e.to_string()),
            )
        })
    }

    /// The configured root key.
    pub fn root(&self) -> Result<VerifyingKey, StoreError> {
        self.root_of(&self.manifest()?)
    }

    /// The installed trust bundle, if any.
    pub fn bundle(&self) -> Result<Option<TrustBundle>, StoreError> {
        let manifest = self.manifest()?;
        let root = self.root_of(&manifest)?;
        self.bundle_of(&manifest, &root)
    }

    /// Verifies and installs a trust bundle; refuses rollback against the floor kept
    /// in the manifest (so a damaged installed bundle does not lower it). Re-importing
    /// the installed bundle repairs a damaged copy. Returns the new bundle.
    pub fn import_trust(&self, bytes: &[u8]) -> Result<TrustBundle, StoreError> {
        let _lock = self.lock()?;
        let mut manifest = self.manifest()?;
        let root = self.root_of(&manifest)?;
        let offered = TrustBundle::verify(bytes, &root)?;
        if let Some(installed) = &manifest.trust_bundle {
            let offered_v = offered.content.version;
            if offered_v < installed.version {
                return Err(StoreError::Rollback {
                    offered: offered_v,
                    installed: installed.version,
                });
            }
            if offered_v == installed.version && sha256_hex(bytes) != installed.installed.sha256 {
                return Err(StoreError::VersionConflict(offered_v));
            }
        }
        let installed = self.install_file(BUNDLE_DIR, bytes)?;
        manifest.trust_bundle = Some(InstalledBundle {
            installed,
            version: offered.content.version,
        });
        self.write_manifest(&manifest)?;
        self.remove_unrecorded(&manifest, BUNDLE_DIR);
        Ok(offered)
    }

    /// Verifies and installs a status list; refuses one older than the floor of its
    /// authority (spec §10.4 step 12), unless the installed list is intact but no longer
    /// verifies against the bundle (its key was retired), which the candidate replaces.
    pub fn import_status(&self, bytes: &[u8]) -> Result<StatusList, StoreError> {
        self.import_status_lists(&[bytes])?
            .into_iter()
            .next()
            .unwrap_or_else(|| unreachable!("one result per candidate"))
    }

    /// Verifies and installs many status lists under one lock and one manifest
    /// commit: each candidate gets what [`Store::import_status`] would have given it
    /// had they been imported one by one in this order (a later candidate of one
    /// authority is judged against an earlier one accepted here). Returns one result
    /// per candidate; the outer error is a failure of the store itself (not set up,
    /// damaged, a write failed), in which case nothing was installed.
    ///
    /// Candidates are verified on every core (inflating a national list is most of
    /// the work) and the new files written together ([`atomic_file::replace_all`]).
    pub fn import_status_lists(
        &self,
        candidates: &[&[u8]],
    ) -> Result<Vec<Result<StatusList, StoreError>>, StoreError> {
        let _lock = self.lock()?;
        let mut manifest = self.manifest()?;
        let root = self.root_of(&manifest)?;
        let bundle = self
            .bundle_of(&manifest, &root)?
            .ok_or(StoreError::NoTrustBundle)?;
        let verified = parallel_map(candidates, |bytes| StatusList::verify(bytes, &bundle));
        let authorities: Vec<&String> = {
            let mut named: Vec<&String> = verified
                .iter()
                .flatten()
                .map(|list| &list.issuer)
                .filter(|issuer| manifest.status_lists.contains_key(*issuer))
                .collect();
            named.sort();
            named.dedup();
            named
        };
        let installed_states = parallel_map(&authorities, |authority| {
            self.installed_state(authority, &manifest, &bundle)
        });
        let mut floors: BTreeMap<String, Floor> = authorities
            .iter()
            .zip(installed_states)
            .map(|(authority, state)| ((*authority).clone(), state))
            .collect();

        // Step 12, candidate by candidate, against the floors as they move.
        let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
        let mut results = Vec::with_capacity(candidates.len());
        for (index, (bytes, offered)) in candidates.iter().zip(verified).enumerate() {
            let offered = match offered {
                Ok(offered) => offered,
                Err(e) => {
                    results.push(Err(e.into()));
                    continue;
                }
            };
            let sha256 = sha256_hex(bytes);
            if let Some(floor) = floors.get(&offered.issuer).filter(|f| f.trusted) {
                if floor.issued_at == offered.issued_at && floor.sha256 != sha256 {
                    results.push(Err(StoreError::StatusConflict(offered.issuer)));
                    continue;
                }
                if floor.issued_at > offered.issued_at {
                    results.push(Err(StoreError::StatusRollback {
                        authority: offered.issuer,
                        offered: offered.issued_at,
                        installed: floor.issued_at,
                    }));
                    continue;
                }
            }
            let unchanged_and_intact = floors
                .get(&offered.issuer)
                .is_some_and(|f| f.intact && f.sha256 == sha256);
            floors.insert(
                offered.issuer.clone(),
                Floor {
                    issued_at: offered.issued_at,
                    sha256,
                    trusted: true,
                    intact: unchanged_and_intact,
                },
            );
            accepted.insert(offered.issuer.clone(), index);
            results.push(Ok(offered));
        }

        // What to write: the last accepted list of each authority, unless it is the
        // installed file, intact (re-importing it repairs a damaged copy).
        let mut writes: Vec<(PathBuf, &[u8])> = Vec::new();
        for (authority, index) in &accepted {
            let (Some(floor), Some(bytes)) = (floors.get(authority), candidates.get(*index)) else {
                continue;
            };
            let relative = format!("{STATUS_DIR}/{}.cbor", floor.sha256);
            if !floor.intact {
                writes.push((self.dir.join(&relative), bytes));
            }
            manifest.status_lists.insert(
                authority.clone(),
                InstalledList {
                    installed: Installed {
                        file: relative,
                        sha256: floor.sha256.clone(),
                    },
                    issued_at: floor.issued_at,
                },
            );
        }
        if writes.is_empty() {
            return Ok(results);
        }
        // Crash safety: the list files are written (each complete, fsynced, its
        // directory flushed) BEFORE the manifest that names them is replaced, and the
        // manifest replacement is the one commit point. A crash before it leaves the
        // old manifest, which names only old files (still there: files are named by
        // their digest and nothing the old manifest names is removed until after the
        // commit), plus unrecorded new files that the next import removes; a crash
        // after it leaves the new manifest, every file of which is already durable.
        // So every list is old or new, never a manifest naming an incomplete file.
        let status_dir = self.dir.join(STATUS_DIR);
        atomic_file::create_dir_all(&status_dir, DIR_MODE).map_err(io(&status_dir))?;
        atomic_file::sync_directory(&status_dir).map_err(io(&self.dir))?;
        for (path, _) in &writes {
            atomic_file::remove_stale_temporaries(path);
        }
        let files: Vec<(&Path, &[u8])> = writes.iter().map(|(p, b)| (p.as_path(), *b)).collect();
        atomic_file::replace_all(&files, FILE_MODE).map_err(io(&status_dir))?;
        self.write_manifest(&manifest)?;
        self.remove_unrecorded(&manifest, STATUS_DIR);
        Ok(results)
    }

    /// The floor of an authority's installed list (§10.4 step 12): whether its file is
    /// intact, and whether it still passes steps 1–11. A damaged file still counts as
    /// trusted: its floor, kept in the manifest, holds.
    fn installed_state(&self, authority: &str, manifest: &Manifest, bundle: &TrustBundle) -> Floor {
        let Some(installed) = manifest.status_lists.get(authority) else {
            return Floor::default();
        };
        let (intact, trusted) = match self.read_checked(
            StoreFile::StatusList(authority.to_owned()),
            &installed.installed,
            MAX_STATUS_LIST_BYTES as u64,
        ) {
            Ok(existing) => (true, StatusList::verify(&existing, bundle).is_ok()),
            Err(_) => (false, true),
        };
        Floor {
            issued_at: installed.issued_at,
            sha256: installed.installed.sha256.clone(),
            trusted,
            intact,
        }
    }

    /// Loads everything needed to verify, checking every installed file against the
    /// manifest. Status lists that are intact but no longer verify against the bundle
    /// (e.g. their key was retired) are skipped: their status is then unknown (§9.4).
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let mut attempt = 0;
        loop {
            let (manifest_bytes, manifest) = self.manifest_with_bytes()?;
            match self.load_from(&manifest) {
                Err(StoreError::Damaged {
                    damage: Damage::Missing,
                    ..
                }) if attempt + 1 < LOAD_ATTEMPTS
                    && self
                        .manifest_with_bytes()
                        .is_ok_and(|(now, _)| now != manifest_bytes) =>
                {
                    // An import committed a new manifest and removed the file we were
                    // about to read: read the new state.
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn load_from(&self, manifest: &Manifest) -> Result<Loaded, StoreError> {
        let root = self.root_of(manifest)?;
        let bundle = self
            .bundle_of(manifest, &root)?
            .ok_or(StoreError::NoTrustBundle)?;
        let mut lists = StatusLists::default();
        for (authority, installed) in &manifest.status_lists {
            let bytes = self.read_checked(
                StoreFile::StatusList(authority.clone()),
                &installed.installed,
                MAX_STATUS_LIST_BYTES as u64,
            )?;
            if let Ok(list) = StatusList::verify(&bytes, &bundle) {
                if list.issuer == *authority {
                    lists.insert(list);
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
