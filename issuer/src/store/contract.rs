//! The contract every [`Store`] backend must pass: generic test functions over a
//! backend, called from each backend's own test module (one line each), so adding a
//! backend is one module plus those lines.
//!
//! `open` opens a store on **one shared database**, fresh for the test: called twice
//! it must give two handles to the same data (two clerks, two service nodes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use credential::date::Date;
use credential::licence::{ClassSet, Sex, StatusSet, Validity};

use super::{refresh_contexts_one_by_one, Store, StoreTx};
use crate::model::{
    AuditEntry, Channel, CredentialState, HolderInput, NewCredential, NewKey, NewPortrait,
    NonceUse, PortraitSource, PortraitState, RefreshedCredential, StillMatters,
};

const NOW: u64 = 1_780_279_200;

/// A holder of 川J, licence number `L{n:08}` (not a citizen ID, so any birth date).
pub(crate) fn input(n: u32) -> HolderInput {
    HolderInput {
        licence_number: format!("L{n:08}"),
        name: "欧阳婷婷".into(),
        sex: Sex::Female,
        nationality: "CHN".into(),
        birth_date: Date::parse("1988-03-14").unwrap(),
        address: "四川省遂宁市船山区明月路88号".into(),
        file_number: "510900123456".into(),
        first_issue_date: Date::parse("2008-07-22").unwrap(),
        classes: ClassSet::parse("C1E").unwrap(),
        validity: Validity {
            from: Date::parse("2020-07-22").unwrap(),
            to: None,
        },
        authority_code: "川J".into(),
        points: 3,
        channel: Channel::Counter,
        device_key: Some([7; 32]),
    }
}

/// A camera portrait of `holder_id` waiting for review, submitted at [`NOW`].
pub(crate) fn pending_portrait(holder_id: i64, bytes: &[u8]) -> NewPortrait<'_> {
    NewPortrait {
        holder_id,
        source: PortraitSource::Camera,
        bytes,
        sha256: &[9; 32],
        made: None,
        submitted_at: NOW,
        state: PortraitState::Pending,
        decided: None,
        reason: None,
        auto_failures: "[]",
    }
}

fn with_authority<S: Store>(store: &mut S) {
    let mut tx = store.begin().unwrap();
    tx.insert_authority("川J", "四川省遂宁市公安局交通警察支队")
        .unwrap();
    tx.insert_key(&NewKey {
        kid: "a1b2c3",
        authority_code: Some("川J"),
        public_key: &[5; 32],
        file_name: "a1b2c3.key",
        valid_from: NOW,
        valid_to: NOW + 1000,
    })
    .unwrap();
    tx.commit().unwrap();
}

/// Nothing of a dropped transaction stays; a savepoint undoes only what follows it.
pub fn transactions_and_savepoints_undo<S: Store>(open: impl Fn() -> S) {
    let mut store = open();
    let mut tx = store.begin().unwrap();
    tx.insert_authority("川J", "x").unwrap();
    assert_eq!(tx.allocate_serial("川J").unwrap(), 1);
    assert_eq!(tx.allocate_serial("川J").unwrap(), 2);
    drop(tx);
    assert!(!store.authority_exists("川J").unwrap());
    let mut tx = store.begin().unwrap();
    tx.insert_authority("川J", "x").unwrap();
    tx.savepoint().unwrap();
    assert_eq!(tx.allocate_serial("川J").unwrap(), 1);
    tx.rollback_to_savepoint().unwrap();
    tx.commit().unwrap();
    assert_eq!(store.authorities().unwrap(), vec![("川J".to_owned(), 1)]);
}

/// What is written is read back as written: holders, keys (by file name only),
/// portraits, credentials and their states.
pub fn records_read_back_as_written<S: Store>(open: impl Fn() -> S) {
    let mut store = open();
    with_authority(&mut store);
    let mut tx = store.begin().unwrap();
    let status = StatusSet::NORMAL.with('D', true);
    let id = tx.insert_holder(&input(1), status, NOW).unwrap();
    let portrait = tx.insert_portrait(&pending_portrait(id, b"jpeg")).unwrap();
    insert_credential(&mut tx, id, CredentialState::Suspended, (NOW, NOW + 60));
    tx.commit().unwrap();

    let holder = store.holder(id).unwrap().unwrap();
    assert_eq!((holder.input, holder.status), (input(1), status));
    assert_eq!(
        store.holder_by_licence_number("L00000001").unwrap(),
        Some(id)
    );
    assert_eq!(store.holder_by_device_key(&[7; 32]).unwrap(), Some(id));
    let key = store.active_key("川J", NOW).unwrap().unwrap();
    assert_eq!(
        (key.kid.as_str(), key.file_name.as_str()),
        ("a1b2c3", "a1b2c3.key")
    );
    assert!(store.active_key("川J", NOW + 1000).unwrap().is_none());
    let stored = store.portrait(portrait).unwrap().unwrap();
    assert_eq!(
        (
            stored.holder_id,
            stored.source,
            stored.state,
            stored.bytes.as_slice()
        ),
        (
            id,
            PortraitSource::Camera,
            PortraitState::Pending,
            &b"jpeg"[..]
        )
    );
    let current = store.current_credential(id).unwrap().unwrap();
    assert_eq!(
        (current.serial, current.state),
        (1, CredentialState::Suspended)
    );
    assert_eq!(
        store.status_entries("川J", StillMatters::ALWAYS).unwrap(),
        vec![(1, CredentialState::Suspended)]
    );
    let credential = store.credential("川J", 1).unwrap().unwrap();
    assert_eq!(credential.package, b"package");
    let current = store.current_packages().unwrap();
    assert_eq!(
        current
            .iter()
            .map(|c| (c.holder_id, c.reference.as_str(), c.package.as_slice()))
            .collect::<Vec<_>>(),
        vec![(id, "川J/1", &b"package"[..])]
    );

    // A portrait approved at once carries its made bytes; a later approval stores them.
    assert_eq!(stored.made, None);
    let mut tx = store.begin().unwrap();
    let approved = tx
        .insert_portrait(&NewPortrait {
            source: PortraitSource::Retained,
            bytes: b"photo",
            sha256: &[8; 32],
            made: Some(b"made"),
            state: PortraitState::Approved,
            decided: Some((NOW, "automatic checks")),
            ..pending_portrait(id, b"photo")
        })
        .unwrap();
    tx.commit().unwrap();
    let read = store.approved_portrait(id).unwrap().unwrap();
    assert_eq!(
        (read.id, read.sha256.as_slice(), read.made.as_deref()),
        (approved, &[8; 32][..], Some(&b"made"[..]))
    );
    let mut tx = store.begin().unwrap();
    tx.set_made_portrait(portrait, b"made later").unwrap();
    tx.commit().unwrap();
    assert_eq!(
        store.portrait(portrait).unwrap().unwrap().made.as_deref(),
        Some(&b"made later"[..])
    );
}

/// Stores a credential of 川J's next serial for `holder_id`; returns the serial.
fn insert_credential(
    tx: &mut impl StoreTx,
    holder_id: i64,
    state: CredentialState,
    (issued_at, expires_at): (u64, u64),
) -> u64 {
    let serial = tx.allocate_serial("川J").unwrap();
    tx.insert_credential(&NewCredential {
        authority_code: "川J",
        serial,
        holder_id,
        kid: "a1b2c3",
        issued_at,
        expires_at,
        state,
        package: b"package",
    })
    .unwrap();
    serial
}

/// The status list's query: non-valid credentials by serial, without those whose
/// latest credential both expired and was issued long enough ago (spec §10.5).
pub fn status_entries_are_those_that_still_matter<S: Store>(open: impl Fn() -> S) {
    let mut store = open();
    with_authority(&mut store);
    let mut tx = store.begin().unwrap();
    let id = tx.insert_holder(&input(1), StatusSet::NORMAL, NOW).unwrap();
    // (state, issued_at, expires_at) for serials 1..
    let rows = [
        (CredentialState::Revoked, NOW, NOW + 100),
        (CredentialState::Valid, NOW, NOW + 100),
        (CredentialState::Superseded, NOW + 50, NOW + 60),
        (CredentialState::Suspended, NOW - 10, NOW + 400),
        (CredentialState::Revoked, NOW + 200, NOW + 300),
    ];
    for (state, issued_at, expires_at) in rows {
        insert_credential(&mut tx, id, state, (issued_at, expires_at));
    }
    tx.commit().unwrap();
    let entries = |expires_after, issued_after| {
        store
            .status_entries(
                "川J",
                StillMatters {
                    expires_after,
                    issued_after,
                },
            )
            .unwrap()
            .into_iter()
            .map(|(serial, _)| serial)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        store.status_entries("川J", StillMatters::ALWAYS).unwrap(),
        vec![
            (1, CredentialState::Revoked),
            (3, CredentialState::Superseded),
            (4, CredentialState::Suspended),
            (5, CredentialState::Revoked),
        ]
    );
    assert_eq!(
        entries(NOW + 100, NOW + 100),
        vec![4, 5],
        "expired and issued before"
    );
    assert_eq!(entries(NOW + 99, NOW + 300), vec![1, 4, 5], "expires after");
    assert_eq!(entries(NOW + 1000, NOW + 49), vec![3, 5], "issued after");
    assert_eq!(entries(NOW + 1000, NOW + 1000), Vec::<u64>::new());
    assert!(store
        .status_entries("川A", StillMatters::ALWAYS)
        .unwrap()
        .is_empty());
}

/// A nonce is fresh once per device; forgotten ones are fresh again.
pub fn nonces_are_remembered_once<S: Store>(open: impl Fn() -> S) {
    let mut store = open();
    let mut tx = store.begin().unwrap();
    assert!(tx.remember_nonce(&[1; 32], b"n1", NOW, 0).unwrap());
    assert!(!tx.remember_nonce(&[1; 32], b"n1", NOW + 1, 0).unwrap());
    assert!(
        tx.remember_nonce(&[2; 32], b"n1", NOW, 0).unwrap(),
        "per device"
    );
    tx.commit().unwrap();
    let mut other = open();
    let mut tx = other.begin().unwrap();
    assert!(
        !tx.remember_nonce(&[1; 32], b"n1", NOW + 2, 0).unwrap(),
        "a second handle (another service node) sees the nonce"
    );
    assert!(tx
        .remember_nonce(&[1; 32], b"n1", NOW + 10, NOW + 5)
        .unwrap());
    tx.commit().unwrap();
}

/// The batch methods of the refresh service answer as their one-row definitions:
/// contexts (a holder with portrait and credentials, one without, an unknown phone,
/// a phone listed twice), nonces (a repeat within the call, one used before, the
/// purge), re-signed credentials (the later of two wins), audit rows in order.
pub fn batch_methods_answer_as_the_one_row_methods<S: Store>(open: impl Fn() -> S) {
    let mut store = open();
    with_authority(&mut store);
    let mut tx = store.begin().unwrap();
    let with_credential = tx.insert_holder(&input(1), StatusSet::NORMAL, NOW).unwrap();
    let without = HolderInput {
        device_key: Some([8; 32]),
        ..input(2)
    };
    let without = tx.insert_holder(&without, StatusSet::NORMAL, NOW).unwrap();
    tx.insert_portrait(&NewPortrait {
        source: PortraitSource::Retained,
        made: Some(b"made"),
        state: PortraitState::Approved,
        decided: Some((NOW, "automatic checks")),
        ..pending_portrait(with_credential, b"photo")
    })
    .unwrap();
    let old = insert_credential(
        &mut tx,
        with_credential,
        CredentialState::Valid,
        (NOW, NOW + 60),
    );
    tx.supersede_credential("川J", old, "川J/2").unwrap();
    insert_credential(
        &mut tx,
        with_credential,
        CredentialState::Suspended,
        (NOW + 1, NOW + 61),
    );
    tx.commit().unwrap();

    let phones = [[7; 32], [9; 32], [8; 32], [7; 32]];
    let contexts = store.refresh_contexts(&phones).unwrap();
    assert_eq!(
        contexts,
        refresh_contexts_one_by_one(&store, &phones).unwrap()
    );
    let ids: Vec<Option<i64>> = contexts
        .iter()
        .map(|c| c.as_ref().map(|c| c.holder.id))
        .collect();
    assert_eq!(
        ids,
        [
            Some(with_credential),
            None,
            Some(without),
            Some(with_credential)
        ]
    );
    let first = contexts[0].as_ref().unwrap();
    assert_eq!(
        first.current.as_ref().map(|c| (c.serial, c.state)),
        Some((2, CredentialState::Suspended))
    );
    assert_eq!(
        first.portrait.as_ref().and_then(|p| p.made.as_deref()),
        Some(&b"made"[..])
    );
    assert_eq!(
        first.authority_name.as_deref(),
        Some("四川省遂宁市公安局交通警察支队")
    );
    assert!(contexts[2]
        .as_ref()
        .is_some_and(|c| c.portrait.is_none() && c.current.is_none()));
    assert_eq!(store.refresh_contexts(&[]).unwrap(), vec![]);

    let mut tx = store.begin().unwrap();
    assert!(tx.remember_nonce(&[7; 32], b"old", NOW - 100, 0).unwrap());
    assert!(tx.remember_nonce(&[7; 32], b"used", NOW, 0).unwrap());
    let used = |device_key, nonce| NonceUse {
        device_key,
        nonce,
        at: NOW + 1,
    };
    let nonces = [
        used(&[7; 32], &b"a"[..]),
        used(&[7; 32], b"a"),
        used(&[7; 32], b"used"),
        used(&[8; 32], b"a"),
        used(&[7; 32], b"old"),
    ];
    assert_eq!(
        tx.remember_nonces(&nonces, NOW - 50).unwrap(),
        [true, false, false, true, true],
        "the purge forgot `old`"
    );
    let refreshed = |kid, package| RefreshedCredential {
        authority_code: "川J",
        serial: 2,
        kid,
        issued_at: NOW + 5,
        expires_at: NOW + 65,
        package,
    };
    tx.refresh_credentials(&[
        refreshed("a1b2c3", b"first"),
        refreshed("a1b2c3", b"second"),
    ])
    .unwrap();
    let entry = |at, subject| AuditEntry {
        at,
        operator: "node",
        action: "credential.refresh",
        subject,
        old: None,
        new: Some("{}"),
    };
    tx.append_audits(&[
        entry(NOW + 9, "1"),
        entry(NOW + 3, "2"),
        entry(NOW + 7, "1"),
    ])
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(
        store.credential("川J", 2).unwrap().unwrap().package,
        b"second"
    );
    assert_eq!(
        store
            .current_credential(with_credential)
            .unwrap()
            .unwrap()
            .expires_at,
        NOW + 65
    );
    let entries = store.audit_recent(3).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.at).collect::<Vec<_>>(),
        [NOW as i64 + 9, NOW as i64 + 3, NOW as i64 + 7]
    );
    assert!(entries.windows(2).all(|w| w[0].id < w[1].id));
    // Since a time, and the latest `at_most` of them; a subject listed twice.
    let subjects = ["1", "3", "2", "1"];
    for (since, at_most, expected) in [
        (
            NOW + 4,
            20,
            [
                vec![NOW + 7, NOW + 9],
                vec![],
                vec![],
                vec![NOW + 7, NOW + 9],
            ],
        ),
        (
            NOW,
            1,
            [vec![NOW + 9], vec![], vec![NOW + 3], vec![NOW + 9]],
        ),
        (NOW + 8, 2, [vec![NOW + 9], vec![], vec![], vec![NOW + 9]]),
    ] {
        let each = store
            .audit_times_since_each("credential.refresh", &subjects, since, at_most)
            .unwrap();
        assert_eq!(each, expected, "since {since}, at most {at_most}");
        let one_by_one: Vec<Vec<u64>> = subjects
            .iter()
            .map(|s| {
                store
                    .audit_times_since("credential.refresh", s, since, at_most)
                    .unwrap()
            })
            .collect();
        assert_eq!(each, one_by_one);
    }
}

/// The audit log keeps entries in commit order, and counts them by action.
pub fn audit_is_in_commit_order<S: Store>(open: impl Fn() -> S) {
    let mut store = open();
    for at in [NOW, NOW + 5, NOW + 3] {
        let mut tx = store.begin().unwrap();
        tx.append_audit(&AuditEntry {
            at,
            operator: "clerk",
            action: "credential.refresh",
            subject: "1",
            old: None,
            new: Some("{}"),
        })
        .unwrap();
        tx.commit().unwrap();
    }
    let entries = store.audit_recent(10).unwrap();
    let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(
        entries.iter().map(|e| e.at).collect::<Vec<_>>(),
        [NOW as i64, NOW as i64 + 5, NOW as i64 + 3]
    );
    assert_eq!(
        store
            .audit_times_since("credential.refresh", "1", NOW + 1, u64::MAX)
            .unwrap()
            .len(),
        2
    );
}

/// A second writer waits for the first (it does not fail at once) and then reads
/// the first one's committed change, never the value from before it: the lock is
/// taken before the transaction's first read.
pub fn writers_wait_and_read_what_the_other_committed<S: Store + Send + 'static>(
    open: impl Fn() -> S + Send + Sync + 'static,
) {
    let open = Arc::new(open);
    let mut store = open();
    let mut tx = store.begin().unwrap();
    tx.insert_authority("川J", "x").unwrap();
    tx.commit().unwrap();

    let barrier = Arc::new(Barrier::new(2));
    let second = {
        let (open, barrier) = (Arc::clone(&open), Arc::clone(&barrier));
        std::thread::spawn(move || {
            let mut store = open();
            barrier.wait();
            let started = Instant::now();
            let mut tx = store.begin().unwrap();
            let waited = started.elapsed();
            let serial = tx.allocate_serial("川J").unwrap();
            tx.commit().unwrap();
            (waited, serial)
        })
    };
    let mut tx = store.begin().unwrap();
    barrier.wait();
    let first = tx.allocate_serial("川J").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    tx.commit().unwrap();
    let (waited, second) = second.join().unwrap();
    assert_eq!(
        (first, second),
        (1, 2),
        "the second writer read the first's serial"
    );
    assert!(
        waited >= Duration::from_millis(200),
        "the second writer waited ({waited:?})"
    );
}

/// A change the schema refuses is [`super::StoreError::Constraint`], and undoing to
/// the savepoint before it lets the transaction go on (PostgreSQL aborts a whole
/// transaction at a failed statement unless it is rolled back to a savepoint; a
/// batch that refuses one line must keep the others on every backend).
pub fn a_refused_change_is_undone_to_its_savepoint_and_the_rest_commits<S: Store>(
    open: impl Fn() -> S,
) {
    let mut store = open();
    let mut tx = store.begin().unwrap();
    tx.insert_authority("川J", "x").unwrap();
    tx.savepoint().unwrap();
    let refused = tx.insert_authority("川J", "again").unwrap_err();
    assert!(
        matches!(refused, super::StoreError::Constraint(_)),
        "{refused:?}"
    );
    tx.rollback_to_savepoint().unwrap();
    assert_eq!(tx.allocate_serial("川J").unwrap(), 1);
    tx.commit().unwrap();
    assert_eq!(store.authorities().unwrap(), vec![("川J".to_owned(), 2)]);
    assert_eq!(store.authority_name("川J").unwrap().as_deref(), Some("x"));
}
