//! Publishing for offline verifiers: the root-signed trust bundle and one signed
//! status list per authority, written with the project's one file primitive
//! ([`atomic_file::replace`]) so a verifier copying the folder never sees half a file.
//!
//! Each authority's list is built from the credential states read inside one
//! transaction (a consistent snapshot under the write lock); the bundle version is
//! bumped in the transaction that signs it, so two publishes never share a version.

use std::path::Path;

use credential::status_list::{SerialStatus, StatusList};
use credential::trust_bundle::TrustBundleContent;
use serde::Serialize;
use serde_json::json;

use super::{active_key, audit, Keyring, Registry};
use crate::error::IssuerError;
use crate::model::{CredentialState, DAY};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

/// The trust bundle's file name in the output folder.
pub const TRUST_BUNDLE_FILE: &str = "trust-bundle.cbor";
/// The root public key's file name in the output folder.
pub const ROOT_PUBLIC_FILE: &str = "root.pub";

/// What `publish` wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Published {
    /// The trust bundle.
    pub trust_bundle: PublishedBundle,
    /// One list per authority.
    pub status_lists: Vec<PublishedList>,
    /// The root key id.
    pub root_kid: String,
}

/// The trust bundle written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishedBundle {
    /// File name.
    pub file: &'static str,
    /// Version.
    pub version: u64,
    /// Keys retired by this publish (signing period over, last credential expired).
    pub retired_now: usize,
}

/// A status list written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishedList {
    /// Authority code.
    pub authority: String,
    /// File name.
    pub file: String,
    /// Serials covered.
    pub size: u64,
}

impl<S: Store> Registry<S> {
    /// Signs the trust bundle (root) and every authority's status list into `out`.
    /// Keys whose signing period ended and whose last credential has expired are
    /// retired first.
    pub fn publish(
        &mut self,
        out: &Path,
        keyring: &mut Keyring,
        now: u64,
        list_ttl_s: u64,
    ) -> Result<Published, IssuerError> {
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
        let root_record = tx.root_key()?.ok_or(Refusal::NoRootKey)?;
        let root = keyring.key(&self.dir, &root_record)?.clone();
        let bundle_bytes = content.sign(&root);
        let mut signed_lists = Vec::new();
        for (code, next_serial) in tx.authorities()? {
            let mut list = StatusList::new(code.clone(), now, now + list_ttl_s, next_serial)
                .map_err(|e| IssuerError::Integrity(e.to_string()))?;
            for (serial, state) in tx.invalid_credentials(&code)? {
                let status = match state {
                    CredentialState::Revoked => SerialStatus::Revoked,
                    CredentialState::Suspended => SerialStatus::Suspended,
                    _ => SerialStatus::Superseded,
                };
                list.set(serial, status)
                    .map_err(|e| IssuerError::Integrity(e.to_string()))?;
            }
            let record = active_key(&tx, &code, now)?;
            let key = keyring.key(&self.dir, &record)?;
            let file = format!("status-{}.cbor", hex::encode(code.as_bytes()));
            signed_lists.push((
                PublishedList {
                    authority: code,
                    file,
                    size: list.size,
                },
                list.sign(key),
            ));
        }
        let lists: Vec<PublishedList> = signed_lists.iter().map(|(l, _)| l.clone()).collect();
        audit(
            &mut tx,
            &self.operator,
            now,
            "publish.trust_bundle",
            &version.to_string(),
            None,
            Some(json!({"keys": content.keys.len(), "retired_now": retired})),
        )?;
        audit(
            &mut tx,
            &self.operator,
            now,
            "publish.status_lists",
            &out.to_string_lossy(),
            None,
            Some(json!(lists)),
        )?;
        // The files are written before the commit: if writing fails the version is
        // not spent; if the commit fails, the next publish writes a higher version
        // over these, which verifiers accept.
        write_published(&out.join(TRUST_BUNDLE_FILE), &bundle_bytes)?;
        let root_pub = format!(
            "untrusted comment: licence national root public key\n{}\n",
            hex::encode(root.verifying_key().as_bytes())
        );
        write_published(&out.join(ROOT_PUBLIC_FILE), root_pub.as_bytes())?;
        for (list, bytes) in &signed_lists {
            write_published(&out.join(&list.file), bytes)?;
        }
        tx.commit()?;
        Ok(Published {
            trust_bundle: PublishedBundle {
                file: TRUST_BUNDLE_FILE,
                version,
                retired_now: retired,
            },
            status_lists: lists,
            root_kid: root_record.kid,
        })
    }
}

/// Published files are public: world-readable, replaced atomically.
fn write_published(path: &Path, bytes: &[u8]) -> Result<(), IssuerError> {
    atomic_file::replace(path, bytes, 0o644).map_err(IssuerError::io(path))
}
