//! Every sentence and label the verifier shows a person, in Chinese and English,
//! in one table keyed by (kind, code): verdict reason codes (spec §12), warnings
//! (§11.3), trust-material refusals, store errors, scan and usage errors, and the
//! labels of the human verdict. A test fails if a code any of those types can
//! produce has no row, or a row lacks a language.
//!
//! Templates carry named placeholders (`{age_s}`); [`text`] fills them from the
//! arguments the error carries. Technical detail that has no translation (a CBOR
//! error, a file system message) is passed through as an argument.

use credential::verify::Warning;
use credential::{DocumentError, Malformed, VerifyError};

use crate::render::Lang;
use crate::scan::ScanError;
use crate::store::{Damage, StoreError, StoreFile};
use crate::time::format_instant;

/// What a code belongs to; the same code (e.g. `unknown_issuer`) reads differently
/// for a presentation and for a trust file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A verdict's reason code (`VerifyError`).
    Verdict,
    /// A warning code.
    Warning,
    /// A refusal of a trust bundle or status list (`DocumentError`).
    Document,
    /// A store error or store refusal.
    Store,
    /// A `scan` error.
    Scan,
    /// A usage error of the command line.
    Usage,
    /// A portrait state or a refused frame of an animated code (spec §17.5).
    Portrait,
    /// A label of the human output.
    Label,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Message {
    /// Kind.
    pub kind: Kind,
    /// Stable code.
    pub code: &'static str,
    /// English.
    pub en: &'static str,
    /// 中文.
    pub zh: &'static str,
}

const fn m(kind: Kind, code: &'static str, en: &'static str, zh: &'static str) -> Message {
    Message { kind, code, en, zh }
}

use Kind::{
    Document as D, Label as L, Portrait as P, Scan as S, Store as T, Usage as U, Verdict as V,
    Warning as W,
};

/// The table.
pub const MESSAGES: &[Message] = &[
    m(V, "malformed", "the code is not a well-formed licence presentation: {detail}", "二维码不是格式正确的驾驶证出示码：{detail}"),
    m(V, "unsupported_version", "the code's format prefix {prefix}: is not supported (only DL1: and DL1U:); update the verifier", "不支持此码的格式前缀 {prefix}:（仅支持 DL1: 和 DL1U:），请更新核验程序"),
    m(V, "unsupported_algorithm", "signature algorithm {alg} is not supported (only EdDSA)", "不支持签名算法 {alg}（仅支持 EdDSA）"),
    m(V, "unknown_issuer", "the issuing key {kid} is not in the trust bundle; import a newer bundle if this authority is new", "签发密钥 {kid} 不在信任包中；如为新发证机关，请导入更新的信任包"),
    m(V, "issuer_key_retired", "the issuing key of {authority} has been retired", "{authority} 的签发密钥已停用"),
    m(V, "bad_signature", "the issuer's signature does not match: the credential was altered or forged", "发证机关签名不符：凭证被篡改或伪造"),
    m(V, "issuer_key_not_valid_at_time", "the credential was issued at {issued_at}, outside its key's validity ({valid_from} – {valid_to})", "凭证签发于 {issued_at}，不在其密钥有效期（{valid_from} – {valid_to}）内"),
    m(V, "credential_not_yet_valid", "the credential is not valid before {issued_at}: check the verifier's clock", "凭证在 {issued_at} 之前无效：请检查核验设备的时钟"),
    m(V, "credential_expired", "the credential expired at {expired_at}; the holder must refresh it online", "凭证已于 {expired_at} 过期；持证人须联网更新"),
    m(V, "credential_lifetime_too_long", "the credential is valid for {lifetime_s} s, longer than the {max_s} s this verifier accepts", "凭证有效期 {lifetime_s} 秒，超过本核验程序接受的 {max_s} 秒"),
    m(V, "profile_mismatch", "the disclosed fields ({fields}) are not those of any profile", "出示的字段（{fields}）不属于任何出示范围"),
    m(V, "bad_holder_proof", "the holder proof does not verify: this code was not produced by the phone the licence was issued to", "持证人证明无效：此码不是由领证手机生成的"),
    m(V, "stale_presentation", "the code was generated {age_s} s ago (limit {window_s} s): ask the holder to show the live code", "此码生成于 {age_s} 秒前（上限 {window_s} 秒）：请持证人出示实时二维码"),
    m(V, "presentation_from_future", "the code claims a time {ahead_s} s in the future (allowance {skew_s} s): check both clocks", "此码的生成时间比当前时间晚 {ahead_s} 秒（允许 {skew_s} 秒）：请检查双方时钟"),
    m(V, "licence_not_yet_valid", "the licence is not valid before {valid_from}", "驾驶证在 {valid_from} 之前无效"),
    m(V, "licence_expired", "the licence expired on {valid_to}", "驾驶证已于 {valid_to} 过期"),
    m(V, "licence_status", "licence status {status} does not allow driving", "驾驶证状态 {status} 不允许驾驶"),
    m(V, "revoked_by_status_list", "the credential is revoked (status list)", "凭证已被撤销（状态列表）"),
    m(V, "suspended_by_status_list", "the credential is suspended (status list)", "凭证已被暂停（状态列表）"),
    m(V, "superseded_by_status_list", "the credential was replaced by a newer one; the holder must refresh", "凭证已被新凭证取代；持证人须更新"),
    m(W, "licence_status_notice", "licence status: {status}", "驾驶证状态：{status}"),
    m(W, "status_unknown", "no status list for this authority: revocation status undetermined", "没有该发证机关的状态列表：无法确定是否已撤销"),
    m(W, "status_list_stale", "the status list is {age} old and past its update time: recent revocations may be missing", "状态列表已有 {age}，超过更新时间：可能缺少最近的撤销"),
    m(W, "status_not_covered", "serial {serial} is newer than the status list ({size} entries): status undetermined", "序号 {serial} 比状态列表（{size} 条）新：状态无法确定"),
    m(W, "suspended_on_stale_list", "a {age} old status list says suspended; it may have been lifted since", "一份 {age} 前的状态列表显示暂停；此后可能已解除"),
    m(W, "trust_bundle_stale", "the trust bundle is {overdue} overdue for an update; import a newer one", "信任包已逾期 {overdue} 未更新；请导入更新的信任包"),
    m(D, "malformed", "refused: the file is malformed: {detail}", "拒绝：文件格式错误：{detail}"),
    m(D, "unsupported_algorithm", "refused: signature algorithm {alg} is not supported (only EdDSA)", "拒绝：不支持签名算法 {alg}（仅支持 EdDSA）"),
    m(D, "unknown_issuer", "refused: signed by an unknown key {kid}", "拒绝：由未知密钥 {kid} 签名"),
    m(D, "bad_signature", "refused: the signature does not verify: the file was altered or forged", "拒绝：签名无效：文件被篡改或伪造"),
    m(D, "issuer_key_retired", "refused: status list signed by a retired key of {authority}", "拒绝：状态列表由 {authority} 已停用的密钥签名"),
    m(D, "issuer_mismatch", "refused: status list of {claimed} signed by a key of {actual}", "拒绝：{claimed} 的状态列表由 {actual} 的密钥签名"),
    m(D, "issuer_key_not_valid_at_time", "refused: status list signed at {issued_at}, outside its key's validity ({valid_from} – {valid_to})", "拒绝：状态列表签发于 {issued_at}，不在其密钥有效期（{valid_from} – {valid_to}）内"),
    m(T, "io_error", "{path}: {detail}", "{path}：{detail}"),
    m(T, "store_file_missing", "{path} ({role}) is missing; no verdict can be given until it is repaired: {repair}", "{path}（{role}）缺失；修复前无法给出核验结论：{repair}"),
    m(T, "store_file_unreadable", "{path} ({role}) cannot be read ({detail}); no verdict can be given until it is repaired: {repair}", "{path}（{role}）无法读取（{detail}）；修复前无法给出核验结论：{repair}"),
    m(T, "store_file_altered", "{path} ({role}) differs from what was installed (damaged or replaced); no verdict can be given until it is repaired: {repair}", "{path}（{role}）与安装时不一致（已损坏或被替换）；修复前无法给出核验结论：{repair}"),
    m(T, "store_file_invalid", "{path} ({role}) is invalid ({detail}); no verdict can be given until it is repaired: {repair}", "{path}（{role}）无效（{detail}）；修复前无法给出核验结论：{repair}"),
    m(T, "not_initialised", "no root key in {path}; run `verifier init --root PUBKEY` first", "{path} 中没有根公钥；请先运行 `verifier init --root PUBKEY`"),
    m(T, "no_trust_bundle", "no trust bundle installed; run `verifier trust import FILE`", "未安装信任包；请运行 `verifier trust import FILE`"),
    m(T, "bad_root_key", "not an Ed25519 public key (expected 64 hex digits, base64 of 32 bytes, or a root.pub file)", "不是 Ed25519 公钥（应为 64 位十六进制、32 字节的 base64 或 root.pub 文件）"),
    m(T, "root_already_set", "a different root key is already configured in {path}; use --force to replace it (this forgets the installed bundle and lists)", "{path} 已配置了不同的根公钥；如需替换请使用 --force（会清除已安装的信任包和状态列表）"),
    m(T, "trust_bundle_rollback", "trust bundle version {offered} is older than installed version {installed}; refusing rollback", "信任包版本 {offered} 比已安装的版本 {installed} 旧；拒绝回退"),
    m(T, "trust_bundle_conflict", "trust bundle version {version} is already installed with different content; refusing (the root signed two different bundles with one version)", "已安装内容不同的同版本（{version}）信任包；拒绝（根密钥为同一版本签了两个不同的信任包）"),
    m(T, "status_list_rollback", "status list of {authority} signed at {offered} is older than the installed one ({installed}); refusing", "{authority} 的状态列表签发于 {offered}，比已安装的（{installed}）旧；拒绝"),
    m(T, "status_list_conflict", "a different status list of {authority} signed at the same time is already installed; refusing", "已安装同一时间签发的另一份 {authority} 状态列表；拒绝"),
    m(S, "io_error", "cannot read the file: {detail}", "无法读取文件：{detail}"),
    m(S, "image_file_too_large", "image file is {size} bytes, more than the {max} allowed; send a smaller photo or screenshot", "图片文件 {size} 字节，超过上限 {max}；请发送较小的照片或截图"),
    m(S, "not_an_image", "not a PNG, JPEG, GIF or APNG image, nor a Y4M video", "不是 PNG、JPEG、GIF、APNG 图片，也不是 Y4M 视频"),
    m(S, "image_too_many_pixels", "image is {width}×{height} pixels, more than the {max} allowed; refused before decoding", "图片为 {width}×{height} 像素，超过上限 {max}；未解码即拒绝"),
    m(S, "image_undecodable", "image cannot be decoded: {detail}", "图片无法解码：{detail}"),
    m(S, "no_qr_code", "no QR code found in the image; retake it closer, in focus, without glare", "图片中未找到二维码；请靠近、对焦、避免反光后重拍"),
    m(S, "no_qr_code_in_time", "no QR code found within {seconds} s; retake it closer, in focus, without glare", "{seconds} 秒内未找到二维码；请靠近、对焦、避免反光后重拍"),
    m(S, "decoder_faults", "{count} QR decoder pass(es) failed internally and were skipped", "{count} 次二维码解码失败（内部错误），已跳过"),
    m(S, "frames_too_many_pixels", "frames are {width}×{height} pixels, more than the {max} allowed; refused before decoding", "帧为 {width}×{height} 像素，超过上限 {max}；未解码即拒绝"),
    m(S, "animation_undecodable", "animation cannot be decoded: {detail}", "动画无法解码：{detail}"),
    m(S, "y4m_bad_header", "not a valid Y4M video header: {detail}", "Y4M 视频文件头无效：{detail}"),
    m(S, "y4m_unsupported_colour_space", "Y4M colour space {space} is not supported (use C420jpeg, C420paldv, C420mpeg2, C420 or Cmono)", "不支持 Y4M 色彩空间 {space}（请使用 C420jpeg、C420paldv、C420mpeg2、C420 或 Cmono）"),
    m(S, "y4m_truncated_frame", "Y4M frame {frame} is truncated or malformed; the video stops there", "Y4M 第 {frame} 帧不完整或格式错误；视频至此为止"),
    m(S, "no_frames", "the file holds no frame", "文件中没有任何帧"),
    m(S, "too_many_frames", "more than {max} frames; stopped reading (raise --max-frames if the video is longer on purpose)", "超过 {max} 帧；已停止读取（如视频确实更长，请调大 --max-frames）"),
    m(S, "frames_too_many_bytes", "more than {max} bytes of frames; stopped reading", "帧数据超过 {max} 字节；已停止读取"),
    m(S, "frames_out_of_time", "frames took more than {seconds} s to read; stopped", "读取帧超过 {seconds} 秒；已停止"),
    m(S, "no_presentation", "no licence presentation code found in the frames; hold the phone steady in view for a moment longer", "各帧中未找到驾驶证出示码；请将手机在镜头前多停留片刻"),
    m(P, "matched", "Portrait: the holder's, matches the signed credential ({bytes} bytes)", "照片：持证人照片，与签名凭证一致（{bytes} 字节）"),
    m(P, "incomplete", "Portrait incomplete ({held} of {needed} frames); no image", "照片不完整（{held}/{needed} 帧）；不显示图像"),
    m(P, "mismatch", "Portrait does not match the credential: not shown", "照片与凭证不符：不予显示"),
    m(P, "missing", "No portrait in the code", "二维码中没有照片"),
    m(P, "not_in_profile", "This profile carries no portrait", "此出示范围不含照片"),
    m(P, "awaiting_presentation", "Portrait not checked: no authentic presentation read", "照片未核对：未读到可信的出示码"),
    m(P, "failed", "Portrait not collected ({reason}): not shown", "照片未能收集（{reason}）：不予显示"),
    m(P, "written", "portrait written to {path}", "照片已写入 {path}"),
    m(P, "frames", "frames: {read} read, verdict at frame {verdict}, portrait at frame {portrait}, {rejected} refused", "帧：已读 {read}，第 {verdict} 帧得出结论，第 {portrait} 帧得到照片，拒绝 {rejected} 帧"),
    m(P, "not_a_portrait_frame", "not a portrait frame", "不是照片帧"),
    m(P, "portrait_frame_malformed", "malformed portrait frame", "照片帧格式错误"),
    m(P, "portrait_frame_other_loop", "portrait frame of another holder's code; ignored", "照片帧不属于本证件；已忽略"),
    m(P, "portrait_frame_inconsistent", "portrait frame disagrees with the earlier frames of its loop", "照片帧与前面的帧不一致"),
    m(P, "portrait_too_many_frames", "too many portrait frames without a complete portrait", "照片帧过多，仍未得到完整照片"),
    m(P, "portrait_too_many_bytes", "portrait frames need too many bytes", "照片数据过大"),
    m(P, "portrait_mismatch", "the portrait from the frames does not match the signed portrait digest", "照片与签名摘要不符"),
    m(P, "portrait_decoder_fault", "the portrait decoder failed on these frames", "照片解码失败"),
    m(P, "other_presentation", "code of another credential in view; ignored", "画面中另一证件的码；已忽略"),
    m(U, "bad_time", "--at {text}: expected Unix seconds or 2026-06-01T10:00:00+08:00", "--at {text}：应为 Unix 秒数或 2026-06-01T10:00:00+08:00"),
    m(U, "input_error", "{source}: {detail}", "{source}：{detail}"),
    m(U, "bad_lang", "--lang {text}: expected zh or en", "--lang {text}：应为 zh 或 en"),
    m(L, "valid", "✔ VALID", "✔ 有效 VALID"),
    m(L, "rejected", "✘ REJECTED", "✘ 无效 REJECTED"),
    m(L, "no_verdict", "✘ NO VERDICT", "✘ 无法核验 NO VERDICT"),
    m(L, "rejected_credential", "Rejected credential (issuer-signed data, NOT valid):", "被拒绝的凭证（发证机关签名的数据，无效）："),
    m(L, "profile", "profile", "出示范围"),
    m(L, "profile.full", "full", "完整"),
    m(L, "profile.rental", "rental", "租车"),
    m(L, "profile.insurance", "insurance", "保险"),
    m(L, "profile.employment", "employment", "雇佣"),
    m(L, "issuing_authority", "Issuing authority", "发证机关"),
    m(L, "serial", "serial", "序号"),
    m(L, "shown_at", "Shown at", "生成时间"),
    m(L, "checked_at", "Checked at", "核验时间"),
    m(L, "reason", "reason", "原因"),
    m(L, "checks", "checks", "检查项"),
    m(L, "long_term", "long-term", "长期"),
    m(L, "code_of", "code {index} of {count}", "第 {index} 个码，共 {count} 个"),
    m(L, "desk_ready", "desk mode: scan a licence code (Ctrl-D to end)", "柜台模式：请扫描驾驶证二维码（Ctrl-D 结束）"),
    m(L, "desk_blank", "(empty line: scan a licence code, or Ctrl-D to end)", "（空行：请扫描驾驶证二维码，或按 Ctrl-D 结束）"),
    m(L, "desk_next", "next customer: scan a licence code", "下一位：请扫描驾驶证二维码"),
    m(L, "store_error", "the verifier's store is damaged", "核验程序的存储已损坏"),
    m(L, "root_configured", "root key {kid} configured in {path}", "根公钥 {kid} 已配置于 {path}"),
    m(L, "trust_installed", "trust bundle version {version} installed ({keys} authority keys)", "信任包版本 {version} 已安装（{keys} 个发证机关密钥）"),
    m(L, "status_installed", "status list of {authority} installed: {size} serials, signed {signed}", "{authority} 的状态列表已安装：{size} 个序号，签发于 {signed}"),
];

/// The row of `(kind, code)`.
pub fn lookup(kind: Kind, code: &str) -> Option<&'static Message> {
    MESSAGES.iter().find(|m| m.kind == kind && m.code == code)
}

/// The template of `(kind, code)` in `lang` with `{name}` placeholders filled from
/// `args`. An unknown code (a variant added upstream and not yet translated) falls
/// back to the code itself, which the table test prevents from shipping.
pub fn text(kind: Kind, code: &str, lang: Lang, args: &[(&str, String)]) -> String {
    let Some(row) = lookup(kind, code) else {
        return code.to_owned();
    };
    let mut out = String::from(match lang {
        Lang::Zh => row.zh,
        Lang::En => row.en,
    });
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// A label of the human output.
pub fn label(code: &str, lang: Lang) -> String {
    text(Kind::Label, code, lang, &[])
}

fn duration(seconds: u64, lang: Lang) -> String {
    let (d, h, min, s) = match lang {
        Lang::En => ("d", "h", "min", "s"),
        Lang::Zh => ("天", "小时", "分钟", "秒"),
    };
    match seconds {
        t if t >= 86_400 => format!("{} {d} {} {h}", t / 86_400, t % 86_400 / 3600),
        t if t >= 3600 => format!("{} {h} {} {min}", t / 3600, t % 3600 / 60),
        t if t >= 60 => format!("{} {min}", t / 60),
        t => format!("{t} {s}"),
    }
}

fn malformed_detail(m: &Malformed) -> String {
    m.to_string()
}

/// The arguments of a signature made outside its key's validity (a credential or a list).
fn outside_key_validity(issued_at: u64, from: u64, to: u64) -> Vec<(&'static str, String)> {
    vec![
        ("issued_at", format_instant(issued_at)),
        ("valid_from", format_instant(from)),
        ("valid_to", format_instant(to)),
    ]
}

/// A verdict's rejection sentence.
pub fn verify_error(error: &VerifyError, lang: Lang) -> String {
    let s = |v: &dyn ToString| v.to_string();
    let args: Vec<(&str, String)> = match error {
        VerifyError::Malformed(m) => vec![("detail", malformed_detail(m))],
        VerifyError::UnsupportedVersion(prefix) => vec![("prefix", prefix.clone())],
        VerifyError::UnsupportedAlgorithm(alg) => vec![("alg", s(alg))],
        VerifyError::UnknownIssuer { kid } => vec![("kid", kid.clone())],
        VerifyError::IssuerKeyRetired { authority } => vec![("authority", authority.clone())],
        VerifyError::IssuerKeyNotValidAtTime {
            issued_at,
            valid_from,
            valid_to,
        } => outside_key_validity(*issued_at, *valid_from, *valid_to),
        VerifyError::CredentialNotYetValid { issued_at } => {
            vec![("issued_at", format_instant(*issued_at))]
        }
        VerifyError::CredentialExpired { expired_at } => {
            vec![("expired_at", format_instant(*expired_at))]
        }
        VerifyError::CredentialLifetimeTooLong { lifetime_s, max_s } => {
            vec![("lifetime_s", s(lifetime_s)), ("max_s", s(max_s))]
        }
        VerifyError::ProfileMismatch { fields } => vec![("fields", fields.clone())],
        VerifyError::StalePresentation { age_s, window_s } => {
            vec![("age_s", s(age_s)), ("window_s", s(window_s))]
        }
        VerifyError::PresentationFromFuture { ahead_s, skew_s } => {
            vec![("ahead_s", s(ahead_s)), ("skew_s", s(skew_s))]
        }
        VerifyError::LicenceNotYetValid { valid_from } => vec![("valid_from", valid_from.clone())],
        VerifyError::LicenceExpired { valid_to } => vec![("valid_to", valid_to.clone())],
        VerifyError::LicenceStatus(set) => vec![("status", status_letters(*set, lang))],
        _ => Vec::new(),
    };
    text(Kind::Verdict, error.reason_code(), lang, &args)
}

fn status_letters(set: credential::StatusSet, lang: Lang) -> String {
    set.letters()
        .map(|l| match lang {
            Lang::Zh => format!("{} {}", l.letter, l.chinese),
            Lang::En => format!("{} {} ({})", l.letter, l.chinese, l.english),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A warning's sentence.
pub fn warning(warning: &Warning, lang: Lang) -> String {
    let args: Vec<(&str, String)> = match warning {
        Warning::TrustBundleStale { overdue_s } => vec![("overdue", duration(*overdue_s, lang))],
        Warning::StatusListStale { age_s } | Warning::SuspendedOnStaleList { age_s } => {
            vec![("age", duration(*age_s, lang))]
        }
        Warning::StatusNotCovered { serial, size } => {
            vec![("serial", serial.to_string()), ("size", size.to_string())]
        }
        Warning::LicenceStatusNotice(set) => vec![("status", status_letters(*set, lang))],
        Warning::StatusUnknown => Vec::new(),
    };
    text(Kind::Warning, warning.code(), lang, &args)
}

/// A trust file refusal's sentence.
pub fn document_error(error: &DocumentError, lang: Lang) -> String {
    let args: Vec<(&str, String)> = match error {
        DocumentError::Malformed(m) => vec![("detail", malformed_detail(m))],
        DocumentError::UnsupportedAlgorithm(alg) => vec![("alg", alg.to_string())],
        DocumentError::UnknownSigner { kid } => vec![("kid", kid.clone())],
        DocumentError::IssuerMismatch { claimed, actual } => {
            vec![("claimed", claimed.clone()), ("actual", actual.clone())]
        }
        DocumentError::SignerNotValidAtTime {
            issued_at,
            valid_from,
            valid_to,
        } => outside_key_validity(*issued_at, *valid_from, *valid_to),
        DocumentError::SignerRetired(authority) => vec![("authority", authority.clone())],
        _ => Vec::new(),
    };
    text(Kind::Document, error.reason_code(), lang, &args)
}

fn role(file: &StoreFile, lang: Lang) -> String {
    match (file, lang) {
        (StoreFile::Manifest, Lang::En) => "store manifest".into(),
        (StoreFile::Manifest, Lang::Zh) => "存储清单".into(),
        (StoreFile::Root, Lang::En) => "root key".into(),
        (StoreFile::Root, Lang::Zh) => "根公钥".into(),
        (StoreFile::TrustBundle, Lang::En) => "trust bundle".into(),
        (StoreFile::TrustBundle, Lang::Zh) => "信任包".into(),
        (StoreFile::StatusList(a), Lang::En) => format!("status list of {a}"),
        (StoreFile::StatusList(a), Lang::Zh) => format!("{a} 的状态列表"),
    }
}

fn repair(file: &StoreFile, lang: Lang) -> String {
    match lang {
        Lang::En => file.repair().to_owned(),
        Lang::Zh => match file {
            StoreFile::Manifest => {
                "运行 verifier init --root KEY --force，然后重新导入信任包和状态列表".into()
            }
            StoreFile::Root => "运行 verifier init --root KEY（同一国家根公钥）".into(),
            StoreFile::TrustBundle => "运行 verifier trust import FILE（当前信任包）".into(),
            StoreFile::StatusList(_) => {
                "运行 verifier status import FILE（该发证机关当前的状态列表）".into()
            }
        },
    }
}

/// A store error's sentence.
pub fn store_error(error: &StoreError, lang: Lang) -> String {
    let path = |p: &std::path::Path| p.display().to_string();
    let args: Vec<(&str, String)> = match error {
        StoreError::Document(e) => return document_error(e, lang),
        StoreError::Io { path: p, source } => {
            vec![("path", path(p)), ("detail", source.to_string())]
        }
        StoreError::Damaged {
            file,
            path: p,
            damage,
        } => {
            let detail = match damage {
                Damage::Unreadable(d) | Damage::Invalid(d) => d.clone(),
                Damage::Missing | Damage::Altered => String::new(),
            };
            vec![
                ("path", path(p)),
                ("role", role(file, lang)),
                ("detail", detail),
                ("repair", repair(file, lang)),
            ]
        }
        StoreError::NotInitialised(p) | StoreError::RootAlreadySet(p) => vec![("path", path(p))],
        StoreError::Rollback { offered, installed } => vec![
            ("offered", offered.to_string()),
            ("installed", installed.to_string()),
        ],
        StoreError::VersionConflict(v) => vec![("version", v.to_string())],
        StoreError::StatusConflict(a) => vec![("authority", a.clone())],
        StoreError::StatusRollback {
            authority,
            offered,
            installed,
        } => vec![
            ("authority", authority.clone()),
            ("offered", format_instant(*offered)),
            ("installed", format_instant(*installed)),
        ],
        _ => Vec::new(),
    };
    text(Kind::Store, error.code(), lang, &args)
}

/// A frame source error's sentence.
pub fn frame_error(error: &crate::frames::FrameError, lang: Lang) -> String {
    use crate::frames::FrameError as F;
    let args: Vec<(&str, String)> = match error {
        F::Image(e) => return scan_error(e, lang),
        F::TooManyPixels { width, height, max } => vec![
            ("width", width.to_string()),
            ("height", height.to_string()),
            ("max", max.to_string()),
        ],
        F::Undecodable(detail) => vec![("detail", detail.clone())],
        F::Y4mHeader(detail) => vec![("detail", (*detail).to_owned())],
        F::Y4mColourSpace(space) => vec![("space", space.clone())],
        F::Y4mTruncated { frame } => vec![("frame", frame.to_string())],
        F::TooManyFrames { max } => vec![("max", max.to_string())],
        F::TooManyBytes { max } => vec![("max", max.to_string())],
        F::OutOfTime { seconds } => vec![("seconds", seconds.to_string())],
        _ => Vec::new(),
    };
    text(Kind::Scan, error.code(), lang, &args)
}

/// The line saying where the portrait stands (spec §17.5's table).
pub fn portrait_state(state: crate::collect::PortraitState, lang: Lang) -> String {
    use crate::collect::PortraitState as S;
    let args = match state {
        S::Matched { bytes } => vec![("bytes", bytes.to_string())],
        S::Incomplete { held, needed } => {
            vec![("held", held.to_string()), ("needed", needed.to_string())]
        }
        S::Failed { code } => vec![("reason", text(Kind::Portrait, code, lang, &[]))],
        _ => Vec::new(),
    };
    text(Kind::Portrait, state.name(), lang, &args)
}

/// A scan error's sentence.
pub fn scan_error(error: &ScanError, lang: Lang) -> String {
    let args: Vec<(&str, String)> = match error {
        ScanError::Io { source, .. } => vec![("detail", source.to_string())],
        ScanError::FileTooLarge { size, max } => {
            vec![("size", size.to_string()), ("max", max.to_string())]
        }
        ScanError::TooManyPixels { width, height, max } => vec![
            ("width", width.to_string()),
            ("height", height.to_string()),
            ("max", max.to_string()),
        ],
        ScanError::Undecodable(detail) => vec![("detail", detail.clone())],
        _ => Vec::new(),
    };
    text(Kind::Scan, error.code(), lang, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code each type can produce, by kind.
    fn every_code() -> Vec<(Kind, &'static str)> {
        let mut codes = Vec::new();
        codes.extend(
            VerifyError::REASON_CODES
                .iter()
                .map(|c| (Kind::Verdict, *c)),
        );
        codes.extend(Warning::CODES.iter().map(|c| (Kind::Warning, *c)));
        codes.extend(
            DocumentError::REASON_CODES
                .iter()
                .map(|c| (Kind::Document, *c)),
        );
        codes.extend(StoreError::CODES.iter().map(|c| (Kind::Store, *c)));
        codes.extend(ScanError::CODES.iter().map(|c| (Kind::Scan, *c)));
        codes.extend(
            crate::frames::FrameError::CODES
                .iter()
                .chain([&crate::frames::FrameError::OUT_OF_TIME, &"no_presentation"])
                .map(|c| (Kind::Scan, *c)),
        );
        codes.extend(
            crate::collect::PORTRAIT_STATES
                .iter()
                .chain(crate::collect::FRAME_CODES.iter())
                .chain(
                    [
                        "portrait_mismatch",
                        "portrait_decoder_fault",
                        "not_a_portrait_frame",
                    ]
                    .iter(),
                )
                .map(|c| (Kind::Portrait, *c)),
        );
        codes.extend(
            crate::commands::USAGE_CODES
                .iter()
                .map(|c| (Kind::Usage, *c)),
        );
        codes
    }

    fn placeholders(template: &str) -> Vec<&str> {
        let mut names: Vec<&str> = template
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn every_code_has_both_languages_with_the_same_placeholders() {
        let mut failures = Vec::new();
        for (kind, code) in every_code() {
            match lookup(kind, code) {
                None => failures.push(format!("{kind:?} {code}: no row")),
                Some(row) => {
                    if row.en.trim().is_empty() {
                        failures.push(format!("{kind:?} {code}: no English"));
                    }
                    if row.zh.trim().is_empty() || row.zh == row.en {
                        failures.push(format!("{kind:?} {code}: no Chinese"));
                    }
                    if placeholders(row.en) != placeholders(row.zh) {
                        failures.push(format!("{kind:?} {code}: placeholders differ"));
                    }
                }
            }
        }
        for row in MESSAGES.iter().filter(|r| r.kind == Kind::Label) {
            if row.en.trim().is_empty() || row.zh.trim().is_empty() || row.zh == row.en {
                failures.push(format!("label {}: a language is missing", row.code));
            }
            if placeholders(row.en) != placeholders(row.zh) {
                failures.push(format!("label {}: placeholders differ", row.code));
            }
        }
        for (i, row) in MESSAGES.iter().enumerate() {
            if MESSAGES[..i]
                .iter()
                .any(|r| r.kind == row.kind && r.code == row.code)
            {
                failures.push(format!("{:?} {}: two rows", row.kind, row.code));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn chinese_sentences_carry_the_values() {
        let stale = VerifyError::StalePresentation {
            age_s: 4000,
            window_s: 180,
        };
        let zh = verify_error(&stale, Lang::Zh);
        assert_eq!(
            zh,
            "此码生成于 4000 秒前（上限 180 秒）：请持证人出示实时二维码"
        );
        assert_eq!(
            verify_error(&stale, Lang::En),
            "the code was generated 4000 s ago (limit 180 s): ask the holder to show the live code"
        );
        assert_eq!(
            warning(
                &Warning::StatusListStale {
                    age_s: 2 * 86_400 + 3600
                },
                Lang::Zh
            ),
            "状态列表已有 2 天 1 小时，超过更新时间：可能缺少最近的撤销"
        );
    }
}
