//! The verifier's commands, as the CLI runs them: each takes the options and its
//! arguments, writes its report (human or JSON, via [`crate::render`]) and returns the
//! exit status, or a [`CommandError`] that [`report_error`] prints. The binary only
//! parses arguments and calls one of these.
//!
//! Exit statuses: 0 valid / done, 1 rejected or refused, 2 usage or I/O error on a
//! given file, 3 the store's installed material is damaged (no verdict).

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use credential::trust_bundle::TrustBundle;
use credential::Policy;

use crate::collect::{CollectLimits, FrameCollector};
use crate::desk::{read_line, Line};
use crate::frames;
use crate::messages::{self, label, Kind};
use crate::render::{self, Colour, Lang};
use crate::scan;
use crate::store::{parse_root_key, ErrorClass, Store, StoreError};
use crate::time::format_instant;

/// Codes of [`CommandError::Usage`].
pub const USAGE_CODES: [&str; 3] = ["bad_time", "input_error", "bad_lang"];

/// Longest line desk mode keeps (longer ones are rejected as too long).
const DESK_MAX_LINE: usize = credential::limits::MAX_QR_TEXT_CHARS + 2;

/// Options every command shares.
#[derive(Clone, Debug)]
pub struct Options {
    /// The store directory.
    pub store: PathBuf,
    /// Machine-readable output.
    pub json: bool,
    /// Language of sentences and labels (also of JSON `message` fields).
    pub lang: Lang,
    /// Check as of this instant instead of the clock.
    pub at: Option<u64>,
    /// Freshness window and skew.
    pub policy: Policy,
    /// Colour for the human verdict line.
    pub colour: Colour,
}

impl Options {
    fn now(&self) -> u64 {
        self.at.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }
}

/// The process exit status of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: valid, or the command did what was asked.
    Ok = 0,
    /// 1: rejected or refused.
    Rejected = 1,
    /// 2: usage error or a given file unreadable.
    Usage = 2,
    /// 3: the store is damaged; no verdict.
    Store = 3,
}

/// Why a command could not do its job.
#[derive(Debug)]
pub enum CommandError {
    /// From the store (refusal, damage, not set up).
    Store(StoreError),
    /// A usage problem, with the code of its message and the message's arguments.
    Usage {
        /// Code in [`USAGE_CODES`].
        code: &'static str,
        /// Placeholder values.
        args: Vec<(&'static str, String)>,
    },
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        CommandError::Store(e)
    }
}

impl CommandError {
    fn input(source: &str, error: &std::io::Error) -> CommandError {
        CommandError::Usage {
            code: "input_error",
            args: vec![("source", source.to_owned()), ("detail", error.to_string())],
        }
    }

    /// A usage error for `--at TEXT`.
    pub fn bad_time(text: &str) -> CommandError {
        CommandError::Usage {
            code: "bad_time",
            args: vec![("text", text.to_owned())],
        }
    }

    /// A usage error for `--lang TEXT`.
    pub fn bad_lang(text: &str) -> CommandError {
        CommandError::Usage {
            code: "bad_lang",
            args: vec![("text", text.to_owned())],
        }
    }

    /// The exit status.
    pub fn exit(&self) -> Exit {
        match self {
            CommandError::Store(e) => match e.class() {
                ErrorClass::Refused => Exit::Rejected,
                ErrorClass::Usage => Exit::Usage,
                ErrorClass::Store => Exit::Store,
            },
            CommandError::Usage { .. } => Exit::Usage,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Store(e) => e.code(),
            CommandError::Usage { code, .. } => code,
        }
    }

    /// The sentence in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            CommandError::Store(e) => messages::store_error(e, lang),
            CommandError::Usage { code, args } => {
                let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (*k, v.clone())).collect();
                messages::text(Kind::Usage, code, lang, &args)
            }
        }
    }
}

/// Prints a failed command's error (JSON on stdout with `--json`, else a line on
/// stderr) and returns its exit status.
pub fn report_error(
    error: &CommandError,
    json: bool,
    lang: Lang,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Exit {
    let exit = error.exit();
    let message = error.message(lang);
    let class = match exit {
        Exit::Rejected => "refused",
        Exit::Store => "store",
        Exit::Ok | Exit::Usage => "usage",
    };
    let file = match error {
        CommandError::Store(StoreError::Damaged { path, .. }) => Some(path.display().to_string()),
        _ => None,
    };
    // A closed pipe is not worth a panic; the exit status still tells.
    if json {
        let _ = writeln!(
            out,
            "{}",
            render::error_json(class, error.code(), &message, file.as_deref())
        );
    } else if exit == Exit::Store {
        let _ = writeln!(
            err,
            "{}  {}",
            label("no_verdict", lang),
            label("store_error", lang)
        );
        let _ = writeln!(err, "verifier: {message}");
    } else {
        let _ = writeln!(err, "verifier: {message}");
    }
    exit
}

fn read_file(path: &Path) -> Result<Vec<u8>, CommandError> {
    std::fs::read(path).map_err(|e| CommandError::input(&path.display().to_string(), &e))
}

fn report(
    opts: &Options,
    out: &mut dyn Write,
    value: serde_json::Value,
    text: &str,
) -> Result<Exit, CommandError> {
    let _ = if opts.json {
        writeln!(out, "{value}")
    } else {
        writeln!(out, "{text}")
    };
    Ok(Exit::Ok)
}

/// `init --root KEY|FILE [--force]`.
pub fn init(
    opts: &Options,
    root: &str,
    force: bool,
    out: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let text = std::fs::read_to_string(root).unwrap_or_else(|_| root.to_owned());
    let key = parse_root_key(&text)?;
    let store = Store::new(&opts.store);
    store.init(&key, force)?;
    let kid = hex::encode(credential::signature::key_id(key.as_bytes()));
    report(
        opts,
        out,
        serde_json::json!({"ok": true, "root_kid": kid}),
        &messages::text(
            Kind::Label,
            "root_configured",
            opts.lang,
            &[
                ("kid", kid.clone()),
                ("path", store.dir().display().to_string()),
            ],
        ),
    )
}

/// `trust import FILE`.
pub fn trust_import(
    opts: &Options,
    file: &Path,
    out: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let bundle = Store::new(&opts.store).import_trust(&read_file(file)?)?;
    let c = &bundle.content;
    report(
        opts,
        out,
        serde_json::json!({"ok": true, "version": c.version, "keys": c.keys.len()}),
        &messages::text(
            Kind::Label,
            "trust_installed",
            opts.lang,
            &[
                ("version", c.version.to_string()),
                ("keys", c.keys.len().to_string()),
            ],
        ),
    )
}

/// `status import FILE`.
pub fn status_import(
    opts: &Options,
    file: &Path,
    out: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let list = Store::new(&opts.store).import_status(&read_file(file)?)?;
    let (value, text) = list_installed(opts, &list);
    report(opts, out, value, &text)
}

/// What `status import` reports of an installed list: its JSON object and its line.
fn list_installed(
    opts: &Options,
    list: &credential::status_list::StatusList,
) -> (serde_json::Value, String) {
    let value = serde_json::json!({"ok": true, "issuer": list.issuer, "size": list.size, "issued_at": list.issued_at, "next_update": list.next_update});
    let text = messages::text(
        Kind::Label,
        "status_installed",
        opts.lang,
        &[
            ("authority", list.issuer.clone()),
            ("size", list.size.to_string()),
            ("signed", format_instant(list.issued_at)),
        ],
    );
    (value, text)
}

/// Files read for one batch of `status import FILE...` at most, so that many large
/// files never sit in memory at once (each is at most 8 MiB + 1 byte as read).
const STATUS_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// `status import FILE FILE...`: every list through one store batch (one lock, one
/// manifest commit per [`STATUS_BATCH_BYTES`]), judged as if imported one by one in
/// the given order; a line per file (installed, or why refused); exit 0 if all were
/// installed, else the worst of 1 (a refusal) and 2 (a file unreadable).
pub fn status_import_all(
    opts: &Options,
    files: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let store = Store::new(&opts.store);
    let mut exit = Exit::Ok;
    let mut rest = files;
    while !rest.is_empty() {
        let mut batch: Vec<(&PathBuf, Vec<u8>)> = Vec::new();
        let mut batch_bytes = 0;
        while let Some((path, tail)) = rest.split_first() {
            if batch_bytes >= STATUS_BATCH_BYTES {
                break;
            }
            rest = tail;
            match read_status_candidate(path) {
                Ok(bytes) => {
                    batch_bytes += bytes.len();
                    batch.push((path, bytes));
                }
                Err(e) => {
                    exit = exit.max(e.exit());
                    report_file_error(opts, path, &e, out, err);
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let candidates: Vec<&[u8]> = batch.iter().map(|(_, bytes)| bytes.as_slice()).collect();
        let results = store.import_status_lists(&candidates)?;
        for ((path, _), result) in batch.iter().zip(results) {
            let file = path.display().to_string();
            match result {
                Ok(list) => {
                    let (mut value, text) = list_installed(opts, &list);
                    value["file"] = serde_json::json!(file);
                    let _ = if opts.json {
                        writeln!(out, "{value}")
                    } else {
                        writeln!(out, "{file}: {text}")
                    };
                }
                Err(e) => {
                    let e = CommandError::Store(e);
                    exit = exit.max(e.exit());
                    report_file_error(opts, path, &e, out, err);
                }
            }
        }
    }
    Ok(exit)
}

/// A candidate list, read to at most one byte past the format's bound so that an
/// oversized file is refused (`malformed`, §10.4 step 1) without being read whole.
fn read_status_candidate(path: &Path) -> Result<Vec<u8>, CommandError> {
    let input = |e: std::io::Error| CommandError::input(&path.display().to_string(), &e);
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(input)?
        .take(credential::limits::MAX_STATUS_LIST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(input)?;
    Ok(bytes)
}

/// One file of a batch that was not installed: a JSON line naming it, or a line on stderr.
fn report_file_error(
    opts: &Options,
    path: &Path,
    error: &CommandError,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let file = path.display().to_string();
    let message = error.message(opts.lang);
    let _ = if opts.json {
        let class = if error.exit() == Exit::Rejected {
            "refused"
        } else {
            "usage"
        };
        writeln!(
            out,
            "{}",
            render::error_json(class, error.code(), &message, Some(&file))
        )
    } else {
        writeln!(err, "verifier: {file}: {message}")
    };
}

/// `trust show`.
pub fn trust_show(opts: &Options, out: &mut dyn Write) -> Result<Exit, CommandError> {
    let bundle = Store::new(&opts.store)
        .bundle()?
        .ok_or(StoreError::NoTrustBundle)?;
    let _ = out.write_all(show_bundle(&bundle, opts.json, opts.now()).as_bytes());
    Ok(Exit::Ok)
}

fn show_bundle(bundle: &TrustBundle, json: bool, now: u64) -> String {
    let c = &bundle.content;
    if json {
        let keys: Vec<_> = c
            .keys
            .iter()
            .map(|k| serde_json::json!({"kid": hex::encode(k.kid), "authority_code": k.authority_code, "authority_name": k.authority_name, "valid_from": k.valid_from, "valid_to": k.valid_to, "retired": k.retired}))
            .collect();
        return format!(
            "{}\n",
            serde_json::json!({"version": c.version, "issued_at": c.issued_at, "next_update": c.next_update, "stale": now > c.next_update, "keys": keys})
        );
    }
    let mut text = format!(
        "trust bundle version {}, signed {}, next update {}{}\n",
        c.version,
        format_instant(c.issued_at),
        format_instant(c.next_update),
        if now > c.next_update {
            " (OVERDUE)"
        } else {
            ""
        }
    );
    for k in &c.keys {
        text += &format!(
            "  {} {} {}  {} – {}{}\n",
            hex::encode(k.kid),
            k.authority_code,
            k.authority_name,
            format_instant(k.valid_from),
            format_instant(k.valid_to),
            if k.retired { "  RETIRED" } else { "" }
        );
    }
    text
}

fn print_verdict(opts: &Options, verdict: &credential::Verdict, out: &mut dyn Write) {
    let text = if opts.json {
        format!("{}\n", render::json(verdict, opts.lang))
    } else {
        render::human(verdict, opts.lang, opts.colour) + "\n"
    };
    let _ = out.write_all(text.as_bytes());
}

/// `check [TEXT | -]`: one verdict. Input that is not UTF-8 is a `malformed`
/// presentation (spec §8.1), not an I/O error.
pub fn check(
    opts: &Options,
    payload: Option<&str>,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let bytes = match payload {
        Some("-") | None => {
            let mut bytes = Vec::new();
            stdin
                .take(credential::limits::MAX_QR_TEXT_CHARS as u64 + 3)
                .read_to_end(&mut bytes)
                .map_err(|e| CommandError::input("stdin", &e))?;
            bytes
        }
        Some(text) => text.as_bytes().to_vec(),
    };
    let loaded = Store::new(&opts.store).load()?;
    let verdict = credential::verify::verify_qr_bytes(
        &bytes,
        &loaded.bundle,
        &loaded.lists,
        opts.now(),
        &opts.policy,
    );
    print_verdict(opts, &verdict, out);
    Ok(if verdict.outcome.is_ok() {
        Exit::Ok
    } else {
        Exit::Rejected
    })
}

/// How desk mode talks to the person at the desk (stderr), apart from the verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeskScreen {
    /// Not a terminal (a pipe, a log): prompts only, no control sequences.
    Plain,
    /// A terminal: the screen is cleared before each verdict, so the previous
    /// customer's data is not left on display.
    Terminal,
}

/// `desk`: one verdict per scanned line until end of input. A blank line (Enter on
/// the keyboard; a scanner never sends one) gets a one-line prompt on stderr, no verdict.
pub fn desk(
    opts: &Options,
    screen: DeskScreen,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let loaded = Store::new(&opts.store).load()?;
    if !opts.json {
        let _ = writeln!(err, "{}", label("desk_ready", opts.lang));
    }
    while let Some(line) =
        read_line(input, DESK_MAX_LINE).map_err(|e| CommandError::input("stdin", &e))?
    {
        let bytes = match line {
            Line::Text(text) if text.trim().is_empty() => {
                let _ = writeln!(err, "{}", label("desk_blank", opts.lang));
                continue;
            }
            Line::Text(text) => text.into_bytes(),
            // Let the verifier produce the rejection, so every line gets the same kind of verdict.
            Line::TooLong(_) => vec![b'X'; credential::limits::MAX_QR_TEXT_CHARS + 1],
            Line::NotUtf8 => vec![0xff],
        };
        let verdict = credential::verify::verify_qr_bytes(
            &bytes,
            &loaded.bundle,
            &loaded.lists,
            opts.now(),
            &opts.policy,
        );
        if screen == DeskScreen::Terminal && !opts.json {
            // Clear the screen and move home: one customer's verdict at a time.
            let _ = out.write_all(b"\x1b[2J\x1b[H");
        }
        print_verdict(opts, &verdict, out);
        let _ = out.flush();
        if !opts.json {
            let _ = writeln!(err, "{}", label("desk_next", opts.lang));
        }
    }
    Ok(Exit::Ok)
}

/// What `scan` is asked for beyond the inputs.
#[derive(Clone, Debug, Default)]
pub struct ScanRequest {
    /// Print the decoded texts only, without verifying.
    pub raw: bool,
    /// Write the holder's portrait here (0600), only if it matched the signed digest.
    pub portrait_out: Option<PathBuf>,
    /// Override [`frames::FrameLimits::max_frames`].
    pub max_frames: Option<usize>,
}

/// `scan [--raw] [--portrait-out FILE] INPUT...`.
///
/// One still image (and `--raw`): every code in it, a verdict each (or the text),
/// as `scan` always did. Otherwise the inputs are the frames of one animated code
/// (several images in order, a GIF, an APNG, a Y4M video; told by content): they
/// are read until the presentation is verified and its portrait matched or
/// settled (spec §17.5), and one verdict is reported with the portrait's state.
pub fn scan(
    opts: &Options,
    request: &ScanRequest,
    images: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let single_still = match images {
        [one] => frames::probe(one).is_none_or(|kind| kind == frames::SourceKind::Still),
        _ => false,
    };
    let all_still = images
        .iter()
        .all(|i| frames::probe(i).is_none_or(|kind| kind == frames::SourceKind::Still));
    if request.raw && !all_still {
        return scan_frames_raw(opts, request, images, out, err);
    }
    if request.raw || (single_still && request.portrait_out.is_none()) {
        return scan_images(opts, request.raw, images, out, err);
    }
    scan_frames(opts, request, images, out, err)
}

fn frame_limits(request: &ScanRequest) -> frames::FrameLimits {
    let mut limits = frames::FrameLimits::default();
    if let Some(max) = request.max_frames {
        limits.max_frames = max;
    }
    limits
}

/// `scan --raw` of animated inputs: each distinct text once, in the order first
/// read (a loop repeats its frames), with the frame it was first read in.
fn scan_frames_raw(
    opts: &Options,
    request: &ScanRequest,
    inputs: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CommandError> {
    scan::silence_contained_panics();
    let mut exit = Exit::Ok;
    let mut seen = std::collections::HashSet::new();
    let mut decoded = 0usize;
    let per_frame = scan::Limits::default().max_scan_time;
    for next in frames::FrameReader::new(inputs, frame_limits(request)) {
        let frame = match next {
            Ok(frame) => frame,
            Err(failure) => {
                exit = exit.max(frame_input_failed(opts, inputs, &failure, true, out, err));
                continue;
            }
        };
        decoded += 1;
        let found = scan::read_codes(&frame.luma, std::time::Instant::now() + per_frame);
        let file = input_name(inputs, frame.input);
        for (index, code) in found.codes.iter().enumerate() {
            if !seen.insert(code.text.clone()) {
                continue;
            }
            let line = if opts.json {
                let mut value = render::scan_raw_json(&file, index, code);
                value["frame"] = serde_json::json!(frame.index);
                value.to_string()
            } else {
                code.text.clone()
            };
            let _ = writeln!(out, "{line}");
        }
    }
    if seen.is_empty() && decoded > 0 {
        exit = exit.max(Exit::Rejected);
        let message = messages::text(Kind::Scan, scan::NO_CODE, opts.lang, &[]);
        let file = input_name(inputs, 0);
        scan_failure(opts, &file, scan::NO_CODE, &message, true, out, err);
    }
    Ok(exit)
}

/// The frames of one animated code, collected (spec §17.5).
fn scan_frames(
    opts: &Options,
    request: &ScanRequest,
    inputs: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let loaded = Store::new(&opts.store).load()?;
    scan::silence_contained_panics();
    let lang = opts.lang;
    let limits = frame_limits(request);
    let mut collector = FrameCollector::new(
        &loaded.bundle,
        &loaded.lists,
        opts.now(),
        opts.policy,
        CollectLimits::default(),
    );
    let mut exit = Exit::Ok;
    let mut reader = frames::FrameReader::new(inputs, limits);
    let mut seen = Vec::new();
    let mut decoder_faults = 0;
    let mut frames_decoded = 0;
    for next in reader.by_ref() {
        let frame = match next {
            Ok(frame) => frame,
            Err(failure) => {
                exit = exit.max(frame_input_failed(opts, inputs, &failure, false, out, err));
                continue;
            }
        };
        frames_decoded += 1;
        let outcome = collector.push_frame(&frame.luma);
        decoder_faults += outcome.decoder_faults;
        seen.push(render::SeenFrame {
            input: frame.input,
            index_in_input: frame.index_in_input,
            at_ms: frame.at_ms,
        });
        if collector.is_done() {
            break;
        }
    }
    if decoder_faults > 0 {
        let note = messages::text(
            Kind::Scan,
            scan::DECODER_FAULTS,
            lang,
            &[("count", decoder_faults.to_string())],
        );
        let _ = writeln!(err, "verifier: {note}");
    }
    let written = match (&request.portrait_out, collector.portrait()) {
        (Some(path), Some(portrait)) => {
            // Personal data: readable by this user only, never a torn file.
            atomic_file::replace(path, portrait, 0o600)
                .map_err(|e| CommandError::input(&path.display().to_string(), &e))?;
            Some(path.as_path())
        }
        _ => None,
    };
    let Some(verdict) = collector.verdict() else {
        if frames_decoded == 0 {
            return Ok(exit);
        }
        exit = exit.max(Exit::Rejected);
        let code = if collector.progress().first_code_frame.is_some() {
            "no_presentation"
        } else {
            scan::NO_CODE
        };
        let message = messages::text(Kind::Scan, code, lang, &[]);
        let file = input_name(inputs, seen.first().map_or(0, |f| f.input));
        scan_failure(opts, &file, code, &message, false, out, err);
        return Ok(exit);
    };
    if verdict.outcome.is_err() {
        exit = exit.max(Exit::Rejected);
    }
    let report = render::LoopReport {
        verdict,
        collector: &collector,
        inputs,
        seen: &seen,
        written,
    };
    let text = if opts.json {
        format!("{}\n", render::scan_loop_json(&report, lang))
    } else {
        render::scan_loop_human(&report, lang, opts.colour)
    };
    let _ = out.write_all(text.as_bytes());
    Ok(exit)
}

fn input_name(inputs: &[PathBuf], input: usize) -> String {
    inputs
        .get(input)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Every code in every image, a verdict each (or the text).
fn scan_images(
    opts: &Options,
    raw: bool,
    images: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CommandError> {
    let loaded = if raw {
        None
    } else {
        Some(Store::new(&opts.store).load()?)
    };
    scan::silence_contained_panics();
    let lang = opts.lang;
    let mut exit = Exit::Ok;
    let limits = scan::Limits::default();
    for path in images {
        let file = path.display().to_string();
        let found = match scan::scan_file(path, &limits) {
            Ok(found) => found,
            Err(e) => {
                exit = exit.max(if e.is_refusal() {
                    Exit::Rejected
                } else {
                    Exit::Usage
                });
                let message = messages::scan_error(&e, lang);
                scan_failure(opts, &file, e.code(), &message, raw, out, err);
                continue;
            }
        };
        if found.decoder_faults > 0 {
            let note = messages::text(
                Kind::Scan,
                scan::DECODER_FAULTS,
                lang,
                &[("count", found.decoder_faults.to_string())],
            );
            let _ = writeln!(err, "verifier: {file}: {note}");
        }
        if found.codes.is_empty() {
            exit = exit.max(Exit::Rejected);
            let hint = if found.timed_out {
                messages::text(
                    Kind::Scan,
                    scan::NO_CODE_IN_TIME,
                    lang,
                    &[("seconds", limits.max_scan_time.as_secs().to_string())],
                )
            } else {
                messages::text(Kind::Scan, scan::NO_CODE, lang, &[])
            };
            scan_failure(opts, &file, scan::NO_CODE, &hint, raw, out, err);
        }
        for (index, code) in found.codes.iter().enumerate() {
            let Some(loaded) = &loaded else {
                let line = if opts.json {
                    render::scan_raw_json(&file, index, code).to_string()
                } else {
                    code.text.clone()
                };
                let _ = writeln!(out, "{line}");
                continue;
            };
            let verdict = credential::verify(
                &code.text,
                &loaded.bundle,
                &loaded.lists,
                opts.now(),
                &opts.policy,
            );
            if verdict.outcome.is_err() {
                exit = exit.max(Exit::Rejected);
            }
            let text = if opts.json {
                format!(
                    "{}\n",
                    render::scan_verdict_json(&verdict, lang, &file, index, code)
                )
            } else {
                let of = messages::text(
                    Kind::Label,
                    "code_of",
                    lang,
                    &[
                        ("index", (index + 1).to_string()),
                        ("count", found.codes.len().to_string()),
                    ],
                );
                format!(
                    "{file} · {of}\n{}\n",
                    render::human(&verdict, lang, opts.colour)
                )
            };
            let _ = out.write_all(text.as_bytes());
        }
    }
    Ok(exit)
}

/// Reports an image that gave no code: a rejection line (or JSON) in verify mode;
/// on stderr (or JSON) in raw mode, whose stdout holds only decoded texts.
/// Reports an input whose frames could not be read (`raw`: in `scan --raw`'s
/// form); the exit it calls for: rejected for a refused input, usage otherwise.
fn frame_input_failed(
    opts: &Options,
    inputs: &[PathBuf],
    failure: &frames::InputError,
    raw: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Exit {
    let frames::InputError { input, error } = failure;
    let message = messages::frame_error(error, opts.lang);
    let file = input_name(inputs, *input);
    scan_failure(opts, &file, error.code(), &message, raw, out, err);
    if error.is_refusal() {
        Exit::Rejected
    } else {
        Exit::Usage
    }
}

fn scan_failure(
    opts: &Options,
    file: &str,
    code: &str,
    message: &str,
    raw: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    if opts.json {
        let _ = writeln!(
            out,
            "{}",
            render::scan_failure_json(file, code, message, raw)
        );
    } else if raw || code == "io_error" {
        let _ = writeln!(err, "verifier: {file}: {message}");
    } else {
        let _ = writeln!(
            out,
            "{file}\n{}  {message}\n  {}: {code}\n",
            opts.colour_rejected(),
            label("reason", opts.lang)
        );
    }
}

impl Options {
    fn colour_rejected(&self) -> String {
        render::rejected_label(self.lang, self.colour)
    }
}
