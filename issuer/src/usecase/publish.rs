//! Publishing for offline verifiers: the root-signed trust bundle and one signed
//! status list per authority, written with the project's one file primitive
//! ([`atomic_file::replace`]) so a verifier copying the folder never sees half a file.
//!
//! Each authority's list is built from the credential states read inside one
//! transaction (a consistent snapshot under the write lock); the bundle version is
//! bumped in the transaction that signs it, so two publishes never share a version.
//!
//! Lists are **compacted** (spec §10.5): each carries the latest horizon its
//! `issued_at` allows, and only the entries of serials whose latest credential
//! still matters at that horizon ([`StillMatters`]); the store answers that from an
//! index of the non-valid credentials, never by loading every credential.
//!
//! National scale (hundreds of authorities, 5×10⁸ serials) is **streamed**: the
//! transaction's thread reads one authority's entries at a time and hands them to
//! compression workers (one per core) over a channel bounded to the number of
//! workers, so at most about twice that many authorities' entries are in memory,
//! never the packed national list: each worker streams zeros and entries into its
//! zlib encoder ([`CompressedEntries::from_sorted`]). Workers only compress; the
//! signing keys never leave the transaction's thread, which signs each compressed
//! list and writes its file as it arrives.
//!
//! Every list is read inside the publish transaction, so all of them, the bundle
//! and the audit row describe one state: a change committed after the reads is
//! in the next publish, never half in this one. The price is that the transaction
//! stays open while the lists compress (3 s for a national registry on two cores,
//! `benches/status_lists.rs`): on SQLite, one office's registry, that is the write
//! lock for well under a second; on PostgreSQL, whose reads are a snapshot, the
//! refresh service is not blocked.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use credential::ed25519_dalek::SigningKey;
use credential::status_list::{
    latest_compaction_horizon, CompressedEntries, ListTimes, SerialStatus, COMPACTION_LIFETIME_S,
};
use credential::trust_bundle::TrustBundleContent;
use serde::Serialize;
use serde_json::json;

use super::{active_key, audit, Keyring, Registry};
use crate::error::IssuerError;
use crate::model::{CredentialState, StillMatters, DAY};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

/// The trust bundle's file name in the output folder.
pub const TRUST_BUNDLE_FILE: &str = "trust-bundle.cbor";
/// The root public key's file name in the output folder.
pub const ROOT_PUBLIC_FILE: &str = "root.pub";

/// What `publish` wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Published {
    /// The trust bundle.
    pub trust_bundle: PublishedBundle,
    /// One list per authority.
    pub status_lists: Vec<PublishedList>,
    /// The root key id.
    pub root_kid: String,
}

/// The trust bundle written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishedBundle {
    /// File name.
    pub file: &'static str,
    /// Version.
    pub version: u64,
    /// Keys retired by this publish (signing period over, last credential expired).
    pub retired_now: usize,
}

/// A status list written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishedList {
    /// Authority code.
    pub authority: String,
    /// File name.
    pub file: String,
    /// Serials covered.
    pub size: u64,
    /// Non-zero entries carried (after compaction).
    pub entries: usize,
    /// The compaction horizon (spec §10.5): credentials that expired at or before
    /// it are refused by verifiers, so their entries are 0.
    pub compacted_before: Option<u64>,
    /// Bytes of the signed file.
    pub bytes: usize,
}

impl<S: Store> Registry<S> {
    /// Signs the trust bundle (root) and every authority's status list into `out`.
    /// Keys whose signing period ended and whose last credential has expired are
    /// retired first.
    pub fn publish(
        &mut self,
        out: &Path,
        keyring: &mut Keyring,
        now: u64,
        list_ttl_s: u64,
    ) -> Result<Published, IssuerError> {
        std::fs::create_dir_all(out).map_err(IssuerError::io(out))?;
        let mut tx = self.store.begin()?;
        let retired = tx.retire_spent_keys(now)?;
        let version = tx.next_bundle_version()?;
        let content = TrustBundleContent {
            version,
            issued_at: now,
            next_update: now + 30 * DAY,
            keys: tx.authority_keys()?,
        };
        let root_record = tx.root_key()?.ok_or(Refusal::NoRootKey)?;
        let root = keyring.key(&self.dir, &root_record)?.clone();
        let bundle_bytes = content.sign(&root);
        let lists = publish_status_lists(&tx, &self.dir, out, keyring, (now, now + list_ttl_s))?;
        audit(
            &mut tx,
            &self.operator,
            now,
            "publish.trust_bundle",
            &version.to_string(),
            None,
            Some(json!({"keys": content.keys.len(), "retired_now": retired})),
        )?;
        audit(
            &mut tx,
            &self.operator,
            now,
            "publish.status_lists",
            &out.to_string_lossy(),
            None,
            Some(json!(lists)),
        )?;
        // The files are written before the commit (the lists as they were signed,
        // above): if writing fails the version is not spent; if the commit fails,
        // the next publish writes a higher version over these, which verifiers accept.
        write_published(&out.join(TRUST_BUNDLE_FILE), &bundle_bytes)?;
        let root_pub = format!(
            "untrusted comment: licence national root public key\n{}\n",
            hex::encode(root.verifying_key().as_bytes())
        );
        write_published(&out.join(ROOT_PUBLIC_FILE), root_pub.as_bytes())?;
        tx.commit()?;
        Ok(Published {
            trust_bundle: PublishedBundle {
                file: TRUST_BUNDLE_FILE,
                version,
                retired_now: retired,
            },
            status_lists: lists,
            root_kid: root_record.kid,
        })
    }
}

/// One list to compress: its serial count and its non-zero entries, by serial.
pub struct ListEntries {
    /// Serials covered.
    pub size: u64,
    /// Non-zero entries in strictly increasing serial order.
    pub entries: Vec<(u64, SerialStatus)>,
}

/// A list on its way to a worker.
struct ListJob {
    index: usize,
    list: ListEntries,
}

/// A worker's answer: the list's index, its entry count, its compressed entries.
type ListDone = (
    usize,
    usize,
    Result<CompressedEntries, credential::Malformed>,
);

/// Compresses lists on `workers` threads, memory bounded. `next(i)` is called on
/// this thread for list `i` = 0, 1, … until it returns `None`; while every worker
/// is busy and `workers` lists are queued it is not called, so at most about
/// `2 × workers + 1` lists' entries are in memory. `done(i, entries, compressed)`
/// is called on this thread as each list finishes, in completion order: signing
/// happens there, so keys never reach a worker. The first error stops reading.
pub fn compress_in_parallel(
    workers: usize,
    mut next: impl FnMut(usize) -> Option<Result<ListEntries, IssuerError>>,
    mut done: impl FnMut(usize, usize, CompressedEntries) -> Result<(), IssuerError>,
) -> Result<(), IssuerError> {
    let workers = workers.max(1);
    let mut finish = |(index, entries, compressed): ListDone| {
        let compressed = compressed.map_err(|e| IssuerError::Integrity(e.to_string()))?;
        done(index, entries, compressed)
    };
    std::thread::scope(|scope| {
        let (job_sender, job_receiver) = mpsc::sync_channel::<ListJob>(workers);
        let job_receiver = Arc::new(Mutex::new(job_receiver));
        let (done_sender, done_receiver) = mpsc::channel::<ListDone>();
        for _ in 0..workers {
            let jobs = Arc::clone(&job_receiver);
            let done = done_sender.clone();
            scope.spawn(move || compress_jobs(&jobs, &done));
        }
        drop(done_sender);
        let mut result = Ok(());
        let mut index = 0;
        while let Some(list) = next(index) {
            let job = match list {
                Ok(list) => ListJob { index, list },
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            index += 1;
            if job_sender.send(job).is_err() {
                break;
            }
            while let Ok(answer) = done_receiver.try_recv() {
                result = result.and_then(|()| finish(answer));
            }
            if result.is_err() {
                break;
            }
        }
        // Closing the queue ends the workers once it is drained.
        drop(job_sender);
        for answer in done_receiver {
            result = result.and_then(|()| finish(answer));
        }
        result
    })
}

/// Signs and writes one compacted list per authority of `tx` into `out`,
/// compressing on every core; returns what was written, by authority code.
/// `registry_dir` holds the key files.
fn publish_status_lists(
    tx: &impl StoreRead,
    registry_dir: &Path,
    out: &Path,
    keyring: &mut Keyring,
    (issued_at, next_update): (u64, u64),
) -> Result<Vec<PublishedList>, IssuerError> {
    let compacted_before = latest_compaction_horizon(issued_at);
    let still_matters = compacted_before.map_or(StillMatters::ALWAYS, |horizon| StillMatters {
        expires_after: horizon,
        issued_after: horizon.saturating_sub(COMPACTION_LIFETIME_S),
    });
    let times = ListTimes {
        issued_at,
        next_update,
        compacted_before,
    };
    let authorities = tx.authorities()?;
    // Every authority needs a key before any work starts; workers never see one.
    let mut keys: Vec<SigningKey> = Vec::with_capacity(authorities.len());
    for (code, _) in &authorities {
        let record = active_key(tx, code, issued_at)?;
        keys.push(keyring.key(registry_dir, &record)?.clone());
    }
    let mut published: Vec<Option<PublishedList>> = vec![None; authorities.len()];
    let read = |index: usize| {
        let (code, size) = authorities.get(index)?;
        Some(
            tx.status_entries(code, still_matters)
                .map_err(IssuerError::from)
                .map(|rows| ListEntries {
                    size: *size,
                    entries: rows
                        .into_iter()
                        .filter_map(|(serial, state)| Some((serial, serial_status(state)?)))
                        .collect(),
                }),
        )
    };
    let sign_and_write = |index: usize, entries: usize, compressed: CompressedEntries| {
        let ((code, size), key, slot) = match (
            authorities.get(index),
            keys.get(index),
            published.get_mut(index),
        ) {
            (Some(authority), Some(key), Some(slot)) => (authority, key, slot),
            _ => return Err(IssuerError::Integrity(format!("no authority {index}"))),
        };
        let signed = compressed.sign(code, times, key);
        let file = format!("status-{}.cbor", hex::encode(code.as_bytes()));
        write_published(&out.join(&file), &signed)?;
        *slot = Some(PublishedList {
            authority: code.clone(),
            file,
            size: *size,
            entries,
            compacted_before,
            bytes: signed.len(),
        });
        Ok(())
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    compress_in_parallel(workers, read, sign_and_write)?;
    // Every authority was signed unless a worker died, which is a bug.
    published
        .into_iter()
        .map(|list| {
            list.ok_or_else(|| IssuerError::Integrity("a status list was not built".into()))
        })
        .collect()
}

/// A worker: compresses queued lists until the queue closes.
fn compress_jobs(jobs: &Mutex<mpsc::Receiver<ListJob>>, done: &mpsc::Sender<ListDone>) {
    loop {
        // Holding the lock only to receive; a poisoned lock means another worker
        // panicked, and the scope reports that panic.
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(ListJob { index, list }) = job else {
            return;
        };
        let count = list.entries.len();
        let compressed = CompressedEntries::from_sorted(list.size, list.entries);
        if done.send((index, count, compressed)).is_err() {
            return;
        }
    }
}

/// The list value of a stored state; a valid credential has no entry.
fn serial_status(state: CredentialState) -> Option<SerialStatus> {
    match state {
        CredentialState::Valid => None,
        CredentialState::Revoked => Some(SerialStatus::Revoked),
        CredentialState::Suspended => Some(SerialStatus::Suspended),
        CredentialState::Superseded => Some(SerialStatus::Superseded),
    }
}

/// Published files are public: world-readable, replaced atomically.
fn write_published(path: &Path, bytes: &[u8]) -> Result<(), IssuerError> {
    atomic_file::replace(path, bytes, 0o644).map_err(IssuerError::io(path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{HolderInput, PortraitSource, DEFAULT_LIFETIME_S};
    use crate::portrait::{synthetic_portrait, ImageFormat};
    use crate::store::sqlite::SqliteStore;
    use credential::status_list::{StatusList, COMPACTION_MARGIN_S};
    use credential::trust_bundle::TrustBundle;
    use credential::StatusLists;

    const T: u64 = 1_780_279_200;

    /// Publishes at `at` and installs every list as a verifier does (§10.4).
    fn publish_and_install(
        registry: &mut Registry<SqliteStore>,
        keyring: &mut Keyring,
        out: &Path,
        at: u64,
    ) -> (Published, StatusLists) {
        let published = registry.publish(out, keyring, at, DAY).unwrap();
        let root_line = std::fs::read_to_string(out.join(ROOT_PUBLIC_FILE)).unwrap();
        let root: [u8; 32] = hex::decode(root_line.lines().nth(1).unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let root = credential::ed25519_dalek::VerifyingKey::from_bytes(&root).unwrap();
        let bundle =
            TrustBundle::verify(&std::fs::read(out.join(TRUST_BUNDLE_FILE)).unwrap(), &root)
                .unwrap();
        let mut lists = StatusLists::default();
        for list in &published.status_lists {
            let bytes = std::fs::read(out.join(&list.file)).unwrap();
            assert_eq!(bytes.len(), list.bytes);
            lists.insert(StatusList::verify(&bytes, &bundle).unwrap());
        }
        (published, lists)
    }

    #[test]
    fn lists_compressed_in_parallel_each_come_back_once_and_errors_stop_the_reading() {
        let list = |i: usize| ListEntries {
            size: 1000 + i as u64,
            entries: vec![(i as u64 + 1, SerialStatus::Revoked)],
        };
        let mut read = Vec::new();
        let mut seen = vec![0; 40];
        compress_in_parallel(
            3,
            |i| {
                read.push(i);
                (i < 40).then(|| Ok(list(i)))
            },
            |i, entries, compressed| {
                assert_eq!((entries, compressed.size()), (1, 1000 + i as u64));
                assert_eq!(
                    compressed,
                    CompressedEntries::from_sorted(1000 + i as u64, list(i).entries).unwrap()
                );
                seen[i] += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, vec![1; 40]);
        assert_eq!(read, (0..=40).collect::<Vec<_>>());
        let failed = compress_in_parallel(
            2,
            |i| match i {
                0..5 => Some(Ok(list(i))),
                5 => Some(Err(IssuerError::Integrity("read failed".into()))),
                _ => panic!("read after the error"),
            },
            |_, _, _| Ok(()),
        );
        assert!(matches!(failed, Err(IssuerError::Integrity(m)) if m == "read failed"));
        let unsorted = compress_in_parallel(
            2,
            |i| {
                (i == 0).then(|| {
                    Ok(ListEntries {
                        size: 10,
                        entries: vec![(5, SerialStatus::Revoked), (4, SerialStatus::Revoked)],
                    })
                })
            },
            |_, _, _| Ok(()),
        );
        assert!(matches!(unsorted, Err(IssuerError::Integrity(_))));
    }

    #[test]
    fn entries_return_to_zero_once_every_credential_of_the_serial_is_past_the_horizon() {
        let dir = tempfile::tempdir().unwrap();
        let (mut registry, mut keyring) = super::super::in_memory_registry(dir.path());
        registry.root_init(&mut keyring, T).unwrap();
        registry
            .authority_add("川J", "四川省遂宁市公安局交通警察支队", &mut keyring, T)
            .unwrap();
        registry
            .authority_add("川A", "四川省成都市公安局交通管理局", &mut keyring, T)
            .unwrap();
        let portrait = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        let mut holders = Vec::new();
        for n in 1..=4u8 {
            let device = credential::ed25519_dalek::SigningKey::from_bytes(&[n; 32]);
            let input = HolderInput {
                device_key: Some(device.verifying_key().to_bytes()),
                ..crate::store::contract::input(u32::from(n))
            };
            let id = registry.holder_add(&input, T).unwrap();
            registry
                .portrait_add(id, PortraitSource::Retained, &portrait, T)
                .unwrap();
            holders.push(id);
        }
        let lifetime = DEFAULT_LIFETIME_S;
        let serial = |registry: &Registry<SqliteStore>, id| {
            registry.current_credential(id).unwrap().unwrap().serial
        };
        for &id in &holders {
            registry.issue(id, None, &mut keyring, T, lifetime).unwrap();
        }
        let [long_revoked, long_superseded, recent_revoked, recent_superseded] =
            [0, 1, 2, 3].map(|i| serial(&registry, holders[i]));
        // Long ago: revoked, and re-issued (the old serial superseded), on day 0.
        registry.revoke(holders[0], T).unwrap();
        registry
            .issue(holders[1], None, &mut keyring, T, lifetime)
            .unwrap();
        // Recently: refreshed on day 30 (same serial), then revoked or re-issued.
        let day_30 = T + 30 * DAY;
        registry
            .refresh(holders[2], &mut keyring, day_30, lifetime)
            .unwrap();
        registry
            .refresh(holders[3], &mut keyring, day_30, lifetime)
            .unwrap();
        registry.revoke(holders[2], day_30 + 1).unwrap();
        registry
            .issue(holders[3], None, &mut keyring, day_30 + 1, lifetime)
            .unwrap();

        // The day-0 credentials (issued T, expiring T + 7 d) stop mattering when
        // the horizon reaches T + 31 d (an earlier credential of the serial may
        // have lived 31 days): a list signed at T + 31 d + M.
        let compacts_at = T + 31 * DAY + COMPACTION_MARGIN_S;
        let out = dir.path().join("out");
        let (before, lists) =
            publish_and_install(&mut registry, &mut keyring, &out, compacts_at - 1);
        let chuan_j = lists.get("川J").unwrap();
        assert_eq!(
            chuan_j.compacted_before,
            Some(compacts_at - 1 - COMPACTION_MARGIN_S)
        );
        assert_eq!(chuan_j.get(long_revoked), Some(SerialStatus::Revoked));
        assert_eq!(chuan_j.get(long_superseded), Some(SerialStatus::Superseded));
        assert_eq!(before.status_lists[1].entries, 4);

        let (after, lists) = publish_and_install(&mut registry, &mut keyring, &out, compacts_at);
        let chuan_j = lists.get("川J").unwrap();
        assert_eq!(chuan_j.compacted_before, Some(T + 31 * DAY));
        assert_eq!(chuan_j.get(long_revoked), Some(SerialStatus::Valid));
        assert_eq!(chuan_j.get(long_superseded), Some(SerialStatus::Valid));
        assert_eq!(chuan_j.get(recent_revoked), Some(SerialStatus::Revoked));
        assert_eq!(
            chuan_j.get(recent_superseded),
            Some(SerialStatus::Superseded)
        );
        assert_eq!(chuan_j.size, before.status_lists[1].size);
        let codes: Vec<_> = after
            .status_lists
            .iter()
            .map(|l| l.authority.as_str())
            .collect();
        assert_eq!(codes, ["川A", "川J"], "every authority, in code order");
        assert_eq!(
            (after.status_lists[0].entries, after.status_lists[1].entries),
            (0, 2)
        );
        assert!(lists.get("川A").unwrap().compacted_before.is_some());
    }
}
