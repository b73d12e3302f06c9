//! The `issuer` command lines that end-to-end tests of several packages run to set
//! an office up: the authority, a holder of it, a retained portrait, an issue to a
//! phone. Included by path where `common` is not (like `serve_process.rs`); each
//! test runs them its own way (its clock, its registry, `--json`).

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// `authority add` of 川J, the authority these offices issue for.
pub const ADD_AUTHORITY: [&str; 6] = [
    "authority",
    "add",
    "--code",
    "川J",
    "--name",
    "四川省遂宁市公安局交通警察支队",
];

/// `holder add` of a C1 holder of 川J (address and dates of the spec's example).
pub fn add_holder<'a>(licence_number: &'a str, name: &'a str, birth_date: &'a str) -> Vec<&'a str> {
    vec![
        "holder",
        "add",
        "--licence-number",
        licence_number,
        "--name",
        name,
        "--sex",
        "女",
        "--birth-date",
        birth_date,
        "--address",
        "四川省遂宁市船山区明月路88号",
        "--file-number",
        "510900123456",
        "--first-issue-date",
        "2008-07-22",
        "--classes",
        "C1",
        "--valid-from",
        "2020-07-22",
        "--authority",
        "川J",
    ]
}

/// `portrait add` of the retained photo file `photo` for `holder`.
pub fn add_retained_portrait<'a>(holder: &'a str, photo: &'a Path) -> Vec<&'a str> {
    let photo = photo.to_str().unwrap();
    vec![
        "portrait", "add", "--holder", holder, "--source", "retained", photo,
    ]
}

/// `issue` of `holder`'s credential to the phone with `device_key` (hex), the
/// package written to `out`.
pub fn issue_to<'a>(holder: &'a str, device_key: &'a str, out: &'a Path) -> Vec<&'a str> {
    let out = out.to_str().unwrap();
    vec![
        "issue",
        "--holder",
        holder,
        "--device-key",
        device_key,
        "--out",
        out,
    ]
}

/// A portrait photo that passes the issuer's checks, written to `dir/portrait.jpg`.
pub fn portrait_file(dir: &Path) -> PathBuf {
    let path = dir.join("portrait.jpg");
    let photo = issuer::portrait::synthetic_portrait(
        358,
        441,
        [255, 255, 255],
        issuer::portrait::ImageFormat::Jpeg,
    );
    std::fs::write(&path, photo).unwrap();
    path
}
