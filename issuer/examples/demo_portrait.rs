//! Writes a synthetic licence-style portrait (white background, 358 × 441 JPEG) that
//! passes the automatic portrait checks, for demos of the whole chain (README):
//! `cargo run -q -p issuer --example demo_portrait -- portrait.jpg`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: demo_portrait FILE.jpg");
        return ExitCode::from(2);
    };
    let jpeg = issuer::portrait::synthetic_portrait(
        358,
        441,
        [255, 255, 255],
        issuer::portrait::ImageFormat::Jpeg,
    );
    match std::fs::write(&path, jpeg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo_portrait: {}: {e}", path.to_string_lossy());
            ExitCode::from(2)
        }
    }
}
