//! The PostgreSQL backend of the registry: one database shared by every clerk and
//! every `issuer serve` node of the deployment (PostgreSQL 15 or newer).
//!
//! **Client crate.** [`postgres`], the synchronous wrapper of `tokio-postgres`
//! (rust-postgres, maintained since 2013, the most used PostgreSQL driver for Rust):
//! the store traits are synchronous, and its `Transaction<'a>` borrows the `Client`
//! exactly as [`Store::Tx`] borrows the store, so a transaction can neither outlive
//! nor overlap another on the same connection — by the type system, as with
//! rusqlite. sqlx and raw `tokio-postgres` are async-first and would need a runtime
//! handle threaded through every use case for nothing: the refresh service already
//! calls the store from tokio's blocking pool. No TLS: connect over the local unix
//! socket or a trusted network (a connection string asking for TLS is refused).
//!
//! **Schema.** Embedded, versioned migrations (`postgres_migrations/V*__*.sql`)
//! applied by [`refinery`] on open and recorded in `refinery_schema_history`; a
//! database migrated by a newer issuer is refused ([`StoreError::Schema`]). Two
//! processes opening a fresh database at once take turns (a session advisory lock
//! around the migration), so the first command of a new office can be run twice.
//!
//! **Locking: one advisory lock per write transaction.** [`Store::begin`] opens a
//! READ COMMITTED transaction and first takes `pg_advisory_xact_lock(WRITE_LOCK)`,
//! waiting at most [`BUSY_TIMEOUT`] (`lock_timeout`), so writers run one after the
//! other, exactly like SQLite's `BEGIN IMMEDIATE`: every read after the lock sees
//! every earlier commit, what a use case decides on cannot change under it, a
//! waiting writer never fails because someone else works, and a timeout is
//! [`StoreError::Busy`]. Chosen over the alternatives because the contract needs
//! more than "no lost update":
//! - the audit log must list changes in **commit order**. Audit ids come from an
//!   identity sequence, which hands out numbers in *statement* order; only when one
//!   writer at a time exists is that the commit order. With per-holder
//!   `SELECT … FOR UPDATE` row locks two refreshes of different holders run
//!   concurrently, and the one that drew the lower id may commit second;
//! - serials must stay **dense**: a sequence per authority loses numbers on
//!   rollback, and the counter row of the authority is a lock every issuance of
//!   that authority takes anyway;
//! - SERIALIZABLE with retry would give the same result but re-runs use cases
//!   (and their signatures) after a conflict, and every refresh conflicts on the
//!   nonce table's range scan.
//!
//! The price: write transactions do not run in parallel, so one PostgreSQL primary
//! commits writes one at a time (reads, request verification and signing still run
//! in parallel on every node, and PostgreSQL's group commit shares the fsync of
//! transactions that reach commit together). Scaling writers further means per-
//! authority locks and audit entries ordered by commit timestamp
//! (`track_commit_timestamp`) instead of by id — a contract change, not a backend one.
//!
//! Connection strings are never shown with their password ([`redact`]): errors
//! name the database by its redacted string.
//!
//! No business rule lives here: this module answers the use cases' questions and
//! stores their decisions (see [`crate::store`] for what a backend must guarantee).

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use credential::date::Date;
use credential::licence::{ClassSet, Sex, StatusSet, Validity};
use credential::trust_bundle::AuthorityKey;
use postgres::error::SqlState;
use postgres::types::{FromSql, ToSql};
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};

use crate::model::{
    ApprovedPortrait, AuditEntry, AuditRecord, Channel, CredentialState, CurrentCredential,
    CurrentPackage, Holder, HolderInput, IntegrityReport, KeyRecord, NewCredential, NewKey,
    NewPortrait, PendingPortrait, PortraitRecord, PortraitSource, PortraitState, StoredCredential,
};
use crate::store::{Store, StoreError, StoreRead, StoreTx, BUSY_TIMEOUT};

type Result<T> = std::result::Result<T, StoreError>;
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

mod embedded {
    refinery::embed_migrations!("src/store/postgres_migrations");
}

/// The advisory lock every write transaction holds ("issuer" + 1): see the module
/// documentation for why one lock for all writers.
const WRITE_LOCK: i64 = 0x6973_7375_6572_0001;
/// The advisory lock held while migrating the schema.
const MIGRATION_LOCK: i64 = 0x6973_7375_6572_0002;
/// How long connecting may take before the command gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements of one connection, by their SQL text: each statement is
/// parsed once per connection (a batch of 10,000 holders parses no SQL per holder).
pub type StatementCache = RefCell<HashMap<&'static str, Statement>>;

/// A PostgreSQL store over `C`: the connection ([`PostgresStore`]) or one of its
/// transactions ([`PostgresTx`]); one type for both, so every query is written once.
/// The `RefCell` because the driver needs `&mut` for a query and the read trait
/// takes `&self`; a store is used by one thread at a time (it is `Send`, not `Sync`).
pub struct Postgres<C, K> {
    conn: RefCell<C>,
    statements: K,
}

/// A connection to the registry database.
pub type PostgresStore = Postgres<Client, StatementCache>;

/// A write transaction on the registry database (rolls back when dropped).
pub type PostgresTx<'a> = Postgres<Transaction<'a>, &'a StatementCache>;

/// Whether `text` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_connection_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The connection string with its password replaced by `***` (in the user part of
/// a URL, and any `password=` parameter), for messages and logs.
pub fn redact(connection: &str) -> String {
    let mut text = connection.to_owned();
    if let Some(scheme_end) = text.find("://") {
        let rest = scheme_end + 3;
        let authority_end = text[rest..]
            .find(['/', '?'])
            .map_or(text.len(), |i| rest + i);
        if let Some(at) = text[rest..authority_end].rfind('@') {
            if let Some(colon) = text[rest..rest + at].find(':') {
                text.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    let mut from = 0;
    while let Some(found) = text[from..].find("password=") {
        let start = from + found + "password=".len();
        let end = text[start..]
            .find(['&', ' '])
            .map_or(text.len(), |i| start + i);
        text.replace_range(start..end, "***");
        from = start + 3;
    }
    text
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`) and brings its schema up
    /// to this issuer's version.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let shown = redact(url);
        let mut config: postgres::Config = url.parse().map_err(|e| {
            StoreError::Backend(format!("{shown}: not a valid connection string ({e})"))
        })?;
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let hide = |message: String| match &password {
            Some(p) if !p.is_empty() => message.replace(p.as_str(), "***"),
            _ => message,
        };
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(StoreError::Backend(format!(
                "{shown}: TLS is not supported by this issuer: connect over the local socket or a trusted network"
            )));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("issuer");
        let mut client = config.connect(NoTls).map_err(|e| {
            StoreError::Backend(hide(format!("cannot connect to {shown}: {}", describe(&e))))
        })?;
        migrate(&mut client).map_err(|e| match e {
            StoreError::Backend(message) => StoreError::Backend(hide(message)),
            other => other,
        })?;
        Ok(Postgres {
            conn: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
        })
    }
}

/// Applies the embedded migrations, one process at a time. A database already at
/// this issuer's version is only looked at (two queries, no lock): every clerk
/// command opens the store, and none should queue behind another to learn that
/// there is nothing to migrate.
fn migrate(client: &mut Client) -> Result<()> {
    let runner = embedded::migrations::runner();
    let expected = runner
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0);
    let history: Option<String> = client
        .query_one("SELECT to_regclass('refinery_schema_history')::text", &[])?
        .get(0);
    if history.is_some() {
        let found: Option<i32> = client
            .query_one("SELECT max(version) FROM refinery_schema_history", &[])?
            .get(0);
        match found.map(i64::from) {
            Some(found) if found == expected => return Ok(()),
            Some(found) if found > expected => {
                return Err(StoreError::Schema {
                    found: found.to_string(),
                    expected,
                })
            }
            _ => {}
        }
    }
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let outcome = runner.run(client).map_err(|e| match e.kind() {
        refinery::error::Kind::MissingVersion(found)
        | refinery::error::Kind::DivergentVersion(found, _) => StoreError::Schema {
            found: found.to_string(),
            expected,
        },
        _ => StoreError::Backend(format!("schema migration failed: {e}")),
    });
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    outcome.map(drop)
}

/// The driver's message with the server's detail (its plain `Display` says only
/// "db error").
fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => error.to_string(),
    }
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> StoreError {
        let Some(code) = error.code() else {
            return StoreError::Backend(describe(&error));
        };
        if [
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::QUERY_CANCELED,
        ]
        .contains(code)
        {
            StoreError::Busy {
                waited: BUSY_TIMEOUT,
            }
        } else if code.code().starts_with("23") {
            StoreError::Constraint(describe(&error))
        } else if [SqlState::DATA_CORRUPTED, SqlState::INDEX_CORRUPTED].contains(code) {
            StoreError::Corrupt(describe(&error))
        } else {
            StoreError::Backend(describe(&error))
        }
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Column `i` of `row`; a value of the wrong type is damaged data.
fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

fn parsed<T>(text: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown stored value {text:?}")))
}

impl<C: GenericClient, K: Borrow<StatementCache>> Postgres<C, K> {
    fn statement(&self, sql: &'static str) -> Result<Statement> {
        let cache: &StatementCache = self.statements.borrow();
        if let Some(statement) = cache.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.conn.borrow_mut().prepare(sql)?;
        cache.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    fn rows(&self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.conn.borrow_mut().query(&statement, params)?)
    }

    fn row(&self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.conn.borrow_mut().query_opt(&statement, params)?)
    }

    /// A change; the number of rows changed.
    fn execute(&self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.conn.borrow_mut().execute(&statement, params)?)
    }

    /// `SELECT count(*) …`.
    fn count(&self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        match self.row(sql, params)? {
            Some(row) => Ok(to_u64(get(&row, 0)?)),
            None => Ok(0),
        }
    }

    fn key_where(&self, sql: &'static str, params: Params<'_>) -> Result<Option<KeyRecord>> {
        self.row(sql, params)?.map(|r| key_record(&r)).transpose()
    }
}

/// `kid, file, public_key` columns.
fn key_record(r: &Row) -> Result<KeyRecord> {
    let file: String = get(r, 1)?;
    Ok(KeyRecord {
        kid: get(r, 0)?,
        // Only ever a name (the SQLite backend's older registries stored paths).
        file_name: match std::path::Path::new(&file).file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => file,
        },
        public_key: get(r, 2)?,
    })
}

fn audit_record(r: &Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: get(r, 0)?,
        at: get(r, 1)?,
        operator: get(r, 2)?,
        action: get(r, 3)?,
        subject: get(r, 4)?,
        old: get(r, 5)?,
        new: get(r, 6)?,
    })
}

impl<C: GenericClient, K: Borrow<StatementCache>> StoreRead for Postgres<C, K> {
    fn authority_exists(&self, code: &str) -> Result<bool> {
        Ok(self.count("SELECT count(*) FROM authorities WHERE code = $1", &[&code])? > 0)
    }

    fn authority_name(&self, code: &str) -> Result<Option<String>> {
        self.row("SELECT name FROM authorities WHERE code = $1", &[&code])?
            .map(|r| get(&r, 0))
            .transpose()
    }

    fn authorities(&self) -> Result<Vec<(String, u64)>> {
        self.rows(
            "SELECT code, next_serial FROM authorities ORDER BY code",
            &[],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, to_u64(get(r, 1)?))))
        .collect()
    }

    fn root_key(&self) -> Result<Option<KeyRecord>> {
        self.key_where(
            "SELECT kid, file, public_key FROM keys WHERE role = 'root'",
            &[],
        )
    }

    fn any_key(&self) -> Result<Option<KeyRecord>> {
        self.key_where(
            "SELECT kid, file, public_key FROM keys ORDER BY valid_from LIMIT 1",
            &[],
        )
    }

    fn kid_taken(&self, kid: &str) -> Result<bool> {
        Ok(self.count("SELECT count(*) FROM keys WHERE kid = $1", &[&kid])? > 0)
    }

    fn active_key(&self, code: &str, at: u64) -> Result<Option<KeyRecord>> {
        self.key_where(
            "SELECT kid, file, public_key FROM keys WHERE authority_code = $1 AND NOT retired AND valid_from <= $2 AND valid_to > $2 ORDER BY valid_from DESC LIMIT 1",
            &[&code, &to_i64(at)],
        )
    }

    fn key_authority(&self, kid: &str) -> Result<Option<(Option<String>, bool)>> {
        self.row(
            "SELECT authority_code, retired FROM keys WHERE kid = $1",
            &[&kid],
        )?
        .map(|r| Ok((get(&r, 0)?, get(&r, 1)?)))
        .transpose()
    }

    fn authority_keys(&self) -> Result<Vec<AuthorityKey>> {
        self.rows(
            "SELECT k.public_key, k.authority_code, a.name, k.valid_from, k.valid_to, k.retired FROM keys k JOIN authorities a ON a.code = k.authority_code WHERE k.role = 'authority' ORDER BY k.valid_from",
            &[],
        )?
        .iter()
        .map(|r| {
            let public_key: [u8; 32] = get::<Vec<u8>>(r, 0)?
                .try_into()
                .map_err(|_| StoreError::Corrupt("authority key not 32 bytes".into()))?;
            Ok(AuthorityKey {
                kid: credential::signature::key_id(&public_key),
                public_key,
                authority_code: get(r, 1)?,
                authority_name: get(r, 2)?,
                valid_from: to_u64(get(r, 3)?),
                valid_to: to_u64(get(r, 4)?),
                retired: get(r, 5)?,
            })
        })
        .collect()
    }

    fn holder(&self, id: i64) -> Result<Option<Holder>> {
        let Some(r) = self.row(
            "SELECT licence_number, name, sex, nationality, birth_date, address, file_number, first_issue_date, classes, valid_from, valid_to, authority_code, status, points, channel, device_key FROM holders WHERE id = $1",
            &[&id],
        )?
        else {
            return Ok(None);
        };
        let bad =
            |what: &str| StoreError::Corrupt(format!("holder {id}: stored {what} is invalid"));
        let input = HolderInput {
            licence_number: get(&r, 0)?,
            name: get(&r, 1)?,
            sex: if get::<i16>(&r, 2)? == 2 {
                Sex::Female
            } else {
                Sex::Male
            },
            nationality: get(&r, 3)?,
            birth_date: Date(get(&r, 4)?),
            address: get(&r, 5)?,
            file_number: get(&r, 6)?,
            first_issue_date: Date(get(&r, 7)?),
            classes: ClassSet::from_bits(to_u64(get(&r, 8)?)).ok_or_else(|| bad("classes"))?,
            validity: Validity {
                from: Date(get(&r, 9)?),
                to: get::<Option<i64>>(&r, 10)?.map(Date),
            },
            authority_code: get(&r, 11)?,
            points: u32::try_from(get::<i64>(&r, 13)?).map_err(|_| bad("points"))?,
            channel: Channel::parse(&get::<String>(&r, 14)?).ok_or_else(|| bad("channel"))?,
            device_key: get::<Option<Vec<u8>>>(&r, 15)?
                .map(<[u8; 32]>::try_from)
                .transpose()
                .map_err(|_| bad("device key"))?,
        };
        let status = StatusSet::from_bits(to_u64(get(&r, 12)?)).ok_or_else(|| bad("status"))?;
        Ok(Some(Holder { id, input, status }))
    }

    fn holder_by_licence_number(&self, licence_number: &str) -> Result<Option<i64>> {
        self.row(
            "SELECT id FROM holders WHERE licence_number = $1",
            &[&licence_number],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn holder_by_device_key(&self, device_key: &[u8; 32]) -> Result<Option<i64>> {
        self.row(
            "SELECT id FROM holders WHERE device_key = $1 ORDER BY id LIMIT 1",
            &[&device_key.as_slice()],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn holders_pending_issuance(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            "SELECT h.id FROM holders h WHERE h.id > $1 AND h.device_key IS NOT NULL
               AND EXISTS (SELECT 1 FROM portraits p WHERE p.holder_id = h.id AND p.state = 'approved')
               AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.holder_id = h.id AND c.state != 'superseded')
             ORDER BY h.id LIMIT $2",
            &[&after, &limit],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }

    fn approved_portrait(&self, holder_id: i64) -> Result<Option<ApprovedPortrait>> {
        self.row(
            "SELECT id, decided_at, sha256, made_portrait FROM portraits WHERE holder_id = $1 AND state = 'approved' ORDER BY id DESC LIMIT 1",
            &[&holder_id],
        )?
        .map(|r| {
            Ok(ApprovedPortrait {
                id: get(&r, 0)?,
                decided_at: to_u64(get::<Option<i64>>(&r, 1)?.unwrap_or(0)),
                sha256: get(&r, 2)?,
                made: get(&r, 3)?,
            })
        })
        .transpose()
    }

    fn portrait(&self, id: i64) -> Result<Option<PortraitRecord>> {
        self.row(
            "SELECT holder_id, source, state, submitted_at, bytes, made_portrait FROM portraits WHERE id = $1",
            &[&id],
        )?
        .map(|r| {
            Ok(PortraitRecord {
                id,
                holder_id: get(&r, 0)?,
                source: parsed(get(&r, 1)?, PortraitSource::parse)?,
                state: parsed(get(&r, 2)?, PortraitState::parse)?,
                submitted_at: to_u64(get(&r, 3)?),
                bytes: get(&r, 4)?,
                made: get(&r, 5)?,
            })
        })
        .transpose()
    }

    fn pending_portraits(&self) -> Result<Vec<PendingPortrait>> {
        self.rows(
            "SELECT p.id, p.holder_id, h.name, p.source, p.submitted_at FROM portraits p JOIN holders h ON h.id = p.holder_id WHERE p.state = 'pending' ORDER BY p.submitted_at, p.id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(PendingPortrait {
                id: get(r, 0)?,
                holder_id: get(r, 1)?,
                holder_name: get(r, 2)?,
                source: parsed(get(r, 3)?, PortraitSource::parse)?,
                submitted_at: to_u64(get(r, 4)?),
            })
        })
        .collect()
    }

    fn current_credential(&self, holder_id: i64) -> Result<Option<CurrentCredential>> {
        self.row(
            "SELECT authority_code, serial, state, expires_at FROM credentials WHERE holder_id = $1 AND state != 'superseded' ORDER BY issued_at DESC LIMIT 1",
            &[&holder_id],
        )?
        .map(|r| {
            Ok(CurrentCredential {
                authority_code: get(&r, 0)?,
                serial: to_u64(get(&r, 1)?),
                state: parsed(get(&r, 2)?, CredentialState::parse)?,
                expires_at: to_u64(get(&r, 3)?),
            })
        })
        .transpose()
    }

    fn live_credentials(&self, holder_id: i64) -> Result<Vec<(String, u64)>> {
        self.rows(
            "SELECT authority_code, serial FROM credentials WHERE holder_id = $1 AND state != 'superseded'",
            &[&holder_id],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, to_u64(get(r, 1)?))))
        .collect()
    }

    fn current_packages(&self) -> Result<Vec<CurrentPackage>> {
        self.rows(
            "SELECT holder_id, authority_code, serial, package FROM credentials WHERE state != 'superseded' ORDER BY holder_id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(CurrentPackage {
                holder_id: get(r, 0)?,
                reference: format!("{}/{}", get::<String>(r, 1)?, get::<i64>(r, 2)?),
                package: get(r, 3)?,
            })
        })
        .collect()
    }

    fn credential(&self, authority_code: &str, serial: u64) -> Result<Option<StoredCredential>> {
        self.row(
            "SELECT state, package, superseded_by FROM credentials WHERE authority_code = $1 AND serial = $2",
            &[&authority_code, &to_i64(serial)],
        )?
        .map(|r| {
            Ok(StoredCredential {
                state: parsed(get(&r, 0)?, CredentialState::parse)?,
                package: get(&r, 1)?,
                superseded_by: get(&r, 2)?,
            })
        })
        .transpose()
    }

    fn invalid_credentials(&self, authority_code: &str) -> Result<Vec<(u64, CredentialState)>> {
        self.rows(
            "SELECT serial, state FROM credentials WHERE authority_code = $1 AND state != 'valid' ORDER BY serial",
            &[&authority_code],
        )?
        .iter()
        .map(|r| {
            Ok((
                to_u64(get(r, 0)?),
                parsed(get(r, 1)?, CredentialState::parse)?,
            ))
        })
        .collect()
    }

    fn audit_recent(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        self.rows(
            "SELECT id, at, operator, action, subject, old, new FROM (SELECT * FROM audit ORDER BY id DESC LIMIT $1) recent ORDER BY id",
            &[&i64::try_from(limit).unwrap_or(i64::MAX)],
        )?
        .iter()
        .map(audit_record)
        .collect()
    }

    fn audit_count_since(&self, action: &str, subject: &str, since: u64) -> Result<u64> {
        self.count(
            "SELECT count(*) FROM audit WHERE action = $1 AND subject = $2 AND at >= $3",
            &[&action, &subject, &to_i64(since)],
        )
    }

    fn audit_times_since(&self, action: &str, subject: &str, since: u64) -> Result<Vec<u64>> {
        self.rows(
            "SELECT at FROM audit WHERE action = $1 AND subject = $2 AND at >= $3 ORDER BY at",
            &[&action, &subject, &to_i64(since)],
        )?
        .iter()
        .map(|r| Ok(to_u64(get(r, 0)?)))
        .collect()
    }

    fn integrity(&self) -> Result<IntegrityReport> {
        Ok(IntegrityReport {
            // PostgreSQL checks its pages itself (and refuses to read damaged ones,
            // which surfaces as an error here); there is no cheap whole-database check.
            storage_problem: None,
            // Enforced on every statement; counted anyway, since a restore with
            // triggers disabled (session_replication_role = replica) skips them.
            foreign_key_violations: self.count(
                "SELECT (SELECT count(*) FROM credentials c WHERE NOT EXISTS (SELECT 1 FROM holders h WHERE h.id = c.holder_id) OR NOT EXISTS (SELECT 1 FROM keys k WHERE k.kid = c.kid))
                      + (SELECT count(*) FROM portraits p WHERE NOT EXISTS (SELECT 1 FROM holders h WHERE h.id = p.holder_id))
                      + (SELECT count(*) FROM holders h WHERE NOT EXISTS (SELECT 1 FROM authorities a WHERE a.code = h.authority_code))",
                &[],
            )?,
            serial_counters_behind: self.count(
                "SELECT count(*) FROM authorities a WHERE a.next_serial <= (SELECT coalesce(max(serial), 0) FROM credentials c WHERE c.authority_code = a.code)",
                &[],
            )?,
            holders_with_two_current: self.count(
                "SELECT count(*) FROM (SELECT holder_id FROM credentials WHERE state != 'superseded' GROUP BY holder_id HAVING count(*) > 1) two",
                &[],
            )?,
            holders: self.count("SELECT count(*) FROM holders", &[])?,
            credentials: self.count("SELECT count(*) FROM credentials", &[])?,
            current_credentials: self.count(
                "SELECT count(*) FROM credentials WHERE state != 'superseded'",
                &[],
            )?,
            audit_entries: self.count("SELECT count(*) FROM audit", &[])?,
        })
    }
}

impl Store for PostgresStore {
    type Tx<'a> = PostgresTx<'a>;

    fn begin(&mut self) -> Result<PostgresTx<'_>> {
        let Postgres { conn, statements } = self;
        let mut tx = conn.get_mut().transaction()?;
        // The lock before the first read; `lock_timeout` bounds the wait (the
        // lock is the transaction's, released by its commit or rollback).
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}; SELECT pg_advisory_xact_lock({WRITE_LOCK})",
            BUSY_TIMEOUT.as_millis()
        ))?;
        Ok(Postgres {
            conn: RefCell::new(tx),
            statements: &*statements,
        })
    }
}

impl StoreTx for PostgresTx<'_> {
    fn commit(self) -> Result<()> {
        Ok(self.conn.into_inner().commit()?)
    }

    fn rollback(self) -> Result<()> {
        Ok(self.conn.into_inner().rollback()?)
    }

    fn savepoint(&mut self) -> Result<()> {
        Ok(self.conn.get_mut().batch_execute("SAVEPOINT item")?)
    }

    fn release_savepoint(&mut self) -> Result<()> {
        Ok(self
            .conn
            .get_mut()
            .batch_execute("RELEASE SAVEPOINT item")?)
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.conn
            .get_mut()
            .batch_execute("ROLLBACK TO SAVEPOINT item")?;
        self.release_savepoint()
    }

    fn insert_authority(&mut self, code: &str, name: &str) -> Result<()> {
        self.execute(
            "INSERT INTO authorities (code, name, next_serial) VALUES ($1, $2, 1)",
            &[&code, &name],
        )
        .map(drop)
    }

    fn allocate_serial(&mut self, code: &str) -> Result<u64> {
        let row = self
            .row(
                "UPDATE authorities SET next_serial = next_serial + 1 WHERE code = $1 RETURNING next_serial - 1",
                &[&code],
            )?
            .ok_or_else(|| StoreError::Constraint(format!("no authority {code}")))?;
        Ok(to_u64(get(&row, 0)?))
    }

    fn insert_key(&mut self, key: &NewKey<'_>) -> Result<()> {
        let role = if key.authority_code.is_some() {
            "authority"
        } else {
            "root"
        };
        self.execute(
            "INSERT INTO keys (kid, role, authority_code, public_key, file, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&key.kid, &role, &key.authority_code, &key.public_key.as_slice(), &key.file_name, &to_i64(key.valid_from), &to_i64(key.valid_to)],
        )
        .map(drop)
    }

    fn set_key_valid_to(&mut self, kid: &str, valid_to: u64) -> Result<()> {
        self.execute(
            "UPDATE keys SET valid_to = $1 WHERE kid = $2",
            &[&to_i64(valid_to), &kid],
        )
        .map(drop)
    }

    fn retire_key(&mut self, kid: &str, at: u64) -> Result<()> {
        self.execute(
            "UPDATE keys SET retired = TRUE, valid_to = least(valid_to, $1) WHERE kid = $2",
            &[&to_i64(at), &kid],
        )
        .map(drop)
    }

    fn retire_spent_keys(&mut self, at: u64) -> Result<usize> {
        let retired = self.execute(
            "UPDATE keys SET retired = TRUE WHERE role = 'authority' AND NOT retired AND valid_to <= $1
               AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.kid = keys.kid AND c.expires_at > $1 AND c.state != 'superseded')",
            &[&to_i64(at)],
        )?;
        Ok(usize::try_from(retired).unwrap_or(usize::MAX))
    }

    fn next_bundle_version(&mut self) -> Result<u64> {
        let row = self
            .row(
                "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'bundle_version' RETURNING value",
                &[],
            )?
            .ok_or_else(|| StoreError::Corrupt("no bundle version in meta".into()))?;
        get::<String>(&row, 0)?
            .parse()
            .map_err(|_| StoreError::Corrupt("bundle version is not a number".into()))
    }

    fn insert_holder(
        &mut self,
        input: &HolderInput,
        status: StatusSet,
        created_at: u64,
    ) -> Result<i64> {
        let row = self.row(
            "INSERT INTO holders (licence_number, name, sex, nationality, birth_date, address, file_number, first_issue_date, classes, valid_from, valid_to, authority_code, status, points, channel, device_key, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
            &[
                &input.licence_number, &input.name, &(input.sex as i16), &input.nationality, &input.birth_date.0, &input.address, &input.file_number,
                &input.first_issue_date.0, &i64::from(input.classes.bits()), &input.validity.from.0, &input.validity.to.map(|d| d.0), &input.authority_code,
                &i64::from(status.bits()), &i64::from(input.points), &input.channel.name(), &input.device_key.as_ref().map(|k| k.as_slice()), &to_i64(created_at),
            ],
        )?;
        row.map_or(Ok(0), |r| get(&r, 0))
    }

    fn update_holder(&mut self, id: i64, input: &HolderInput) -> Result<()> {
        self.execute(
            "UPDATE holders SET classes = $1, valid_from = $2, valid_to = $3, authority_code = $4, address = $5 WHERE id = $6",
            &[&i64::from(input.classes.bits()), &input.validity.from.0, &input.validity.to.map(|d| d.0), &input.authority_code, &input.address, &id],
        )
        .map(drop)
    }

    fn set_holder_status(&mut self, id: i64, status: StatusSet, points: u32) -> Result<()> {
        self.execute(
            "UPDATE holders SET status = $1, points = $2 WHERE id = $3",
            &[&i64::from(status.bits()), &i64::from(points), &id],
        )
        .map(drop)
    }

    fn set_holder_device_key(&mut self, id: i64, device_key: &[u8; 32]) -> Result<()> {
        self.execute(
            "UPDATE holders SET device_key = $1 WHERE id = $2",
            &[&device_key.as_slice(), &id],
        )
        .map(drop)
    }

    fn insert_portrait(&mut self, portrait: &NewPortrait<'_>) -> Result<i64> {
        let row = self.row(
            "INSERT INTO portraits (holder_id, source, sha256, bytes, submitted_at, state, decided_at, decided_by, reason, auto_failures, made_portrait) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &portrait.holder_id,
                &portrait.source.name(),
                &portrait.sha256.as_slice(),
                &portrait.bytes,
                &to_i64(portrait.submitted_at),
                &portrait.state.name(),
                &portrait.decided.map(|(at, _)| to_i64(at)),
                &portrait.decided.map(|(_, by)| by),
                &portrait.reason,
                &portrait.auto_failures,
                &portrait.made,
            ],
        )?;
        row.map_or(Ok(0), |r| get(&r, 0))
    }

    fn set_made_portrait(&mut self, id: i64, made: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE portraits SET made_portrait = $1 WHERE id = $2",
            &[&made, &id],
        )
        .map(drop)
    }

    fn replace_approved_portraits(&mut self, holder_id: i64) -> Result<()> {
        self.execute(
            "UPDATE portraits SET state = 'replaced' WHERE holder_id = $1 AND state = 'approved'",
            &[&holder_id],
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
            "UPDATE portraits SET state = $1, decided_at = $2, decided_by = $3, reason = $4 WHERE id = $5",
            &[&state.name(), &to_i64(at), &by, &reason, &id],
        )
        .map(drop)
    }

    fn insert_credential(&mut self, credential: &NewCredential<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO credentials (authority_code, serial, holder_id, kid, issued_at, expires_at, state, package) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&credential.authority_code, &to_i64(credential.serial), &credential.holder_id, &credential.kid, &to_i64(credential.issued_at), &to_i64(credential.expires_at), &credential.state.name(), &credential.package],
        )
        .map(drop)
    }

    fn supersede_credential(&mut self, authority_code: &str, serial: u64, by: &str) -> Result<()> {
        self.execute(
            "UPDATE credentials SET state = 'superseded', superseded_by = $1 WHERE authority_code = $2 AND serial = $3",
            &[&by, &authority_code, &to_i64(serial)],
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
            "UPDATE credentials SET state = $1 WHERE authority_code = $2 AND serial = $3",
            &[&state.name(), &authority_code, &to_i64(serial)],
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
            "UPDATE credentials SET kid = $1, issued_at = $2, expires_at = $3, package = $4 WHERE authority_code = $5 AND serial = $6",
            &[&kid, &to_i64(issued_at), &to_i64(expires_at), &package, &authority_code, &to_i64(serial)],
        )
        .map(drop)
    }

    fn append_audit(&mut self, entry: &AuditEntry<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO audit (at, operator, action, subject, old, new) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&to_i64(entry.at), &entry.operator, &entry.action, &entry.subject, &entry.old, &entry.new],
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
            "DELETE FROM refresh_nonces WHERE at < $1",
            &[&to_i64(forget_before)],
        )?;
        let inserted = self.execute(
            "INSERT INTO refresh_nonces (device_key, nonce, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&device_key.as_slice(), &nonce, &to_i64(at)],
        )?;
        Ok(inserted == 1)
    }
}

/// What `issuer migrate` copied: rows per table.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Rows copied, by table.
    pub rows: std::collections::BTreeMap<&'static str, u64>,
}

/// How a SQLite column is read for its PostgreSQL column.
#[derive(Clone, Copy)]
enum Column {
    Bigint,
    Smallint,
    Boolean,
    Text,
    Bytes,
}

/// Every table of the registry with its columns, parents before children (the
/// foreign keys hold at every row), in both schemas.
const TABLES: &[(&str, &[(&str, Column)])] = {
    use Column::*;
    &[
        (
            "authorities",
            &[("code", Text), ("name", Text), ("next_serial", Bigint)],
        ),
        (
            "keys",
            &[
                ("kid", Text),
                ("role", Text),
                ("authority_code", Text),
                ("public_key", Bytes),
                ("file", Text),
                ("valid_from", Bigint),
                ("valid_to", Bigint),
                ("retired", Boolean),
            ],
        ),
        (
            "holders",
            &[
                ("id", Bigint),
                ("licence_number", Text),
                ("name", Text),
                ("sex", Smallint),
                ("nationality", Text),
                ("birth_date", Bigint),
                ("address", Text),
                ("file_number", Text),
                ("first_issue_date", Bigint),
                ("classes", Bigint),
                ("valid_from", Bigint),
                ("valid_to", Bigint),
                ("authority_code", Text),
                ("status", Bigint),
                ("points", Bigint),
                ("channel", Text),
                ("device_key", Bytes),
                ("created_at", Bigint),
            ],
        ),
        (
            "portraits",
            &[
                ("id", Bigint),
                ("holder_id", Bigint),
                ("source", Text),
                ("sha256", Bytes),
                ("bytes", Bytes),
                ("submitted_at", Bigint),
                ("state", Text),
                ("decided_at", Bigint),
                ("decided_by", Text),
                ("reason", Text),
                ("auto_failures", Text),
                ("made_portrait", Bytes),
            ],
        ),
        (
            "credentials",
            &[
                ("authority_code", Text),
                ("serial", Bigint),
                ("holder_id", Bigint),
                ("kid", Text),
                ("issued_at", Bigint),
                ("expires_at", Bigint),
                ("state", Text),
                ("superseded_by", Text),
                ("package", Bytes),
            ],
        ),
        (
            "refresh_nonces",
            &[("device_key", Bytes), ("nonce", Bytes), ("at", Bigint)],
        ),
        (
            "audit",
            &[
                ("id", Bigint),
                ("at", Bigint),
                ("operator", Text),
                ("action", Text),
                ("subject", Text),
                ("old", Text),
                ("new", Text),
            ],
        ),
    ]
};

/// The tables whose ids come from an identity column, to continue after the copy.
const IDENTITY_TABLES: [&str; 3] = ["holders", "portraits", "audit"];

impl PostgresStore {
    /// Copies every record of the SQLite registry database `sqlite` (authorities,
    /// keys, holders, portraits, credentials, nonces, the audit log with its ids,
    /// the trust bundle version) into this database, which must hold no registry
    /// yet; one transaction, so a failed copy leaves it empty. Key files are not
    /// records: they stay in the registry folder's `keys/`.
    pub fn import_sqlite(&mut self, sqlite: &Path) -> Result<Imported> {
        let source = rusqlite::Connection::open_with_flags(
            sqlite,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        // A snapshot: a clerk still writing to the SQLite registry changes nothing
        // of what is copied.
        source.execute_batch("BEGIN")?;
        let mut tx = self.begin()?;
        let occupied = tx.count(
            "SELECT (SELECT count(*) FROM authorities) + (SELECT count(*) FROM keys) + (SELECT count(*) FROM holders) + (SELECT count(*) FROM audit)",
            &[],
        )?;
        if occupied > 0 {
            return Err(StoreError::Constraint(
                "the target database already holds a registry: migrate into an empty database"
                    .into(),
            ));
        }
        let mut imported = Imported::default();
        let target = tx.conn.get_mut();
        for (table, columns) in TABLES {
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
            let insert = target.prepare(&format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                placeholders.join(", ")
            ))?;
            let mut select = source.prepare(&format!(
                "SELECT {} FROM {table} ORDER BY rowid",
                names.join(", ")
            ))?;
            let mut rows = select.query([])?;
            let mut copied = 0u64;
            while let Some(row) = rows.next()? {
                let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(columns.len());
                for (i, (_, column)) in columns.iter().enumerate() {
                    values.push(match column {
                        Column::Bigint => Box::new(row.get::<_, Option<i64>>(i)?),
                        Column::Smallint => Box::new(
                            row.get::<_, Option<i64>>(i)?
                                .map(|v| i16::try_from(v).unwrap_or(i16::MAX)),
                        ),
                        Column::Boolean => Box::new(row.get::<_, Option<bool>>(i)?),
                        Column::Text => Box::new(row.get::<_, Option<String>>(i)?),
                        Column::Bytes => Box::new(row.get::<_, Option<Vec<u8>>>(i)?),
                    });
                }
                let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| &**v).collect();
                target.execute(&insert, &params)?;
                copied += 1;
            }
            imported.rows.insert(table, copied);
        }
        for table in IDENTITY_TABLES {
            target.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
            ))?;
        }
        let bundle_version: String = source.query_row(
            "SELECT value FROM meta WHERE key = 'bundle_version'",
            [],
            |r| r.get(0),
        )?;
        target.execute(
            "UPDATE meta SET value = $1 WHERE key = 'bundle_version'",
            &[&bundle_version],
        )?;
        tx.commit()?;
        Ok(imported)
    }
}

#[cfg(test)]
#[path = "../../tests/common/postgres_server.rs"]
pub(crate) mod test_server;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::contract;

    /// Opens a fresh database on the test server as often as a test needs; `None`
    /// without PostgreSQL outside CI (see [`test_server`]).
    fn shared() -> Option<impl Fn() -> PostgresStore + Send + Sync + 'static> {
        let url = test_server::fresh_database()?;
        Some(move || PostgresStore::open(&url).unwrap())
    }

    #[test]
    fn contract_transactions_and_savepoints_undo() {
        if let Some(open) = shared() {
            contract::transactions_and_savepoints_undo(open);
        }
    }

    #[test]
    fn contract_records_read_back_as_written() {
        if let Some(open) = shared() {
            contract::records_read_back_as_written(open);
        }
    }

    #[test]
    fn contract_nonces_are_remembered_once() {
        if let Some(open) = shared() {
            contract::nonces_are_remembered_once(open);
        }
    }

    #[test]
    fn contract_audit_is_in_commit_order() {
        if let Some(open) = shared() {
            contract::audit_is_in_commit_order(open);
        }
    }

    #[test]
    fn contract_a_refused_change_is_undone_to_its_savepoint_and_the_rest_commits() {
        if let Some(open) = shared() {
            contract::a_refused_change_is_undone_to_its_savepoint_and_the_rest_commits(open);
        }
    }

    #[test]
    fn contract_writers_wait_and_read_what_the_other_committed() {
        if let Some(open) = shared() {
            contract::writers_wait_and_read_what_the_other_committed(open);
        }
    }

    #[test]
    fn the_audit_log_refuses_updates_deletes_and_truncation() {
        let Some(open) = shared() else { return };
        let mut store = open();
        let mut tx = store.begin().unwrap();
        tx.append_audit(&AuditEntry {
            at: 1,
            operator: "clerk",
            action: "holder.add",
            subject: "1",
            old: None,
            new: None,
        })
        .unwrap();
        tx.commit().unwrap();
        for sql in [
            "UPDATE audit SET operator = 'someone else'",
            "DELETE FROM audit",
            "TRUNCATE audit",
        ] {
            let refused = store.conn.get_mut().batch_execute(sql).unwrap_err();
            assert!(
                matches!(StoreError::from(refused), StoreError::Constraint(m) if m.contains("append-only")),
                "{sql}"
            );
        }
        assert_eq!(store.audit_recent(10).unwrap()[0].operator, "clerk");
    }

    #[test]
    fn a_second_open_of_a_migrated_database_keeps_its_data_and_a_newer_schema_is_refused() {
        let Some(url) = test_server::fresh_database() else {
            return;
        };
        let mut store = PostgresStore::open(&url).unwrap();
        let mut tx = store.begin().unwrap();
        tx.insert_authority("川J", "x").unwrap();
        tx.commit().unwrap();
        let mut again = PostgresStore::open(&url).unwrap();
        assert!(again.authority_exists("川J").unwrap());
        // A migration this issuer does not know, as a newer issuer would leave it.
        again
            .conn
            .get_mut()
            .batch_execute(
                "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) SELECT 99, 'future', applied_on, checksum FROM refinery_schema_history WHERE version = 1",
            )
            .unwrap();
        assert!(matches!(
            PostgresStore::open(&url),
            Err(StoreError::Schema { expected: 2, .. })
        ));
    }

    #[test]
    fn a_writer_that_waits_past_the_bound_is_busy_not_failed_at_once() {
        let Some(url) = test_server::fresh_database() else {
            return;
        };
        let mut holder = PostgresStore::open(&url).unwrap();
        let _held = holder.begin().unwrap();
        let mut waiter = PostgresStore::open(&url).unwrap();
        // The same lock with a short bound, so the test does not wait 30 s.
        let mut tx = waiter.conn.get_mut().transaction().unwrap();
        let started = std::time::Instant::now();
        let error = tx
            .batch_execute(&format!(
                "SET LOCAL lock_timeout = 300; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
            ))
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(matches!(StoreError::from(error), StoreError::Busy { .. }));
    }

    #[test]
    fn passwords_are_redacted_from_connection_strings() {
        assert_eq!(
            redact("postgres://issuer:s3cret@db.example:5432/registry"),
            "postgres://issuer:***@db.example:5432/registry"
        );
        assert_eq!(
            redact("postgresql://issuer@db/registry?password=s3cret&sslmode=disable"),
            "postgresql://issuer@db/registry?password=***&sslmode=disable"
        );
        assert_eq!(
            redact("postgres://issuer@%2Frun%2Fpostgresql/registry"),
            "postgres://issuer@%2Frun%2Fpostgresql/registry"
        );
        assert_eq!(
            redact("host=db password=s3cret user=x"),
            "host=db password=*** user=x"
        );
        // An unreachable server (no test server needed): the error names the database, without the password.
        let error =
            PostgresStore::open("postgres://issuer:s3cret@127.0.0.1:1/registry?connect_timeout=2")
                .err()
                .unwrap()
                .to_string();
        assert!(error.contains("issuer:***@127.0.0.1:1"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
    }
}
