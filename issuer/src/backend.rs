//! Which store a registry opens: the one place that names a backend, so the use
//! cases and the service stay generic over [`crate::store::Store`].
//!
//! - SQLite, the embedded default: a registry folder (`--registry DIR`) with
//!   `registry.sqlite` and `keys/`;
//! - PostgreSQL (`--database postgres://…` / `ISSUER_DATABASE`): the records in a
//!   database shared by every clerk and service node; the encrypted key files stay
//!   files, in the `keys/` folder of `--keys DIR` / `ISSUER_KEYS` (default: the
//!   registry folder), never in the database.

use std::path::Path;

use crate::error::IssuerError;
use crate::keyfile::KdfParams;
use crate::store::postgres::{self, PostgresStore};
use crate::store::sqlite::SqliteStore;
use crate::store::StoreError;
use crate::usecase::Registry;

/// The embedded default: a registry folder with `registry.sqlite` and `keys/`.
pub type DefaultStore = SqliteStore;

/// Opens (creating if needed) the SQLite registry in `dir`, whose `keys` folder
/// holds the encrypted key files.
pub fn open(
    dir: &Path,
    operator: &str,
    kdf: KdfParams,
) -> Result<Registry<DefaultStore>, IssuerError> {
    let store = SqliteStore::open(dir)?;
    Ok(Registry::with_store(store, dir, operator, kdf))
}

/// Connects to the PostgreSQL registry at `url` (migrating its schema to this
/// issuer's version); `keys_dir/keys` holds the encrypted key files (created 0700
/// if missing).
pub fn open_postgres(
    url: &str,
    keys_dir: &Path,
    operator: &str,
    kdf: KdfParams,
) -> Result<Registry<PostgresStore>, IssuerError> {
    if !postgres::is_connection_url(url) {
        return Err(IssuerError::invalid(
            "database",
            format!(
                "{} is not a PostgreSQL URL: expected postgres://USER@HOST/DATABASE",
                postgres::redact(url)
            ),
        ));
    }
    let keys = keys_dir.join("keys");
    atomic_file::create_dir_all(&keys, 0o700).map_err(IssuerError::io(&keys))?;
    let store = PostgresStore::open(url)?;
    Ok(Registry::with_store(store, keys_dir, operator, kdf))
}

/// Copies the SQLite registry in `from` into the empty PostgreSQL database at
/// `to`, in one transaction (see [`PostgresStore::import_sqlite`]).
pub fn migrate(from: &Path, to: &str) -> Result<postgres::Imported, IssuerError> {
    let database = from.join(crate::store::sqlite::DATABASE_FILE);
    if !database.exists() {
        return Err(IssuerError::Store(StoreError::Backend(format!(
            "{}: no SQLite registry here (give the registry folder with --from)",
            database.display()
        ))));
    }
    // Opening checks the SQLite schema version before anything is read.
    drop(SqliteStore::open(from)?);
    if !postgres::is_connection_url(to) {
        return Err(IssuerError::invalid(
            "to",
            format!("{} is not a PostgreSQL URL", postgres::redact(to)),
        ));
    }
    let mut store = PostgresStore::open(to)?;
    Ok(store.import_sqlite(&database)?)
}
