//! What the fuzz targets share: the vectors' trust bundle and status list, built once.

use std::sync::OnceLock;

use credential::trust_bundle::TrustBundle;
use credential::StatusLists;
use vectorgen::fixture;

/// The verifier's context of spec/vectors: the trust bundle and the 川J status list.
pub fn context() -> &'static (TrustBundle, StatusLists) {
    static CONTEXT: OnceLock<(TrustBundle, StatusLists)> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let mut lists = StatusLists::default();
        lists.insert(fixture::status_list());
        (fixture::trust_bundle(), lists)
    })
}
