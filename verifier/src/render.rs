//! Verdicts for people and machines.
//!
//! The human form puts the answer first (one big VALID or REJECTED line with the
//! reason in plain words), then the disclosed fields, then warnings, then the
//! checks. The JSON form is a stable schema (README, "The verifier CLI"): field names never change
//! meaning once published.

use credential::verify::{CheckOutcome, Verdict, VerifiedPresentation};
use credential::{Field, LicenceRecord};
use serde_json::{json, Value};

use crate::time::format_instant;

/// Output language for labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From `--lang`, else from the locale (`LC_ALL`, `LANG`): Chinese if it starts with `zh`.
    pub fn detect(explicit: Option<&str>) -> Lang {
        let locale = explicit
            .map(str::to_owned)
            .or_else(|| std::env::var("LC_ALL").ok().filter(|v| !v.is_empty()))
            .or_else(|| std::env::var("LANG").ok())
            .unwrap_or_default();
        if locale.starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

/// Pads a label to `width` terminal columns (CJK characters take two).
fn pad(label: &str, width: usize) -> String {
    let columns: usize = label
        .chars()
        .map(|c| if c >= '\u{2e80}' { 2 } else { 1 })
        .sum();
    format!("{label}{}", " ".repeat(width.saturating_sub(columns)))
}

/// The value of one disclosed field as text.
fn field_text(record: &LicenceRecord, field: Field, lang: Lang) -> Option<String> {
    let zh = lang == Lang::Zh;
    Some(match field {
        Field::Name => record.name.clone()?,
        Field::Sex => record.sex?.label(zh).to_owned(),
        Field::Nationality => record.nationality.clone()?,
        Field::BirthDate => record.birth_date?.to_string(),
        Field::Address => record.address.clone()?,
        Field::LicenceNumber => record.licence_number.clone()?,
        Field::FileNumber => record.file_number.clone()?,
        Field::FirstIssueDate => record.first_issue_date?.to_string(),
        Field::Classes => record.classes?.to_string(),
        Field::Validity => {
            let v = record.validity?;
            let to = v.to.map_or_else(
                || {
                    if zh {
                        "长期".into()
                    } else {
                        "long-term".into()
                    }
                },
                |d| d.to_string(),
            );
            format!("{} – {to}", v.from)
        }
        Field::Status => record
            .status?
            .letters()
            .map(|s| format!("{} {}", s.letter, if zh { s.chinese } else { s.english }))
            .collect::<Vec<_>>()
            .join(", "),
        Field::Points => record.points?.to_string(),
        Field::PortraitDigest => hex::encode(record.portrait_digest?),
    })
}

/// The human-readable verdict.
pub fn human(verdict: &Verdict, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut out = String::new();
    match &verdict.outcome {
        Ok(p) => {
            out += &format!(
                "{}  {} ({})\n",
                if zh { "✔ 有效 VALID" } else { "✔ VALID" },
                p.profile,
                if zh { "出示范围" } else { "profile" }
            );
            out += &format!(
                "  {} {} {}\n",
                pad(
                    if zh {
                        "发证机关"
                    } else {
                        "Issuing authority"
                    },
                    18
                ),
                p.issuer,
                p.issuer_name
            );
            for field in p.profile.fields() {
                if let Some(text) = field_text(&p.licence, *field, lang) {
                    out += &format!("  {} {text}\n", pad(field.label(zh), 18));
                }
            }
            out += &format!(
                "  {} {}   serial {}\n",
                pad(if zh { "生成时间" } else { "Shown at" }, 18),
                format_instant(p.presented_at),
                p.serial
            );
        }
        Err(error) => {
            out += &format!(
                "{}  {error}\n",
                if zh {
                    "✘ 无效 REJECTED"
                } else {
                    "✘ REJECTED"
                }
            );
            out += &format!("  reason: {}\n", error.reason_code());
        }
    }
    for warning in &verdict.warnings {
        out += &format!("  ⚠ {}\n", warning.message());
    }
    let summary: Vec<String> = verdict
        .checks
        .iter()
        .map(|c| {
            let mark = match c.outcome {
                CheckOutcome::Passed => "✓",
                CheckOutcome::Warning(_) => "⚠",
                CheckOutcome::Failed(_) => "✘",
                CheckOutcome::NotRun => "·",
            };
            format!("{mark} {}", c.name)
        })
        .collect();
    out += &format!("  checks: {}\n", summary.join("  "));
    out
}

fn fields_json(p: &VerifiedPresentation) -> Value {
    let r = &p.licence;
    let mut fields = serde_json::Map::new();
    for field in p.profile.fields() {
        let value = match field {
            Field::Validity => r.validity.map(|v| json!({"from": v.from.to_string(), "to": v.to.map(|d| d.to_string())})),
            Field::Status => r.status.map(|s| {
                json!({
                    "codes": s.to_string(),
                    "may_drive": s.prohibiting().is_empty(),
                    "labels": s.letters().map(|l| json!({"code": l.letter.to_string(), "zh": l.chinese, "en": l.english})).collect::<Vec<_>>(),
                })
            }),
            Field::Points => r.points.map(|n| json!(n)),
            Field::Sex => r.sex.map(|s| json!(s.label(false))),
            other => field_text(r, *other, Lang::En).map(Value::String),
        };
        if let Some(value) = value {
            fields.insert(field.name().to_owned(), value);
        }
    }
    Value::Object(fields)
}

/// The JSON verdict (stable schema).
pub fn json(verdict: &Verdict) -> Value {
    let warnings: Vec<Value> = verdict
        .warnings
        .iter()
        .map(|w| json!({"code": w.code(), "message": w.message()}))
        .collect();
    let checks: Vec<Value> = verdict
        .checks
        .iter()
        .map(|c| {
            let (outcome, detail) = match &c.outcome {
                CheckOutcome::Passed => ("passed", None),
                CheckOutcome::Warning(w) => ("warning", Some(w.code())),
                CheckOutcome::Failed(code) => ("failed", Some(*code)),
                CheckOutcome::NotRun => ("not_run", None),
            };
            json!({"name": c.name, "outcome": outcome, "code": detail})
        })
        .collect();
    let mut out = json!({
        "verdict": if verdict.outcome.is_ok() { "valid" } else { "rejected" },
        "reason": verdict.reason_code(),
        "message": verdict.outcome.as_ref().err().map(|e| e.to_string()),
        "warnings": warnings,
        "checks": checks,
        "checked_at": verdict.checked_at,
        "trust_bundle_version": verdict.trust_bundle_version,
        "status_list_age_s": verdict.status_list_age_s,
        "profile": null, "fields": null, "issuer": null, "serial": null, "presented_at": null,
    });
    if let Ok(p) = &verdict.outcome {
        out["profile"] = json!(p.profile.name());
        out["fields"] = fields_json(p);
        out["issuer"] = json!({"code": p.issuer, "name": p.issuer_name, "kid": hex::encode(p.kid)});
        out["serial"] = json!(p.serial);
        out["presented_at"] = json!(p.presented_at);
        out["credential_expires_at"] = json!(p.expires_at);
    }
    out
}
