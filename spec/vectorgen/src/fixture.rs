//! Deterministic keys, a realistic licence and the documents built from them.
//!
//! Shared by the vector generator and by other crates' tests, so that every test
//! speaks about the same authority, holder and clock.

use credential::date::Date;
use credential::ed25519_dalek::SigningKey;
use credential::issue::IssueParams;
use credential::licence::{Authority, ClassSet, Licence, Sex, StatusSet, Validity};
use credential::presentation::Presentation;
use credential::signature::{key_id, sha256};
use credential::status_list::{SerialStatus, StatusList};
use credential::trust_bundle::{AuthorityKey, TrustBundle, TrustBundleContent};
use credential::Profile;

/// The reference time of the vectors: 2026-06-01T02:00:00Z (10:00 in Beijing).
pub const T0: u64 = 1_780_279_200;
/// One day in seconds.
pub const DAY: u64 = 86_400;
/// The main authority's code.
pub const AUTHORITY: &str = "川J";
/// The main authority's name.
pub const AUTHORITY_NAME: &str = "四川省遂宁市公安局交通警察支队";
/// The serial of the main credential.
pub const SERIAL: u64 = 100;
/// Serials the status list marks revoked, suspended and superseded.
pub const SERIAL_REVOKED: u64 = 101;
/// Suspended serial.
pub const SERIAL_SUSPENDED: u64 = 102;
/// Superseded serial.
pub const SERIAL_SUPERSEDED: u64 = 103;
/// Entries in the status list.
pub const STATUS_LIST_SIZE: u64 = 1000;

/// A key from a label (SHA-256 of the label is the seed).
pub fn key(label: &str) -> SigningKey {
    SigningKey::from_bytes(&sha256(label.as_bytes()))
}

/// The national root.
pub fn root_key() -> SigningKey {
    key("vectorgen national root")
}

/// The current key of 川J.
pub fn authority_key() -> SigningKey {
    key("vectorgen 川J 2026")
}

/// The retired key of 川J.
pub fn retired_key() -> SigningKey {
    key("vectorgen 川J 2019 retired")
}

/// The key of another authority, 川A.
pub fn other_authority_key() -> SigningKey {
    key("vectorgen 川A 2026")
}

/// A key in no trust bundle.
pub fn stranger_key() -> SigningKey {
    key("vectorgen stranger")
}

/// The holder's device key.
pub fn device_key() -> SigningKey {
    key("vectorgen device 1")
}

/// Another phone's device key.
pub fn other_device_key() -> SigningKey {
    key("vectorgen device 2")
}

fn date(text: &str) -> Date {
    Date::parse(text).expect("fixture date")
}

/// A realistic licence: Chinese name and address, three classes.
pub fn licence() -> Licence {
    Licence {
        name: "欧阳婷婷".into(),
        sex: Sex::Female,
        nationality: "CHN".into(),
        birth_date: date("1988-03-14"),
        address: "四川省遂宁市船山区明月路88号3栋2单元501室".into(),
        licence_number: "510903198803140029".into(),
        file_number: "510900123456".into(),
        first_issue_date: date("2008-07-22"),
        classes: ClassSet::parse("B2DE").expect("fixture classes"),
        validity: Validity {
            from: date("2020-07-22"),
            to: Some(date("2030-07-22")),
        },
        issuing_authority: Authority {
            code: AUTHORITY.into(),
            name: AUTHORITY_NAME.into(),
        },
        status: StatusSet::NORMAL,
        points: 3,
        portrait_digest: credential::licence::portrait_digest(b"vectorgen portrait of the holder"),
    }
}

/// Issue parameters: issued a day before T0, valid 7 days, bound to the device key.
pub fn params() -> IssueParams {
    IssueParams {
        serial: SERIAL,
        issued_at: T0 - DAY,
        expires_at: T0 + 6 * DAY,
        device_key: device_key().verifying_key().to_bytes(),
    }
}

fn entry(
    key: &SigningKey,
    code: &str,
    name: &str,
    valid_from: u64,
    valid_to: u64,
    retired: bool,
) -> AuthorityKey {
    let public_key = key.verifying_key().to_bytes();
    AuthorityKey {
        kid: key_id(&public_key),
        public_key,
        authority_code: code.into(),
        authority_name: name.into(),
        valid_from,
        valid_to,
        retired,
    }
}

/// The trust bundle content: 川J current and retired keys, 川A.
pub fn trust_bundle_content() -> TrustBundleContent {
    TrustBundleContent {
        version: 3,
        issued_at: T0 - 30 * DAY,
        next_update: T0 + 30 * DAY,
        keys: vec![
            entry(
                &authority_key(),
                AUTHORITY,
                AUTHORITY_NAME,
                T0 - 365 * DAY,
                T0 + 3 * 365 * DAY,
                false,
            ),
            entry(
                &retired_key(),
                AUTHORITY,
                AUTHORITY_NAME,
                T0 - 7 * 365 * DAY,
                T0 - 365 * DAY,
                true,
            ),
            entry(
                &other_authority_key(),
                "川A",
                "四川省成都市公安局交通管理局",
                T0 - 365 * DAY,
                T0 + 3 * 365 * DAY,
                false,
            ),
        ],
    }
}

/// The signed trust bundle.
pub fn trust_bundle_bytes() -> Vec<u8> {
    trust_bundle_content().sign(&root_key())
}

/// The verified trust bundle.
pub fn trust_bundle() -> TrustBundle {
    TrustBundle::verify(&trust_bundle_bytes(), &root_key().verifying_key())
        .expect("fixture trust bundle verifies")
}

/// The status list of 川J: signed an hour before T0, next update 23 h after.
pub fn status_list() -> StatusList {
    let mut list = StatusList::new(
        AUTHORITY.into(),
        T0 - 3600,
        T0 + 23 * 3600,
        STATUS_LIST_SIZE,
    )
    .expect("fixture status list");
    for (serial, status) in [
        (SERIAL_REVOKED, SerialStatus::Revoked),
        (SERIAL_SUSPENDED, SerialStatus::Suspended),
        (SERIAL_SUPERSEDED, SerialStatus::Superseded),
    ] {
        list.set(serial, status).expect("serial within the list");
    }
    list
}

/// The signed status list.
pub fn status_list_bytes() -> Vec<u8> {
    status_list().sign(&authority_key())
}

/// The horizon of the compacted list: the latest §10.5 allows for its `issued_at`.
pub fn compaction_horizon() -> u64 {
    credential::status_list::latest_compaction_horizon(status_list().issued_at)
        .expect("T0 is far from the epoch")
}

/// The context's list of 川J as its issuer compacts it (§10.5): same instants, its
/// horizon the latest allowed; the credentials of the revoked and superseded serials
/// expired before the horizon, so their entries are back to 0, and the suspended
/// serial still has a credential that can verify.
pub fn compacted_status_list_bytes() -> Vec<u8> {
    let list = status_list();
    let times = credential::status_list::ListTimes {
        issued_at: list.issued_at,
        next_update: list.next_update,
        compacted_before: Some(compaction_horizon()),
    };
    credential::status_list::CompressedEntries::from_sorted(
        STATUS_LIST_SIZE,
        [(SERIAL_SUSPENDED, SerialStatus::Suspended)],
    )
    .expect("fixture compacted list")
    .sign(AUTHORITY, times, &authority_key())
}

/// Signs one profile's credential of `licence` with `params` by `key`.
pub fn credential(
    licence: &Licence,
    profile: Profile,
    params: &IssueParams,
    key: &SigningKey,
) -> Vec<u8> {
    credential::issue::issue_credential(licence, profile, params, key).expect("fixture credential")
}

/// A presentation of `credential` at `presented_at`, proved by `device`.
pub fn present(
    credential: Vec<u8>,
    profile: Profile,
    presented_at: u64,
    device: &SigningKey,
) -> Presentation {
    let message = Presentation::message_to_sign(&credential, profile, presented_at);
    Presentation {
        holder_signature: credential::signature::sign(device, &message),
        credential,
        presented_at,
    }
}

/// The QR text of the standard presentation of `profile`, 10 s before T0.
pub fn qr_text(profile: Profile) -> String {
    let credential = credential(&licence(), profile, &params(), &authority_key());
    credential::qr_text::to_qr_text(&present(credential, profile, T0 - 10, &device_key()).encode())
}
