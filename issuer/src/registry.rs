//! The registry: the office's business rules over one transactional store.
//!
//! Every change is one store transaction that also appends to the audit log, so the
//! registry is never half-updated: a crash leaves the last committed state. Serial
//! numbers come from a per-authority counter bumped in the same transaction that
//! stores the credential, so a crash can never hand one out twice. The audit log is
//! append-only, enforced by the store (SQLite: triggers), not by convention.
//!
//! This module holds the rules — validation, the six-month portrait rule, review due
//! dates, supersede-on-reissue, status letters to credential state, key retirement,
//! publishing, keyring use — and no SQL: data access goes through [`Store`] (see
//! [`crate::store`] for why and for what a backend must guarantee). `Registry` is
//! generic over the store and defaults to [`SqliteStore`], which [`Registry::open`]
//! opens.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use credential::ed25519_dalek::SigningKey;
use credential::licence::{Authority, ClassSet, Licence, Sex, StatusSet, Validity};
use credential::status_list::{SerialStatus, StatusList};
use credential::trust_bundle::TrustBundleContent;
use credential::{date::Date, Profile};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::IssuerError;
use crate::keys::{self, KdfParams};
use crate::sqlite::SqliteStore;
use crate::store::{
    AuditEntry, CredentialState, NewCredential, NewKey, NewPortrait, PortraitState, Store,
    StoreRead, StoreTx,
};

/// Seconds in a day.
pub const DAY: u64 = 86_400;
/// Default credential lifetime: the wallet refreshes well before.
pub const DEFAULT_LIFETIME_S: u64 = 7 * DAY;
/// Penalty points that suspend driving in a 12-month cycle.
pub const POINTS_LIMIT: u32 = 12;
/// How long authority keys are valid for signing unless rotated earlier.
const KEY_VALIDITY_S: u64 = 10 * 365 * DAY;

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

/// An open registry over a store (SQLite unless said otherwise).
pub struct Registry<S: Store = SqliteStore> {
    store: S,
    dir: PathBuf,
    operator: String,
    kdf: KdfParams,
}

impl Registry<SqliteStore> {
    /// Opens (creating if needed) the registry in `dir`.
    pub fn open(dir: &Path, operator: &str, kdf: KdfParams) -> Result<Registry, IssuerError> {
        let store = SqliteStore::open(dir)?;
        Ok(Registry::with_store(store, dir, operator, kdf))
    }
}

impl<S: Store> Registry<S> {
    /// A registry over an open `store`; key files live in `dir/keys`.
    pub fn with_store(store: S, dir: &Path, operator: &str, kdf: KdfParams) -> Registry<S> {
        Registry {
            store,
            dir: dir.to_owned(),
            operator: operator.to_owned(),
            kdf,
        }
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
        if let Some(existing) = self.store.any_key()? {
            keyring.key(&existing.kid, &existing.file)?;
        }
        loop {
            let key = keys::generate_signing_key()?;
            let kid = hex::encode(credential::signature::key_id(
                key.verifying_key().as_bytes(),
            ));
            let path = self.dir.join("keys").join(format!("{kid}.key"));
            if self.store.kid_taken(&kid)? || path.exists() {
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
        if self.store.root_key()?.is_some() {
            return Err(IssuerError::Refused(
                "this registry already has a root key".into(),
            ));
        }
        let (key, kid, path) = self.new_key_file(keyring, "licence national root key")?;
        let mut tx = self.store.begin()?;
        tx.insert_key(&NewKey {
            kid: &kid,
            authority_code: None,
            public_key: key.verifying_key().as_bytes(),
            file: &path,
            valid_from: now,
            valid_to: u64::MAX,
        })?;
        audit(
            &mut tx,
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
        let root = self.store.root_key()?.ok_or_else(|| {
            IssuerError::Refused("no root key: run `issuer root init` first".into())
        })?;
        root.public_key
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
        if self.store.authority_exists(code)? {
            return Err(IssuerError::Refused(format!(
                "authority {code} already exists; use `issuer key rotate` for a new key"
            )));
        }
        let (key, kid, path) =
            self.new_key_file(keyring, &format!("licence authority key {code}"))?;
        let mut tx = self.store.begin()?;
        tx.insert_authority(code, name)?;
        insert_authority_key(&mut tx, &kid, code, &key, &path, now)?;
        audit(
            &mut tx,
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
        let (old_kid, _) = active_key(&self.store, code, now)?;
        let (key, kid, path) =
            self.new_key_file(keyring, &format!("licence authority key {code}"))?;
        let mut tx = self.store.begin()?;
        tx.set_key_valid_to(&old_kid, now)?;
        insert_authority_key(&mut tx, &kid, code, &key, &path, now)?;
        audit(
            &mut tx,
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
        let (code, retired) = self
            .store
            .key_authority(kid)?
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
        if active_key(&self.store, &code, now)
            .map(|(active, _)| active == kid)
            .unwrap_or(false)
        {
            return Err(IssuerError::Refused(format!("key {kid} is {code}'s signing key: run `issuer key rotate --authority {code}` first")));
        }
        let mut tx = self.store.begin()?;
        tx.retire_key(kid, now)?;
        audit(
            &mut tx,
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

    /// Enrols one holder; returns the holder id.
    pub fn holder_add(&mut self, input: &HolderInput, now: u64) -> Result<i64, IssuerError> {
        let mut tx = self.store.begin()?;
        let id = enrol(&mut tx, &self.operator, input, None, now)?;
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
        let operator = self.operator.as_str();
        let mut tx = self.store.begin()?;
        let mut added = Vec::new();
        let mut errors = Vec::new();
        for (line, row) in rows {
            progress();
            let result = match row {
                Ok((input, portrait)) => {
                    tx.savepoint()?;
                    match enrol(&mut tx, operator, input, portrait.as_deref(), now) {
                        Ok(id) => {
                            tx.release_savepoint()?;
                            Ok(id)
                        }
                        Err(e) => {
                            tx.rollback_to_savepoint()?;
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
                &mut tx,
                operator,
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
        let (input, status) = holder(&self.store, id)?;
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
        value["portrait"] = match self.store.approved_portrait(id)? {
            Some(portrait) => json!(portrait.id),
            None => Value::Null,
        };
        Ok(value)
    }

    /// Finds a holder by licence number.
    pub fn holder_by_licence_number(&self, licence_number: &str) -> Result<i64, IssuerError> {
        self.store
            .holder_by_licence_number(licence_number)?
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
        holder(&self.store, holder_id)?;
        let mut tx = self.store.begin()?;
        let outcome = insert_portrait(&mut tx, &self.operator, holder_id, source, bytes, now)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// The review queue: pending portraits with their age and whether the decision is overdue.
    pub fn review_list(&self, now: u64) -> Result<Vec<Value>, IssuerError> {
        Ok(self
            .store
            .pending_portraits()?
            .into_iter()
            .map(|p| {
                let due = review_due(p.submitted_at);
                json!({"portrait": p.id, "holder": p.holder_id, "name": p.holder_name, "source": p.source, "submitted_at": p.submitted_at,
                    "age_h": now.saturating_sub(p.submitted_at) / 3600, "due_at": due, "overdue": now > due})
            })
            .collect())
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
        let (holder_id, state) =
            self.store
                .portrait(portrait_id)?
                .ok_or(IssuerError::NotFound {
                    what: "portrait",
                    id: portrait_id.to_string(),
                })?;
        if state != PortraitState::Pending {
            return Err(IssuerError::Refused(format!(
                "portrait {portrait_id} is {}, not pending review",
                state.name()
            )));
        }
        if !approve && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(IssuerError::invalid(
                "reason",
                "a rejection needs a reason the holder can act on",
            ));
        }
        if approve {
            check_replacement_interval(&self.store, holder_id, now)?;
        }
        let had_credential = self.store.current_credential(holder_id)?.is_some();
        let mut tx = self.store.begin()?;
        if approve {
            tx.replace_approved_portraits(holder_id)?;
        }
        let decision = if approve {
            PortraitState::Approved
        } else {
            PortraitState::Rejected
        };
        tx.decide_portrait(portrait_id, decision, now, &self.operator, reason)?;
        audit(
            &mut tx,
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
        Ok(self.store.current_credential(holder_id)?.map(|c| {
            (
                c.authority_code,
                c.serial,
                c.state.name().to_owned(),
                c.expires_at,
            )
        }))
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
        let mut tx = self.store.begin()?;
        let issued = sign_new_serial_in(
            &mut tx,
            &self.operator,
            SignRequest {
                holder_id,
                device_key,
                why,
                now,
                lifetime_s,
            },
            keyring,
        )?;
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
            let mut tx = self.store.begin()?;
            for id in ids {
                tx.savepoint()?;
                let request = SignRequest {
                    holder_id: *id,
                    device_key: None,
                    why: "issue",
                    now,
                    lifetime_s,
                };
                match sign_new_serial_in(&mut tx, &self.operator, request, keyring) {
                    Ok(_) => {
                        tx.release_savepoint()?;
                        issued += 1;
                    }
                    Err(
                        e @ (IssuerError::Refused(_)
                        | IssuerError::Build(_)
                        | IssuerError::NotFound { .. }),
                    ) => {
                        tx.rollback_to_savepoint()?;
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

    /// Re-signs the holder's current credential with a new expiry and the current
    /// data (status letters, points), keeping its serial: what a wallet refresh gets.
    pub fn refresh(
        &mut self,
        holder_id: i64,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Issued, IssuerError> {
        let current = self.store.current_credential(holder_id)?.ok_or_else(|| {
            IssuerError::Refused(format!("holder {holder_id} has no credential to refresh"))
        })?;
        let (code, serial) = (current.authority_code, current.serial);
        if current.state == CredentialState::Revoked {
            return Err(IssuerError::Refused(format!(
                "credential {code}/{serial} is revoked"
            )));
        }
        let (input, licence) = licence(&self.store, holder_id)?;
        if input.authority_code != code {
            return self.reissue(holder_id, "authority changed", keyring, now, lifetime_s);
        }
        let device_key = input.device_key.ok_or_else(|| {
            IssuerError::Integrity(format!(
                "holder {holder_id} has a credential but no device key"
            ))
        })?;
        let (kid, file) = active_key(&self.store, &code, now)?;
        let key = keyring.key(&kid, &file)?.clone();
        let issued = sign(
            &licence,
            holder_id,
            serial,
            device_key,
            &key,
            (now, lifetime_s),
        )?;
        let mut tx = self.store.begin()?;
        tx.refresh_credential(
            &code,
            serial,
            &kid,
            (now, now + lifetime_s),
            &issued.package(),
        )?;
        audit(
            &mut tx,
            &self.operator,
            now,
            REFRESH_ACTION,
            &holder_id.to_string(),
            None,
            Some(json!({"serial": format!("{code}/{serial}"), "expires_at": now + lifetime_s})),
        )?;
        tx.commit()?;
        Ok(issued)
    }

    /// Holders ready for issuance: a device key and an approved portrait, no current credential.
    pub fn pending_issuance(&self) -> Result<Vec<i64>, IssuerError> {
        self.store.holders_pending_issuance()
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
        let (before, _) = holder(&self.store, holder_id)?;
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
        let mut tx = self.store.begin()?;
        tx.update_holder(holder_id, &after)?;
        audit(
            &mut tx,
            &self.operator,
            now,
            "holder.update",
            &holder_id.to_string(),
            Some(holder_json(&before)),
            Some(holder_json(&after)),
        )?;
        tx.commit()?;
        if self.store.current_credential(holder_id)?.is_some() {
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
        let (input, status) = holder(&self.store, holder_id)?;
        let (new_status, new_points) = edit(status, input.points);
        let current = self.store.current_credential(holder_id)?;
        let mut tx = self.store.begin()?;
        tx.set_holder_status(holder_id, new_status, new_points)?;
        let credential_state =
            if new_status.contains('F') || new_status.contains('E') || new_status.contains('G') {
                CredentialState::Revoked
            } else if !new_status.prohibiting().is_empty() {
                CredentialState::Suspended
            } else {
                CredentialState::Valid
            };
        if let Some(current) = &current {
            if current.state != CredentialState::Revoked {
                tx.set_credential_state(&current.authority_code, current.serial, credential_state)?;
            }
        }
        let new = json!({"status": new_status.to_string(), "points": new_points, "credential": credential_state.name()});
        audit(
            &mut tx,
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
        let (_, status) = holder(&self.store, holder_id)?;
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
        let mut tx = self.store.begin()?;
        let retired = tx.retire_spent_keys(now)?;
        let version = tx.next_bundle_version()?;
        let content = TrustBundleContent {
            version,
            issued_at: now,
            next_update: now + 30 * DAY,
            keys: tx.authority_keys()?,
        };
        let root_record = tx.root_key()?.ok_or_else(|| {
            IssuerError::Refused("no root key in this registry: run `issuer root init`".into())
        })?;
        let root_kid = root_record.kid;
        let root = keyring.key(&root_kid, &root_record.file)?.clone();
        let bundle_bytes = content.sign(&root);
        audit(
            &mut tx,
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
        for (code, next_serial) in self.store.authorities()? {
            let mut list = StatusList::new(code.clone(), now, now + list_ttl_s, next_serial)
                .map_err(|e| IssuerError::Integrity(e.to_string()))?;
            for (serial, state) in self.store.invalid_credentials(&code)? {
                let status = match state {
                    CredentialState::Revoked => SerialStatus::Revoked,
                    CredentialState::Suspended => SerialStatus::Suspended,
                    _ => SerialStatus::Superseded,
                };
                list.set(serial, status)
                    .map_err(|e| IssuerError::Integrity(e.to_string()))?;
            }
            let (kid, file) = active_key(&self.store, &code, now)?;
            let key = keyring.key(&kid, &file)?.clone();
            let file_name = format!("status-{}.cbor", hex::encode(code.as_bytes()));
            write_file(&out.join(&file_name), &list.sign(&key))?;
            lists.push(json!({"authority": code, "file": file_name, "size": list.size}));
        }
        let mut tx = self.store.begin()?;
        audit(
            &mut tx,
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
        self.store.holder_by_device_key(device_key)
    }

    /// Records a refresh request's nonce; `false` if this device already used it
    /// within `window_s` (a replay). Older nonces are pruned: requests older than the
    /// window are refused by their timestamp anyway. Kept in the store, so several
    /// service instances behind a load balancer see the same nonces.
    pub fn remember_nonce(
        &mut self,
        device_key: &[u8; 32],
        nonce: &[u8],
        now: u64,
        window_s: u64,
    ) -> Result<bool, IssuerError> {
        let mut tx = self.store.begin()?;
        let fresh = tx.remember_nonce(device_key, nonce, now, now.saturating_sub(window_s))?;
        tx.commit()?;
        Ok(fresh)
    }

    /// How many refreshes the holder got since `since` (for rate limiting).
    pub fn refreshes_since(&self, holder_id: i64, since: u64) -> Result<u64, IssuerError> {
        self.store
            .audit_count_since(REFRESH_ACTION, &holder_id.to_string(), since)
    }

    /// The stored package of a credential (authority, serial) and its state.
    pub fn credential_package(
        &self,
        authority_code: &str,
        serial: u64,
    ) -> Result<Option<StoredCredential>, IssuerError> {
        self.store.credential(authority_code, serial)
    }

    /// The audit log, newest last.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<Value>, IssuerError> {
        Ok(self
            .store
            .audit_recent(limit)?
            .into_iter()
            .map(|r| {
                json!({"id": r.id, "at": r.at, "operator": r.operator, "action": r.action,
                    "subject": r.subject, "old": r.old, "new": r.new})
            })
            .collect())
    }

    /// The store's integrity check plus the registry's own invariants.
    pub fn check(&self) -> Result<Value, IssuerError> {
        let report = self.store.integrity()?;
        if let Some(problem) = report.storage_problem {
            return Err(IssuerError::Integrity(problem));
        }
        let problems: Vec<String> = [
            (report.foreign_key_violations, "foreign key violations"),
            (
                report.serial_counters_behind,
                "serial counters behind issued serials",
            ),
            (
                report.holders_with_two_current,
                "holders with two current credentials",
            ),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !problems.is_empty() {
            return Err(IssuerError::Integrity(problems.join(", ")));
        }
        Ok(
            json!({"integrity": "ok", "holders": report.holders, "credentials": report.credentials,
            "current_credentials": report.current_credentials, "audit_entries": report.audit_entries}),
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
        let mut unlocked = 0;
        for (code, _) in self.store.authorities()? {
            match active_key(&self.store, &code, now) {
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
        self.store
            .audit_times_since(REFRESH_ACTION, &holder_id.to_string(), since)
    }
}

/// The audit action of a refresh: the rate limit counts these.
const REFRESH_ACTION: &str = "credential.refresh";

fn audit(
    tx: &mut impl StoreTx,
    operator: &str,
    now: u64,
    action: &str,
    subject: &str,
    old: Option<Value>,
    new: Option<Value>,
) -> Result<(), IssuerError> {
    tx.append_audit(&AuditEntry {
        at: now,
        operator,
        action,
        subject,
        old: old.as_ref(),
        new: new.as_ref(),
    })
}

fn holder(db: &impl StoreRead, id: i64) -> Result<(HolderInput, StatusSet), IssuerError> {
    db.holder(id)?.ok_or(IssuerError::NotFound {
        what: "holder",
        id: id.to_string(),
    })
}

/// The key that signs for `code` now.
fn active_key(db: &impl StoreRead, code: &str, now: u64) -> Result<(String, PathBuf), IssuerError> {
    db.active_key(code, now)?.ok_or_else(|| {
        IssuerError::Refused(format!(
            "authority {code} has no active key; add it with `issuer authority add` or rotate"
        ))
    })
}

/// A portrait may be replaced at most once every six months.
fn check_replacement_interval(
    db: &impl StoreRead,
    holder_id: i64,
    now: u64,
) -> Result<(), IssuerError> {
    if let Some(portrait) = db.approved_portrait(holder_id)? {
        if now.saturating_sub(portrait.decided_at) < 183 * DAY {
            return Err(IssuerError::Refused(format!(
                "holder {holder_id}'s portrait was approved {} days ago; a portrait may be replaced at most once every 6 months",
                now.saturating_sub(portrait.decided_at) / DAY
            )));
        }
    }
    Ok(())
}

/// The holder's licence as the format signs it: data, status, approved portrait.
fn licence(db: &impl StoreRead, holder_id: i64) -> Result<(HolderInput, Licence), IssuerError> {
    let (input, status) = holder(db, holder_id)?;
    let portrait = db.approved_portrait(holder_id)?.ok_or_else(|| {
        IssuerError::Refused(format!("holder {holder_id} has no approved portrait"))
    })?;
    let authority_name = db.authority_name(&input.authority_code)?.ok_or_else(|| {
        IssuerError::Integrity(format!(
            "holder {holder_id}: authority {} is not in the registry",
            input.authority_code
        ))
    })?;
    let licence = input.to_licence(
        authority_name,
        status,
        portrait
            .sha256
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

/// Signs every profile of `licence` under `serial`, valid for `lifetime_s` from `now`.
fn sign(
    licence: &Licence,
    holder_id: i64,
    serial: u64,
    device_key: [u8; 32],
    key: &SigningKey,
    (now, lifetime_s): (u64, u64),
) -> Result<Issued, IssuerError> {
    let params = credential::issue::IssueParams {
        serial,
        issued_at: now,
        expires_at: now + lifetime_s,
        device_key,
    };
    Ok(Issued {
        holder_id,
        authority_code: licence.issuing_authority.code.clone(),
        serial,
        issued_at: now,
        expires_at: now + lifetime_s,
        credentials: credential::issue::issue_all_profiles(licence, &params, key)?,
    })
}

/// One holder's issuance, inside the caller's transaction.
struct SignRequest<'a> {
    holder_id: i64,
    device_key: Option<[u8; 32]>,
    why: &'a str,
    now: u64,
    lifetime_s: u64,
}

/// Signs a credential with a new serial, superseding the holder's live ones, in `tx`:
/// the serial is allocated in the transaction that stores the credential and its
/// audit row.
fn sign_new_serial_in(
    tx: &mut impl StoreTx,
    operator: &str,
    request: SignRequest<'_>,
    keyring: &mut Keyring,
) -> Result<Issued, IssuerError> {
    let SignRequest {
        holder_id,
        device_key,
        why,
        now,
        lifetime_s,
    } = request;
    let (input, licence) = licence(tx, holder_id)?;
    let device_key = device_key
        .or(input.device_key)
        .ok_or_else(|| IssuerError::Refused(format!("holder {holder_id} has no device key: the wallet must enrol first (issue --device-key)")))?;
    if licence.status.contains('F') {
        return Err(IssuerError::Refused(format!(
            "holder {holder_id}'s licence is revoked"
        )));
    }
    let code = input.authority_code.clone();
    let (kid, file) = active_key(tx, &code, now)?;
    let key = keyring.key(&kid, &file)?;
    let serial = tx.allocate_serial(&code)?;
    let issued = sign(
        &licence,
        holder_id,
        serial,
        device_key,
        key,
        (now, lifetime_s),
    )?;
    let superseded = tx.live_credentials(holder_id)?;
    let new_ref = format!("{code}/{serial}");
    for (old_code, old_serial) in &superseded {
        tx.supersede_credential(old_code, *old_serial, &new_ref)?;
    }
    let state = if licence.status.prohibiting().is_empty() {
        CredentialState::Valid
    } else {
        CredentialState::Suspended
    };
    tx.insert_credential(&NewCredential {
        authority_code: &code,
        serial,
        holder_id,
        kid: &kid,
        issued_at: now,
        expires_at: now + lifetime_s,
        state,
        package: &issued.package(),
    })?;
    tx.set_holder_device_key(holder_id, &device_key)?;
    let old = (!superseded.is_empty()).then(|| json!({"superseded": superseded.iter().map(|(c, s)| format!("{c}/{s}")).collect::<Vec<_>>()}));
    audit(
        tx,
        operator,
        now,
        "credential.issue",
        &holder_id.to_string(),
        old,
        Some(json!({"serial": new_ref, "why": why, "kid": kid})),
    )?;
    Ok(issued)
}

/// Enrols one holder in `tx` (one line of an import: inside the caller's savepoint):
/// the holder, its audit row, and its retained portrait if any, which must pass the
/// automatic checks.
fn enrol(
    tx: &mut impl StoreTx,
    operator: &str,
    input: &HolderInput,
    portrait: Option<&[u8]>,
    now: u64,
) -> Result<i64, IssuerError> {
    let id = insert_holder(tx, input, now)?;
    audit(
        tx,
        operator,
        now,
        "holder.add",
        &id.to_string(),
        None,
        Some(holder_json(input)),
    )?;
    match portrait {
        Some(bytes) => {
            match insert_portrait(tx, operator, id, PortraitSource::Retained, bytes, now)? {
                (_, "approved", _) => Ok(id),
                (_, _, failures) => Err(IssuerError::Refused(format!(
                    "retained portrait fails the automatic checks: {}",
                    failures.join("; ")
                ))),
            }
        }
        None => Ok(id),
    }
}

fn insert_portrait(
    tx: &mut impl StoreTx,
    operator: &str,
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
        (false, _) => PortraitState::Rejected,
        (true, PortraitSource::Retained) => PortraitState::Approved,
        (true, _) => PortraitState::Pending,
    };
    if state == PortraitState::Approved {
        check_replacement_interval(tx, holder_id, now)?;
        tx.replace_approved_portraits(holder_id)?;
    }
    let rejection = failures.join("; ");
    let id = tx.insert_portrait(&NewPortrait {
        holder_id,
        source,
        bytes,
        sha256: &credential::signature::sha256(bytes),
        submitted_at: now,
        state,
        decided: (state != PortraitState::Pending).then_some((now, "automatic checks")),
        reason: (state == PortraitState::Rejected).then_some(rejection.as_str()),
        auto_failures: &serde_json::to_string(&failures).unwrap_or_default(),
    })?;
    audit(
        tx,
        operator,
        now,
        "portrait.add",
        &holder_id.to_string(),
        None,
        Some(
            json!({"portrait": id, "source": source.name(), "state": state.name(), "failures": failures}),
        ),
    )?;
    Ok((id, state.name(), failures))
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
    tx: &mut impl StoreTx,
    kid: &str,
    code: &str,
    key: &SigningKey,
    path: &Path,
    now: u64,
) -> Result<(), IssuerError> {
    tx.insert_key(&NewKey {
        kid,
        authority_code: Some(code),
        public_key: key.verifying_key().as_bytes(),
        file: path,
        valid_from: now,
        valid_to: now + KEY_VALIDITY_S,
    })
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

fn insert_holder(tx: &mut impl StoreTx, input: &HolderInput, now: u64) -> Result<i64, IssuerError> {
    validate_input(input)?;
    if !tx.authority_exists(&input.authority_code)? {
        return Err(IssuerError::invalid(
            "authority",
            format!(
                "{} is not an authority of this registry",
                input.authority_code
            ),
        ));
    }
    if tx
        .holder_by_licence_number(&input.licence_number)?
        .is_some()
    {
        return Err(IssuerError::Refused(format!(
            "licence number {} is already enrolled",
            input.licence_number
        )));
    }
    let status = if input.points >= POINTS_LIMIT {
        StatusSet::NORMAL.with('B', true)
    } else {
        StatusSet::NORMAL
    };
    tx.insert_holder(input, status, now)
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
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::portrait::{synthetic_portrait, ImageFormat};
    use crate::sqlite::SqliteStore;

    #[test]
    fn review_is_due_end_of_next_working_day() {
        // Friday 2026-06-05 10:00 +08:00 → due Monday 2026-06-08 24:00 +08:00.
        let friday = 1_780_624_800;
        assert_eq!(review_due(friday), 1_780_934_400);
        // Monday 10:00 → Tuesday end.
        let monday = friday + 3 * DAY;
        assert_eq!(review_due(monday), 1_780_934_400 + DAY);
    }

    /// The whole office workflow written against the trait only: any `Store` runs it.
    fn enrol_issue_suspend<S: Store>(registry: &mut Registry<S>, keyring: &mut Keyring) {
        let now = 1_780_279_200;
        registry.root_init(keyring, now).unwrap();
        registry
            .authority_add("川J", "四川省遂宁市公安局交通警察支队", keyring, now)
            .unwrap();
        let device = SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
        let input = HolderInput {
            licence_number: "510903198803140021".into(),
            name: "欧阳婷婷".into(),
            sex: Sex::Female,
            nationality: "CHN".into(),
            birth_date: Date::parse("1988-03-14").unwrap(),
            address: "四川省遂宁市船山区明月路88号".into(),
            file_number: "510900123456".into(),
            first_issue_date: Date::parse("2008-07-22").unwrap(),
            classes: ClassSet::parse("C1E").unwrap(),
            validity: Validity {
                from: Date::parse("2020-07-22").unwrap(),
                to: None,
            },
            authority_code: "川J".into(),
            points: 0,
            channel: Channel::App,
            device_key: Some(device),
        };
        let id = registry.holder_add(&input, now).unwrap();
        let portrait = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        let (_, state, failures) = registry
            .portrait_add(id, PortraitSource::Retained, &portrait, now)
            .unwrap();
        assert_eq!((state, failures), ("approved", Vec::<String>::new()));
        assert_eq!(registry.pending_issuance().unwrap(), vec![id]);
        let (issued, refused) = registry
            .issue_batch(&[id, id + 1], 64, keyring, now, DEFAULT_LIFETIME_S, |_| {})
            .unwrap();
        assert_eq!((issued, refused.len()), (1, 1));
        let reissued = registry
            .issue(id, None, keyring, now + 1, DEFAULT_LIFETIME_S)
            .unwrap();
        assert_eq!(reissued.serial, 2);
        let first = registry.credential_package("川J", 1).unwrap().unwrap();
        assert_eq!(
            (first.state.as_str(), first.superseded_by.as_deref()),
            ("superseded", Some("川J/2"))
        );
        registry.suspend(id, now + 2).unwrap();
        assert_eq!(
            registry.current_credential(id).unwrap().unwrap().2,
            "suspended"
        );
        assert_eq!(registry.check().unwrap()["current_credentials"], 1);
    }

    #[test]
    fn registry_runs_on_any_store_in_memory_sqlite_here() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        let store = SqliteStore::in_memory().unwrap();
        let mut registry =
            Registry::with_store(store, dir.path(), "test", KdfParams::fast_for_tests());
        let mut keyring = Keyring::new(Zeroizing::new(b"test passphrase".to_vec()));
        enrol_issue_suspend(&mut registry, &mut keyring);
        // Nothing was written to a database file: the store is the in-memory one.
        assert!(!dir.path().join("registry.sqlite").exists());
    }

    #[test]
    fn a_dropped_transaction_changes_nothing() {
        let mut store = SqliteStore::in_memory().unwrap();
        let mut tx = store.begin().unwrap();
        tx.insert_authority("川J", "x").unwrap();
        assert_eq!(tx.allocate_serial("川J").unwrap(), 1);
        assert_eq!(tx.allocate_serial("川J").unwrap(), 2);
        drop(tx);
        assert!(!store.authority_exists("川J").unwrap());
        let mut tx = store.begin().unwrap();
        tx.insert_authority("川J", "x").unwrap();
        tx.savepoint().unwrap();
        assert_eq!(tx.allocate_serial("川J").unwrap(), 1);
        tx.rollback_to_savepoint().unwrap();
        tx.commit().unwrap();
        assert_eq!(store.authorities().unwrap(), vec![("川J".to_owned(), 1)]);
    }
}
