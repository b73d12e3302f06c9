//! The registry: one SQLite database per office, the single source of truth.
//!
//! Every change is one transaction that also appends to the audit log, so the
//! database is never half-updated: a crash leaves the last committed state. Serial
//! numbers come from a per-authority counter bumped in the same transaction that
//! stores the credential, so a crash can never hand one out twice. The audit log is
//! append-only, enforced by triggers, not by convention.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use credential::ed25519_dalek::SigningKey;
use credential::licence::{Authority, ClassSet, Licence, Sex, StatusSet, Validity};
use credential::status_list::{SerialStatus, StatusList};
use credential::trust_bundle::{AuthorityKey, TrustBundleContent};
use credential::{date::Date, Profile};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::IssuerError;
use crate::keys::{self, KdfParams};

/// Seconds in a day.
pub const DAY: u64 = 86_400;
/// Default credential lifetime: the wallet refreshes well before.
pub const DEFAULT_LIFETIME_S: u64 = 7 * DAY;
/// Penalty points that suspend driving in a 12-month cycle.
pub const POINTS_LIMIT: u32 = 12;
/// How long authority keys are valid for signing unless rotated earlier.
const KEY_VALIDITY_S: u64 = 10 * 365 * DAY;
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS authorities (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    next_serial INTEGER NOT NULL CHECK (next_serial >= 1)
);
CREATE TABLE IF NOT EXISTS keys (
    kid TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('root', 'authority')),
    authority_code TEXT REFERENCES authorities(code),
    public_key BLOB NOT NULL,
    file TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0,
    CHECK ((role = 'root') = (authority_code IS NULL))
);
CREATE TABLE IF NOT EXISTS holders (
    id INTEGER PRIMARY KEY,
    licence_number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sex INTEGER NOT NULL,
    nationality TEXT NOT NULL,
    birth_date INTEGER NOT NULL,
    address TEXT NOT NULL,
    file_number TEXT NOT NULL,
    first_issue_date INTEGER NOT NULL,
    classes INTEGER NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER,
    authority_code TEXT NOT NULL REFERENCES authorities(code),
    status INTEGER NOT NULL,
    points INTEGER NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('app', 'counter')),
    device_key BLOB,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS portraits (
    id INTEGER PRIMARY KEY,
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    source TEXT NOT NULL CHECK (source IN ('retained', 'camera', 'album')),
    sha256 BLOB NOT NULL,
    bytes BLOB NOT NULL,
    submitted_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'replaced')),
    decided_at INTEGER,
    decided_by TEXT,
    reason TEXT,
    auto_failures TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
    authority_code TEXT NOT NULL REFERENCES authorities(code),
    serial INTEGER NOT NULL,
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    kid TEXT NOT NULL REFERENCES keys(kid),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('valid', 'suspended', 'revoked', 'superseded')),
    superseded_by TEXT,
    package BLOB NOT NULL,
    PRIMARY KEY (authority_code, serial)
);
CREATE INDEX IF NOT EXISTS credentials_by_holder ON credentials(holder_id, state);
CREATE INDEX IF NOT EXISTS portraits_by_holder ON portraits(holder_id, state);
CREATE INDEX IF NOT EXISTS holders_by_device_key ON holders(device_key);
CREATE TABLE IF NOT EXISTS refresh_nonces (
    device_key BLOB NOT NULL,
    nonce BLOB NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (device_key, nonce)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    old TEXT,
    new TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_subject ON audit(subject, action, at);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#;

/// How a holder enrolled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Through the app.
    App,
    /// At the vehicle office's counter (窗口办理).
    Counter,
}

impl Channel {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Counter => "counter",
        }
    }

    /// From the name.
    pub fn parse(text: &str) -> Option<Channel> {
        match text {
            "app" => Some(Channel::App),
            "counter" => Some(Channel::Counter),
            _ => None,
        }
    }
}

/// Where a portrait came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortraitSource {
    /// Already on file: usable at once.
    Retained,
    /// Phone camera: reviewed within one working day.
    Camera,
    /// Album ID photo: reviewed within one working day.
    Album,
}

impl PortraitSource {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            PortraitSource::Retained => "retained",
            PortraitSource::Camera => "camera",
            PortraitSource::Album => "album",
        }
    }

    /// From the name.
    pub fn parse(text: &str) -> Option<PortraitSource> {
        match text {
            "retained" => Some(PortraitSource::Retained),
            "camera" => Some(PortraitSource::Camera),
            "album" => Some(PortraitSource::Album),
            _ => None,
        }
    }
}

/// A holder's licence data as enrolled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderInput {
    /// 证号.
    pub licence_number: String,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 国籍.
    pub nationality: String,
    /// 出生日期.
    pub birth_date: Date,
    /// 住址.
    pub address: String,
    /// 档案编号.
    pub file_number: String,
    /// 初次领证日期.
    pub first_issue_date: Date,
    /// 准驾车型.
    pub classes: ClassSet,
    /// 有效期限.
    pub validity: Validity,
    /// 发证机关 code (must be an authority of this registry).
    pub authority_code: String,
    /// 累积记分.
    pub points: u32,
    /// Enrolment channel.
    pub channel: Channel,
    /// The wallet's device public key, if already known.
    pub device_key: Option<[u8; 32]>,
}

impl HolderInput {
    /// The licence record of this holder, as the format signs it.
    pub fn to_licence(
        &self,
        authority_name: String,
        status: StatusSet,
        portrait_digest: [u8; credential::licence::PORTRAIT_DIGEST_LEN],
    ) -> Licence {
        Licence {
            name: self.name.clone(),
            sex: self.sex,
            nationality: self.nationality.clone(),
            birth_date: self.birth_date,
            address: self.address.clone(),
            licence_number: self.licence_number.clone(),
            file_number: self.file_number.clone(),
            first_issue_date: self.first_issue_date,
            classes: self.classes,
            validity: self.validity,
            issuing_authority: Authority {
                code: self.authority_code.clone(),
                name: authority_name,
            },
            status,
            points: self.points,
            portrait_digest,
        }
    }
}

/// Changes that force a re-issue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolderChanges {
    /// New classes.
    pub classes: Option<ClassSet>,
    /// New validity.
    pub validity: Option<Validity>,
    /// New issuing authority.
    pub authority_code: Option<String>,
    /// New address (re-issue as well: it is in the full profile).
    pub address: Option<String>,
}

/// A signed credential set as stored and as the refresh service returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// Holder id.
    pub holder_id: i64,
    /// Authority code.
    pub authority_code: String,
    /// Serial.
    pub serial: u64,
    /// Issued at.
    pub issued_at: u64,
    /// Expires at.
    pub expires_at: u64,
    /// One credential per profile.
    pub credentials: Vec<(Profile, Vec<u8>)>,
}

impl Issued {
    /// The package file: a CBOR map {profile name: credential bytes, "serial": n, ...}.
    pub fn package(&self) -> Vec<u8> {
        use ciborium::Value;
        let mut entries = vec![
            (
                Value::Text("authority".into()),
                Value::Text(self.authority_code.clone()),
            ),
            (
                Value::Text("expires_at".into()),
                Value::Integer(self.expires_at.into()),
            ),
            (
                Value::Text("issued_at".into()),
                Value::Integer(self.issued_at.into()),
            ),
            (
                Value::Text("serial".into()),
                Value::Integer(self.serial.into()),
            ),
        ];
        for (profile, bytes) in &self.credentials {
            entries.push((
                Value::Text(profile.name().into()),
                Value::Bytes(bytes.clone()),
            ));
        }
        credential::cbor::encode(&credential::cbor::map(entries))
    }
}

/// Lines of a batch that were refused: line number and reason.
pub type LineErrors = Vec<(usize, String)>;

/// A credential row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential {
    /// valid, suspended, revoked or superseded.
    pub state: String,
    /// The package (see [`Issued::package`]).
    pub package: Vec<u8>,
    /// `authority/serial` of the credential that replaced it.
    pub superseded_by: Option<String>,
}

/// Unlocks signing keys on demand with one passphrase, keeping them for the command.
pub struct Keyring {
    passphrase: Zeroizing<Vec<u8>>,
    loaded: HashMap<String, SigningKey>,
}

impl Keyring {
    /// A keyring that unlocks with `passphrase`.
    pub fn new(passphrase: Zeroizing<Vec<u8>>) -> Keyring {
        Keyring {
            passphrase,
            loaded: HashMap::new(),
        }
    }

    fn key(&mut self, kid: &str, file: &Path) -> Result<&SigningKey, IssuerError> {
        if !self.loaded.contains_key(kid) {
            let key = keys::read_key_file(file, &self.passphrase)?;
            self.loaded.insert(kid.to_owned(), key);
        }
        self.loaded
            .get(kid)
            .ok_or_else(|| IssuerError::Integrity(format!("key {kid} vanished")))
    }

    /// The passphrase (for creating new key files with the same one).
    pub fn passphrase(&self) -> &[u8] {
        &self.passphrase
    }
}

/// An open registry.
pub struct Registry {
    conn: Connection,
    dir: PathBuf,
    operator: String,
    kdf: KdfParams,
}

fn now_check(now: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Prepared statements are cached per connection: parsing SQL again for every row
/// of a batch would cost more than signing the credentials.
trait CachedStatements {
    fn cached_row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
    fn cached_execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
}

impl CachedStatements for Connection {
    fn cached_row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn cached_execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

fn audit(
    tx: &Transaction<'_>,
    operator: &str,
    now: u64,
    action: &str,
    subject: &str,
    old: Option<Value>,
    new: Option<Value>,
) -> Result<(), IssuerError> {
    tx.cached_execute(
        "INSERT INTO audit (at, operator, action, subject, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![now_check(now), operator, action, subject, old.map(|v| v.to_string()), new.map(|v| v.to_string())],
    )?;
    Ok(())
}

impl Registry {
    /// Opens (creating if needed) the registry in `dir`.
    pub fn open(dir: &Path, operator: &str, kdf: KdfParams) -> Result<Registry, IssuerError> {
        std::fs::create_dir_all(dir.join("keys")).map_err(IssuerError::io(dir))?;
        let conn = Connection::open(dir.join("registry.sqlite"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        )?;
        conn.execute_batch(SCHEMA)?;
        let version: Option<String> = conn
            .cached_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match version {
            None => {
                conn.cached_execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('bundle_version', '0')",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(v) => return Err(IssuerError::Refused(format!("registry schema version {v} is not supported by this issuer (expects {SCHEMA_VERSION})"))),
        }
        Ok(Registry {
            conn,
            dir: dir.to_owned(),
            operator: operator.to_owned(),
            kdf,
        })
    }

    /// The registry directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Generates a key and writes its encrypted file. Key ids are 3 bytes (spec §3.2),
    /// so a new key whose id is already taken (by any key, retired ones included) is
    /// discarded and another generated.
    fn new_key_file(
        &self,
        keyring: &mut Keyring,
        comment: &str,
    ) -> Result<(SigningKey, String, PathBuf), IssuerError> {
        // All keys of a registry share one passphrase: prove it on an existing key
        // first, so a typo cannot create a key nobody can unlock with the others.
        let existing: Option<(String, String)> = self
            .conn
            .cached_row(
                "SELECT kid, file FROM keys ORDER BY valid_from LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((kid, file)) = existing {
            keyring.key(&kid, Path::new(&file))?;
        }
        loop {
            let key = keys::generate_signing_key()?;
            let kid = hex::encode(credential::signature::key_id(
                key.verifying_key().as_bytes(),
            ));
            let path = self.dir.join("keys").join(format!("{kid}.key"));
            let taken: i64 =
                self.conn
                    .cached_row("SELECT count(*) FROM keys WHERE kid = ?1", [&kid], |r| {
                        r.get(0)
                    })?;
            if taken > 0 || path.exists() {
                continue;
            }
            keys::write_key_file(
                &path,
                &key,
                keyring.passphrase(),
                &format!("{comment} (kid {kid})"),
                self.kdf,
            )?;
            return Ok((key, kid, path));
        }
    }

    /// Creates the national root key (once).
    pub fn root_init(&mut self, keyring: &mut Keyring, now: u64) -> Result<String, IssuerError> {
        let exists: i64 =
            self.conn
                .cached_row("SELECT count(*) FROM keys WHERE role = 'root'", [], |r| {
                    r.get(0)
                })?;
        if exists > 0 {
            return Err(IssuerError::Refused(
                "this registry already has a root key".into(),
            ));
        }
        let (key, kid, path) = self.new_key_file(keyring, "licence national root key")?;
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "INSERT INTO keys (kid, role, authority_code, public_key, file, valid_from, valid_to) VALUES (?1, 'root', NULL, ?2, ?3, ?4, ?5)",
            params![kid, key.verifying_key().as_bytes().to_vec(), path.to_string_lossy(), now_check(now), i64::MAX],
        )?;
        audit(
            &tx,
            &self.operator,
            now,
            "root.init",
            &kid,
            None,
            Some(json!({"kid": kid})),
        )?;
        tx.commit()?;
        Ok(kid)
    }

    /// The root public key, if any.
    pub fn root_public_key(&self) -> Result<[u8; 32], IssuerError> {
        let bytes: Vec<u8> = self
            .conn
            .cached_row("SELECT public_key FROM keys WHERE role = 'root'", [], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| {
                IssuerError::Refused("no root key: run `issuer root init` first".into())
            })?;
        bytes
            .try_into()
            .map_err(|_| IssuerError::Integrity("root key is not 32 bytes".into()))
    }

    /// Adds an issuing authority with a fresh key.
    pub fn authority_add(
        &mut self,
        code: &str,
        name: &str,
        keyring: &mut Keyring,
        now: u64,
    ) -> Result<String, IssuerError> {
        if code.is_empty() || name.is_empty() || code.len() > 64 || name.len() > 256 {
            return Err(IssuerError::invalid(
                "authority",
                "code and name must be non-empty and short",
            ));
        }
        let exists: i64 = self.conn.cached_row(
            "SELECT count(*) FROM authorities WHERE code = ?1",
            [code],
            |r| r.get(0),
        )?;
        if exists > 0 {
            return Err(IssuerError::Refused(format!(
                "authority {code} already exists; use `issuer key rotate` for a new key"
            )));
        }
        let (key, kid, path) =
            self.new_key_file(keyring, &format!("licence authority key {code}"))?;
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "INSERT INTO authorities (code, name, next_serial) VALUES (?1, ?2, 1)",
            params![code, name],
        )?;
        insert_authority_key(&tx, &kid, code, &key, &path, now)?;
        audit(
            &tx,
            &self.operator,
            now,
            "authority.add",
            code,
            None,
            Some(json!({"name": name, "kid": kid})),
        )?;
        tx.commit()?;
        Ok(kid)
    }

    /// Rotates an authority's key: the new key signs from now on; the old one stops
    /// signing but stays in the trust bundle until its last credential has expired.
    pub fn key_rotate(
        &mut self,
        code: &str,
        keyring: &mut Keyring,
        now: u64,
    ) -> Result<String, IssuerError> {
        let (old_kid, _) = self.active_key(code, now)?;
        let (key, kid, path) =
            self.new_key_file(keyring, &format!("licence authority key {code}"))?;
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "UPDATE keys SET valid_to = ?1 WHERE kid = ?2",
            params![now_check(now), old_kid],
        )?;
        insert_authority_key(&tx, &kid, code, &key, &path, now)?;
        audit(
            &tx,
            &self.operator,
            now,
            "key.rotate",
            code,
            Some(json!({"kid": old_kid})),
            Some(json!({"kid": kid})),
        )?;
        tx.commit()?;
        Ok(kid)
    }

    /// Retires a key at once (compromise): its credentials are rejected by every
    /// verifier that imports the next trust bundle. The authority must have a newer
    /// key to sign with (`key rotate` first).
    pub fn key_retire(&mut self, kid: &str, now: u64) -> Result<String, IssuerError> {
        let (code, retired): (Option<String>, bool) = self
            .conn
            .cached_row(
                "SELECT authority_code, retired FROM keys WHERE kid = ?1",
                [kid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(IssuerError::NotFound {
                what: "key",
                id: kid.into(),
            })?;
        let code =
            code.ok_or_else(|| IssuerError::Refused("the root key cannot be retired here".into()))?;
        if retired {
            return Err(IssuerError::Refused(format!(
                "key {kid} is already retired"
            )));
        }
        if self
            .active_key(&code, now)
            .map(|(active, _)| active == kid)
            .unwrap_or(false)
        {
            return Err(IssuerError::Refused(format!("key {kid} is {code}'s signing key: run `issuer key rotate --authority {code}` first")));
        }
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "UPDATE keys SET retired = 1, valid_to = min(valid_to, ?1) WHERE kid = ?2",
            params![now_check(now), kid],
        )?;
        audit(
            &tx,
            &self.operator,
            now,
            "key.retire",
            kid,
            Some(json!({"retired": false})),
            Some(json!({"retired": true, "authority": code})),
        )?;
        tx.commit()?;
        Ok(code)
    }

    /// The key that signs for `code` now.
    fn active_key(&self, code: &str, now: u64) -> Result<(String, PathBuf), IssuerError> {
        self.conn
            .cached_row(
                "SELECT kid, file FROM keys WHERE authority_code = ?1 AND retired = 0 AND valid_from <= ?2 AND valid_to > ?2 ORDER BY valid_from DESC LIMIT 1",
                params![code, now_check(now)],
                |r| Ok((r.get::<_, String>(0)?, PathBuf::from(r.get::<_, String>(1)?))),
            )
            .optional()?
            .ok_or_else(|| IssuerError::Refused(format!("authority {code} has no active key; add it with `issuer authority add` or rotate")))
    }

    /// Enrols one holder; returns the holder id.
    pub fn holder_add(&mut self, input: &HolderInput, now: u64) -> Result<i64, IssuerError> {
        let tx = self.conn.transaction()?;
        let id = insert_holder(&tx, input, now)?;
        audit(
            &tx,
            &self.operator,
            now,
            "holder.add",
            &id.to_string(),
            None,
            Some(holder_json(input)),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Enrols many holders. With `all_or_nothing`, one bad line rolls back every
    /// line; otherwise the good lines are committed (in one transaction) and the bad
    /// ones reported. Returns the ids added.
    pub fn holder_import(
        &mut self,
        rows: &[(usize, crate::enrol::EnrolRow)],
        all_or_nothing: bool,
        now: u64,
        mut progress: impl FnMut(),
    ) -> Result<(Vec<i64>, LineErrors), IssuerError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut added = Vec::new();
        let mut errors = Vec::new();
        for (line, row) in rows {
            progress();
            let result = match row {
                Ok((input, portrait)) => {
                    tx.cached_execute("SAVEPOINT line", [])?;
                    let inserted = insert_holder(&tx, input, now).and_then(|id| {
                        audit(
                            &tx,
                            &self.operator,
                            now,
                            "holder.add",
                            &id.to_string(),
                            None,
                            Some(holder_json(input)),
                        )?;
                        match portrait {
                            Some(bytes) => match self.insert_portrait(
                                &tx,
                                id,
                                PortraitSource::Retained,
                                bytes,
                                now,
                            )? {
                                (_, "approved", _) => Ok(id),
                                (_, _, failures) => Err(IssuerError::Refused(format!(
                                    "retained portrait fails the automatic checks: {}",
                                    failures.join("; ")
                                ))),
                            },
                            None => Ok(id),
                        }
                    });
                    match inserted {
                        Ok(id) => {
                            tx.cached_execute("RELEASE line", [])?;
                            Ok(id)
                        }
                        Err(e) => {
                            tx.cached_execute("ROLLBACK TO line", [])?;
                            tx.cached_execute("RELEASE line", [])?;
                            Err(e.to_string())
                        }
                    }
                }
                Err(reason) => Err(reason.clone()),
            };
            match result {
                Ok(id) => added.push(id),
                Err(reason) => errors.push((*line, reason)),
            }
        }
        if all_or_nothing && !errors.is_empty() {
            tx.rollback()?;
            return Ok((Vec::new(), errors));
        }
        if !added.is_empty() {
            audit(
                &tx,
                &self.operator,
                now,
                "holder.import",
                "batch",
                None,
                Some(json!({"added": added.len(), "rejected": errors.len()})),
            )?;
        }
        tx.commit()?;
        Ok((added, errors))
    }

    /// A holder's record as JSON (for `holder show`).
    pub fn holder_json(&self, id: i64) -> Result<Value, IssuerError> {
        let (input, status) = self.holder(id)?;
        let mut value = holder_json(&input);
        value["id"] = json!(id);
        value["status"] = json!(status.to_string());
        let current = self.current_credential(id)?;
        value["credential"] = match current {
            Some((code, serial, state, expires)) => {
                json!({"authority": code, "serial": serial, "state": state, "expires_at": expires})
            }
            None => Value::Null,
        };
        value["portrait"] = match self.approved_portrait(id)? {
            Some((pid, _)) => json!(pid),
            None => Value::Null,
        };
        Ok(value)
    }

    fn holder(&self, id: i64) -> Result<(HolderInput, StatusSet), IssuerError> {
        self.conn
            .cached_row(
                "SELECT licence_number, name, sex, nationality, birth_date, address, file_number, first_issue_date, classes, valid_from, valid_to, authority_code, status, points, channel, device_key FROM holders WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, i64>(8)?,
                        r.get::<_, i64>(9)?,
                        r.get::<_, Option<i64>>(10)?,
                        r.get::<_, String>(11)?,
                        r.get::<_, i64>(12)?,
                        r.get::<_, i64>(13)?,
                        r.get::<_, String>(14)?,
                        r.get::<_, Option<Vec<u8>>>(15)?,
                    ))
                },
            )
            .optional()?
            .ok_or(IssuerError::NotFound { what: "holder", id: id.to_string() })
            .and_then(|row| {
                let bad = |what: &str| IssuerError::Integrity(format!("holder {id}: stored {what} is invalid"));
                let input = HolderInput {
                    licence_number: row.0,
                    name: row.1,
                    sex: if row.2 == 2 { Sex::Female } else { Sex::Male },
                    nationality: row.3,
                    birth_date: Date(row.4),
                    address: row.5,
                    file_number: row.6,
                    first_issue_date: Date(row.7),
                    classes: ClassSet::from_bits(to_u64(row.8)).ok_or_else(|| bad("classes"))?,
                    validity: Validity { from: Date(row.9), to: row.10.map(Date) },
                    authority_code: row.11,
                    points: u32::try_from(row.13).map_err(|_| bad("points"))?,
                    channel: Channel::parse(&row.14).ok_or_else(|| bad("channel"))?,
                    device_key: row.15.map(|k| k.try_into()).transpose().map_err(|_| bad("device key"))?,
                };
                Ok((input, StatusSet::from_bits(to_u64(row.12)).ok_or_else(|| bad("status"))?))
            })
    }

    /// Finds a holder by licence number.
    pub fn holder_by_licence_number(&self, licence_number: &str) -> Result<i64, IssuerError> {
        self.conn
            .cached_row(
                "SELECT id FROM holders WHERE licence_number = ?1",
                [licence_number],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(IssuerError::NotFound {
                what: "holder with licence number",
                id: licence_number.into(),
            })
    }

    /// Adds a portrait: automatic checks, then approved at once (retained, passing)
    /// or queued for review (camera, album). Failing automatic checks reject it.
    pub fn portrait_add(
        &mut self,
        holder_id: i64,
        source: PortraitSource,
        bytes: &[u8],
        now: u64,
    ) -> Result<(i64, &'static str, Vec<String>), IssuerError> {
        self.holder(holder_id)?;
        let tx = self.conn.unchecked_transaction()?;
        let outcome = self.insert_portrait(&tx, holder_id, source, bytes, now)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn insert_portrait(
        &self,
        tx: &Transaction<'_>,
        holder_id: i64,
        source: PortraitSource,
        bytes: &[u8],
        now: u64,
    ) -> Result<(i64, &'static str, Vec<String>), IssuerError> {
        let report = crate::portrait::check_portrait(bytes, now);
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.rule.code(), f.detail))
            .collect();
        let state = match (report.passed(), source) {
            (false, _) => "rejected",
            (true, PortraitSource::Retained) => "approved",
            (true, _) => "pending",
        };
        if state == "approved" {
            self.check_replacement_interval(holder_id, now)?;
            tx.cached_execute("UPDATE portraits SET state = 'replaced' WHERE holder_id = ?1 AND state = 'approved'", [holder_id])?;
        }
        tx.cached_execute(
            "INSERT INTO portraits (holder_id, source, sha256, bytes, submitted_at, state, decided_at, decided_by, reason, auto_failures) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                holder_id,
                source.name(),
                credential::signature::sha256(bytes).to_vec(),
                bytes,
                now_check(now),
                state,
                (state != "pending").then_some(now_check(now)),
                (state != "pending").then_some("automatic checks"),
                (state == "rejected").then(|| failures.join("; ")),
                serde_json::to_string(&failures).unwrap_or_default(),
            ],
        )?;
        let id = tx.last_insert_rowid();
        audit(
            tx,
            &self.operator,
            now,
            "portrait.add",
            &holder_id.to_string(),
            None,
            Some(
                json!({"portrait": id, "source": source.name(), "state": state, "failures": failures}),
            ),
        )?;
        Ok((id, state, failures))
    }

    /// A portrait may be replaced at most once every six months.
    fn check_replacement_interval(&self, holder_id: i64, now: u64) -> Result<(), IssuerError> {
        if let Some((_, decided_at)) = self.approved_portrait(holder_id)? {
            if now.saturating_sub(decided_at) < 183 * DAY {
                return Err(IssuerError::Refused(format!(
                    "holder {holder_id}'s portrait was approved {} days ago; a portrait may be replaced at most once every 6 months",
                    now.saturating_sub(decided_at) / DAY
                )));
            }
        }
        Ok(())
    }

    fn approved_portrait(&self, holder_id: i64) -> Result<Option<(i64, u64)>, IssuerError> {
        Ok(self
            .conn
            .cached_row(
                "SELECT id, decided_at FROM portraits WHERE holder_id = ?1 AND state = 'approved' ORDER BY id DESC LIMIT 1",
                [holder_id],
                |r| Ok((r.get::<_, i64>(0)?, to_u64(r.get::<_, Option<i64>>(1)?.unwrap_or(0)))),
            )
            .optional()?)
    }

    /// The review queue: pending portraits with their age and whether the decision is overdue.
    pub fn review_list(&self, now: u64) -> Result<Vec<Value>, IssuerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.id, p.holder_id, h.name, p.source, p.submitted_at FROM portraits p JOIN holders h ON h.id = p.holder_id WHERE p.state = 'pending' ORDER BY p.submitted_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, holder, name, source, submitted) = row?;
            let submitted = to_u64(submitted);
            let due = review_due(submitted);
            out.push(json!({"portrait": id, "holder": holder, "name": name, "source": source, "submitted_at": submitted,
                "age_h": now.saturating_sub(submitted) / 3600, "due_at": due, "overdue": now > due}));
        }
        Ok(out)
    }

    /// Approves or rejects a pending portrait. An approved replacement re-issues the
    /// holder's credential (the portrait digest is signed data).
    pub fn review_decide(
        &mut self,
        portrait_id: i64,
        approve: bool,
        reason: Option<&str>,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Option<Issued>, IssuerError> {
        let (holder_id, state): (i64, String) = self
            .conn
            .cached_row(
                "SELECT holder_id, state FROM portraits WHERE id = ?1",
                [portrait_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(IssuerError::NotFound {
                what: "portrait",
                id: portrait_id.to_string(),
            })?;
        if state != "pending" {
            return Err(IssuerError::Refused(format!(
                "portrait {portrait_id} is {state}, not pending review"
            )));
        }
        if !approve && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(IssuerError::invalid(
                "reason",
                "a rejection needs a reason the holder can act on",
            ));
        }
        if approve {
            self.check_replacement_interval(holder_id, now)?;
        }
        let had_credential = self.current_credential(holder_id)?.is_some();
        let tx = self.conn.transaction()?;
        if approve {
            tx.cached_execute("UPDATE portraits SET state = 'replaced' WHERE holder_id = ?1 AND state = 'approved'", [holder_id])?;
        }
        tx.cached_execute(
            "UPDATE portraits SET state = ?1, decided_at = ?2, decided_by = ?3, reason = ?4 WHERE id = ?5",
            params![if approve { "approved" } else { "rejected" }, now_check(now), self.operator, reason, portrait_id],
        )?;
        audit(
            &tx,
            &self.operator,
            now,
            if approve {
                "portrait.approve"
            } else {
                "portrait.reject"
            },
            &portrait_id.to_string(),
            Some(json!({"state": "pending"})),
            Some(json!({"holder": holder_id, "reason": reason})),
        )?;
        tx.commit()?;
        if approve && had_credential {
            return self
                .reissue(holder_id, "portrait replaced", keyring, now, lifetime_s)
                .map(Some);
        }
        Ok(None)
    }

    /// The holder's current (not superseded) credential: authority, serial, state, expiry.
    pub fn current_credential(
        &self,
        holder_id: i64,
    ) -> Result<Option<(String, u64, String, u64)>, IssuerError> {
        Ok(self
            .conn
            .cached_row(
                "SELECT authority_code, serial, state, expires_at FROM credentials WHERE holder_id = ?1 AND state != 'superseded' ORDER BY issued_at DESC LIMIT 1",
                [holder_id],
                |r| Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?), r.get::<_, String>(2)?, to_u64(r.get(3)?))),
            )
            .optional()?)
    }

    fn licence(&self, holder_id: i64) -> Result<(HolderInput, Licence), IssuerError> {
        let (input, status) = self.holder(holder_id)?;
        let portrait_sha256: Vec<u8> = self
            .conn
            .cached_row(
                "SELECT sha256 FROM portraits WHERE holder_id = ?1 AND state = 'approved' ORDER BY id DESC LIMIT 1",
                [holder_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| IssuerError::Refused(format!("holder {holder_id} has no approved portrait")))?;
        let authority_name: String = self.conn.cached_row(
            "SELECT name FROM authorities WHERE code = ?1",
            [&input.authority_code],
            |r| r.get(0),
        )?;
        let licence = input.to_licence(
            authority_name,
            status,
            portrait_sha256
                .get(..credential::licence::PORTRAIT_DIGEST_LEN)
                .and_then(|d| d.try_into().ok())
                .ok_or_else(|| {
                    IssuerError::Integrity(format!(
                        "holder {holder_id}: stored portrait digest is not SHA-256"
                    ))
                })?,
        );
        Ok((input, licence))
    }

    /// Issues a new credential (new serial) to a holder, superseding any current one.
    /// `device_key` replaces the stored one when given (enrolment of a new phone).
    pub fn issue(
        &mut self,
        holder_id: i64,
        device_key: Option<[u8; 32]>,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Issued, IssuerError> {
        if let Some(key) = device_key {
            credential::signature::public_key(&key, "device key")
                .map_err(|e| IssuerError::invalid("device key", e.to_string()))?;
        }
        self.sign_new_serial(holder_id, device_key, "issue", keyring, now, lifetime_s)
    }

    fn reissue(
        &mut self,
        holder_id: i64,
        why: &str,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Issued, IssuerError> {
        self.sign_new_serial(holder_id, None, why, keyring, now, lifetime_s)
    }

    fn sign_new_serial(
        &mut self,
        holder_id: i64,
        device_key: Option<[u8; 32]>,
        why: &str,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Issued, IssuerError> {
        let tx = self.conn.unchecked_transaction()?;
        let issued =
            self.sign_new_serial_in(&tx, holder_id, device_key, why, keyring, now, lifetime_s)?;
        tx.commit()?;
        Ok(issued)
    }

    /// Issues to many holders, `chunk` per transaction: a crash loses at most one
    /// uncommitted chunk, and a rerun picks up the holders still without a credential.
    /// Holders refused by a business rule are reported, not fatal.
    pub fn issue_batch(
        &mut self,
        ids: &[i64],
        chunk: usize,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
        mut progress: impl FnMut(usize),
    ) -> Result<(usize, Vec<(i64, String)>), IssuerError> {
        let mut issued = 0;
        let mut refused = Vec::new();
        for ids in ids.chunks(chunk.max(1)) {
            let tx = self.conn.unchecked_transaction()?;
            for id in ids {
                tx.cached_execute("SAVEPOINT holder", [])?;
                match self.sign_new_serial_in(&tx, *id, None, "issue", keyring, now, lifetime_s) {
                    Ok(_) => {
                        tx.cached_execute("RELEASE holder", [])?;
                        issued += 1;
                    }
                    Err(
                        e @ (IssuerError::Refused(_)
                        | IssuerError::Build(_)
                        | IssuerError::NotFound { .. }),
                    ) => {
                        tx.cached_execute("ROLLBACK TO holder", [])?;
                        tx.cached_execute("RELEASE holder", [])?;
                        refused.push((*id, e.to_string()));
                    }
                    Err(e) => return Err(e),
                }
            }
            tx.commit()?;
            progress(ids.len());
        }
        Ok((issued, refused))
    }

    #[allow(clippy::too_many_arguments)]
    fn sign_new_serial_in(
        &self,
        tx: &Transaction<'_>,
        holder_id: i64,
        device_key: Option<[u8; 32]>,
        why: &str,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Issued, IssuerError> {
        let (input, licence) = self.licence(holder_id)?;
        let device_key = device_key
            .or(input.device_key)
            .ok_or_else(|| IssuerError::Refused(format!("holder {holder_id} has no device key: the wallet must enrol first (issue --device-key)")))?;
        if licence.status.contains('F') {
            return Err(IssuerError::Refused(format!(
                "holder {holder_id}'s licence is revoked"
            )));
        }
        let code = input.authority_code.clone();
        let (kid, file) = self.active_key(&code, now)?;
        let key = keyring.key(&kid, &file)?;
        let serial: i64 = tx.cached_row(
            "SELECT next_serial FROM authorities WHERE code = ?1",
            [&code],
            |r| r.get(0),
        )?;
        tx.cached_execute(
            "UPDATE authorities SET next_serial = next_serial + 1 WHERE code = ?1",
            [&code],
        )?;
        let serial_u = to_u64(serial);
        let params = credential::issue::IssueParams {
            serial: serial_u,
            issued_at: now,
            expires_at: now + lifetime_s,
            device_key,
        };
        let credentials = credential::issue::issue_all_profiles(&licence, &params, key)?;
        let issued = Issued {
            holder_id,
            authority_code: code.clone(),
            serial: serial_u,
            issued_at: now,
            expires_at: now + lifetime_s,
            credentials,
        };
        let superseded: Vec<(String, i64)> = {
            let mut stmt = tx.prepare_cached("SELECT authority_code, serial FROM credentials WHERE holder_id = ?1 AND state != 'superseded'")?;
            let rows = stmt.query_map([holder_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let new_ref = format!("{code}/{serial}");
        for (old_code, old_serial) in &superseded {
            tx.cached_execute(
                "UPDATE credentials SET state = 'superseded', superseded_by = ?1 WHERE authority_code = ?2 AND serial = ?3",
                params![new_ref, old_code, old_serial],
            )?;
        }
        let state = if licence.status.prohibiting().is_empty() {
            "valid"
        } else {
            "suspended"
        };
        tx.cached_execute(
            "INSERT INTO credentials (authority_code, serial, holder_id, kid, issued_at, expires_at, state, package) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![code, serial, holder_id, kid, now_check(now), now_check(now + lifetime_s), state, issued.package()],
        )?;
        tx.cached_execute(
            "UPDATE holders SET device_key = ?1 WHERE id = ?2",
            params![device_key.to_vec(), holder_id],
        )?;
        let old = (!superseded.is_empty()).then(|| json!({"superseded": superseded.iter().map(|(c, s)| format!("{c}/{s}")).collect::<Vec<_>>()}));
        audit(
            tx,
            &self.operator,
            now,
            "credential.issue",
            &holder_id.to_string(),
            old,
            Some(json!({"serial": new_ref, "why": why, "kid": kid})),
        )?;
        Ok(issued)
    }

    /// Re-signs the holder's current credential with a new expiry and the current
    /// data (status letters, points), keeping its serial: what a wallet refresh gets.
    pub fn refresh(
        &mut self,
        holder_id: i64,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Issued, IssuerError> {
        let (code, serial, state, _) = self.current_credential(holder_id)?.ok_or_else(|| {
            IssuerError::Refused(format!("holder {holder_id} has no credential to refresh"))
        })?;
        if state == "revoked" {
            return Err(IssuerError::Refused(format!(
                "credential {code}/{serial} is revoked"
            )));
        }
        let (input, licence) = self.licence(holder_id)?;
        if input.authority_code != code {
            return self.reissue(holder_id, "authority changed", keyring, now, lifetime_s);
        }
        let device_key = input.device_key.ok_or_else(|| {
            IssuerError::Integrity(format!(
                "holder {holder_id} has a credential but no device key"
            ))
        })?;
        let (kid, file) = self.active_key(&code, now)?;
        let key = keyring.key(&kid, &file)?.clone();
        let params = credential::issue::IssueParams {
            serial,
            issued_at: now,
            expires_at: now + lifetime_s,
            device_key,
        };
        let credentials = credential::issue::issue_all_profiles(&licence, &params, &key)?;
        let issued = Issued {
            holder_id,
            authority_code: code.clone(),
            serial,
            issued_at: now,
            expires_at: now + lifetime_s,
            credentials,
        };
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "UPDATE credentials SET kid = ?1, issued_at = ?2, expires_at = ?3, package = ?4 WHERE authority_code = ?5 AND serial = ?6",
            params![kid, now_check(now), now_check(now + lifetime_s), issued.package(), code, to_i64(serial)],
        )?;
        audit(
            &tx,
            &self.operator,
            now,
            "credential.refresh",
            &holder_id.to_string(),
            None,
            Some(json!({"serial": format!("{code}/{serial}"), "expires_at": now + lifetime_s})),
        )?;
        tx.commit()?;
        Ok(issued)
    }

    /// Holders ready for issuance: a device key and an approved portrait, no current credential.
    pub fn pending_issuance(&self) -> Result<Vec<i64>, IssuerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.id FROM holders h WHERE h.device_key IS NOT NULL
               AND EXISTS (SELECT 1 FROM portraits p WHERE p.holder_id = h.id AND p.state = 'approved')
               AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.holder_id = h.id AND c.state != 'superseded')
             ORDER BY h.id",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Applies changes that force a re-issue, and re-issues if the holder has a credential.
    pub fn holder_update(
        &mut self,
        holder_id: i64,
        changes: &HolderChanges,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Option<Issued>, IssuerError> {
        let (before, _) = self.holder(holder_id)?;
        let mut after = before.clone();
        if let Some(c) = changes.classes {
            after.classes = c;
        }
        if let Some(v) = changes.validity {
            after.validity = v;
        }
        if let Some(code) = &changes.authority_code {
            after.authority_code = code.clone();
        }
        if let Some(address) = &changes.address {
            after.address = address.clone();
        }
        if after == before {
            return Err(IssuerError::Refused("nothing to change".into()));
        }
        validate_input(&after)?;
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "UPDATE holders SET classes = ?1, valid_from = ?2, valid_to = ?3, authority_code = ?4, address = ?5 WHERE id = ?6",
            params![after.classes.bits(), after.validity.from.0, after.validity.to.map(|d| d.0), after.authority_code, after.address, holder_id],
        )?;
        audit(
            &tx,
            &self.operator,
            now,
            "holder.update",
            &holder_id.to_string(),
            Some(holder_json(&before)),
            Some(holder_json(&after)),
        )?;
        tx.commit()?;
        if self.current_credential(holder_id)?.is_some() {
            return self
                .reissue(holder_id, "licence data changed", keyring, now, lifetime_s)
                .map(Some);
        }
        Ok(None)
    }

    /// Sets licence status letters and the credential's status-list state.
    fn set_status(
        &mut self,
        holder_id: i64,
        action: &str,
        edit: impl FnOnce(StatusSet, u32) -> (StatusSet, u32),
        now: u64,
    ) -> Result<Value, IssuerError> {
        let (input, status) = self.holder(holder_id)?;
        let (new_status, new_points) = edit(status, input.points);
        let current = self.current_credential(holder_id)?;
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "UPDATE holders SET status = ?1, points = ?2 WHERE id = ?3",
            params![new_status.bits(), new_points, holder_id],
        )?;
        let credential_state =
            if new_status.contains('F') || new_status.contains('E') || new_status.contains('G') {
                "revoked"
            } else if !new_status.prohibiting().is_empty() {
                "suspended"
            } else {
                "valid"
            };
        if let Some((code, serial, state, _)) = &current {
            if state != "revoked" {
                tx.cached_execute(
                    "UPDATE credentials SET state = ?1 WHERE authority_code = ?2 AND serial = ?3",
                    params![credential_state, code, to_i64(*serial)],
                )?;
            }
        }
        let new = json!({"status": new_status.to_string(), "points": new_points, "credential": credential_state});
        audit(
            &tx,
            &self.operator,
            now,
            action,
            &holder_id.to_string(),
            Some(json!({"status": status.to_string(), "points": input.points})),
            Some(new.clone()),
        )?;
        tx.commit()?;
        Ok(new)
    }

    /// 暂扣: status D, credential suspended in the status list.
    pub fn suspend(&mut self, holder_id: i64, now: u64) -> Result<Value, IssuerError> {
        self.set_status(
            holder_id,
            "status.suspend",
            |s, p| (s.with('D', true), p),
            now,
        )
    }

    /// 吊销: status F, credential revoked (permanent).
    pub fn revoke(&mut self, holder_id: i64, now: u64) -> Result<Value, IssuerError> {
        self.set_status(
            holder_id,
            "status.revoke",
            |s, p| (s.with('F', true), p),
            now,
        )
    }

    /// Lifts D (and B if points are below the limit).
    pub fn reinstate(&mut self, holder_id: i64, now: u64) -> Result<Value, IssuerError> {
        let (_, status) = self.holder(holder_id)?;
        if status.contains('F') {
            return Err(IssuerError::Refused(
                "a revoked licence cannot be reinstated; the holder must be licensed again".into(),
            ));
        }
        self.set_status(
            holder_id,
            "status.reinstate",
            |s, p| (s.with('D', false).with('B', p >= POINTS_LIMIT), p),
            now,
        )
    }

    /// Sets or adds penalty points; reaching 12 adds B (points exceeded), below removes it.
    pub fn points(
        &mut self,
        holder_id: i64,
        points: i64,
        add: bool,
        now: u64,
    ) -> Result<Value, IssuerError> {
        self.set_status(
            holder_id,
            if add { "points.add" } else { "points.set" },
            |s, p| {
                let new = if add { i64::from(p) + points } else { points };
                let new = u32::try_from(new.clamp(0, 999)).unwrap_or(0);
                (s.with('B', new >= POINTS_LIMIT), new)
            },
            now,
        )
    }

    /// Signs the trust bundle (root) and every authority's status list into `out`.
    /// Keys whose signing period ended and whose last credential has expired are
    /// retired first.
    pub fn publish(
        &mut self,
        out: &Path,
        keyring: &mut Keyring,
        now: u64,
        list_ttl_s: u64,
    ) -> Result<Value, IssuerError> {
        std::fs::create_dir_all(out).map_err(IssuerError::io(out))?;
        let tx = self.conn.transaction()?;
        let retired = tx.cached_execute(
            "UPDATE keys SET retired = 1 WHERE role = 'authority' AND retired = 0 AND valid_to <= ?1
               AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.kid = keys.kid AND c.expires_at > ?1 AND c.state != 'superseded')",
            [now_check(now)],
        )?;
        let version: u64 = tx
            .cached_row(
                "SELECT value FROM meta WHERE key = 'bundle_version'",
                [],
                |r| r.get::<_, String>(0),
            )?
            .parse()
            .unwrap_or(0)
            + 1;
        tx.cached_execute(
            "UPDATE meta SET value = ?1 WHERE key = 'bundle_version'",
            [version.to_string()],
        )?;
        let mut stmt = tx.prepare_cached("SELECT k.kid, k.public_key, k.authority_code, a.name, k.valid_from, k.valid_to, k.retired FROM keys k JOIN authorities a ON a.code = k.authority_code WHERE k.role = 'authority' ORDER BY k.valid_from")?;
        let keys_rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, bool>(6)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        let mut bundle_keys = Vec::new();
        for (public_key, code, name, from, to, retired) in keys_rows {
            let public_key: [u8; 32] = public_key
                .try_into()
                .map_err(|_| IssuerError::Integrity("authority key not 32 bytes".into()))?;
            bundle_keys.push(AuthorityKey {
                kid: credential::signature::key_id(&public_key),
                public_key,
                authority_code: code,
                authority_name: name,
                valid_from: to_u64(from),
                valid_to: to_u64(to),
                retired,
            });
        }
        let content = TrustBundleContent {
            version,
            issued_at: now,
            next_update: now + 30 * DAY,
            keys: bundle_keys,
        };
        let (root_kid, root_file): (String, String) = tx
            .cached_row("SELECT kid, file FROM keys WHERE role = 'root'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
            .ok_or_else(|| {
                IssuerError::Refused("no root key in this registry: run `issuer root init`".into())
            })?;
        let root = keyring.key(&root_kid, Path::new(&root_file))?.clone();
        let bundle_bytes = content.sign(&root);
        audit(
            &tx,
            &self.operator,
            now,
            "publish.trust_bundle",
            &version.to_string(),
            None,
            Some(json!({"keys": content.keys.len(), "retired_now": retired})),
        )?;
        tx.commit()?;
        write_file(&out.join("trust-bundle.cbor"), &bundle_bytes)?;
        std::fs::write(
            out.join("root.pub"),
            format!(
                "untrusted comment: licence national root public key\n{}\n",
                hex::encode(root.verifying_key().as_bytes())
            ),
        )
        .map_err(IssuerError::io(out))?;

        let mut lists = Vec::new();
        let codes: Vec<(String, i64)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT code, next_serial FROM authorities ORDER BY code")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (code, next_serial) in codes {
            let mut list =
                StatusList::new(code.clone(), now, now + list_ttl_s, to_u64(next_serial))
                    .map_err(|e| IssuerError::Integrity(e.to_string()))?;
            let mut stmt = self.conn.prepare_cached("SELECT serial, state FROM credentials WHERE authority_code = ?1 AND state != 'valid'")?;
            let rows = stmt.query_map([&code], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (serial, state) = row?;
                let status = match state.as_str() {
                    "revoked" => SerialStatus::Revoked,
                    "suspended" => SerialStatus::Suspended,
                    _ => SerialStatus::Superseded,
                };
                list.set(to_u64(serial), status)
                    .map_err(|e| IssuerError::Integrity(e.to_string()))?;
            }
            let (kid, file) = self.active_key(&code, now)?;
            let key = keyring.key(&kid, &file)?.clone();
            let file_name = format!("status-{}.cbor", hex::encode(code.as_bytes()));
            write_file(&out.join(&file_name), &list.sign(&key))?;
            lists.push(json!({"authority": code, "file": file_name, "size": list.size}));
        }
        let tx = self.conn.transaction()?;
        audit(
            &tx,
            &self.operator,
            now,
            "publish.status_lists",
            &out.to_string_lossy(),
            None,
            Some(json!(lists)),
        )?;
        tx.commit()?;
        Ok(
            json!({"trust_bundle": {"file": "trust-bundle.cbor", "version": version, "retired_now": retired}, "status_lists": lists, "root_kid": root_kid}),
        )
    }

    /// The holder a wallet's device key belongs to.
    pub fn holder_by_device_key(&self, device_key: &[u8; 32]) -> Result<Option<i64>, IssuerError> {
        Ok(self
            .conn
            .cached_row(
                "SELECT id FROM holders WHERE device_key = ?1",
                [device_key.to_vec()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records a refresh request's nonce; `false` if this device already used it
    /// within `window_s` (a replay). Older nonces are pruned: requests older than the
    /// window are refused by their timestamp anyway. Kept in the database, so several
    /// service instances behind a load balancer see the same nonces.
    pub fn remember_nonce(
        &mut self,
        device_key: &[u8; 32],
        nonce: &[u8],
        now: u64,
        window_s: u64,
    ) -> Result<bool, IssuerError> {
        let tx = self.conn.transaction()?;
        tx.cached_execute(
            "DELETE FROM refresh_nonces WHERE at < ?1",
            [now_check(now.saturating_sub(window_s))],
        )?;
        let inserted = tx.cached_execute(
            "INSERT OR IGNORE INTO refresh_nonces (device_key, nonce, at) VALUES (?1, ?2, ?3)",
            params![device_key.to_vec(), nonce, now_check(now)],
        )?;
        tx.commit()?;
        Ok(inserted == 1)
    }

    /// How many refreshes the holder got since `since` (for rate limiting).
    pub fn refreshes_since(&self, holder_id: i64, since: u64) -> Result<u64, IssuerError> {
        let n: i64 = self.conn.cached_row(
            "SELECT count(*) FROM audit WHERE action = 'credential.refresh' AND subject = ?1 AND at >= ?2",
            params![holder_id.to_string(), now_check(since)],
            |r| r.get(0),
        )?;
        Ok(to_u64(n))
    }

    /// The stored package of a credential (authority, serial) and its state.
    pub fn credential_package(
        &self,
        authority_code: &str,
        serial: u64,
    ) -> Result<Option<StoredCredential>, IssuerError> {
        Ok(self
            .conn
            .cached_row(
                "SELECT state, package, superseded_by FROM credentials WHERE authority_code = ?1 AND serial = ?2",
                params![authority_code, to_i64(serial)],
                |r| Ok(StoredCredential { state: r.get(0)?, package: r.get(1)?, superseded_by: r.get(2)? }),
            )
            .optional()?)
    }

    /// The audit log, newest last.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<Value>, IssuerError> {
        let mut stmt = self.conn.prepare_cached("SELECT id, at, operator, action, subject, old, new FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id")?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(json!({"id": r.get::<_, i64>(0)?, "at": r.get::<_, i64>(1)?, "operator": r.get::<_, String>(2)?, "action": r.get::<_, String>(3)?,
                "subject": r.get::<_, String>(4)?, "old": r.get::<_, Option<String>>(5)?, "new": r.get::<_, Option<String>>(6)?}))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// SQLite's integrity check plus the registry's own invariants.
    pub fn check(&self) -> Result<Value, IssuerError> {
        let integrity: String = self
            .conn
            .cached_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if integrity != "ok" {
            return Err(IssuerError::Integrity(integrity));
        }
        let fk: i64 =
            self.conn
                .cached_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
        let serial_behind: i64 = self.conn.cached_row(
            "SELECT count(*) FROM authorities a WHERE a.next_serial <= (SELECT coalesce(max(serial), 0) FROM credentials c WHERE c.authority_code = a.code)",
            [],
            |r| r.get(0),
        )?;
        let doubly_current: i64 = self.conn.cached_row(
            "SELECT count(*) FROM (SELECT holder_id FROM credentials WHERE state != 'superseded' GROUP BY holder_id HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )?;
        let problems: Vec<String> = [
            (fk, "foreign key violations"),
            (serial_behind, "serial counters behind issued serials"),
            (doubly_current, "holders with two current credentials"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !problems.is_empty() {
            return Err(IssuerError::Integrity(problems.join(", ")));
        }
        let count = |sql: &str| -> Result<i64, IssuerError> {
            Ok(self.conn.cached_row(sql, [], |r| r.get(0))?)
        };
        Ok(
            json!({"integrity": "ok", "holders": count("SELECT count(*) FROM holders")?, "credentials": count("SELECT count(*) FROM credentials")?,
            "current_credentials": count("SELECT count(*) FROM credentials WHERE state != 'superseded'")?, "audit_entries": count("SELECT count(*) FROM audit")?}),
        )
    }

    /// Unlocks the active signing key of every authority at `now`, so that a
    /// long-running service (`issuer serve`) fails at start on a wrong passphrase
    /// rather than on its first request. Returns how many keys were unlocked;
    /// authorities without an active key are skipped.
    pub fn unlock_signing_keys(
        &self,
        keyring: &mut Keyring,
        now: u64,
    ) -> Result<usize, IssuerError> {
        let codes: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT code FROM authorities ORDER BY code")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut unlocked = 0;
        for code in codes {
            match self.active_key(&code, now) {
                Ok((kid, file)) => {
                    keyring.key(&kid, &file)?;
                    unlocked += 1;
                }
                Err(IssuerError::Refused(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(unlocked)
    }

    /// The times of the holder's refreshes since `since`, oldest first (the refresh
    /// service's rate limit computes its retry-after from them).
    pub fn refresh_times_since(&self, holder_id: i64, since: u64) -> Result<Vec<u64>, IssuerError> {
        let mut stmt = self.conn.prepare_cached("SELECT at FROM audit WHERE action = 'credential.refresh' AND subject = ?1 AND at >= ?2 ORDER BY at")?;
        let rows = stmt.query_map(params![holder_id.to_string(), now_check(since)], |r| {
            r.get::<_, i64>(0)
        })?;
        let times: Vec<i64> = rows.collect::<Result<_, _>>()?;
        Ok(times.into_iter().map(to_u64).collect())
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Writes a published file atomically and durably: temp file, fsync, rename.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IssuerError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(IssuerError::io(&tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(IssuerError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(IssuerError::io(path))
}

fn insert_authority_key(
    tx: &Transaction<'_>,
    kid: &str,
    code: &str,
    key: &SigningKey,
    path: &Path,
    now: u64,
) -> Result<(), IssuerError> {
    tx.cached_execute(
        "INSERT INTO keys (kid, role, authority_code, public_key, file, valid_from, valid_to) VALUES (?1, 'authority', ?2, ?3, ?4, ?5, ?6)",
        params![kid, code, key.verifying_key().as_bytes().to_vec(), path.to_string_lossy(), now_check(now), now_check(now + KEY_VALIDITY_S)],
    )?;
    Ok(())
}

fn validate_input(input: &HolderInput) -> Result<(), IssuerError> {
    let licence = input.to_licence(
        "-".into(),
        StatusSet::NORMAL,
        [0; credential::licence::PORTRAIT_DIGEST_LEN],
    );
    licence
        .validate()
        .map_err(|e| IssuerError::invalid("licence", e.to_string()))?;
    if let Some(key) = input.device_key {
        credential::signature::public_key(&key, "device key")
            .map_err(|e| IssuerError::invalid("device key", e.to_string()))?;
    }
    Ok(())
}

fn insert_holder(tx: &Transaction<'_>, input: &HolderInput, now: u64) -> Result<i64, IssuerError> {
    validate_input(input)?;
    let authority: i64 = tx.cached_row(
        "SELECT count(*) FROM authorities WHERE code = ?1",
        [&input.authority_code],
        |r| r.get(0),
    )?;
    if authority == 0 {
        return Err(IssuerError::invalid(
            "authority",
            format!(
                "{} is not an authority of this registry",
                input.authority_code
            ),
        ));
    }
    let duplicate: i64 = tx.cached_row(
        "SELECT count(*) FROM holders WHERE licence_number = ?1",
        [&input.licence_number],
        |r| r.get(0),
    )?;
    if duplicate > 0 {
        return Err(IssuerError::Refused(format!(
            "licence number {} is already enrolled",
            input.licence_number
        )));
    }
    let points = input.points;
    let status = if points >= POINTS_LIMIT {
        StatusSet::NORMAL.with('B', true)
    } else {
        StatusSet::NORMAL
    };
    tx.cached_execute(
        "INSERT INTO holders (licence_number, name, sex, nationality, birth_date, address, file_number, first_issue_date, classes, valid_from, valid_to, authority_code, status, points, channel, device_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            input.licence_number, input.name, input.sex as i64, input.nationality, input.birth_date.0, input.address, input.file_number,
            input.first_issue_date.0, input.classes.bits(), input.validity.from.0, input.validity.to.map(|d| d.0), input.authority_code,
            status.bits(), points, input.channel.name(), input.device_key.map(|k| k.to_vec()), now_check(now)
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn holder_json(input: &HolderInput) -> Value {
    json!({
        "licence_number": input.licence_number, "name": input.name, "sex": input.sex.label(false), "nationality": input.nationality,
        "birth_date": input.birth_date.to_string(), "address": input.address, "file_number": input.file_number,
        "first_issue_date": input.first_issue_date.to_string(), "classes": input.classes.to_string(),
        "valid_from": input.validity.from.to_string(), "valid_to": input.validity.to.map(|d| d.to_string()),
        "authority": input.authority_code, "points": input.points, "channel": input.channel.name(),
        "device_key": input.device_key.map(hex::encode),
    })
}

/// When a review decision is due: the end of the next working day (Mon–Fri, UTC+8;
/// public holidays are not modelled).
pub fn review_due(submitted: u64) -> u64 {
    let local_day = (submitted + 8 * 3600) / DAY;
    let mut day = local_day + 1;
    // 1970-01-01 was a Thursday: weekday index 0 = Monday.
    while matches!((day + 3) % 7, 5 | 6) {
        day += 1;
    }
    (day + 1) * DAY - 8 * 3600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_is_due_end_of_next_working_day() {
        // Friday 2026-06-05 10:00 +08:00 → due Monday 2026-06-08 24:00 +08:00.
        let friday = 1_780_624_800;
        assert_eq!(review_due(friday), 1_780_934_400);
        // Monday 10:00 → Tuesday end.
        let monday = friday + 3 * DAY;
        assert_eq!(review_due(monday), 1_780_934_400 + DAY);
    }
}
