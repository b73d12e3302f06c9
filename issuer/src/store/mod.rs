//! Data access for the registry: what the office's records are, not what they mean.
//!
//! The use cases ([`crate::usecase`]) keep every business rule and reach their data
//! only through the traits here. The traits speak in domain types
//! ([`crate::model`]) and never in SQL, so a backend is one module implementing
//! [`Store`] and [`StoreTx`] plus one line per test of the contract suite
//! ([`contract`]), and the rules can be read without reading a query.
//! [`sqlite::SqliteStore`] is the embedded default, [`postgres::PostgresStore`] the
//! shared database of a deployment with several clerks' machines and service nodes.
//!
//! The traits are narrow on purpose: one method per question or change a use case
//! actually has, so a backend cannot be half-implemented by accident and every method
//! can keep its statement prepared (batch issuance parses no SQL per holder).
//!
//! The few **batch methods** the refresh service uses (`refresh_contexts`,
//! `audit_times_since_each`, `remember_nonces`, `refresh_credentials`,
//! `append_audits`) have default bodies made of the one-row methods, which define
//! what they mean; a backend whose every statement is a round trip to a server
//! overrides them with one statement each, and the contract suite checks that the
//! override answers exactly as the default does.
//!
//! Three traits, because reads happen both inside and outside transactions:
//! - [`StoreRead`]: the queries, on the store itself (autocommit reads, for reports
//!   that decide nothing) and on a transaction (reads that see its own writes);
//! - [`Store`]: an open store; [`Store::begin`] starts a write transaction;
//! - [`StoreTx`]: a transaction with the changes; nothing is visible to others until
//!   [`StoreTx::commit`]; dropping it or [`StoreTx::rollback`] undoes everything.
//!
//! What a backend must guarantee:
//! - **Decide and write under one lock.** [`Store::begin`] takes the write lock
//!   *before* the transaction's first read (SQLite: `BEGIN IMMEDIATE`; PostgreSQL:
//!   `SERIALIZABLE`, or `SELECT … FOR UPDATE` on the rows decided on, with retry), so
//!   a use case that reads a holder's status and writes a new one can never write
//!   from a stale copy: two clerks' changes are applied one after the other, never
//!   lost. While another writer holds the lock, `begin` waits — bounded
//!   ([`BUSY_TIMEOUT`]) — and then fails with [`StoreError::Busy`]; it never fails at
//!   once because someone else is working.
//! - **Transactional atomicity**: every use case is one transaction that includes
//!   its audit row; a crash leaves the last committed state. Savepoints
//!   ([`StoreTx::savepoint`]) let batches refuse one line or holder and keep the rest.
//! - **Serial allocation inside the transaction**: [`StoreTx::allocate_serial`] bumps
//!   the per-authority counter in the transaction that stores the credential, so a
//!   serial is never handed out twice, even after a crash or by concurrent issuers,
//!   and serials stay dense.
//! - **Append-only audit in commit order**: [`StoreTx::append_audit`] (and its batch form) is the
//!   only way to write the audit log; the backend refuses updates and deletes of audit rows
//!   (SQLite: triggers), and entry ids increase in commit order.
//! - **Shared nonces**: [`StoreTx::remember_nonce`] is atomic across every service
//!   instance using the same store (refresh replay protection).
//! - **Refresh batches side by side**: [`Store::begin_shared`] transactions may run
//!   at once (never beside a [`Store::begin`] one); each locks the holders it decides
//!   on ([`StoreTx::lock_holders`]) before reading them, and audit ids still follow
//!   commit order.

pub mod postgres;
pub mod postgres_connection;
pub mod sqlite;

#[cfg(test)]
pub(crate) mod contract;

use std::time::Duration;

use credential::licence::StatusSet;
use credential::trust_bundle::AuthorityKey;

use crate::model::{
    ApprovedPortrait, AuditEntry, AuditRecord, CredentialState, CurrentCredential, CurrentPackage,
    Holder, HolderInput, IntegrityReport, KeyRecord, NewCredential, NewKey, NewPortrait, NonceUse,
    PendingPortrait, PortraitRecord, PortraitState, RefreshContext, RefreshedCredential,
    StillMatters, StoredCredential,
};

/// How long [`Store::begin`] waits for another writer before [`StoreError::Busy`]:
/// long enough for any batch chunk or a burst of refreshes, short enough that a
/// clerk is told something is wrong rather than left waiting.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the store failed, whatever the backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another writer held the registry longer than the busy timeout.
    #[error("the registry stayed busy for {} s (another clerk or the refresh service is writing): try again; if it persists, look for a stuck process", .waited.as_secs())]
    Busy {
        /// How long this command waited.
        waited: Duration,
    },
    /// A rule of the schema refused a change (uniqueness, reference): a bug in a use
    /// case, which should have refused first.
    #[error("the registry refused a change: {0}")]
    Constraint(String),
    /// Stored data that does not decode.
    #[error("the registry holds damaged data: {0}; run `issuer check`")]
    Corrupt(String),
    /// The registry was written by another version of the issuer.
    #[error("registry schema version {found} is not supported by this issuer (expects {expected}): use the issuer that wrote it")]
    Schema {
        /// The registry's schema version.
        found: String,
        /// The one this issuer reads.
        expected: i64,
    },
    /// The backend failed (disk, a refused login, …).
    #[error("registry database: {0}")]
    Backend(String),
    /// The database server cannot be reached, or the connection was lost (server
    /// restart, terminated session, network): retryable. A transaction whose
    /// connection was lost did not commit, unless the loss came during the commit
    /// itself, when its outcome is unknown; it is never re-run behind the caller's back.
    #[error("registry database unreachable: {0}; try again (the next transaction reconnects)")]
    Disconnected(String),
    /// The connection to the database would not be private, or its server is not
    /// the one the roots vouch for (boxed: the one large variant).
    #[error("registry database {}: {}", .0.0, .0.1)]
    Tls(Box<postgres_connection::TlsRefusal>),
}

impl StoreError {
    /// Stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Busy { .. } => "registry_busy",
            StoreError::Constraint(_) => "registry_constraint",
            StoreError::Corrupt(_) => "registry_corrupt",
            StoreError::Schema { .. } => "registry_schema",
            StoreError::Backend(_) => "database",
            StoreError::Disconnected(_) => "database_unreachable",
            StoreError::Tls(refusal) => refusal.1.code(),
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// The registry's queries: on the store, or on a transaction (seeing its writes).
pub trait StoreRead {
    /// Whether the authority exists.
    fn authority_exists(&self, code: &str) -> Result<bool>;
    /// The authority's name.
    fn authority_name(&self, code: &str) -> Result<Option<String>>;
    /// Every authority with its next serial, by code.
    fn authorities(&self) -> Result<Vec<(String, u64)>>;

    /// The root key.
    fn root_key(&self) -> Result<Option<KeyRecord>>;
    /// The oldest key of any role (to prove a passphrase before creating another).
    fn any_key(&self) -> Result<Option<KeyRecord>>;
    /// Whether a key (retired ones included) has this id.
    fn kid_taken(&self, kid: &str) -> Result<bool>;
    /// The newest unretired key of the authority whose signing period contains `at`.
    fn active_key(&self, code: &str, at: u64) -> Result<Option<KeyRecord>>;
    /// A key's authority (`None` for the root) and whether it is retired.
    fn key_authority(&self, kid: &str) -> Result<Option<(Option<String>, bool)>>;
    /// Every authority key as the trust bundle lists it, oldest first.
    fn authority_keys(&self) -> Result<Vec<AuthorityKey>>;

    /// A holder's data and status letters.
    fn holder(&self, id: i64) -> Result<Option<Holder>>;
    /// The holder with this licence number.
    fn holder_by_licence_number(&self, licence_number: &str) -> Result<Option<i64>>;
    /// The holder with this device key.
    fn holder_by_device_key(&self, device_key: &[u8; 32]) -> Result<Option<i64>>;
    /// Up to `limit` holders with an id above `after` that have a device key and an
    /// approved portrait but no current credential, by id (a batch reads its next
    /// chunk inside its own transaction).
    fn holders_pending_issuance(&self, after: i64, limit: usize) -> Result<Vec<i64>>;

    /// The holder's latest approved portrait.
    fn approved_portrait(&self, holder_id: i64) -> Result<Option<ApprovedPortrait>>;
    /// A portrait with its image.
    fn portrait(&self, id: i64) -> Result<Option<PortraitRecord>>;
    /// Pending portraits, oldest submission first.
    fn pending_portraits(&self) -> Result<Vec<PendingPortrait>>;

    /// The holder's latest-issued not-superseded credential.
    fn current_credential(&self, holder_id: i64) -> Result<Option<CurrentCredential>>;
    /// Every not-superseded credential of the holder: (authority, serial).
    fn live_credentials(&self, holder_id: i64) -> Result<Vec<(String, u64)>>;
    /// Every not-superseded credential's package, by holder.
    fn current_packages(&self) -> Result<Vec<CurrentPackage>>;
    /// A credential's state and package.
    fn credential(&self, authority_code: &str, serial: u64) -> Result<Option<StoredCredential>>;
    /// The authority's credentials that are not valid and still matter (spec
    /// §10.5): (serial, state), by serial. Only those rows are read (an index of
    /// the non-valid credentials by authority), never every credential.
    fn status_entries(
        &self,
        authority_code: &str,
        still_matters: StillMatters,
    ) -> Result<Vec<(u64, CredentialState)>>;

    /// The last `limit` audit entries, oldest first.
    fn audit_recent(&self, limit: usize) -> Result<Vec<AuditRecord>>;
    /// The times of the latest `at_most` `action` entries on `subject` since
    /// `since`, oldest first. Bounded because a rate limit needs no more than its
    /// limit, however often the subject appears.
    fn audit_times_since(
        &self,
        action: &str,
        subject: &str,
        since: u64,
        at_most: u64,
    ) -> Result<Vec<u64>>;

    /// Counts for the integrity check.
    fn integrity(&self) -> Result<IntegrityReport>;

    /// For each device key, in order, what refreshing its credential reads (`None`:
    /// no holder has that key).
    fn refresh_contexts(&self, device_keys: &[[u8; 32]]) -> Result<Vec<Option<RefreshContext>>> {
        refresh_contexts_one_by_one(self, device_keys)
    }

    /// [`StoreRead::audit_times_since`] for each subject, in order.
    fn audit_times_since_each(
        &self,
        action: &str,
        subjects: &[&str],
        since: u64,
        at_most: u64,
    ) -> Result<Vec<Vec<u64>>> {
        subjects
            .iter()
            .map(|subject| self.audit_times_since(action, subject, since, at_most))
            .collect()
    }
}

/// [`StoreRead::refresh_contexts`] from the one-row queries: what it means.
pub(crate) fn refresh_contexts_one_by_one(
    db: &(impl StoreRead + ?Sized),
    device_keys: &[[u8; 32]],
) -> Result<Vec<Option<RefreshContext>>> {
    device_keys
        .iter()
        .map(|device_key| {
            let Some(holder) = db
                .holder_by_device_key(device_key)?
                .map(|id| db.holder(id))
                .transpose()?
                .flatten()
            else {
                return Ok(None);
            };
            Ok(Some(RefreshContext {
                portrait: db.approved_portrait(holder.id)?,
                authority_name: db.authority_name(&holder.input.authority_code)?,
                current: db.current_credential(holder.id)?,
                holder,
            }))
        })
        .collect()
}

/// An open store.
pub trait Store: StoreRead {
    /// A transaction on this store.
    type Tx<'a>: StoreTx
    where
        Self: 'a;

    /// Starts a transaction.
    fn begin(&mut self) -> Result<Self::Tx<'_>>;

    /// Starts a write transaction that may run **beside other shared ones** (the
    /// refresh batches of several service nodes), never beside a [`Store::begin`]
    /// one: each waits for the other, bounded as `begin` is. Since shared
    /// transactions do not exclude each other, one must lock what it decides on
    /// ([`StoreTx::lock_holders`]) before reading it; its audit entries still get
    /// ids in commit order. A backend with one writer at a time makes it an
    /// ordinary transaction.
    fn begin_shared(&mut self) -> Result<Self::Tx<'_>>;
}

/// A transaction: the registry's changes. Dropped without [`StoreTx::commit`], it
/// rolls back.
pub trait StoreTx: StoreRead {
    /// Makes every change of the transaction durable and visible.
    fn commit(self) -> Result<()>;
    /// Undoes every change of the transaction.
    fn rollback(self) -> Result<()>;
    /// Marks a point to come back to (one line or holder of a batch). Not nested.
    fn savepoint(&mut self) -> Result<()>;
    /// Keeps the changes since [`StoreTx::savepoint`].
    fn release_savepoint(&mut self) -> Result<()>;
    /// Undoes the changes since [`StoreTx::savepoint`] and forgets it.
    fn rollback_to_savepoint(&mut self) -> Result<()>;

    /// Records a new authority, its serials starting at 1.
    fn insert_authority(&mut self, code: &str, name: &str) -> Result<()>;
    /// Hands out the authority's next serial, bumping its counter in this transaction.
    fn allocate_serial(&mut self, code: &str) -> Result<u64>;

    /// Records a key.
    fn insert_key(&mut self, key: &NewKey<'_>) -> Result<()>;
    /// Ends a key's signing period.
    fn set_key_valid_to(&mut self, kid: &str, valid_to: u64) -> Result<()>;
    /// Retires a key now, ending its signing period at `at` at the latest.
    fn retire_key(&mut self, kid: &str, at: u64) -> Result<()>;
    /// Retires every authority key whose signing period ended by `at` and that signed
    /// no live credential still unexpired at `at`; returns how many.
    fn retire_spent_keys(&mut self, at: u64) -> Result<usize>;
    /// Bumps the trust bundle version; returns the new one.
    fn next_bundle_version(&mut self) -> Result<u64>;

    /// Records a holder; returns the id.
    fn insert_holder(
        &mut self,
        input: &HolderInput,
        status: StatusSet,
        created_at: u64,
    ) -> Result<i64>;
    /// Stores the holder's classes, validity, authority and address.
    fn update_holder(&mut self, id: i64, input: &HolderInput) -> Result<()>;
    /// Stores the holder's status letters and points.
    fn set_holder_status(&mut self, id: i64, status: StatusSet, points: u32) -> Result<()>;
    /// Stores the holder's device key.
    fn set_holder_device_key(&mut self, id: i64, device_key: &[u8; 32]) -> Result<()>;

    /// Records a portrait; returns its id.
    fn insert_portrait(&mut self, portrait: &NewPortrait<'_>) -> Result<i64>;
    /// Stores the portrait made for the code from portrait `id`'s photo.
    fn set_made_portrait(&mut self, id: i64, made: &[u8]) -> Result<()>;
    /// Marks the holder's approved portraits replaced.
    fn replace_approved_portraits(&mut self, holder_id: i64) -> Result<()>;
    /// Records a reviewer's decision.
    fn decide_portrait(
        &mut self,
        id: i64,
        state: PortraitState,
        at: u64,
        by: &str,
        reason: Option<&str>,
    ) -> Result<()>;

    /// Records a credential.
    fn insert_credential(&mut self, credential: &NewCredential<'_>) -> Result<()>;
    /// Marks a credential superseded by `by` (`authority/serial`).
    fn supersede_credential(&mut self, authority_code: &str, serial: u64, by: &str) -> Result<()>;
    /// Sets a credential's state.
    fn set_credential_state(
        &mut self,
        authority_code: &str,
        serial: u64,
        state: CredentialState,
    ) -> Result<()>;
    /// Replaces a credential's signing key, times and package after a refresh (same
    /// serial, same state).
    fn refresh_credential(
        &mut self,
        authority_code: &str,
        serial: u64,
        kid: &str,
        issued_and_expires_at: (u64, u64),
        package: &[u8],
    ) -> Result<()>;

    /// Appends to the audit log.
    fn append_audit(&mut self, entry: &AuditEntry<'_>) -> Result<()>;
    /// Forgets nonces older than `forget_before`, then records this one; `false` if
    /// the device already used it.
    fn remember_nonce(
        &mut self,
        device_key: &[u8; 32],
        nonce: &[u8],
        at: u64,
        forget_before: u64,
    ) -> Result<bool>;

    /// Locks, until the end of the transaction, the holders with these device keys
    /// (in a shared transaction, [`Store::begin_shared`]: another one locking any of
    /// them waits, bounded, and then reads what this one committed).
    fn lock_holders(&mut self, device_keys: &[[u8; 32]]) -> Result<()>;

    /// [`StoreTx::remember_nonce`] for each, in order: `false` for a nonce the
    /// device already used, in an earlier transaction or earlier in `nonces`.
    fn remember_nonces(
        &mut self,
        nonces: &[NonceUse<'_>],
        forget_before: u64,
    ) -> Result<Vec<bool>> {
        nonces
            .iter()
            .map(|used| self.remember_nonce(used.device_key, used.nonce, used.at, forget_before))
            .collect()
    }

    /// [`StoreTx::refresh_credential`] for each, in order (a later entry for the same
    /// credential wins).
    fn refresh_credentials(&mut self, refreshed: &[RefreshedCredential<'_>]) -> Result<()> {
        for credential in refreshed {
            self.refresh_credential(
                credential.authority_code,
                credential.serial,
                credential.kid,
                (credential.issued_at, credential.expires_at),
                credential.package,
            )?;
        }
        Ok(())
    }

    /// [`StoreTx::append_audit`] for each, in order (their ids increase in that order).
    fn append_audits(&mut self, entries: &[AuditEntry<'_>]) -> Result<()> {
        entries
            .iter()
            .try_for_each(|entry| self.append_audit(entry))
    }
}
