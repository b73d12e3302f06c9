//! Chinese and English wording of every verdict, warning and refusal the station shows.
//!
//! The English sentences are the library's own (`Display` of each error), so the
//! station and the CLI say the same thing; the Chinese ones are written here, one
//! per variant, because the clerk's screen must offer both (the libraries speak
//! English only).

use credential::verify::{human_duration, Warning};
use credential::VerifyError;
use verifier::StoreError;

/// A message in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bilingual {
    /// English.
    pub en: String,
    /// 中文.
    pub zh: String,
}

impl Bilingual {
    /// As `{"en": .., "zh": ..}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"en": self.en, "zh": self.zh})
    }
}

/// Seconds as "3 天 4 小时", "12 分钟", "40 秒": `human_duration` with its units in Chinese.
pub fn duration_zh(seconds: u64) -> String {
    human_duration(seconds)
        .split(' ')
        .map(|word| match word {
            "d" => "天",
            "h" => "小时",
            "min" => "分钟",
            "s" => "秒",
            number => number,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a presentation was rejected.
pub fn rejection(error: &VerifyError) -> Bilingual {
    let zh = match error {
        VerifyError::Malformed(_) => "这不是格式正确的驾驶证二维码".to_owned(),
        VerifyError::UnsupportedVersion(v) => format!("不支持格式版本 {v}：请更新核验软件"),
        VerifyError::UnsupportedAlgorithm(a) => format!("不支持签名算法 {a}（仅支持 EdDSA）"),
        VerifyError::UnknownIssuer { kid } => format!(
            "签发密钥 {kid} 不在信任列表中：非本国发证机关或伪造；若为新设机关，请导入新的信任列表"
        ),
        VerifyError::IssuerKeyRetired { authority } => format!("{authority} 的签发密钥已停用"),
        VerifyError::BadSignature => "发证机关签名不符：凭证被篡改或伪造".to_owned(),
        VerifyError::IssuerKeyNotValidAtTime { .. } => {
            "凭证签发时间不在其签发密钥的有效期内".to_owned()
        }
        VerifyError::CredentialNotYetValid { .. } => "凭证尚未生效：请检查本机时钟".to_owned(),
        VerifyError::CredentialExpired { .. } => "电子凭证已过期：持证人须联网更新".to_owned(),
        VerifyError::CredentialLifetimeTooLong { .. } => {
            "凭证有效期超过本核验端允许的上限".to_owned()
        }
        VerifyError::ProfileMismatch { .. } => "出示的字段不属于任何出示范围".to_owned(),
        VerifyError::BadHolderProof => "持有人证明无效：此二维码不是由领证手机生成的".to_owned(),
        VerifyError::StalePresentation { age_s, window_s } => {
            format!("二维码生成于 {age_s} 秒前（上限 {window_s} 秒）：请持证人出示实时二维码")
        }
        VerifyError::PresentationFromFuture { ahead_s, .. } => {
            format!("二维码时间比本机快 {ahead_s} 秒：请检查双方时钟")
        }
        VerifyError::LicenceNotYetValid { valid_from } => {
            format!("驾驶证有效期自 {valid_from} 起，尚未生效")
        }
        VerifyError::LicenceExpired { valid_to } => format!("驾驶证已于 {valid_to} 过期"),
        VerifyError::LicenceStatus(set) => format!("驾驶证状态 {set} 不允许驾驶"),
        VerifyError::RevokedByStatusList => "凭证已被吊销（状态列表）".to_owned(),
        VerifyError::SuspendedByStatusList => "凭证已被暂停（状态列表）".to_owned(),
        VerifyError::SupersededByStatusList => "凭证已被新凭证取代：持证人须更新".to_owned(),
        _ => format!("已拒绝（{}）", error.reason_code()),
    };
    Bilingual {
        en: error.to_string(),
        zh,
    }
}

/// A warning that does not reject.
pub fn warning(warning: &Warning) -> Bilingual {
    let zh = match warning {
        Warning::TrustBundleStale { overdue_s } => format!(
            "信任列表已逾期 {} 未更新：请导入新的信任列表",
            duration_zh(*overdue_s)
        ),
        Warning::StatusUnknown => "没有该发证机关的状态列表：无法确定是否已吊销".to_owned(),
        Warning::StatusListStale { age_s } => format!(
            "状态列表已有 {}，超过更新时间：可能缺少最近的吊销记录",
            duration_zh(*age_s)
        ),
        Warning::StatusNotCovered { serial, size } => {
            format!("序号 {serial} 比状态列表（{size} 条）新：状态无法确定")
        }
        Warning::SuspendedOnStaleList { age_s } => format!(
            "一份 {} 前的状态列表显示暂停，之后可能已解除",
            duration_zh(*age_s)
        ),
        Warning::LicenceStatusNotice(set) => {
            let labels: Vec<&str> = set.letters().map(|s| s.chinese).collect();
            format!("驾驶证状态：{}", labels.join("、"))
        }
    };
    Bilingual {
        en: warning.message(),
        zh,
    }
}

/// A store refusal or failure (import, start-up).
pub fn store(error: &StoreError) -> Bilingual {
    let zh = match error {
        StoreError::Io { path, .. } => format!("读写 {} 失败", path.display()),
        StoreError::NotInitialised(dir) => format!(
            "{} 中没有根公钥：请先运行 `verifier init --root 根公钥`",
            dir.display()
        ),
        StoreError::NoTrustBundle => "尚未安装信任列表：请导入 trust-bundle.cbor".to_owned(),
        StoreError::BadRootKey => "根公钥格式不对".to_owned(),
        StoreError::RootAlreadySet(_) => "已配置了不同的根公钥".to_owned(),
        StoreError::Document(e) => format!("文件校验失败，已拒绝（{}）", e.reason_code()),
        StoreError::Rollback { offered, installed } => {
            format!("信任列表版本 {offered} 比已安装的版本 {installed} 旧：拒绝回退")
        }
        StoreError::VersionConflict(v) => {
            format!("版本 {v} 的信任列表已安装且内容不同：拒绝")
        }
        StoreError::StatusConflict(authority) => {
            format!("已安装 {authority} 同一时间签发但内容不同的状态列表：拒绝")
        }
        StoreError::StatusRollback { authority, .. } => {
            format!("{authority} 的状态列表比已安装的旧：拒绝回退")
        }
        _ => format!("已拒绝（{}）", error.code()),
    };
    Bilingual {
        en: error.to_string(),
        zh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages() {
        let errors = [
            VerifyError::BadSignature,
            VerifyError::StalePresentation {
                age_s: 400,
                window_s: 180,
            },
            VerifyError::RevokedByStatusList,
            VerifyError::UnknownIssuer { kid: "ab12".into() },
        ];
        for error in &errors {
            let m = rejection(error);
            assert!(
                !m.en.is_empty() && m.zh.chars().any(|c| c >= '\u{4e00}'),
                "{m:?}"
            );
        }
        assert!(rejection(&errors[1]).zh.contains("400 秒"));
        let w = warning(&Warning::StatusListStale { age_s: 3 * 86_400 });
        assert!(
            w.en.contains("3 d") && w.zh.contains("3 天 0 小时"),
            "{w:?}"
        );
        assert_eq!(duration_zh(3_900), "1 小时 5 分钟");
        assert_eq!(duration_zh(40), "40 秒");
        let s = store(&StoreError::Rollback {
            offered: 1,
            installed: 2,
        });
        assert!(s.en.contains("rollback") && s.zh.contains("回退"));
    }
}
