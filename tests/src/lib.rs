//! Cross-crate end-to-end tests live in `tests/`; this crate holds only what they share.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The binary `name` (`issuer`, `wallet`, `verifier`) of this build. Another
/// package's binary has no `CARGO_BIN_EXE_` variable in this crate's tests; `cargo
/// test --workspace` builds every package's binaries before running tests, in the
/// profile directory above the test's `deps/` directory.
///
/// # Panics
/// If the binary is missing, with the command that builds it (tests only).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let binary = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p issuer -p wallet-core -p verifier --bins` (or `cargo test --workspace`) first",
        binary.display()
    );
    binary
}
