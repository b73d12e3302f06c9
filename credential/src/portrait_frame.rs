//! Portrait frames: the holder's portrait carried through the animated QR code
//! itself, split with a fountain code (spec §17).
//!
//! The wallet shows a loop of QR frames: its normal presentation (`DL1:`,
//! readable alone by any verifier) and portrait frames (`DL1P:` + base45 of a
//! [`PortraitFrame`]). Each portrait frame carries one RaptorQ encoding symbol
//! (RFC 6330) of the portrait file, so that **any** K or slightly more distinct
//! frames, in any order, rebuild it: a verifier that misses a frame waits for the
//! next one instead of a whole loop. Each frame also carries the first 8 bytes of
//! the `portrait_digest` the credential signs (§5.1), so frames of another
//! holder's loop are refused one by one, and the rebuilt bytes are shown only if
//! their truncated SHA-256 equals the signed digest.
//!
//! [`PortraitCollector`] is pure (no clock, no I/O): frames in, portrait out, with
//! bounds on frames and bytes ([`CollectorLimits`]) and a typed reason for every
//! refusal ([`PortraitFrameError::code`]).

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ciborium::value::Value;
use raptorq::{EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockEncoder};

use crate::cbor;
use crate::licence::{portrait_digest, PORTRAIT_DIGEST_LEN};
use crate::limits::CborLimits;

/// The text prefix of a portrait frame (spec §17.1).
pub const FRAME_PREFIX: &str = "DL1P:";
/// Bytes of the portrait digest each frame carries to name its loop.
pub const LOOP_TAG_LEN: usize = 8;
/// Largest portrait a loop may carry (spec §17.2; the issuer's are ≤ 2,000 bytes).
pub const MAX_PORTRAIT_BYTES: usize = 16 * 1024;
/// Smallest and largest RaptorQ symbol a frame may carry.
pub const MIN_SYMBOL_BYTES: usize = 16;
/// See [`MIN_SYMBOL_BYTES`]: a version-40 QR code holds under 2,000 bytes of base45.
pub const MAX_SYMBOL_BYTES: usize = 1024;
/// Largest encoding symbol id accepted: far more repair symbols than any loop shows.
pub const MAX_SYMBOL_ID: u32 = 1 << 16;
/// Largest frame, in bytes (a frame of [`MAX_SYMBOL_BYTES`] plus its fields).
pub const MAX_FRAME_BYTES: usize = MAX_SYMBOL_BYTES + 32;

/// One portrait frame (spec §17.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortraitFrame {
    /// `portrait_digest[0..8]` of the credential the loop presents.
    pub loop_tag: [u8; LOOP_TAG_LEN],
    /// Length of the portrait file in bytes.
    pub portrait_len: usize,
    /// RaptorQ symbol size `T` in bytes.
    pub symbol_size: usize,
    /// RaptorQ encoding symbol id (source block 0): `< K` source, `≥ K` repair.
    pub symbol_id: u32,
    /// The encoding symbol, exactly `symbol_size` bytes.
    pub symbol: Vec<u8>,
}

/// Why a portrait frame or a portrait was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortraitFrameError {
    /// The text does not start with `DL1P:`.
    #[error("not a portrait frame (no DL1P: prefix) / 不是照片帧")]
    NotAPortraitFrame,
    /// The frame does not follow spec §17.2.
    #[error("malformed portrait frame: {0} / 照片帧格式错误")]
    Malformed(&'static str),
    /// The frame belongs to another holder's loop (its tag is not this credential's digest).
    #[error(
        "portrait frame of another loop (another holder's code?); ignored / 照片帧不属于本证件"
    )]
    OtherLoop,
    /// The frame's portrait length or symbol size differs from the loop's first frame.
    #[error("portrait frame disagrees with the earlier frames of its loop (length or symbol size) / 照片帧与前面的帧不一致")]
    Inconsistent,
    /// More frames than [`CollectorLimits::max_frames`] were offered.
    #[error("more than {max} portrait frames without a complete portrait; giving up / 照片帧过多")]
    TooManyFrames {
        /// The limit.
        max: usize,
    },
    /// The frames would need more bytes than [`CollectorLimits::max_bytes`].
    #[error("portrait frames would need more than {max} bytes; giving up / 照片数据过大")]
    TooManyBytes {
        /// The limit.
        max: usize,
    },
    /// The rebuilt portrait's digest is not the one the credential signs: never shown.
    #[error("the portrait from the frames does not match the signed portrait digest; it is not shown / 照片与签名摘要不符，不予显示")]
    PortraitMismatch,
    /// The fountain decoder failed on frames that passed every check (contained).
    #[error("the portrait decoder failed on these frames / 照片解码失败")]
    DecoderFault,
    /// The portrait cannot be split as asked (wallet side).
    #[error("cannot make portrait frames: {0} / 无法生成照片帧")]
    CannotSplit(&'static str),
}

impl PortraitFrameError {
    /// Stable reason code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            PortraitFrameError::NotAPortraitFrame => "not_a_portrait_frame",
            PortraitFrameError::Malformed(_) => "portrait_frame_malformed",
            PortraitFrameError::OtherLoop => "portrait_frame_other_loop",
            PortraitFrameError::Inconsistent => "portrait_frame_inconsistent",
            PortraitFrameError::TooManyFrames { .. } => "portrait_too_many_frames",
            PortraitFrameError::TooManyBytes { .. } => "portrait_too_many_bytes",
            PortraitFrameError::PortraitMismatch => "portrait_mismatch",
            PortraitFrameError::DecoderFault => "portrait_decoder_fault",
            PortraitFrameError::CannotSplit(_) => "portrait_cannot_split",
        }
    }
}

/// The loop tag of a credential: the first 8 bytes of its `portrait_digest`.
pub fn loop_tag(digest: &[u8; PORTRAIT_DIGEST_LEN]) -> [u8; LOOP_TAG_LEN] {
    let mut tag = [0u8; LOOP_TAG_LEN];
    tag.copy_from_slice(&digest[..LOOP_TAG_LEN]);
    tag
}

/// Source symbols `K` of a portrait of `len` bytes in symbols of `symbol_size`.
pub fn source_symbols(len: usize, symbol_size: usize) -> usize {
    len.div_ceil(symbol_size.max(1))
}

fn transmission(
    len: usize,
    symbol_size: usize,
) -> Result<ObjectTransmissionInformation, PortraitFrameError> {
    if len == 0 || len > MAX_PORTRAIT_BYTES {
        return Err(PortraitFrameError::Malformed(
            "portrait length out of range",
        ));
    }
    if !(MIN_SYMBOL_BYTES..=MAX_SYMBOL_BYTES).contains(&symbol_size) {
        return Err(PortraitFrameError::Malformed("symbol size out of range"));
    }
    // One source block, one sub-block, byte alignment: the only parameters a frame
    // does not carry, fixed by the spec so that a frame is self-describing.
    Ok(ObjectTransmissionInformation::new(
        len as u64,
        symbol_size as u16,
        1,
        1,
        1,
    ))
}

impl PortraitFrame {
    /// The deterministic CBOR array of spec §17.2.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&Value::Array(vec![
            Value::Bytes(self.loop_tag.to_vec()),
            cbor::int(self.portrait_len as u64),
            cbor::int(self.symbol_size as u64),
            cbor::int(u64::from(self.symbol_id)),
            Value::Bytes(self.symbol.clone()),
        ]))
    }

    /// The frame's QR text: `DL1P:` + base45.
    pub fn to_text(&self) -> String {
        format!("{FRAME_PREFIX}{}", crate::base45::encode(&self.encode()))
    }

    /// Decodes frame bytes, checking every rule of spec §17.2.
    pub fn decode(bytes: &[u8]) -> Result<PortraitFrame, PortraitFrameError> {
        let malformed = PortraitFrameError::Malformed;
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(malformed("frame too long"));
        }
        let limits = CborLimits {
            max_bytes: MAX_FRAME_BYTES,
            max_depth: 1,
            max_items: 6,
        };
        let value =
            cbor::decode(bytes, &limits).map_err(|_| malformed("not deterministic CBOR"))?;
        let Value::Array(items) = value else {
            return Err(malformed("not an array"));
        };
        let [tag, len, size, id, symbol] =
            <[Value; 5]>::try_from(items).map_err(|_| malformed("not 5 elements"))?;
        let uint = |v: &Value| v.as_integer().and_then(|i| u64::try_from(i).ok());
        let (Value::Bytes(tag), Value::Bytes(symbol)) = (tag, symbol) else {
            return Err(malformed("tag and symbol must be byte strings"));
        };
        let loop_tag = <[u8; LOOP_TAG_LEN]>::try_from(tag.as_slice())
            .map_err(|_| malformed("tag is not 8 bytes"))?;
        let portrait_len = uint(&len)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(malformed("length is not an unsigned integer"))?;
        let symbol_size = uint(&size)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(malformed("symbol size is not an unsigned integer"))?;
        let symbol_id = uint(&id)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n <= MAX_SYMBOL_ID)
            .ok_or(malformed("symbol id out of range"))?;
        transmission(portrait_len, symbol_size)?;
        if symbol.len() != symbol_size {
            return Err(malformed("symbol length differs from the symbol size"));
        }
        Ok(PortraitFrame {
            loop_tag,
            portrait_len,
            symbol_size,
            symbol_id,
            symbol,
        })
    }

    /// Decodes a frame's text (one trailing line terminator allowed, as in §8.1).
    pub fn from_text(text: &str) -> Result<PortraitFrame, PortraitFrameError> {
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .or_else(|| text.strip_suffix('\r'))
            .unwrap_or(text);
        let body = text
            .strip_prefix(FRAME_PREFIX)
            .ok_or(PortraitFrameError::NotAPortraitFrame)?;
        // Base45 spends 3 characters per 2 bytes: bound the text before decoding it.
        if body.len() > MAX_FRAME_BYTES * 3 / 2 + 2 {
            return Err(PortraitFrameError::Malformed("frame text too long"));
        }
        let bytes =
            crate::base45::decode(body).map_err(|_| PortraitFrameError::Malformed("not base45"))?;
        PortraitFrame::decode(&bytes)
    }
}

/// Splits `portrait` into `count` frames of `symbol_size`-byte symbols: the K
/// source symbols first (ids 0..K), then repair symbols (ids from K′, RFC 6330
/// §5.3.1, the padded block size). A loop of
/// `count ≥ K` frames lets a verifier that misses `count − K` of them still
/// rebuild the portrait (with high probability; each extra frame received makes
/// a failure about 100 times less likely, RFC 6330 §3).
pub fn split(
    portrait: &[u8],
    symbol_size: usize,
    count: usize,
) -> Result<Vec<PortraitFrame>, PortraitFrameError> {
    let config = transmission(portrait.len(), symbol_size)
        .map_err(|_| PortraitFrameError::CannotSplit("portrait or symbol size out of range"))?;
    let k = source_symbols(portrait.len(), symbol_size);
    if count < k || count > MAX_SYMBOL_ID as usize {
        return Err(PortraitFrameError::CannotSplit(
            "fewer frames than source symbols",
        ));
    }
    let tag = loop_tag(&portrait_digest(portrait));
    let mut padded = portrait.to_vec();
    padded.resize(k * symbol_size, 0);
    let block = SourceBlockEncoder::new(0, &config, &padded);
    let repair =
        u32::try_from(count - k).map_err(|_| PortraitFrameError::CannotSplit("too many frames"))?;
    let packets = block
        .source_packets()
        .into_iter()
        .chain(block.repair_packets(0, repair));
    Ok(packets
        .map(|packet| {
            let (id, symbol) = packet.split();
            PortraitFrame {
                loop_tag: tag,
                portrait_len: portrait.len(),
                symbol_size,
                symbol_id: id.encoding_symbol_id(),
                symbol,
            }
        })
        .collect())
}

/// Bounds on what one portrait may cost a verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectorLimits {
    /// Frames accepted (of this loop) before giving up.
    pub max_frames: usize,
    /// Symbol bytes held before giving up.
    pub max_bytes: usize,
}

impl Default for CollectorLimits {
    /// 256 frames (32 s of video at 8 fps) and 64 KiB: a 2,000-byte portrait in
    /// 250-byte symbols needs 8 or 9 frames.
    fn default() -> CollectorLimits {
        CollectorLimits {
            max_frames: 256,
            max_bytes: 64 * 1024,
        }
    }
}

/// How far a collector has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More frames are needed: `symbols` distinct ones held, at least `needed` in all.
    Collecting {
        /// Distinct symbols held.
        symbols: usize,
        /// Source symbols K (the minimum; one or two more may be needed).
        needed: usize,
    },
    /// A frame already held (a loop repeats); nothing changed.
    Duplicate,
    /// The portrait is rebuilt and matches the signed digest.
    Complete,
}

/// Collects the portrait frames of one credential's loop, in any order.
pub struct PortraitCollector {
    digest: [u8; PORTRAIT_DIGEST_LEN],
    limits: CollectorLimits,
    shape: Option<(usize, usize)>,
    decoder: Option<raptorq::SourceBlockDecoder>,
    seen: HashSet<u32>,
    frames: usize,
    bytes: usize,
    portrait: Option<Vec<u8>>,
    failed: Option<PortraitFrameError>,
}

impl PortraitCollector {
    /// A collector for the portrait whose signed digest is `digest` (from the
    /// verified presentation's credential).
    pub fn new(digest: [u8; PORTRAIT_DIGEST_LEN], limits: CollectorLimits) -> PortraitCollector {
        PortraitCollector {
            digest,
            limits,
            shape: None,
            decoder: None,
            seen: HashSet::new(),
            frames: 0,
            bytes: 0,
            portrait: None,
            failed: None,
        }
    }

    /// The portrait, once complete and matching.
    pub fn portrait(&self) -> Option<&[u8]> {
        self.portrait.as_deref()
    }

    /// Distinct frames of this loop held.
    pub fn symbols(&self) -> usize {
        self.seen.len()
    }

    /// Offers a frame's QR text.
    pub fn push_text(&mut self, text: &str) -> Result<Progress, PortraitFrameError> {
        let frame = PortraitFrame::from_text(text)?;
        self.push(&frame)
    }

    /// Offers a decoded frame. Frames of another loop are refused without
    /// touching the state; after a mismatch or a bound every call fails the same way.
    pub fn push(&mut self, frame: &PortraitFrame) -> Result<Progress, PortraitFrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.portrait.is_some() {
            return Ok(Progress::Complete);
        }
        if frame.loop_tag != loop_tag(&self.digest) {
            return Err(PortraitFrameError::OtherLoop);
        }
        let shape = (frame.portrait_len, frame.symbol_size);
        match self.shape {
            Some(known) if known != shape => return Err(PortraitFrameError::Inconsistent),
            _ => {}
        }
        if frame.symbol.len() != frame.symbol_size {
            return Err(PortraitFrameError::Malformed(
                "symbol length differs from the symbol size",
            ));
        }
        if self.seen.contains(&frame.symbol_id) {
            return Ok(Progress::Duplicate);
        }
        if self.frames >= self.limits.max_frames {
            return Err(self.fail(PortraitFrameError::TooManyFrames {
                max: self.limits.max_frames,
            }));
        }
        if self.bytes + frame.symbol.len() > self.limits.max_bytes {
            return Err(self.fail(PortraitFrameError::TooManyBytes {
                max: self.limits.max_bytes,
            }));
        }
        if self.decoder.is_none() {
            let config = transmission(frame.portrait_len, frame.symbol_size)?;
            let k = source_symbols(frame.portrait_len, frame.symbol_size);
            self.decoder = Some(raptorq::SourceBlockDecoder::new(
                0,
                &config,
                (k * frame.symbol_size) as u64,
            ));
            self.shape = Some(shape);
        }
        self.frames += 1;
        self.bytes += frame.symbol.len();
        self.seen.insert(frame.symbol_id);
        let packet = EncodingPacket::new(PayloadId::new(0, frame.symbol_id), frame.symbol.clone());
        let Some(decoder) = self.decoder.as_mut() else {
            return Err(PortraitFrameError::DecoderFault);
        };
        // Every input was checked above; the third-party decoder is still fenced
        // so that a bug in it costs this portrait, never the verifier.
        let decoded = catch_unwind(AssertUnwindSafe(|| decoder.decode(std::iter::once(packet))))
            .map_err(|_| PortraitFrameError::DecoderFault);
        match decoded {
            Err(error) => Err(self.fail(error)),
            Ok(None) => Ok(Progress::Collecting {
                symbols: self.seen.len(),
                needed: source_symbols(frame.portrait_len, frame.symbol_size),
            }),
            Ok(Some(mut bytes)) => {
                bytes.truncate(frame.portrait_len);
                if portrait_digest(&bytes) != self.digest {
                    return Err(self.fail(PortraitFrameError::PortraitMismatch));
                }
                self.portrait = Some(bytes);
                Ok(Progress::Complete)
            }
        }
    }

    fn fail(&mut self, error: PortraitFrameError) -> PortraitFrameError {
        self.failed = Some(error.clone());
        error
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn portrait(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i * 31 % 251) as u8 ^ (i >> 3) as u8)
            .collect()
    }

    fn collector_for(bytes: &[u8]) -> PortraitCollector {
        PortraitCollector::new(portrait_digest(bytes), CollectorLimits::default())
    }

    #[test]
    fn any_k_plus_two_frames_in_any_order_rebuild_the_portrait() {
        let bytes = portrait(1_900);
        let frames = split(&bytes, 240, 16).unwrap();
        assert_eq!(source_symbols(1_900, 240), 8);
        assert_eq!(frames.len(), 16);
        // Drop every source symbol but two and feed the rest backwards.
        let chosen: Vec<&PortraitFrame> =
            frames.iter().rev().filter(|f| f.symbol_id >= 6).collect();
        let mut collector = collector_for(&bytes);
        let mut done = false;
        for frame in chosen {
            let text = frame.to_text();
            assert!(text.starts_with(FRAME_PREFIX));
            if collector.push_text(&text).unwrap() == Progress::Complete {
                done = true;
                break;
            }
        }
        assert!(done);
        assert_eq!(collector.portrait().unwrap(), bytes.as_slice());
        assert!(collector.symbols() <= 10);
    }

    #[test]
    fn repeated_frames_are_duplicates_and_too_few_frames_do_not_complete() {
        let bytes = portrait(1_000);
        let frames = split(&bytes, 200, 5).unwrap();
        let mut collector = collector_for(&bytes);
        assert_eq!(
            collector.push(&frames[0]).unwrap(),
            Progress::Collecting {
                symbols: 1,
                needed: 5
            }
        );
        assert_eq!(collector.push(&frames[0]).unwrap(), Progress::Duplicate);
        for frame in &frames[1..4] {
            assert!(matches!(
                collector.push(frame).unwrap(),
                Progress::Collecting { .. }
            ));
        }
        assert!(collector.portrait().is_none());
        assert_eq!(collector.push(&frames[4]).unwrap(), Progress::Complete);
    }

    #[test]
    fn frames_of_another_loop_are_refused_and_change_nothing() {
        let mine = portrait(800);
        let theirs = portrait(801);
        let mut collector = collector_for(&mine);
        for frame in split(&theirs, 100, 9).unwrap() {
            assert_eq!(collector.push(&frame), Err(PortraitFrameError::OtherLoop));
        }
        assert_eq!(collector.symbols(), 0);
        for frame in split(&mine, 100, 8).unwrap() {
            collector.push(&frame).unwrap();
        }
        assert_eq!(collector.portrait().unwrap(), mine.as_slice());
    }

    #[test]
    fn forged_symbols_with_the_right_tag_never_yield_a_portrait() {
        // Someone who copies the tag from a presentation but sends other bytes
        // gets a mismatch, never a portrait shown.
        let bytes = portrait(600);
        let mut frames = split(&bytes, 100, 6).unwrap();
        frames[2].symbol[0] ^= 1;
        let mut collector = collector_for(&bytes);
        let results: Vec<_> = frames.iter().map(|f| collector.push(f)).collect();
        assert_eq!(
            results.last().unwrap(),
            &Err(PortraitFrameError::PortraitMismatch)
        );
        assert!(collector.portrait().is_none());
        // And the collector stays failed.
        assert_eq!(
            collector.push(&frames[0]),
            Err(PortraitFrameError::PortraitMismatch)
        );
    }

    #[test]
    fn a_frame_disagreeing_with_its_loop_is_inconsistent() {
        let bytes = portrait(600);
        let frames = split(&bytes, 100, 6).unwrap();
        let mut collector = collector_for(&bytes);
        collector.push(&frames[0]).unwrap();
        let mut other = frames[1].clone();
        other.portrait_len = 599;
        assert_eq!(
            collector.push(&other),
            Err(PortraitFrameError::Inconsistent)
        );
        let mut other = frames[1].clone();
        other.symbol_size = 120;
        other.symbol.resize(120, 0);
        assert_eq!(
            collector.push(&other),
            Err(PortraitFrameError::Inconsistent)
        );
    }

    #[test]
    fn bounds_on_frames_and_bytes_hold() {
        let bytes = portrait(4_000);
        let frames = split(&bytes, 100, 40).unwrap();
        let mut few = PortraitCollector::new(
            portrait_digest(&bytes),
            CollectorLimits {
                max_frames: 10,
                max_bytes: 1 << 20,
            },
        );
        for frame in &frames[..10] {
            few.push(frame).unwrap();
        }
        assert_eq!(
            few.push(&frames[10]),
            Err(PortraitFrameError::TooManyFrames { max: 10 })
        );
        let mut small = PortraitCollector::new(
            portrait_digest(&bytes),
            CollectorLimits {
                max_frames: 1000,
                max_bytes: 350,
            },
        );
        for frame in &frames[..3] {
            small.push(frame).unwrap();
        }
        assert_eq!(
            small.push(&frames[3]),
            Err(PortraitFrameError::TooManyBytes { max: 350 })
        );
    }

    #[test]
    fn frame_text_round_trips_and_hostile_frames_get_a_reason() {
        let bytes = portrait(300);
        let frame = split(&bytes, 64, 5).unwrap().remove(3);
        assert_eq!(PortraitFrame::from_text(&frame.to_text()).unwrap(), frame);
        assert_eq!(PortraitFrame::decode(&frame.encode()).unwrap(), frame);
        assert_eq!(
            PortraitFrame::from_text(&format!("{}\r\n", frame.to_text())).unwrap(),
            frame
        );
        let reject = |text: &str| PortraitFrame::from_text(text).unwrap_err().code();
        assert_eq!(reject("DL1:ABC"), "not_a_portrait_frame");
        assert_eq!(reject("DL1P:"), "portrait_frame_malformed");
        assert_eq!(reject("DL1P:abc"), "portrait_frame_malformed");
        assert_eq!(
            reject(&format!("DL1P:{}", "0".repeat(10_000))),
            "portrait_frame_malformed"
        );
        let with = |edit: &dyn Fn(&mut Vec<Value>)| {
            let mut items = vec![
                Value::Bytes(frame.loop_tag.to_vec()),
                cbor::int(300u64),
                cbor::int(64u64),
                cbor::int(3u64),
                Value::Bytes(frame.symbol.clone()),
            ];
            edit(&mut items);
            PortraitFrame::decode(&cbor::encode(&Value::Array(items)))
                .err()
                .map(|e| e.code())
        };
        assert_eq!(with(&|_| {}), None);
        for (what, edit) in [
            (
                "zero length",
                &(|i: &mut Vec<Value>| i[1] = cbor::int(0u64)) as &dyn Fn(&mut Vec<Value>),
            ),
            ("huge length", &|i| {
                i[1] = cbor::int(MAX_PORTRAIT_BYTES as u64 + 1)
            }),
            ("tiny symbols", &|i| i[2] = cbor::int(1u64)),
            ("huge symbols", &|i| i[2] = cbor::int(65_535u64)),
            ("huge id", &|i| {
                i[3] = cbor::int(u64::from(MAX_SYMBOL_ID) + 1)
            }),
            ("negative id", &|i| i[3] = cbor::int(-1i64)),
            ("short tag", &|i| i[0] = Value::Bytes(vec![0; 7])),
            ("short symbol", &|i| i[4] = Value::Bytes(vec![0; 63])),
            ("text symbol", &|i| i[4] = Value::Text("x".into())),
            ("extra item", &|i| i.push(cbor::int(0u64))),
            ("missing item", &|i| {
                i.pop();
            }),
        ] {
            assert_eq!(with(edit), Some("portrait_frame_malformed"), "{what}");
        }
        // Non-deterministic CBOR (a non-shortest integer) is malformed too.
        let mut bytes = frame.encode();
        bytes.insert(0, 0);
        assert_eq!(
            PortraitFrame::decode(&bytes).unwrap_err().code(),
            "portrait_frame_malformed"
        );
    }

    #[test]
    fn every_truncation_and_bit_flip_of_a_frame_is_refused_or_harmless() {
        // A flipped frame either fails to decode, or is a frame the collector
        // checks like any other: the portrait is never a wrong one.
        let bytes = portrait(500);
        let frames = split(&bytes, 100, 7).unwrap();
        let encoded = frames[1].encode();
        for cut in 0..encoded.len() {
            assert!(PortraitFrame::decode(&encoded[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..encoded.len() {
            for bit in 0..8 {
                let mut flipped = encoded.clone();
                flipped[i] ^= 1 << bit;
                let Ok(frame) = PortraitFrame::decode(&flipped) else {
                    continue;
                };
                let mut collector = collector_for(&bytes);
                let _ = collector.push(&frame);
                for other in &frames {
                    let _ = collector.push(other);
                }
                if let Some(result) = collector.portrait() {
                    assert_eq!(result, bytes.as_slice(), "byte {i} bit {bit}");
                }
            }
        }
    }

    #[test]
    fn split_refuses_what_it_cannot_do() {
        assert!(split(&[], 100, 1).is_err());
        assert!(
            split(&portrait(1000), 100, 9).is_err(),
            "fewer than K frames"
        );
        assert!(split(&portrait(MAX_PORTRAIT_BYTES + 1), 1000, 100).is_err());
        assert!(split(&portrait(100), 8, 20).is_err(), "symbol too small");
    }
}
