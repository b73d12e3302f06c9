//! The text a QR code (or clipboard, NFC tag, URL) carries (spec §8).
//!
//! `DL1:` + base45 keeps the whole text in the QR alphanumeric set, which is what
//! makes the full profile fit a version-15 symbol. `DL1U:` + unpadded base64url is
//! the form for channels that are not QR codes. The version in the prefix lets a
//! verifier say "update me" instead of "garbage" when the format moves on.

use base64::Engine;

use crate::error::{Malformed, VerifyError};
use crate::limits::{MAX_PRESENTATION_BYTES, MAX_QR_TEXT_CHARS};

/// The prefix of the base45 form.
pub const QR_PREFIX: &str = "DL1:";
/// The prefix of the base64url form.
pub const URL_PREFIX: &str = "DL1U:";

/// Presentation bytes as QR text.
pub fn to_qr_text(presentation: &[u8]) -> String {
    format!("{QR_PREFIX}{}", crate::base45::encode(presentation))
}

/// Presentation bytes as base64url text.
pub fn to_url_text(presentation: &[u8]) -> String {
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presentation);
    format!("{URL_PREFIX}{body}")
}

/// Decodes either text form into presentation bytes.
///
/// One trailing CR, LF or CRLF (a keyboard-wedge scanner's Enter) is removed;
/// nothing else is trimmed, since base45 text may end in a space.
pub fn decode_text(text: &str) -> Result<Vec<u8>, VerifyError> {
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .or_else(|| text.strip_suffix('\r'))
        .unwrap_or(text);
    if text.is_empty() {
        return Err(Malformed::Empty.into());
    }
    let chars = text.len();
    if chars > MAX_QR_TEXT_CHARS {
        return Err(Malformed::TooLong {
            len: chars,
            max: MAX_QR_TEXT_CHARS,
        }
        .into());
    }
    let (tag, body) = text.split_once(':').ok_or(Malformed::UnknownPrefix)?;
    let bytes = match tag {
        "DL1" => crate::base45::decode(body)?,
        "DL1U" => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|error| Malformed::BadTextEncoding {
                encoding: "base64url",
                position: match error {
                    base64::DecodeError::InvalidByte(at, _) => at,
                    _ => body.len(),
                },
            })?,
        _ => {
            return Err(if is_other_version(tag) {
                VerifyError::UnsupportedVersion(tag.to_owned())
            } else {
                Malformed::UnknownPrefix.into()
            })
        }
    };
    if bytes.len() > MAX_PRESENTATION_BYTES {
        return Err(Malformed::TooLong {
            len: bytes.len(),
            max: MAX_PRESENTATION_BYTES,
        }
        .into());
    }
    Ok(bytes)
}

/// `DL` + 1 to 9 ASCII digits + an optional `U` (spec §8.1 item 5), other than the
/// exact `DL1` / `DL1U` handled before: a version prefix this decoder does not
/// implement. Leading zeros included (`DL01`, `DL001U`): only the exact prefixes
/// select version 1, so that one version has one spelling.
fn is_other_version(tag: &str) -> bool {
    let Some(digits) = tag.strip_prefix("DL") else {
        return false;
    };
    let digits = digits.strip_suffix('U').unwrap_or(digits);
    (1..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_forms_round_trip_and_one_newline_is_stripped() {
        let bytes = [0x83, 0x01, 0x00, 0xff, 0x20];
        assert_eq!(decode_text(&to_qr_text(&bytes)).unwrap(), bytes);
        assert_eq!(decode_text(&to_url_text(&bytes)).unwrap(), bytes);
        assert_eq!(
            decode_text(&format!("{}\r\n", to_qr_text(&bytes))).unwrap(),
            bytes
        );
        assert!(decode_text(&format!("{}\n\n", to_qr_text(&bytes))).is_err());
    }

    #[test]
    fn prefixes_are_classified() {
        assert_eq!(
            decode_text("DL2:BB8"),
            Err(VerifyError::UnsupportedVersion("DL2".into()))
        );
        assert_eq!(
            decode_text("DL7U:QUI"),
            Err(VerifyError::UnsupportedVersion("DL7U".into()))
        );
        assert_eq!(decode_text("XX1:BB8"), Err(Malformed::UnknownPrefix.into()));
        assert_eq!(
            decode_text("DL01:BB8"),
            Err(VerifyError::UnsupportedVersion("DL01".into()))
        );
        assert_eq!(
            decode_text("DL123456789U:BB8"),
            Err(VerifyError::UnsupportedVersion("DL123456789U".into()))
        );
        assert_eq!(
            decode_text("DL1234567890:BB8"),
            Err(Malformed::UnknownPrefix.into())
        );
        assert_eq!(
            decode_text("no colon"),
            Err(Malformed::UnknownPrefix.into())
        );
        assert_eq!(decode_text(""), Err(Malformed::Empty.into()));
    }

    #[test]
    fn length_limits_are_exact() {
        let at_limit = format!("DL1:{}", "0".repeat(MAX_QR_TEXT_CHARS - 4));
        assert!(!matches!(
            decode_text(&at_limit),
            Err(VerifyError::Malformed(Malformed::TooLong { .. }))
        ));
        let past = format!("DL1:{}", "0".repeat(MAX_QR_TEXT_CHARS - 3));
        assert!(matches!(
            decode_text(&past),
            Err(VerifyError::Malformed(Malformed::TooLong { .. }))
        ));
    }
}
