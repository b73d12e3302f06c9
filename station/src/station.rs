//! The station's state and use cases: verify a scanned text or a camera frame,
//! import trust material, report the store's state and the history.
//!
//! Everything the page can ask for is a method here, so the HTTP layer only
//! parses and answers. One station per store: the store's `station.lock` is held
//! for the station's life (released by the kernel if it dies).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use credential::Policy;
use serde_json::{json, Value};
use verifier::scan::{self, Luma};
use verifier::store::Loaded;
use verifier::{Store, StoreError};

use crate::desk::Desk;
use crate::history::{Entry, History};
use crate::layout;
use crate::messages::{self, Bilingual};
use crate::verdict::{self, Shown};

/// The lock file inside the store.
pub const LOCK_FILE: &str = "station.lock";

/// Bounds on what the camera may cost.
#[derive(Clone, Copy, Debug)]
pub struct FrameLimits {
    /// Largest frame, in pixels (the page sends 8-bit luma, one byte per pixel).
    pub max_pixels: u64,
    /// Frames closer together than this are refused (the rate bound).
    pub min_interval: Duration,
    /// Time one frame may spend in the scanner cascade; a live camera sends the
    /// next frame soon, so this is far below `verifier scan`'s budget for a photo.
    pub scan_budget: Duration,
    /// A code not seen for this long has left the view; seen again later, it is
    /// announced again.
    pub in_view: Duration,
}

impl Default for FrameLimits {
    /// Full HD, 25 frames per second, 250 ms per frame, 1.5 s out of view.
    fn default() -> FrameLimits {
        FrameLimits {
            max_pixels: 1920 * 1080,
            min_interval: Duration::from_millis(40),
            scan_budget: Duration::from_millis(250),
            in_view: Duration::from_millis(1500),
        }
    }
}

/// The station's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The verifier store.
    pub store: PathBuf,
    /// What this desk may see.
    pub desk: Desk,
    /// Freshness window and clock skew.
    pub policy: Policy,
    /// Camera bounds.
    pub frames: FrameLimits,
}

/// Why the station cannot start, or an import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StationError {
    /// Another station holds this store.
    #[error("another station is already running on the store {0}; close it first (one station per store)")]
    AlreadyRunning(PathBuf),
    /// The lock file could not be opened.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The store cannot be used.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The OS gave no randomness for the history key.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// An import file or folder could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl StationError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            StationError::AlreadyRunning(_) => "station_already_running",
            StationError::Lock { .. } => "station_lock_failed",
            StationError::Store(e) => e.code(),
            StationError::Random(_) => "no_randomness",
            StationError::Read { .. } => "io_error",
        }
    }

    /// The message in both languages.
    pub fn message(&self) -> Bilingual {
        match self {
            StationError::Store(e) => messages::store(e),
            StationError::AlreadyRunning(dir) => Bilingual {
                en: self.to_string(),
                zh: format!(
                    "已有一个核验台在使用存储目录 {}：请先关闭它（每个存储目录只能运行一个）",
                    dir.display()
                ),
            },
            StationError::Read { path, .. } => Bilingual {
                en: self.to_string(),
                zh: format!("无法读取 {}", path.display()),
            },
            other => Bilingual {
                en: other.to_string(),
                zh: format!("核验台无法启动：{other}"),
            },
        }
    }
}

/// Why a camera frame was not scanned. The page slows down or sends a smaller one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameRefusal {
    /// More pixels than [`FrameLimits::max_pixels`].
    #[error("frame of {width}×{height} pixels is larger than the {max} allowed")]
    TooLarge {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The bound.
        max: u64,
    },
    /// The body is not `width × height` bytes.
    #[error("frame body is {got} bytes, expected {width}×{height}")]
    WrongSize {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Bytes received.
        got: usize,
    },
    /// Sooner than [`FrameLimits::min_interval`] after the previous frame.
    #[error("frames are coming faster than allowed; wait {retry_ms} ms")]
    TooFast {
        /// Milliseconds to wait.
        retry_ms: u64,
    },
    /// Another frame is being scanned.
    #[error("the scanner is busy with another frame")]
    Busy,
}

impl FrameRefusal {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            FrameRefusal::TooLarge { .. } => "frame_too_large",
            FrameRefusal::WrongSize { .. } => "frame_wrong_size",
            FrameRefusal::TooFast { .. } => "frame_rate_exceeded",
            FrameRefusal::Busy => "scanner_busy",
        }
    }
}

struct InView {
    text: String,
    reason: Option<&'static str>,
    last_seen: Instant,
    entry: u64,
}

/// Counters for the status bar and the bench.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameStats {
    /// Frames scanned.
    pub scanned: u64,
    /// Frames in which a code was read.
    pub with_code: u64,
    /// Frames refused (rate, size, busy).
    pub refused: u64,
    /// Total time spent in the cascade, microseconds.
    pub scan_us: u64,
}

/// A running station.
pub struct Station {
    store: Store,
    desk: Desk,
    policy: Policy,
    frames: FrameLimits,
    trust: Mutex<Trust>,
    history: Mutex<History>,
    in_view: Mutex<Option<InView>>,
    scanner: Mutex<()>,
    /// Imports one at a time: the store decides (rollback, conflict) and then
    /// writes, and two page requests must not interleave those steps.
    importing: Mutex<()>,
    last_frame: Mutex<Option<Instant>>,
    stats: Mutex<FrameStats>,
    _lock: atomic_file::Lock,
}

/// The trust material in use, or why there is none (then every verdict is a refusal).
struct Trust {
    loaded: Option<Loaded>,
    problem: Option<(&'static str, Bilingual)>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves these values half-updated in a way that matters
    // more than stopping the desk would.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Station {
    /// Opens the store (its root key must be configured), takes its station lock
    /// and loads the trust material. A missing or damaged bundle does not stop the
    /// station: it refuses every code and says what to import.
    pub fn open(config: Config) -> Result<Station, StationError> {
        let store = Store::new(&config.store);
        store.root()?;
        let lock_path = config.store.join(LOCK_FILE);
        let lock = atomic_file::try_lock_exclusive(&lock_path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::WouldBlock {
                StationError::AlreadyRunning(config.store.clone())
            } else {
                StationError::Lock {
                    path: lock_path.clone(),
                    source,
                }
            }
        })?;
        let history = History::new().map_err(|e| StationError::Random(e.to_string()))?;
        let station = Station {
            trust: Mutex::new(load(&store)),
            store,
            desk: config.desk,
            policy: config.policy,
            frames: config.frames,
            history: Mutex::new(history),
            in_view: Mutex::new(None),
            scanner: Mutex::new(()),
            importing: Mutex::new(()),
            last_frame: Mutex::new(None),
            stats: Mutex::new(FrameStats::default()),
            _lock: lock,
        };
        Ok(station)
    }

    /// The desk.
    pub fn desk(&self) -> Desk {
        self.desk
    }

    /// Frame counters so far.
    pub fn frame_stats(&self) -> FrameStats {
        *lock(&self.stats)
    }

    /// Verifies text typed by a keyboard-wedge scanner (repairing layout
    /// substitutions first). Always announced: the clerk scanned on purpose. The
    /// length is bounded by the caller (the HTTP body limit) and again by `verify`.
    pub fn check_scanned(&self, received: &str, now: u64) -> Value {
        match layout::interpret(received) {
            Ok(typed) => {
                let note = layout::repair_advice(&typed, false).map(|en| {
                    json!({"code": "scanner_layout_repaired", "layout": typed.layout.name(),
                        "en": en, "zh": layout::repair_advice(&typed, true)})
                });
                let shown = self.verify(&typed.text, now);
                self.announce(shown, "scanner", now, json!(note))
            }
            Err(error) => {
                let message = Bilingual {
                    en: error.to_string(),
                    zh: error.message_zh(),
                };
                let shown = verdict::refusal(error.code(), &message);
                self.announce(shown, "scanner", now, json!(null))
            }
        }
    }

    /// Scans one camera frame (8-bit luma, row-major) and answers with the verdict
    /// for the first code in it, `{"found": false}` if none. A code still in view
    /// with an unchanged verdict comes back with `"repeat": true` and is not
    /// announced again.
    pub fn frame(
        &self,
        width: u32,
        height: u32,
        pixels: Vec<u8>,
        now: u64,
    ) -> Result<Value, FrameRefusal> {
        let refused = |refusal: FrameRefusal| {
            lock(&self.stats).refused += 1;
            Err(refusal)
        };
        if u64::from(width) * u64::from(height) > self.frames.max_pixels {
            return refused(FrameRefusal::TooLarge {
                width,
                height,
                max: self.frames.max_pixels,
            });
        }
        if pixels.len() as u64 != u64::from(width) * u64::from(height) || pixels.is_empty() {
            return refused(FrameRefusal::WrongSize {
                width,
                height,
                got: pixels.len(),
            });
        }
        let Ok(_scanning) = self.scanner.try_lock() else {
            return refused(FrameRefusal::Busy);
        };
        {
            let mut last = lock(&self.last_frame);
            let started = Instant::now();
            if let Some(previous) = *last {
                let since = started.duration_since(previous);
                if since < self.frames.min_interval {
                    let retry_ms = (self.frames.min_interval - since).as_millis() as u64 + 1;
                    drop(last);
                    return refused(FrameRefusal::TooFast { retry_ms });
                }
            }
            *last = Some(started);
        }
        let started = Instant::now();
        let luma = Luma {
            width,
            height,
            pixels,
        };
        let found = scan::read_codes(&luma, started + self.frames.scan_budget);
        let elapsed = started.elapsed();
        {
            let mut stats = lock(&self.stats);
            stats.scanned += 1;
            stats.scan_us += elapsed.as_micros() as u64;
            if !found.codes.is_empty() {
                stats.with_code += 1;
            }
        }
        let scan_ms = elapsed.as_millis() as u64;
        let Some(code) = found.codes.first() else {
            return Ok(json!({"found": false, "scan_ms": scan_ms}));
        };
        let shown = self.verify(&code.text, now);
        let mut in_view = lock(&self.in_view);
        let seen = Instant::now();
        if let Some(view) = in_view.as_mut() {
            if view.text == code.text
                && view.reason == shown.reason
                && seen.duration_since(view.last_seen) <= self.frames.in_view
            {
                view.last_seen = seen;
                lock(&self.history).seen_again(view.entry);
                let mut json = shown.json;
                json["found"] = json!(true);
                json["repeat"] = json!(true);
                json["history_id"] = json!(view.entry);
                json["scan_ms"] = json!(scan_ms);
                return Ok(json);
            }
        }
        let reason = shown.reason;
        let mut json = self.announce(shown, "camera", now, json!(null));
        json["found"] = json!(true);
        json["scan_ms"] = json!(scan_ms);
        *in_view = Some(InView {
            text: code.text.clone(),
            reason,
            last_seen: seen,
            entry: json["history_id"].as_u64().unwrap_or(0),
        });
        Ok(json)
    }

    fn verify(&self, text: &str, now: u64) -> Shown {
        let trust = lock(&self.trust);
        match (&trust.loaded, &trust.problem) {
            (Some(loaded), _) => {
                let v = credential::verify(text, &loaded.bundle, &loaded.lists, now, &self.policy);
                verdict::shown(&v, self.desk)
            }
            (None, Some((code, message))) => verdict::refusal(code, message),
            (None, None) => verdict::refusal(
                verdict::NO_TRUST_BUNDLE,
                &messages::store(&StoreError::NoTrustBundle),
            ),
        }
    }

    fn announce(&self, shown: Shown, source: &'static str, now: u64, note: Value) -> Value {
        let mut history = lock(&self.history);
        let serial_tag = shown.serial.map(|s| history.tag(s));
        let id = history.push(Entry {
            id: 0,
            at: now,
            source,
            verdict: if shown.reason.is_none() {
                "valid"
            } else {
                "rejected"
            },
            reason: shown.reason,
            profile: shown.profile.map(|p| p.name()),
            serial_tag,
            sightings: 1,
        });
        let mut json = shown.json;
        json["source"] = json!(source);
        json["history_id"] = json!(id);
        json["repeat"] = json!(false);
        json["scanner_note"] = note;
        json["now"] = json!(now);
        json
    }

    /// Imports one file: a trust bundle or a status list (by its name when it says,
    /// else whichever verifies), with the store's rollback and integrity rules.
    pub fn import(&self, name: &str, bytes: &[u8]) -> Result<Value, StationError> {
        let _one_at_a_time = lock(&self.importing);
        let looks_like_status = name.contains("status");
        let result = if looks_like_status {
            self.store.import_status(bytes).map(status_json)
        } else {
            match self.store.import_trust(bytes) {
                Ok(bundle) => Ok(
                    json!({"kind": "trust_bundle", "version": bundle.content.version, "keys": bundle.content.keys.len()}),
                ),
                Err(StoreError::Document(e)) if !name.contains("trust") => self
                    .store
                    .import_status(bytes)
                    .map(status_json)
                    .map_err(|_| StoreError::Document(e)),
                Err(e) => Err(e),
            }
        };
        let imported = result?;
        *lock(&self.trust) = load(&self.store);
        Ok(imported)
    }

    /// Imports every `*.cbor` of a folder (a USB stick): trust bundles first, then
    /// status lists. One result per file; a refused file does not stop the others.
    pub fn import_folder(&self, dir: &Path) -> Result<Vec<Value>, StationError> {
        let entries = std::fs::read_dir(dir).map_err(|e| StationError::Read {
            path: dir.to_owned(),
            message: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "cbor") && p.is_file())
            .collect();
        files.sort_by_key(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (!name.as_deref().unwrap_or("").contains("trust"), name)
        });
        let max = credential::limits::MAX_STATUS_LIST_BYTES as u64;
        let mut results = Vec::new();
        for path in files.into_iter().take(256) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let result = match atomic_file::read_bounded(&path, max) {
                Ok(Some(bytes)) => self.import(&name, &bytes),
                Ok(None) => continue,
                Err(atomic_file::ReadError::TooLarge { max }) => Err(StationError::Read {
                    path: path.clone(),
                    message: format!("larger than {max} bytes; not a trust bundle or status list"),
                }),
                Err(atomic_file::ReadError::Io(e)) => Err(StationError::Read {
                    path: path.clone(),
                    message: e.to_string(),
                }),
            };
            results.push(match result {
                Ok(mut value) => {
                    value["file"] = json!(name);
                    value["ok"] = json!(true);
                    value
                }
                Err(e) => {
                    json!({"file": name, "ok": false, "code": e.code(), "message": e.message().json()})
                }
            });
        }
        Ok(results)
    }

    /// The status bar: desk, bundle version and freshness, each status list's age.
    pub fn status(&self, now: u64) -> Value {
        let trust = lock(&self.trust);
        let stats = *lock(&self.stats);
        let mut out = json!({
            "desk": self.desk.name(),
            "now": now,
            "bundle": null,
            "lists": [],
            "problem": trust.problem.as_ref().map(|(code, m)| json!({"code": code, "en": m.en, "zh": m.zh})),
            "frames": {"scanned": stats.scanned, "with_code": stats.with_code, "refused": stats.refused,
                "mean_scan_ms": if stats.scanned > 0 { stats.scan_us as f64 / stats.scanned as f64 / 1000.0 } else { 0.0 }},
        });
        if let Some(loaded) = &trust.loaded {
            let c = &loaded.bundle.content;
            out["bundle"] = json!({
                "version": c.version, "issued_at": c.issued_at, "next_update": c.next_update,
                "overdue_s": now.saturating_sub(c.next_update), "stale": now > c.next_update,
                "authorities": c.keys.len(),
            });
            let lists: Vec<Value> = loaded
                .lists
                .iter()
                .map(|l| {
                    json!({"issuer": l.issuer, "issued_at": l.issued_at, "age_s": now.saturating_sub(l.issued_at),
                        "next_update": l.next_update, "stale": now > l.next_update})
                })
                .collect();
            out["lists"] = json!(lists);
        }
        out
    }

    /// The history, newest first.
    pub fn history(&self) -> Value {
        let history = lock(&self.history);
        Value::Array(history.entries().iter().rev().map(Entry::json).collect())
    }
}

fn status_json(list: credential::status_list::StatusList) -> Value {
    json!({"kind": "status_list", "issuer": list.issuer, "issued_at": list.issued_at, "size": list.size})
}

fn load(store: &Store) -> Trust {
    match store.load() {
        Ok(loaded) => Trust {
            loaded: Some(loaded),
            problem: None,
        },
        Err(e) => Trust {
            loaded: None,
            problem: Some((e.code(), messages::store(&e))),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn station(dir: &Path, frames: FrameLimits) -> Result<Station, StationError> {
        let root = credential::ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        Store::new(dir).init(&root, false).unwrap();
        Station::open(Config {
            store: dir.to_owned(),
            desk: Desk::Officer,
            policy: Policy::default(),
            frames,
        })
    }

    #[test]
    fn frames_are_bounded_in_size_and_rate() {
        let dir = tempfile::tempdir().unwrap();
        let limits = FrameLimits {
            min_interval: Duration::from_secs(3600),
            max_pixels: 100 * 100,
            ..FrameLimits::default()
        };
        let station = station(dir.path(), limits).unwrap();
        let too_large = station.frame(101, 100, vec![0; 10_100], 0).unwrap_err();
        assert_eq!(too_large.code(), "frame_too_large");
        let wrong = station.frame(10, 10, vec![0; 99], 0).unwrap_err();
        assert_eq!(wrong.code(), "frame_wrong_size");
        let first = station.frame(64, 64, vec![200; 64 * 64], 0).unwrap();
        assert_eq!(first["found"], false);
        let Err(FrameRefusal::TooFast { retry_ms }) = station.frame(64, 64, vec![200; 64 * 64], 0)
        else {
            panic!("a second frame within the interval was scanned");
        };
        assert!(retry_ms > 3_000_000);
        assert_eq!(station.frame_stats().scanned, 1);
        assert_eq!(station.frame_stats().refused, 3);
    }

    #[test]
    fn one_station_per_store_and_fail_closed_without_a_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let first = station(dir.path(), FrameLimits::default()).unwrap();
        let second = station(dir.path(), FrameLimits::default());
        assert!(matches!(second, Err(StationError::AlreadyRunning(_))));
        let verdict = first.check_scanned("DL1:ABC", 0);
        assert_eq!(verdict["verdict"], "rejected");
        assert_eq!(verdict["reason"], "no_trust_bundle");
        drop(first);
        assert!(
            station(dir.path(), FrameLimits::default()).is_ok(),
            "the lock goes with the station"
        );
    }
}
