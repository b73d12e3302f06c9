//! Base45 (RFC 9285), the QR text encoding (spec §8.2).
//!
//! Base45 output stays inside the QR alphanumeric set, which packs 45 symbols into
//! 5.5 bits, so 2 bytes cost 3 symbols: about 3% over raw bytes, where base64 in
//! byte mode costs 33%. Written here rather than taken from a crate because the
//! decoder must be strict (RFC 9285 §6: reject triples above 65535 and dangling
//! single characters) and report the failing position.

use crate::error::Malformed;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Encodes bytes as base45 text.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let mut push = |value: usize| out.push(char::from(ALPHABET[value % 45]));
    for chunk in bytes.chunks(2) {
        match *chunk {
            [a, b] => {
                let n = usize::from(a) * 256 + usize::from(b);
                push(n);
                push(n / 45);
                push(n / 2025);
            }
            [a] => {
                let n = usize::from(a);
                push(n);
                push(n / 45);
            }
            _ => {}
        }
    }
    out
}

fn symbol(c: u8, position: usize) -> Result<u32, Malformed> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .map(|v| v as u32)
        .ok_or(Malformed::BadTextEncoding {
            encoding: "base45",
            position,
        })
}

/// Decodes base45 text strictly.
pub fn decode(text: &str) -> Result<Vec<u8>, Malformed> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    for (index, chunk) in bytes.chunks(3).enumerate() {
        let at = index * 3;
        let bad = |offset: usize| Malformed::BadTextEncoding {
            encoding: "base45",
            position: at + offset,
        };
        match *chunk {
            [c, d, e] => {
                let n = symbol(c, at)? + symbol(d, at + 1)? * 45 + symbol(e, at + 2)? * 2025;
                let pair = u16::try_from(n).map_err(|_| bad(0))?;
                out.extend_from_slice(&pair.to_be_bytes());
            }
            [c, d] => {
                let n = symbol(c, at)? + symbol(d, at + 1)? * 45;
                out.push(u8::try_from(n).map_err(|_| bad(0))?);
            }
            _ => return Err(bad(0)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn rejects_what_rfc9285_section6_rejects() {
        // "GGW" is 65535 + 1 = 65536.
        assert!(decode("GGW").is_err());
        assert!(decode("FGW").is_ok()); // 65535
        assert!(decode("A").is_err());
        assert!(decode("ZZ").is_err()); // 35 + 35*45 > 255
        assert!(matches!(
            decode("BB8a"),
            Err(Malformed::BadTextEncoding { position: 3, .. })
        ));
        assert!(decode("BB8\u{4e2d}").is_err());
    }
}
