//! Signing credentials: the issuer's side of spec §4 and §6.
//!
//! The signing key must be the one the trust bundle lists for the licence's
//! issuing authority: verifiers take the authority from the key's entry.

use ed25519_dalek::SigningKey;

use crate::claims::Claims;
use crate::error::BuildError;
use crate::licence::Licence;
use crate::profile::Profile;

/// What the issuer decides about one credential besides the licence itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueParams {
    /// Serial number (status list index), >= 1.
    pub serial: u64,
    /// Time of signing, and start of validity.
    pub issued_at: u64,
    /// End of validity (days later: the wallet refreshes).
    pub expires_at: u64,
    /// The holder's device public key.
    pub device_key: [u8; 32],
}

/// Signs the credential of one profile and returns its tagged COSE_Sign1 bytes.
pub fn issue_credential(
    licence: &Licence,
    profile: Profile,
    params: &IssueParams,
    key: &SigningKey,
) -> Result<Vec<u8>, BuildError> {
    check_params(params)?;
    licence.validate()?;
    sign_profile(licence, profile, params, key)
}

/// Signs the credentials of every profile (the set a wallet holds). The parameters
/// and the licence are checked once, not per profile: batch issuance runs this.
pub fn issue_all_profiles(
    licence: &Licence,
    params: &IssueParams,
    key: &SigningKey,
) -> Result<Vec<(Profile, Vec<u8>)>, BuildError> {
    check_params(params)?;
    licence.validate()?;
    Profile::ALL
        .into_iter()
        .map(|profile| Ok((profile, sign_profile(licence, profile, params, key)?)))
        .collect()
}

fn check_params(params: &IssueParams) -> Result<(), BuildError> {
    crate::signature::public_key(&params.device_key, "device key")?;
    if params.serial == 0 {
        return Err(crate::error::Malformed::Invalid("serial").into());
    }
    if params.expires_at <= params.issued_at {
        return Err(crate::error::Malformed::Invalid("exp not after iat").into());
    }
    Ok(())
}

/// Signs one profile of a licence and parameters already checked.
fn sign_profile(
    licence: &Licence,
    profile: Profile,
    params: &IssueParams,
    key: &SigningKey,
) -> Result<Vec<u8>, BuildError> {
    let claims = Claims {
        issued_at: params.issued_at,
        expires_at: params.expires_at,
        serial: params.serial,
        device_key: params.device_key,
        licence: licence.project(profile),
    };
    let payload = crate::cbor::encode(&claims.to_value());
    Ok(crate::cose::sign(key, payload))
}
