//! Authority signing keys, encrypted at rest.
//!
//! An authority's Ed25519 signing key is what every licence it issues rests on, so a
//! copied key file must be useless without its passphrase, and a clerk must still be
//! able to tell what a file is (and read its public key) without typing the
//! passphrase. The file is therefore small, text and minisign-like (STYLE 14):
//!
//! ```text
//! untrusted comment: licence authority key 川J (kid 1a2b3c)
//! algorithm: argon2id-chacha20poly1305 v1
//! <base64 (standard, padded) of the 92-byte sealed key>
//! public: <base64 (standard, padded) of the 32-byte Ed25519 public key>
//! ```
//!
//! Exactly four lines, each ending in `\n`. The sealed key is
//!
//! ```text
//! "DLK1" || m_cost KiB (u32 LE) || t_cost (u32 LE) || p_cost (u32 LE)
//!        || salt (16 bytes) || nonce (12 bytes) || ciphertext (32-byte seed + 16-byte tag)
//! ```
//!
//! - key-encryption key = Argon2id (v1.3) of the passphrase and salt with the stored
//!   costs, 32 bytes;
//! - ciphertext = ChaCha20-Poly1305 of the Ed25519 seed under that key and nonce, with
//!   associated data = the 44 bytes before the ciphertext || the public key. Changing
//!   the costs, salt, nonce or public-key line therefore makes decryption fail.
//!
//! The comment is *untrusted*, as in minisign: it is not authenticated, so it can be
//! edited, and nothing may rely on it. The public-key line is only authenticated when
//! the file is decrypted; [`read_public_key`] checks that it is a valid Ed25519 point
//! but cannot tell whether someone replaced it.
//!
//! Costs: [`KdfParams::default`] is m = 64 MiB, t = 3, p = 1 (about a second on an office
//! PC, so a stolen file resists guessing). Tests use [`KdfParams::fast_for_tests`]; a
//! *debug* build of the CLI picks those when `ISSUER_INSECURE_FAST_KDF=1`
//! ([`KdfParams::from_env`]); a release build has no such switch and refuses to unlock
//! a key file with weaker costs than the default. When reading, the costs come from the file and are bounded
//! (m <= 1 GiB, t <= 20, p <= 8) so that a hostile file cannot exhaust the machine.
//!
//! Secrets (passphrase copies, derived key, Argon2 working memory, decrypted seed) are
//! held in [`Zeroizing`] buffers or wiped explicitly; `SigningKey` wipes itself on drop.
//! No error message contains a passphrase or key bytes.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use credential::ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

/// Environment variable that selects [`KdfParams::fast_for_tests`] when set to `1`,
/// read by debug builds only ([`KdfParams::from_env`]).
///
/// For automated tests only: a key written with these costs can be brute-forced.
pub const INSECURE_FAST_KDF_ENV: &str = "ISSUER_INSECURE_FAST_KDF";

const MAGIC: &[u8; 4] = b"DLK1";
const COMMENT_PREFIX: &str = "untrusted comment: ";
const ALGORITHM_LINE: &str = "algorithm: argon2id-chacha20poly1305 v1";
const PUBLIC_PREFIX: &str = "public: ";

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const SEED_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Magic, three costs, salt, nonce: the authenticated header before the ciphertext.
const HEADER_LEN: usize = 4 + 3 * 4 + SALT_LEN + NONCE_LEN;
const SEALED_LEN: usize = HEADER_LEN + SEED_LEN + TAG_LEN;

/// Upper bounds on the costs read from a file (1 GiB, 20 passes, 8 lanes).
const MAX_M_COST_KIB: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 20;
const MAX_P_COST: u32 = 8;

/// A comment is one line of at most this many bytes.
const MAX_COMMENT_BYTES: usize = 1024;
/// A key file is a few hundred bytes; anything larger is not one.
const MAX_KEY_FILE_BYTES: u64 = 4096;
/// A passphrase file holds one line; refuse to slurp something else by mistake.
const MAX_PASSPHRASE_FILE_BYTES: u64 = 64 * 1024;

/// What can go wrong with a key file or a passphrase. No variant carries secret bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A file could not be read, written or synced.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "create", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The key file to be written already exists.
    #[error(
        "{} already exists; refusing to overwrite a signing key \
         (move the old file away first if it really is to be replaced)",
        .0.display()
    )]
    Exists(PathBuf),
    /// Decryption failed: the passphrase is wrong (or the sealed part was altered).
    #[error(
        "wrong passphrase: the key file cannot be decrypted with it \
         (if the passphrase is surely right, the file was altered: restore it from a backup)"
    )]
    WrongPassphrase,
    /// The key file can be read by other users: refused before it is decrypted.
    #[error("{} can be read by other users (mode {mode:o}): run `chmod 600 {}` and check who copied it", path.display(), path.display())]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A release build met a key file written with test-only key-derivation costs.
    #[error("{} was written with test-only key-derivation costs and could be brute-forced: create a new key (key rotate) with a release build", .0.display())]
    WeakKdf(PathBuf),
    /// The file is not a well-formed key file.
    #[error("not a valid key file: {0} (restore the file from a backup)")]
    Malformed(String),
    /// Key-derivation costs outside what Argon2 or this program accepts.
    #[error("invalid key-derivation costs: {0}")]
    InvalidKdfParams(String),
    /// The comment for a new key file is not a single short line.
    #[error("invalid key comment: {0}")]
    InvalidComment(String),
    /// The operating system's random source failed.
    #[error("the operating system's random number generator failed ({0}); try again")]
    Random(getrandom::Error),
    /// Encryption failed (an internal error; nothing the user did).
    #[error("encrypting the key failed (internal error); the key file was not written")]
    Encryption,
    /// The passphrase is empty (the text names where it came from).
    #[error("{0} is empty; a signing key needs a non-empty passphrase")]
    EmptyPassphrase(String),
    /// The passphrase environment variable is not set.
    #[error(
        "environment variable {0} is not set (set it, or use a passphrase file or the prompt)"
    )]
    PassphraseEnvMissing(String),
    /// The passphrase file is larger than a passphrase can be.
    #[error(
        "passphrase file {} is larger than 64 KiB; it should hold the passphrase on its first line",
        .0.display()
    )]
    PassphraseFileTooLarge(PathBuf),
    /// The passphrase and its confirmation differ.
    #[error("the two passphrases typed do not match; try again")]
    PassphraseMismatch,
    /// The terminal prompt failed.
    #[error(
        "cannot ask for the passphrase on the terminal ({0}); \
         use --passphrase-file or the ISSUER_PASSPHRASE environment variable"
    )]
    Prompt(io::Error),
}

fn malformed(reason: impl Into<String>) -> KeyError {
    KeyError::Malformed(reason.into())
}

/// Argon2id costs used to derive the key-encryption key from the passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl Default for KdfParams {
    /// m = 64 MiB, t = 3, p = 1: RFC 9106's second recommended option, raised to three
    /// passes; about a second per guess on an office PC.
    fn default() -> Self {
        KdfParams {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    /// Costs of 1 MiB and one pass, so tests run fast. **Insecure**: a key file written
    /// with these can be brute-forced; use them only for test keys.
    pub fn fast_for_tests() -> Self {
        KdfParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// Explicit costs, checked against Argon2's minimums and this module's bounds
    /// (m <= 1 GiB, t <= 20, p <= 8).
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, KeyError> {
        if m_cost_kib > MAX_M_COST_KIB {
            return Err(KeyError::InvalidKdfParams(format!(
                "memory cost {m_cost_kib} KiB exceeds the limit of {MAX_M_COST_KIB} KiB"
            )));
        }
        if t_cost > MAX_T_COST {
            return Err(KeyError::InvalidKdfParams(format!(
                "time cost {t_cost} exceeds the limit of {MAX_T_COST}"
            )));
        }
        if p_cost > MAX_P_COST {
            return Err(KeyError::InvalidKdfParams(format!(
                "parallelism {p_cost} exceeds the limit of {MAX_P_COST}"
            )));
        }
        let params = KdfParams {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        params.argon2_params()?;
        Ok(params)
    }

    /// The costs for new key files, and the least the CLI accepts when unlocking
    /// ([`read_key_file_at_least`]): the strong default. Only a debug build (the one
    /// `cargo test` drives) reads [`INSECURE_FAST_KDF_ENV`]; a release binary has no
    /// switch that weakens key encryption, and so refuses to unlock a key file
    /// written with weaker costs than the default ([`KeyError::WeakKdf`]).
    pub fn from_env() -> Self {
        #[cfg(debug_assertions)]
        if std::env::var_os(INSECURE_FAST_KDF_ENV).as_deref() == Some(std::ffi::OsStr::new("1")) {
            return KdfParams::fast_for_tests();
        }
        KdfParams::default()
    }

    /// Memory cost in KiB.
    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    /// Number of passes.
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Degree of parallelism (lanes).
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    fn argon2_params(&self) -> Result<Params, KeyError> {
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| KeyError::InvalidKdfParams(e.to_string()))
    }
}

/// A fresh signing key from the operating system's random source.
pub fn generate_signing_key() -> Result<SigningKey, KeyError> {
    let mut seed = Zeroizing::new([0u8; SEED_LEN]);
    getrandom::getrandom(seed.as_mut_slice()).map_err(KeyError::Random)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Argon2id(passphrase, salt) → 32-byte key, wiping Argon2's working memory afterwards
/// (the `argon2` crate only does so itself with its `zeroize` feature).
fn derive_key(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let argon2_params = params.argon2_params()?;
    let mut blocks = vec![Block::default(); argon2_params.block_count()];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);
    let mut key = Zeroizing::new([0u8; 32]);
    let result =
        argon2.hash_password_into_with_memory(passphrase, salt, key.as_mut_slice(), &mut blocks);
    for block in &mut blocks {
        block.as_mut().zeroize();
    }
    result.map_err(|e| KeyError::InvalidKdfParams(e.to_string()))?;
    Ok(key)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(KeyError::Random)?;
    Ok(bytes)
}

fn associated_data(header: &[u8], public: &[u8; 32]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + public.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(public);
    aad
}

/// The four lines of a key file, without the newline of the last one.
fn encode_key_file(
    key: &SigningKey,
    passphrase: &[u8],
    comment: &str,
    params: KdfParams,
) -> Result<String, KeyError> {
    let salt: [u8; SALT_LEN] = random_bytes()?;
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let public = key.verifying_key().to_bytes();

    let mut sealed = Vec::with_capacity(SEALED_LEN);
    sealed.extend_from_slice(MAGIC);
    sealed.extend_from_slice(&params.m_cost_kib.to_le_bytes());
    sealed.extend_from_slice(&params.t_cost.to_le_bytes());
    sealed.extend_from_slice(&params.p_cost.to_le_bytes());
    sealed.extend_from_slice(&salt);
    sealed.extend_from_slice(&nonce);
    let aad = associated_data(&sealed, &public);

    let kek = derive_key(passphrase, &salt, params)?;
    let cipher =
        ChaCha20Poly1305::new_from_slice(kek.as_slice()).map_err(|_| KeyError::Encryption)?;
    let seed = Zeroizing::new(key.to_bytes());
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: seed.as_slice(),
                aad: &aad,
            },
        )
        .map_err(|_| KeyError::Encryption)?;
    sealed.extend_from_slice(&ciphertext);
    if sealed.len() != SEALED_LEN {
        return Err(KeyError::Encryption);
    }

    Ok(format!(
        "{COMMENT_PREFIX}{comment}\n{ALGORITHM_LINE}\n{}\n{PUBLIC_PREFIX}{}\n",
        BASE64.encode(&sealed),
        BASE64.encode(public)
    ))
}

fn check_comment(comment: &str) -> Result<(), KeyError> {
    if comment.len() > MAX_COMMENT_BYTES {
        return Err(KeyError::InvalidComment(format!(
            "{} bytes long; at most {MAX_COMMENT_BYTES} bytes",
            comment.len()
        )));
    }
    if comment.chars().any(char::is_control) {
        return Err(KeyError::InvalidComment(
            "it must be a single line without control characters".to_owned(),
        ));
    }
    Ok(())
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> KeyError {
    let path = path.to_path_buf();
    move |source| KeyError::Io {
        action,
        path,
        source,
    }
}

/// Encrypts `key` under `passphrase` and writes a new key file at `path`.
///
/// The file is created with mode 0600 and appears atomically and complete, never
/// replacing an existing file ([`KeyError::Exists`]): [`atomic_file::create_new`].
/// `comment` goes on the untrusted first line.
pub fn write_key_file(
    path: &Path,
    key: &SigningKey,
    passphrase: &[u8],
    comment: &str,
    params: KdfParams,
) -> Result<(), KeyError> {
    check_comment(comment)?;
    if passphrase.is_empty() {
        return Err(KeyError::EmptyPassphrase(
            "the passphrase for the new key file".to_owned(),
        ));
    }
    // Fail before the slow key derivation; the link below re-checks without a race.
    if path.try_exists().map_err(io_error("check", path))? {
        return Err(KeyError::Exists(path.to_path_buf()));
    }
    let text = encode_key_file(key, passphrase, comment, params)?;
    atomic_file::create_new(path, text.as_bytes(), 0o600).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_path_buf()),
        _ => io_error("create", path)(e),
    })
}

/// Reads at most `max` bytes of `path`; larger files are refused by `too_large`.
fn read_bounded(
    path: &Path,
    max: u64,
    too_large: impl FnOnce() -> KeyError,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let file = File::open(path).map_err(io_error("read", path))?;
    // Preallocate so that secrets are not left behind in reallocated buffers.
    let capacity = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error("read", path))?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The parsed, not yet decrypted, content of a key file (nothing secret in it).
#[derive(Debug)]
struct KeyFile {
    header: [u8; HEADER_LEN],
    params: (u32, u32, u32),
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: [u8; SEED_LEN + TAG_LEN],
    public: [u8; 32],
}

/// A reader over a byte string that never panics (rustls-style `take`).
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u32_le(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

fn parse_key_file(bytes: &[u8]) -> Result<KeyFile, KeyError> {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("it is not UTF-8 text"))?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| malformed("its last line is incomplete (truncated file?)"))?;
    let lines: Vec<&str> = body.split('\n').collect();
    let [comment, algorithm, sealed, public] = <[&str; 4]>::try_from(lines).map_err(|lines| {
        malformed(format!(
            "it has {} lines; a key file has exactly 4",
            lines.len()
        ))
    })?;
    if !comment.starts_with(COMMENT_PREFIX) {
        return Err(malformed(format!(
            "line 1 does not start with '{COMMENT_PREFIX}'"
        )));
    }
    if algorithm != ALGORITHM_LINE {
        return Err(malformed(format!(
            "line 2 is not '{ALGORITHM_LINE}' (a newer or foreign key format?)"
        )));
    }
    let sealed = BASE64
        .decode(sealed)
        .map_err(|_| malformed("line 3 is not valid base64"))?;
    if sealed.len() != SEALED_LEN {
        return Err(malformed(format!(
            "line 3 holds {} bytes; a sealed key has {SEALED_LEN}",
            sealed.len()
        )));
    }
    let public = public
        .strip_prefix(PUBLIC_PREFIX)
        .ok_or_else(|| malformed(format!("line 4 does not start with '{PUBLIC_PREFIX}'")))?;
    let public: [u8; 32] = BASE64
        .decode(public)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| malformed("line 4 is not a base64 32-byte public key"))?;

    let truncated = || malformed("the sealed key is truncated");
    let mut reader = Reader { rest: &sealed };
    let header: [u8; HEADER_LEN] = reader.array().ok_or_else(truncated)?;
    let ciphertext = reader.array().ok_or_else(truncated)?;
    if !reader.rest.is_empty() {
        return Err(malformed("the sealed key has trailing bytes"));
    }
    let mut reader = Reader { rest: &header };
    if reader.take(MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(malformed("the sealed key does not start with DLK1"));
    }
    let m_cost = reader.u32_le().ok_or_else(truncated)?;
    let t_cost = reader.u32_le().ok_or_else(truncated)?;
    let p_cost = reader.u32_le().ok_or_else(truncated)?;
    let salt = reader.array().ok_or_else(truncated)?;
    let nonce = reader.array().ok_or_else(truncated)?;
    Ok(KeyFile {
        header,
        params: (m_cost, t_cost, p_cost),
        salt,
        nonce,
        ciphertext,
        public,
    })
}

fn read_and_parse(path: &Path) -> Result<KeyFile, KeyError> {
    let bytes = read_bounded(path, MAX_KEY_FILE_BYTES, || {
        malformed("it is larger than 4 KiB; key files are a few hundred bytes")
    })?;
    parse_key_file(&bytes)
}

fn open_key_file(file: &KeyFile, passphrase: &[u8]) -> Result<SigningKey, KeyError> {
    let (m_cost, t_cost, p_cost) = file.params;
    let params = KdfParams::new(m_cost, t_cost, p_cost).map_err(|e| match e {
        KeyError::InvalidKdfParams(reason) => malformed(reason),
        other => other,
    })?;
    let kek = derive_key(passphrase, &file.salt, params)?;
    let cipher =
        ChaCha20Poly1305::new_from_slice(kek.as_slice()).map_err(|_| KeyError::Encryption)?;
    let aad = associated_data(&file.header, &file.public);
    let seed = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(&file.nonce),
                Payload {
                    msg: &file.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyError::WrongPassphrase)?,
    );
    let mut seed_array = Zeroizing::new([0u8; SEED_LEN]);
    if seed.len() != SEED_LEN {
        return Err(malformed("the decrypted key has the wrong length"));
    }
    seed_array.copy_from_slice(&seed);
    let key = SigningKey::from_bytes(&seed_array);
    if key.verifying_key().to_bytes() != file.public {
        return Err(malformed(
            "the public key line does not belong to the encrypted key",
        ));
    }
    Ok(key)
}

/// Decrypts the signing key in the key file at `path`.
///
/// A wrong passphrase gives [`KeyError::WrongPassphrase`]; so does any change to the
/// sealed part or the public-key line (they are authenticated, and a wrong passphrase
/// and a tampered file cannot be told apart). A file that is not a key file gives
/// [`KeyError::Malformed`], before any key derivation.
pub fn read_key_file(path: &Path, passphrase: &[u8]) -> Result<SigningKey, KeyError> {
    read_key_file_at_least(path, passphrase, None)
}

/// [`read_key_file`], refusing ([`KeyError::WeakKdf`]) a file whose key-derivation
/// costs are below `minimum` in memory or passes: how the CLI keeps a test key out
/// of production.
pub fn read_key_file_at_least(
    path: &Path,
    passphrase: &[u8],
    minimum: Option<KdfParams>,
) -> Result<SigningKey, KeyError> {
    refuse_exposed(path)?;
    let file = read_and_parse(path)?;
    if let Some(minimum) = minimum {
        let (m_cost_kib, t_cost, _) = file.params;
        if m_cost_kib < minimum.m_cost_kib || t_cost < minimum.t_cost {
            return Err(KeyError::WeakKdf(path.to_path_buf()));
        }
    }
    open_key_file(&file, passphrase)
}

/// A secret key file must be readable by its owner only.
fn refuse_exposed(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(io_error("read", path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The public key stored in clear on the key file's last line, without decrypting.
///
/// Checked to be a valid Ed25519 point, but not authenticated: only
/// [`read_key_file`] proves that it belongs to the encrypted key.
pub fn read_public_key(path: &Path) -> Result<[u8; 32], KeyError> {
    let file = read_and_parse(path)?;
    VerifyingKey::from_bytes(&file.public)
        .map_err(|_| malformed("line 4 is not a valid Ed25519 public key"))?;
    Ok(file.public)
}

/// Where a passphrase comes from. The CLI decides the order (`--passphrase-file`, then
/// the `ISSUER_PASSPHRASE` environment variable, then the terminal prompt).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassphraseSource {
    /// The first line of this file, without its line ending.
    File(PathBuf),
    /// The value of this environment variable (the name, not the value).
    Env(String),
    /// Ask on the terminal without echo.
    Prompt,
}

/// Reads a passphrase from `source`. With `confirm` (when creating a key), the prompt
/// asks twice and refuses a mismatch; files and variables are taken as they are.
/// An empty passphrase is refused from every source.
pub fn read_passphrase(
    source: &PassphraseSource,
    confirm: bool,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let (passphrase, from) = match source {
        PassphraseSource::File(path) => {
            let bytes = read_bounded(path, MAX_PASSPHRASE_FILE_BYTES, || {
                KeyError::PassphraseFileTooLarge(path.clone())
            })?;
            let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (
                Zeroizing::new(line.to_vec()),
                format!("the passphrase in file {}", path.display()),
            )
        }
        PassphraseSource::Env(name) => {
            let value = std::env::var_os(name)
                .ok_or_else(|| KeyError::PassphraseEnvMissing(name.clone()))?;
            (
                Zeroizing::new(os_string_bytes(value)),
                format!("the passphrase in environment variable {name}"),
            )
        }
        PassphraseSource::Prompt => {
            let first = prompt("Passphrase for the signing key: ")?;
            if confirm {
                let second = prompt("Repeat the passphrase: ")?;
                if first != second {
                    return Err(KeyError::PassphraseMismatch);
                }
            }
            (first, "the passphrase typed".to_owned())
        }
    };
    if passphrase.is_empty() {
        return Err(KeyError::EmptyPassphrase(from));
    }
    Ok(passphrase)
}

fn prompt(text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let answer = rpassword::prompt_password(text).map_err(KeyError::Prompt)?;
    Ok(Zeroizing::new(answer.into_bytes()))
}

#[cfg(unix)]
fn os_string_bytes(value: std::ffi::OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    value.into_vec()
}

#[cfg(not(unix))]
fn os_string_bytes(value: std::ffi::OsString) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const PASSPHRASE: &[u8] = b"correct horse battery staple";

    fn fixed_key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn encoded() -> String {
        encode_key_file(
            &fixed_key(),
            PASSPHRASE,
            "licence authority key 川J (kid 1a2b3c)",
            KdfParams::fast_for_tests(),
        )
        .unwrap()
    }

    fn open(bytes: &[u8]) -> Result<SigningKey, KeyError> {
        open_key_file(&parse_key_file(bytes)?, PASSPHRASE)
    }

    #[test]
    fn encode_then_open_round_trips() {
        let text = encoded();
        assert_eq!(text.lines().count(), 4);
        assert!(text.starts_with("untrusted comment: licence authority key 川J"));
        let key = open(text.as_bytes()).unwrap();
        assert_eq!(key.to_bytes(), fixed_key().to_bytes());
    }

    #[test]
    fn every_strict_prefix_is_rejected_without_panic() {
        let text = encoded();
        let bytes = text.as_bytes();
        for len in 0..bytes.len() {
            assert!(
                parse_key_file(&bytes[..len]).is_err(),
                "prefix of {len} bytes parsed"
            );
        }
    }

    #[test]
    fn every_sealed_byte_flip_is_rejected() {
        let text = encoded();
        let lines: Vec<&str> = text.lines().collect();
        let sealed = BASE64.decode(lines[2]).unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            let file = format!(
                "{}\n{}\n{}\n{}\n",
                lines[0],
                lines[1],
                BASE64.encode(&tampered),
                lines[3]
            );
            let result = open(file.as_bytes());
            assert!(result.is_err(), "flip at byte {i} accepted");
            if i >= MAGIC.len() + 12 {
                // Salt, nonce and ciphertext are only caught by authentication.
                assert!(matches!(result, Err(KeyError::WrongPassphrase)), "byte {i}");
            }
        }
    }

    #[test]
    fn swapped_public_key_is_rejected() {
        let text = encoded();
        let other = SigningKey::from_bytes(&[9u8; 32])
            .verifying_key()
            .to_bytes();
        let lines: Vec<&str> = text.lines().collect();
        let file = format!(
            "{}\n{}\n{}\npublic: {}\n",
            lines[0],
            lines[1],
            lines[2],
            BASE64.encode(other)
        );
        assert!(matches!(
            open(file.as_bytes()),
            Err(KeyError::WrongPassphrase)
        ));
    }

    #[test]
    fn the_comment_is_untrusted_and_may_be_edited() {
        let text = encoded();
        let edited = text.replacen("licence authority key 川J", "renamed", 1);
        assert_eq!(
            open(edited.as_bytes()).unwrap().to_bytes(),
            fixed_key().to_bytes()
        );
    }

    #[test]
    fn hostile_costs_are_refused_before_deriving() {
        let text = encoded();
        let lines: Vec<&str> = text.lines().collect();
        let sealed = BASE64.decode(lines[2]).unwrap();
        for (offset, value) in [
            (4, MAX_M_COST_KIB + 1),
            (4, u32::MAX),
            (8, MAX_T_COST + 1),
            (12, MAX_P_COST + 1),
            (8, 0),
            (12, 0),
            (4, 0),
        ] {
            let mut tampered = sealed.clone();
            tampered[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
            let file = format!(
                "{}\n{}\n{}\n{}\n",
                lines[0],
                lines[1],
                BASE64.encode(&tampered),
                lines[3]
            );
            assert!(
                matches!(open(file.as_bytes()), Err(KeyError::Malformed(_))),
                "cost {value} at {offset}"
            );
        }
    }

    #[test]
    fn malformed_files_are_refused() {
        let text = encoded();
        let cases = [
            text.replace('\n', "\r\n"),
            text.replacen("algorithm: argon2id-chacha20poly1305 v1", "algorithm: x", 1),
            text.replacen("untrusted comment: ", "comment: ", 1),
            text.replacen("public: ", "public:", 1),
            format!("{text}extra\n"),
            text.replacen('\n', "\n\n", 1),
            String::new(),
            "\n\n\n\n".to_owned(),
        ];
        for case in &cases {
            assert!(
                matches!(open(case.as_bytes()), Err(KeyError::Malformed(_))),
                "{case:?}"
            );
        }
        assert!(matches!(
            parse_key_file(&[0xff, 0xfe, b'\n']),
            Err(KeyError::Malformed(_))
        ));
    }

    #[test]
    fn wrong_passphrase_is_reported_as_such() {
        let text = encoded();
        let file = parse_key_file(text.as_bytes()).unwrap();
        let err = open_key_file(&file, b"Correct horse battery staple").unwrap_err();
        assert!(matches!(err, KeyError::WrongPassphrase));
        assert!(err.to_string().starts_with("wrong passphrase"));
    }

    #[test]
    fn params_bounds_and_defaults() {
        assert_eq!(KdfParams::default(), KdfParams::new(65536, 3, 1).unwrap());
        assert_eq!(KdfParams::fast_for_tests().m_cost_kib(), 1024);
        assert!(KdfParams::new(MAX_M_COST_KIB, MAX_T_COST, MAX_P_COST).is_ok());
        assert!(KdfParams::new(MAX_M_COST_KIB + 1, 1, 1).is_err());
        assert!(KdfParams::new(1024, MAX_T_COST + 1, 1).is_err());
        assert!(KdfParams::new(1024, 1, MAX_P_COST + 1).is_err());
        assert!(KdfParams::new(1024, 0, 1).is_err());
        // Argon2 needs at least 8 KiB per lane.
        assert!(KdfParams::new(63, 1, 8).is_err());
    }

    #[test]
    fn comments_must_be_one_short_line() {
        assert!(check_comment("licence authority key 川J (kid 1a2b3c)").is_ok());
        assert!(check_comment("two\nlines").is_err());
        assert!(check_comment("tab\there").is_err());
        assert!(check_comment(&"x".repeat(MAX_COMMENT_BYTES + 1)).is_err());
    }

    /// Every variant, so the secrecy test below covers new ones (the match is exhaustive).
    fn every_variant() -> Vec<KeyError> {
        let io = || io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        let all = vec![
            KeyError::Io {
                action: "read",
                path: PathBuf::from("/k/authority.key"),
                source: io(),
            },
            KeyError::Exists(PathBuf::from("/k/authority.key")),
            KeyError::WrongPassphrase,
            malformed("line 3 is not valid base64"),
            KeyError::InvalidKdfParams("time cost 21 exceeds the limit of 20".into()),
            KeyError::InvalidComment("two lines".into()),
            KeyError::Random(getrandom::Error::UNSUPPORTED),
            KeyError::Encryption,
            KeyError::EmptyPassphrase("the passphrase typed".into()),
            KeyError::PassphraseEnvMissing("ISSUER_PASSPHRASE".into()),
            KeyError::PassphraseFileTooLarge(PathBuf::from("/k/pass")),
            KeyError::PassphraseMismatch,
            KeyError::Prompt(io()),
            KeyError::Exposed {
                path: PathBuf::from("/k/authority.key"),
                mode: 0o644,
            },
            KeyError::WeakKdf(PathBuf::from("/k/authority.key")),
        ];
        for e in &all {
            match e {
                KeyError::Io { .. }
                | KeyError::Exists(_)
                | KeyError::WrongPassphrase
                | KeyError::Malformed(_)
                | KeyError::InvalidKdfParams(_)
                | KeyError::InvalidComment(_)
                | KeyError::Random(_)
                | KeyError::Encryption
                | KeyError::EmptyPassphrase(_)
                | KeyError::PassphraseEnvMissing(_)
                | KeyError::PassphraseFileTooLarge(_)
                | KeyError::PassphraseMismatch
                | KeyError::Prompt(_)
                | KeyError::Exposed { .. }
                | KeyError::WeakKdf(_) => {}
            }
        }
        all
    }

    #[test]
    fn no_error_message_contains_the_passphrase_or_the_seed() {
        let key = fixed_key();
        let seed_hex = hex::encode(key.to_bytes());
        let seed_b64 = BASE64.encode(key.to_bytes());
        let passphrase = std::str::from_utf8(PASSPHRASE).unwrap();

        let text = encoded();
        let file = parse_key_file(text.as_bytes()).unwrap();
        let mut errors = every_variant();
        errors.push(open_key_file(&file, b"wrong").unwrap_err());
        errors.push(parse_key_file(&text.as_bytes()[..40]).unwrap_err());
        errors.push(KdfParams::new(0, 1, 1).unwrap_err());

        for e in &errors {
            for shown in [format!("{e}"), format!("{e:?}")] {
                assert!(!shown.contains(passphrase), "{shown}");
                assert!(!shown.contains(&seed_hex), "{shown}");
                assert!(!shown.contains(&seed_b64), "{shown}");
                assert!(!shown.is_empty());
            }
        }
    }

    #[test]
    fn generated_keys_differ() {
        let a = generate_signing_key().unwrap();
        let b = generate_signing_key().unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
    }
}
