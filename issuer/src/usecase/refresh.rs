//! The wallet refresh decision (spec/refresh.md §5): which holder a verified request
//! comes from, whether its nonce is new, whether the holder is over the rate limit,
//! and what the credential's state allows — then the re-signed package.
//!
//! Every decision runs inside the write transaction, under the write lock: the
//! nonce, the rate-limit count and the credential state are read where they are
//! written, so a replay on another service node is refused, the limit holds across
//! nodes, and a revocation committed before the transaction is always seen (no
//! refresh commits after it). [`crate::serve`] only transports requests and answers.
//!
//! **Group commit.** A durable commit costs an fsync, which is far more than the
//! decision itself; one commit per refresh caps a node at one refresh per fsync,
//! however many wallets wait. So refreshes are decided in batches
//! ([`Registry::refresh_batch`]): one write transaction, each request's decision
//! behind its own savepoint (a request whose decision fails is undone alone, the
//! others keep theirs), one commit, then every answer. Nothing is answered before the
//! commit: a failed commit turns every answer of the batch into
//! [`RefreshFailure::Commit`] (the wallet is told to retry), never into a package the
//! registry does not hold. [`GroupCommit`] is the writer that forms the batches: it
//! takes whatever verified requests are queued, up to [`MAX_BATCH`], and never waits
//! for more — an idle service answers a lone request at once, a busy one shares
//! each fsync among everyone who queued during the previous commit.

use std::sync::mpsc;

use credential::refresh::{CredentialRef, RefreshRequest, RefreshResponse};
use tokio::sync::oneshot;

use super::issuance::{resign_in, SignRequest, REFRESH_ACTION};
use super::{Keyring, Registry};
use crate::error::IssuerError;
use crate::model::CredentialState;
use crate::refusal::Refusal;
use crate::store::{Store, StoreTx};

/// Most refreshes one commit carries: enough to share an fsync among a node's busy
/// wallets, few enough that the first of them is not kept long behind the last one's
/// signatures (64 decisions ≈ 64 × four signatures).
pub const MAX_BATCH: usize = 64;

/// The refresh service's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Lifetime of refreshed credentials.
    pub lifetime_s: u64,
    /// Allowed difference between the wallet's and the service's clocks.
    pub max_skew_s: u64,
    /// Refreshes per holder per hour before `rate_limited`.
    pub refreshes_per_hour: u64,
}

/// What the refresh use case decided, with what the log line may say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletRefresh {
    /// The answer for the wallet.
    pub response: RefreshResponse,
    /// The holder, once known.
    pub holder: Option<i64>,
    /// The serial handed out, as `authority/serial`.
    pub serial: Option<String>,
}

impl WalletRefresh {
    fn refused(
        refusal: credential::refresh::Refusal,
        message: String,
        holder: Option<i64>,
    ) -> WalletRefresh {
        WalletRefresh {
            response: RefreshResponse::Refused { refusal, message },
            holder,
            serial: None,
        }
    }
}

/// Why a refresh got no decision: the wallet is told `unavailable` (retry later);
/// the text is for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefreshFailure {
    /// This request's decision failed (its savepoint was undone; the others of its
    /// batch were not affected).
    #[error("the refresh decision failed: {0}")]
    Decision(String),
    /// The batch's transaction could not be started or committed: nothing of it is
    /// in the registry.
    #[error("the commit shared by {batch} refreshes failed: {detail}")]
    Commit {
        /// How many requests the failed transaction carried.
        batch: usize,
        /// The store's error.
        detail: String,
    },
    /// The registry writer is gone (it stopped after a panic): nothing was decided.
    #[error("the registry writer has stopped")]
    WriterStopped,
}

/// One verified request waiting for its decision, with the service's clock when it
/// arrived (the time its signature and timestamp were checked against).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The request, signature and timestamp already verified.
    pub request: RefreshRequest,
    /// The service's clock at receipt.
    pub now: u64,
}

impl<S: Store> Registry<S> {
    /// Decides every request of `batch` in one write transaction with one durable
    /// commit, in order, each behind its own savepoint; one answer per request, in
    /// the batch's order. A later request sees the earlier ones' writes (a nonce
    /// used twice in one batch is `replayed` the second time, both count towards
    /// the rate limit). Answers are only given once the commit succeeded.
    pub fn refresh_batch(
        &mut self,
        batch: &[VerifiedRequest],
        keyring: &mut Keyring,
        policy: RefreshPolicy,
    ) -> Vec<Result<WalletRefresh, RefreshFailure>> {
        let commit_failed = |error: &dyn std::fmt::Display| {
            let failure = RefreshFailure::Commit {
                batch: batch.len(),
                detail: error.to_string(),
            };
            vec![Err(failure); batch.len()]
        };
        if batch.is_empty() {
            return Vec::new();
        }
        let mut tx = match self.store.begin() {
            Ok(tx) => tx,
            Err(error) => return commit_failed(&error),
        };
        let mut answers = Vec::with_capacity(batch.len());
        for verified in batch {
            if let Err(error) = tx.savepoint() {
                return commit_failed(&error);
            }
            let decided = decide_in(
                &mut tx,
                &self.operator,
                &self.dir,
                verified,
                keyring,
                policy,
            );
            let kept = match decided {
                Ok(_) => tx.release_savepoint(),
                Err(_) => tx.rollback_to_savepoint(),
            };
            if let Err(error) = kept {
                return commit_failed(&error);
            }
            answers.push(decided.map_err(|error| RefreshFailure::Decision(error.to_string())));
        }
        match tx.commit() {
            Ok(()) => answers,
            Err(error) => commit_failed(&error),
        }
    }
}

/// One request's decision in `tx` (inside the caller's savepoint); every write it
/// makes (the nonce, a re-signed credential and its audit row) commits with the
/// batch.
fn decide_in(
    tx: &mut impl StoreTx,
    operator: &str,
    dir: &std::path::Path,
    verified: &VerifiedRequest,
    keyring: &mut Keyring,
    policy: RefreshPolicy,
) -> Result<WalletRefresh, IssuerError> {
    use credential::refresh::Refusal as Wire;
    let VerifiedRequest { request, now } = verified;
    let now = *now;
    let Some(holder_id) = tx.holder_by_device_key(&request.device_key)? else {
        return Ok(WalletRefresh::refused(
            Wire::UnknownHolder,
            Wire::UnknownHolder.default_message(),
            None,
        ));
    };
    let holder = Some(holder_id);
    // A request is accepted while |now - requested_at| <= skew, so a nonce must
    // be remembered for twice the skew from its first receipt.
    let forget_before = now.saturating_sub(2 * policy.max_skew_s);
    if !tx.remember_nonce(&request.device_key, &request.nonce, now, forget_before)? {
        return Ok(WalletRefresh::refused(
            Wire::Replayed,
            Wire::Replayed.default_message(),
            holder,
        ));
    }
    // From here on the nonce is spent: every answer commits it.
    let limit = policy.refreshes_per_hour.max(1);
    let recent = tx.audit_times_since(
        REFRESH_ACTION,
        &holder_id.to_string(),
        now.saturating_sub(3600),
    )?;
    if recent.len() as u64 >= limit {
        // The count drops below the limit when the oldest of the excess expires.
        let index = recent.len() - limit as usize;
        let retry_after_s = recent
            .get(index)
            .map_or(3600, |at| (at + 3600).saturating_sub(now).max(1));
        let message = format!(
            "{} refreshes in the last hour (limit {limit}): try again in {retry_after_s} s",
            recent.len()
        );
        return Ok(WalletRefresh::refused(
            Wire::RateLimited { retry_after_s },
            message,
            holder,
        ));
    }
    let Some(current) = tx.current_credential(holder_id)? else {
        return Ok(WalletRefresh::refused(
            Wire::UnknownHolder,
            "no credential has been issued to this phone yet: ask the licensing office to issue one".into(),
            holder,
        ));
    };
    let request_ref = SignRequest::new(holder_id, "refresh", now, policy.lifetime_s);
    let issued = match resign_in(tx, operator, dir, &current, request_ref, keyring) {
        Ok(issued) => issued,
        Err(IssuerError::Refused(Refusal::CredentialRevoked(_) | Refusal::LicenceRevoked(_))) => {
            return Ok(WalletRefresh::refused(
                Wire::Revoked,
                format!(
                    "credential {}/{} is revoked (吊销): it must no longer be shown",
                    current.authority_code, current.serial
                ),
                holder,
            ));
        }
        Err(error) => return Err(error),
    };
    let handed_out = CredentialRef {
        authority: issued.authority_code.clone(),
        serial: issued.serial,
    };
    let package = issued.package();
    let response = if current.state == CredentialState::Suspended {
        RefreshResponse::Suspended { package }
    } else if request
        .current
        .as_ref()
        .is_some_and(|current| *current != handed_out)
    {
        RefreshResponse::Superseded { package }
    } else {
        RefreshResponse::Current { package }
    };
    Ok(WalletRefresh {
        response,
        holder,
        serial: Some(issued.reference()),
    })
}

/// Work that needs the registry or the keyring, run on the writer's thread.
type WriterWork<S> = Box<dyn FnOnce(&mut Registry<S>, &mut Keyring) + Send>;

/// A job for the registry writer.
enum Job<S: Store> {
    /// A verified request and where its answer goes.
    Refresh(
        VerifiedRequest,
        oneshot::Sender<Result<WalletRefresh, RefreshFailure>>,
    ),
    /// Anything else that needs the registry or the keyring (unlocking keys, the
    /// health check), run between batches.
    Run(WriterWork<S>),
}

/// The one writer of a refresh service: a thread that owns the registry connection
/// and the unlocked keyring and commits refreshes in batches (see the module
/// documentation). Dropping it stops the thread once the queue is empty.
pub struct GroupCommit<S: Store> {
    jobs: mpsc::Sender<Job<S>>,
}

impl<S: Store + Send + 'static> GroupCommit<S> {
    /// Starts the writer over `registry` and `keyring`.
    pub fn start(
        registry: Registry<S>,
        keyring: Keyring,
        policy: RefreshPolicy,
    ) -> Result<GroupCommit<S>, IssuerError> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("registry-writer".into())
            .spawn(move || write_loop(registry, keyring, policy, &queue))
            .map_err(|e| {
                IssuerError::invalid("serve", format!("cannot start the registry writer: {e}"))
            })?;
        Ok(GroupCommit { jobs })
    }

    /// Queues a verified request; the answer arrives on the receiver once its batch
    /// committed (`.await` it, or `blocking_recv` outside the async runtime).
    pub fn submit(
        &self,
        verified: VerifiedRequest,
    ) -> oneshot::Receiver<Result<WalletRefresh, RefreshFailure>> {
        let (answer, receiver) = oneshot::channel();
        if let Err(mpsc::SendError(Job::Refresh(_, answer))) =
            self.jobs.send(Job::Refresh(verified, answer))
        {
            let _ = answer.send(Err(RefreshFailure::WriterStopped));
        }
        receiver
    }

    /// Runs `work` on the writer's registry and keyring between two batches; the
    /// receiver gets its result (`Err` if the writer has stopped).
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Registry<S>, &mut Keyring) -> T + Send + 'static,
    ) -> oneshot::Receiver<T> {
        let (answer, receiver) = oneshot::channel();
        let job = Job::Run(Box::new(move |registry, keyring| {
            let _ = answer.send(work(registry, keyring));
        }));
        // A stopped writer drops the job, and with it the sender: the receiver errs.
        let _ = self.jobs.send(job);
        receiver
    }
}

/// Takes the next batch: blocks for the first job, then takes whatever else is
/// already queued, up to [`MAX_BATCH`] refreshes, without waiting for more. Other
/// jobs met on the way run at once (before the batch).
fn write_loop<S: Store>(
    mut registry: Registry<S>,
    mut keyring: Keyring,
    policy: RefreshPolicy,
    queue: &mpsc::Receiver<Job<S>>,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::new();
        let mut answers = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Refresh(verified, answer) => {
                    batch.push(verified);
                    answers.push(answer);
                }
                // A panicking job drops its answer (its caller sees an error); the
                // writer carries on.
                Job::Run(work) => {
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        work(&mut registry, &mut keyring)
                    }));
                }
            }
            if batch.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        // A panic in a decision (a bug) must not stop the service: the transaction
        // is dropped, so rolled back, and this batch's wallets are told to retry.
        let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            registry.refresh_batch(&batch, &mut keyring, policy)
        }));
        match decided {
            Ok(decided) => {
                for (answer, decided) in answers.into_iter().zip(decided) {
                    let _ = answer.send(decided);
                }
            }
            Err(_) => {
                for answer in answers {
                    let _ = answer.send(Err(RefreshFailure::Decision(
                        "the decision panicked; the batch was rolled back".into(),
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::keyfile::KdfParams;
    use crate::model::{HolderInput, PortraitSource, DEFAULT_LIFETIME_S};
    use crate::portrait::{synthetic_portrait, ImageFormat};
    use crate::store::sqlite::SqliteStore;
    use crate::store::StoreRead;
    use credential::refresh::Refusal as Wire;
    use zeroize::Zeroizing;

    const NOW: u64 = 1_780_279_200;
    const POLICY: RefreshPolicy = RefreshPolicy {
        lifetime_s: DEFAULT_LIFETIME_S,
        max_skew_s: 300,
        refreshes_per_hour: 3,
    };

    /// Phone `n`'s public key.
    fn device(n: u8) -> [u8; 32] {
        credential::ed25519_dalek::SigningKey::from_bytes(&[n; 32])
            .verifying_key()
            .to_bytes()
    }

    fn keyring() -> Keyring {
        Keyring::new(Zeroizing::new(b"test passphrase".to_vec()))
    }

    /// Holders 1 (川J) and 2 (川A), each with phone `n` and a credential.
    fn office(dir: &std::path::Path) -> Registry<SqliteStore> {
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        let store = SqliteStore::in_memory().unwrap();
        let mut registry = Registry::with_store(store, dir, "test", KdfParams::fast_for_tests());
        let mut keyring = keyring();
        registry.root_init(&mut keyring, NOW).unwrap();
        registry
            .authority_add("川J", "四川省遂宁市公安局交通警察支队", &mut keyring, NOW)
            .unwrap();
        registry
            .authority_add("川A", "四川省成都市公安局交通管理局", &mut keyring, NOW)
            .unwrap();
        let portrait = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        for (n, code) in [(1u8, "川J"), (2, "川A")] {
            let input = HolderInput {
                device_key: Some(device(n)),
                authority_code: code.into(),
                ..crate::store::contract::input(u32::from(n))
            };
            let id = registry.holder_add(&input, NOW).unwrap();
            registry
                .portrait_add(id, PortraitSource::Retained, &portrait, NOW)
                .unwrap();
            registry
                .issue(id, None, &mut keyring, NOW, DEFAULT_LIFETIME_S)
                .unwrap();
        }
        registry
    }

    fn request(phone: u8, nonce: u8) -> VerifiedRequest {
        VerifiedRequest {
            request: RefreshRequest {
                device_key: device(phone),
                requested_at: NOW,
                nonce: [nonce; 16],
                current: None,
            },
            now: NOW + 60,
        }
    }

    fn code(answer: &Result<WalletRefresh, RefreshFailure>) -> &'static str {
        match answer {
            Ok(decided) => decided.response.code(),
            Err(RefreshFailure::Decision(_)) => "decision failed",
            Err(_) => "other failure",
        }
    }

    fn refreshes_in_audit(registry: &Registry<SqliteStore>) -> usize {
        registry
            .store
            .audit_recent(1000)
            .unwrap()
            .iter()
            .filter(|entry| entry.action == REFRESH_ACTION)
            .count()
    }

    #[test]
    fn one_commit_decides_a_batch_in_order_with_earlier_writes_seen() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = office(dir.path());
        let mut keyring = keyring();
        // Holder 1 four times (limit 3), a nonce repeated, an unknown phone.
        let batch = [
            request(1, 1),
            request(1, 2),
            request(1, 1),
            request(9, 1),
            request(1, 3),
            request(2, 1),
            request(1, 4),
        ];
        let answers = registry.refresh_batch(&batch, &mut keyring, POLICY);
        let codes: Vec<_> = answers.iter().map(code).collect();
        assert_eq!(
            codes,
            [
                "ok",
                "ok",
                "replayed",
                "unknown_holder",
                "ok",
                "ok",
                "rate_limited"
            ]
        );
        assert_eq!(refreshes_in_audit(&registry), 4);
        // Committed: the same nonce is refused by the next batch.
        let again = registry.refresh_batch(&[request(2, 1)], &mut keyring, POLICY);
        assert!(matches!(
            &again[0],
            Ok(WalletRefresh {
                response: RefreshResponse::Refused {
                    refusal: Wire::Replayed,
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn a_failing_decision_is_undone_alone_and_the_rest_of_the_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = office(dir.path());
        // 川A's key file is gone: its holder's decision fails when it signs.
        let record = registry.store.active_key("川A", NOW + 60).unwrap().unwrap();
        std::fs::remove_file(dir.path().join("keys").join(&record.file_name)).unwrap();
        let mut keyring = keyring();
        let batch = [request(1, 1), request(2, 1), request(1, 2)];
        let answers = registry.refresh_batch(&batch, &mut keyring, POLICY);
        let codes: Vec<_> = answers.iter().map(code).collect();
        assert_eq!(codes, ["ok", "decision failed", "ok"]);
        assert_eq!(refreshes_in_audit(&registry), 2);
        // The others committed (their nonces are spent); the failed request's nonce
        // was undone with it, so the same request is decided again, not `replayed`.
        let answers = registry.refresh_batch(&[request(1, 1), request(1, 3)], &mut keyring, POLICY);
        let codes: Vec<_> = answers.iter().map(code).collect();
        assert_eq!(codes, ["replayed", "ok"]);
        let again = registry.refresh_batch(&[request(2, 1)], &mut keyring, POLICY);
        assert_eq!(code(&again[0]), "decision failed");
    }
}
