//! `issuer`: the licensing office's command line, a thin shell over the library.
//!
//! Exit codes: 0 success, 1 refused by a business rule (or wrong passphrase),
//! 2 usage, input or I/O error. `--json` on every command; a report with
//! `\"ok\": false` (some CSV lines or holders refused) also exits 1.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use credential::date::Date;
use credential::licence::{ClassSet, Sex, Validity};
use issuer::keys::{self, KdfParams, PassphraseSource};
use issuer::registry::{
    Channel, HolderChanges, HolderInput, Issued, Keyring, PortraitSource, Registry, DAY,
};
use issuer::IssuerError;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "issuer",
    version,
    about = "Licensing office issuer for electronic driving licences"
)]
struct Cli {
    /// Registry directory (database and encrypted keys).
    #[arg(
        long,
        env = "ISSUER_REGISTRY",
        global = true,
        default_value = "issuer-registry"
    )]
    registry: PathBuf,
    /// Who is operating (recorded in the audit log).
    #[arg(long, env = "ISSUER_OPERATOR", global = true)]
    operator: Option<String>,
    /// Read the key passphrase from this file (else ISSUER_PASSPHRASE, else a prompt).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// Act as of this time (Unix seconds), for tests and replays.
    #[arg(long, global = true)]
    at: Option<u64>,
    /// Lifetime of issued credentials in days (the wallet refreshes before).
    #[arg(long, global = true, default_value_t = 7)]
    lifetime_days: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// National root key.
    Root {
        #[command(subcommand)]
        command: RootCommand,
    },
    /// Issuing authorities.
    Authority {
        #[command(subcommand)]
        command: AuthorityCommand,
    },
    /// Authority keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Holders (enrolment, changes).
    Holder {
        #[command(subcommand)]
        command: HolderCommand,
    },
    /// Portraits.
    Portrait {
        #[command(subcommand)]
        command: PortraitCommand,
    },
    /// The portrait review queue.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Issue a credential (new serial) to one holder, or to every holder ready for it.
    Issue {
        /// Holder id or licence number.
        #[arg(long, required_unless_present = "all")]
        holder: Option<String>,
        /// The wallet's device public key (64 hex digits).
        #[arg(long)]
        device_key: Option<String>,
        /// Issue to every holder with a device key and an approved portrait but no credential.
        #[arg(long, conflicts_with_all = ["holder", "device_key"])]
        all: bool,
        /// Write the credential package (what the refresh service returns) here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-sign a holder's current credential with a new expiry (same serial).
    Refresh {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
        /// Write the credential package here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// 暂扣: suspend (status D; the serial is suspended in the status list).
    Suspend {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
    },
    /// 吊销: revoke (status F; permanent).
    Revoke {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
    },
    /// Lift a suspension.
    Reinstate {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
    },
    /// Penalty points (12 or more in a cycle: points exceeded, may not drive).
    Points {
        #[command(subcommand)]
        command: PointsCommand,
    },
    /// Sign and write the trust bundle and the status lists for verifiers.
    Publish {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Hours until the status lists are due for an update.
        #[arg(long, default_value_t = 24)]
        status_ttl_hours: u64,
    },
    /// The audit log (newest last).
    Audit {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Integrity check of the registry.
    Check,
    /// Run the refresh service for wallets (spec/refresh.md): plain HTTP, put a TLS proxy in front.
    Serve {
        /// Address to listen on (port 0: any free port, printed as "listening on ADDR").
        #[arg(long, default_value = "127.0.0.1:8443")]
        bind: String,
        /// Refreshes per holder per hour before answering rate_limited.
        #[arg(long, default_value_t = 20)]
        refreshes_per_hour: u64,
        /// Allowed difference between a wallet's clock and this one (seconds).
        #[arg(long, default_value_t = 300)]
        max_skew: u64,
    },
}

#[derive(Subcommand)]
enum RootCommand {
    /// Create the national root key.
    Init,
}

#[derive(Subcommand)]
enum AuthorityCommand {
    /// Add an issuing authority with a new key.
    Add {
        /// Code, e.g. 川J.
        #[arg(long)]
        code: String,
        /// Name, e.g. 四川省遂宁市公安局交通警察支队.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// New key for an authority; the old one stops signing and retires when its credentials have expired.
    Rotate {
        /// Authority code.
        #[arg(long)]
        authority: String,
    },
    /// Retire a key now (compromise): the next published trust bundle marks it retired.
    Retire {
        /// Key id (hex).
        #[arg(long)]
        kid: String,
    },
}

#[derive(clap::Args)]
struct HolderFields {
    #[arg(long)]
    licence_number: String,
    #[arg(long)]
    name: String,
    /// M/F/男/女.
    #[arg(long)]
    sex: String,
    #[arg(long, default_value = "CHN")]
    nationality: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    birth_date: String,
    #[arg(long)]
    address: String,
    #[arg(long)]
    file_number: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    first_issue_date: String,
    /// E.g. C1E.
    #[arg(long)]
    classes: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    valid_from: String,
    /// YYYY-MM-DD, or omit for long-term (长期).
    #[arg(long)]
    valid_to: Option<String>,
    /// Authority code.
    #[arg(long)]
    authority: String,
    #[arg(long, default_value_t = 0)]
    points: u32,
    /// app or counter.
    #[arg(long, default_value = "app")]
    channel: String,
    /// The wallet's device public key (hex).
    #[arg(long)]
    device_key: Option<String>,
}

#[derive(Subcommand)]
enum HolderCommand {
    /// Enrol one holder.
    Add(Box<HolderFields>),
    /// Enrol holders from a CSV file (see `issuer::enrol` for the columns).
    Import {
        file: PathBuf,
        /// Commit nothing if any line is bad.
        #[arg(long)]
        all_or_nothing: bool,
    },
    /// Show a holder.
    Show {
        /// Holder id or licence number.
        holder: String,
    },
    /// Change classes, validity, issuing authority or address: re-issues the credential.
    Update {
        /// Holder id or licence number.
        holder: String,
        #[arg(long)]
        classes: Option<String>,
        #[arg(long)]
        valid_from: Option<String>,
        /// YYYY-MM-DD or 长期/long-term.
        #[arg(long)]
        valid_to: Option<String>,
        #[arg(long)]
        authority: Option<String>,
        #[arg(long)]
        address: Option<String>,
    },
}

#[derive(Subcommand)]
enum PortraitCommand {
    /// Add a portrait (automatic checks; retained ones are approved at once, others go to review).
    Add {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
        /// retained, camera or album.
        #[arg(long)]
        source: String,
        /// JPEG or PNG file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Pending portraits with their age; overdue ones are marked.
    List,
    /// Approve a pending portrait (re-issues the credential if the holder has one).
    Approve { portrait: i64 },
    /// Reject a pending portrait with a reason for the holder.
    Reject {
        portrait: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum PointsCommand {
    /// Set the points of the current cycle.
    Set {
        #[arg(long)]
        holder: String,
        points: i64,
    },
    /// Add points.
    Add {
        #[arg(long)]
        holder: String,
        points: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok((value, text)) => {
            if json {
                println!("{value}");
            } else {
                println!("{text}");
            }
            // A report that says not everything went through (bad CSV lines, a
            // portrait failing its checks, holders refused in a batch) exits 1.
            if value["ok"] == false {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            if json {
                println!(
                    "{}",
                    json!({"ok": false, "error": error.code(), "message": error.to_string()})
                );
            }
            eprintln!("issuer: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn parse_date(field: &str, text: &str) -> Result<Date, IssuerError> {
    Date::parse(text).ok_or_else(|| IssuerError::Invalid {
        field: field.into(),
        reason: format!("{text:?} is not a YYYY-MM-DD date"),
    })
}

fn parse_device_key(text: &str) -> Result<[u8; 32], IssuerError> {
    hex::decode(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| IssuerError::Invalid {
            field: "device key".into(),
            reason: "expected 64 hex digits".into(),
        })
}

fn holder_id(registry: &Registry, text: &str) -> Result<i64, IssuerError> {
    match text.parse::<i64>() {
        Ok(id) if text.len() < 10 => Ok(id),
        _ => registry.holder_by_licence_number(text),
    }
}

fn keyring(cli: &Cli, confirm: bool) -> Result<Keyring, IssuerError> {
    let source = match (&cli.passphrase_file, std::env::var("ISSUER_PASSPHRASE")) {
        (Some(file), _) => PassphraseSource::File(file.clone()),
        (None, Ok(_)) => PassphraseSource::Env("ISSUER_PASSPHRASE".into()),
        (None, Err(_)) => PassphraseSource::Prompt,
    };
    Ok(Keyring::new(keys::read_passphrase(&source, confirm)?))
}

fn issued_json(issued: &Issued) -> Value {
    json!({"holder": issued.holder_id, "authority": issued.authority_code, "serial": issued.serial, "issued_at": issued.issued_at,
        "expires_at": issued.expires_at, "profiles": issued.credentials.iter().map(|(p, c)| json!({"profile": p.name(), "bytes": c.len()})).collect::<Vec<_>>()})
}

fn write_package(out: &Option<PathBuf>, issued: &Issued) -> Result<(), IssuerError> {
    if let Some(path) = out {
        std::fs::write(path, issued.package()).map_err(|source| IssuerError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(Value, String), IssuerError> {
    let now = cli.at.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let operator = cli
        .operator
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let kdf = KdfParams::from_env();
    let lifetime = cli.lifetime_days.max(1) * DAY;
    let mut registry = Registry::open(&cli.registry, &operator, kdf)?;
    Ok(match &cli.command {
        Command::Root {
            command: RootCommand::Init,
        } => {
            let kid = registry.root_init(&mut keyring(&cli, true)?, now)?;
            let public = hex::encode(registry.root_public_key()?);
            (
                json!({"ok": true, "kid": kid, "public_key": public}),
                format!("root key {kid} created; public key (give it to verifiers): {public}"),
            )
        }
        Command::Authority {
            command: AuthorityCommand::Add { code, name },
        } => {
            let kid = registry.authority_add(code, name, &mut keyring(&cli, true)?, now)?;
            (
                json!({"ok": true, "authority": code, "kid": kid}),
                format!("authority {code} {name} added with key {kid}"),
            )
        }
        Command::Key {
            command: KeyCommand::Rotate { authority },
        } => {
            let kid = registry.key_rotate(authority, &mut keyring(&cli, false)?, now)?;
            (json!({"ok": true, "authority": authority, "kid": kid}), format!("{authority} now signs with key {kid}; the old key retires when its credentials have expired"))
        }
        Command::Key {
            command: KeyCommand::Retire { kid },
        } => {
            let code = registry.key_retire(kid, now)?;
            (
                json!({"ok": true, "kid": kid, "authority": code}),
                format!("key {kid} of {code} retired; publish and distribute the trust bundle now"),
            )
        }
        Command::Holder {
            command: HolderCommand::Add(f),
        } => {
            let input = HolderInput {
                licence_number: f.licence_number.clone(),
                name: f.name.clone(),
                sex: Sex::parse(&f.sex).ok_or_else(|| IssuerError::Invalid {
                    field: "sex".into(),
                    reason: "expected M, F, 男 or 女".into(),
                })?,
                nationality: f.nationality.clone(),
                birth_date: parse_date("birth_date", &f.birth_date)?,
                address: f.address.clone(),
                file_number: f.file_number.clone(),
                first_issue_date: parse_date("first_issue_date", &f.first_issue_date)?,
                classes: ClassSet::parse(&f.classes).ok_or_else(|| IssuerError::Invalid {
                    field: "classes".into(),
                    reason: format!("{:?} are not licence classes like C1E", f.classes),
                })?,
                validity: Validity {
                    from: parse_date("valid_from", &f.valid_from)?,
                    to: f
                        .valid_to
                        .as_deref()
                        .map(|t| parse_date("valid_to", t))
                        .transpose()?,
                },
                authority_code: f.authority.clone(),
                points: f.points,
                channel: Channel::parse(&f.channel).ok_or_else(|| IssuerError::Invalid {
                    field: "channel".into(),
                    reason: "expected app or counter".into(),
                })?,
                device_key: f.device_key.as_deref().map(parse_device_key).transpose()?,
            };
            let id = registry.holder_add(&input, now)?;
            (
                json!({"ok": true, "holder": id}),
                format!("holder {id} enrolled"),
            )
        }
        Command::Holder {
            command:
                HolderCommand::Import {
                    file,
                    all_or_nothing,
                },
        } => {
            let reader = std::fs::File::open(file).map_err(|source| IssuerError::Io {
                path: file.clone(),
                source,
            })?;
            let base = file.parent().unwrap_or(std::path::Path::new("."));
            let rows =
                issuer::enrol::read_csv(reader, base).map_err(|reason| IssuerError::Invalid {
                    field: file.display().to_string(),
                    reason,
                })?;
            let bar = progress(rows.len() as u64, "enrolling");
            let (added, errors) =
                registry.holder_import(&rows, *all_or_nothing, now, || bar.inc(1))?;
            bar.finish_and_clear();
            let mut text = format!(
                "{} holders enrolled, {} lines rejected{}",
                added.len(),
                errors.len(),
                if *all_or_nothing && !errors.is_empty() {
                    " (nothing committed: --all-or-nothing)"
                } else {
                    ""
                }
            );
            for (line, reason) in &errors {
                text += &format!("\n  line {line}: {reason}");
            }
            let value = json!({"ok": errors.is_empty(), "added": added.len(), "committed": !*all_or_nothing || errors.is_empty(),
                "errors": errors.iter().map(|(l, r)| json!({"line": l, "reason": r})).collect::<Vec<_>>()});
            (value, text)
        }
        Command::Holder {
            command: HolderCommand::Show { holder },
        } => {
            let value = registry.holder_json(holder_id(&registry, holder)?)?;
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            (value, text)
        }
        Command::Holder {
            command:
                HolderCommand::Update {
                    holder,
                    classes,
                    valid_from,
                    valid_to,
                    authority,
                    address,
                },
        } => {
            let id = holder_id(&registry, holder)?;
            let current = registry.holder_json(id)?;
            let from = match valid_from {
                Some(t) => Some(parse_date("valid_from", t)?),
                None => None,
            };
            let validity = match (from, valid_to.as_deref()) {
                (None, None) => None,
                (from, to) => {
                    let from = match from {
                        Some(f) => f,
                        None => parse_date(
                            "valid_from",
                            current["valid_from"].as_str().unwrap_or_default(),
                        )?,
                    };
                    let to = match to {
                        Some("长期" | "long-term") => None,
                        Some(t) => Some(parse_date("valid_to", t)?),
                        None => current["valid_to"]
                            .as_str()
                            .map(|t| parse_date("valid_to", t))
                            .transpose()?,
                    };
                    Some(Validity { from, to })
                }
            };
            let changes = HolderChanges {
                classes: classes
                    .as_deref()
                    .map(|c| {
                        ClassSet::parse(c).ok_or_else(|| IssuerError::Invalid {
                            field: "classes".into(),
                            reason: format!("{c:?} are not licence classes"),
                        })
                    })
                    .transpose()?,
                validity,
                authority_code: authority.clone(),
                address: address.clone(),
            };
            let issued =
                registry.holder_update(id, &changes, &mut keyring(&cli, false)?, now, lifetime)?;
            match issued {
                Some(i) => (json!({"ok": true, "reissued": issued_json(&i)}), format!("holder {id} updated; re-issued as serial {}/{} (the old serial is superseded)", i.authority_code, i.serial)),
                None => (json!({"ok": true, "reissued": null}), format!("holder {id} updated")),
            }
        }
        Command::Portrait {
            command:
                PortraitCommand::Add {
                    holder,
                    source,
                    file,
                },
        } => {
            let id = holder_id(&registry, holder)?;
            let source = PortraitSource::parse(source).ok_or_else(|| IssuerError::Invalid {
                field: "source".into(),
                reason: "expected retained, camera or album".into(),
            })?;
            let bytes = std::fs::read(file).map_err(|e| IssuerError::Io {
                path: file.clone(),
                source: e,
            })?;
            let (pid, state, failures) = registry.portrait_add(id, source, &bytes, now)?;
            let mut text = format!("portrait {pid} for holder {id}: {state}");
            for f in &failures {
                text += &format!("\n  ✘ {f}");
            }
            (
                json!({"ok": state != "rejected", "portrait": pid, "state": state, "failures": failures}),
                text,
            )
        }
        Command::Review {
            command: ReviewCommand::List,
        } => {
            let items = registry.review_list(now)?;
            let mut text = format!("{} portraits awaiting review", items.len());
            for i in &items {
                text += &format!(
                    "\n  #{} holder {} {} ({}) waiting {} h{}",
                    i["portrait"],
                    i["holder"],
                    i["name"].as_str().unwrap_or(""),
                    i["source"].as_str().unwrap_or(""),
                    i["age_h"],
                    if i["overdue"] == true {
                        "  OVERDUE"
                    } else {
                        ""
                    }
                );
            }
            (json!({"pending": items}), text)
        }
        Command::Review {
            command: ReviewCommand::Approve { portrait },
        } => {
            let issued = registry.review_decide(
                *portrait,
                true,
                None,
                &mut keyring(&cli, false)?,
                now,
                lifetime,
            )?;
            (
                json!({"ok": true, "portrait": portrait, "reissued": issued.as_ref().map(issued_json)}),
                format!(
                    "portrait {portrait} approved{}",
                    issued
                        .map(|i| format!(
                            "; credential re-issued as serial {}/{}",
                            i.authority_code, i.serial
                        ))
                        .unwrap_or_default()
                ),
            )
        }
        Command::Review {
            command: ReviewCommand::Reject { portrait, reason },
        } => {
            registry.review_decide(
                *portrait,
                false,
                Some(reason),
                &mut keyring(&cli, false)?,
                now,
                lifetime,
            )?;
            (
                json!({"ok": true, "portrait": portrait}),
                format!("portrait {portrait} rejected: {reason}"),
            )
        }
        Command::Issue {
            holder: Some(holder),
            device_key,
            out,
            ..
        } => {
            let id = holder_id(&registry, holder)?;
            let key = device_key.as_deref().map(parse_device_key).transpose()?;
            let issued = registry.issue(id, key, &mut keyring(&cli, false)?, now, lifetime)?;
            write_package(out, &issued)?;
            (
                json!({"ok": true, "issued": issued_json(&issued)}),
                format!(
                    "issued serial {}/{} to holder {id}, valid until {}",
                    issued.authority_code, issued.serial, issued.expires_at
                ),
            )
        }
        Command::Issue { all: true, .. } => {
            let pending = registry.pending_issuance()?;
            let mut keyring = keyring(&cli, false)?;
            let bar = progress(pending.len() as u64, "issuing");
            let (issued, refused) =
                registry.issue_batch(&pending, 64, &mut keyring, now, lifetime, |n| {
                    bar.inc(n as u64)
                })?;
            bar.finish_and_clear();
            let refused: Vec<Value> = refused
                .iter()
                .map(|(id, reason)| json!({"holder": id, "reason": reason}))
                .collect();
            (
                json!({"ok": refused.is_empty(), "issued": issued, "refused": refused}),
                format!("{issued} credentials issued, {} refused", refused.len()),
            )
        }
        Command::Issue { .. } => {
            return Err(IssuerError::Invalid {
                field: "issue".into(),
                reason: "give --holder or --all".into(),
            })
        }
        Command::Refresh { holder, out } => {
            let id = holder_id(&registry, holder)?;
            let issued = registry.refresh(id, &mut keyring(&cli, false)?, now, lifetime)?;
            write_package(out, &issued)?;
            (
                json!({"ok": true, "issued": issued_json(&issued)}),
                format!(
                    "refreshed serial {}/{}, valid until {}",
                    issued.authority_code, issued.serial, issued.expires_at
                ),
            )
        }
        Command::Suspend { holder } => {
            status_result(registry.suspend(holder_id(&registry, holder)?, now)?)
        }
        Command::Revoke { holder } => {
            status_result(registry.revoke(holder_id(&registry, holder)?, now)?)
        }
        Command::Reinstate { holder } => {
            status_result(registry.reinstate(holder_id(&registry, holder)?, now)?)
        }
        Command::Points {
            command: PointsCommand::Set { holder, points },
        } => status_result(registry.points(holder_id(&registry, holder)?, *points, false, now)?),
        Command::Points {
            command: PointsCommand::Add { holder, points },
        } => status_result(registry.points(holder_id(&registry, holder)?, *points, true, now)?),
        Command::Publish {
            out,
            status_ttl_hours,
        } => {
            let value = registry.publish(
                out,
                &mut keyring(&cli, false)?,
                now,
                status_ttl_hours * 3600,
            )?;
            let text = format!(
                "published to {}: trust bundle version {}, {} status lists",
                out.display(),
                value["trust_bundle"]["version"],
                value["status_lists"].as_array().map_or(0, Vec::len)
            );
            (value, text)
        }
        Command::Audit { limit } => {
            let entries = registry.audit_log(*limit)?;
            let text = entries
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {} {} {}",
                        e["at"],
                        e["operator"].as_str().unwrap_or(""),
                        e["action"].as_str().unwrap_or(""),
                        e["subject"].as_str().unwrap_or(""),
                        e["new"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            (json!({"entries": entries}), text)
        }
        Command::Serve {
            bind,
            refreshes_per_hour,
            max_skew,
        } => {
            let options = issuer::serve::ServeOptions {
                bind: bind.clone(),
                fixed_now: cli.at,
                lifetime_s: lifetime,
                max_skew_s: *max_skew,
                refreshes_per_hour: *refreshes_per_hour,
            };
            let keyring = keyring(&cli, false)?;
            issuer::serve::run(registry, keyring, options)?;
            (json!({"ok": true}), "the refresh service stopped".into())
        }
        Command::Check => {
            let value = registry.check()?;
            let text = format!(
                "registry OK: {} holders, {} credentials ({} current), {} audit entries",
                value["holders"],
                value["credentials"],
                value["current_credentials"],
                value["audit_entries"]
            );
            (value, text)
        }
    })
}

fn status_result(value: Value) -> (Value, String) {
    let text = format!(
        "status {}, points {}, credential {}",
        value["status"].as_str().unwrap_or(""),
        value["points"],
        value["credential"].as_str().unwrap_or("")
    );
    (json!({"ok": true, "holder_status": value}), text)
}

fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
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
