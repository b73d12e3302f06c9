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
    /// Current credentials whose digest is the made portrait's (format §17.3).
    pub portraits_signed_as_made: u64,
    /// Current credentials signed before the issuer made portraits: their digest
    /// is the submitted photo's; the next refresh or issuance re-signs them over the
    /// made portrait.
    pub portraits_signed_as_submitted: u64,
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
        let portraits = self.check_portrait_digests()?;
        let problems: Vec<String> = problems
            .into_iter()
            .chain(portraits.problems.iter().cloned())
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
            portraits_signed_as_made: portraits.as_made,
            portraits_signed_as_submitted: portraits.as_submitted,
        })
    }

    /// Every current credential's package, checked against the holder's approved
    /// portrait: its digest must be SHA-256(made bytes)[0..16] — or, for a credential
    /// signed before the issuer made portraits, the submitted photo's (counted, not a
    /// problem: the next refresh re-signs it) — and the package's portrait, if any,
    /// the made bytes.
    fn check_portrait_digests(&self) -> Result<PortraitDigestCheck, IssuerError> {
        use credential::licence::{portrait_digest, PORTRAIT_DIGEST_LEN};
        let mut check = PortraitDigestCheck::default();
        for current in self.store.current_packages()? {
            let problem = |what: &str| format!("credential {}: {what}", current.reference);
            let stored = holder(&self.store, current.holder_id)?;
            let Some(device_key) = stored.input.device_key else {
                check.problems.push(problem("holder has no device key"));
                continue;
            };
            let package =
                match credential::refresh::Package::decode_for(&current.package, &device_key) {
                    Ok(package) => package,
                    Err(e) => {
                        check.problems.push(problem(&format!("package: {e}")));
                        continue;
                    }
                };
            let Some(approved) = self.store.approved_portrait(current.holder_id)? else {
                check
                    .problems
                    .push(problem("holder has no approved portrait"));
                continue;
            };
            let signed = package.licence().portrait_digest;
            let made = approved.made.as_deref().map(portrait_digest);
            let submitted = approved.sha256.get(..PORTRAIT_DIGEST_LEN);
            if signed.is_some() && signed == made {
                check.as_made += 1;
                if package.portrait.is_some() && package.portrait != approved.made {
                    check
                        .problems
                        .push(problem("package portrait is not the made portrait"));
                }
            } else if signed.is_some() && signed.as_ref().map(|d| &d[..]) == submitted {
                check.as_submitted += 1;
            } else {
                check.problems.push(problem(
                    "portrait digest is not SHA-256 of the holder's made portrait",
                ));
            }
        }
        Ok(check)
    }
}

/// What [`Registry::check_portrait_digests`] found.
#[derive(Default)]
struct PortraitDigestCheck {
    as_made: u64,
    as_submitted: u64,
    problems: Vec<String>,
}
