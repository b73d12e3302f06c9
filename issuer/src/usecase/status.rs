//! Licence status: suspend (暂扣, D), revoke (吊销, F), reinstate, penalty points
//! (12 or more: B, 超分), and what each means for the current credential's state in
//! the status list.
//!
//! Each change reads the holder's letters and points inside its own write
//! transaction and writes the new ones from that read, so two clerks' changes are
//! applied one after the other: a revocation and a points change at the same moment
//! both stay, and two `points add 3` make 6.

use credential::licence::StatusSet;
use serde::Serialize;
use serde_json::json;

use super::{audit, holder, Registry};
use crate::error::IssuerError;
use crate::model::{CredentialState, POINTS_LIMIT};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

/// A holder's status after a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HolderStatus {
    /// Holder id.
    #[serde(skip)]
    pub holder: i64,
    /// The status letters (GA/T 16.25), e.g. `A`, `D`, `BD`.
    #[serde(serialize_with = "letters")]
    pub status: StatusSet,
    /// Penalty points of the current cycle.
    pub points: u32,
    /// The current credential's state in the status list.
    pub credential: CredentialState,
}

fn letters<S: serde::Serializer>(status: &StatusSet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&status.to_string())
}

/// What a status change does to the letters and points it read.
enum Change {
    Suspend,
    Revoke,
    Reinstate,
    SetPoints(i64),
    AddPoints(i64),
}

impl Change {
    fn action(&self) -> &'static str {
        match self {
            Change::Suspend => "status.suspend",
            Change::Revoke => "status.revoke",
            Change::Reinstate => "status.reinstate",
            Change::SetPoints(_) => "points.set",
            Change::AddPoints(_) => "points.add",
        }
    }

    fn apply(&self, status: StatusSet, points: u32) -> Result<(StatusSet, u32), Refusal> {
        let with_points = |new: i64| {
            let new = u32::try_from(new.clamp(0, i64::from(credential::licence::MAX_POINTS)))
                .unwrap_or(0);
            (status.with('B', new >= POINTS_LIMIT), new)
        };
        Ok(match self {
            Change::Suspend => (status.with('D', true), points),
            Change::Revoke => (status.with('F', true), points),
            Change::Reinstate if status.contains('F') => {
                return Err(Refusal::CannotReinstateRevoked)
            }
            Change::Reinstate => (
                status.with('D', false).with('B', points >= POINTS_LIMIT),
                points,
            ),
            Change::SetPoints(new) => with_points(*new),
            Change::AddPoints(added) => with_points(i64::from(points).saturating_add(*added)),
        })
    }
}

impl<S: Store> Registry<S> {
    /// 暂扣: status D, credential suspended in the status list.
    pub fn suspend(&mut self, holder_id: i64, now: u64) -> Result<HolderStatus, IssuerError> {
        self.change_status(holder_id, Change::Suspend, now)
    }

    /// 吊销: status F, credential revoked (permanent).
    pub fn revoke(&mut self, holder_id: i64, now: u64) -> Result<HolderStatus, IssuerError> {
        self.change_status(holder_id, Change::Revoke, now)
    }

    /// Lifts D (and B if points are below the limit). A revoked licence stays revoked.
    pub fn reinstate(&mut self, holder_id: i64, now: u64) -> Result<HolderStatus, IssuerError> {
        self.change_status(holder_id, Change::Reinstate, now)
    }

    /// Sets (`add == false`) or adds penalty points; reaching 12 adds B (points
    /// exceeded, 超分), below removes it.
    pub fn points(
        &mut self,
        holder_id: i64,
        points: i64,
        add: bool,
        now: u64,
    ) -> Result<HolderStatus, IssuerError> {
        let change = if add {
            Change::AddPoints(points)
        } else {
            Change::SetPoints(points)
        };
        self.change_status(holder_id, change, now)
    }

    fn change_status(
        &mut self,
        holder_id: i64,
        change: Change,
        now: u64,
    ) -> Result<HolderStatus, IssuerError> {
        let mut tx = self.store.begin()?;
        let before = holder(&tx, holder_id)?;
        let (status, points) = change.apply(before.status, before.input.points)?;
        tx.set_holder_status(holder_id, status, points)?;
        let credential = CredentialState::for_status(status);
        if let Some(current) = tx.current_credential(holder_id)? {
            // Revoked is permanent: a later change of letters never revives it.
            if current.state != CredentialState::Revoked {
                tx.set_credential_state(&current.authority_code, current.serial, credential)?;
            }
        }
        let after = HolderStatus {
            holder: holder_id,
            status,
            points,
            credential,
        };
        audit(
            &mut tx,
            &self.operator,
            now,
            change.action(),
            &holder_id.to_string(),
            Some(json!({"status": before.status.to_string(), "points": before.input.points})),
            Some(json!(after)),
        )?;
        tx.commit()?;
        Ok(after)
    }
}
