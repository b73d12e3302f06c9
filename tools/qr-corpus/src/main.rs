//! `qr-corpus`: writes the photo-like QR corpus to a directory.
//!
//! `qr-corpus --out DIR [--per-category N] [--seed S] [--categories a,b,...] [--ink RRGGBB]` writes
//! `DIR/CATEGORY/NNN.{png,jpg}` and `DIR/manifest.json`, a list of
//! `{"file", "category", "index", "texts"}` where `texts` are the exact QR texts in
//! the image. Same arguments, same bytes. `--ink c8101e` draws the codes in the
//! wallet's red (a licence that is not normal) instead of black.

use std::path::PathBuf;
use std::process::ExitCode;

use qr_corpus::{generate_in, Category};

struct Args {
    out: PathBuf,
    per_category: u64,
    seed: u64,
    categories: Vec<Category>,
    ink: Option<[f32; 3]>,
}

fn parse_ink(hex: &str) -> Result<[f32; 3], String> {
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map(f32::from)
            .ok_or(format!("--ink {hex:?}: expected RRGGBB"))
    };
    if hex.len() != 6 {
        return Err(format!("--ink {hex:?}: expected RRGGBB"));
    }
    Ok([channel(0)?, channel(2)?, channel(4)?])
}

fn parse() -> Result<Args, String> {
    let mut out = None;
    let mut per_category = 20;
    let mut seed = 1;
    let mut categories = Category::ALL.to_vec();
    let mut ink = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--per-category" => {
                per_category = value()?
                    .parse()
                    .map_err(|e| format!("--per-category: {e}"))?
            }
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--categories" => {
                categories = value()?
                    .split(',')
                    .map(|name| Category::from_name(name).ok_or(format!("unknown category {name}")))
                    .collect::<Result<_, _>>()?
            }
            "--ink" => ink = Some(parse_ink(&value()?)?),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok(Args {
        out: out.ok_or("--out DIR is required")?,
        per_category,
        seed,
        categories,
        ink,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("qr-corpus: {message}\nusage: qr-corpus --out DIR [--per-category N] [--seed S] [--categories a,b] [--ink RRGGBB]");
            return ExitCode::from(2);
        }
    };
    let jobs: Vec<(Category, u64)> = args
        .categories
        .iter()
        .flat_map(|c| (0..args.per_category).map(move |i| (*c, i)))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results: Vec<Result<serde_json::Value, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let jobs = &jobs;
                let args = &args;
                scope.spawn(move || {
                    jobs.iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|(category, index)| {
                            let sample = generate_in(*category, *index, args.seed, args.ink);
                            let file =
                                format!("{}/{index:03}.{}", category.name(), sample.extension);
                            let path = args.out.join(&file);
                            if let Some(dir) = path.parent() {
                                std::fs::create_dir_all(dir)
                                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                            }
                            std::fs::write(&path, &sample.bytes)
                                .map_err(|e| format!("{}: {e}", path.display()))?;
                            Ok(serde_json::json!({
                                "file": file,
                                "category": category.name(),
                                "index": index,
                                "texts": sample.texts,
                            }))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut manifest = Vec::new();
    for result in results {
        match result {
            Ok(entry) => manifest.push(entry),
            Err(message) => {
                eprintln!("qr-corpus: {message}");
                return ExitCode::from(2);
            }
        }
    }
    manifest.sort_by_key(|e| e["file"].as_str().unwrap_or_default().to_owned());
    let path = args.out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!("qr-corpus: {}: {e}", path.display());
        return ExitCode::from(2);
    }
    eprintln!(
        "qr-corpus: {} images in {}",
        manifest.len(),
        args.out.display()
    );
    ExitCode::SUCCESS
}
