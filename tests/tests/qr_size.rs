//! The size budget of spec §6.2: with a realistic licence (Chinese name and
//! address, three classes) the full presentation fits a version-15 QR code at
//! error-correction level M and the rental one version 12. Deterministic: sizes,
//! not timings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use credential::Profile;
use qrcode::{EcLevel, QrCode, Version};

fn version_of(text: &str) -> i16 {
    match QrCode::with_error_correction_level(text, EcLevel::M)
        .unwrap()
        .version()
    {
        Version::Normal(v) => v,
        Version::Micro(v) => panic!("micro QR {v}"),
    }
}

/// The QR text of `profile` with a serial an authority reaches at national scale
/// (a million credentials and re-issues): 3 bytes of `cti` instead of the fixture's 1.
fn national_scale_text(profile: Profile) -> String {
    use vectorgen::fixture;
    let mut params = fixture::params();
    params.serial = 1_234_567;
    let credential = fixture::credential(
        &fixture::licence(),
        profile,
        &params,
        &fixture::authority_key(),
    );
    credential::qr_text::to_qr_text(
        &fixture::present(credential, profile, fixture::T0, &fixture::device_key()).encode(),
    )
}

#[test]
fn presentations_fit_their_qr_budget() {
    let budget = [
        (Profile::Full, 15),
        (Profile::Rental, 12),
        (Profile::Insurance, 13),
        (Profile::Employment, 12),
    ];
    for (profile, max_version) in budget {
        let text = national_scale_text(profile);
        let bytes = credential::qr_text::decode_text(&text).unwrap().len();
        let version = version_of(&text);
        println!(
            "{:10} {bytes:4} bytes, {:4} chars, QR version {version} at M",
            profile.name(),
            text.len()
        );
        assert!(
            version <= max_version,
            "{profile}: version {version} > {max_version}"
        );
    }
}

#[test]
fn base45_alphanumeric_beats_base64_bytes() {
    let text = vectorgen::fixture::qr_text(Profile::Full);
    let bytes = credential::qr_text::decode_text(&text).unwrap();
    let url = credential::qr_text::to_url_text(&bytes);
    assert!(
        version_of(&text) < version_of(&url),
        "base45 {} vs base64url {}",
        version_of(&text),
        version_of(&url)
    );
}
