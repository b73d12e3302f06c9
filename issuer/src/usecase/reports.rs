//! Read-only reports: a holder's record, the audit log, the integrity check. They
//! decide nothing, so they read outside any write transaction.

use serde::Serialize;

use super::{holder, Registry};
use crate::error::IssuerError;
use crate::model::{AuditRecord, Channel, CredentialState, HolderInput};
use crate::store::Store;

/// A holder's licence data as reports and the audit log show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HolderFields {
    /// 证号.
    pub licence_number: String,
    /// 姓名.
    pub name: String,
    /// 性别 (M/F).
    pub sex: &'static str,
    /// 国籍.
    pub nationality: String,
    /// 出生日期.
    pub birth_date: String,
    /// 住址.
    pub address: String,
    /// 档案编号.
    pub file_number: String,
    /// 初次领证日期.
    pub first_issue_date: String,
    /// 准驾车型.
    pub classes: String,
    /// 有效期限 from.
    pub valid_from: String,
    /// 有效期限 to (`None`: long-term).
    pub valid_to: Option<String>,
    /// 发证机关 code.
    pub authority: String,
    /// 累积记分.
    pub points: u32,
    /// Enrolment channel.
    pub channel: Channel,
    /// Device key (hex).
    pub device_key: Option<String>,
}

impl From<&HolderInput> for HolderFields {
    fn from(input: &HolderInput) -> HolderFields {
        HolderFields {
            licence_number: input.licence_number.clone(),
            name: input.name.clone(),
            sex: input.sex.label(false),
            nationality: input.nationality.clone(),
            birth_date: input.birth_date.to_string(),
            address: input.address.clone(),
            file_number: input.file_number.clone(),
            first_issue_date: input.first_issue_date.to_string(),
            classes: input.classes.to_string(),
            valid_from: input.validity.from.to_string(),
            valid_to: input.validity.to.map(|d| d.to_string()),
            authority: input.authority_code.clone(),
            points: input.points,
            channel: input.channel,
            device_key: input.device_key.map(hex::encode),
        }
    }
}

/// A holder as `holder show` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HolderReport {
    /// Holder id.
    pub id: i64,
    /// The licence data.
    #[serde(flatten)]
    pub fields: HolderFields,
    /// Status letters.
    pub status: String,
    /// The current credential.
    pub credential: Option<CredentialReport>,
    /// The approved portrait's id.
    pub portrait: Option<i64>,
}

/// A holder's current credential in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CredentialReport {
    /// Authority code.
    pub authority: String,
    /// Serial.
    pub serial: u64,
    /// State in the status list.
    pub state: CredentialState,
    /// Expiry (Unix seconds).
    pub expires_at: u64,
}

/// The integrity check's counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Always `ok` (a failed check is an error).
    pub integrity: &'static str,
    /// Holders.
    pub holders: u64,
    /// Credentials, superseded included.
    pub credentials: u64,
    /// Not superseded.
    pub current_credentials: u64,
    /// Audit entries.
    pub audit_entries: u64,
}

impl<S: Store> Registry<S> {
    /// A holder's record (for `holder show`).
    pub fn holder_report(&self, id: i64) -> Result<HolderReport, IssuerError> {
        let stored = holder(&self.store, id)?;
        let credential = self
            .store
            .current_credential(id)?
            .map(|c| CredentialReport {
                authority: c.authority_code,
                serial: c.serial,
                state: c.state,
                expires_at: c.expires_at,
            });
        Ok(HolderReport {
            id,
            fields: HolderFields::from(&stored.input),
            status: stored.status.to_string(),
            credential,
            portrait: self.store.approved_portrait(id)?.map(|p| p.id),
        })
    }

    /// Proves the store answers (the service's health check): one indexed query.
    pub fn ping(&self) -> Result<(), IssuerError> {
        self.store.holder_by_device_key(&[0; 32])?;
        Ok(())
    }

    /// The last `limit` audit entries, oldest first (commit order).
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, IssuerError> {
        Ok(self.store.audit_recent(limit)?)
    }

    /// The store's integrity check plus the registry's own invariants.
    pub fn check(&self) -> Result<CheckReport, IssuerError> {
        let report = self.store.integrity()?;
        if let Some(problem) = report.storage_problem {
            return Err(IssuerError::Integrity(problem));
        }
        let problems: Vec<String> = [
            (report.foreign_key_violations, "foreign key violations"),
            (
                report.serial_counters_behind,
                "serial counters behind issued serials",
            ),
            (
                report.holders_with_two_current,
                "holders with two current credentials",
            ),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !problems.is_empty() {
            return Err(IssuerError::Integrity(problems.join(", ")));
        }
        Ok(CheckReport {
            integrity: "ok",
            holders: report.holders,
            credentials: report.credentials,
            current_credentials: report.current_credentials,
            audit_entries: report.audit_entries,
        })
    }
}
