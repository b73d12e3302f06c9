//! Every size, depth and count bound a decoder enforces, in one place (spec §2.2).
//!
//! A verifier reads attacker-chosen bytes; each bound here keeps time and memory
//! proportional to a small constant. Tests sit at each limit and one past it.

/// Longest QR text accepted (characters). A version-40 QR holds 4296 alphanumerics.
pub const MAX_QR_TEXT_CHARS: usize = 4096;
/// Largest presentation (decoded bytes).
pub const MAX_PRESENTATION_BYTES: usize = 3072;
/// Largest CBOR document accepted for credentials and refresh messages.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Largest trust bundle file.
pub const MAX_TRUST_BUNDLE_BYTES: usize = 1024 * 1024;
/// Largest status list file (compressed, as signed).
pub const MAX_STATUS_LIST_BYTES: usize = 8 * 1024 * 1024;
/// Most serials a status list may cover (2 bits each: 32 MiB decompressed).
pub const MAX_STATUS_LIST_ENTRIES: u64 = 1 << 27;
/// Deepest CBOR nesting (arrays, maps, tags) accepted.
pub const MAX_DEPTH: usize = 8;
/// Most CBOR data items in one credential or presentation.
pub const MAX_ITEMS: usize = 2048;
/// Most CBOR data items in a trust bundle.
pub const MAX_BUNDLE_ITEMS: usize = 65536;
/// Longest text field in a licence record (bytes of UTF-8).
pub const MAX_TEXT_BYTES: usize = 256;
/// Most authorities in one trust bundle.
pub const MAX_BUNDLE_ENTRIES: usize = 4096;

/// Limits applied by one strict CBOR decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CborLimits {
    /// Largest input in bytes.
    pub max_bytes: usize,
    /// Deepest nesting.
    pub max_depth: usize,
    /// Most data items.
    pub max_items: usize,
}

impl CborLimits {
    /// Limits for credentials, presentations and protocol messages.
    pub const DOCUMENT: CborLimits = CborLimits {
        max_bytes: MAX_DOCUMENT_BYTES,
        max_depth: MAX_DEPTH,
        max_items: MAX_ITEMS,
    };
    /// Limits for trust bundles.
    pub const TRUST_BUNDLE: CborLimits = CborLimits {
        max_bytes: MAX_TRUST_BUNDLE_BYTES,
        max_depth: MAX_DEPTH,
        max_items: MAX_BUNDLE_ITEMS,
    };
    /// Limits for status list files.
    pub const STATUS_LIST: CborLimits = CborLimits {
        max_bytes: MAX_STATUS_LIST_BYTES,
        max_depth: MAX_DEPTH,
        max_items: MAX_ITEMS,
    };
}
