//! Portraits: adding one (automatic checks, then approved at once or queued), the
//! review queue with due dates, a reviewer's decision (an approved replacement
//! re-issues the credential in the same transaction), exporting a queued
//! portrait so the reviewer sees what they approve, and exporting the portrait made
//! for the code.
//!
//! The credentials sign the digest of the portrait the issuer *makes*
//! ([`crate::portrait_code::make_portrait`] with [`STANDARD`]) from the approved
//! photo, never of the file as submitted (format §17.3, security T13). The made
//! bytes are made once, in the transaction that approves the photo (at once for a
//! retained one, at the reviewer's approval otherwise), and stored beside it, so
//! every later issuance and refresh signs the same bytes. A photo the maker refuses
//! is refused when it is added ([`Refusal::PortraitNotMakeable`]), not at issuance.

use serde::Serialize;
use serde_json::json;

use super::issuance::{sign_new_serial_in, SignRequest};
use super::{audit, holder, Keyring, Registry};
use crate::error::IssuerError;
use crate::model::{Issued, NewPortrait, PortraitRecord, PortraitSource, PortraitState, DAY};
use crate::portrait_code::{make_portrait, STANDARD};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

/// A portrait may be replaced at most once in this long.
const REPLACEMENT_INTERVAL_S: u64 = 183 * DAY;

/// What adding a portrait did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortraitAdded {
    /// Portrait id.
    #[serde(rename = "portrait")]
    pub id: i64,
    /// Approved (retained and passing), pending review, or rejected.
    pub state: PortraitState,
    /// The automatic checks that failed, as `code: detail`.
    pub failures: Vec<String>,
}

/// One portrait in the review queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueuedPortrait {
    /// Portrait id.
    pub portrait: i64,
    /// Holder id.
    pub holder: i64,
    /// Holder name.
    pub name: String,
    /// Where it came from.
    pub source: PortraitSource,
    /// Submission time.
    pub submitted_at: u64,
    /// Hours waiting.
    pub age_h: u64,
    /// When the decision is due.
    pub due_at: u64,
    /// Whether the decision is late.
    pub overdue: bool,
}

/// A reviewer's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewDecided {
    /// Portrait id.
    pub portrait: i64,
    /// The new credential, if an approved replacement re-issued one.
    pub reissued: Option<Issued>,
}

impl<S: Store> Registry<S> {
    /// Adds a portrait: automatic checks, then approved at once (retained, passing)
    /// or queued for review (camera, album). Failing automatic checks reject it; so
    /// does the six-month replacement rule, at once rather than at approval.
    pub fn portrait_add(
        &mut self,
        holder_id: i64,
        source: PortraitSource,
        bytes: &[u8],
        now: u64,
    ) -> Result<PortraitAdded, IssuerError> {
        let mut tx = self.store.begin()?;
        holder(&tx, holder_id)?;
        check_replacement_interval(&tx, holder_id, now)?;
        let added = insert_portrait(&mut tx, &self.operator, holder_id, source, bytes, now)?;
        tx.commit()?;
        Ok(added)
    }

    /// The review queue: pending portraits with their age and whether the decision is overdue.
    pub fn review_list(&self, now: u64) -> Result<Vec<QueuedPortrait>, IssuerError> {
        Ok(self
            .store
            .pending_portraits()?
            .into_iter()
            .map(|p| {
                let due_at = review_due(p.submitted_at);
                QueuedPortrait {
                    portrait: p.id,
                    holder: p.holder_id,
                    name: p.holder_name,
                    source: p.source,
                    submitted_at: p.submitted_at,
                    age_h: now.saturating_sub(p.submitted_at) / 3600,
                    due_at,
                    overdue: now > due_at,
                }
            })
            .collect())
    }

    /// The holder's newest pending portrait (so a reviewer can name the holder, not
    /// an id read off a list).
    pub fn pending_portrait_of(&self, holder_id: i64) -> Result<i64, IssuerError> {
        self.store
            .pending_portraits()?
            .into_iter()
            .filter(|p| p.holder_id == holder_id)
            .max_by_key(|p| (p.submitted_at, p.id))
            .map(|p| p.id)
            .ok_or(IssuerError::NotFound {
                what: "pending portrait of holder",
                id: holder_id.to_string(),
            })
    }

    /// A portrait with its image (for the reviewer to look at before deciding).
    pub fn portrait(&self, portrait_id: i64) -> Result<PortraitRecord, IssuerError> {
        self.store
            .portrait(portrait_id)?
            .ok_or(IssuerError::NotFound {
                what: "portrait",
                id: portrait_id.to_string(),
            })
    }

    /// Approves or rejects a pending portrait. An approved replacement re-issues the
    /// holder's credential (the portrait digest is signed data) in the same transaction.
    pub fn review_decide(
        &mut self,
        portrait_id: i64,
        approve: bool,
        reason: Option<&str>,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<ReviewDecided, IssuerError> {
        if !approve && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(IssuerError::invalid(
                "reason",
                "a rejection needs a reason the holder can act on (--reason)",
            ));
        }
        let mut tx = self.store.begin()?;
        let portrait = tx.portrait(portrait_id)?.ok_or(IssuerError::NotFound {
            what: "portrait",
            id: portrait_id.to_string(),
        })?;
        if portrait.state != PortraitState::Pending {
            return Err(Refusal::PortraitNotPending {
                id: portrait_id,
                state: portrait.state.name(),
            }
            .into());
        }
        let holder_id = portrait.holder_id;
        if approve {
            check_replacement_interval(&tx, holder_id, now)?;
            let made = made_for_code(&portrait.bytes)?;
            tx.replace_approved_portraits(holder_id)?;
            tx.set_made_portrait(portrait_id, &made)?;
        }
        let decision = if approve {
            PortraitState::Approved
        } else {
            PortraitState::Rejected
        };
        tx.decide_portrait(portrait_id, decision, now, &self.operator, reason)?;
        audit(
            &mut tx,
            &self.operator,
            now,
            if approve {
                "portrait.approve"
            } else {
                "portrait.reject"
            },
            &portrait_id.to_string(),
            Some(json!({"state": "pending"})),
            Some(json!({"holder": holder_id, "reason": reason})),
        )?;
        let reissued = if approve && tx.current_credential(holder_id)?.is_some() {
            Some(sign_new_serial_in(
                &mut tx,
                &self.operator,
                &self.dir,
                SignRequest::new(holder_id, "portrait replaced", now, lifetime_s),
                keyring,
            )?)
        } else {
            None
        };
        tx.commit()?;
        Ok(ReviewDecided {
            portrait: portrait_id,
            reissued,
        })
    }
}

impl<S: Store> Registry<S> {
    /// The portrait made for the code from the holder's approved photo: the bytes
    /// the holder's credentials sign and their package carries (`issuer portrait
    /// export`). For a portrait approved before the issuer made portraits, the bytes
    /// its next issuance will store (made the same way: the maker is deterministic),
    /// with `stored: false`.
    pub fn made_portrait(&self, holder_id: i64) -> Result<MadePortrait, IssuerError> {
        holder(&self.store, holder_id)?;
        let approved = self
            .store
            .approved_portrait(holder_id)?
            .ok_or(Refusal::NoApprovedPortrait(holder_id))?;
        let (bytes, stored) = match approved.made {
            Some(made) => (made, true),
            None => (made_for_code(&self.portrait(approved.id)?.bytes)?, false),
        };
        Ok(MadePortrait {
            portrait: approved.id,
            holder: holder_id,
            digest: credential::licence::portrait_digest(&bytes),
            bytes,
            stored,
        })
    }
}

/// The portrait made for the code, for export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadePortrait {
    /// The approved portrait it was made from.
    pub portrait: i64,
    /// Holder id.
    pub holder: i64,
    /// The made bytes (JPEG).
    pub bytes: Vec<u8>,
    /// Their digest as credentials sign it.
    pub digest: [u8; credential::licence::PORTRAIT_DIGEST_LEN],
    /// Whether the registry holds them already (`false`: approved before the issuer
    /// made portraits; stored at the holder's next issuance).
    pub stored: bool,
}

/// The portrait for the code made from `photo`, or the refusal naming why not.
pub(super) fn made_for_code(photo: &[u8]) -> Result<Vec<u8>, IssuerError> {
    make_portrait(photo, &STANDARD).map_err(|e| Refusal::PortraitNotMakeable(e).into())
}

/// A portrait may be replaced at most once every six months.
fn check_replacement_interval(
    db: &impl StoreRead,
    holder_id: i64,
    now: u64,
) -> Result<(), IssuerError> {
    if let Some(portrait) = db.approved_portrait(holder_id)? {
        let age = now.saturating_sub(portrait.decided_at);
        if age < REPLACEMENT_INTERVAL_S {
            return Err(Refusal::PortraitReplacedTooSoon {
                holder: holder_id,
                days: age / DAY,
            }
            .into());
        }
    }
    Ok(())
}

/// Records a portrait in `tx` after the automatic checks.
pub(super) fn insert_portrait(
    tx: &mut impl StoreTx,
    operator: &str,
    holder_id: i64,
    source: PortraitSource,
    bytes: &[u8],
    now: u64,
) -> Result<PortraitAdded, IssuerError> {
    let report = crate::portrait::check_portrait(bytes, now);
    let failures: Vec<String> = report
        .failures
        .iter()
        .map(|f| format!("{}: {}", f.rule.code(), f.detail))
        .collect();
    let state = match (report.passed(), source) {
        (false, _) => PortraitState::Rejected,
        (true, PortraitSource::Retained) => PortraitState::Approved,
        (true, _) => PortraitState::Pending,
    };
    // A photo that passes the checks must also make a portrait for the code, or it
    // could never be issued with: say so now, while the applicant is at the
    // counter. A pending photo's bytes are made again at approval (deterministic,
    // and the approving transaction is the one that fixes them).
    let made = match state {
        PortraitState::Rejected => None,
        _ => Some(made_for_code(bytes)?),
    };
    let made = made.filter(|_| state == PortraitState::Approved);
    if state == PortraitState::Approved {
        check_replacement_interval(tx, holder_id, now)?;
        tx.replace_approved_portraits(holder_id)?;
    }
    let rejection = failures.join("; ");
    let auto_failures = serde_json::to_string(&failures).unwrap_or_default();
    let id = tx.insert_portrait(&NewPortrait {
        holder_id,
        source,
        bytes,
        sha256: &credential::signature::sha256(bytes),
        made: made.as_deref(),
        submitted_at: now,
        state,
        decided: (state != PortraitState::Pending).then_some((now, "automatic checks")),
        reason: (state == PortraitState::Rejected).then_some(rejection.as_str()),
        auto_failures: &auto_failures,
    })?;
    audit(
        tx,
        operator,
        now,
        "portrait.add",
        &holder_id.to_string(),
        None,
        Some(
            json!({"portrait": id, "source": source.name(), "state": state.name(), "failures": failures}),
        ),
    )?;
    Ok(PortraitAdded {
        id,
        state,
        failures,
    })
}

/// When a review decision is due: the end of the next working day (Mon–Fri, UTC+8;
/// public holidays are not modelled).
pub fn review_due(submitted: u64) -> u64 {
    let local_day = (submitted + 8 * 3600) / DAY;
    let mut day = local_day + 1;
    // 1970-01-01 was a Thursday: weekday index 0 = Monday.
    while matches!((day + 3) % 7, 5 | 6) {
        day += 1;
    }
    (day + 1) * DAY - 8 * 3600
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keyfile::KdfParams;
    use crate::model::{HolderInput, DEFAULT_LIFETIME_S};
    use crate::portrait::{synthetic_portrait, ImageFormat};
    use crate::store::sqlite::SqliteStore;
    use crate::usecase::Keyring;
    use credential::ed25519_dalek::SigningKey;
    use credential::licence::portrait_digest;
    use credential::refresh::Package;
    use zeroize::Zeroizing;

    const NOW: u64 = 1_780_279_200;

    fn device() -> [u8; 32] {
        SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes()
    }

    /// A registry over `store` with a root, 川J and holder 1 (with a device key).
    fn office<S: Store>(store: S, dir: &std::path::Path) -> (Registry<S>, Keyring, i64) {
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        let mut registry = Registry::with_store(store, dir, "test", KdfParams::fast_for_tests());
        let mut keyring = Keyring::new(Zeroizing::new(b"test passphrase".to_vec()));
        registry.root_init(&mut keyring, NOW).unwrap();
        registry
            .authority_add("川J", "四川省遂宁市公安局交通警察支队", &mut keyring, NOW)
            .unwrap();
        let input = HolderInput {
            device_key: Some(device()),
            ..crate::store::contract::input(1)
        };
        let id = registry.holder_add(&input, NOW).unwrap();
        (registry, keyring, id)
    }

    /// Every digest the package's credentials sign.
    fn signed_digests(package: &Package) -> Vec<[u8; 16]> {
        package
            .credentials
            .iter()
            .filter_map(|(_, c)| {
                credential::refresh::credential_claims(c)
                    .unwrap()
                    .licence
                    .portrait_digest
            })
            .collect()
    }

    #[test]
    fn the_credential_signs_the_portrait_made_from_the_approved_photo_never_the_submitted_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut registry, mut keyring, id) = office(SqliteStore::in_memory().unwrap(), dir.path());
        // The file as the applicant submitted it: whatever they crafted into it.
        let submitted = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        registry
            .portrait_add(id, PortraitSource::Retained, &submitted, NOW)
            .unwrap();
        let issued = registry
            .issue(id, None, &mut keyring, NOW, DEFAULT_LIFETIME_S)
            .unwrap();
        let made = make_portrait(&submitted, &STANDARD).unwrap();
        assert_ne!(made, submitted);
        let package = Package::decode_for(&issued.package(), &device()).unwrap();
        let digests = signed_digests(&package);
        assert_eq!(digests.len(), 3, "full, rental and insurance sign a digest");
        for digest in &digests {
            assert_eq!(*digest, portrait_digest(&made));
            assert_ne!(*digest, portrait_digest(&submitted));
        }
        assert_eq!(package.portrait.as_deref(), Some(made.as_slice()));
        // The office's refresh re-signs the same made bytes and sends them again.
        let refreshed = registry
            .refresh(id, &mut keyring, NOW + 60, DEFAULT_LIFETIME_S)
            .unwrap();
        let refreshed = Package::decode_for(&refreshed.package(), &device()).unwrap();
        assert_eq!(refreshed.portrait.as_deref(), Some(made.as_slice()));
        assert_eq!(signed_digests(&refreshed), digests);
        // Export gives the made bytes; the check finds the digest is theirs.
        let exported = registry.made_portrait(id).unwrap();
        assert_eq!((exported.bytes, exported.stored), (made, true));
        let check = registry.check().unwrap();
        assert_eq!(
            (
                check.portraits_signed_as_made,
                check.portraits_signed_as_submitted
            ),
            (1, 0)
        );
    }

    #[test]
    fn a_reviewed_photo_gets_its_made_portrait_at_approval_and_reissues_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut registry, mut keyring, id) = office(SqliteStore::in_memory().unwrap(), dir.path());
        let retained = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        registry
            .portrait_add(id, PortraitSource::Retained, &retained, NOW)
            .unwrap();
        registry
            .issue(id, None, &mut keyring, NOW, DEFAULT_LIFETIME_S)
            .unwrap();
        let later = NOW + REPLACEMENT_INTERVAL_S + DAY;
        let camera = synthetic_portrait(358, 441, [250, 250, 250], ImageFormat::Png);
        let added = registry
            .portrait_add(id, PortraitSource::Camera, &camera, later)
            .unwrap();
        assert_eq!(added.state, PortraitState::Pending);
        assert_eq!(
            registry.portrait(added.id).unwrap().made,
            None,
            "made at approval"
        );
        let decided = registry
            .review_decide(
                added.id,
                true,
                None,
                &mut keyring,
                later,
                DEFAULT_LIFETIME_S,
            )
            .unwrap();
        let made = make_portrait(&camera, &STANDARD).unwrap();
        assert_eq!(
            registry.portrait(added.id).unwrap().made.as_deref(),
            Some(made.as_slice())
        );
        let package = Package::decode_for(&decided.reissued.unwrap().package(), &device()).unwrap();
        assert_eq!(package.portrait.as_deref(), Some(made.as_slice()));
        assert!(signed_digests(&package)
            .iter()
            .all(|d| *d == portrait_digest(&made) && *d != portrait_digest(&camera)));
        assert_eq!(registry.check().unwrap().portraits_signed_as_made, 1);
    }

    #[test]
    fn a_photo_the_maker_refuses_is_a_refusal_with_its_code_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut registry, mut keyring, id) = office(SqliteStore::in_memory().unwrap(), dir.path());
        // Every photo that passes the automatic checks decodes, so the maker can only
        // refuse one queued before the issuer made portraits: put one in the queue.
        let mut tx = registry.store.begin().unwrap();
        let queued = tx
            .insert_portrait(&NewPortrait {
                holder_id: id,
                source: PortraitSource::Camera,
                bytes: b"GIF89a not a JPEG or PNG",
                sha256: &[0; 32],
                made: None,
                submitted_at: NOW,
                state: PortraitState::Pending,
                decided: None,
                reason: None,
                auto_failures: "[]",
            })
            .unwrap();
        tx.commit().unwrap();
        let refused = registry
            .review_decide(queued, true, None, &mut keyring, NOW, DEFAULT_LIFETIME_S)
            .unwrap_err();
        assert_eq!(refused.code(), "portrait_not_makeable");
        assert!(
            refused.to_string().contains("portrait_photo_undecodable"),
            "{refused}"
        );
        assert_eq!(
            registry.portrait(queued).unwrap().state,
            PortraitState::Pending
        );
        assert!(registry.store.approved_portrait(id).unwrap().is_none());
        // And the rule itself, as `portrait add` applies it after the checks.
        let error = made_for_code(b"\x89PNG\r\n\x1a\n truncated").unwrap_err();
        assert_eq!(error.code(), "portrait_not_makeable");
    }

    #[test]
    fn review_is_due_end_of_next_working_day() {
        // Friday 2026-06-05 10:00 +08:00 → due Monday 2026-06-08 24:00 +08:00.
        let friday = 1_780_624_800;
        assert_eq!(review_due(friday), 1_780_934_400);
        // Monday 10:00 → Tuesday end.
        let monday = friday + 3 * DAY;
        assert_eq!(review_due(monday), 1_780_934_400 + DAY);
    }
}
