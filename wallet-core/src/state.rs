//! The wallet file (`wallet.cbor`): the credential package and what the wallet
//! learnt about it, with a checksum.
//!
//! `["DL1 wallet", 1, state: bstr, sha256(state): bstr]`, state being a
//! deterministic CBOR map with text keys. Atomic replacement (see `storage`)
//! protects against crashes; the checksum catches damage at rest, which is
//! reported as [`WalletError::Corrupt`](crate::WalletError::Corrupt) and never
//! silently replaced.

use ciborium::value::Value;
use credential::cbor;
use credential::limits::CborLimits;

/// What the issuer last said about the stored credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialStatus {
    /// Current and presentable.
    Valid,
    /// The issuer answered `suspended`: the licence may not be used to drive and the
    /// stored credential's status letters say why (e.g. B 超分 points exceeded, D 暂扣
    /// temporarily seized).
    Suspended,
    /// The licence is revoked (吊销): never presented again.
    Revoked,
    /// Replaced by a re-issue the wallet could not store: not presented.
    Superseded,
}

impl CredentialStatus {
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "valid",
            CredentialStatus::Suspended => "suspended",
            CredentialStatus::Revoked => "revoked",
            CredentialStatus::Superseded => "superseded",
        }
    }

    /// From the name.
    pub fn parse(name: &str) -> Option<CredentialStatus> {
        [
            CredentialStatus::Valid,
            CredentialStatus::Suspended,
            CredentialStatus::Revoked,
            CredentialStatus::Superseded,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// The stored state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredState {
    /// The device public key this state belongs to.
    pub device_key: [u8; 32],
    /// The credential package bytes as the issuer sent them.
    pub package: Vec<u8>,
    /// What the issuer last said.
    pub status: CredentialStatus,
    /// When the package was first stored.
    pub enrolled_at: u64,
    /// The last successful refresh.
    pub last_refresh_at: Option<u64>,
    /// The credential this one replaced (`authority/serial`), after a re-issue.
    pub replaced: Option<String>,
}

const MAGIC: &str = "DL1 wallet";
const VERSION: u64 = 1;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

impl StoredState {
    /// The file bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut entries = vec![
            (text("device_key"), Value::Bytes(self.device_key.to_vec())),
            (text("package"), Value::Bytes(self.package.clone())),
            (text("status"), text(self.status.name())),
            (text("enrolled_at"), cbor::int(self.enrolled_at)),
        ];
        if let Some(at) = self.last_refresh_at {
            entries.push((text("last_refresh_at"), cbor::int(at)));
        }
        if let Some(replaced) = &self.replaced {
            entries.push((text("replaced"), text(replaced)));
        }
        let state = cbor::encode(&cbor::map(entries));
        let digest = credential::signature::sha256(&state);
        cbor::encode(&Value::Array(vec![
            text(MAGIC),
            cbor::int(VERSION),
            Value::Bytes(state),
            Value::Bytes(digest.to_vec()),
        ]))
    }

    /// Decodes file bytes; the error says what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<StoredState, String> {
        let value = cbor::decode(bytes, &CborLimits::DOCUMENT).map_err(|e| e.to_string())?;
        let Value::Array(items) = value else {
            return Err("not a wallet file".into());
        };
        let [magic, version, state, digest] =
            <[Value; 4]>::try_from(items).map_err(|_| "not a wallet file".to_owned())?;
        if magic.as_text() != Some(MAGIC) {
            return Err("not a wallet file".into());
        }
        if version != cbor::int(VERSION) {
            return Err(format!("wallet file version {version:?} is not supported"));
        }
        let (Value::Bytes(state), Value::Bytes(digest)) = (state, digest) else {
            return Err("not a wallet file".into());
        };
        if credential::signature::sha256(&state).as_slice() != digest.as_slice() {
            return Err("checksum mismatch: the file was damaged".into());
        }
        let Value::Map(entries) =
            cbor::decode(&state, &CborLimits::DOCUMENT).map_err(|e| e.to_string())?
        else {
            return Err("state is not a map".into());
        };
        let mut device_key = None;
        let mut package = None;
        let mut status = None;
        let mut enrolled_at = None;
        let mut last_refresh_at = None;
        let mut replaced = None;
        for (key, value) in entries {
            let uint = |v: &Value| v.as_integer().and_then(|i| u64::try_from(i).ok());
            match (key.as_text(), &value) {
                (Some("device_key"), Value::Bytes(b)) => {
                    device_key = <[u8; 32]>::try_from(b.as_slice()).ok()
                }
                (Some("package"), Value::Bytes(b)) => package = Some(b.clone()),
                (Some("status"), Value::Text(t)) => status = CredentialStatus::parse(t),
                (Some("enrolled_at"), v) => enrolled_at = uint(v),
                (Some("last_refresh_at"), v) => {
                    last_refresh_at = Some(uint(v).ok_or("bad last_refresh_at")?)
                }
                (Some("replaced"), Value::Text(t)) => replaced = Some(t.clone()),
                (key, _) => return Err(format!("unexpected field {key:?}")),
            }
        }
        Ok(StoredState {
            device_key: device_key.ok_or("missing or bad device_key")?,
            package: package.ok_or("missing package")?,
            status: status.ok_or("missing or unknown status")?,
            enrolled_at: enrolled_at.ok_or("missing or bad enrolled_at")?,
            last_refresh_at,
            replaced,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> StoredState {
        StoredState {
            device_key: [7; 32],
            package: vec![0xa0],
            status: CredentialStatus::Suspended,
            enrolled_at: 10,
            last_refresh_at: Some(20),
            replaced: Some("川J/5".into()),
        }
    }

    #[test]
    fn round_trip() {
        let state = sample();
        assert_eq!(StoredState::decode(&state.encode()).unwrap(), state);
        let mut bare = state;
        bare.last_refresh_at = None;
        bare.replaced = None;
        assert_eq!(StoredState::decode(&bare.encode()).unwrap(), bare);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_detected() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(StoredState::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                assert!(StoredState::decode(&flipped).is_err(), "byte {i} bit {bit}");
            }
        }
    }
}
