//! The office's workflows, one module each, over one transactional store.
//!
//! Every use case that decides from data and writes follows one shape: open **one**
//! write transaction ([`Store::begin`], which takes the write lock first), read what
//! it decides on *inside* it, write, append its audit row, commit. Reading outside
//! and writing inside is how a revocation gets lost between two clerks, so no use
//! case does it. The result is a typed, serialisable value; a rule that says no is a
//! [`Refusal`] with a stable code.
//!
//! - [`keys`]: root, authority, rotate, retire; the [`Keyring`] that unlocks keys;
//! - [`enrol`]: holder add, CSV import, holder update (which re-issues);
//! - [`portraits`]: portrait add, the review queue, review decisions, export;
//! - [`issuance`]: issue, issue --all, re-issue (supersede), the office's refresh;
//! - [`refresh`]: the wallet refresh decision (nonce, rate limit, status), decided
//!   in group-committed batches by one writer, that [`crate::serve`] only transports;
//! - [`status`]: suspend, revoke, reinstate, points;
//! - [`publish`]: trust bundle and status lists;
//! - [`reports`]: holder show, audit, check (read-only).
//!
//! Nothing here knows which backend holds the data: [`Registry`] is generic over
//! [`Store`], and [`crate::backend`] chooses one.

pub mod enrol;
pub mod issuance;
pub mod keys;
pub mod portraits;
pub mod publish;
pub mod refresh;
pub mod reports;
pub mod status;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::IssuerError;
use crate::keyfile::KdfParams;
use crate::model::{AuditEntry, Holder, KeyRecord};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

pub use keys::Keyring;

/// An open registry: the store, where its key files are, and who is working.
pub struct Registry<S: Store> {
    store: S,
    dir: PathBuf,
    operator: String,
    kdf: KdfParams,
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

    /// Finds a holder by licence number.
    pub fn holder_by_licence_number(&self, licence_number: &str) -> Result<i64, IssuerError> {
        self.store
            .holder_by_licence_number(licence_number)?
            .ok_or(IssuerError::NotFound {
                what: "holder with licence number",
                id: licence_number.into(),
            })
    }

    /// A holder given by id or licence number, as a clerk types it: short numbers
    /// are ids, anything else a licence number.
    pub fn find_holder(&self, text: &str) -> Result<i64, IssuerError> {
        match text.parse::<i64>() {
            Ok(id) if text.len() < 10 => Ok(id),
            _ => self.holder_by_licence_number(text),
        }
    }
}

/// Appends one audit row in `tx`: what was done, on what, before and after.
fn audit(
    tx: &mut impl StoreTx,
    operator: &str,
    now: u64,
    action: &str,
    subject: &str,
    old: Option<Value>,
    new: Option<Value>,
) -> Result<(), IssuerError> {
    let (old, new) = (old.map(|v| v.to_string()), new.map(|v| v.to_string()));
    Ok(tx.append_audit(&AuditEntry {
        at: now,
        operator,
        action,
        subject,
        old: old.as_deref(),
        new: new.as_deref(),
    })?)
}

/// The holder `id`, or not found.
fn holder(db: &impl StoreRead, id: i64) -> Result<Holder, IssuerError> {
    db.holder(id)?.ok_or(IssuerError::NotFound {
        what: "holder",
        id: id.to_string(),
    })
}

/// The key that signs for `code` at `now`.
fn active_key(db: &impl StoreRead, code: &str, now: u64) -> Result<KeyRecord, IssuerError> {
    db.active_key(code, now)?
        .ok_or_else(|| Refusal::NoActiveKey(code.to_owned()).into())
}

/// Where a key's file is: always inside this registry's own `keys` folder.
fn key_path(dir: &Path, record: &KeyRecord) -> PathBuf {
    dir.join("keys").join(&record.file_name)
}

/// A registry over an in-memory SQLite store, its key files in `dir/keys`, and a
/// keyring for it (fast key derivation): for use-case tests.
#[cfg(test)]
pub(crate) fn in_memory_registry(
    dir: &Path,
) -> (Registry<crate::store::sqlite::SqliteStore>, Keyring) {
    #![allow(clippy::unwrap_used)]
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let store = crate::store::sqlite::SqliteStore::in_memory().unwrap();
    let registry = Registry::with_store(store, dir, "test", KdfParams::fast_for_tests());
    let keyring = Keyring::new(zeroize::Zeroizing::new(b"test passphrase".to_vec()));
    (registry, keyring)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{HolderInput, PortraitSource, DEFAULT_LIFETIME_S};
    use crate::portrait::{synthetic_portrait, ImageFormat};
    use credential::ed25519_dalek::SigningKey;

    /// The whole office workflow written against the trait only: any `Store` runs it.
    fn enrol_issue_suspend<S: Store>(registry: &mut Registry<S>, keyring: &mut Keyring) {
        let now = 1_780_279_200;
        registry.root_init(keyring, now).unwrap();
        registry
            .authority_add("川J", "四川省遂宁市公安局交通警察支队", keyring, now)
            .unwrap();
        let device = SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
        let input = HolderInput {
            device_key: Some(device),
            ..crate::store::contract::input(1)
        };
        let id = registry.holder_add(&input, now).unwrap();
        let portrait = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        let added = registry
            .portrait_add(id, PortraitSource::Retained, &portrait, now)
            .unwrap();
        assert_eq!(
            (added.state.name(), added.failures),
            ("approved", Vec::<String>::new())
        );
        assert_eq!(registry.pending_issuance().unwrap(), vec![id]);
        let batch = registry
            .issue_batch(&[id, id + 1], 64, keyring, now, DEFAULT_LIFETIME_S, |_| {})
            .unwrap();
        assert_eq!((batch.issued, batch.refused.len()), (1, 1));
        let reissued = registry
            .issue(id, None, keyring, now + 1, DEFAULT_LIFETIME_S)
            .unwrap();
        assert_eq!(reissued.serial, 2);
        let first = registry.credential_package("川J", 1).unwrap().unwrap();
        assert_eq!(
            (first.state.name(), first.superseded_by.as_deref()),
            ("superseded", Some("川J/2"))
        );
        registry.suspend(id, now + 2).unwrap();
        assert_eq!(
            registry
                .current_credential(id)
                .unwrap()
                .unwrap()
                .state
                .name(),
            "suspended"
        );
        assert_eq!(registry.check().unwrap().current_credentials, 1);
    }

    #[test]
    fn registry_runs_on_any_store_in_memory_sqlite_here() {
        let dir = tempfile::tempdir().unwrap();
        let (mut registry, mut keyring) = in_memory_registry(dir.path());
        enrol_issue_suspend(&mut registry, &mut keyring);
        // Nothing was written to a database file: the store is the in-memory one.
        assert!(!dir.path().join("registry.sqlite").exists());
    }
}
