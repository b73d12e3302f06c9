//! Enrolment: one holder at the counter, many from a CSV file, and changes to a
//! holder's licence data (which re-issue the credential in the same transaction).
//!
//! Input is checked at the first command that can know it is wrong: a licence whose
//! validity has ended, a citizen-ID licence number with a wrong GB 11643 check digit
//! or a birth date it contradicts, an authority this registry does not have — each a
//! [`Refusal`] here, not a credential that every verifier will reject later.

use credential::date::Date;
use credential::licence::StatusSet;
use serde::Serialize;
use serde_json::{json, Value};

use super::issuance::{sign_new_serial_in, SignRequest};
use super::portraits::{insert_portrait, PortraitAdded};
use super::reports::HolderFields;
use super::{audit, holder, Keyring, Registry};
use crate::csv_import::ImportLine;
use crate::error::IssuerError;
use crate::model::{
    HolderChanges, HolderInput, Issued, PortraitSource, PortraitState, POINTS_LIMIT,
};
use crate::refusal::Refusal;
use crate::store::{Store, StoreRead, StoreTx};

/// China's local time (UTC+8) decides what "today" is for a licence's validity.
pub const LOCAL_UTC_OFFSET_S: i64 = 8 * 3600;

/// A refused line of an import: its physical line number and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based physical line number in the file (the header is line 1).
    pub line: usize,
    /// Stable code of the reason.
    pub code: &'static str,
    /// Why, for the clerk.
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Holders enrolled (0 if nothing was committed).
    pub added: usize,
    /// Whether the good lines were committed (`false` with `--all-or-nothing` and a
    /// bad line).
    pub committed: bool,
    /// Blank lines passed over.
    pub blank_lines: usize,
    /// Every refused line, in file order.
    pub errors: Vec<LineError>,
}

/// What `holder update` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderUpdated {
    /// Holder id.
    pub holder: i64,
    /// The new credential, if the holder had one (the old serial is superseded).
    pub reissued: Option<Issued>,
}

impl<S: Store> Registry<S> {
    /// Enrols one holder; returns the holder id.
    pub fn holder_add(&mut self, input: &HolderInput, now: u64) -> Result<i64, IssuerError> {
        let mut tx = self.store.begin()?;
        let id = enrol(&mut tx, &self.operator, input, None, now)?;
        tx.commit()?;
        Ok(id)
    }

    /// Enrols the holders of an import, in one transaction: every line is either
    /// enrolled or reported with its physical line number. With `all_or_nothing`, one
    /// bad line rolls back every line.
    pub fn holder_import(
        &mut self,
        lines: &[ImportLine],
        blank_lines: usize,
        all_or_nothing: bool,
        now: u64,
        mut progress: impl FnMut(),
    ) -> Result<ImportReport, IssuerError> {
        let operator = self.operator.as_str();
        let mut tx = self.store.begin()?;
        let mut added = 0;
        let mut errors = Vec::new();
        for line in lines {
            progress();
            let outcome = match &line.row {
                Ok(row) => {
                    tx.savepoint()?;
                    match enrol(&mut tx, operator, &row.input, row.portrait.as_deref(), now) {
                        Ok(_) => {
                            tx.release_savepoint()?;
                            Ok(())
                        }
                        Err(e @ (IssuerError::Refused(_) | IssuerError::Invalid { .. })) => {
                            tx.rollback_to_savepoint()?;
                            Err((e.code(), e.to_string()))
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(reason) => Err(("malformed_line", reason.clone())),
            };
            match outcome {
                Ok(()) => added += 1,
                Err((code, reason)) => errors.push(LineError {
                    line: line.number,
                    code,
                    reason,
                }),
            }
        }
        if all_or_nothing && !errors.is_empty() {
            tx.rollback()?;
            return Ok(ImportReport {
                added: 0,
                committed: false,
                blank_lines,
                errors,
            });
        }
        if added > 0 {
            audit(
                &mut tx,
                operator,
                now,
                "holder.import",
                "batch",
                None,
                Some(json!({"added": added, "rejected": errors.len()})),
            )?;
        }
        tx.commit()?;
        Ok(ImportReport {
            added,
            committed: true,
            blank_lines,
            errors,
        })
    }

    /// Applies changes to a holder's licence data and, if the holder has a
    /// credential, re-issues it — in one transaction, so no refresh or status change
    /// can slip in between the change and the new credential.
    pub fn holder_update(
        &mut self,
        holder_id: i64,
        changes: &HolderChanges,
        keyring: &mut Keyring,
        now: u64,
        lifetime_s: u64,
    ) -> Result<HolderUpdated, IssuerError> {
        let mut tx = self.store.begin()?;
        let before = holder(&tx, holder_id)?.input;
        let after = changes.apply(&before);
        if after == before {
            return Err(Refusal::NothingToChange.into());
        }
        validate_input(&tx, &after, now)?;
        tx.update_holder(holder_id, &after)?;
        audit(
            &mut tx,
            &self.operator,
            now,
            "holder.update",
            &holder_id.to_string(),
            Some(holder_json(&before)),
            Some(holder_json(&after)),
        )?;
        let reissued = if tx.current_credential(holder_id)?.is_some() {
            Some(sign_new_serial_in(
                &mut tx,
                &self.operator,
                &self.dir,
                SignRequest::new(holder_id, "licence data changed", now, lifetime_s),
                keyring,
            )?)
        } else {
            None
        };
        tx.commit()?;
        Ok(HolderUpdated {
            holder: holder_id,
            reissued,
        })
    }
}

/// Enrols one holder in `tx` (one line of an import: inside the caller's savepoint):
/// the holder, its audit row, and its retained portrait if any, which must pass the
/// automatic checks.
fn enrol(
    tx: &mut impl StoreTx,
    operator: &str,
    input: &HolderInput,
    portrait: Option<&[u8]>,
    now: u64,
) -> Result<i64, IssuerError> {
    validate_input(tx, input, now)?;
    if tx
        .holder_by_licence_number(&input.licence_number)?
        .is_some()
    {
        return Err(Refusal::LicenceNumberTaken(input.licence_number.clone()).into());
    }
    let status = if input.points >= POINTS_LIMIT {
        StatusSet::NORMAL.with('B', true)
    } else {
        StatusSet::NORMAL
    };
    let id = tx.insert_holder(input, status, now)?;
    audit(
        tx,
        operator,
        now,
        "holder.add",
        &id.to_string(),
        None,
        Some(holder_json(input)),
    )?;
    if let Some(bytes) = portrait {
        let PortraitAdded {
            state, failures, ..
        } = insert_portrait(tx, operator, id, PortraitSource::Retained, bytes, now)?;
        if state != PortraitState::Approved {
            return Err(Refusal::RetainedPortraitFails(failures.join("; ")).into());
        }
    }
    Ok(id)
}

/// Everything the counter can know is wrong with a holder's data before anything is
/// stored or signed.
fn validate_input(db: &impl StoreRead, input: &HolderInput, now: u64) -> Result<(), IssuerError> {
    let licence = input.to_licence(
        "-".into(),
        StatusSet::NORMAL,
        [0; credential::licence::PORTRAIT_DIGEST_LEN],
    );
    licence
        .validate()
        .map_err(|e| IssuerError::invalid("licence", e.to_string()))?;
    if let Some(key) = input.device_key {
        credential::signature::public_key(&key, "device key")
            .map_err(|e| IssuerError::invalid("device key", e.to_string()))?;
    }
    check_citizen_id(&input.licence_number, input.birth_date)?;
    check_still_valid(input, now)?;
    if !db.authority_exists(&input.authority_code)? {
        return Err(Refusal::UnknownAuthority(input.authority_code.clone()).into());
    }
    Ok(())
}

/// A licence whose validity ended before today (China time) cannot be enrolled,
/// changed to or issued: every verifier would reject its credential.
pub(super) fn check_still_valid(input: &HolderInput, now: u64) -> Result<(), Refusal> {
    match input.validity.to {
        Some(to) if to < Date::at(now, LOCAL_UTC_OFFSET_S) => Err(Refusal::LicenceExpired {
            valid_to: to.to_string(),
        }),
        _ => Ok(()),
    }
}

/// An 18-character licence number of 17 digits and a check character is a citizen
/// ID (GB 11643): its check character must be right and its birth date (characters
/// 7–14) must be the holder's. Other licence numbers (foreigners') are not checked.
fn check_citizen_id(number: &str, birth_date: Date) -> Result<(), Refusal> {
    let (Some(digits), Some(check)) = (number.get(..17), number.get(17..)) else {
        return Ok(());
    };
    let looks_like_citizen_id = number.len() == 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && check.len() == 1
        && check
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'X' || b == b'x');
    if !looks_like_citizen_id {
        return Ok(());
    }
    let first17: u64 = digits
        .parse()
        .map_err(|_| Refusal::CitizenIdCheckDigit(number.to_owned()))?;
    if !check.eq_ignore_ascii_case(&credential::licence::citizen_id_check(first17).to_string()) {
        return Err(Refusal::CitizenIdCheckDigit(number.to_owned()));
    }
    let encoded = digits.get(6..14).and_then(|ymd| {
        let (y, m, d) = (ymd.get(..4)?, ymd.get(4..6)?, ymd.get(6..)?);
        Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    });
    match encoded {
        Some(encoded) if encoded == birth_date => Ok(()),
        Some(encoded) => Err(Refusal::BirthDateMismatch {
            given: birth_date.to_string(),
            in_licence_number: encoded.to_string(),
        }),
        None => Err(Refusal::CitizenIdCheckDigit(number.to_owned())),
    }
}

/// A holder's data as the audit log records it.
fn holder_json(input: &HolderInput) -> Value {
    json!(HolderFields::from(input))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn date(y: i64, m: u32, d: u32) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn citizen_ids_are_checked_and_other_numbers_are_not() {
        // 11010519491231002X is the standard's own example.
        assert_eq!(
            check_citizen_id("11010519491231002X", date(1949, 12, 31)),
            Ok(())
        );
        assert_eq!(
            check_citizen_id("11010519491231002x", date(1949, 12, 31)),
            Ok(())
        );
        assert_eq!(
            check_citizen_id("110105194912310021", date(1949, 12, 31)),
            Err(Refusal::CitizenIdCheckDigit("110105194912310021".into()))
        );
        assert!(matches!(
            check_citizen_id("11010519491231002X", date(1950, 1, 1)),
            Err(Refusal::BirthDateMismatch { .. })
        ));
        assert_eq!(check_citizen_id("L00000001", date(1990, 1, 1)), Ok(()));
        assert_eq!(
            check_citizen_id("X1234567890123456Y", date(1990, 1, 1)),
            Ok(())
        );
    }
}
