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
//! calls the store from a thread of its own (the registry writer).
//!
//! **Connections** ([`super::postgres_connection`]): TLS (rustls, verified like
//! libpq's `verify-full`) for any host that is not this machine, `sslmode=disable`
//! to such a host refused; a connection lost while idle is replaced before the
//! next statement, with bounded retries; a transaction that loses its connection
//! fails with [`StoreError::Disconnected`] (retryable), never re-run.
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
//! **Refresh batches share the lock.** One lock for all writers would make every
//! service node wait for the others' batches (measured: two nodes served fewer
//! refreshes than one). [`Store::begin_shared`] takes the same lock in shared
//! mode: the refresh batches of every node run at once, and an office change (which
//! takes it exclusively) still never runs beside one — a revocation waits for the
//! batch in flight and the next batch reads it (PostgreSQL queues a shared request
//! behind a waiting exclusive one, so clerks are not starved). What the batches no
//! longer get from the lock they take explicitly:
//! - the phones they decide on, [`StoreTx::lock_holders`]: one transaction-level
//!   advisory lock per device key ([`phone_lock`]), taken in key order so two
//!   batches wait rather than deadlock. Two nodes refreshing one phone take turns,
//!   so its nonce and rate limit hold across nodes. Row locks (`FOR NO KEY UPDATE`)
//!   did the same before, but a row lock is written into the holder's tuple: a WAL
//!   record per holder and, for the first refresh of a page after a checkpoint, a
//!   full-page image of it; an advisory lock lives only in the shared lock table.
//!   A batch holds at most [`crate::usecase::refresh::MAX_BATCH`] of them, so the
//!   table's default size (`max_locks_per_transaction` 64 × `max_connections` 100)
//!   is enough for ≈ 90 batches at once (`spec/deployment.md` §3.4);
//! - audit order: a shared transaction takes [`AUDIT_LOCK`] before its first audit
//!   entry and keeps it to its commit, so entries are still numbered in commit order
//!   (only the appends and the commit of batches are serialised, not their reads,
//!   signatures and updates).
//!
//! Scaling writers further means per-authority locks and audit entries ordered by
//! commit timestamp (`track_commit_timestamp`) instead of by id — a contract change,
//! not a backend one.
//!
//! Connection strings are never shown with their password ([`redact`]): errors
//! name the database by its redacted string.
//!
//! No business rule lives here: this module answers the use cases' questions and
//! stores their decisions (see [`crate::store`] for what a backend must guarantee).

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use credential::date::Date;
use credential::licence::{ClassSet, Sex, StatusSet, Validity};
use credential::trust_bundle::AuthorityKey;
use postgres::error::SqlState;
use postgres::types::{FromSql, ToSql};
use postgres::{Client, GenericClient, Row, Statement, Transaction};

use crate::model::{
    ApprovedPortrait, AuditEntry, AuditRecord, Channel, CredentialState, CurrentCredential,
    CurrentPackage, Holder, HolderInput, IntegrityReport, KeyRecord, NewCredential, NewKey,
    NewPortrait, NonceUse, PendingPortrait, PortraitRecord, PortraitSource, PortraitState,
    RefreshContext, RefreshedCredential, StillMatters, StoredCredential,
};
use crate::store::postgres_connection::Connector;
use crate::store::{Store, StoreError, StoreRead, StoreTx, BUSY_TIMEOUT};

type Result<T> = std::result::Result<T, StoreError>;
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

mod embedded {
    refinery::embed_migrations!("src/store/postgres_migrations");
}

/// The advisory lock every write transaction holds ("issuer" + 1): see the module
/// documentation for why one lock for all writers.
const WRITE_LOCK: i64 = 0x6973_7375_6572_0001;
/// The credentials of an authority a status list carries (`status_entries`); its
/// `state != 'valid'` is the predicate of the partial index `credentials_not_valid`
/// (migration V4), which the planner uses only when the query says so literally.
const STATUS_ENTRIES_SQL: &str = "SELECT serial, state FROM credentials WHERE authority_code = $1 AND state != 'valid' AND (expires_at > $2 OR issued_at > $3) ORDER BY serial";
/// The advisory lock a shared write transaction takes before its first audit
/// entry ([`PostgresTx::lock_audit`]).
const AUDIT_LOCK: i64 = 0x6973_7375_6572_0003;
/// The advisory lock held while migrating the schema.
const MIGRATION_LOCK: i64 = 0x6973_7375_6572_0002;

/// The advisory lock of a phone in a refresh batch ([`StoreTx::lock_holders`]): the
/// first 8 bytes of its device key, as the two-key form. PostgreSQL keeps two-key
/// locks apart from one-key ones, so no device key can name [`WRITE_LOCK`] or
/// [`AUDIT_LOCK`]; two phones sharing 8 bytes only take turns.
fn phone_lock(device_key: &[u8; 32]) -> (i32, i32) {
    let [a, b, c, d, e, f, g, h, ..] = *device_key;
    (
        i32::from_be_bytes([a, b, c, d]),
        i32::from_be_bytes([e, f, g, h]),
    )
}

/// What a connection keeps beside the client: how to connect again, and its
/// prepared statements by SQL text — each statement is parsed once per connection
/// (a batch of 10,000 holders parses no SQL per holder), and again after a reconnect.
pub struct Session {
    connector: Connector,
    statements: RefCell<HashMap<&'static str, Statement>>,
    /// When the last statement on this connection started.
    last_used: std::cell::Cell<std::time::Instant>,
}

/// A client that may replace a lost connection before its next statement: the
/// connection itself does; a transaction does not (what it did is gone with its
/// connection, so it must fail, not carry on over a new one).
pub trait Reconnect: GenericClient {
    /// Replaces the connection if it was lost since the last statement.
    fn revive(&mut self, session: &Session) -> Result<()>;
}

impl Reconnect for Client {
    fn revive(&mut self, session: &Session) -> Result<()> {
        let idle = session.last_used.get().elapsed();
        // A session ended while idle is only seen when its FATAL message is read,
        // which an idle client may not have done yet: after a pause, one empty
        // query makes sure (on a busy connection it would cost a round trip per
        // statement, and a loss within the pause fails one transaction, retryable).
        let lost = Connector::is_lost(self)
            || (idle >= PROBE_AFTER_IDLE && self.is_valid(PROBE_TIMEOUT).is_err());
        if lost {
            eprintln!(
                "registry database {}: connection lost; reconnecting",
                session.connector.shown()
            );
            *self = session.connector.reconnect()?;
            session.statements.borrow_mut().clear();
        }
        // Only a connection known good restarts the pause: after a failed
        // reconnect the next statement checks again.
        session.last_used.set(std::time::Instant::now());
        Ok(())
    }
}

impl Reconnect for Transaction<'_> {
    fn revive(&mut self, session: &Session) -> Result<()> {
        session.last_used.set(std::time::Instant::now());
        Ok(())
    }
}

/// How long a connection may sit unused before its next statement checks it.
pub const PROBE_AFTER_IDLE: std::time::Duration = std::time::Duration::from_millis(250);
/// How long that check may wait for the server.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A PostgreSQL store over `C`: the connection ([`PostgresStore`]) or one of its
/// transactions ([`PostgresTx`]); one type for both, so every query is written once.
/// The `RefCell` because the driver needs `&mut` for a query and the read trait
/// takes `&self`; a store is used by one thread at a time (it is `Send`, not `Sync`).
pub struct Postgres<C, K> {
    conn: RefCell<C>,
    session: K,
}

/// A connection to the registry database.
pub type PostgresStore = Postgres<Client, Session>;

/// A write transaction on the registry database (rolls back when dropped).
pub type PostgresTx<'a> = Postgres<Transaction<'a>, TxSession<'a>>;

/// What a transaction keeps beside its connection's [`Session`]: how it holds the
/// write lock, and whether it holds the audit lock yet.
pub struct TxSession<'a> {
    session: &'a Session,
    hold: Hold,
    audit_locked: std::cell::Cell<bool>,
}

impl Borrow<Session> for TxSession<'_> {
    fn borrow(&self) -> &Session {
        self.session
    }
}

/// How a write transaction holds [`WRITE_LOCK`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Alone ([`Store::begin`]).
    Exclusive,
    /// Beside other shared holders ([`Store::begin_shared`]).
    Shared,
}

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
        let connector = Connector::new(url)?;
        let mut client = connector.connect()?;
        migrate(&mut client).map_err(|e| match e {
            StoreError::Backend(message) => StoreError::Backend(connector.hide(message)),
            other => other,
        })?;
        Ok(Postgres {
            conn: RefCell::new(client),
            session: Session {
                connector,
                statements: RefCell::new(HashMap::new()),
                last_used: std::cell::Cell::new(std::time::Instant::now()),
            },
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
pub(super) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => error.to_string(),
    }
}

/// Whether `error` means the connection is gone (or the server is going or not
/// yet there): the driver saw the stream close or fail, or the server said
/// "connection exception" (class 08) or "operator intervention" (shutdown,
/// `pg_terminate_backend`, starting up).
pub(super) fn is_disconnection(error: &postgres::Error) -> bool {
    use std::error::Error as _;
    let io_failure = error
        .source()
        .is_some_and(|source| source.is::<std::io::Error>());
    error.is_closed()
        || io_failure
        || error.code().is_some_and(|code| {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code)
        })
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> StoreError {
        if is_disconnection(&error) {
            return StoreError::Disconnected(describe(&error));
        }
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

impl<C: Reconnect, K: Borrow<Session>> Postgres<C, K> {
    fn statement(&self, sql: &'static str) -> Result<Statement> {
        let session: &Session = self.session.borrow();
        self.conn.borrow_mut().revive(session)?;
        if let Some(statement) = session.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.conn.borrow_mut().prepare(sql)?;
        session
            .statements
            .borrow_mut()
            .insert(sql, statement.clone());
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

/// The columns [`holder_from`] reads, in its order, of the holders table under
/// `$alias` (`""` or `"h."`), then `$more`.
macro_rules! holder_columns {
    ($alias:literal, $more:literal) => {
        concat!(
            $alias,
            "licence_number, ",
            $alias,
            "name, ",
            $alias,
            "sex, ",
            $alias,
            "nationality, ",
            $alias,
            "birth_date, ",
            $alias,
            "address, ",
            $alias,
            "file_number, ",
            $alias,
            "first_issue_date, ",
            $alias,
            "classes, ",
            $alias,
            "valid_from, ",
            $alias,
            "valid_to, ",
            $alias,
            "authority_code, ",
            $alias,
            "status, ",
            $alias,
            "points, ",
            $alias,
            "channel, ",
            $alias,
            "device_key",
            $more
        )
    };
}

/// A phone's holder. With `(device_key, id)` indexed (V6), the answer is the first
/// entry of one index range, whatever the statistics say.
const HOLDER_BY_DEVICE_KEY_SQL: &str =
    "SELECT id FROM holders WHERE device_key = $1 ORDER BY id LIMIT 1";
/// A holder's approved portrait: the first entry of one range of
/// `(holder_id, state, id)` read backwards (V6).
const APPROVED_PORTRAIT_SQL: &str = "SELECT id, decided_at, sha256, made_portrait FROM portraits WHERE holder_id = $1 AND state = 'approved' ORDER BY id DESC LIMIT 1";
/// [`StoreRead::refresh_contexts`]: the one-row reads of each phone's refresh in
/// one statement (the holder and portrait as the two statements above).
const REFRESH_CONTEXTS_SQL: &str = concat!(
    "SELECT k.ord, h.id, ",
    holder_columns!("h.", ", "),
    "p.id, p.decided_at, p.sha256, p.made_portrait, a.name, c.authority_code, c.serial, c.state, c.expires_at
     FROM unnest($1::bytea[]) WITH ORDINALITY AS k(device_key, ord)
     CROSS JOIN LATERAL (SELECT * FROM holders WHERE device_key = k.device_key ORDER BY id LIMIT 1) h
     LEFT JOIN LATERAL (SELECT id, decided_at, sha256, made_portrait FROM portraits
         WHERE holder_id = h.id AND state = 'approved' ORDER BY id DESC LIMIT 1) p ON true
     LEFT JOIN authorities a ON a.code = h.authority_code
     LEFT JOIN LATERAL (SELECT authority_code, serial, state, expires_at FROM credentials
         WHERE holder_id = h.id AND state != 'superseded' ORDER BY issued_at DESC LIMIT 1) c ON true"
);

/// Holder `id` from [`holder_columns`] at columns `first..first + 16` of `r`.
fn holder_from(r: &Row, first: usize, id: i64) -> Result<Holder> {
    let bad = |what: &str| StoreError::Corrupt(format!("holder {id}: stored {what} is invalid"));
    let at = |i: usize| first + i;
    let input = HolderInput {
        licence_number: get(r, at(0))?,
        name: get(r, at(1))?,
        sex: if get::<i16>(r, at(2))? == 2 {
            Sex::Female
        } else {
            Sex::Male
        },
        nationality: get(r, at(3))?,
        birth_date: Date(get(r, at(4))?),
        address: get(r, at(5))?,
        file_number: get(r, at(6))?,
        first_issue_date: Date(get(r, at(7))?),
        classes: ClassSet::from_bits(to_u64(get(r, at(8))?)).ok_or_else(|| bad("classes"))?,
        validity: Validity {
            from: Date(get(r, at(9))?),
            to: get::<Option<i64>>(r, at(10))?.map(Date),
        },
        authority_code: get(r, at(11))?,
        points: u32::try_from(get::<i64>(r, at(13))?).map_err(|_| bad("points"))?,
        channel: Channel::parse(&get::<String>(r, at(14))?).ok_or_else(|| bad("channel"))?,
        device_key: get::<Option<Vec<u8>>>(r, at(15))?
            .map(<[u8; 32]>::try_from)
            .transpose()
            .map_err(|_| bad("device key"))?,
    };
    let status = StatusSet::from_bits(to_u64(get(r, at(12))?)).ok_or_else(|| bad("status"))?;
    Ok(Holder { id, input, status })
}

/// An approved portrait from `id, decided_at, sha256, made_portrait` at columns
/// `first..first + 4` of `r`; `None` when its id is NULL (an outer join found none).
fn approved_portrait_from(r: &Row, first: usize) -> Result<Option<ApprovedPortrait>> {
    let Some(id) = get::<Option<i64>>(r, first)? else {
        return Ok(None);
    };
    Ok(Some(ApprovedPortrait {
        id,
        decided_at: to_u64(get::<Option<i64>>(r, first + 1)?.unwrap_or(0)),
        sha256: get(r, first + 2)?,
        made: get(r, first + 3)?,
    }))
}

/// A current credential from `authority_code, serial, state, expires_at` at
/// columns `first..first + 4` of `r`; `None` when its authority is NULL.
fn current_credential_from(r: &Row, first: usize) -> Result<Option<CurrentCredential>> {
    let Some(authority_code) = get::<Option<String>>(r, first)? else {
        return Ok(None);
    };
    Ok(Some(CurrentCredential {
        authority_code,
        serial: to_u64(get(r, first + 1)?),
        state: parsed(get(r, first + 2)?, CredentialState::parse)?,
        expires_at: to_u64(get(r, first + 3)?),
    }))
}

impl<C: Reconnect, K: Borrow<Session>> StoreRead for Postgres<C, K> {
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
        self.row(
            concat!(
                "SELECT ",
                holder_columns!("", ""),
                " FROM holders WHERE id = $1"
            ),
            &[&id],
        )?
        .map(|r| holder_from(&r, 0, id))
        .transpose()
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
        self.row(HOLDER_BY_DEVICE_KEY_SQL, &[&device_key.as_slice()])?
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
        self.row(APPROVED_PORTRAIT_SQL, &[&holder_id])?
            .map(|r| approved_portrait_from(&r, 0))
            .transpose()
            .map(Option::flatten)
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
        .map(|r| current_credential_from(&r, 0))
        .transpose()
        .map(Option::flatten)
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

    fn status_entries(
        &self,
        authority_code: &str,
        still_matters: StillMatters,
    ) -> Result<Vec<(u64, CredentialState)>> {
        self.rows(
            STATUS_ENTRIES_SQL,
            &[
                &authority_code,
                &to_i64(still_matters.expires_after),
                &to_i64(still_matters.issued_after),
            ],
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

    fn audit_times_since(
        &self,
        action: &str,
        subject: &str,
        since: u64,
        at_most: u64,
    ) -> Result<Vec<u64>> {
        self.rows(
            "SELECT at FROM (SELECT at FROM audit WHERE action = $1 AND subject = $2 AND at >= $3 ORDER BY at DESC LIMIT $4) latest ORDER BY at",
            &[&action, &subject, &to_i64(since), &to_i64(at_most)],
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

    /// One statement for the whole batch (see [`StoreRead::refresh_contexts`]).
    fn refresh_contexts(&self, device_keys: &[[u8; 32]]) -> Result<Vec<Option<RefreshContext>>> {
        let keys: Vec<&[u8]> = device_keys.iter().map(|key| key.as_slice()).collect();
        let rows = self.rows(REFRESH_CONTEXTS_SQL, &[&keys])?;
        let mut contexts: Vec<Option<RefreshContext>> = device_keys.iter().map(|_| None).collect();
        for r in &rows {
            let position = usize::try_from(get::<i64>(r, 0)? - 1)
                .ok()
                .filter(|position| *position < contexts.len())
                .ok_or_else(|| StoreError::Corrupt("refresh context out of range".into()))?;
            let holder = holder_from(r, 2, get(r, 1)?)?;
            contexts[position] = Some(RefreshContext {
                holder,
                portrait: approved_portrait_from(r, 18)?,
                authority_name: get(r, 22)?,
                current: current_credential_from(r, 23)?,
            });
        }
        Ok(contexts)
    }

    /// One statement for all subjects (see [`StoreRead::audit_times_since_each`]).
    fn audit_times_since_each(
        &self,
        action: &str,
        subjects: &[&str],
        since: u64,
        at_most: u64,
    ) -> Result<Vec<Vec<u64>>> {
        // One backward range of `audit_by_subject` per subject, stopped after
        // `at_most` entries.
        let rows = self.rows(
            "SELECT s.ord, t.at FROM unnest($2::text[]) WITH ORDINALITY AS s(subject, ord)
             CROSS JOIN LATERAL (SELECT at FROM audit WHERE action = $1 AND subject = s.subject AND at >= $3 ORDER BY at DESC LIMIT $4) t",
            &[&action, &subjects, &to_i64(since), &to_i64(at_most)],
        )?;
        let mut times: Vec<Vec<u64>> = subjects.iter().map(|_| Vec::new()).collect();
        for r in &rows {
            let position = usize::try_from(get::<i64>(r, 0)? - 1)
                .ok()
                .and_then(|position| times.get_mut(position))
                .ok_or_else(|| StoreError::Corrupt("audit subject out of range".into()))?;
            position.push(to_u64(get(r, 1)?));
        }
        for subject in &mut times {
            subject.sort_unstable();
        }
        Ok(times)
    }
}

impl Store for PostgresStore {
    type Tx<'a> = PostgresTx<'a>;

    fn begin(&mut self) -> Result<PostgresTx<'_>> {
        self.begin_holding(Hold::Exclusive)
    }

    fn begin_shared(&mut self) -> Result<PostgresTx<'_>> {
        self.begin_holding(Hold::Shared)
    }
}

impl PostgresStore {
    fn begin_holding(&mut self, hold: Hold) -> Result<PostgresTx<'_>> {
        let Postgres { conn, session } = self;
        // A connection lost since the last transaction is replaced here, before
        // anything of this one happens.
        conn.get_mut().revive(session)?;
        let mut tx = conn.get_mut().transaction()?;
        // The lock before the first read; `lock_timeout` bounds the wait (the
        // lock is the transaction's, released by its commit or rollback).
        let take = match hold {
            Hold::Exclusive => "pg_advisory_xact_lock",
            Hold::Shared => "pg_advisory_xact_lock_shared",
        };
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}; SELECT {take}({WRITE_LOCK})",
            BUSY_TIMEOUT.as_millis()
        ))?;
        Ok(Postgres {
            conn: RefCell::new(tx),
            session: TxSession {
                session: &*session,
                hold,
                audit_locked: std::cell::Cell::new(false),
            },
        })
    }
}

impl PostgresTx<'_> {
    /// Before a shared transaction's first audit entry: takes [`AUDIT_LOCK`] until
    /// its commit, so that transactions appending audit entries commit one after
    /// the other and entry ids increase in commit order. (An exclusive transaction
    /// runs alone: it needs no more.)
    fn lock_audit(&self) -> Result<()> {
        if self.session.hold == Hold::Shared && !self.session.audit_locked.get() {
            self.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
            self.session.audit_locked.set(true);
        }
        Ok(())
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
        self.lock_audit()?;
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

    /// Two statements for the batch (see [`StoreTx::remember_nonces`]).
    fn remember_nonces(
        &mut self,
        nonces: &[NonceUse<'_>],
        forget_before: u64,
    ) -> Result<Vec<bool>> {
        self.execute(
            "DELETE FROM refresh_nonces WHERE at < $1",
            &[&to_i64(forget_before)],
        )?;
        let keys: Vec<&[u8]> = nonces
            .iter()
            .map(|used| used.device_key.as_slice())
            .collect();
        let values: Vec<&[u8]> = nonces.iter().map(|used| used.nonce).collect();
        let at: Vec<i64> = nonces.iter().map(|used| to_i64(used.at)).collect();
        // ON CONFLICT DO NOTHING also skips a repeat within the statement: only the
        // first use of a pair is inserted, and returned.
        let inserted = self.rows(
            "INSERT INTO refresh_nonces (device_key, nonce, at)
             SELECT device_key, nonce, at FROM unnest($1::bytea[], $2::bytea[], $3::bigint[]) WITH ORDINALITY AS n(device_key, nonce, at, ord) ORDER BY ord
             ON CONFLICT DO NOTHING RETURNING device_key, nonce",
            &[&keys, &values, &at],
        )?;
        let mut new: HashSet<(Vec<u8>, Vec<u8>)> = inserted
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect::<Result<_>>()?;
        Ok(nonces
            .iter()
            .map(|used| new.remove(&(used.device_key.to_vec(), used.nonce.to_vec())))
            .collect())
    }

    fn lock_holders(&mut self, device_keys: &[[u8; 32]]) -> Result<()> {
        // In key order, so that two transactions locking overlapping sets wait for
        // each other instead of deadlocking (`unnest` hands out the arrays in order).
        let keys: BTreeSet<(i32, i32)> = device_keys.iter().map(phone_lock).collect();
        let (high, low): (Vec<i32>, Vec<i32>) = keys.into_iter().unzip();
        self.execute(
            "SELECT pg_advisory_xact_lock(high, low) FROM unnest($1::int4[], $2::int4[]) AS k(high, low)",
            &[&high, &low],
        )
        .map(drop)
    }

    /// One statement for the batch (see [`StoreTx::refresh_credentials`]).
    fn refresh_credentials(&mut self, refreshed: &[RefreshedCredential<'_>]) -> Result<()> {
        // An UPDATE … FROM applies one source row per target: keep the last.
        let mut last = HashMap::new();
        for (position, credential) in refreshed.iter().enumerate() {
            last.insert((credential.authority_code, credential.serial), position);
        }
        let kept: Vec<&RefreshedCredential<'_>> = refreshed
            .iter()
            .enumerate()
            .filter(|(position, credential)| {
                last.get(&(credential.authority_code, credential.serial)) == Some(position)
            })
            .map(|(_, credential)| credential)
            .collect();
        let codes: Vec<&str> = kept.iter().map(|c| c.authority_code).collect();
        let serials: Vec<i64> = kept.iter().map(|c| to_i64(c.serial)).collect();
        let kids: Vec<&str> = kept.iter().map(|c| c.kid).collect();
        let issued_at: Vec<i64> = kept.iter().map(|c| to_i64(c.issued_at)).collect();
        let expires_at: Vec<i64> = kept.iter().map(|c| to_i64(c.expires_at)).collect();
        let packages: Vec<&[u8]> = kept.iter().map(|c| c.package).collect();
        self.execute(
            "UPDATE credentials c SET kid = u.kid, issued_at = u.issued_at, expires_at = u.expires_at, package = u.package
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[]) AS u(authority_code, serial, kid, issued_at, expires_at, package)
             WHERE c.authority_code = u.authority_code AND c.serial = u.serial",
            &[&codes, &serials, &kids, &issued_at, &expires_at, &packages],
        )
        .map(drop)
    }

    /// One statement for the batch, ids in its order (see [`StoreTx::append_audits`]).
    fn append_audits(&mut self, entries: &[AuditEntry<'_>]) -> Result<()> {
        self.lock_audit()?;
        let at: Vec<i64> = entries.iter().map(|e| to_i64(e.at)).collect();
        let operators: Vec<&str> = entries.iter().map(|e| e.operator).collect();
        let actions: Vec<&str> = entries.iter().map(|e| e.action).collect();
        let subjects: Vec<&str> = entries.iter().map(|e| e.subject).collect();
        let old: Vec<Option<&str>> = entries.iter().map(|e| e.old).collect();
        let new: Vec<Option<&str>> = entries.iter().map(|e| e.new).collect();
        self.execute(
            "INSERT INTO audit (at, operator, action, subject, old, new)
             SELECT at, operator, action, subject, old, new
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS e(at, operator, action, subject, old, new, ord)
             ORDER BY ord",
            &[&at, &operators, &actions, &subjects, &old, &new],
        )
        .map(drop)
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

    use std::time::Duration;

    use super::*;
    use crate::store::contract;

    /// Opens a fresh database on the test server as often as a test needs; `None`
    /// without PostgreSQL outside CI (see [`test_server`]).
    fn shared() -> Option<impl Fn() -> PostgresStore + Send + Sync + 'static> {
        let url = test_server::fresh_database()?;
        Some(move || PostgresStore::open(&url).unwrap())
    }

    const AT: u64 = 1_780_279_200;

    /// An audit entry of `subject`.
    fn entry(subject: &str) -> AuditEntry<'_> {
        AuditEntry {
            at: AT,
            operator: "node",
            action: "credential.refresh",
            subject,
            old: None,
            new: None,
        }
    }

    /// A transaction on a store of its own, begun on another thread: what it
    /// returns, with how long `begin` waited.
    fn on_another_thread<T: Send + 'static>(
        open: &std::sync::Arc<impl Fn() -> PostgresStore + Send + Sync + 'static>,
        shared_hold: bool,
        work: impl FnOnce(&mut PostgresTx<'_>) -> T + Send + 'static,
    ) -> std::thread::JoinHandle<(Duration, T)> {
        let open = std::sync::Arc::clone(open);
        std::thread::spawn(move || {
            let mut store = open();
            let started = std::time::Instant::now();
            let mut tx = if shared_hold {
                store.begin_shared().unwrap()
            } else {
                store.begin().unwrap()
            };
            let waited = started.elapsed();
            let done = work(&mut tx);
            tx.commit().unwrap();
            (waited, done)
        })
    }

    /// While `tx` is open with a nonce of `device_key`, a writer begun on another
    /// thread (shared or not) waits for `tx`'s commit, then reads that nonce.
    fn the_other_waits_and_reads(
        open: &std::sync::Arc<impl Fn() -> PostgresStore + Send + Sync + 'static>,
        mut tx: PostgresTx<'_>,
        other_shared: bool,
        device_key: [u8; 32],
    ) {
        assert!(tx.remember_nonce(&device_key, b"open", AT, 0).unwrap());
        let other = on_another_thread(open, other_shared, move |tx| {
            tx.remember_nonce(&device_key, b"open", AT, 0).unwrap()
        });
        std::thread::sleep(Duration::from_millis(300));
        tx.commit().unwrap();
        let (waited, fresh) = other.join().unwrap();
        assert!(
            waited >= Duration::from_millis(200),
            "the other writer waited ({waited:?})"
        );
        assert!(!fresh, "and read the nonce of the one it waited for");
    }

    /// Refresh batches of several nodes run at once; an office change waits for
    /// the batch in flight and then reads it, and a batch waits for an office
    /// change in flight.
    #[test]
    fn shared_writers_run_together_and_never_beside_an_exclusive_one() {
        let Some(open) = shared() else { return };
        let open = std::sync::Arc::new(open);
        let mut store = open();
        let batch = store.begin_shared().unwrap();
        let beside = on_another_thread(&open, true, |tx| {
            tx.remember_nonce(&[2; 32], b"beside", AT, 0).unwrap()
        });
        let (_, beside_committed) = beside.join().unwrap();
        assert!(
            beside_committed,
            "a second shared writer committed while the first was open"
        );
        the_other_waits_and_reads(&open, batch, false, [1; 32]);
        let office = store.begin().unwrap();
        the_other_waits_and_reads(&open, office, true, [3; 32]);
    }

    /// Two shared writers locking one holder take turns, the second reading what
    /// the first committed; shared writers of different holders append audit
    /// entries one commit after the other, so entry ids follow commit order.
    #[test]
    fn shared_writers_of_one_holder_take_turns_and_audit_ids_follow_commits() {
        let Some(open) = shared() else { return };
        let open = std::sync::Arc::new(open);
        let mut store = open();
        let mut tx = store.begin().unwrap();
        tx.insert_authority("川J", "四川省遂宁市公安局交通警察支队")
            .unwrap();
        for (n, device_key) in [(1, [7; 32]), (2, [8; 32])] {
            let input = HolderInput {
                device_key: Some(device_key),
                ..contract::input(n)
            };
            tx.insert_holder(&input, StatusSet::NORMAL, AT).unwrap();
        }
        tx.commit().unwrap();

        let mut first = store.begin_shared().unwrap();
        first.lock_holders(&[[7; 32]]).unwrap();
        first.append_audit(&entry("first")).unwrap();
        let same_holder = on_another_thread(&open, true, |tx| {
            let started = std::time::Instant::now();
            tx.lock_holders(&[[8; 32], [7; 32]]).unwrap();
            let waited = started.elapsed();
            let seen = tx
                .audit_times_since("credential.refresh", "first", AT, u64::MAX)
                .unwrap()
                .len();
            tx.append_audit(&entry("second")).unwrap();
            (waited, seen)
        });
        std::thread::sleep(Duration::from_millis(300));
        first.commit().unwrap();
        let (_, (waited, seen)) = same_holder.join().unwrap();
        assert!(
            waited >= Duration::from_millis(200),
            "the second waited for the holder ({waited:?})"
        );
        assert_eq!(seen, 1, "and read the first's entry");

        let mut third = store.begin_shared().unwrap();
        third.lock_holders(&[[7; 32]]).unwrap();
        third.append_audit(&entry("third")).unwrap();
        let fourth = on_another_thread(&open, true, |tx| {
            tx.lock_holders(&[[8; 32]]).unwrap();
            tx.append_audit(&entry("fourth")).unwrap();
        });
        std::thread::sleep(Duration::from_millis(300));
        let fourth_done = fourth.is_finished();
        third.commit().unwrap();
        fourth.join().unwrap();
        assert!(
            !fourth_done,
            "another holder's writer waited to append its audit entry"
        );
        let subjects: Vec<String> = store
            .audit_recent(4)
            .unwrap()
            .into_iter()
            .map(|entry| entry.subject)
            .collect();
        assert_eq!(subjects, ["first", "second", "third", "fourth"]);
    }

    /// Batches lock their phones in one order whatever the order of their
    /// requests: a batch waiting for a phone holds none of the phones after it, so
    /// two batches wanting the same phones in opposite orders take turns instead of
    /// deadlocking (PostgreSQL would fail one of them after `deadlock_timeout`).
    #[test]
    fn batches_wanting_phones_in_opposite_orders_take_turns() {
        let Some(open) = shared() else { return };
        let open = std::sync::Arc::new(open);
        let mut store = open();
        let mut first = store.begin_shared().unwrap();
        first.lock_holders(&[[7; 32]]).unwrap();
        let second = on_another_thread(&open, true, |tx| tx.lock_holders(&[[8; 32], [7; 32]]));
        std::thread::sleep(Duration::from_millis(300));
        let second_done = second.is_finished();
        let first_locked = first.lock_holders(&[[8; 32]]);
        first.commit().unwrap();
        let (_, second_locked) = second.join().unwrap();
        assert!(!second_done, "the second batch waited for phone 7");
        assert!(first_locked.is_ok(), "the first batch was not deadlocked");
        assert!(second_locked.is_ok(), "the second batch was not deadlocked");
    }

    /// A phone's lock is of the two-key kind, which PostgreSQL keeps apart from the
    /// one-key locks of the registry itself: a device key that starts with the
    /// bytes of the write lock or of the audit lock (a wallet chooses its key) does
    /// not wait for the batch beside it, which holds the one shared and the other.
    #[test]
    fn no_device_key_names_the_registry_s_own_locks() {
        let Some(open) = shared() else { return };
        let mut beside_store = open();
        let beside = beside_store.begin_shared().unwrap();
        beside.lock_audit().unwrap();
        let mut store = open();
        let mut tx = store.begin_shared().unwrap();
        tx.execute("SET LOCAL lock_timeout = 300", &[]).unwrap();
        for registry_lock in [WRITE_LOCK, AUDIT_LOCK] {
            let mut device_key = [0; 32];
            device_key[..8].copy_from_slice(&registry_lock.to_be_bytes());
            assert!(
                tx.lock_holders(&[device_key]).is_ok(),
                "the phone named like lock {registry_lock:#x} did not wait"
            );
        }
        tx.commit().unwrap();
        beside.commit().unwrap();
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
    fn contract_batch_methods_answer_as_the_one_row_methods() {
        if let Some(open) = shared() {
            contract::batch_methods_answer_as_the_one_row_methods(open);
        }
    }

    #[test]
    fn contract_audit_is_in_commit_order() {
        if let Some(open) = shared() {
            contract::audit_is_in_commit_order(open);
        }
    }

    #[test]
    fn contract_status_entries_are_those_that_still_matter() {
        if let Some(open) = shared() {
            contract::status_entries_are_those_that_still_matter(open);
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
        let latest = embedded::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap();
        assert!(matches!(
            PostgresStore::open(&url),
            Err(StoreError::Schema { expected, .. }) if expected == latest
        ));
    }

    /// The plan PostgreSQL would run `statement` with, one line per plan line.
    fn plan_of(conn: &mut Client, statement: &str, params: Params<'_>) -> String {
        let rows = conn.query(&format!("EXPLAIN {statement}"), params).unwrap();
        let lines: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        lines.join("\n")
    }

    #[test]
    fn the_status_query_reads_the_partial_index_not_the_table() {
        let Some(open) = shared() else { return };
        let mut store = open();
        // Too few rows for the planner to prefer an index on its own: forbid the
        // sequential scan, so the plan shows whether the index can answer the query.
        let conn = store.conn.get_mut();
        conn.batch_execute("SET enable_seqscan = off").unwrap();
        let plan = plan_of(conn, STATUS_ENTRIES_SQL, &[&"川J", &5_i64, &3_i64]);
        // Without the partial index the plan reads the primary key (or the table).
        assert!(
            plan.contains("credentials_not_valid") && !plan.contains("credentials_pkey"),
            "{plan}"
        );
    }

    /// A phone's holder and its approved portrait are read as the first entry of
    /// one index range: no walk of a primary key, no sort. A walk of `holders_pkey`
    /// filtering on the key (what a generic plan chose on the bench once the
    /// statistics suggested many rows per key) reads the table on a national
    /// registry (V6).
    #[test]
    fn a_phone_s_holder_and_portrait_are_one_index_range_in_order() {
        let Some(open) = shared() else { return };
        let mut store = open();
        let conn = store.conn.get_mut();
        // The generic plans prepared statements end up with; tables too small for
        // the planner to prefer an index on its own, so forbid the sequential scan.
        conn.batch_execute(&format!(
            "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan;
             PREPARE holder_of(bytea) AS {HOLDER_BY_DEVICE_KEY_SQL};
             PREPARE portrait_of(bigint) AS {APPROVED_PORTRAIT_SQL};
             PREPARE contexts(bytea[]) AS {REFRESH_CONTEXTS_SQL};"
        ))
        .unwrap();
        let mut plan = |execute: &str| plan_of(conn, &format!("EXECUTE {execute}"), &[]);
        for (execute, index) in [
            ("holder_of('\\x00')", "holders_by_device_key_then_id"),
            ("portrait_of(1)", "portraits_by_holder_then_id"),
        ] {
            let plan = plan(execute);
            assert!(
                plan.contains(index) && !plan.contains("_pkey") && !plan.contains("Sort"),
                "{plan}"
            );
        }
        // The batch read sorts only the holder's current credentials by time.
        let plan = plan("contexts(ARRAY['\\x00'::bytea])");
        assert!(
            plan.contains("holders_by_device_key_then_id")
                && plan.contains("portraits_by_holder_then_id")
                && !plan.contains("holders_pkey")
                && !plan.contains("portraits_pkey")
                && plan.matches("Sort Key").count() == 1,
            "{plan}"
        );
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
    fn a_lost_connection_fails_the_transaction_in_flight_and_the_next_one_reconnects() {
        let Some(url) = test_server::fresh_database() else {
            return;
        };
        let mut store = PostgresStore::open(&url).unwrap();
        let mut admin = PostgresStore::open(&url).unwrap();
        let backend = |store: &mut PostgresStore| -> i32 {
            let row = store
                .conn
                .get_mut()
                .query_one("SELECT pg_backend_pid()", &[]);
            row.unwrap().get(0)
        };
        // As an operator (or a server restart) would: the session ends, and the
        // call returns once it has.
        let terminate = |admin: &mut PostgresStore, pid: i32| {
            let sql = "SELECT pg_terminate_backend($1, 5000)";
            let ended: bool = admin.conn.get_mut().query_one(sql, &[&pid]).unwrap().get(0);
            assert!(ended);
        };
        let first = backend(&mut store);
        let mut tx = store.begin().unwrap();
        tx.insert_authority("川J", "x").unwrap();
        terminate(&mut admin, first);
        let lost = tx.commit().unwrap_err();
        assert!(matches!(lost, StoreError::Disconnected(_)), "{lost:?}");
        assert_eq!(lost.code(), "database_unreachable");
        assert!(!admin.authority_exists("川J").unwrap(), "nothing committed");
        // The next transaction gets a new connection and commits.
        let mut tx = store.begin().unwrap();
        tx.insert_authority("川J", "x").unwrap();
        tx.commit().unwrap();
        assert!(admin.authority_exists("川J").unwrap());
        let second = backend(&mut store);
        assert_ne!(first, second);
        // Lost while idle: after a pause, a read outside any transaction
        // reconnects too.
        terminate(&mut admin, second);
        std::thread::sleep(PROBE_AFTER_IDLE * 2);
        assert!(store.authority_exists("川J").unwrap());
        assert_ne!(backend(&mut store), second);
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
