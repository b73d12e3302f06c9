//! The fake camera's video: the wallet's screen (drawn by `tools/qr-corpus`)
//! held in front of the camera — off-centre, turned, tilted, a little blurred and
//! noisy, moving between frames like a hand — written as Y4M for chromium's
//! `--use-file-for-fake-video-capture`.

use std::io::Write;
use std::path::Path;

use qr_corpus::{render_screen, Rng, ScreenStyle};

pub const WIDTH: usize = 960;
pub const HEIGHT: usize = 540;

/// A luma frame, `WIDTH × HEIGHT`.
pub type Frame = Vec<u8>;

/// A frame without a code: the desk.
pub fn empty_frame() -> Frame {
    (0..WIDTH * HEIGHT)
        .map(|i| (100 + (i % WIDTH) * 40 / WIDTH + (i / WIDTH) * 30 / HEIGHT) as u8)
        .collect()
}

/// `count` frames of a phone showing `text`, each pose a little different.
pub fn phone_frames(text: &str, count: usize, seed: u64) -> Vec<Frame> {
    let screen = render_screen(
        text,
        ScreenStyle {
            width: 1080,
            dark: false,
        },
    );
    let canvas = &screen.canvas;
    let luma: Vec<f32> = canvas
        .pixels
        .iter()
        .map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])
        .collect();
    let (sw, sh) = (canvas.width as f32, canvas.height as f32);
    let (x0, y0, side) = screen.code;
    let code_centre = (x0 + side / 2.0, y0 + side / 2.0);
    let desk = empty_frame();
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            // The code fills ~80 % of the frame height, shaking by a few pixels and degrees.
            let scale = 430.0 / side * rng.range(0.95, 1.05);
            let angle = rng.range(4.0f32, 10.0).to_radians();
            let tilt = rng.range(0.86, 0.94); // foreshortening of a phone tilted ~25°
            let centre = (
                WIDTH as f32 / 2.0 + rng.range(-20.0, 20.0),
                HEIGHT as f32 / 2.0 + rng.range(-12.0, 12.0),
            );
            let (sin, cos) = angle.sin_cos();
            let mut frame = desk.clone();
            for y in 0..HEIGHT {
                for x in 0..WIDTH {
                    let (dx, dy) = (x as f32 - centre.0, y as f32 - centre.1);
                    // Inverse of: screen → scale → tilt (x squeezed) → rotate.
                    let (rx, ry) = (dx * cos + dy * sin, -dx * sin + dy * cos);
                    let (sx, sy) = (
                        code_centre.0 + rx / (scale * tilt),
                        code_centre.1 + ry / scale,
                    );
                    if sx >= 0.0 && sy >= 0.0 && sx < sw - 1.0 && sy < sh - 1.0 {
                        let (ix, iy) = (sx as usize, sy as usize);
                        let (fx, fy) = (sx - ix as f32, sy - iy as f32);
                        let at = |xx: usize, yy: usize| luma[yy * canvas.width + xx];
                        let v = at(ix, iy) * (1.0 - fx) * (1.0 - fy)
                            + at(ix + 1, iy) * fx * (1.0 - fy)
                            + at(ix, iy + 1) * (1.0 - fx) * fy
                            + at(ix + 1, iy + 1) * fx * fy;
                        frame[y * WIDTH + x] = v.clamp(0.0, 255.0) as u8;
                    }
                }
            }
            blur_and_noise(&mut frame, &mut rng);
            frame
        })
        .collect()
}

/// A 3×3 box blur (slight defocus) and ±6 grey levels of sensor noise.
fn blur_and_noise(frame: &mut Frame, rng: &mut Rng) {
    let source = frame.clone();
    for y in 1..HEIGHT - 1 {
        for x in 1..WIDTH - 1 {
            let mut sum = 0u32;
            for (ox, oy) in [
                (0, 0),
                (1, 0),
                (2, 0),
                (0, 1),
                (1, 1),
                (2, 1),
                (0, 2),
                (1, 2),
                (2, 2),
            ] {
                sum += u32::from(source[(y + oy - 1) * WIDTH + x + ox - 1]);
            }
            let noisy = (sum / 9) as f32 + rng.range(-6.0, 6.0);
            frame[y * WIDTH + x] = noisy.clamp(0.0, 255.0) as u8;
        }
    }
}

/// Writes 4:2:0 Y4M with neutral chroma at `fps` frames per second.
pub fn write_y4m(path: &Path, fps: u32, frames: &[Frame]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg"
    )
    .unwrap();
    let chroma = vec![128u8; (WIDTH / 2) * (HEIGHT / 2)];
    for frame in frames {
        out.write_all(b"FRAME\n").unwrap();
        out.write_all(frame).unwrap();
        out.write_all(&chroma).unwrap();
        out.write_all(&chroma).unwrap();
    }
    out.flush().unwrap();
}
