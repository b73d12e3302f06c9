//! Keys: the national root, authorities and their signing keys, rotation and
//! retirement, and the [`Keyring`] that unlocks key files for one command.
//!
//! Key files are recorded by *name* and always read from this registry's own `keys`
//! folder, so a moved or copied registry signs with its own keys (or, if they are
//! missing, says so) — never with the original directory's.

use std::collections::HashMap;
use std::path::Path;

use credential::ed25519_dalek::SigningKey;
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::{active_key, audit, key_path, Registry};
use crate::error::IssuerError;
use crate::keyfile;
use crate::model::{KeyRecord, NewKey, DAY};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

/// How long authority keys are valid for signing unless rotated earlier.
const KEY_VALIDITY_S: u64 = 10 * 365 * DAY;

/// Unlocks signing keys on demand with one passphrase, keeping them for the command.
pub struct Keyring {
    passphrase: Zeroizing<Vec<u8>>,
    loaded: HashMap<String, SigningKey>,
    minimum: Option<keyfile::KdfParams>,
}

impl Keyring {
    /// A keyring that unlocks with `passphrase`.
    pub fn new(passphrase: Zeroizing<Vec<u8>>) -> Keyring {
        Keyring {
            passphrase,
            loaded: HashMap::new(),
            minimum: None,
        }
    }

    /// Refuses to unlock key files whose key-derivation costs are below `minimum`
    /// (the CLI passes [`keyfile::KdfParams::from_env`]: the default in a release build).
    pub fn refusing_weaker_than(mut self, minimum: keyfile::KdfParams) -> Keyring {
        self.minimum = Some(minimum);
        self
    }

    /// The key of `record`, decrypted from its file in `dir/keys` the first time.
    pub(crate) fn key(
        &mut self,
        dir: &Path,
        record: &KeyRecord,
    ) -> Result<&SigningKey, IssuerError> {
        if !self.loaded.contains_key(&record.kid) {
            let key = keyfile::read_key_file_at_least(
                &key_path(dir, record),
                &self.passphrase,
                self.minimum,
            )?;
            if key.verifying_key().as_bytes().as_slice() != record.public_key.as_slice() {
                return Err(IssuerError::Integrity(format!(
                    "key file {} does not hold key {} of this registry: restore the registry's own keys folder",
                    record.file_name, record.kid
                )));
            }
            self.loaded.insert(record.kid.clone(), key);
        }
        self.loaded
            .get(&record.kid)
            .ok_or_else(|| IssuerError::Integrity(format!("key {} vanished", record.kid)))
    }

    /// The passphrase (for creating new key files with the same one).
    pub fn passphrase(&self) -> &[u8] {
        &self.passphrase
    }
}

/// A key created or retired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyCreated {
    /// Key id (hex).
    pub kid: String,
    /// The authority it signs for (`None`: the root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The root's public key (hex), for `root init`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// A key retired by `key retire`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyRetired {
    /// Key id.
    pub kid: String,
    /// Its authority.
    pub authority: String,
}

impl<S: Store> Registry<S> {
    /// Generates a key and writes its encrypted file (0600, never over an existing
    /// one). Key ids are 3 bytes (spec §3.2), so a new key whose id is already taken
    /// (by any key, retired ones included) is discarded and another generated.
    fn new_key_file(
        &self,
        keyring: &mut Keyring,
        comment: &str,
    ) -> Result<(SigningKey, String, String), IssuerError> {
        // All keys of a registry share one passphrase: prove it on an existing key
        // first, so a typo cannot create a key nobody can unlock with the others.
        if let Some(existing) = self.store.any_key()? {
            keyring.key(&self.dir, &existing)?;
        }
        loop {
            let key = keyfile::generate_signing_key()?;
            let kid = hex::encode(credential::signature::key_id(
                key.verifying_key().as_bytes(),
            ));
            let file_name = format!("{kid}.key");
            let path = self.dir.join("keys").join(&file_name);
            if self.store.kid_taken(&kid)? || path.exists() {
                continue;
            }
            keyfile::write_key_file(
                &path,
                &key,
                keyring.passphrase(),
                &format!("{comment} (kid {kid})"),
                self.kdf,
            )?;
            return Ok((key, kid, file_name));
        }
    }

    /// Records a key file just written: `record` runs in one write transaction that
    /// re-checks, under the lock, what was decided before the slow key derivation.
    /// If it refuses (another clerk got there first) or fails, the key file is
    /// removed: no key is left behind without its record.
    fn record_new_key(
        &mut self,
        file_name: &str,
        record: impl FnOnce(&mut S::Tx<'_>, &str) -> Result<(), IssuerError>,
    ) -> Result<(), IssuerError> {
        let result = (|| {
            let mut tx = self.store.begin()?;
            record(&mut tx, &self.operator)?;
            tx.commit()?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(self.dir.join("keys").join(file_name));
        }
        result
    }

    /// Creates the national root key (once).
    pub fn root_init(
        &mut self,
        keyring: &mut Keyring,
        now: u64,
    ) -> Result<KeyCreated, IssuerError> {
        if self.store.root_key()?.is_some() {
            return Err(Refusal::RootExists.into());
        }
        // The slow key derivation runs before the lock; the decision is re-checked
        // inside the transaction.
        let (key, kid, file_name) = self.new_key_file(keyring, "licence national root key")?;
        self.record_new_key(&file_name, |tx, operator| {
            if tx.root_key()?.is_some() {
                return Err(Refusal::RootExists.into());
            }
            tx.insert_key(&NewKey {
                kid: &kid,
                authority_code: None,
                public_key: key.verifying_key().as_bytes(),
                file_name: &file_name,
                valid_from: now,
                valid_to: u64::MAX,
            })?;
            audit(
                tx,
                operator,
                now,
                "root.init",
                &kid,
                None,
                Some(json!({"kid": kid})),
            )
        })?;
        Ok(KeyCreated {
            kid,
            authority: None,
            public_key: Some(hex::encode(key.verifying_key().as_bytes())),
        })
    }

    /// The root public key.
    pub fn root_public_key(&self) -> Result<[u8; 32], IssuerError> {
        let root = self.store.root_key()?.ok_or(Refusal::NoRootKey)?;
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
    ) -> Result<KeyCreated, IssuerError> {
        if code.is_empty() || name.is_empty() || code.len() > 64 || name.len() > 256 {
            return Err(IssuerError::invalid(
                "authority",
                "code and name must be non-empty and short",
            ));
        }
        if self.store.authority_exists(code)? {
            return Err(Refusal::AuthorityExists(code.to_owned()).into());
        }
        let (key, kid, file_name) =
            self.new_key_file(keyring, &format!("licence authority key {code}"))?;
        self.record_new_key(&file_name, |tx, operator| {
            if tx.authority_exists(code)? {
                return Err(Refusal::AuthorityExists(code.to_owned()).into());
            }
            tx.insert_authority(code, name)?;
            insert_authority_key(tx, &kid, code, &key, &file_name, now)?;
            let new = json!({"name": name, "kid": kid});
            audit(tx, operator, now, "authority.add", code, None, Some(new))
        })?;
        Ok(KeyCreated {
            kid,
            authority: Some(code.to_owned()),
            public_key: None,
        })
    }

    /// Rotates an authority's key: the new key signs from now on; the old one stops
    /// signing but stays in the trust bundle until its last credential has expired.
    pub fn key_rotate(
        &mut self,
        code: &str,
        keyring: &mut Keyring,
        now: u64,
    ) -> Result<KeyCreated, IssuerError> {
        active_key(&self.store, code, now)?;
        let (key, kid, file_name) =
            self.new_key_file(keyring, &format!("licence authority key {code}"))?;
        self.record_new_key(&file_name, |tx, operator| {
            // Read again under the lock: a rotation by another clerk in between is
            // what this one now replaces.
            let old = active_key(tx, code, now)?;
            tx.set_key_valid_to(&old.kid, now)?;
            insert_authority_key(tx, &kid, code, &key, &file_name, now)?;
            let (old, new) = (json!({"kid": old.kid}), json!({"kid": kid}));
            audit(tx, operator, now, "key.rotate", code, Some(old), Some(new))
        })?;
        Ok(KeyCreated {
            kid,
            authority: Some(code.to_owned()),
            public_key: None,
        })
    }

    /// Retires a key at once (compromise): its credentials are rejected by every
    /// verifier that imports the next trust bundle. The authority must have a newer
    /// key to sign with (`key rotate` first).
    pub fn key_retire(&mut self, kid: &str, now: u64) -> Result<KeyRetired, IssuerError> {
        let mut tx = self.store.begin()?;
        let (code, retired) = tx.key_authority(kid)?.ok_or(IssuerError::NotFound {
            what: "key",
            id: kid.into(),
        })?;
        let code = code.ok_or(Refusal::RootKeyNotRetirable)?;
        if retired {
            return Err(Refusal::KeyAlreadyRetired(kid.to_owned()).into());
        }
        if tx
            .active_key(&code, now)?
            .is_some_and(|active| active.kid == kid)
        {
            return Err(Refusal::KeyStillSigning {
                kid: kid.to_owned(),
                authority: code,
            }
            .into());
        }
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
        Ok(KeyRetired {
            kid: kid.to_owned(),
            authority: code,
        })
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
            if let Some(record) = self.store.active_key(&code, now)? {
                keyring.key(&self.dir, &record)?;
                unlocked += 1;
            }
        }
        Ok(unlocked)
    }
}

fn insert_authority_key(
    tx: &mut impl StoreTx,
    kid: &str,
    code: &str,
    key: &SigningKey,
    file_name: &str,
    now: u64,
) -> Result<(), IssuerError> {
    Ok(tx.insert_key(&NewKey {
        kid,
        authority_code: Some(code),
        public_key: key.verifying_key().as_bytes(),
        file_name,
        valid_from: now,
        valid_to: now + KEY_VALIDITY_S,
    })?)
}
