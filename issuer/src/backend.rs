//! Which store a registry opens: the one place that names a backend, so the use
//! cases and the service stay generic over [`crate::store::Store`].

use std::path::Path;

use crate::error::IssuerError;
use crate::keyfile::KdfParams;
use crate::store::sqlite::SqliteStore;
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
