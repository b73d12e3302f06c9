//! Errors of the issuer, each with a stable code and a hint at what to do.

use std::path::PathBuf;

/// Everything an issuer command can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// The database failed.
    #[error("registry database: {0}")]
    Database(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A key file problem (wrong passphrase, malformed, exists).
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The registry has no such thing.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind.
        what: &'static str,
        /// Identifier.
        id: String,
    },
    /// A business rule refuses the action.
    #[error("refused: {0}")]
    Refused(String),
    /// Input that breaks the format's rules.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Field.
        field: String,
        /// Why.
        reason: String,
    },
    /// The credential format refused to build.
    #[error("cannot sign: {0}")]
    Build(#[from] credential::BuildError),
    /// The registry failed its integrity check.
    #[error("integrity check failed: {0}")]
    Integrity(String),
}

impl IssuerError {
    /// Exit code: 1 for a refusal by a business rule, 2 for usage, input or I/O problems.
    pub fn exit_code(&self) -> u8 {
        match self {
            IssuerError::Refused(_) | IssuerError::NotFound { .. } => 1,
            IssuerError::Key(crate::keys::KeyError::WrongPassphrase) => 1,
            _ => 2,
        }
    }

    /// Stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            IssuerError::Database(_) => "database",
            IssuerError::Io { .. } => "io",
            IssuerError::Key(crate::keys::KeyError::WrongPassphrase) => "wrong_passphrase",
            IssuerError::Key(_) => "key_file",
            IssuerError::NotFound { .. } => "not_found",
            IssuerError::Refused(_) => "refused",
            IssuerError::Invalid { .. } => "invalid_input",
            IssuerError::Build(_) => "invalid_licence",
            IssuerError::Integrity(_) => "integrity",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> IssuerError {
        let path = path.into();
        move |source| IssuerError::Io { path, source }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> IssuerError {
        IssuerError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}
