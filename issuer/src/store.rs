//! Data access for the registry: what the office's records are, not what they mean.
//!
//! The registry ([`crate::registry`]) keeps every business rule — validation, the
//! six-month portrait rule, review due dates, supersede-on-reissue, status letters to
//! credential state, key retirement, publishing — and reaches its data only through
//! the traits here. They speak in domain types ([`HolderInput`], [`StatusSet`],
//! package bytes, [`CredentialState`]) and never in SQL, so a second backend
//! (PostgreSQL is the one planned) implements [`Store`] and [`StoreTx`] without
//! touching a rule, and the rules can be read without reading a query.
//! [`crate::sqlite::SqliteStore`] is the backend in use.
//!
//! The traits are narrow on purpose: one method per question or change the registry
//! actually has, so a backend cannot be half-implemented by accident and every method
//! can keep its statement prepared (batch issuance parses no SQL per holder).
//!
//! Three traits, because reads happen both inside and outside transactions:
//! - [`StoreRead`]: the queries, on the store itself (autocommit reads) and on a
//!   transaction (reads that see its own uncommitted writes);
//! - [`Store`]: an open store; [`Store::begin`] starts a transaction;
//! - [`StoreTx`]: a transaction with the changes; nothing is visible to others until
//!   [`StoreTx::commit`]; dropping it or [`StoreTx::rollback`] undoes everything.
//!
//! What a backend must guarantee:
//! - **Transactional atomicity**: every public registry operation is one transaction
//!   that includes its audit row; a crash leaves the last committed state. Savepoints
//!   ([`StoreTx::savepoint`]) let batches refuse one line or holder and keep the rest.
//! - **Serial allocation inside the transaction**: [`StoreTx::allocate_serial`] bumps
//!   the per-authority counter in the transaction that stores the credential, so a
//!   serial is never handed out twice, even after a crash or by concurrent issuers.
//! - **Append-only audit**: [`StoreTx::append_audit`] is the only way to write the
//!   audit log; the backend must refuse updates and deletes of audit rows (SQLite
//!   enforces it with triggers).
//! - **Shared nonces**: [`StoreTx::remember_nonce`] is atomic across every service
//!   instance using the same store (refresh replay protection).

use std::path::{Path, PathBuf};

use credential::licence::StatusSet;
use credential::trust_bundle::AuthorityKey;
use serde_json::Value;

use crate::error::IssuerError;
use crate::registry::{HolderInput, PortraitSource, StoredCredential};

/// A credential's state in the status list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialState {
    /// Good to verify.
    Valid,
    /// Temporarily not valid (licence suspended or otherwise prohibited).
    Suspended,
    /// Permanently not valid.
    Revoked,
    /// Replaced by a newer credential of the same holder.
    Superseded,
}

impl CredentialState {
    /// Stable name (stored, and shown in JSON output).
    pub fn name(self) -> &'static str {
        match self {
            CredentialState::Valid => "valid",
            CredentialState::Suspended => "suspended",
            CredentialState::Revoked => "revoked",
            CredentialState::Superseded => "superseded",
        }
    }

    /// From the name.
    pub fn parse(text: &str) -> Option<CredentialState> {
        match text {
            "valid" => Some(CredentialState::Valid),
            "suspended" => Some(CredentialState::Suspended),
            "revoked" => Some(CredentialState::Revoked),
            "superseded" => Some(CredentialState::Superseded),
            _ => None,
        }
    }
}

/// A portrait's review state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortraitState {
    /// Waiting for a reviewer.
    Pending,
    /// The holder's portrait (the latest approved one).
    Approved,
    /// Refused, automatically or by a reviewer.
    Rejected,
    /// Was approved, then a newer portrait was approved.
    Replaced,
}

impl PortraitState {
    /// Stable name (stored, and shown in JSON output).
    pub fn name(self) -> &'static str {
        match self {
            PortraitState::Pending => "pending",
            PortraitState::Approved => "approved",
            PortraitState::Rejected => "rejected",
            PortraitState::Replaced => "replaced",
        }
    }

    /// From the name.
    pub fn parse(text: &str) -> Option<PortraitState> {
        match text {
            "pending" => Some(PortraitState::Pending),
            "approved" => Some(PortraitState::Approved),
            "rejected" => Some(PortraitState::Rejected),
            "replaced" => Some(PortraitState::Replaced),
            _ => None,
        }
    }
}

/// A signing key's record (the key itself is in its encrypted file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id (hex).
    pub kid: String,
    /// The encrypted key file.
    pub file: PathBuf,
    /// Ed25519 public key as stored.
    pub public_key: Vec<u8>,
}

/// A new key to record.
#[derive(Clone, Copy, Debug)]
pub struct NewKey<'a> {
    /// Key id (hex).
    pub kid: &'a str,
    /// `None` for the root key, else the authority it signs for.
    pub authority_code: Option<&'a str>,
    /// Ed25519 public key.
    pub public_key: &'a [u8; 32],
    /// The encrypted key file.
    pub file: &'a Path,
    /// Signing period start.
    pub valid_from: u64,
    /// Signing period end (`u64::MAX`: no end).
    pub valid_to: u64,
}

/// The holder's latest approved portrait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedPortrait {
    /// Portrait id.
    pub id: i64,
    /// When it was approved.
    pub decided_at: u64,
    /// SHA-256 of the image as stored.
    pub sha256: Vec<u8>,
}

/// A new portrait to record, with its first decision if already decided.
#[derive(Clone, Copy, Debug)]
pub struct NewPortrait<'a> {
    /// Holder id.
    pub holder_id: i64,
    /// Where it came from.
    pub source: PortraitSource,
    /// The image.
    pub bytes: &'a [u8],
    /// SHA-256 of `bytes`.
    pub sha256: &'a [u8; 32],
    /// Submission time.
    pub submitted_at: u64,
    /// State.
    pub state: PortraitState,
    /// Decision time and decider, unless pending.
    pub decided: Option<(u64, &'a str)>,
    /// Rejection reason.
    pub reason: Option<&'a str>,
    /// The automatic checks' failures (JSON array).
    pub auto_failures: &'a str,
}

/// A portrait waiting for review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPortrait {
    /// Portrait id.
    pub id: i64,
    /// Holder id.
    pub holder_id: i64,
    /// Holder name.
    pub holder_name: String,
    /// Source name.
    pub source: String,
    /// Submission time.
    pub submitted_at: u64,
}

/// A holder's current (not superseded) credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentCredential {
    /// Authority code.
    pub authority_code: String,
    /// Serial.
    pub serial: u64,
    /// State.
    pub state: CredentialState,
    /// Expiry.
    pub expires_at: u64,
}

/// A credential to record.
#[derive(Clone, Copy, Debug)]
pub struct NewCredential<'a> {
    /// Authority code.
    pub authority_code: &'a str,
    /// Serial (from [`StoreTx::allocate_serial`]).
    pub serial: u64,
    /// Holder id.
    pub holder_id: i64,
    /// Signing key id.
    pub kid: &'a str,
    /// Issued at.
    pub issued_at: u64,
    /// Expires at.
    pub expires_at: u64,
    /// State.
    pub state: CredentialState,
    /// The package (see [`crate::registry::Issued::package`]).
    pub package: &'a [u8],
}

/// One audit log entry to append.
#[derive(Clone, Copy, Debug)]
pub struct AuditEntry<'a> {
    /// When.
    pub at: u64,
    /// Who.
    pub operator: &'a str,
    /// What (`holder.add`, `credential.issue`, ...).
    pub action: &'a str,
    /// On what (holder id, kid, authority code, ...).
    pub subject: &'a str,
    /// Before.
    pub old: Option<&'a Value>,
    /// After.
    pub new: Option<&'a Value>,
}

/// One audit log entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: i64,
    /// Who.
    pub operator: String,
    /// What.
    pub action: String,
    /// On what.
    pub subject: String,
    /// Before (JSON text).
    pub old: Option<String>,
    /// After (JSON text).
    pub new: Option<String>,
}

/// What the store found checking itself; the registry judges it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// The backend's own consistency check: `None` if fine, else what it reported.
    pub storage_problem: Option<String>,
    /// Dangling references.
    pub foreign_key_violations: u64,
    /// Authorities whose next serial is not above every serial they issued.
    pub serial_counters_behind: u64,
    /// Holders with more than one not-superseded credential.
    pub holders_with_two_current: u64,
    /// Holders.
    pub holders: u64,
    /// Credentials, superseded included.
    pub credentials: u64,
    /// Not-superseded credentials.
    pub current_credentials: u64,
    /// Audit log entries.
    pub audit_entries: u64,
}

/// The registry's queries: on the store, or on a transaction (seeing its writes).
pub trait StoreRead {
    /// Whether the authority exists.
    fn authority_exists(&self, code: &str) -> Result<bool, IssuerError>;
    /// The authority's name.
    fn authority_name(&self, code: &str) -> Result<Option<String>, IssuerError>;
    /// Every authority with its next serial, by code.
    fn authorities(&self) -> Result<Vec<(String, u64)>, IssuerError>;

    /// The root key.
    fn root_key(&self) -> Result<Option<KeyRecord>, IssuerError>;
    /// The oldest key of any role (to prove a passphrase before creating another).
    fn any_key(&self) -> Result<Option<KeyRecord>, IssuerError>;
    /// Whether a key (retired ones included) has this id.
    fn kid_taken(&self, kid: &str) -> Result<bool, IssuerError>;
    /// The newest unretired key of the authority whose signing period contains `at`.
    fn active_key(&self, code: &str, at: u64) -> Result<Option<(String, PathBuf)>, IssuerError>;
    /// A key's authority (`None` for the root) and whether it is retired.
    fn key_authority(&self, kid: &str) -> Result<Option<(Option<String>, bool)>, IssuerError>;
    /// Every authority key as the trust bundle lists it, oldest first.
    fn authority_keys(&self) -> Result<Vec<AuthorityKey>, IssuerError>;

    /// A holder's data and status letters.
    fn holder(&self, id: i64) -> Result<Option<(HolderInput, StatusSet)>, IssuerError>;
    /// The holder with this licence number.
    fn holder_by_licence_number(&self, licence_number: &str) -> Result<Option<i64>, IssuerError>;
    /// The holder with this device key.
    fn holder_by_device_key(&self, device_key: &[u8; 32]) -> Result<Option<i64>, IssuerError>;
    /// Holders with a device key and an approved portrait but no current credential, by id.
    fn holders_pending_issuance(&self) -> Result<Vec<i64>, IssuerError>;

    /// The holder's latest approved portrait.
    fn approved_portrait(&self, holder_id: i64) -> Result<Option<ApprovedPortrait>, IssuerError>;
    /// A portrait's holder and state.
    fn portrait(&self, id: i64) -> Result<Option<(i64, PortraitState)>, IssuerError>;
    /// Pending portraits, oldest submission first.
    fn pending_portraits(&self) -> Result<Vec<PendingPortrait>, IssuerError>;

    /// The holder's latest-issued not-superseded credential.
    fn current_credential(&self, holder_id: i64) -> Result<Option<CurrentCredential>, IssuerError>;
    /// Every not-superseded credential of the holder: (authority, serial).
    fn live_credentials(&self, holder_id: i64) -> Result<Vec<(String, u64)>, IssuerError>;
    /// A credential's state and package.
    fn credential(
        &self,
        authority_code: &str,
        serial: u64,
    ) -> Result<Option<StoredCredential>, IssuerError>;
    /// The authority's credentials that are not valid: (serial, state).
    fn invalid_credentials(
        &self,
        authority_code: &str,
    ) -> Result<Vec<(u64, CredentialState)>, IssuerError>;

    /// The last `limit` audit entries, oldest first.
    fn audit_recent(&self, limit: usize) -> Result<Vec<AuditRecord>, IssuerError>;
    /// How many `action` entries on `subject` since `since`.
    fn audit_count_since(
        &self,
        action: &str,
        subject: &str,
        since: u64,
    ) -> Result<u64, IssuerError>;
    /// The times of `action` entries on `subject` since `since`, oldest first.
    fn audit_times_since(
        &self,
        action: &str,
        subject: &str,
        since: u64,
    ) -> Result<Vec<u64>, IssuerError>;

    /// Counts for the integrity check.
    fn integrity(&self) -> Result<IntegrityReport, IssuerError>;
}

/// An open store.
pub trait Store: StoreRead {
    /// A transaction on this store.
    type Tx<'a>: StoreTx
    where
        Self: 'a;

    /// Starts a transaction.
    fn begin(&mut self) -> Result<Self::Tx<'_>, IssuerError>;
}

/// A transaction: the registry's changes. Dropped without [`StoreTx::commit`], it
/// rolls back.
pub trait StoreTx: StoreRead {
    /// Makes every change of the transaction durable and visible.
    fn commit(self) -> Result<(), IssuerError>;
    /// Undoes every change of the transaction.
    fn rollback(self) -> Result<(), IssuerError>;
    /// Marks a point to come back to (one line or holder of a batch). Not nested.
    fn savepoint(&mut self) -> Result<(), IssuerError>;
    /// Keeps the changes since [`StoreTx::savepoint`].
    fn release_savepoint(&mut self) -> Result<(), IssuerError>;
    /// Undoes the changes since [`StoreTx::savepoint`] and forgets it.
    fn rollback_to_savepoint(&mut self) -> Result<(), IssuerError>;

    /// Records a new authority, its serials starting at 1.
    fn insert_authority(&mut self, code: &str, name: &str) -> Result<(), IssuerError>;
    /// Hands out the authority's next serial, bumping its counter in this transaction.
    fn allocate_serial(&mut self, code: &str) -> Result<u64, IssuerError>;

    /// Records a key.
    fn insert_key(&mut self, key: &NewKey<'_>) -> Result<(), IssuerError>;
    /// Ends a key's signing period.
    fn set_key_valid_to(&mut self, kid: &str, valid_to: u64) -> Result<(), IssuerError>;
    /// Retires a key now, ending its signing period at `at` at the latest.
    fn retire_key(&mut self, kid: &str, at: u64) -> Result<(), IssuerError>;
    /// Retires every authority key whose signing period ended by `at` and that signed
    /// no live credential still unexpired at `at`; returns how many.
    fn retire_spent_keys(&mut self, at: u64) -> Result<usize, IssuerError>;
    /// Bumps the trust bundle version; returns the new one.
    fn next_bundle_version(&mut self) -> Result<u64, IssuerError>;

    /// Records a holder; returns the id.
    fn insert_holder(
        &mut self,
        input: &HolderInput,
        status: StatusSet,
        created_at: u64,
    ) -> Result<i64, IssuerError>;
    /// Stores the holder's classes, validity, authority and address.
    fn update_holder(&mut self, id: i64, input: &HolderInput) -> Result<(), IssuerError>;
    /// Stores the holder's status letters and points.
    fn set_holder_status(
        &mut self,
        id: i64,
        status: StatusSet,
        points: u32,
    ) -> Result<(), IssuerError>;
    /// Stores the holder's device key.
    fn set_holder_device_key(&mut self, id: i64, device_key: &[u8; 32]) -> Result<(), IssuerError>;

    /// Records a portrait; returns its id.
    fn insert_portrait(&mut self, portrait: &NewPortrait<'_>) -> Result<i64, IssuerError>;
    /// Marks the holder's approved portraits replaced.
    fn replace_approved_portraits(&mut self, holder_id: i64) -> Result<(), IssuerError>;
    /// Records a reviewer's decision.
    fn decide_portrait(
        &mut self,
        id: i64,
        state: PortraitState,
        at: u64,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), IssuerError>;

    /// Records a credential.
    fn insert_credential(&mut self, credential: &NewCredential<'_>) -> Result<(), IssuerError>;
    /// Marks a credential superseded by `by` (`authority/serial`).
    fn supersede_credential(
        &mut self,
        authority_code: &str,
        serial: u64,
        by: &str,
    ) -> Result<(), IssuerError>;
    /// Sets a credential's state.
    fn set_credential_state(
        &mut self,
        authority_code: &str,
        serial: u64,
        state: CredentialState,
    ) -> Result<(), IssuerError>;
    /// Replaces a credential's signing key, times and package after a refresh (same
    /// serial, same state).
    fn refresh_credential(
        &mut self,
        authority_code: &str,
        serial: u64,
        kid: &str,
        issued_and_expires_at: (u64, u64),
        package: &[u8],
    ) -> Result<(), IssuerError>;

    /// Appends to the audit log.
    fn append_audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), IssuerError>;
    /// Forgets nonces older than `forget_before`, then records this one; `false` if
    /// the device already used it.
    fn remember_nonce(
        &mut self,
        device_key: &[u8; 32],
        nonce: &[u8],
        at: u64,
        forget_before: u64,
    ) -> Result<bool, IssuerError>;
}
