//! The wallet refresh decision (spec/refresh.md §5): which holder a verified request
//! comes from, whether its nonce is new, whether the holder is over the rate limit,
//! and what the credential's state allows — then the re-signed package.
//!
//! All of it is one transaction, under the write lock, with **one** durable commit:
//! the nonce, the rate-limit count and the credential state are read where they are
//! written, so a replay on another service node is refused, the limit holds across
//! nodes, and a revocation committed before this transaction is always seen (no
//! refresh commits after it). [`crate::serve`] only transports requests and answers.

use credential::refresh::{CredentialRef, RefreshRequest, RefreshResponse};

use super::issuance::{resign_in, SignRequest, REFRESH_ACTION};
use super::{Keyring, Registry};
use crate::error::IssuerError;
use crate::model::CredentialState;
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

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

impl<S: Store> Registry<S> {
    /// Answers a wallet's refresh request whose signature and timestamp were already
    /// verified ([`credential::refresh::verify_request`]), at `now`.
    pub fn refresh_for_wallet(
        &mut self,
        request: &RefreshRequest,
        keyring: &mut Keyring,
        now: u64,
        policy: RefreshPolicy,
    ) -> Result<WalletRefresh, IssuerError> {
        use credential::refresh::Refusal as Wire;
        let mut tx = self.store.begin()?;
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
            tx.commit()?;
            return Ok(WalletRefresh::refused(
                Wire::RateLimited { retry_after_s },
                message,
                holder,
            ));
        }
        let Some(current) = tx.current_credential(holder_id)? else {
            tx.commit()?;
            return Ok(WalletRefresh::refused(
                Wire::UnknownHolder,
                "no credential has been issued to this phone yet: ask the licensing office to issue one".into(),
                holder,
            ));
        };
        let request_ref = SignRequest::new(holder_id, "refresh", now, policy.lifetime_s);
        let issued = match resign_in(
            &mut tx,
            &self.operator,
            &self.dir,
            &current,
            request_ref,
            keyring,
        ) {
            Ok(issued) => issued,
            Err(IssuerError::Refused(
                Refusal::CredentialRevoked(_) | Refusal::LicenceRevoked(_),
            )) => {
                tx.commit()?;
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
        tx.commit()?;
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
}
