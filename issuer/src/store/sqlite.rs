//! The SQLite backend of the registry: one database file per office.
//!
//! Implements [`Store`], [`StoreRead`] and [`StoreTx`] with the schema, pragmas and
//! statements of the registry: WAL journal, foreign keys on, `synchronous = FULL`
//! (a committed issuance survives a power cut), the audit log made append-only by
//! triggers, and every statement prepared once per connection and cached — parsing
//! SQL again for every row of a batch would cost more than signing the credentials.
//!
//! Concurrency: every write transaction starts with `BEGIN IMMEDIATE`, which takes
//! SQLite's write lock before the first read, so what a use case decides on cannot
//! change under it (a deferred transaction would read a snapshot, then fail with
//! `SQLITE_BUSY` at its first write — without waiting — or, worse, write from the
//! stale copy). Waiting for the lock is SQLite's busy handler, bounded by
//! [`BUSY_TIMEOUT`]; a timeout becomes [`StoreError::Busy`].
//!
//! Files: the registry folder and its `keys` folder are created 0700 and the
//! database 0600 (SQLite gives its `-wal` and `-shm` files the database's mode), since
//! they hold personal data; an existing database readable by others is tightened.
//!
//! No business rule lives here: this module answers the use cases' questions and
//! stores their decisions (see [`crate::store`] for what a backend must guarantee).

use std::path::Path;

use credential::date::Date;
use credential::licence::{ClassSet, Sex, StatusSet, Validity};
use credential::trust_bundle::AuthorityKey;
use rusqlite::{
    params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior,
};

use crate::model::{
    ApprovedPortrait, AuditEntry, AuditRecord, Channel, CredentialState, CurrentCredential,
    CurrentPackage, Holder, HolderInput, IntegrityReport, KeyRecord, NewCredential, NewKey,
    NewPortrait, PendingPortrait, PortraitRecord, PortraitSource, PortraitState, StillMatters,
    StoredCredential,
};
use crate::store::{Store, StoreError, StoreRead, StoreTx, BUSY_TIMEOUT};

type Result<T> = std::result::Result<T, StoreError>;

/// 2: `portraits.made_portrait`, the portrait the issuer makes for the code.
const SCHEMA_VERSION: i64 = 2;
const SCHEMA_VERSION_TEXT: &str = "2";
/// The database file in the registry folder.
pub const DATABASE_FILE: &str = "registry.sqlite";

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
    auto_failures TEXT NOT NULL,
    made_portrait BLOB
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
-- The status list reads only the non-valid credentials of one authority, in serial order.
CREATE INDEX IF NOT EXISTS credentials_not_valid ON credentials(authority_code, serial) WHERE state != 'valid';
CREATE INDEX IF NOT EXISTS portraits_by_holder ON portraits(holder_id, state);
CREATE INDEX IF NOT EXISTS holders_by_device_key ON holders(device_key);
CREATE TABLE IF NOT EXISTS refresh_nonces (
    device_key BLOB NOT NULL,
    nonce BLOB NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (device_key, nonce)
);
-- Every refresh purges the expired nonces first: by this index, not a table scan.
CREATE INDEX IF NOT EXISTS refresh_nonces_by_time ON refresh_nonces(at);
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

/// A SQLite store over `C`: the connection itself ([`SqliteStore`]) or one of its
/// transactions ([`SqliteTx`]). One type for both, so every query is written once.
pub struct Sqlite<C> {
    conn: C,
}

/// The SQLite registry database.
pub type SqliteStore = Sqlite<Connection>;

/// A transaction on the SQLite registry database (rolls back when dropped).
pub type SqliteTx<'a> = Sqlite<Transaction<'a>>;

/// What queries run on: a connection, or a transaction (which derefs to one).
pub trait AsConnection {
    /// The connection.
    fn connection(&self) -> &Connection;
}

impl AsConnection for Connection {
    fn connection(&self) -> &Connection {
        self
    }
}

impl AsConnection for Transaction<'_> {
    fn connection(&self) -> &Connection {
        self
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `registry.sqlite` and the `keys` folder in `dir`.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        let io = |what: &Path| {
            let what = what.display().to_string();
            move |e: std::io::Error| StoreError::Backend(format!("{what}: {e}"))
        };
        atomic_file::create_dir_all(&dir.join("keys"), 0o700).map_err(io(dir))?;
        let database = dir.join(DATABASE_FILE);
        private_file(&database).map_err(io(&database))?;
        Self::setup(Connection::open(&database)?)
    }

    /// A private in-memory database with the same schema (for tests).
    pub fn in_memory() -> Result<SqliteStore> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<SqliteStore> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        )?;
        conn.execute_batch(SCHEMA)?;
        let mut store = Sqlite { conn };
        store.upgrade()?;
        Ok(store)
    }

    /// Records the schema version of a new database, or brings an older registry's
    /// schema up to [`SCHEMA_VERSION`]; a newer one is refused. Under the write lock,
    /// so two commands opening an old registry at once upgrade it once.
    ///
    /// Version 1 → 2 adds `portraits.made_portrait`, left empty: the approved
    /// portraits of an old registry get their made bytes at the holder's next
    /// issuance or refresh, not here — see [`crate::usecase::issuance`] for why.
    fn upgrade(&mut self) -> Result<()> {
        let read_version = |conn: &Connection| -> Result<Option<String>> {
            Ok(conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
        };
        // The usual case, a registry at this version, takes no write lock: a report
        // opened while a batch is issuing does not wait for it.
        if read_version(&self.conn)?.as_deref() == Some(SCHEMA_VERSION_TEXT) {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        match read_version(&tx)?.as_deref() {
            None => {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('bundle_version', '0')",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            Some("1") => {
                tx.execute_batch(
                    "ALTER TABLE portraits ADD COLUMN made_portrait BLOB;
                     UPDATE meta SET value = '2' WHERE key = 'schema_version';",
                )?;
            }
            Some(SCHEMA_VERSION_TEXT) => {}
            Some(found) => {
                return Err(StoreError::Schema {
                    found: found.to_owned(),
                    expected: SCHEMA_VERSION,
                })
            }
        }
        Ok(tx.commit()?)
    }
}

/// Creates `path` 0600 if missing; removes group and other access from an existing
/// one (a registry made by an older issuer), with its `-wal` and `-shm` files.
fn private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        drop(options.open(path)?);
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            if let Ok(meta) = std::fs::metadata(file) {
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    drop(options.open(path)?);
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
                waited: BUSY_TIMEOUT,
            },
            Some(ErrorCode::ConstraintViolation) => StoreError::Constraint(error.to_string()),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StoreError::Corrupt(error.to_string())
            }
            _ => match error {
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..) => StoreError::Corrupt(error.to_string()),
                other => StoreError::Backend(other.to_string()),
            },
        }
    }
}

/// The file name of a stored key path: registries written before key files were
/// recorded by name stored the path as given, which must not lead a copied registry
/// to the original's keys.
fn key_file_name(stored: String) -> String {
    match Path::new(&stored).file_name() {
        Some(name) => name.to_string_lossy().into_owned(),
        None => stored,
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn credential_state(text: &str) -> rusqlite::Result<CredentialState> {
    CredentialState::parse(text).ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(0, text.to_owned(), rusqlite::types::Type::Text)
    })
}

fn portrait_state(text: &str) -> rusqlite::Result<PortraitState> {
    PortraitState::parse(text).ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(0, text.to_owned(), rusqlite::types::Type::Text)
    })
}

fn portrait_source(text: &str) -> rusqlite::Result<PortraitSource> {
    PortraitSource::parse(text).ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(0, text.to_owned(), rusqlite::types::Type::Text)
    })
}

impl<C: AsConnection> Sqlite<C> {
    /// One row, through the statement cache.
    fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn
            .connection()
            .prepare_cached(sql)?
            .query_row(params, f)
    }

    /// Every row, through the statement cache.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.connection().prepare_cached(sql)?;
        let rows = stmt.query_map(params, f)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn count(&self, sql: &str, params: impl rusqlite::Params) -> Result<u64> {
        Ok(to_u64(self.row(sql, params, |r| r.get(0))?))
    }

    /// A change, through the statement cache; the number of rows changed.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        Ok(self
            .conn
            .connection()
            .prepare_cached(sql)?
            .execute(params)?)
    }
}

impl<C: AsConnection> StoreRead for Sqlite<C> {
    fn authority_exists(&self, code: &str) -> Result<bool> {
        Ok(self.count("SELECT count(*) FROM authorities WHERE code = ?1", [code])? > 0)
    }

    fn authority_name(&self, code: &str) -> Result<Option<String>> {
        Ok(self
            .row(
                "SELECT name FROM authorities WHERE code = ?1",
                [code],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn authorities(&self) -> Result<Vec<(String, u64)>> {
        self.rows(
            "SELECT code, next_serial FROM authorities ORDER BY code",
            [],
            |r| Ok((r.get(0)?, to_u64(r.get(1)?))),
        )
    }

    fn root_key(&self) -> Result<Option<KeyRecord>> {
        self.key_where("SELECT kid, file, public_key FROM keys WHERE role = 'root'")
    }

    fn any_key(&self) -> Result<Option<KeyRecord>> {
        self.key_where("SELECT kid, file, public_key FROM keys ORDER BY valid_from LIMIT 1")
    }

    fn kid_taken(&self, kid: &str) -> Result<bool> {
        Ok(self.count("SELECT count(*) FROM keys WHERE kid = ?1", [kid])? > 0)
    }

    fn active_key(&self, code: &str, at: u64) -> Result<Option<KeyRecord>> {
        Ok(self
            .row(
                "SELECT kid, file, public_key FROM keys WHERE authority_code = ?1 AND retired = 0 AND valid_from <= ?2 AND valid_to > ?2 ORDER BY valid_from DESC LIMIT 1",
                params![code, to_i64(at)],
                key_record,
            )
            .optional()?)
    }

    fn key_authority(&self, kid: &str) -> Result<Option<(Option<String>, bool)>> {
        Ok(self
            .row(
                "SELECT authority_code, retired FROM keys WHERE kid = ?1",
                [kid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn authority_keys(&self) -> Result<Vec<AuthorityKey>> {
        let rows = self.rows(
            "SELECT k.kid, k.public_key, k.authority_code, a.name, k.valid_from, k.valid_to, k.retired FROM keys k JOIN authorities a ON a.code = k.authority_code WHERE k.role = 'authority' ORDER BY k.valid_from",
            [],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    to_u64(r.get(4)?),
                    to_u64(r.get(5)?),
                    r.get::<_, bool>(6)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(
                |(public_key, authority_code, authority_name, valid_from, valid_to, retired)| {
                    let public_key: [u8; 32] = public_key
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("authority key not 32 bytes".into()))?;
                    Ok(AuthorityKey {
                        kid: credential::signature::key_id(&public_key),
                        public_key,
                        authority_code,
                        authority_name,
                        valid_from,
                        valid_to,
                        retired,
                    })
                },
            )
            .collect()
    }

    fn holder(&self, id: i64) -> Result<Option<Holder>> {
        let row = self
            .row(
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
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let bad =
            |what: &str| StoreError::Corrupt(format!("holder {id}: stored {what} is invalid"));
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
            validity: Validity {
                from: Date(row.9),
                to: row.10.map(Date),
            },
            authority_code: row.11,
            points: u32::try_from(row.13).map_err(|_| bad("points"))?,
            channel: Channel::parse(&row.14).ok_or_else(|| bad("channel"))?,
            device_key: row
                .15
                .map(|k| k.try_into())
                .transpose()
                .map_err(|_| bad("device key"))?,
        };
        let status = StatusSet::from_bits(to_u64(row.12)).ok_or_else(|| bad("status"))?;
        Ok(Some(Holder { id, input, status }))
    }

    fn holder_by_licence_number(&self, licence_number: &str) -> Result<Option<i64>> {
        Ok(self
            .row(
                "SELECT id FROM holders WHERE licence_number = ?1",
                [licence_number],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn holder_by_device_key(&self, device_key: &[u8; 32]) -> Result<Option<i64>> {
        Ok(self
            .row(
                "SELECT id FROM holders WHERE device_key = ?1",
                [device_key.to_vec()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn holders_pending_issuance(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
        self.rows(
            "SELECT h.id FROM holders h WHERE h.id > ?1 AND h.device_key IS NOT NULL
               AND EXISTS (SELECT 1 FROM portraits p WHERE p.holder_id = h.id AND p.state = 'approved')
               AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.holder_id = h.id AND c.state != 'superseded')
             ORDER BY h.id LIMIT ?2",
            params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )
    }

    fn approved_portrait(&self, holder_id: i64) -> Result<Option<ApprovedPortrait>> {
        Ok(self
            .row(
                "SELECT id, decided_at, sha256, made_portrait FROM portraits WHERE holder_id = ?1 AND state = 'approved' ORDER BY id DESC LIMIT 1",
                [holder_id],
                |r| {
                    Ok(ApprovedPortrait {
                        id: r.get(0)?,
                        decided_at: to_u64(r.get::<_, Option<i64>>(1)?.unwrap_or(0)),
                        sha256: r.get(2)?,
                        made: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn portrait(&self, id: i64) -> Result<Option<PortraitRecord>> {
        Ok(self
            .row(
                "SELECT holder_id, source, state, submitted_at, bytes, made_portrait FROM portraits WHERE id = ?1",
                [id],
                |r| {
                    Ok(PortraitRecord {
                        id,
                        holder_id: r.get(0)?,
                        source: portrait_source(&r.get::<_, String>(1)?)?,
                        state: portrait_state(&r.get::<_, String>(2)?)?,
                        submitted_at: to_u64(r.get(3)?),
                        bytes: r.get(4)?,
                        made: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    fn pending_portraits(&self) -> Result<Vec<PendingPortrait>> {
        self.rows(
            "SELECT p.id, p.holder_id, h.name, p.source, p.submitted_at FROM portraits p JOIN holders h ON h.id = p.holder_id WHERE p.state = 'pending' ORDER BY p.submitted_at",
            [],
            |r| {
                Ok(PendingPortrait {
                    id: r.get(0)?,
                    holder_id: r.get(1)?,
                    holder_name: r.get(2)?,
                    source: portrait_source(&r.get::<_, String>(3)?)?,
                    submitted_at: to_u64(r.get(4)?),
                })
            },
        )
    }

    fn current_credential(&self, holder_id: i64) -> Result<Option<CurrentCredential>> {
        Ok(self
            .row(
                "SELECT authority_code, serial, state, expires_at FROM credentials WHERE holder_id = ?1 AND state != 'superseded' ORDER BY issued_at DESC LIMIT 1",
                [holder_id],
                |r| {
                    Ok(CurrentCredential {
                        authority_code: r.get(0)?,
                        serial: to_u64(r.get(1)?),
                        state: credential_state(&r.get::<_, String>(2)?)?,
                        expires_at: to_u64(r.get(3)?),
                    })
                },
            )
            .optional()?)
    }

    fn live_credentials(&self, holder_id: i64) -> Result<Vec<(String, u64)>> {
        self.rows(
            "SELECT authority_code, serial FROM credentials WHERE holder_id = ?1 AND state != 'superseded'",
            [holder_id],
            |r| Ok((r.get(0)?, to_u64(r.get(1)?))),
        )
    }

    fn current_packages(&self) -> Result<Vec<CurrentPackage>> {
        self.rows(
            "SELECT holder_id, authority_code, serial, package FROM credentials WHERE state != 'superseded' ORDER BY holder_id",
            [],
            |r| {
                Ok(CurrentPackage {
                    holder_id: r.get(0)?,
                    reference: format!("{}/{}", r.get::<_, String>(1)?, r.get::<_, i64>(2)?),
                    package: r.get(3)?,
                })
            },
        )
    }

    fn credential(&self, authority_code: &str, serial: u64) -> Result<Option<StoredCredential>> {
        Ok(self
            .row(
                "SELECT state, package, superseded_by FROM credentials WHERE authority_code = ?1 AND serial = ?2",
                params![authority_code, to_i64(serial)],
                |r| {
                    Ok(StoredCredential {
                        state: credential_state(&r.get::<_, String>(0)?)?,
                        package: r.get(1)?,
                        superseded_by: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn status_entries(
        &self,
        authority_code: &str,
        still_matters: StillMatters,
    ) -> Result<Vec<(u64, CredentialState)>> {
        self.rows(
            "SELECT serial, state FROM credentials INDEXED BY credentials_not_valid WHERE authority_code = ?1 AND state != 'valid' AND (expires_at > ?2 OR issued_at > ?3) ORDER BY serial",
            params![
                authority_code,
                to_i64(still_matters.expires_after),
                to_i64(still_matters.issued_after)
            ],
            |r| {
                Ok((
                    to_u64(r.get(0)?),
                    credential_state(&r.get::<_, String>(1)?)?,
                ))
            },
        )
    }

    fn audit_recent(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        self.rows(
            "SELECT id, at, operator, action, subject, old, new FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id",
            [i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    operator: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                    old: r.get(5)?,
                    new: r.get(6)?,
                })
            },
        )
    }

    fn audit_times_since(
        &self,
        action: &str,
        subject: &str,
        since: u64,
        at_most: u64,
    ) -> Result<Vec<u64>> {
        self.rows(
            "SELECT at FROM (SELECT at FROM audit WHERE action = ?1 AND subject = ?2 AND at >= ?3 ORDER BY at DESC LIMIT ?4) ORDER BY at",
            params![action, subject, to_i64(since), to_i64(at_most)],
            |r| Ok(to_u64(r.get(0)?)),
        )
    }

    fn integrity(&self) -> Result<IntegrityReport> {
        let integrity: String = self.row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(IntegrityReport {
            storage_problem: (integrity != "ok").then_some(integrity),
            foreign_key_violations: self.count("SELECT count(*) FROM pragma_foreign_key_check", [])?,
            serial_counters_behind: self.count(
                "SELECT count(*) FROM authorities a WHERE a.next_serial <= (SELECT coalesce(max(serial), 0) FROM credentials c WHERE c.authority_code = a.code)",
                [],
            )?,
            holders_with_two_current: self.count(
                "SELECT count(*) FROM (SELECT holder_id FROM credentials WHERE state != 'superseded' GROUP BY holder_id HAVING count(*) > 1)",
                [],
            )?,
            holders: self.count("SELECT count(*) FROM holders", [])?,
            credentials: self.count("SELECT count(*) FROM credentials", [])?,
            current_credentials: self.count(
                "SELECT count(*) FROM credentials WHERE state != 'superseded'",
                [],
            )?,
            audit_entries: self.count("SELECT count(*) FROM audit", [])?,
        })
    }
}

impl<C: AsConnection> Sqlite<C> {
    fn key_where(&self, sql: &str) -> Result<Option<KeyRecord>> {
        Ok(self.row(sql, [], key_record).optional()?)
    }
}

/// `kid, file, public_key` columns.
fn key_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    Ok(KeyRecord {
        kid: r.get(0)?,
        file_name: key_file_name(r.get(1)?),
        public_key: r.get(2)?,
    })
}

impl Store for SqliteStore {
    type Tx<'a> = SqliteTx<'a>;

    fn begin(&mut self) -> Result<SqliteTx<'_>> {
        Ok(Sqlite {
            conn: self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?,
        })
    }

    /// SQLite has one writer at a time: a shared transaction is an exclusive one.
    fn begin_shared(&mut self) -> Result<SqliteTx<'_>> {
        self.begin()
    }
}

impl StoreTx for SqliteTx<'_> {
    fn commit(self) -> Result<()> {
        Ok(self.conn.commit()?)
    }

    fn rollback(self) -> Result<()> {
        Ok(self.conn.rollback()?)
    }

    fn savepoint(&mut self) -> Result<()> {
        self.execute("SAVEPOINT item", []).map(drop)
    }

    fn release_savepoint(&mut self) -> Result<()> {
        self.execute("RELEASE item", []).map(drop)
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.execute("ROLLBACK TO item", [])?;
        self.release_savepoint()
    }

    fn insert_authority(&mut self, code: &str, name: &str) -> Result<()> {
        self.execute(
            "INSERT INTO authorities (code, name, next_serial) VALUES (?1, ?2, 1)",
            params![code, name],
        )
        .map(drop)
    }

    fn allocate_serial(&mut self, code: &str) -> Result<u64> {
        let serial: i64 = self.row(
            "SELECT next_serial FROM authorities WHERE code = ?1",
            [code],
            |r| r.get(0),
        )?;
        self.execute(
            "UPDATE authorities SET next_serial = next_serial + 1 WHERE code = ?1",
            [code],
        )?;
        Ok(to_u64(serial))
    }

    fn insert_key(&mut self, key: &NewKey<'_>) -> Result<()> {
        let role = if key.authority_code.is_some() {
            "authority"
        } else {
            "root"
        };
        self.execute(
            "INSERT INTO keys (kid, role, authority_code, public_key, file, valid_from, valid_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![key.kid, role, key.authority_code, key.public_key.to_vec(), key.file_name, to_i64(key.valid_from), to_i64(key.valid_to)],
        )
        .map(drop)
    }

    fn set_key_valid_to(&mut self, kid: &str, valid_to: u64) -> Result<()> {
        self.execute(
            "UPDATE keys SET valid_to = ?1 WHERE kid = ?2",
            params![to_i64(valid_to), kid],
        )
        .map(drop)
    }

    fn retire_key(&mut self, kid: &str, at: u64) -> Result<()> {
        self.execute(
            "UPDATE keys SET retired = 1, valid_to = min(valid_to, ?1) WHERE kid = ?2",
            params![to_i64(at), kid],
        )
        .map(drop)
    }

    fn retire_spent_keys(&mut self, at: u64) -> Result<usize> {
        self.execute(
            "UPDATE keys SET retired = 1 WHERE role = 'authority' AND retired = 0 AND valid_to <= ?1
               AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.kid = keys.kid AND c.expires_at > ?1 AND c.state != 'superseded')",
            [to_i64(at)],
        )
    }

    fn next_bundle_version(&mut self) -> Result<u64> {
        let version: u64 = self
            .row(
                "SELECT value FROM meta WHERE key = 'bundle_version'",
                [],
                |r| r.get::<_, String>(0),
            )?
            .parse()
            .unwrap_or(0)
            + 1;
        self.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'bundle_version'",
            [version.to_string()],
        )?;
        Ok(version)
    }

    fn insert_holder(
        &mut self,
        input: &HolderInput,
        status: StatusSet,
        created_at: u64,
    ) -> Result<i64> {
        self.execute(
            "INSERT INTO holders (licence_number, name, sex, nationality, birth_date, address, file_number, first_issue_date, classes, valid_from, valid_to, authority_code, status, points, channel, device_key, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                input.licence_number, input.name, input.sex as i64, input.nationality, input.birth_date.0, input.address, input.file_number,
                input.first_issue_date.0, input.classes.bits(), input.validity.from.0, input.validity.to.map(|d| d.0), input.authority_code,
                status.bits(), input.points, input.channel.name(), input.device_key.map(|k| k.to_vec()), to_i64(created_at)
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn update_holder(&mut self, id: i64, input: &HolderInput) -> Result<()> {
        self.execute(
            "UPDATE holders SET classes = ?1, valid_from = ?2, valid_to = ?3, authority_code = ?4, address = ?5 WHERE id = ?6",
            params![input.classes.bits(), input.validity.from.0, input.validity.to.map(|d| d.0), input.authority_code, input.address, id],
        )
        .map(drop)
    }

    fn set_holder_status(&mut self, id: i64, status: StatusSet, points: u32) -> Result<()> {
        self.execute(
            "UPDATE holders SET status = ?1, points = ?2 WHERE id = ?3",
            params![status.bits(), points, id],
        )
        .map(drop)
    }

    fn set_holder_device_key(&mut self, id: i64, device_key: &[u8; 32]) -> Result<()> {
        self.execute(
            "UPDATE holders SET device_key = ?1 WHERE id = ?2",
            params![device_key.to_vec(), id],
        )
        .map(drop)
    }

    fn insert_portrait(&mut self, portrait: &NewPortrait<'_>) -> Result<i64> {
        self.execute(
            "INSERT INTO portraits (holder_id, source, sha256, bytes, submitted_at, state, decided_at, decided_by, reason, auto_failures, made_portrait) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                portrait.holder_id,
                portrait.source.name(),
                portrait.sha256.to_vec(),
                portrait.bytes,
                to_i64(portrait.submitted_at),
                portrait.state.name(),
                portrait.decided.map(|(at, _)| to_i64(at)),
                portrait.decided.map(|(_, by)| by),
                portrait.reason,
                portrait.auto_failures,
                portrait.made,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn set_made_portrait(&mut self, id: i64, made: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE portraits SET made_portrait = ?1 WHERE id = ?2",
            params![made, id],
        )
        .map(drop)
    }

    fn replace_approved_portraits(&mut self, holder_id: i64) -> Result<()> {
        self.execute(
            "UPDATE portraits SET state = 'replaced' WHERE holder_id = ?1 AND state = 'approved'",
            [holder_id],
        )
        .map(drop)
    }

    fn decide_portrait(
        &mut self,
        id: i64,
        state: PortraitState,
        at: u64,
        by: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        self.execute(
            "UPDATE portraits SET state = ?1, decided_at = ?2, decided_by = ?3, reason = ?4 WHERE id = ?5",
            params![state.name(), to_i64(at), by, reason, id],
        )
        .map(drop)
    }

    fn insert_credential(&mut self, credential: &NewCredential<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO credentials (authority_code, serial, holder_id, kid, issued_at, expires_at, state, package) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![credential.authority_code, to_i64(credential.serial), credential.holder_id, credential.kid, to_i64(credential.issued_at), to_i64(credential.expires_at), credential.state.name(), credential.package],
        )
        .map(drop)
    }

    fn supersede_credential(&mut self, authority_code: &str, serial: u64, by: &str) -> Result<()> {
        self.execute(
            "UPDATE credentials SET state = 'superseded', superseded_by = ?1 WHERE authority_code = ?2 AND serial = ?3",
            params![by, authority_code, to_i64(serial)],
        )
        .map(drop)
    }

    fn set_credential_state(
        &mut self,
        authority_code: &str,
        serial: u64,
        state: CredentialState,
    ) -> Result<()> {
        self.execute(
            "UPDATE credentials SET state = ?1 WHERE authority_code = ?2 AND serial = ?3",
            params![state.name(), authority_code, to_i64(serial)],
        )
        .map(drop)
    }

    fn refresh_credential(
        &mut self,
        authority_code: &str,
        serial: u64,
        kid: &str,
        (issued_at, expires_at): (u64, u64),
        package: &[u8],
    ) -> Result<()> {
        self.execute(
            "UPDATE credentials SET kid = ?1, issued_at = ?2, expires_at = ?3, package = ?4 WHERE authority_code = ?5 AND serial = ?6",
            params![kid, to_i64(issued_at), to_i64(expires_at), package, authority_code, to_i64(serial)],
        )
        .map(drop)
    }

    fn append_audit(&mut self, entry: &AuditEntry<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO audit (at, operator, action, subject, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![to_i64(entry.at), entry.operator, entry.action, entry.subject, entry.old, entry.new],
        )
        .map(drop)
    }

    fn remember_nonce(
        &mut self,
        device_key: &[u8; 32],
        nonce: &[u8],
        at: u64,
        forget_before: u64,
    ) -> Result<bool> {
        self.execute(
            "DELETE FROM refresh_nonces WHERE at < ?1",
            [to_i64(forget_before)],
        )?;
        let inserted = self.execute(
            "INSERT OR IGNORE INTO refresh_nonces (device_key, nonce, at) VALUES (?1, ?2, ?3)",
            params![device_key.to_vec(), nonce, to_i64(at)],
        )?;
        Ok(inserted == 1)
    }

    /// The transaction holds the whole database: there is nothing more to lock.
    fn lock_holders(&mut self, _device_keys: &[[u8; 32]]) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::contract;

    /// A fresh registry folder, opened as often as a test needs (leaked: the folder
    /// is removed with the test's temporary directory when the process ends).
    fn shared() -> impl Fn() -> SqliteStore + Send + Sync + 'static {
        let dir = tempfile::tempdir().unwrap().keep();
        move || SqliteStore::open(&dir).unwrap()
    }

    #[test]
    fn contract_transactions_and_savepoints_undo() {
        contract::transactions_and_savepoints_undo(shared());
    }

    #[test]
    fn contract_records_read_back_as_written() {
        contract::records_read_back_as_written(shared());
    }

    #[test]
    fn contract_nonces_are_remembered_once() {
        contract::nonces_are_remembered_once(shared());
    }

    #[test]
    fn contract_batch_methods_answer_as_the_one_row_methods() {
        contract::batch_methods_answer_as_the_one_row_methods(shared());
    }

    #[test]
    fn contract_audit_is_in_commit_order() {
        contract::audit_is_in_commit_order(shared());
    }

    #[test]
    fn contract_a_refused_change_is_undone_to_its_savepoint_and_the_rest_commits() {
        contract::a_refused_change_is_undone_to_its_savepoint_and_the_rest_commits(shared());
    }

    #[test]
    fn contract_writers_wait_and_read_what_the_other_committed() {
        contract::writers_wait_and_read_what_the_other_committed(shared());
    }

    #[test]
    fn an_old_registry_opened_by_many_at_once_is_upgraded_once() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        // Schema 1, as an older issuer left it: no made portraits.
        let db = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        db.execute_batch(
            "ALTER TABLE portraits DROP COLUMN made_portrait;
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
        drop(db);
        let opened: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| SqliteStore::open(dir.path()).map(drop)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for result in opened {
            result.unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let version: String = store
            .row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, "2");
        let columns = store
            .count(
                "SELECT count(*) FROM pragma_table_info('portraits') WHERE name = 'made_portrait'",
                [],
            )
            .unwrap();
        assert_eq!(columns, 1);
        // A registry from a newer issuer is still refused.
        store
            .execute(
                "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        drop(store);
        assert!(matches!(
            SqliteStore::open(dir.path()),
            Err(StoreError::Schema { expected: 2, .. })
        ));
    }

    #[test]
    fn contract_status_entries_are_those_that_still_matter() {
        contract::status_entries_are_those_that_still_matter(shared());
    }

    #[test]
    fn the_database_and_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let registry = dir.path().join("registry");
        drop(SqliteStore::open(&registry).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&registry), 0o700);
        assert_eq!(mode(&registry.join("keys")), 0o700);
        assert_eq!(mode(&registry.join(DATABASE_FILE)), 0o600);
        // A registry left readable by an older issuer is tightened on open.
        std::fs::set_permissions(
            registry.join(DATABASE_FILE),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        drop(SqliteStore::open(&registry).unwrap());
        assert_eq!(mode(&registry.join(DATABASE_FILE)), 0o600);
    }
}
