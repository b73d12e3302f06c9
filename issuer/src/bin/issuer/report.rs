//! What a command reports: JSON (the typed result, times in Unix seconds, `ok`, and
//! on failure `code` and `message`) or text for a clerk (local times with offset).

use std::io::IsTerminal;
use std::path::PathBuf;

use issuer::clock::local_time;
use issuer::model::{AuditRecord, Issued, PortraitRecord, PortraitState};
use issuer::store::postgres::Imported;
use issuer::usecase::enrol::{HolderUpdated, ImportReport};
use issuer::usecase::issuance::BatchReport;
use issuer::usecase::keys::{KeyCreated, KeyRetired};
use issuer::usecase::portraits::{MadePortrait, PortraitAdded, QueuedPortrait, ReviewDecided};
use issuer::usecase::publish::Published;
use issuer::usecase::reports::{CheckReport, HolderReport};
use issuer::usecase::status::HolderStatus;
use issuer::IssuerError;
use serde::Serialize;
use serde_json::{json, Value};

/// The result of a command, typed.
pub enum Outcome {
    KeyCreated(KeyCreated),
    KeyRotated(KeyCreated),
    KeyRetired(KeyRetired),
    HolderAdded(i64),
    Imported(ImportReport),
    Holder(Box<HolderReport>),
    HolderUpdated(HolderUpdated),
    PortraitAdded(i64, PortraitAdded),
    ReviewQueue(Vec<QueuedPortrait>),
    Portrait(PortraitRecord, Option<PathBuf>),
    PortraitExported(MadePortrait, PathBuf),
    Reviewed(ReviewDecided, Option<String>),
    Issued(Issued),
    Batch(BatchReport),
    Refreshed(Issued),
    Status(HolderStatus),
    Published(Published, PathBuf),
    Audit(Vec<AuditRecord>),
    Checked(CheckReport),
    Migrated(Imported),
    Stopped,
}

/// A credential set as JSON shows it.
#[derive(Serialize)]
struct IssuedJson<'a> {
    holder: i64,
    authority: &'a str,
    serial: u64,
    issued_at: u64,
    expires_at: u64,
    profiles: Vec<Value>,
}

fn issued_json(issued: &Issued) -> Value {
    json!(IssuedJson {
        holder: issued.holder_id,
        authority: &issued.authority_code,
        serial: issued.serial,
        issued_at: issued.issued_at,
        expires_at: issued.expires_at,
        profiles: issued
            .credentials
            .iter()
            .map(|(p, c)| json!({"profile": p.name(), "bytes": c.len()}))
            .collect(),
    })
}

/// `value` (an object) with `ok` added.
fn with_ok(ok: bool, value: impl Serialize) -> Value {
    let mut value = json!(value);
    if let Value::Object(map) = &mut value {
        map.insert("ok".into(), json!(ok));
    }
    value
}

impl Outcome {
    /// Whether everything went through (a report with refused lines or holders, or
    /// a rejected portrait, exits 1).
    pub fn ok(&self) -> bool {
        match self {
            Outcome::Imported(r) => r.errors.is_empty(),
            // A holder another clerk issued to meanwhile leaves nothing to do: not
            // a failure (two `issue --all` at once must both succeed).
            Outcome::Batch(r) => r.refused.iter().all(|r| r.code == "already_issued"),
            Outcome::PortraitAdded(_, p) => p.state != PortraitState::Rejected,
            _ => true,
        }
    }

    /// The JSON report.
    pub fn json(&self) -> Value {
        let ok = self.ok();
        match self {
            Outcome::KeyCreated(k) | Outcome::KeyRotated(k) => with_ok(ok, k),
            Outcome::KeyRetired(k) => with_ok(ok, k),
            Outcome::HolderAdded(id) => json!({"ok": ok, "holder": id}),
            Outcome::Imported(r) => with_ok(ok, r),
            Outcome::Holder(h) => json!(h),
            Outcome::HolderUpdated(u) => {
                json!({"ok": ok, "holder": u.holder, "reissued": u.reissued.as_ref().map(issued_json)})
            }
            Outcome::PortraitAdded(_, p) => with_ok(ok, p),
            Outcome::ReviewQueue(items) => json!({"pending": items}),
            Outcome::Portrait(p, out) => json!({"ok": ok, "portrait": p.id, "holder": p.holder_id,
                "source": p.source, "state": p.state, "submitted_at": p.submitted_at, "bytes": p.bytes.len(), "out": out}),
            Outcome::PortraitExported(m, out) => {
                json!({"ok": ok, "portrait": m.portrait, "holder": m.holder,
                "bytes": m.bytes.len(), "digest": hex::encode(m.digest), "stored": m.stored, "out": out})
            }
            Outcome::Reviewed(r, _) => {
                json!({"ok": ok, "portrait": r.portrait, "reissued": r.reissued.as_ref().map(issued_json)})
            }
            Outcome::Issued(i) | Outcome::Refreshed(i) => {
                json!({"ok": ok, "issued": issued_json(i)})
            }
            Outcome::Batch(r) => with_ok(ok, r),
            Outcome::Status(s) => json!({"ok": ok, "holder": s.holder, "holder_status": s}),
            Outcome::Published(p, _) => with_ok(ok, p),
            Outcome::Audit(entries) => json!({"entries": entries}),
            Outcome::Checked(c) => with_ok(ok, c),
            Outcome::Migrated(m) => with_ok(ok, m),
            Outcome::Stopped => json!({"ok": ok}),
        }
    }

    /// The text for a clerk.
    pub fn text(&self, zh: bool) -> String {
        match self {
            Outcome::KeyCreated(KeyCreated {
                kid,
                authority: None,
                public_key,
            }) => format!(
                "root key {kid} created; public key (give it to verifiers): {}",
                public_key.as_deref().unwrap_or("")
            ),
            Outcome::KeyCreated(k) => format!(
                "authority {} added with key {}",
                k.authority.as_deref().unwrap_or(""),
                k.kid
            ),
            Outcome::KeyRotated(k) => format!(
                "{} now signs with key {}; the old key retires when its credentials have expired",
                k.authority.as_deref().unwrap_or(""),
                k.kid
            ),
            Outcome::KeyRetired(k) => format!(
                "key {} of {} retired; publish and distribute the trust bundle now",
                k.kid, k.authority
            ),
            Outcome::HolderAdded(id) => format!("holder {id} enrolled"),
            Outcome::Imported(r) => {
                let mut text = format!(
                    "{} holders enrolled, {} lines rejected{}{}",
                    r.added,
                    r.errors.len(),
                    if r.blank_lines > 0 {
                        format!(", {} blank lines skipped", r.blank_lines)
                    } else {
                        String::new()
                    },
                    if r.committed {
                        ""
                    } else {
                        " (nothing committed: --all-or-nothing)"
                    }
                );
                for e in &r.errors {
                    text += &format!("\n  line {}: {}", e.line, e.reason);
                }
                text
            }
            Outcome::Holder(h) => holder_text(h, zh),
            Outcome::HolderUpdated(HolderUpdated {
                holder,
                reissued: Some(i),
            }) => format!(
                "holder {holder} updated; re-issued as serial {} (the old serial is superseded)",
                i.reference()
            ),
            Outcome::HolderUpdated(u) => format!("holder {} updated", u.holder),
            Outcome::PortraitAdded(holder, p) => {
                let mut text = format!("portrait {} for holder {holder}: {}", p.id, p.state.name());
                for f in &p.failures {
                    text += &format!("\n  ✘ {f}");
                }
                text
            }
            Outcome::ReviewQueue(items) => {
                let mut text = format!("{} portraits awaiting review", items.len());
                for i in items {
                    text += &format!(
                        "\n  #{} holder {} {} ({}) submitted {}, waiting {} h, due {}{}",
                        i.portrait,
                        i.holder,
                        i.name,
                        i.source.name(),
                        local_time(i.submitted_at),
                        i.age_h,
                        local_time(i.due_at),
                        if i.overdue { "  OVERDUE" } else { "" }
                    );
                }
                text
            }
            Outcome::Portrait(p, out) => {
                let mut text = format!(
                    "portrait {} of holder {} ({}, {}), submitted {}, {} bytes",
                    p.id,
                    p.holder_id,
                    p.source.name(),
                    p.state.name(),
                    local_time(p.submitted_at),
                    p.bytes.len()
                );
                match out {
                    Some(path) => text += &format!("\nwritten to {}", path.display()),
                    None => text += &format!("\n{}", terminal_preview(&p.bytes, 48)),
                }
                text
            }
            Outcome::PortraitExported(m, out) => format!(
                "{} {} ({} bytes, digest {}{}) -> {}",
                if zh { "持证人二维码照片" } else { "portrait made for the code, holder" },
                m.holder,
                m.bytes.len(),
                hex::encode(m.digest),
                if m.stored { "" } else if zh { "，下次签发时存入" } else { ", stored at the next issuance" },
                out.display()
            ),
            Outcome::Reviewed(r, reason) => {
                let reissued = r
                    .reissued
                    .as_ref()
                    .map(|i| format!("; credential re-issued as serial {}", i.reference()))
                    .unwrap_or_default();
                match reason {
                    Some(reason) => format!("portrait {} rejected: {reason}", r.portrait),
                    None => format!("portrait {} approved{reissued}", r.portrait),
                }
            }
            Outcome::Issued(i) => format!(
                "issued serial {} to holder {}, valid until {}",
                i.reference(),
                i.holder_id,
                local_time(i.expires_at)
            ),
            Outcome::Batch(r) => {
                let mut text = format!(
                    "{} credentials issued, {} refused",
                    r.issued,
                    r.refused.len()
                );
                for refused in &r.refused {
                    text += &format!("\n  holder {}: {}", refused.holder, refused.reason);
                }
                text
            }
            Outcome::Refreshed(i) => format!(
                "refreshed serial {}, valid until {}",
                i.reference(),
                local_time(i.expires_at)
            ),
            Outcome::Status(s) => format!(
                "status {}, points {}, credential {}",
                s.status,
                s.points,
                s.credential.name()
            ),
            Outcome::Published(p, out) => format!(
                "published to {}: trust bundle version {}, {} status lists",
                out.display(),
                p.trust_bundle.version,
                p.status_lists.len()
            ),
            Outcome::Audit(entries) => entries
                .iter()
                .map(|e| {
                    format!(
                        "#{} {} {} {} {} {}",
                        e.id,
                        local_time(u64::try_from(e.at).unwrap_or(0)),
                        e.operator,
                        e.action,
                        e.subject,
                        e.new.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Outcome::Checked(c) => format!(
                "registry OK: {} holders, {} credentials ({} current), {} audit entries; portrait digests: {} of the made portrait, {} of the submitted photo (re-signed at the next refresh)",
                c.holders, c.credentials, c.current_credentials, c.audit_entries,
                c.portraits_signed_as_made, c.portraits_signed_as_submitted
            ),
            Outcome::Migrated(m) => format!(
                "{}: {}",
                if zh {
                    "已迁移到 PostgreSQL"
                } else {
                    "copied into PostgreSQL"
                },
                m.rows
                    .iter()
                    .map(|(table, rows)| format!("{table} {rows}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Outcome::Stopped => "the refresh service stopped".into(),
        }
    }
}

/// `label` padded to `width` terminal columns (a CJK character takes two), so the
/// values line up in Chinese as in English.
fn padded(label: &str, width: usize) -> String {
    let wide =
        |c: char| ('\u{2e80}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c);
    let columns: usize = label.chars().map(|c| if wide(c) { 2 } else { 1 }).sum();
    format!("{label}{}", " ".repeat(width.saturating_sub(columns)))
}

fn holder_text(h: &HolderReport, zh: bool) -> String {
    let f = &h.fields;
    let label = |zh_label: &str, en_label: &str| padded(if zh { zh_label } else { en_label }, 16);
    let sex = match (zh, f.sex) {
        (true, "male") => "男",
        (true, "female") => "女",
        (_, sex) => sex,
    };
    let mut lines = vec![
        format!("{} {}", if zh { "持证人" } else { "holder" }, h.id),
        format!("  {}{}", label("姓名", "name"), f.name),
        format!("  {}{}", label("证号", "licence number"), f.licence_number),
        format!("  {}{sex}", label("性别", "sex")),
        format!("  {}{}", label("出生日期", "birth date"), f.birth_date),
        format!("  {}{}", label("国籍", "nationality"), f.nationality),
        format!("  {}{}", label("住址", "address"), f.address),
        format!("  {}{}", label("档案编号", "file number"), f.file_number),
        format!(
            "  {}{}",
            label("初次领证日期", "first issued"),
            f.first_issue_date
        ),
        format!("  {}{}", label("准驾车型", "classes"), f.classes),
        format!(
            "  {}{} – {}",
            label("有效期限", "valid"),
            f.valid_from,
            f.valid_to
                .as_deref()
                .unwrap_or(if zh { "长期" } else { "long-term" })
        ),
        format!("  {}{}", label("发证机关", "authority"), f.authority),
        format!("  {}{}", label("状态", "status"), h.status),
        format!("  {}{}", label("累积记分", "points"), f.points),
        format!(
            "  {}{}",
            label("照片", "portrait"),
            h.portrait.map_or_else(
                || (if zh { "无" } else { "none" }).to_owned(),
                |p| format!("#{p}")
            )
        ),
    ];
    lines.push(match &h.credential {
        Some(c) => format!(
            "  {}{}/{} {} until {}",
            label("电子证照", "credential"),
            c.authority,
            c.serial,
            c.state.name(),
            local_time(c.expires_at)
        ),
        None => format!(
            "  {}{}",
            label("电子证照", "credential"),
            if zh { "未签发" } else { "not issued" }
        ),
    });
    lines.join("\n")
}

/// The error as JSON: stable `code` (also under `error`, its older name) and the
/// message in the chosen language.
pub fn error_json(error: &IssuerError, zh: bool) -> Value {
    let message = if zh {
        error.chinese()
    } else {
        error.to_string()
    };
    json!({"ok": false, "code": error.code(), "error": error.code(), "message": message})
}

/// A colour preview of an image in half-block characters, `width` columns wide.
fn terminal_preview(bytes: &[u8], width: u32) -> String {
    let Ok(image) = image::load_from_memory(bytes) else {
        return "(the image cannot be decoded for a preview: export it with --out)".into();
    };
    let height = (u64::from(width) * u64::from(image.height()) / u64::from(image.width().max(1)))
        .clamp(2, 96) as u32;
    let small = image
        .resize_exact(width, height & !1, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut out = String::new();
    for y in (0..small.height()).step_by(2) {
        for x in 0..small.width() {
            let top = small.get_pixel(x, y);
            let bottom = small.get_pixel(x, (y + 1).min(small.height() - 1));
            out += &format!(
                "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m▀",
                top[0], top[1], top[2], bottom[0], bottom[1], bottom[2]
            );
        }
        out += "\x1b[0m\n";
    }
    out
}

/// A progress bar on a terminal, nothing otherwise.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}
