//! The wallet refresh decision (spec/refresh.md §5): which holder a verified request
//! comes from, whether its nonce is new, whether the holder is over the rate limit,
//! and what the credential's state allows — then the re-signed package.
//!
//! Every decision reads what it decides on inside its write transaction, locked:
//! the nonce, the rate-limit count and the credential state are read where they
//! are written, so a replay on another service node is refused, the limit holds
//! across nodes, and a revocation committed before the transaction is always seen
//! (no refresh commits after it). The lock is the holder's own row for the usual
//! refresh, taken in a transaction that runs beside the other nodes' batches
//! ([`Registry::refresh_batch`]), and the whole registry for the rare one that
//! needs more. [`crate::serve`] only transports requests and answers.
//!
//! **Group commit.** A durable commit costs an fsync, which is far more than the
//! decision itself; one commit per refresh caps a node at one refresh per fsync,
//! however many wallets wait. So refreshes are decided in batches
//! ([`Registry::refresh_batch`]): one write transaction for the batch's usual
//! refreshes, written with a few statements for all of them (a database server
//! costs a round trip per statement), one commit, then every answer; the rare
//! request that needs more is decided after it, each behind its own savepoint.
//! Nothing is answered before its commit: a failed commit turns every answer of that
//! transaction into [`RefreshFailure::Commit`] (the wallet is told to retry), never
//! into a package the registry does not hold. [`GroupCommit`] is the writer that forms the batches: it
//! takes whatever verified requests are queued, up to [`MAX_BATCH`], and never waits
//! for more — an idle service answers a lone request at once, a busy one shares
//! each fsync among everyone who queued during the previous commit.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::mpsc;

use credential::refresh::{CredentialRef, RefreshRequest, RefreshResponse};
use tokio::sync::oneshot;

use super::issuance::{licence_of, refresh_audit, resign_in, sign, SignRequest, REFRESH_ACTION};
use super::{Keyring, Registry};
use crate::error::IssuerError;
use crate::model::{
    AuditEntry, CredentialState, Issued, KeyRecord, NonceUse, RefreshContext, RefreshedCredential,
};
use crate::refusal::Refusal;
use crate::store::{Store, StoreError, StoreRead, StoreTx};

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

impl RefreshPolicy {
    /// Nonces first received before this may be forgotten at `now`: a request is
    /// accepted while |now - requested_at| <= skew, so a nonce must be remembered
    /// for twice the skew from its first receipt.
    fn forget_nonces_before(&self, now: u64) -> u64 {
        now.saturating_sub(2 * self.max_skew_s)
    }

    /// Refreshes per holder per hour before `rate_limited` (at least one).
    fn hourly_limit(&self) -> u64 {
        self.refreshes_per_hour.max(1)
    }
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

    /// Refused with the refusal's own message.
    fn refused_as_such(
        refusal: credential::refresh::Refusal,
        holder: Option<i64>,
    ) -> WalletRefresh {
        WalletRefresh::refused(refusal, refusal.default_message(), holder)
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
    /// Decides every request of `batch`, in order; one answer per request, in the
    /// batch's order. A later request sees the earlier ones' writes (a nonce used
    /// twice in one batch is `replayed` the second time, both count towards the
    /// rate limit). Answers are only given once their commit succeeded.
    ///
    /// **Two transactions at most.** Nearly every refresh only re-signs the
    /// current credential: those are decided together in one *shared* write
    /// transaction ([`Store::begin_shared`]), which runs beside the other nodes'
    /// batches and never beside an office change (a revocation waits for the batch
    /// in flight, and the next batch reads it). The batch locks its holders, reads
    /// what it signs, signs, and writes with a few statements for all of them
    /// ([`Decider::hand_out`]). A request that needs more (a new serial, a
    /// portrait still to be made, a refusal from the credential's state) or whose
    /// signing failed is decided afterwards the exact way, [`decide_in`], in an
    /// ordinary transaction, each behind its own savepoint (a request whose
    /// decision fails is undone alone); so are the later requests of its phone, to
    /// keep each phone's requests in order.
    pub fn refresh_batch(
        &mut self,
        batch: &[VerifiedRequest],
        keyring: &mut Keyring,
        policy: RefreshPolicy,
    ) -> Vec<Result<WalletRefresh, RefreshFailure>> {
        let commit_failed = |count: usize, error: &dyn std::fmt::Display| {
            Err(RefreshFailure::Commit {
                batch: count,
                detail: error.to_string(),
            })
        };
        let decider = Decider {
            operator: &self.operator,
            dir: &self.dir,
            batch,
            policy,
        };
        let shared = self.store.begin_shared().and_then(|mut tx| {
            let answers = decider.resign_together(&mut tx, keyring)?;
            tx.commit().map(|()| answers)
        });
        let mut answers = match shared {
            Ok(answers) => answers,
            Err(error) => {
                return batch
                    .iter()
                    .map(|_| commit_failed(batch.len(), &error))
                    .collect()
            }
        };
        let exact: Vec<usize> = (0..batch.len()).filter(|i| answers[*i].is_none()).collect();
        if !exact.is_empty() {
            let decided = self.store.begin().and_then(|mut tx| {
                let decided = decider.decide_each(&mut tx, &exact, keyring)?;
                tx.commit().map(|()| decided)
            });
            match decided {
                Ok(decided) => {
                    for (index, answer) in exact.iter().zip(decided) {
                        answers[*index] = Some(answer);
                    }
                }
                Err(error) => {
                    for index in &exact {
                        answers[*index] = Some(commit_failed(exact.len(), &error));
                    }
                }
            }
        }
        answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or_else(|| Err(RefreshFailure::Decision("not decided".into())))
            })
            .collect()
    }
}

/// A package re-signed in the shared transaction, waiting to be handed out.
struct Resigned {
    /// The credential's state (suspended ones are answered `suspended`).
    state: CredentialState,
    kid: String,
    issued: Issued,
}

/// Re-signs the current credential from `context`, when that is all the refresh
/// takes: `None` when [`resign_in`] would do more or refuse (no credential,
/// revoked, authority changed, portrait not made yet), or when anything fails (the
/// exact way will say what).
fn resign(
    db: &impl StoreRead,
    dir: &Path,
    verified: &VerifiedRequest,
    context: &RefreshContext,
    keyring: &mut Keyring,
    keys: &mut ActiveKeys,
    lifetime_s: u64,
) -> Option<Resigned> {
    let current = context.current.as_ref()?;
    let made = context.portrait.as_ref()?.made.as_deref()?;
    let authority_name = context.authority_name.clone()?;
    let only_resigned = current.state != CredentialState::Revoked
        && current.authority_code == context.holder.input.authority_code;
    if !only_resigned {
        return None;
    }
    let device_key = context.holder.input.device_key?;
    let record = keys.get(db, &current.authority_code, verified.now).ok()??;
    let key = keyring.key(dir, &record).ok()?;
    let licence = licence_of(&context.holder, authority_name, made);
    let issued = sign(
        &licence,
        made.to_vec(),
        context.holder.id,
        current.serial,
        device_key,
        key,
        (verified.now, lifetime_s),
    )
    .ok()?;
    Some(Resigned {
        state: current.state,
        kid: record.kid,
        issued,
    })
}

/// The active key of each authority at each second of a batch, looked up once.
#[derive(Default)]
struct ActiveKeys(HashMap<(String, u64), Option<KeyRecord>>);

impl ActiveKeys {
    fn get(
        &mut self,
        db: &impl StoreRead,
        code: &str,
        at: u64,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let looked_up = (code.to_owned(), at);
        if let Some(found) = self.0.get(&looked_up) {
            return Ok(found.clone());
        }
        let found = db.active_key(code, at)?;
        self.0.insert(looked_up, found.clone());
        Ok(found)
    }
}

/// The decisions of one batch.
struct Decider<'a> {
    operator: &'a str,
    dir: &'a Path,
    batch: &'a [VerifiedRequest],
    policy: RefreshPolicy,
}

type Answer = Result<WalletRefresh, RefreshFailure>;

impl Decider<'_> {
    /// In the shared transaction: locks the batch's holders, reads what each
    /// refresh signs, re-signs and hands out what needs nothing more. `None` for a
    /// request left to the exact way ([`Decider::decide_each`]).
    fn resign_together(
        &self,
        tx: &mut impl StoreTx,
        keyring: &mut Keyring,
    ) -> Result<Vec<Option<Answer>>, StoreError> {
        use credential::refresh::Refusal as Wire;
        let device_keys: Vec<[u8; 32]> = self.batch.iter().map(|v| v.request.device_key).collect();
        tx.lock_holders(&device_keys)?;
        let contexts = tx.refresh_contexts(&device_keys)?;
        let mut answers: Vec<Option<Answer>> = self.batch.iter().map(|_| None).collect();
        let mut keys = ActiveKeys::default();
        let mut left_to_the_exact_way = HashSet::new();
        let mut resigned = Vec::new();
        for (index, (verified, context)) in self.batch.iter().zip(&contexts).enumerate() {
            let Some(context) = context else {
                answers[index] = Some(Ok(WalletRefresh::refused_as_such(
                    Wire::UnknownHolder,
                    None,
                )));
                continue;
            };
            let phone = verified.request.device_key;
            if !left_to_the_exact_way.contains(&phone) {
                let lifetime_s = self.policy.lifetime_s;
                if let Some(done) = resign(
                    &*tx, self.dir, verified, context, keyring, &mut keys, lifetime_s,
                ) {
                    resigned.push((index, done));
                    continue;
                }
            }
            left_to_the_exact_way.insert(phone);
        }
        self.hand_out(tx, resigned, &mut answers)?;
        Ok(answers)
    }

    /// In an ordinary transaction: the requests at `indices` (in order), each the
    /// exact way behind its own savepoint.
    fn decide_each(
        &self,
        tx: &mut impl StoreTx,
        indices: &[usize],
        keyring: &mut Keyring,
    ) -> Result<Vec<Answer>, StoreError> {
        let mut answers = Vec::with_capacity(indices.len());
        for index in indices {
            tx.savepoint()?;
            let decided = decide_in(
                tx,
                self.operator,
                self.dir,
                &self.batch[*index],
                keyring,
                self.policy,
            );
            match decided {
                Ok(_) => tx.release_savepoint()?,
                Err(_) => tx.rollback_to_savepoint()?,
            }
            answers.push(decided.map_err(|error| RefreshFailure::Decision(error.to_string())));
        }
        Ok(answers)
    }

    /// Decides the re-signed requests with a few statements for all of them: the
    /// nonces (first use only), the rate limit (counting the earlier ones of the
    /// batch), then the re-signed credentials and their audit rows, in the batch's
    /// order.
    fn hand_out(
        &self,
        tx: &mut impl StoreTx,
        signed: Vec<(usize, Resigned)>,
        answers: &mut [Option<Answer>],
    ) -> Result<(), StoreError> {
        use credential::refresh::Refusal as Wire;
        let replayed = |holder_id| {
            Some(Ok(WalletRefresh::refused_as_such(
                Wire::Replayed,
                Some(holder_id),
            )))
        };
        let mut first_uses = HashSet::new();
        let mut candidates = Vec::new();
        for (index, resigned) in signed {
            let request = &self.batch[index].request;
            if first_uses.insert((request.device_key, request.nonce)) {
                candidates.push((index, resigned));
            } else {
                answers[index] = replayed(resigned.issued.holder_id);
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let uses: Vec<NonceUse<'_>> = candidates
            .iter()
            .map(|(index, _)| {
                let VerifiedRequest { request, now } = &self.batch[*index];
                NonceUse {
                    device_key: &request.device_key,
                    nonce: &request.nonce,
                    at: *now,
                }
            })
            .collect();
        let earliest = uses.iter().map(|used| used.at).min().unwrap_or(0);
        let new = tx.remember_nonces(&uses, self.policy.forget_nonces_before(earliest))?;
        let mut fresh = Vec::new();
        for ((index, resigned), new) in candidates.into_iter().zip(new) {
            if new {
                fresh.push((index, resigned));
            } else {
                answers[index] = replayed(resigned.issued.holder_id);
            }
        }
        let holders: Vec<i64> = fresh
            .iter()
            .map(|(_, resigned)| resigned.issued.holder_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let subjects: Vec<String> = holders.iter().map(i64::to_string).collect();
        let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let times = tx.audit_times_since_each(
            REFRESH_ACTION,
            &subjects,
            earliest.saturating_sub(RATE_WINDOW_S),
            self.policy.hourly_limit(),
        )?;
        let mut refreshed_at: HashMap<i64, Vec<u64>> = holders.into_iter().zip(times).collect();
        let mut handed_out = Vec::new();
        for (index, resigned) in fresh {
            let now = self.batch[index].now;
            let holder_id = resigned.issued.holder_id;
            let times = refreshed_at.entry(holder_id).or_default();
            let mut recent: Vec<u64> = times
                .iter()
                .copied()
                .filter(|at| *at >= now.saturating_sub(RATE_WINDOW_S))
                .collect();
            recent.sort_unstable();
            if let Some(limited) = over_rate_limit(&recent, now, self.policy, holder_id) {
                answers[index] = Some(Ok(limited));
                continue;
            }
            times.push(now);
            handed_out.push((index, resigned));
        }
        let stored: Vec<Vec<u8>> = handed_out
            .iter()
            .map(|(_, resigned)| resigned.issued.stored_package())
            .collect();
        let refreshed: Vec<RefreshedCredential<'_>> = handed_out
            .iter()
            .zip(&stored)
            .map(|((_, resigned), package)| RefreshedCredential {
                authority_code: &resigned.issued.authority_code,
                serial: resigned.issued.serial,
                kid: &resigned.kid,
                issued_at: resigned.issued.issued_at,
                expires_at: resigned.issued.expires_at,
                package,
            })
            .collect();
        tx.refresh_credentials(&refreshed)?;
        let rows: Vec<(String, String)> = handed_out
            .iter()
            .map(|(_, resigned)| {
                let issued = &resigned.issued;
                (
                    issued.holder_id.to_string(),
                    refresh_audit(issued).to_string(),
                )
            })
            .collect();
        let entries: Vec<AuditEntry<'_>> = handed_out
            .iter()
            .zip(&rows)
            .map(|((_, resigned), (subject, new))| AuditEntry {
                at: resigned.issued.issued_at,
                operator: self.operator,
                action: REFRESH_ACTION,
                subject,
                old: None,
                new: Some(new),
            })
            .collect();
        tx.append_audits(&entries)?;
        for (index, resigned) in handed_out {
            answers[index] = Some(Ok(answered(
                resigned.state,
                &self.batch[index].request,
                &resigned.issued,
            )));
        }
        Ok(())
    }
}

/// The window of the rate limit.
const RATE_WINDOW_S: u64 = 3600;

/// The rate limit's refusal for a holder whose latest refreshes in the hour before
/// `now` were at `recent` (oldest first; the store reads at most the limit of them),
/// or `None` below the limit.
fn over_rate_limit(
    recent: &[u64],
    now: u64,
    policy: RefreshPolicy,
    holder_id: i64,
) -> Option<WalletRefresh> {
    let limit = policy.hourly_limit();
    if (recent.len() as u64) < limit {
        return None;
    }
    // The count drops below the limit when the oldest of the excess expires.
    let index = recent.len() - limit as usize;
    let retry_after_s = recent.get(index).map_or(RATE_WINDOW_S, |at| {
        (at + RATE_WINDOW_S).saturating_sub(now).max(1)
    });
    let message = format!(
        "the limit of {limit} refreshes per hour is reached: try again in {retry_after_s} s / 已达每小时 {limit} 次刷新上限：请 {retry_after_s} 秒后再试"
    );
    Some(WalletRefresh::refused(
        credential::refresh::Refusal::RateLimited { retry_after_s },
        message,
        Some(holder_id),
    ))
}

/// The answer carrying `issued`'s package, portrait included: suspended,
/// superseded (the wallet showed another credential) or current.
fn answered(state: CredentialState, request: &RefreshRequest, issued: &Issued) -> WalletRefresh {
    let package = issued.package();
    let handed_out = CredentialRef {
        authority: issued.authority_code.clone(),
        serial: issued.serial,
    };
    let response = if state == CredentialState::Suspended {
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
    WalletRefresh {
        response,
        holder: Some(issued.holder_id),
        serial: Some(issued.reference()),
    }
}

/// One request's decision in `tx` (inside the caller's savepoint), the exact way:
/// every read under the lock; every write it makes (the nonce, a re-signed or new
/// credential and its audit row) commits with the batch.
fn decide_in(
    tx: &mut impl StoreTx,
    operator: &str,
    dir: &Path,
    verified: &VerifiedRequest,
    keyring: &mut Keyring,
    policy: RefreshPolicy,
) -> Result<WalletRefresh, IssuerError> {
    use credential::refresh::Refusal as Wire;
    let VerifiedRequest { request, now } = verified;
    let now = *now;
    let Some(holder_id) = tx.holder_by_device_key(&request.device_key)? else {
        return Ok(WalletRefresh::refused_as_such(Wire::UnknownHolder, None));
    };
    let holder = Some(holder_id);
    let forget_before = policy.forget_nonces_before(now);
    if !tx.remember_nonce(&request.device_key, &request.nonce, now, forget_before)? {
        return Ok(WalletRefresh::refused_as_such(Wire::Replayed, holder));
    }
    // From here on the nonce is spent: every answer commits it.
    let recent = tx.audit_times_since(
        REFRESH_ACTION,
        &holder_id.to_string(),
        now.saturating_sub(RATE_WINDOW_S),
        policy.hourly_limit(),
    )?;
    if let Some(limited) = over_rate_limit(&recent, now, policy, holder_id) {
        return Ok(limited);
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
    Ok(answered(current.state, request, &issued))
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
    use credential::refresh::Package;
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

    /// Every way a credential is signed (a wallet's refresh in a batch, the
    /// office's refresh, a re-issue) stores it without the portrait and hands it out
    /// with it; `check` ties the two by the signed digest.
    #[test]
    fn credentials_are_stored_without_the_portrait_they_are_handed_out_with() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = office(dir.path());
        let mut keyring = keyring();
        let stored_as_handed_out = |registry: &Registry<SqliteStore>, phone: u8, package: &[u8]| {
            let handed_out = Package::decode_for(package, &device(phone)).unwrap();
            let holder_id = registry
                .store
                .holder_by_device_key(&device(phone))
                .unwrap()
                .unwrap();
            let made = registry
                .store
                .approved_portrait(holder_id)
                .unwrap()
                .unwrap()
                .made;
            assert!(made.is_some());
            assert_eq!(handed_out.portrait, made);
            let stored = registry
                .store
                .credential(&handed_out.authority, handed_out.serial)
                .unwrap()
                .unwrap();
            let stored = Package::decode_for(&stored.package, &device(phone)).unwrap();
            assert_eq!(stored.portrait, None);
            assert_eq!(
                (stored.issued_at, &stored.credentials),
                (handed_out.issued_at, &handed_out.credentials)
            );
        };
        let answers = registry.refresh_batch(&[request(1, 1)], &mut keyring, POLICY);
        let Ok(WalletRefresh {
            response: RefreshResponse::Current { package },
            ..
        }) = &answers[0]
        else {
            panic!("{}", code(&answers[0]));
        };
        stored_as_handed_out(&registry, 1, package);
        let holder_2 = registry
            .store
            .holder_by_device_key(&device(2))
            .unwrap()
            .unwrap();
        let refreshed = registry
            .refresh(holder_2, &mut keyring, NOW + 60, DEFAULT_LIFETIME_S)
            .unwrap();
        stored_as_handed_out(&registry, 2, &refreshed.package());
        let reissued = registry
            .issue(holder_2, None, &mut keyring, NOW + 120, DEFAULT_LIFETIME_S)
            .unwrap();
        assert_eq!(reissued.serial, refreshed.serial + 1);
        stored_as_handed_out(&registry, 2, &reissued.package());
        assert_eq!(registry.check().unwrap().portraits_signed_as_made, 2);
    }
}
