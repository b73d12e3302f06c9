//! Deterministic CBOR (RFC 8949 §4.2.1): a strict decoder and the encoding helpers (spec §2.1).
//!
//! Signatures are computed over bytes, so two encodings of one value would let an
//! attacker present bytes the issuer never produced. The decoder therefore accepts
//! exactly one encoding per value: shortest heads, definite lengths, map keys in
//! bytewise order without duplicates, valid UTF-8, no floats or `undefined`, nothing
//! after the top-level item. It is written by hand (ciborium's reader accepts all of
//! those) and produces `ciborium::Value`, which the encoder side shares.

use ciborium::value::{Integer, Value};

use crate::limits::CborLimits;

/// Why a byte string is not deterministic CBOR within our limits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// The input ends inside a data item.
    #[error("CBOR input ends in the middle of an item")]
    Truncated,
    /// Bytes follow the top-level item.
    #[error("{0} bytes follow the CBOR item")]
    TrailingBytes(usize),
    /// An integer, length or tag is not in its shortest form.
    #[error("CBOR head not in shortest form")]
    NotShortestForm,
    /// Indefinite-length strings, arrays or maps.
    #[error("indefinite-length CBOR item")]
    IndefiniteLength,
    /// Additional information 28..30.
    #[error("reserved CBOR additional information")]
    Reserved,
    /// Map keys not in bytewise order of their encodings.
    #[error("CBOR map keys not in canonical order")]
    UnsortedMapKeys,
    /// A map key appears twice.
    #[error("duplicate CBOR map key")]
    DuplicateMapKey,
    /// A text string is not UTF-8.
    #[error("CBOR text string is not UTF-8")]
    InvalidUtf8,
    /// Floats, `undefined` and unassigned simple values are not part of the format.
    #[error("unsupported CBOR simple value or float")]
    UnsupportedSimple,
    /// Nesting deeper than the limit.
    #[error("CBOR nesting deeper than {0}")]
    TooDeep(usize),
    /// More items than the limit.
    #[error("more than {0} CBOR items")]
    TooManyItems(usize),
    /// Input larger than the limit.
    #[error("CBOR input of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Input length.
        len: usize,
        /// Limit.
        max: usize,
    },
}

fn decode_with_spans(
    bytes: &[u8],
    limits: &CborLimits,
) -> Result<(Value, Vec<(usize, usize)>), CborError> {
    if bytes.len() > limits.max_bytes {
        return Err(CborError::TooLarge {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let mut decoder = Decoder {
        bytes,
        pos: 0,
        items: 0,
        limits,
        top_level_spans: Vec::new(),
    };
    let value = decoder.item(0)?;
    match bytes.len() - decoder.pos {
        0 => Ok((value, decoder.top_level_spans)),
        rest => Err(CborError::TrailingBytes(rest)),
    }
}

/// Decodes exactly one deterministic CBOR item filling all of `bytes`.
pub fn decode(bytes: &[u8], limits: &CborLimits) -> Result<Value, CborError> {
    decode_with_spans(bytes, limits).map(|(value, _)| value)
}

/// Decodes a top-level array and also returns the exact bytes of each element,
/// for signatures and digests computed over embedded items as received.
pub fn decode_array_items<'a>(
    bytes: &'a [u8],
    limits: &CborLimits,
) -> Result<(Vec<Value>, Vec<&'a [u8]>), CborError> {
    match decode_with_spans(bytes, limits)? {
        (Value::Array(items), spans) => Ok((
            items,
            spans
                .into_iter()
                .map(|(start, end)| &bytes[start..end])
                .collect(),
        )),
        (other, _) => Ok((vec![other], Vec::new())),
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    items: usize,
    limits: &'a CborLimits,
    /// Start and end of each element of a top-level array.
    top_level_spans: Vec<(usize, usize)>,
}

impl<'a> Decoder<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::Truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        Ok(self.take(1)?[0])
    }

    /// Reads the argument of a head; rejects non-shortest and indefinite forms.
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let (value, min) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (u64::from(self.byte()?), 24),
            25 => (u64::from(u16::from_be_bytes(self.array()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.array()?)), 0x1_0000),
            27 => (u64::from_be_bytes(self.array()?), 0x1_0000_0000),
            31 => return Err(CborError::IndefiniteLength),
            _ => return Err(CborError::Reserved),
        };
        if value < min {
            return Err(CborError::NotShortestForm);
        }
        Ok(value)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn length(&mut self, info: u8) -> Result<usize, CborError> {
        let len = self.argument(info)?;
        // Every element or byte needs at least one input byte, so a length beyond
        // what is left is a truncation, caught before any allocation.
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => Ok(len),
            _ => Err(CborError::Truncated),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(CborError::TooManyItems(self.limits.max_items));
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if major == 7 {
            return match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                _ => Err(CborError::UnsupportedSimple),
            };
        }
        if matches!(major, 4..=6) && depth >= self.limits.max_depth {
            return Err(CborError::TooDeep(self.limits.max_depth));
        }
        match major {
            0 => Ok(Value::Integer(Integer::from(self.argument(info)?))),
            1 => {
                let n = self.argument(info)?;
                let value = -1 - i128::from(n);
                Integer::try_from(value)
                    .map(Value::Integer)
                    .map_err(|_| CborError::Reserved)
            }
            2 => {
                let len = self.length(info)?;
                Ok(Value::Bytes(self.take(len)?.to_vec()))
            }
            3 => {
                let len = self.length(info)?;
                let raw = self.take(len)?;
                let text = std::str::from_utf8(raw).map_err(|_| CborError::InvalidUtf8)?;
                Ok(Value::Text(text.to_owned()))
            }
            4 => {
                let len = self.length(info)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    let start = self.pos;
                    items.push(self.item(depth + 1)?);
                    if depth == 0 {
                        self.top_level_spans.push((start, self.pos));
                    }
                }
                Ok(Value::Array(items))
            }
            5 => {
                let len = self.length(info)?;
                let mut entries = Vec::with_capacity(len);
                let mut previous_key: Option<&[u8]> = None;
                for _ in 0..len {
                    let start = self.pos;
                    let key = self.item(depth + 1)?;
                    let key_bytes = &self.bytes[start..self.pos];
                    if let Some(previous) = previous_key {
                        match previous.cmp(key_bytes) {
                            std::cmp::Ordering::Less => {}
                            std::cmp::Ordering::Equal => return Err(CborError::DuplicateMapKey),
                            std::cmp::Ordering::Greater => return Err(CborError::UnsortedMapKeys),
                        }
                    }
                    previous_key = Some(key_bytes);
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            _ => {
                let tag = self.argument(info)?;
                let inner = self.item(depth + 1)?;
                Ok(Value::Tag(tag, Box::new(inner)))
            }
        }
    }
}

/// Encodes a value. Maps must have been built with [`map`] so keys are in canonical order.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Invariant: ciborium only fails on writer errors, and writing to a Vec cannot fail.
    #[allow(clippy::expect_used)]
    ciborium::ser::into_writer(value, &mut out).expect("writing CBOR to a Vec cannot fail");
    out
}

/// Builds a map with its entries in canonical (bytewise encoded key) order.
pub fn map(mut entries: Vec<(Value, Value)>) -> Value {
    entries.sort_by_cached_key(|(key, _)| encode(key));
    Value::Map(entries)
}

/// An integer value.
pub fn int(n: impl Into<Integer>) -> Value {
    Value::Integer(n.into())
}

/// Takes a value apart by expected type; a mismatch is reported with the field's name.
pub(crate) mod take {
    use super::Value;
    use crate::error::Malformed;

    pub fn array(value: Value, what: &'static str) -> Result<Vec<Value>, Malformed> {
        match value {
            Value::Array(items) => Ok(items),
            _ => Err(Malformed::WrongType(what)),
        }
    }

    pub fn array_of<const N: usize>(
        value: Value,
        what: &'static str,
    ) -> Result<[Value; N], Malformed> {
        <[Value; N]>::try_from(array(value, what)?).map_err(|_| Malformed::WrongLength(what))
    }

    pub fn bytes(value: Value, what: &'static str) -> Result<Vec<u8>, Malformed> {
        match value {
            Value::Bytes(bytes) => Ok(bytes),
            _ => Err(Malformed::WrongType(what)),
        }
    }

    pub fn bytes_of<const N: usize>(
        value: Value,
        what: &'static str,
    ) -> Result<[u8; N], Malformed> {
        <[u8; N]>::try_from(bytes(value, what)?).map_err(|_| Malformed::WrongLength(what))
    }

    pub fn text(value: Value, what: &'static str) -> Result<String, Malformed> {
        match value {
            Value::Text(text) => Ok(text),
            _ => Err(Malformed::WrongType(what)),
        }
    }

    pub fn uint(value: Value, what: &'static str) -> Result<u64, Malformed> {
        match value {
            Value::Integer(n) => u64::try_from(n).map_err(|_| Malformed::OutOfRange(what)),
            _ => Err(Malformed::WrongType(what)),
        }
    }

    pub fn int(value: Value, what: &'static str) -> Result<i64, Malformed> {
        match value {
            Value::Integer(n) => i64::try_from(n).map_err(|_| Malformed::OutOfRange(what)),
            _ => Err(Malformed::WrongType(what)),
        }
    }

    pub fn boolean(value: Value, what: &'static str) -> Result<bool, Malformed> {
        match value {
            Value::Bool(b) => Ok(b),
            _ => Err(Malformed::WrongType(what)),
        }
    }

    /// A map with integer keys, read field by field; `finish` rejects leftovers.
    pub struct IntMap {
        entries: Vec<(i64, Value)>,
        what: &'static str,
    }

    impl IntMap {
        pub fn new(value: Value, what: &'static str) -> Result<Self, Malformed> {
            let Value::Map(raw) = value else {
                return Err(Malformed::WrongType(what));
            };
            let entries = raw
                .into_iter()
                .map(|(key, value)| Ok((int(key, what)?, value)))
                .collect::<Result<_, Malformed>>()?;
            Ok(IntMap { entries, what })
        }

        pub fn optional(&mut self, key: i64) -> Option<Value> {
            let index = self.entries.iter().position(|(k, _)| *k == key)?;
            Some(self.entries.swap_remove(index).1)
        }

        pub fn required(&mut self, key: i64, what: &'static str) -> Result<Value, Malformed> {
            self.optional(key).ok_or(Malformed::MissingField(what))
        }

        pub fn finish(self) -> Result<(), Malformed> {
            match self.entries.first() {
                None => Ok(()),
                Some((key, _)) => Err(Malformed::UnknownField {
                    within: self.what,
                    key: *key,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn strict(bytes: &[u8]) -> Result<Value, CborError> {
        decode(bytes, &CborLimits::DOCUMENT)
    }

    #[test]
    fn accepts_canonical_items() {
        assert_eq!(strict(&[0x17]).unwrap(), int(23));
        assert_eq!(strict(&[0x18, 0x18]).unwrap(), int(24));
        assert_eq!(strict(&[0x20]).unwrap(), int(-1));
        assert_eq!(
            strict(&[0xa2, 0x01, 0x00, 0x20, 0x00])
                .unwrap()
                .as_map()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            strict(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Integer(Integer::try_from(-18446744073709551616i128).unwrap())
        );
    }

    #[test]
    fn rejects_each_non_canonical_form() {
        assert_eq!(strict(&[0x18, 0x17]), Err(CborError::NotShortestForm));
        assert_eq!(strict(&[0x19, 0x00, 0xff]), Err(CborError::NotShortestForm));
        assert_eq!(
            strict(&[0x1a, 0x00, 0x00, 0xff, 0xff]),
            Err(CborError::NotShortestForm)
        );
        assert_eq!(
            strict(&[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::NotShortestForm)
        );
        assert_eq!(strict(&[0x9f, 0xff]), Err(CborError::IndefiniteLength));
        assert_eq!(strict(&[0x1c]), Err(CborError::Reserved));
        assert_eq!(
            strict(&[0xa2, 0x20, 0x00, 0x01, 0x00]),
            Err(CborError::UnsortedMapKeys)
        );
        assert_eq!(
            strict(&[0xa2, 0x01, 0x00, 0x01, 0x00]),
            Err(CborError::DuplicateMapKey)
        );
        assert_eq!(strict(&[0x62, 0xc3, 0x28]), Err(CborError::InvalidUtf8));
        assert_eq!(
            strict(&[0xf9, 0x3c, 0x00]),
            Err(CborError::UnsupportedSimple)
        );
        assert_eq!(strict(&[0xf7]), Err(CborError::UnsupportedSimple));
        assert_eq!(strict(&[0x01, 0x02]), Err(CborError::TrailingBytes(1)));
        assert_eq!(strict(&[]), Err(CborError::Truncated));
        assert_eq!(
            strict(&[0x5a, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
        assert_eq!(
            strict(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
    }

    #[test]
    fn depth_limit_is_exact() {
        let nested = |depth: usize| {
            let mut bytes = vec![0x81; depth];
            bytes.push(0x00);
            bytes
        };
        assert!(strict(&nested(crate::limits::MAX_DEPTH)).is_ok());
        assert_eq!(
            strict(&nested(crate::limits::MAX_DEPTH + 1)),
            Err(CborError::TooDeep(crate::limits::MAX_DEPTH))
        );
        // A nesting bomb far past the limit is refused without recursion past the limit.
        assert_eq!(
            strict(&nested(60_000)),
            Err(CborError::TooDeep(crate::limits::MAX_DEPTH))
        );
    }

    #[test]
    fn item_and_size_limits_are_exact() {
        let array_of = |n: usize| {
            let mut bytes = encode(&Value::Array(vec![int(0); n]));
            bytes.truncate(bytes.len());
            bytes
        };
        let max = crate::limits::MAX_ITEMS;
        assert!(strict(&array_of(max - 1)).is_ok());
        assert_eq!(strict(&array_of(max)), Err(CborError::TooManyItems(max)));
        let big = encode(&Value::Bytes(vec![
            0;
            crate::limits::MAX_DOCUMENT_BYTES - 4
        ]));
        assert_eq!(big.len(), crate::limits::MAX_DOCUMENT_BYTES - 1);
        assert!(strict(&big).is_ok());
        let too_big = encode(&Value::Bytes(vec![
            0;
            crate::limits::MAX_DOCUMENT_BYTES - 2
        ]));
        assert!(matches!(strict(&too_big), Err(CborError::TooLarge { .. })));
    }

    #[test]
    fn map_builder_output_is_accepted_by_the_strict_decoder() {
        let value = map(vec![
            (int(-65537), int(1)),
            (int(100), Value::Text("x".into())),
            (int(1), Value::Null),
            (int(-1), Value::Bool(true)),
        ]);
        let bytes = encode(&value);
        assert_eq!(strict(&bytes).unwrap(), value);
    }
}
