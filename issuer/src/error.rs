//! Errors of the issuer, each with a stable code and a hint at what to do.

use std::path::PathBuf;

use crate::refusal::Refusal;
use crate::store::StoreError;

/// Everything an issuer command can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// The registry's store failed (busy past the timeout, damaged, unreachable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A key file problem (wrong passphrase, malformed, exists, readable by others).
    #[error(transparent)]
    Key(#[from] crate::keyfile::KeyError),
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
    Refused(Refusal),
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

impl From<Refusal> for IssuerError {
    fn from(refusal: Refusal) -> IssuerError {
        IssuerError::Refused(refusal)
    }
}

impl IssuerError {
    /// Exit code: 1 for a refusal by a business rule, 2 for usage, input or I/O problems.
    pub fn exit_code(&self) -> u8 {
        match self {
            IssuerError::Refused(_) | IssuerError::NotFound { .. } => 1,
            IssuerError::Key(crate::keyfile::KeyError::WrongPassphrase) => 1,
            _ => 2,
        }
    }

    /// Stable code for JSON output: a refusal's own code, else the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            IssuerError::Store(error) => error.code(),
            IssuerError::Io { .. } => "io",
            IssuerError::Key(crate::keyfile::KeyError::WrongPassphrase) => "wrong_passphrase",
            IssuerError::Key(crate::keyfile::KeyError::Exposed { .. }) => "key_file_exposed",
            IssuerError::Key(_) => "key_file",
            IssuerError::NotFound { .. } => "not_found",
            IssuerError::Refused(refusal) => refusal.code(),
            IssuerError::Invalid { .. } => "invalid_input",
            IssuerError::Build(_) => "invalid_licence",
            IssuerError::Integrity(_) => "integrity",
        }
    }

    /// The message in Chinese: refusals and the common failures are written out; for
    /// the rest the Chinese lead-in carries the English detail.
    pub fn chinese(&self) -> String {
        match self {
            IssuerError::Refused(refusal) => refusal.chinese(),
            IssuerError::Store(StoreError::Busy { waited }) => format!(
                "登记库忙（其他窗口或更新服务正在写入），已等待 {} 秒：请稍后重试",
                waited.as_secs()
            ),
            IssuerError::Store(StoreError::Disconnected(detail)) => format!(
                "无法连接登记库数据库（服务器重启、会话被终止或网络中断）：请重试，下一次操作会重新连接（{detail}）"
            ),
            IssuerError::Store(StoreError::Tls(refusal)) => {
                format!("登记库数据库 {}：{}", refusal.0, refusal.1.chinese())
            }
            IssuerError::Store(other) => format!("登记库错误：{other}"),
            IssuerError::Io { path, source } => {
                format!("文件读写失败 {}：{source}", path.display())
            }
            IssuerError::Key(crate::keyfile::KeyError::WrongPassphrase) => {
                "口令错误：无法用它解密密钥文件（如确认口令无误，则文件已被改动：请从备份恢复）"
                    .into()
            }
            IssuerError::Key(crate::keyfile::KeyError::Exposed { path, .. }) => format!(
                "密钥文件 {} 可被其他用户读取：请运行 `chmod 600 {}` 并查明是谁复制过它",
                path.display(),
                path.display()
            ),
            IssuerError::Key(other) => format!("密钥文件问题：{other}"),
            IssuerError::NotFound { what, id } => format!("未找到 {what} {id}"),
            IssuerError::Invalid { field, reason } => format!("输入无效（{field}）：{reason}"),
            IssuerError::Build(e) => format!("无法签发：{e}"),
            IssuerError::Integrity(e) => format!("登记库完整性检查未通过：{e}"),
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
