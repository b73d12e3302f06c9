//! Verdicts and reports for people and machines: every JSON shape the verifier
//! prints lives here.
//!
//! The human form puts the answer first (one big VALID or REJECTED line, coloured on
//! a terminal, with the reason in plain words), then the disclosed fields (for a
//! rejection: only the issuer-signed ones, under a heading saying they belong to a
//! rejected credential), then warnings, the time of the check and the checks. The
//! JSON form is a stable schema (README, "The verifier CLI"): field names never change
//! meaning once published. Sentences come from [`crate::messages`] in the chosen
//! language, in both forms.

use credential::verify::{AuthenticatedCredential, CheckOutcome, Verdict};
use credential::{Field, LicenceRecord, Profile};
use serde_json::{json, Value};

use crate::messages::{self, label};
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

    /// Parses `--lang`: `zh` or `en`, or a locale name starting with one (`zh_CN.UTF-8`).
    pub fn parse(text: &str) -> Option<Lang> {
        if text.starts_with("zh") {
            Some(Lang::Zh)
        } else if text.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

/// Terminal colours for the verdict line (only when printing to a terminal and
/// `NO_COLOR` is unset or empty, <https://no-color.org>).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// Plain text.
    Off,
    /// ANSI colours.
    On,
}

impl Colour {
    /// On for a terminal unless `NO_COLOR` is set to something non-empty.
    pub fn detect(is_terminal: bool) -> Colour {
        Colour::choose(is_terminal, std::env::var_os("NO_COLOR").as_deref())
    }

    /// The rule of [`Colour::detect`], given the value of `NO_COLOR`.
    pub fn choose(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Colour {
        if is_terminal && no_color.is_none_or(|v| v.is_empty()) {
            Colour::On
        } else {
            Colour::Off
        }
    }

    fn paint(self, text: &str, ansi: &str) -> String {
        match self {
            Colour::Off => text.to_owned(),
            Colour::On => format!("\x1b[{ansi}m{text}\x1b[0m"),
        }
    }
}

/// The profile's name in `lang`.
pub fn profile_name(profile: Profile, lang: Lang) -> String {
    label(&format!("profile.{}", profile.name()), lang)
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
            let to =
                v.to.map_or_else(|| label("long_term", lang), |d| d.to_string());
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

/// The lines of the issuer-signed fields: authority, disclosed fields, serial.
fn credential_lines(out: &mut String, a: &AuthenticatedCredential, lang: Lang, indent: &str) {
    let zh = lang == Lang::Zh;
    *out += &format!(
        "{indent}{} {} {}\n",
        pad(&label("issuing_authority", lang), 18),
        a.issuer,
        a.issuer_name
    );
    for field in a.licence.present_fields() {
        if let Some(text) = field_text(&a.licence, field, lang) {
            *out += &format!("{indent}{} {text}\n", pad(field.label(zh), 18));
        }
    }
    *out += &format!("{indent}{} {}\n", pad(&label("serial", lang), 18), a.serial);
}

/// The REJECTED label, coloured.
pub fn rejected_label(lang: Lang, colour: Colour) -> String {
    colour.paint(&label("rejected", lang), "1;31")
}

/// The human-readable verdict.
pub fn human(verdict: &Verdict, lang: Lang, colour: Colour) -> String {
    let mut out = String::new();
    match &verdict.outcome {
        Ok(p) => {
            out += &format!(
                "{}  {} ({})\n",
                colour.paint(&label("valid", lang), "1;32"),
                profile_name(p.profile, lang),
                label("profile", lang)
            );
            if let Some(a) = &verdict.authenticated {
                credential_lines(&mut out, a, lang, "  ");
            }
            out += &format!(
                "  {} {}\n",
                pad(&label("shown_at", lang), 18),
                format_instant(p.presented_at),
            );
        }
        Err(error) => {
            out += &format!(
                "{}  {}\n",
                rejected_label(lang, colour),
                messages::verify_error(error, lang)
            );
            out += &format!("  {}: {}\n", label("reason", lang), error.reason_code());
            if let Some(a) = &verdict.authenticated {
                out += &format!(
                    "  {}\n",
                    colour.paint(&label("rejected_credential", lang), "31")
                );
                credential_lines(&mut out, a, lang, "    ");
            }
        }
    }
    for warning in &verdict.warnings {
        out += &format!("  ⚠ {}\n", messages::warning(warning, lang));
    }
    out += &format!(
        "  {} {}\n",
        pad(&label("checked_at", lang), 18),
        format_instant(verdict.checked_at)
    );
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
    out += &format!("  {}: {}\n", label("checks", lang), summary.join("  "));
    out
}

fn fields_json(r: &LicenceRecord) -> Value {
    let mut fields = serde_json::Map::new();
    for field in r.present_fields() {
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
            other => field_text(r, other, Lang::En).map(Value::String),
        };
        if let Some(value) = value {
            fields.insert(field.name().to_owned(), value);
        }
    }
    Value::Object(fields)
}

/// The JSON verdict (stable schema). `message` fields are in `lang`.
pub fn json(verdict: &Verdict, lang: Lang) -> Value {
    let warnings: Vec<Value> = verdict
        .warnings
        .iter()
        .map(|w| json!({"code": w.code(), "message": messages::warning(w, lang)}))
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
        "message": verdict.outcome.as_ref().err().map(|e| messages::verify_error(e, lang)),
        "warnings": warnings,
        "checks": checks,
        "checked_at": verdict.checked_at,
        "trust_bundle_version": verdict.trust_bundle_version,
        "status_list_age_s": verdict.status_list_age_s,
        "credential": null,
        "profile": null, "fields": null, "issuer": null, "serial": null, "presented_at": null,
    });
    if let Some(a) = &verdict.authenticated {
        // Issuer-signed data, present only once the issuer signature verified; on a
        // rejection it describes the credential that was rejected.
        out["credential"] = json!(if verdict.outcome.is_ok() {
            "valid"
        } else {
            "rejected"
        });
        out["profile"] = json!(a.profile.map(Profile::name));
        out["fields"] = fields_json(&a.licence);
        out["issuer"] = json!({"code": a.issuer, "name": a.issuer_name, "kid": hex::encode(a.kid)});
        out["serial"] = json!(a.serial);
        out["credential_expires_at"] = json!(a.expires_at);
    }
    if let Ok(p) = &verdict.outcome {
        out["presented_at"] = json!(p.presented_at);
    }
    out
}

/// The JSON of a command that failed: `ok: false`, the class (`refused`, `usage`,
/// `store`), the stable `code` (also as `reason`, the name refusals always had), the
/// sentence in `lang`, and for a damaged store the file and the repair command.
pub fn error_json(class: &str, code: &str, message: &str, file: Option<&str>) -> Value {
    let mut value =
        json!({"ok": false, "error": class, "code": code, "reason": code, "message": message});
    if let Some(file) = file {
        value["file"] = json!(file);
    }
    value
}

/// One decoded code of `scan --raw --json`.
pub fn scan_raw_json(file: &str, index: usize, code: &crate::scan::Code) -> Value {
    let position: Vec<[f32; 2]> = code
        .position
        .iter()
        .map(|p| [(p.0 * 10.0).round() / 10.0, (p.1 * 10.0).round() / 10.0])
        .collect();
    json!({"file": file, "index": index, "text": code.text, "decoder": code.pass.name(), "position": position})
}

/// The verdict of one code found by `scan --json`: the verdict plus where it came from.
pub fn scan_verdict_json(
    verdict: &Verdict,
    lang: Lang,
    file: &str,
    index: usize,
    code: &crate::scan::Code,
) -> Value {
    let mut value = json(verdict, lang);
    value["file"] = json!(file);
    value["index"] = json!(index);
    value["decoder"] = json!(code.pass.name());
    value
}

/// An image that gave no code in `scan --json` (verify mode: a rejection line; raw
/// mode: a line with `text: null`).
pub fn scan_failure_json(file: &str, code: &str, message: &str, raw: bool) -> Value {
    if raw {
        json!({"file": file, "index": null, "text": null, "reason": code, "message": message})
    } else {
        json!({"file": file, "index": null, "verdict": "rejected", "reason": code, "message": message})
    }
}

/// Where a frame read by `scan` came from.
#[derive(Clone, Copy, Debug)]
pub struct SeenFrame {
    /// Which input.
    pub input: usize,
    /// Its position in that input.
    pub index_in_input: usize,
    /// When it is shown, from the start of its input, if the source says.
    pub at_ms: Option<u64>,
}

/// What `scan` of an animated code reports: the verdict and how it was collected.
pub struct LoopReport<'a> {
    /// The verdict on the presentation.
    pub verdict: &'a Verdict,
    /// The collection (portrait, frame indices, refused frames).
    pub collector: &'a crate::collect::FrameCollector<'a>,
    /// The inputs, as given.
    pub inputs: &'a [std::path::PathBuf],
    /// Every frame read, by index.
    pub seen: &'a [SeenFrame],
    /// Where the portrait was written, if it was.
    pub written: Option<&'a std::path::Path>,
}

impl LoopReport<'_> {
    fn file_of(&self, frame: Option<usize>) -> Option<String> {
        let seen = self.seen.get(frame?)?;
        Some(self.inputs.get(seen.input)?.display().to_string())
    }

    fn ms_of(&self, frame: Option<usize>) -> Option<u64> {
        self.seen.get(frame?)?.at_ms
    }
}

/// The JSON line of `scan` over an animated code: the verdict (as `check`), the
/// file and frame it was read in, `portrait` (state, frames held, K, bytes, a
/// SHA-256 prefix and a reason code; the bytes themselves never) and `frames`
/// (indices of the first frame with a code, of the verdict and of the portrait,
/// and their display times where the source has them, for video time).
pub fn scan_loop_json(report: &LoopReport<'_>, lang: Lang) -> Value {
    let collector = report.collector;
    let progress = collector.progress();
    let state = progress.portrait;
    let mut value = json(report.verdict, lang);
    value["file"] = json!(report.file_of(progress.verdict_frame));
    value["frame"] = json!(progress.verdict_frame);
    let portrait = collector.portrait();
    value["portrait"] = json!({
        "state": state.name(),
        "message": messages::portrait_state(state, lang),
        "reason": state.reason(),
        "frames_held": collector.frames_held(),
        "source_symbols": collector.source_symbols(),
        "bytes": portrait.map(<[u8]>::len),
        "sha256_prefix": portrait.map(|p| hex::encode(&credential::signature::sha256(p)[..8])),
        "written_to": report.written.map(|p| p.display().to_string()),
    });
    let rejected: serde_json::Map<String, Value> = collector
        .rejections_by_code()
        .iter()
        .map(|(code, n)| ((*code).to_owned(), json!(n)))
        .collect();
    value["frames"] = json!({
        "read": progress.frames,
        "first_code": progress.first_code_frame,
        "verdict": progress.verdict_frame,
        "portrait": progress.portrait_frame,
        "first_code_ms": report.ms_of(progress.first_code_frame),
        "verdict_ms": report.ms_of(progress.verdict_frame),
        "portrait_ms": report.ms_of(progress.portrait_frame),
        "duplicates": progress.duplicates,
        "rejected": progress.rejected,
        "rejected_by_code": rejected,
    });
    value
}

/// The human form of [`scan_loop_json`]: where the verdict was read, the verdict,
/// then the portrait's line of spec §17.5's table and a summary of the frames.
pub fn scan_loop_human(report: &LoopReport<'_>, lang: Lang, colour: Colour) -> String {
    let collector = report.collector;
    let progress = collector.progress();
    let file = report.file_of(progress.verdict_frame).unwrap_or_default();
    let mut out = format!("{file}\n{}", human(report.verdict, lang, colour));
    let state = progress.portrait;
    let line = messages::portrait_state(state, lang);
    let line = match state {
        crate::collect::PortraitState::Matched { .. } => colour.paint(&line, "1;32"),
        s if s.reason().is_some() => colour.paint(&line, "1;31"),
        _ => line,
    };
    out += &format!("  {line}\n");
    if let Some(path) = report.written {
        out += &format!(
            "  {}\n",
            messages::text(
                messages::Kind::Portrait,
                "written",
                lang,
                &[("path", path.display().to_string())]
            )
        );
    }
    let at = |frame: Option<usize>| frame.map_or("-".to_owned(), |f| (f + 1).to_string());
    out += &format!(
        "  {}\n",
        messages::text(
            messages::Kind::Portrait,
            "frames",
            lang,
            &[
                ("read", progress.frames.to_string()),
                ("verdict", at(progress.verdict_frame)),
                ("portrait", at(progress.portrait_frame)),
                ("rejected", progress.rejected.to_string()),
            ]
        )
    );
    for (code, count) in collector.rejections_by_code() {
        out += &format!(
            "    {count} × {} ({code})\n",
            messages::text(messages::Kind::Portrait, code, lang, &[])
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_needs_a_terminal_and_no_non_empty_no_color() {
        assert_eq!(Colour::choose(true, None), Colour::On);
        assert_eq!(Colour::choose(true, Some(OsStr::new(""))), Colour::On);
        assert_eq!(Colour::choose(true, Some(OsStr::new("1"))), Colour::Off);
        assert_eq!(Colour::choose(false, None), Colour::Off);
        assert_eq!(Colour::On.paint("x", "31"), "\x1b[31mx\x1b[0m");
        assert_eq!(Colour::Off.paint("x", "31"), "x");
    }
}
