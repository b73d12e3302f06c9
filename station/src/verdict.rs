//! A verdict as the station's page shows it: the answer, the reason in both
//! languages, the fields of the presented profile, when the code was generated,
//! warnings.
//!
//! The desk rule is applied here, after verification: a presentation that verifies
//! but discloses more than the desk may see is turned into a refusal *and its fields
//! are dropped*, so they never reach the browser.

use credential::licence::LicenceRecord;
use credential::verify::Verdict;
use credential::{Field, Profile};
use serde_json::{json, Value};

use crate::desk::Desk;
use crate::messages::{self, Bilingual};

/// Reason code of a verified presentation refused by the desk rule.
pub const PROFILE_NOT_ALLOWED: &str = "profile_not_allowed_at_desk";
/// Reason code when no trust bundle is installed (fail closed: never VALID).
pub const NO_TRUST_BUNDLE: &str = "no_trust_bundle";

/// The page's view of one verdict, and what the history keeps of it.
pub struct Shown {
    /// The JSON sent to the page.
    pub json: Value,
    /// Reason code when rejected.
    pub reason: Option<&'static str>,
    /// Profile when verified (also when refused by the desk).
    pub profile: Option<Profile>,
    /// Serial when verified.
    pub serial: Option<u64>,
}

/// Builds the page's view of `verdict` for `desk`.
pub fn shown(verdict: &Verdict, desk: Desk) -> Shown {
    let warnings: Vec<Value> = verdict
        .warnings
        .iter()
        .map(|w| {
            let m = messages::warning(w);
            json!({"code": w.code(), "en": m.en, "zh": m.zh})
        })
        .collect();
    let mut out = json!({
        "verdict": "rejected",
        "reason": null,
        "message": null,
        "profile": null,
        "fields": [],
        "issuer": null,
        "presented_at": null,
        "warnings": warnings,
        "checked_at": verdict.checked_at,
        "trust_bundle_version": verdict.trust_bundle_version,
        "status_list_age_s": verdict.status_list_age_s,
    });
    match &verdict.outcome {
        Err(error) => {
            out["reason"] = json!(error.reason_code());
            out["message"] = messages::rejection(error).json();
            Shown {
                json: out,
                reason: Some(error.reason_code()),
                profile: None,
                serial: None,
            }
        }
        Ok(p) if !desk.allows(p.profile) => {
            out["reason"] = json!(PROFILE_NOT_ALLOWED);
            out["profile"] = json!(p.profile.name());
            out["message"] = profile_refusal(desk, p.profile).json();
            Shown {
                json: out,
                reason: Some(PROFILE_NOT_ALLOWED),
                profile: Some(p.profile),
                serial: Some(p.serial),
            }
        }
        Ok(p) => {
            out["verdict"] = json!("valid");
            out["profile"] = json!(p.profile.name());
            out["fields"] = Value::Array(
                p.profile
                    .fields()
                    .iter()
                    .filter_map(|field| field_json(&p.licence, *field))
                    .collect(),
            );
            out["issuer"] = json!({"code": p.issuer, "name": p.issuer_name});
            out["presented_at"] = json!(p.presented_at);
            Shown {
                json: out,
                reason: None,
                profile: Some(p.profile),
                serial: Some(p.serial),
            }
        }
    }
}

/// A rejection that is not a verdict of the library (no trust material, scanner text).
pub fn refusal(code: &'static str, message: &Bilingual) -> Shown {
    Shown {
        json: json!({
            "verdict": "rejected", "reason": code, "message": message.json(), "profile": null,
            "fields": [], "issuer": null, "presented_at": null, "warnings": [],
        }),
        reason: Some(code),
        profile: None,
        serial: None,
    }
}

fn profile_refusal(desk: Desk, shown: Profile) -> Bilingual {
    let allowed = desk.name();
    Bilingual {
        en: format!(
            "this {allowed} desk may see only the {allowed} profile; the holder showed the {shown} profile, which discloses more: ask the holder to show the {allowed} code (nothing was displayed)"
        ),
        zh: format!(
            "本窗口（{allowed}）只能查看 {allowed} 出示范围；持证人出示的是 {shown}，超出本窗口可查看的内容：请持证人出示 {allowed} 二维码（未显示任何信息）"
        ),
    }
}

/// One disclosed field: its name, both labels, and its value in both languages.
fn field_json(record: &LicenceRecord, field: Field) -> Option<Value> {
    let (en, zh): (String, String) = match field {
        Field::Name => same(record.name.clone()?),
        Field::Sex => {
            let sex = record.sex?;
            (sex.label(false).to_owned(), sex.label(true).to_owned())
        }
        Field::Nationality => same(record.nationality.clone()?),
        Field::BirthDate => same(record.birth_date?.to_string()),
        Field::Address => same(record.address.clone()?),
        Field::LicenceNumber => same(record.licence_number.clone()?),
        Field::FileNumber => same(record.file_number.clone()?),
        Field::FirstIssueDate => same(record.first_issue_date?.to_string()),
        Field::Classes => same(record.classes?.to_string()),
        Field::Validity => {
            let validity = record.validity?;
            let end = |long: &str| validity.to.map_or(long.to_owned(), |d| d.to_string());
            (
                format!("{} – {}", validity.from, end("long-term")),
                format!("{} 至 {}", validity.from, end("长期")),
            )
        }
        Field::Status => {
            let set = record.status?;
            let en: Vec<String> = set
                .letters()
                .map(|s| format!("{} {}", s.letter, s.english))
                .collect();
            let zh: Vec<String> = set
                .letters()
                .map(|s| format!("{} {}", s.letter, s.chinese))
                .collect();
            (en.join(", "), zh.join("、"))
        }
        Field::Points => same(record.points?.to_string()),
        // The digest is for matching a portrait, not for reading.
        Field::PortraitDigest => return None,
    };
    Some(json!({
        "name": field.name(),
        "label": {"en": field.label(false), "zh": field.label(true)},
        "value": {"en": en, "zh": zh},
    }))
}

fn same(text: String) -> (String, String) {
    (text.clone(), text)
}
