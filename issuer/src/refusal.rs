//! Why the office's rules refuse an action: one variant per rule, each with a stable
//! code (JSON `code`, the README's table, scripts) and a message in Chinese and
//! English that says what the clerk can do next.
//!
//! A refusal is not a failure of the system: the command exits 1 and nothing was
//! changed. Callers match on the variant, never on the text.

use std::fmt;

/// A business rule that refused the action.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `root init` on a registry that has a root key.
    RootExists,
    /// An action that needs the root key before `root init`.
    NoRootKey,
    /// `authority add` with a code that exists.
    AuthorityExists(String),
    /// A holder or change names an authority this registry does not have.
    UnknownAuthority(String),
    /// The authority has no key that may sign now.
    NoActiveKey(String),
    /// The root key is not retired with `key retire`.
    RootKeyNotRetirable,
    /// The key is retired already.
    KeyAlreadyRetired(String),
    /// The key is the authority's signing key: rotate first.
    KeyStillSigning {
        /// Key id.
        kid: String,
        /// Its authority.
        authority: String,
    },
    /// The licence number is enrolled already.
    LicenceNumberTaken(String),
    /// The licence's validity ended before today: a credential would be rejected by
    /// every verifier.
    LicenceExpired {
        /// The last day of validity.
        valid_to: String,
    },
    /// The licence number is a citizen ID whose GB 11643 check digit is wrong.
    CitizenIdCheckDigit(String),
    /// The birth date contradicts the one inside the citizen ID.
    BirthDateMismatch {
        /// The birth date given.
        given: String,
        /// The birth date the citizen ID encodes.
        in_licence_number: String,
    },
    /// `holder update` without a change.
    NothingToChange,
    /// The holder has no approved portrait to issue with.
    NoApprovedPortrait(i64),
    /// The holder's wallet has not enrolled a device key.
    NoDeviceKey(i64),
    /// The licence is revoked (吊销): nothing more is issued to it.
    LicenceRevoked(i64),
    /// A revoked licence cannot be reinstated.
    CannotReinstateRevoked,
    /// The holder has no credential to refresh.
    NoCredential(i64),
    /// `issue --all` found the holder issued to meanwhile (by another clerk).
    AlreadyIssued(i64),
    /// The credential is revoked: it is never refreshed.
    CredentialRevoked(String),
    /// The portrait is not waiting for review.
    PortraitNotPending {
        /// Portrait id.
        id: i64,
        /// Its state.
        state: &'static str,
    },
    /// A portrait may be replaced at most once every six months.
    PortraitReplacedTooSoon {
        /// Holder id.
        holder: i64,
        /// Days since the current one was approved.
        days: u64,
    },
    /// A retained portrait (CSV import) fails the automatic checks.
    RetainedPortraitFails(String),
    /// The issuer cannot make the portrait for the code from this photo (format
    /// §17.3): refused when the photo is added, not later at issuance.
    PortraitNotMakeable(crate::portrait_code::PortraitCodeError),
}

impl Refusal {
    /// Every code, for the README table and the test that each has both languages.
    pub const CODES: &'static [&'static str] = &[
        "root_exists",
        "no_root_key",
        "authority_exists",
        "unknown_authority",
        "no_active_key",
        "root_key_not_retirable",
        "key_already_retired",
        "key_still_signing",
        "licence_number_taken",
        "licence_expired",
        "citizen_id_check_digit",
        "birth_date_mismatch",
        "nothing_to_change",
        "no_approved_portrait",
        "no_device_key",
        "licence_revoked",
        "cannot_reinstate_revoked",
        "no_credential",
        "already_issued",
        "credential_revoked",
        "portrait_not_pending",
        "portrait_replaced_too_soon",
        "retained_portrait_fails",
        "portrait_not_makeable",
    ];

    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::RootExists => "root_exists",
            Refusal::NoRootKey => "no_root_key",
            Refusal::AuthorityExists(_) => "authority_exists",
            Refusal::UnknownAuthority(_) => "unknown_authority",
            Refusal::NoActiveKey(_) => "no_active_key",
            Refusal::RootKeyNotRetirable => "root_key_not_retirable",
            Refusal::KeyAlreadyRetired(_) => "key_already_retired",
            Refusal::KeyStillSigning { .. } => "key_still_signing",
            Refusal::LicenceNumberTaken(_) => "licence_number_taken",
            Refusal::LicenceExpired { .. } => "licence_expired",
            Refusal::CitizenIdCheckDigit(_) => "citizen_id_check_digit",
            Refusal::BirthDateMismatch { .. } => "birth_date_mismatch",
            Refusal::NothingToChange => "nothing_to_change",
            Refusal::NoApprovedPortrait(_) => "no_approved_portrait",
            Refusal::NoDeviceKey(_) => "no_device_key",
            Refusal::LicenceRevoked(_) => "licence_revoked",
            Refusal::CannotReinstateRevoked => "cannot_reinstate_revoked",
            Refusal::NoCredential(_) => "no_credential",
            Refusal::AlreadyIssued(_) => "already_issued",
            Refusal::CredentialRevoked(_) => "credential_revoked",
            Refusal::PortraitNotPending { .. } => "portrait_not_pending",
            Refusal::PortraitReplacedTooSoon { .. } => "portrait_replaced_too_soon",
            Refusal::RetainedPortraitFails(_) => "retained_portrait_fails",
            Refusal::PortraitNotMakeable(_) => "portrait_not_makeable",
        }
    }

    /// The message in English.
    pub fn english(&self) -> String {
        match self {
            Refusal::RootExists => "this registry already has a root key".into(),
            Refusal::NoRootKey => "no root key in this registry: run `issuer root init` first".into(),
            Refusal::AuthorityExists(code) => format!("authority {code} already exists; use `issuer key rotate` for a new key"),
            Refusal::UnknownAuthority(code) => format!("{code} is not an authority of this registry: add it with `issuer authority add` first"),
            Refusal::NoActiveKey(code) => format!("authority {code} has no active key; add it with `issuer authority add` or rotate"),
            Refusal::RootKeyNotRetirable => "the root key cannot be retired here".into(),
            Refusal::KeyAlreadyRetired(kid) => format!("key {kid} is already retired"),
            Refusal::KeyStillSigning { kid, authority } => format!("key {kid} is {authority}'s signing key: run `issuer key rotate --authority {authority}` first"),
            Refusal::LicenceNumberTaken(number) => format!("licence number {number} is already enrolled"),
            Refusal::LicenceExpired { valid_to } => format!("the licence's validity ended on {valid_to}: renew the licence (update --valid-to) before issuing"),
            Refusal::CitizenIdCheckDigit(number) => format!("licence number {number} is not a valid citizen ID (GB 11643 check digit): check the number"),
            Refusal::BirthDateMismatch { given, in_licence_number } => format!("birth date {given} contradicts the licence number, which says {in_licence_number}: check both"),
            Refusal::NothingToChange => "nothing to change".into(),
            Refusal::NoApprovedPortrait(holder) => format!("holder {holder} has no approved portrait: add one and have it reviewed"),
            Refusal::NoDeviceKey(holder) => format!("holder {holder} has no device key: the wallet must enrol first (issue --device-key)"),
            Refusal::LicenceRevoked(holder) => format!("holder {holder}'s licence is revoked"),
            Refusal::CannotReinstateRevoked => "a revoked licence cannot be reinstated; the holder must be licensed again".into(),
            Refusal::NoCredential(holder) => format!("holder {holder} has no credential to refresh: issue one first"),
            Refusal::AlreadyIssued(holder) => format!("holder {holder} was issued a credential meanwhile (by another command): nothing to do"),
            Refusal::CredentialRevoked(reference) => format!("credential {reference} is revoked"),
            Refusal::PortraitNotPending { id, state } => format!("portrait {id} is {state}, not pending review"),
            Refusal::PortraitReplacedTooSoon { holder, days } => format!("holder {holder}'s portrait was approved {days} days ago; a portrait may be replaced at most once every 6 months"),
            Refusal::RetainedPortraitFails(failures) => format!("retained portrait fails the automatic checks: {failures}"),
            Refusal::PortraitNotMakeable(e) => format!("the portrait for the code cannot be made from this photo ({}: {e}): take or scan the photo again as a JPEG or PNG", e.code()),
        }
    }

    /// The message in Chinese.
    pub fn chinese(&self) -> String {
        match self {
            Refusal::RootExists => "本登记库已有根密钥".into(),
            Refusal::NoRootKey => "本登记库没有根密钥：请先运行 `issuer root init`".into(),
            Refusal::AuthorityExists(code) => format!("发证机关 {code} 已存在；如需新密钥请用 `issuer key rotate`"),
            Refusal::UnknownAuthority(code) => format!("{code} 不是本登记库的发证机关：请先用 `issuer authority add` 添加"),
            Refusal::NoActiveKey(code) => format!("发证机关 {code} 没有可用的签名密钥；请添加机关或轮换密钥"),
            Refusal::RootKeyNotRetirable => "根密钥不能在此停用".into(),
            Refusal::KeyAlreadyRetired(kid) => format!("密钥 {kid} 已停用"),
            Refusal::KeyStillSigning { kid, authority } => format!("密钥 {kid} 是 {authority} 当前的签名密钥：请先运行 `issuer key rotate --authority {authority}`"),
            Refusal::LicenceNumberTaken(number) => format!("证号 {number} 已登记"),
            Refusal::LicenceExpired { valid_to } => format!("驾驶证有效期已于 {valid_to} 届满：请先换证（update --valid-to）再签发"),
            Refusal::CitizenIdCheckDigit(number) => format!("证号 {number} 不是有效的公民身份号码（GB 11643 校验码错误）：请核对号码"),
            Refusal::BirthDateMismatch { given, in_licence_number } => format!("出生日期 {given} 与证号中的出生日期 {in_licence_number} 不符：请核对"),
            Refusal::NothingToChange => "没有需要变更的内容".into(),
            Refusal::NoApprovedPortrait(holder) => format!("持证人 {holder} 没有审核通过的照片：请添加照片并审核"),
            Refusal::NoDeviceKey(holder) => format!("持证人 {holder} 没有设备密钥：钱包须先登记（issue --device-key）"),
            Refusal::LicenceRevoked(holder) => format!("持证人 {holder} 的驾驶证已吊销"),
            Refusal::CannotReinstateRevoked => "已吊销的驾驶证不能恢复；持证人须重新申领".into(),
            Refusal::NoCredential(holder) => format!("持证人 {holder} 没有可更新的电子证照：请先签发"),
            Refusal::AlreadyIssued(holder) => format!("持证人 {holder} 已由其他操作签发电子证照：无需重复签发"),
            Refusal::CredentialRevoked(reference) => format!("电子证照 {reference} 已吊销"),
            Refusal::PortraitNotPending { id, state } => format!("照片 {id} 的状态为 {state}，不在待审核队列中"),
            Refusal::PortraitReplacedTooSoon { holder, days } => format!("持证人 {holder} 的照片 {days} 天前刚审核通过；照片六个月内只能更换一次"),
            Refusal::RetainedPortraitFails(failures) => format!("留存照片未通过自动检查：{failures}"),
            Refusal::PortraitNotMakeable(e) => format!("无法用此照片制作二维码照片（{}）：请重新拍摄或扫描为 JPEG 或 PNG 照片", e.code()),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.english())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<Refusal> {
        vec![
            Refusal::RootExists,
            Refusal::NoRootKey,
            Refusal::AuthorityExists("川J".into()),
            Refusal::UnknownAuthority("川Z".into()),
            Refusal::NoActiveKey("川J".into()),
            Refusal::RootKeyNotRetirable,
            Refusal::KeyAlreadyRetired("a1b2c3".into()),
            Refusal::KeyStillSigning {
                kid: "a1b2c3".into(),
                authority: "川J".into(),
            },
            Refusal::LicenceNumberTaken("510903199001011234".into()),
            Refusal::LicenceExpired {
                valid_to: "2025-01-01".into(),
            },
            Refusal::CitizenIdCheckDigit("510903199001011235".into()),
            Refusal::BirthDateMismatch {
                given: "1990-01-02".into(),
                in_licence_number: "1990-01-01".into(),
            },
            Refusal::NothingToChange,
            Refusal::NoApprovedPortrait(1),
            Refusal::NoDeviceKey(1),
            Refusal::LicenceRevoked(1),
            Refusal::CannotReinstateRevoked,
            Refusal::NoCredential(1),
            Refusal::AlreadyIssued(1),
            Refusal::CredentialRevoked("川J/1".into()),
            Refusal::PortraitNotPending {
                id: 1,
                state: "approved",
            },
            Refusal::PortraitReplacedTooSoon { holder: 1, days: 3 },
            Refusal::RetainedPortraitFails("too_small".into()),
            Refusal::PortraitNotMakeable(crate::portrait_code::PortraitCodeError::Undecodable(
                "not JPEG or PNG".into(),
            )),
        ]
    }

    #[test]
    fn every_refusal_has_its_listed_code_and_both_languages() {
        let all = one_of_each();
        let codes: Vec<&str> = all.iter().map(Refusal::code).collect();
        assert_eq!(codes, Refusal::CODES, "CODES lists every variant in order");
        for refusal in &all {
            let (en, zh) = (refusal.english(), refusal.chinese());
            assert!(en.chars().any(|c| c.is_ascii_alphabetic()), "{en}");
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{} has no Chinese message: {zh}",
                refusal.code()
            );
            assert_ne!(en, zh);
        }
    }
}
