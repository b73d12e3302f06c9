//! Writes the inputs of the README's office day into a folder, so it runs as pasted:
//! `holders.csv` (200 holders with citizen-ID licence numbers and retained
//! portraits, plus two bad lines the import reports by number), `photos/` (the
//! retained portraits), `photo.jpg` (a camera portrait for the counter holder) and
//! `phone.pub` (a wallet's device public key, as the app would send it).
//!
//! `cargo run -q -p issuer --example office_inputs -- DIR`

use std::path::Path;
use std::process::ExitCode;

use credential::ed25519_dalek::SigningKey;
use issuer::portrait::{synthetic_portrait, ImageFormat};

const HOLDERS: usize = 200;

/// A citizen ID (GB 11643) for a Suining holder born on `birth` (YYYYMMDD).
fn citizen_id(birth: &str, sequence: usize) -> String {
    let first17 = format!("510903{birth}{:03}", sequence % 1000);
    let digits: Vec<u64> = first17.bytes().map(|b| u64::from(b - b'0')).collect();
    let first17_number = digits.iter().fold(0, |n, d| n * 10 + d);
    format!(
        "{first17}{}",
        credential::licence::citizen_id_check(first17_number)
    )
}

fn write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("photos"))?;
    let portrait = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
    std::fs::write(dir.join("photos/retained.jpg"), &portrait)?;
    std::fs::write(dir.join("photo.jpg"), &portrait)?;
    let mut csv = String::from("licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority,points,channel,device_key,portrait\n");
    for i in 1..=HOLDERS {
        let birth = format!("1985{:02}{:02}", 1 + i % 12, 1 + i % 28);
        let device = SigningKey::from_bytes(&credential::signature::sha256(
            format!("office demo phone {i}").as_bytes(),
        ));
        let line = match i {
            // Two lines a clerk must fix; every other line is enrolled.
            50 => "\"a junk line that opens a quote and never closes it,,,".to_owned(),
            120 => format!("{},持证人{i},男,CHN,1985-13-01,四川省遂宁市,510900{i:06},2005-07-22,C1,2020-07-22,2030-07-22,川J,0,app,,photos/retained.jpg", citizen_id(&birth, i)),
            _ => format!(
                "{},持证人{i},{},CHN,{}-{}-{},四川省遂宁市船山区明月路{i}号,510900{i:06},2005-07-22,C1E,2020-07-22,2030-07-22,川J,0,app,{},photos/retained.jpg",
                citizen_id(&birth, i),
                if i % 2 == 0 { "男" } else { "女" },
                &birth[..4],
                &birth[4..6],
                &birth[6..],
                hex::encode(device.verifying_key().as_bytes()),
            ),
        };
        csv += &line;
        csv += "\n";
    }
    std::fs::write(dir.join("holders.csv"), csv)?;
    let phone =
        SigningKey::from_bytes(&credential::signature::sha256(b"office demo counter phone"));
    std::fs::write(
        dir.join("phone.pub"),
        hex::encode(phone.verifying_key().as_bytes()),
    )
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: office_inputs DIR");
        return ExitCode::from(2);
    };
    match write(Path::new(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("office_inputs: {}: {e}", dir.to_string_lossy());
            ExitCode::from(2)
        }
    }
}
