//! From a parsed command line to one library call; nothing here decides anything.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use credential::date::Date;
use credential::licence::ClassSet;
use issuer::keyfile::{self, KdfParams, PassphraseSource};
use issuer::model::{HolderChanges, PortraitSource, DAY};
use issuer::store::Store;
use issuer::{backend, IssuerError, Keyring, Registry};

use crate::cli::*;
use crate::report::Outcome;

/// Runs the command on the registry the options name (`--database`, else the
/// SQLite registry in `--registry`); the outcome is reported by [`crate::report`].
pub fn run(cli: &Cli) -> Result<Outcome, IssuerError> {
    let operator = cli
        .operator
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    if let Command::Migrate { from, to } = &cli.command {
        let to = to
            .as_ref()
            .or(cli.database.as_ref())
            .ok_or_else(|| IssuerError::Invalid {
                field: "to".into(),
                reason: "give the PostgreSQL database with --to".into(),
            })?;
        return Ok(Outcome::Migrated(backend::migrate(from, to)?));
    }
    match &cli.database {
        Some(url) => {
            let keys = cli.keys.as_deref().unwrap_or(&cli.registry);
            let registry = backend::open_postgres(url, keys, &operator, KdfParams::from_env())?;
            run_on(cli, registry)
        }
        None => run_on(
            cli,
            backend::open(&cli.registry, &operator, KdfParams::from_env())?,
        ),
    }
}

fn run_on<S: Store + Send + 'static>(
    cli: &Cli,
    mut registry: Registry<S>,
) -> Result<Outcome, IssuerError> {
    let now = cli.at.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let lifetime = cli.lifetime_days.max(1) * DAY;
    let keys = |confirm| keyring(cli, confirm);
    Ok(match &cli.command {
        Command::Root {
            command: RootCommand::Init,
        } => Outcome::KeyCreated(registry.root_init(&mut keys(true)?, now)?),
        Command::Authority {
            command: AuthorityCommand::Add { code, name },
        } => Outcome::KeyCreated(registry.authority_add(code, name, &mut keys(true)?, now)?),
        Command::Key {
            command: KeyCommand::Rotate { authority },
        } => Outcome::KeyRotated(registry.key_rotate(authority, &mut keys(false)?, now)?),
        Command::Key {
            command: KeyCommand::Retire { kid },
        } => Outcome::KeyRetired(registry.key_retire(kid, now)?),
        Command::Holder {
            command: HolderCommand::Add(fields),
        } => {
            let input = holder_input(fields)?;
            Outcome::HolderAdded(registry.holder_add(&input, now)?)
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
            let base = file.parent().unwrap_or(Path::new("."));
            let parsed = issuer::csv_import::read_csv(reader, base).map_err(|reason| {
                IssuerError::Invalid {
                    field: file.display().to_string(),
                    reason,
                }
            })?;
            let bar = crate::report::progress(parsed.lines.len() as u64, "enrolling");
            let report = registry.holder_import(
                &parsed.lines,
                parsed.blank_lines,
                *all_or_nothing,
                now,
                || bar.inc(1),
            )?;
            bar.finish_and_clear();
            Outcome::Imported(report)
        }
        Command::Holder {
            command: HolderCommand::Show { holder },
        } => Outcome::Holder(Box::new(
            registry.holder_report(registry.find_holder(holder)?)?,
        )),
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
            let changes = HolderChanges {
                classes: classes.as_deref().map(parse_classes).transpose()?,
                valid_from: valid_from
                    .as_deref()
                    .map(|t| parse_date("valid_from", t))
                    .transpose()?,
                valid_to: valid_to
                    .as_deref()
                    .map(|t| match t {
                        "长期" | "long-term" => Ok(None),
                        t => parse_date("valid_to", t).map(Some),
                    })
                    .transpose()?,
                authority_code: authority.clone(),
                address: address.clone(),
            };
            let id = registry.find_holder(holder)?;
            Outcome::HolderUpdated(registry.holder_update(
                id,
                &changes,
                &mut keys(false)?,
                now,
                lifetime,
            )?)
        }
        Command::Portrait {
            command:
                PortraitCommand::Add {
                    holder,
                    source,
                    file,
                },
        } => {
            let id = registry.find_holder(holder)?;
            let source = PortraitSource::parse(source).ok_or_else(|| IssuerError::Invalid {
                field: "source".into(),
                reason: "expected retained, camera or album".into(),
            })?;
            let bytes = std::fs::read(file).map_err(|source| IssuerError::Io {
                path: file.clone(),
                source,
            })?;
            Outcome::PortraitAdded(id, registry.portrait_add(id, source, &bytes, now)?)
        }
        Command::Portrait {
            command: PortraitCommand::Export { holder, out },
        } => {
            let made = registry.made_portrait(registry.find_holder(holder)?)?;
            atomic_file::create_new(out, &made.bytes, 0o600).map_err(|source| IssuerError::Io {
                path: out.clone(),
                source,
            })?;
            Outcome::PortraitExported(made, out.clone())
        }
        Command::Review {
            command: ReviewCommand::List,
        } => Outcome::ReviewQueue(registry.review_list(now)?),
        Command::Review {
            command: ReviewCommand::Show { which, out },
        } => {
            let record = registry.portrait(portrait_id(&registry, which)?)?;
            if let Some(path) = out {
                atomic_file::create_new(path, &record.bytes, 0o600).map_err(|source| {
                    IssuerError::Io {
                        path: path.clone(),
                        source,
                    }
                })?;
            }
            Outcome::Portrait(record, out.clone())
        }
        Command::Review {
            command: ReviewCommand::Approve { which },
        } => {
            let portrait = portrait_id(&registry, which)?;
            let decided =
                registry.review_decide(portrait, true, None, &mut keys(false)?, now, lifetime)?;
            Outcome::Reviewed(decided, None)
        }
        Command::Review {
            command: ReviewCommand::Reject { which, reason },
        } => {
            let portrait = portrait_id(&registry, which)?;
            let decided = registry.review_decide(
                portrait,
                false,
                Some(reason),
                &mut keys(false)?,
                now,
                lifetime,
            )?;
            Outcome::Reviewed(decided, Some(reason.clone()))
        }
        Command::Issue {
            holder: Some(holder),
            device_key,
            out,
            ..
        } => {
            let id = registry.find_holder(holder)?;
            let key = device_key.as_deref().map(parse_device_key).transpose()?;
            let issued = registry.issue(id, key, &mut keys(false)?, now, lifetime)?;
            write_package(out.as_deref(), &issued)?;
            Outcome::Issued(issued)
        }
        Command::Issue { all: true, .. } => {
            // The count is for the progress bar only: the batch reads each chunk
            // under its own lock.
            let pending = registry.pending_issuance()?.len();
            let mut keyring = keys(false)?;
            let bar = crate::report::progress(pending as u64, "issuing");
            let report =
                registry.issue_pending(64, &mut keyring, now, lifetime, |n| bar.inc(n as u64))?;
            bar.finish_and_clear();
            Outcome::Batch(report)
        }
        Command::Issue { .. } => {
            return Err(IssuerError::Invalid {
                field: "issue".into(),
                reason: "give --holder or --all".into(),
            })
        }
        Command::Refresh { holder, out } => {
            let id = registry.find_holder(holder)?;
            let issued = registry.refresh(id, &mut keys(false)?, now, lifetime)?;
            write_package(out.as_deref(), &issued)?;
            Outcome::Refreshed(issued)
        }
        Command::Suspend { holder } => {
            Outcome::Status(registry.suspend(registry.find_holder(holder)?, now)?)
        }
        Command::Revoke { holder } => {
            Outcome::Status(registry.revoke(registry.find_holder(holder)?, now)?)
        }
        Command::Reinstate { holder } => {
            Outcome::Status(registry.reinstate(registry.find_holder(holder)?, now)?)
        }
        Command::Points {
            command: PointsCommand::Set { holder, points },
        } => {
            Outcome::Status(registry.points(registry.find_holder(holder)?, *points, false, now)?)
        }
        Command::Points {
            command: PointsCommand::Add { holder, points },
        } => Outcome::Status(registry.points(registry.find_holder(holder)?, *points, true, now)?),
        Command::Publish {
            out,
            status_ttl_hours,
        } => Outcome::Published(
            registry.publish(out, &mut keys(false)?, now, status_ttl_hours * 3600)?,
            out.clone(),
        ),
        Command::Audit { limit } => Outcome::Audit(registry.audit_log(*limit)?),
        Command::Check => Outcome::Checked(registry.check()?),
        Command::Serve {
            bind,
            refreshes_per_hour,
            max_skew,
            header_timeout,
            max_connections,
        } => {
            let options = issuer::serve::ServeOptions {
                bind: bind.clone(),
                fixed_now: cli.at,
                lifetime_s: lifetime,
                max_skew_s: *max_skew,
                refreshes_per_hour: *refreshes_per_hour,
                header_timeout: std::time::Duration::from_secs((*header_timeout).max(1)),
                max_connections: *max_connections,
            };
            issuer::serve::run(registry, keys(false)?, options)?;
            Outcome::Stopped
        }
        // Answered before any registry is opened (by `main`, or by `run`).
        Command::Completions { .. } | Command::Manpage | Command::Migrate { .. } => {
            Outcome::Stopped
        }
    })
}

fn portrait_id<S: Store>(
    registry: &issuer::Registry<S>,
    which: &PortraitChoice,
) -> Result<i64, IssuerError> {
    match (&which.portrait, &which.holder) {
        (Some(id), _) => Ok(*id),
        (None, Some(holder)) => registry.pending_portrait_of(registry.find_holder(holder)?),
        (None, None) => Err(IssuerError::Invalid {
            field: "portrait".into(),
            reason: "give a portrait id or --holder".into(),
        }),
    }
}

fn keyring(cli: &Cli, confirm: bool) -> Result<Keyring, IssuerError> {
    let source = match (&cli.passphrase_file, std::env::var("ISSUER_PASSPHRASE")) {
        (Some(file), _) => PassphraseSource::File(file.clone()),
        (None, Ok(_)) => PassphraseSource::Env("ISSUER_PASSPHRASE".into()),
        (None, Err(_)) => PassphraseSource::Prompt,
    };
    Ok(Keyring::new(keyfile::read_passphrase(&source, confirm)?)
        .refusing_weaker_than(KdfParams::from_env()))
}

/// `holder add`'s options, through the same parser as a CSV line.
fn holder_input(f: &HolderFields) -> Result<issuer::model::HolderInput, IssuerError> {
    let points = f.points.to_string();
    let field = |name: &str| -> Option<&str> {
        Some(match name {
            "licence_number" => &f.licence_number,
            "name" => &f.name,
            "sex" => &f.sex,
            "nationality" => &f.nationality,
            "birth_date" => &f.birth_date,
            "address" => &f.address,
            "file_number" => &f.file_number,
            "first_issue_date" => &f.first_issue_date,
            "classes" => &f.classes,
            "valid_from" => &f.valid_from,
            "valid_to" => return f.valid_to.as_deref(),
            "authority" => &f.authority,
            "points" => &points,
            "channel" => &f.channel,
            "device_key" => return f.device_key.as_deref(),
            _ => return None,
        })
    };
    issuer::csv_import::holder_from_fields(&field).map_err(|reason| IssuerError::Invalid {
        field: "holder".into(),
        reason,
    })
}

fn parse_date(field: &str, text: &str) -> Result<Date, IssuerError> {
    Date::parse(text).ok_or_else(|| IssuerError::Invalid {
        field: field.into(),
        reason: format!("{text:?} is not a YYYY-MM-DD date"),
    })
}

fn parse_classes(text: &str) -> Result<ClassSet, IssuerError> {
    ClassSet::parse(text).ok_or_else(|| IssuerError::Invalid {
        field: "classes".into(),
        reason: format!("{text:?} are not licence classes like C1E"),
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

fn write_package(out: Option<&Path>, issued: &issuer::model::Issued) -> Result<(), IssuerError> {
    if let Some(path) = out {
        atomic_file::replace(path, &issued.package(), 0o600).map_err(|source| IssuerError::Io {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}
