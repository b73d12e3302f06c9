//! The credential payload: a CWT claims set (RFC 8392) with a proof-of-possession
//! key (RFC 8747) and the licence record as a private claim (spec §4.4).
//!
//! `iss` and `nbf` are left out on purpose: the issuing authority is the trust
//! bundle entry of the signing key (carrying it again would let the two disagree
//! and costs QR modules), and a credential is valid from `iat`.

use ciborium::value::Value;

use crate::cbor::{self, int, take};
use crate::error::Malformed;
use crate::licence::LicenceRecord;

const EXP: i64 = 4;
const IAT: i64 = 6;
const CTI: i64 = 7;
const CNF: i64 = 8;
const CNF_COSE_KEY: i64 = 1;
/// The private claim key of the licence record (private-use range, RFC 8392 §9.1).
pub const LICENCE_CLAIM: i64 = -65537;

/// The claims a credential carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// `iat`: issued at, and valid from.
    pub issued_at: u64,
    /// `exp`.
    pub expires_at: u64,
    /// `cti`: the serial number, also the status list index.
    pub serial: u64,
    /// `cnf`: the holder's device public key.
    pub device_key: [u8; 32],
    /// The disclosed licence fields; their set names the profile.
    pub licence: LicenceRecord,
}

/// The `cti` bytes of a serial: big-endian without leading zero bytes.
pub fn serial_to_cti(serial: u64) -> Vec<u8> {
    let bytes = serial.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

fn cti_to_serial(cti: &[u8]) -> Result<u64, Malformed> {
    match cti.first() {
        Some(0) | None => Err(Malformed::Invalid("cti")),
        Some(_) if cti.len() > 8 => Err(Malformed::WrongLength("cti")),
        Some(_) => Ok(cti.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))),
    }
}

/// A COSE_Key (RFC 9052 §7) for an Ed25519 public key: kty OKP, crv Ed25519, x.
pub fn cose_key(public_key: &[u8; 32]) -> Value {
    cbor::map(vec![
        (int(1), int(1)),
        (int(-1), int(6)),
        (int(-2), Value::Bytes(public_key.to_vec())),
    ])
}

fn take_cose_key(value: Value) -> Result<[u8; 32], Malformed> {
    let mut key = take::IntMap::new(value, "COSE_Key")?;
    let kty = take::int(key.required(1, "kty")?, "kty")?;
    let crv = take::int(key.required(-1, "crv")?, "crv")?;
    if kty != 1 || crv != 6 {
        return Err(Malformed::BadPublicKey("cnf key (only OKP Ed25519)"));
    }
    let x = take::bytes_of(key.required(-2, "x")?, "x")?;
    key.finish()?;
    Ok(x)
}

impl Claims {
    /// The claims map.
    pub fn to_value(&self) -> Value {
        cbor::map(vec![
            (int(EXP), int(self.expires_at)),
            (int(IAT), int(self.issued_at)),
            (int(CTI), Value::Bytes(serial_to_cti(self.serial))),
            (
                int(CNF),
                cbor::map(vec![(int(CNF_COSE_KEY), cose_key(&self.device_key))]),
            ),
            (int(LICENCE_CLAIM), self.licence.to_value()),
        ])
    }

    /// The claims from the decoded payload. Unknown claims are rejected.
    pub fn from_value(value: Value) -> Result<Claims, Malformed> {
        let mut map = take::IntMap::new(value, "claims")?;
        let expires_at = take::uint(map.required(EXP, "exp")?, "exp")?;
        let issued_at = take::uint(map.required(IAT, "iat")?, "iat")?;
        let serial = cti_to_serial(&take::bytes(map.required(CTI, "cti")?, "cti")?)?;
        let mut cnf = take::IntMap::new(map.required(CNF, "cnf")?, "cnf")?;
        let device_key = take_cose_key(cnf.required(CNF_COSE_KEY, "cnf COSE_Key")?)?;
        cnf.finish()?;
        let licence = LicenceRecord::from_value(map.required(LICENCE_CLAIM, "licence record")?)?;
        map.finish()?;
        if issued_at >= expires_at {
            return Err(Malformed::Invalid("exp not after iat"));
        }
        Ok(Claims {
            issued_at,
            expires_at,
            serial,
            device_key,
            licence,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn serials_are_minimal_big_endian() {
        assert_eq!(serial_to_cti(1), vec![1]);
        assert_eq!(serial_to_cti(256), vec![1, 0]);
        assert_eq!(cti_to_serial(&serial_to_cti(u64::MAX)).unwrap(), u64::MAX);
        assert!(cti_to_serial(&[0, 1]).is_err());
        assert!(cti_to_serial(&[]).is_err());
        assert!(cti_to_serial(&[1; 9]).is_err());
    }
}
