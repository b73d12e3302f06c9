//! Issuance: a new credential (new serial) for one holder or every holder ready for
//! one, re-issue (the old serial superseded), and re-signing the current credential
//! with a new expiry (what a refresh hands out).
//!
//! The serial is allocated in the transaction that stores the credential and its
//! audit row, and that transaction read the holder's status under the write lock:
//! nothing is issued to a licence whose revocation committed first, and serials stay
//! unique and dense.
//!
//! Every credential signs the digest of the portrait the issuer made from the
//! holder's approved photo (format §17.3), and its package carries those bytes.
//! A registry from before the issuer made portraits holds approved photos without
//! made bytes; they are made here, at the holder's next issuance or refresh, in
//! that transaction, and stored — not when the schema is upgraded, because:
//! - the maker is an issuer rule, not storage: the SQLite upgrade and the
//!   PostgreSQL migration (plain SQL) stay schema only, one rule for both backends;
//! - an upgrade must never fail or take long: a large registry opens at once, and
//!   an old photo the maker refuses becomes that holder's refusal
//!   (`portrait_not_makeable`) instead of a registry nobody can open;
//! - nothing is lost by waiting: until re-signed, the old credentials sign the
//!   submitted file's digest, which a made portrait could not match anyway.

use std::path::Path;

use credential::ed25519_dalek::SigningKey;
use credential::licence::Licence;
use serde::Serialize;
use serde_json::json;

use super::enrol::check_still_valid;
use super::portraits::made_for_code;
use super::{active_key, audit, holder, Keyring, Registry};
use crate::error::IssuerError;
use crate::model::{
    CredentialState, CurrentCredential, Holder, HolderInput, Issued, NewCredential,
    StoredCredential,
};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

/// What `issue --all` did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// Credentials issued.
    pub issued: usize,
    /// Holders refused by a business rule, with why.
    pub refused: Vec<BatchRefusal>,
}

/// One holder `issue --all` refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchRefusal {
    /// Holder id.
    pub holder: i64,
    /// Stable code.
    pub code: &'static str,
    /// Why.
    pub reason: String,
}

/// One holder's issuance, inside the caller's transaction.
pub(super) struct SignRequest<'a> {
    pub(super) holder_id: i64,
    pub(super) device_key: Option<[u8; 32]>,
    pub(super) why: &'a str,
    pub(super) now: u64,
    pub(super) lifetime_s: u64,
}

impl<'a> SignRequest<'a> {
    /// A request with the holder's stored device key.
    pub(super) fn new(holder_id: i64, why: &'a str, now: u64, lifetime_s: u64) -> Self {
        SignRequest {
            holder_id,
            device_key: None,
            why,
            now,
            lifetime_s,
        }
    }
}

impl<S: Store> Registry<S> {
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
        let mut tx = self.store.begin()?;
        let issued = sign_new_serial_in(
            &mut tx,
            &self.operator,
            &self.dir,
            SignRequest {
                holder_id,
                device_key,
                why: "issue",
                now,
                lifetime_s,
            },
            keyring,
        )?;
        tx.commit()?;
        Ok(issued)
    }

    /// Holders ready for issuance: a device key and an approved portrait, no current credential.
    pub fn pending_issuance(&self) -> Result<Vec<i64>, IssuerError> {
        Ok(self.store.holders_pending_issuance(0, usize::MAX)?)
    }

    /// Issues to every holder ready for it (`issue --all`), `chunk` per transaction,
    /// each chunk *read* inside its own transaction: a holder revoked or issued to by
    /// another command meanwhile is simply no longer pending, so two batches side by
    /// side never issue twice or after a revocation. A crash loses at most one
    /// uncommitted chunk, and a rerun picks up the holders still without a
    /// credential. Holders refused by a business rule are reported, not fatal.
    pub fn issue_pending(
        &mut self,
        chunk: usize,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
        mut progress: impl FnMut(usize),
    ) -> Result<BatchReport, IssuerError> {
        let mut report = BatchReport::default();
        let mut after = 0;
        loop {
            let mut tx = self.store.begin()?;
            let ids = tx.holders_pending_issuance(after, chunk.max(1))?;
            let Some(&last) = ids.last() else {
                return Ok(report);
            };
            let times = (now, lifetime_s);
            issue_chunk_in(
                &mut tx,
                &self.operator,
                &self.dir,
                &ids,
                times,
                keyring,
                &mut report,
            )?;
            tx.commit()?;
            progress(ids.len());
            after = last;
        }
    }

    /// Issues to the holders `ids`, `chunk` per transaction, each decided inside its
    /// chunk's transaction (a holder issued to or revoked meanwhile is refused).
    pub fn issue_batch(
        &mut self,
        ids: &[i64],
        chunk: usize,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
        mut progress: impl FnMut(usize),
    ) -> Result<BatchReport, IssuerError> {
        let mut report = BatchReport::default();
        for ids in ids.chunks(chunk.max(1)) {
            let mut tx = self.store.begin()?;
            let times = (now, lifetime_s);
            issue_chunk_in(
                &mut tx,
                &self.operator,
                &self.dir,
                ids,
                times,
                keyring,
                &mut report,
            )?;
            tx.commit()?;
            progress(ids.len());
        }
        Ok(report)
    }

    /// Re-signs the holder's current credential with a new expiry and the current
    /// data (status letters, points), keeping its serial (the office's `refresh`).
    pub fn refresh(
        &mut self,
        holder_id: i64,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<Issued, IssuerError> {
        let mut tx = self.store.begin()?;
        let current = tx
            .current_credential(holder_id)?
            .ok_or(Refusal::NoCredential(holder_id))?;
        let issued = resign_in(
            &mut tx,
            &self.operator,
            &self.dir,
            &current,
            SignRequest::new(holder_id, "refresh", now, lifetime_s),
            keyring,
        )?;
        tx.commit()?;
        Ok(issued)
    }

    /// The holder's current (not superseded) credential.
    pub fn current_credential(
        &self,
        holder_id: i64,
    ) -> Result<Option<CurrentCredential>, IssuerError> {
        Ok(self.store.current_credential(holder_id)?)
    }

    /// The stored package of a credential (authority, serial) and its state.
    pub fn credential_package(
        &self,
        authority_code: &str,
        serial: u64,
    ) -> Result<Option<StoredCredential>, IssuerError> {
        Ok(self.store.credential(authority_code, serial)?)
    }
}

/// One chunk of a batch in `tx`: each holder behind a savepoint, issued or refused
/// by a rule and reported (the rest of the chunk goes on); any other failure stops
/// the batch.
fn issue_chunk_in(
    tx: &mut impl StoreTx,
    operator: &str,
    dir: &Path,
    ids: &[i64],
    times: (u64, u64),
    keyring: &mut Keyring,
    report: &mut BatchReport,
) -> Result<(), IssuerError> {
    for &holder_id in ids {
        issue_in_batch(tx, operator, dir, holder_id, times, keyring, report)?;
    }
    Ok(())
}

/// One holder of a chunk, behind a savepoint.
fn issue_in_batch(
    tx: &mut impl StoreTx,
    operator: &str,
    dir: &Path,
    holder_id: i64,
    (now, lifetime_s): (u64, u64),
    keyring: &mut Keyring,
    report: &mut BatchReport,
) -> Result<(), IssuerError> {
    tx.savepoint()?;
    let outcome = if tx.current_credential(holder_id)?.is_some() {
        // Issued meanwhile (a clerk's `issue --holder`): not twice.
        Err(IssuerError::Refused(Refusal::AlreadyIssued(holder_id)))
    } else {
        let request = SignRequest::new(holder_id, "issue", now, lifetime_s);
        sign_new_serial_in(tx, operator, dir, request, keyring)
    };
    match outcome {
        Ok(_) => {
            tx.release_savepoint()?;
            report.issued += 1;
            Ok(())
        }
        Err(
            e @ (IssuerError::Refused(_) | IssuerError::Build(_) | IssuerError::NotFound { .. }),
        ) => {
            tx.rollback_to_savepoint()?;
            report.refused.push(BatchRefusal {
                holder: holder_id,
                code: e.code(),
                reason: e.to_string(),
            });
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The audit action of a refresh: the rate limit counts these.
pub(super) const REFRESH_ACTION: &str = "credential.refresh";

/// Re-signs `current` in `tx` with a new expiry, same serial — or, if the holder
/// moved to another authority, issues under a new serial there. Refuses a revoked
/// credential: the caller read `current` inside `tx`, so a revocation that
/// committed before this transaction is always seen.
pub(super) fn resign_in(
    tx: &mut impl StoreTx,
    operator: &str,
    dir: &Path,
    current: &CurrentCredential,
    request: SignRequest<'_>,
    keyring: &mut Keyring,
) -> Result<Issued, IssuerError> {
    let (code, serial) = (&current.authority_code, current.serial);
    if current.state == CredentialState::Revoked {
        return Err(Refusal::CredentialRevoked(format!("{code}/{serial}")).into());
    }
    let (input, licence, portrait) = licence(tx, operator, request.holder_id, request.now)?;
    if input.authority_code != *code {
        let request = SignRequest {
            why: "authority changed",
            ..request
        };
        return sign_new_serial_in(tx, operator, dir, request, keyring);
    }
    let device_key = input.device_key.ok_or_else(|| {
        IssuerError::Integrity(format!(
            "holder {} has a credential but no device key",
            request.holder_id
        ))
    })?;
    let (now, lifetime_s) = (request.now, request.lifetime_s);
    let record = active_key(tx, code, now)?;
    let key = keyring.key(dir, &record)?;
    let issued = sign(
        &licence,
        portrait,
        request.holder_id,
        serial,
        device_key,
        key,
        (now, lifetime_s),
    )?;
    tx.refresh_credential(
        code,
        serial,
        &record.kid,
        (now, now + lifetime_s),
        &issued.stored_package(),
    )?;
    audit(
        tx,
        operator,
        now,
        REFRESH_ACTION,
        &request.holder_id.to_string(),
        None,
        Some(refresh_audit(&issued)),
    )?;
    Ok(issued)
}

/// What the audit row of a refresh says after it (the `new` column).
pub(super) fn refresh_audit(issued: &Issued) -> serde_json::Value {
    json!({"serial": issued.reference(), "expires_at": issued.expires_at})
}

/// Signs a credential with a new serial, superseding the holder's live ones, in `tx`:
/// the serial is allocated in the transaction that stores the credential and its
/// audit row.
pub(super) fn sign_new_serial_in(
    tx: &mut impl StoreTx,
    operator: &str,
    dir: &Path,
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
    let (input, licence, portrait) = licence(tx, operator, holder_id, now)?;
    let device_key = device_key
        .or(input.device_key)
        .ok_or(Refusal::NoDeviceKey(holder_id))?;
    if licence.status.contains('F') {
        return Err(Refusal::LicenceRevoked(holder_id).into());
    }
    check_still_valid(&input, now)?;
    let code = input.authority_code.clone();
    let record = active_key(tx, &code, now)?;
    let key = keyring.key(dir, &record)?;
    let serial = tx.allocate_serial(&code)?;
    let issued = sign(
        &licence,
        portrait,
        holder_id,
        serial,
        device_key,
        key,
        (now, lifetime_s),
    )?;
    let superseded = tx.live_credentials(holder_id)?;
    let new_ref = issued.reference();
    for (old_code, old_serial) in &superseded {
        tx.supersede_credential(old_code, *old_serial, &new_ref)?;
    }
    let state = CredentialState::for_status(licence.status);
    tx.insert_credential(&NewCredential {
        authority_code: &code,
        serial,
        holder_id,
        kid: &record.kid,
        issued_at: now,
        expires_at: now + lifetime_s,
        state,
        package: &issued.stored_package(),
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
        Some(json!({"serial": new_ref, "why": why, "kid": record.kid})),
    )?;
    Ok(issued)
}

/// The holder's licence as the format signs it (data, status, the digest of the
/// portrait made from the approved photo) and the made portrait, made and stored
/// in `tx` now if the registry predates made portraits (see the module doc).
fn licence(
    tx: &mut impl StoreTx,
    operator: &str,
    holder_id: i64,
    now: u64,
) -> Result<(HolderInput, Licence, Vec<u8>), IssuerError> {
    let stored = holder(tx, holder_id)?;
    let portrait = tx
        .approved_portrait(holder_id)?
        .ok_or(Refusal::NoApprovedPortrait(holder_id))?;
    let authority_name = tx
        .authority_name(&stored.input.authority_code)?
        .ok_or_else(|| Refusal::UnknownAuthority(stored.input.authority_code.clone()))?;
    let made = match portrait.made {
        Some(made) => made,
        None => {
            let photo = tx.portrait(portrait.id)?.ok_or_else(|| {
                IssuerError::Integrity(format!("approved portrait {} vanished", portrait.id))
            })?;
            let made = made_for_code(&photo.bytes)?;
            tx.set_made_portrait(portrait.id, &made)?;
            audit(
                tx,
                operator,
                now,
                "portrait.make",
                &holder_id.to_string(),
                None,
                Some(
                    json!({"portrait": portrait.id, "bytes": made.len(), "why": "approved before the issuer made portraits"}),
                ),
            )?;
            made
        }
    };
    let licence = licence_of(&stored, authority_name, &made);
    Ok((stored.input, licence, made))
}

/// The licence the holder's credentials sign, with the issuer-made portrait `made`.
pub(super) fn licence_of(holder: &Holder, authority_name: String, made: &[u8]) -> Licence {
    let digest = credential::licence::portrait_digest(made);
    holder
        .input
        .to_licence(authority_name, holder.status, digest)
}

/// Signs every profile of `licence` under `serial`, valid for `lifetime_s` from `now`.
pub(super) fn sign(
    licence: &Licence,
    portrait: Vec<u8>,
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
        portrait: Some(portrait),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keyfile::KdfParams;
    use crate::model::{PortraitSource, DEFAULT_LIFETIME_S};
    use crate::portrait::{synthetic_portrait, ImageFormat};
    use crate::portrait_code::{make_portrait, STANDARD};
    use crate::store::sqlite::{SqliteStore, DATABASE_FILE};
    use crate::usecase::portraits::tests::{device, office};
    use credential::licence::portrait_digest;
    use credential::refresh::Package;

    const NOW: u64 = 1_780_279_200;

    fn registry(dir: &Path) -> Registry<SqliteStore> {
        Registry::with_store(
            SqliteStore::open(dir).unwrap(),
            dir,
            "test",
            KdfParams::fast_for_tests(),
        )
    }

    /// A file registry with holder 1 issued over a retained `photo`; its id and the
    /// keyring that unlocks its keys.
    fn issued_office(dir: &Path, photo: &[u8]) -> (i64, Keyring) {
        let (mut office, mut keyring, id) = office(SqliteStore::open(dir).unwrap(), dir);
        office
            .portrait_add(id, PortraitSource::Retained, photo, NOW)
            .unwrap();
        office
            .issue(id, None, &mut keyring, NOW, DEFAULT_LIFETIME_S)
            .unwrap();
        (id, keyring)
    }

    fn digest_of(package: &[u8], device: &[u8; 32]) -> [u8; 16] {
        let package = Package::decode_for(package, device).unwrap();
        package.licence().portrait_digest.unwrap()
    }

    /// A registry left by an issuer from before made portraits (schema 1, the
    /// credential signing the submitted file's digest) is upgraded on open; its
    /// approved portrait gets made bytes at the next refresh, in that transaction.
    #[test]
    fn an_old_registry_is_upgraded_and_its_portraits_are_made_at_the_next_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let device = device();
        let photo = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        let (id, mut keyring) = issued_office(dir.path(), &photo);
        // What the old issuer left: the signed digest was SHA-256 of the submitted
        // file (here the bytes the credential signs, so no re-signing is needed to
        // make the old state), no made bytes, schema version 1.
        let signed = {
            let office = registry(dir.path());
            let current = office.current_credential(id).unwrap().unwrap();
            office
                .credential_package(&current.authority_code, current.serial)
                .unwrap()
                .unwrap()
                .package
        };
        let submitted_before = make_portrait(&photo, &STANDARD).unwrap();
        assert_eq!(
            digest_of(&signed, &device),
            portrait_digest(&submitted_before)
        );
        let old_package = {
            let mut package = Package::decode_for(&signed, &device).unwrap();
            package.portrait = None;
            Package::encode(
                &package.authority,
                package.serial,
                package.issued_at,
                package.expires_at,
                &package.credentials,
                None,
            )
        };
        let db = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        db.execute(
            "UPDATE portraits SET bytes = ?1, sha256 = ?2",
            rusqlite::params![
                submitted_before,
                credential::signature::sha256(&submitted_before).to_vec()
            ],
        )
        .unwrap();
        db.execute("UPDATE credentials SET package = ?1", [&old_package])
            .unwrap();
        db.execute_batch(
            "ALTER TABLE portraits DROP COLUMN made_portrait;
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
        drop(db);

        // Opened by this issuer: upgraded, nothing made yet, the old credential
        // counted as signing the submitted photo (not an integrity failure).
        let mut office = registry(dir.path());
        let version: String = rusqlite::Connection::open(dir.path().join(DATABASE_FILE))
            .unwrap()
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, "2");
        let approved = office.store.approved_portrait(id).unwrap().unwrap();
        assert_eq!(approved.made, None);
        let check = office.check().unwrap();
        assert_eq!(
            (
                check.portraits_signed_as_made,
                check.portraits_signed_as_submitted
            ),
            (0, 1)
        );
        // Export already gives what the next issuance will store.
        let made = make_portrait(&submitted_before, &STANDARD).unwrap();
        let exported = office.made_portrait(id).unwrap();
        assert_eq!(
            (exported.bytes.as_slice(), exported.stored),
            (made.as_slice(), false)
        );

        // The next refresh makes them, stores them and signs their digest.
        let refreshed = office
            .refresh(id, &mut keyring, NOW + 60, DEFAULT_LIFETIME_S)
            .unwrap();
        let package = Package::decode_for(&refreshed.package(), &device).unwrap();
        assert_eq!(package.portrait.as_deref(), Some(made.as_slice()));
        assert_eq!(
            package.licence().portrait_digest,
            Some(portrait_digest(&made))
        );
        assert_ne!(portrait_digest(&made), portrait_digest(&submitted_before));
        let approved = office.store.approved_portrait(id).unwrap().unwrap();
        assert_eq!(approved.made.as_deref(), Some(made.as_slice()));
        assert!(office
            .audit_log(10)
            .unwrap()
            .iter()
            .any(|e| e.action == "portrait.make"));
        let check = office.check().unwrap();
        assert_eq!(
            (
                check.portraits_signed_as_made,
                check.portraits_signed_as_submitted
            ),
            (1, 0)
        );
        // A second open of the upgraded registry changes nothing.
        drop(office);
        assert!(registry(dir.path()).check().is_ok());
    }

    /// A credential whose digest is neither the made portrait's nor the submitted
    /// photo's is an integrity failure of `issuer check`.
    #[test]
    fn check_fails_on_a_credential_that_signs_another_portrait() {
        let dir = tempfile::tempdir().unwrap();
        let photo = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        issued_office(dir.path(), &photo);
        let db = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        db.execute("UPDATE portraits SET made_portrait = x'ffd8ff'", [])
            .unwrap();
        drop(db);
        let error = registry(dir.path()).check().unwrap_err();
        assert_eq!(error.code(), "integrity");
        assert!(
            error
                .to_string()
                .contains("not SHA-256 of the holder's made portrait"),
            "{error}"
        );
    }
}
