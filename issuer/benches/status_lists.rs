//! National status lists (spec §10.5): build, compress and sign one compacted list
//! per authority for 5×10⁸ serials over 400 authorities, then install them all
//! through the verifier's store, in one run. `cargo bench -p issuer --bench status_lists`
//! (about two minutes on two cores; `STATUS_BENCH_SKIP_UNCOMPACTED=1` skips the
//! comparison run).
//!
//! Synthetic data: serials spread evenly over the authorities; within a lifetime
//! 0.1 % of serials changed status (30 % revoked, 20 % suspended, 50 % superseded),
//! placed uniformly at random (a fixed seed); compaction leaves only those. The
//! uncompacted comparison carries what accumulates over years: 20 % superseded,
//! 0.8 % revoked, 0.2 % suspended. Entries are generated on the reading thread, as
//! publish reads them from the store, and compressed by `compress_in_parallel`, the
//! function `issuer publish` uses; signing happens on the reading thread.
//!
//! Reported: total signed bytes against the entropy floor of the same entries
//! (log2 of the number of lists with those counts), time for all lists against one
//! core's time for a single list measured in the same run, peak memory (VmHWM)
//! against the size of the packed national list, and the verifier's install time
//! (one batch against one by one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use credential::ed25519_dalek::SigningKey;
use credential::status_list::{
    latest_compaction_horizon, CompressedEntries, ListTimes, SerialStatus,
};
use credential::trust_bundle::{AuthorityKey, TrustBundleContent};
use issuer::usecase::publish::{compress_in_parallel, ListEntries};

const SERIALS: u64 = 500_000_000;
const AUTHORITIES: usize = 400;
const T: u64 = 1_780_279_200;
const DAY: u64 = 86_400;

/// What fraction of serials carries each non-zero value.
#[derive(Clone, Copy)]
struct Mix {
    revoked: f64,
    suspended: f64,
    superseded: f64,
}

impl Mix {
    fn total(self) -> f64 {
        self.revoked + self.suspended + self.superseded
    }
}

/// 0.1 % of holders changed status within a lifetime.
const COMPACTED: Mix = Mix {
    revoked: 0.0003,
    suspended: 0.0002,
    superseded: 0.0005,
};
/// Years of re-issues, nothing ever compacted.
const UNCOMPACTED: Mix = Mix {
    revoked: 0.008,
    suspended: 0.002,
    superseded: 0.20,
};

/// xorshift64*: deterministic and fast, no dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

fn size_of(authority: usize) -> u64 {
    let per = SERIALS / AUTHORITIES as u64;
    per + u64::from((authority as u64) < SERIALS % AUTHORITIES as u64)
}

/// Serial 0 is never issued; each later serial is non-zero with probability
/// `mix.total()`, drawn by geometric skips (one draw per entry, not per serial).
fn entries(authority: usize, mix: Mix) -> ListEntries {
    let size = size_of(authority);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (authority as u64 + 1).wrapping_mul(0x1000_0001));
    let p = mix.total();
    let log_q = (1.0 - p).ln();
    let mut entries = Vec::with_capacity((size as f64 * p * 1.1) as usize);
    let mut serial = 0u64;
    loop {
        let skip = (rng.next_f64().ln() / log_q).floor() as u64;
        serial += 1 + skip;
        if serial >= size {
            break;
        }
        let pick = rng.next_f64() * p;
        let status = if pick < mix.revoked {
            SerialStatus::Revoked
        } else if pick < mix.revoked + mix.suspended {
            SerialStatus::Suspended
        } else {
            SerialStatus::Superseded
        };
        entries.push((serial, status));
    }
    ListEntries { size, entries }
}

/// ln(n!) by Stirling's series (exact enough for bits of millions of entries).
fn ln_factorial(n: u64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let n = n as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
}

/// Bits needed to tell this list apart from every other list with the same
/// number of serials and the same count of each value: the entropy floor.
fn floor_bits(list: &ListEntries) -> f64 {
    let mut counts = [0u64; 4];
    for (_, status) in &list.entries {
        counts[*status as usize] += 1;
    }
    let n = list.size - 1; // serial 0 is never issued
    let k = list.entries.len() as u64;
    let ln_positions = ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k);
    let ln_values = ln_factorial(k) - counts[1..].iter().map(|c| ln_factorial(*c)).sum::<f64>();
    (ln_positions + ln_values) / std::f64::consts::LN_2
}

fn authority_key(authority: usize) -> SigningKey {
    SigningKey::from_bytes(&credential::signature::sha256(
        format!("bench authority {authority}").as_bytes(),
    ))
}

fn code(authority: usize) -> String {
    format!("A{authority:03}")
}

fn times() -> ListTimes {
    ListTimes {
        issued_at: T,
        next_update: T + DAY,
        compacted_before: latest_compaction_horizon(T),
    }
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Run {
    signed: Vec<Vec<u8>>,
    floor_bytes: f64,
    entries: usize,
    elapsed: Duration,
}

/// Every authority's list, as `issuer publish` builds them.
fn publish_all(mix: Mix, workers: usize) -> Run {
    let keys: Vec<SigningKey> = (0..AUTHORITIES).map(authority_key).collect();
    let mut signed = vec![Vec::new(); AUTHORITIES];
    let mut floor = 0.0;
    let mut total_entries = 0;
    let started = Instant::now();
    compress_in_parallel(
        workers,
        |i| {
            (i < AUTHORITIES).then(|| {
                let list = entries(i, mix);
                floor += floor_bits(&list);
                Ok(list)
            })
        },
        |i, count, compressed| {
            total_entries += count;
            signed[i] = compressed.sign(&code(i), times(), &keys[i]);
            Ok(())
        },
    )
    .unwrap();
    Run {
        signed,
        floor_bytes: floor / 8.0,
        entries: total_entries,
        elapsed: started.elapsed(),
    }
}

/// One list built, compressed and signed on this thread alone: the baseline.
fn one_list_one_core(mix: Mix) -> Duration {
    let key = authority_key(0);
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let list = entries(0, mix);
        let compressed = CompressedEntries::from_sorted(list.size, list.entries).unwrap();
        std::hint::black_box(compressed.sign(&code(0), times(), &key));
        best = best.min(started.elapsed());
    }
    best
}

fn mb(bytes: f64) -> String {
    format!("{:.3} MB", bytes / 1e6)
}

fn report(label: &str, run: &Run, single: Duration, workers: usize) {
    let total: usize = run.signed.iter().map(Vec::len).sum();
    let ratio_to_single = run.elapsed.as_secs_f64() / single.as_secs_f64();
    println!(
        "{label}: {} lists, {} non-zero entries",
        run.signed.len(),
        run.entries
    );
    println!(
        "  signed total {} (goal ≤ 1.5 MB), entropy floor {}, {:.2}× the floor",
        mb(total as f64),
        mb(run.floor_bytes),
        total as f64 / run.floor_bytes
    );
    println!(
        "  build+compress+sign all: {:.2} s on {workers} workers (goal ≤ 60 s); one list on one core: {:.1} ms; all / one = {ratio_to_single:.0} (ideal {:.0} = {AUTHORITIES} lists / {workers} cores)",
        run.elapsed.as_secs_f64(),
        single.as_secs_f64() * 1e3,
        AUTHORITIES as f64 / workers as f64
    );
    println!(
        "  peak memory so far (VmHWM) {:.0} MiB; the packed national list would be {:.0} MiB",
        peak_mib(),
        SERIALS as f64 / 4.0 / 1048576.0
    );
}

/// One core's single list, then all lists on every core, in the same run.
fn measure(label: &str, mix: Mix, workers: usize) -> Run {
    let single = one_list_one_core(mix);
    let run = publish_all(mix, workers);
    report(label, &run, single, workers);
    run
}

/// Lists imported one by one for the baseline (each costs a few fsyncs).
const ONE_BY_ONE_SAMPLE: usize = 40;

/// A bundle listing every bench authority's key.
fn bench_bundle() -> TrustBundleContent {
    let keys = (0..AUTHORITIES)
        .map(|i| {
            let public_key = authority_key(i).verifying_key().to_bytes();
            AuthorityKey {
                kid: credential::signature::key_id(&public_key),
                public_key,
                authority_code: code(i),
                authority_name: format!("authority {i}"),
                valid_from: T - 365 * DAY,
                valid_to: T + 365 * DAY,
                retired: false,
            }
        })
        .collect();
    TrustBundleContent {
        version: 1,
        issued_at: T,
        next_update: T + 30 * DAY,
        keys,
    }
}

/// A deflate setting: the `lst` bytes of one list.
type Compressor = dyn Fn(&ListEntries) -> usize;

/// Every this many authorities' list is recompressed by each other deflate setting.
const DEFLATE_SAMPLE_STEP: usize = 10;

/// The list encoder (`CompressedEntries`: miniz_oxide, level 9, run-length strategy)
/// against flate2's default deflate at level 9 (the previous encoder) and 10, on the
/// same packed entries of a sample of the lists, in the same run. Bytes of `lst`
/// only (the signed list adds about 100 bytes).
fn compare_deflate(mix: Mix) {
    let sample: Vec<ListEntries> = (0..AUTHORITIES)
        .step_by(DEFLATE_SAMPLE_STEP)
        .map(|i| entries(i, mix))
        .collect();
    let non_zero: usize = sample.iter().map(|l| l.entries.len()).sum();
    let packed = |list: &ListEntries| {
        let mut packed = vec![0u8; list.size.div_ceil(4) as usize];
        for (serial, status) in &list.entries {
            packed[(serial / 4) as usize] |= (*status as u8) << ((serial % 4) * 2);
        }
        packed
    };
    let flate2_at = |level: u32| {
        move |list: &ListEntries| {
            use std::io::Write;
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
            encoder.write_all(&packed(list)).unwrap();
            encoder.finish().unwrap().len()
        }
    };
    let encoder = |list: &ListEntries| {
        CompressedEntries::from_sorted(list.size, list.entries.iter().copied())
            .unwrap()
            .compressed_len()
    };
    let settings: [(&str, &Compressor); 3] = [
        ("list encoder (miniz_oxide 9, RLE)", &encoder),
        ("flate2 default strategy, level 9", &flate2_at(9)),
        ("flate2 default strategy, level 10", &flate2_at(10)),
    ];
    println!(
        "  deflate settings on every {DEFLATE_SAMPLE_STEP}th list ({} lists, {non_zero} non-zero entries), lst bytes scaled to all {AUTHORITIES}:",
        sample.len()
    );
    let mut baseline = None;
    for (name, compress) in settings {
        let started = Instant::now();
        let bytes: usize = sample.iter().map(compress).sum();
        let per_list = started.elapsed().as_secs_f64() / sample.len() as f64;
        let baseline = *baseline.get_or_insert(bytes);
        println!(
            "    {name:36} {} ({:.1} bits a non-zero entry, {:.2}× the encoder), {:.1} ms a list",
            mb((bytes * DEFLATE_SAMPLE_STEP) as f64),
            bytes as f64 * 8.0 / non_zero as f64,
            bytes as f64 / baseline as f64,
            per_list * 1e3
        );
    }
}

fn main() {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("status lists: {SERIALS} serials over {AUTHORITIES} authorities, zlib level 9 run-length, {workers} cores");
    let compacted = measure(
        "compacted (0.1 % changed within a lifetime)",
        COMPACTED,
        workers,
    );

    compare_deflate(COMPACTED);

    // What a floor (serials below it all expired, §10.5) could save at most: the
    // zeros, were every serial of every list expired.
    let zeros: usize = (0..AUTHORITIES)
        .step_by(100)
        .map(|i| {
            CompressedEntries::from_sorted(size_of(i), [])
                .unwrap()
                .compressed_len()
        })
        .sum::<usize>()
        * 100;
    println!(
        "  all-zero lists of the same sizes compress to {} in total: the most a floor could save",
        mb(zeros as f64)
    );

    // The verifier: a bundle listing the 400 keys, then every list through the
    // store's real install path (verify, rollback floor, atomic write, manifest):
    // all in one batch (`verifier status import FILE...`), against one by one
    // (`verifier status import FILE` per list) on a sample, in the same run.
    let bundle = bench_bundle();
    let root = SigningKey::from_bytes(&[7; 32]);
    let new_store = |dir: &std::path::Path| {
        let store = verifier::Store::new(dir.join("store"));
        store.init(&root.verifying_key(), false).unwrap();
        store.import_trust(&bundle.sign(&root)).unwrap();
        store
    };
    let one_by_one_dir = tempfile::tempdir().unwrap();
    let one_by_one = new_store(one_by_one_dir.path());
    let sample = &compacted.signed[..ONE_BY_ONE_SAMPLE];
    let started = Instant::now();
    for list in sample {
        one_by_one.import_status(list).unwrap();
    }
    let per_list = started.elapsed().as_secs_f64() / sample.len() as f64;

    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    let candidates: Vec<&[u8]> = compacted.signed.iter().map(Vec::as_slice).collect();
    let started = Instant::now();
    let results = store.import_status_lists(&candidates).unwrap();
    let batch = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    // The daily case: every authority already has a list installed, each checked
    // (read, digest, verify) for the rollback rule; here the same lists again.
    let started = Instant::now();
    let results = store.import_status_lists(&candidates).unwrap();
    let again = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    let started = Instant::now();
    std::hint::black_box(store.load().unwrap());
    let load = started.elapsed();
    println!(
        "  verifier store: importing all {AUTHORITIES} lists in one batch {:.2} s (goal ≤ 2 s); one by one {:.1} ms a list ({ONE_BY_ONE_SAMPLE} measured), {:.1} s for all, {:.0}× the batch",
        batch.as_secs_f64(),
        per_list * 1e3,
        per_list * AUTHORITIES as f64,
        per_list * AUTHORITIES as f64 / batch.as_secs_f64()
    );
    println!(
        "  the same batch again over the installed lists {:.2} s; loading the store with them {:.2} s",
        again.as_secs_f64(),
        load.as_secs_f64()
    );
    drop(compacted);

    if std::env::var_os("STATUS_BENCH_SKIP_UNCOMPACTED").is_none() {
        measure(
            "uncompacted (20 % superseded, 1 % revoked or suspended)",
            UNCOMPACTED,
            workers,
        );
    }
}
