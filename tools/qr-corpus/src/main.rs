//! `qr-corpus`: writes the photo-like QR corpus to a directory.
//!
//! `qr-corpus --out DIR [--per-category N] [--seed S] [--categories a,b,...] [--ink RRGGBB]` writes
//! `DIR/CATEGORY/NNN.{png,jpg}` and `DIR/manifest.json`, a list of
//! `{"file", "category", "index", "texts"}` where `texts` are the exact QR texts in
//! the image. Same arguments, same bytes. `--ink c8101e` draws the codes in the
//! wallet's red (a licence that is not normal) instead of black.
//!
//! `qr-corpus video --frames-dir DIR --out OUT [--count N] [--seed S] [--unreadable 0.25]
//! [--seconds 3] [--camera-fps 30] [--loop-fps 8] [--size 480x640] [--still FRAME FILE.png|.jpg]` films the loop that
//! `wallet show --animated --frames-dir DIR` wrote, N times with seeds S, S+1, …:
//! `OUT/video-NNN.y4m` and `OUT/videos.json` (per video its seed and, per camera frame,
//! the loop frames it shows and whether it was made unreadable). See `qr_corpus::video`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qr_corpus::video::{read_frames_dir, LoopScreens, PhoneVideo, VideoOptions};
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

/// `job` over `jobs` on every core (job k on thread k mod cores); results in no particular order.
fn on_every_core<J: Sync, R: Send>(jobs: &[J], job: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let job = &job;
                scope.spawn(move || {
                    jobs.iter()
                        .skip(t)
                        .step_by(threads)
                        .map(job)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Writes `entries` sorted by their `file` as pretty JSON; returns how many.
fn write_manifest(path: &Path, mut entries: Vec<serde_json::Value>) -> Result<usize, String> {
    entries.sort_by_key(|e| e["file"].as_str().unwrap_or_default().to_owned());
    let text = serde_json::to_string_pretty(&entries).unwrap_or_default();
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(entries.len())
}

struct VideoArgs {
    frames_dir: PathBuf,
    out: PathBuf,
    count: u64,
    seed: u64,
    options: VideoOptions,
    /// Camera frame of the first video to write as a PNG too (a figure of what the camera sees).
    still: Option<(usize, PathBuf)>,
}

fn parse_video(args: impl Iterator<Item = String>) -> Result<VideoArgs, String> {
    let mut frames_dir = None;
    let mut out = None;
    let (mut count, mut seed, mut seconds) = (1, 1, 3.0f32);
    let mut options = VideoOptions::default();
    let mut still = None;
    let mut args = args;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |v: String| v.parse::<f64>().map_err(|e| format!("{arg}: {e}"));
        match arg.as_str() {
            "--frames-dir" => frames_dir = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--count" => count = number(value()?)? as u64,
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--unreadable" => options.unreadable_share = number(value()?)? as f32,
            "--seconds" => seconds = number(value()?)? as f32,
            "--camera-fps" => options.camera_fps = number(value()?)? as u32,
            "--loop-fps" => options.loop_fps = number(value()?)? as u32,
            "--still" => {
                let frame = value()?
                    .parse()
                    .map_err(|e| format!("--still FRAME FILE: {e}"))?;
                still = Some((frame, PathBuf::from(value()?)));
            }
            "--size" => {
                let size = value()?;
                let (w, h) = size
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .ok_or(format!("--size {size:?}: expected WIDTHxHEIGHT"))?;
                (options.width, options.height) = (w, h);
            }
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    if !(1..=1000).contains(&count) {
        return Err(format!("--count {count} (1..=1000)"));
    }
    options.frames = (seconds * options.camera_fps as f32).round().max(0.0) as usize;
    options.check().map_err(|e| e.to_string())?;
    Ok(VideoArgs {
        frames_dir: frames_dir.ok_or("--frames-dir DIR is required")?,
        out: out.ok_or("--out DIR is required")?,
        count,
        seed,
        options,
        still,
    })
}

fn videos(args: &VideoArgs) -> Result<usize, String> {
    let images = read_frames_dir(&args.frames_dir).map_err(|e| e.to_string())?;
    let screens = LoopScreens::from_images(&images).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    if let Some((frame, path)) = &args.still {
        let video =
            PhoneVideo::new(&screens, args.options, args.seed).map_err(|e| e.to_string())?;
        let canvas = video.frame(*frame).canvas;
        // A camera frame is noise-heavy: JPEG keeps a figure small, PNG keeps it exact.
        let bytes = match path.extension().and_then(|e| e.to_str()) {
            Some("jpg" | "jpeg") => qr_corpus::jpeg(&canvas, 70),
            _ => qr_corpus::png(&canvas),
        };
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let indices: Vec<u64> = (0..args.count).collect();
    let results = on_every_core(&indices, |&index| write_video(args, &screens, index));
    let manifest = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    write_manifest(&args.out.join("videos.json"), manifest)
}

fn write_video(
    args: &VideoArgs,
    screens: &LoopScreens,
    index: u64,
) -> Result<serde_json::Value, String> {
    let seed = args.seed.wrapping_add(index);
    let video = PhoneVideo::new(screens, args.options, seed).map_err(|e| e.to_string())?;
    let file = format!("video-{index:03}.y4m");
    let path = args.out.join(&file);
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    video.write_y4m(&mut out).map_err(io)?;
    std::io::Write::flush(&mut out).map_err(io)?;
    let frames: Vec<serde_json::Value> = (0..video.len())
        .map(|i| {
            let truth = video.frame_truth(i);
            serde_json::json!({"loop_frames": truth.loop_frames, "unreadable": truth.unreadable})
        })
        .collect();
    let (lost, shown) = video.unreadable_slots();
    let o = video.options();
    Ok(serde_json::json!({
        "file": file, "seed": seed, "width": o.width, "height": o.height,
        "camera_fps": o.camera_fps, "loop_fps": o.loop_fps, "loop_frames": screens.len(),
        "loop_frames_shown": shown, "loop_frames_unreadable": lost, "frames": frames,
    }))
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("video") {
        return match parse_video(std::env::args().skip(2)).and_then(|args| {
            let n = videos(&args)?;
            eprintln!("qr-corpus: {n} videos in {}", args.out.display());
            Ok(())
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("qr-corpus video: {message}\nusage: qr-corpus video --frames-dir DIR --out OUT [--count N] [--seed S] [--unreadable 0.25] [--seconds 3] [--camera-fps 30] [--loop-fps 8] [--size 480x640] [--still FRAME FILE.png|.jpg]");
                ExitCode::from(2)
            }
        };
    }
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
    let results = on_every_core(&jobs, |(category, index)| {
        let sample = generate_in(*category, *index, args.seed, args.ink);
        let file = format!("{}/{index:03}.{}", category.name(), sample.extension);
        let path = args.out.join(&file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, &sample.bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(serde_json::json!({
            "file": file,
            "category": category.name(),
            "index": index,
            "texts": sample.texts,
        }))
    });
    let written = results
        .into_iter()
        .collect::<Result<Vec<_>, String>>()
        .and_then(|manifest| write_manifest(&args.out.join("manifest.json"), manifest));
    match written {
        Ok(n) => eprintln!("qr-corpus: {n} images in {}", args.out.display()),
        Err(message) => {
            eprintln!("qr-corpus: {message}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
