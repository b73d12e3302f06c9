//! Keyboard-wedge scanners and keyboard layouts.
//!
//! A USB scanner is a keyboard: it sends key *positions* for the characters it
//! read, and most are set up as a US keyboard. On a computer set to another layout
//! the same positions type other characters, and base45's `/ : $ % * + - .` (and on
//! some layouts letters or digits) arrive changed. Every licence code starts with
//! `DL1:` (or `DL1U:`), so the first characters identify the layout the computer
//! applied; the rest is then mapped back key by key. On each of these layouts a
//! US-set scanner types different base45 characters as different characters, so
//! the repair is unambiguous, and the signature check afterwards would catch any
//! wrong guess.

use std::fmt;

/// The computer's keyboard layout, as inferred from a scan typed by a US-set scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// US (or any layout that agrees with it on the base45 characters).
    Us,
    /// German QWERTZ.
    German,
    /// French AZERTY.
    French,
    /// Italian.
    Italian,
}

impl Layout {
    /// Every layout, in detection order (US first: most scans need no repair).
    pub const ALL: [Layout; 4] = [Layout::Us, Layout::German, Layout::French, Layout::Italian];

    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Us => "us",
            Layout::German => "german",
            Layout::French => "french_azerty",
            Layout::Italian => "italian",
        }
    }

    /// The layout's name for people.
    pub fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Layout::Us, false) => "US",
            (Layout::Us, true) => "美式",
            (Layout::German, false) => "German",
            (Layout::German, true) => "德语",
            (Layout::French, false) => "French (AZERTY)",
            (Layout::French, true) => "法语（AZERTY）",
            (Layout::Italian, false) => "Italian",
            (Layout::Italian, true) => "意大利语",
        }
    }

    /// What the character `received` was typed for by a US-set scanner, on a
    /// computer with this layout. `None`: a US-set scanner cannot have produced it
    /// from a licence code. Some received characters stand for two (a dead key
    /// combined with the next letter).
    fn intended(self, received: char) -> Option<&'static str> {
        let same = |c: char| BASE45.iter().find(|s| s.starts_with(c)).copied();
        match self {
            Layout::Us => same(received),
            Layout::German => match received {
                'Ö' => Some(":"),
                '-' => Some("/"),
                'ß' => Some("-"),
                '(' => Some("*"),
                'Y' => Some("Z"),
                'Z' => Some("Y"),
                // `+` is Shift+´ there: a dead key, typed alone before a space or
                // digit, or fused with the next (shifted) vowel.
                '`' | '´' => Some("+"),
                'À' => Some("+A"),
                'È' => Some("+E"),
                'Ì' => Some("+I"),
                'Ò' => Some("+O"),
                'Ù' => Some("+U"),
                ':' | '/' | '*' | '+' => None,
                other => same(other),
            },
            Layout::French => match received {
                // The digit row types symbols unshifted and digits shifted.
                '&' => Some("1"),
                'é' => Some("2"),
                '"' => Some("3"),
                '\'' => Some("4"),
                '(' => Some("5"),
                '-' => Some("6"),
                'è' => Some("7"),
                '_' => Some("8"),
                'ç' => Some("9"),
                'à' => Some("0"),
                '4' => Some("$"),
                '5' => Some("%"),
                '8' => Some("*"),
                ')' => Some("-"),
                ':' => Some("."),
                '!' => Some("/"),
                'M' => Some(":"),
                '?' => Some("M"),
                'Q' => Some("A"),
                'A' => Some("Q"),
                'W' => Some("Z"),
                'Z' => Some("W"),
                '0'..='9' | '$' | '%' | '*' | '.' | '/' => None,
                other => same(other),
            },
            Layout::Italian => match received {
                'ç' => Some(":"),
                '(' => Some("*"),
                '\'' => Some("-"),
                '^' => Some("+"),
                '-' => Some("/"),
                ':' | '*' | '+' | '/' => None,
                other => same(other),
            },
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label(false))
    }
}

/// The QR alphanumeric alphabet (base45 and the `DL1:` prefix use only these).
const BASE45: [&str; 45] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F", "G", "H", "I",
    "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", " ", "$",
    "%", "*", "+", "-", ".", "/", ":",
];

/// Prefixes every licence code starts with.
const PREFIXES: [&str; 2] = ["DL1:", "DL1U:"];

/// Scanned text as the station will verify it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Typed {
    /// The text, mapped back to what the scanner read.
    pub text: String,
    /// The layout the computer applied (`Us`: nothing was changed).
    pub layout: Layout,
    /// Letters arrived in lower case (Caps Lock on) and were upper-cased.
    pub caps_lock: bool,
}

/// Scanned text that cannot be mapped back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScannerError {
    /// The text starts with none of the ways a licence prefix arrives on a known layout.
    #[error("the scanned text does not start like a licence code (DL1:) on any known keyboard layout; if this was a licence code, the scanner and this computer use different keyboard layouts: set the scanner's keyboard language (its \"keyboard country\" setup code) to this computer's layout, or set both to US")]
    UnknownLayout,
    /// After the layout was recognised, a character that the scanner cannot have sent.
    #[error("the scanned text has '{character}', which a licence code typed on a {layout} keyboard cannot contain; set the scanner's keyboard language (its \"keyboard country\" setup code) to {layout}, or set this computer to US")]
    ImpossibleCharacter {
        /// The layout recognised from the prefix.
        layout: Layout,
        /// The character.
        character: char,
    },
}

impl ScannerError {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            ScannerError::UnknownLayout => "scanner_layout_unknown",
            ScannerError::ImpossibleCharacter { .. } => "scanner_layout_impossible_character",
        }
    }

    /// The message in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            ScannerError::UnknownLayout => "扫描结果的开头不像驾驶证二维码（DL1:）。若扫的是驾驶证，说明扫码枪与本机键盘布局不一致：请用扫码枪的设置码把其“键盘语言/国家”设为本机布局，或把两者都设为美式。".into(),
            ScannerError::ImpossibleCharacter { layout, character } => format!(
                "扫描结果含有“{character}”，{}键盘布局下的驾驶证二维码不可能出现该字符：请把扫码枪的“键盘语言/国家”设为{}，或把本机设为美式键盘。",
                layout.label(true),
                layout.label(true)
            ),
        }
    }
}

/// The advice shown when a scan was repaired: which setting stops it happening.
pub fn repair_advice(typed: &Typed, zh: bool) -> Option<String> {
    let mut parts = Vec::new();
    if typed.layout != Layout::Us {
        parts.push(if zh {
            format!(
                "扫码枪按美式键盘发送，本机为{}布局，已自动还原；请把扫码枪的“键盘语言/国家”设为{}以免出错。",
                typed.layout.label(true),
                typed.layout.label(true)
            )
        } else {
            format!(
                "the scanner types as a US keyboard but this computer uses the {} layout; repaired. Set the scanner's keyboard language (\"keyboard country\" setup code) to {} to stop this.",
                typed.layout, typed.layout
            )
        });
    }
    if typed.caps_lock {
        parts.push(if zh {
            "字母为小写（大写锁定已开启），已还原；请关闭 Caps Lock。".to_owned()
        } else {
            "letters arrived in lower case (Caps Lock is on); repaired. Turn Caps Lock off."
                .to_owned()
        });
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Maps scanned text back to what the scanner read.
pub fn interpret(received: &str) -> Result<Typed, ScannerError> {
    let received = received.trim_end_matches(['\r', '\n']);
    for caps_lock in [false, true] {
        let candidate: String = if caps_lock {
            received.chars().map(swap_case).collect()
        } else {
            received.to_owned()
        };
        for layout in Layout::ALL {
            let prefix = map_prefix(layout, &candidate);
            if !PREFIXES.iter().any(|p| prefix.starts_with(p)) {
                continue;
            }
            let mut text = String::with_capacity(candidate.len());
            for character in candidate.chars() {
                let intended = layout
                    .intended(character)
                    .ok_or(ScannerError::ImpossibleCharacter { layout, character })?;
                text.push_str(intended);
            }
            return Ok(Typed {
                text,
                layout,
                caps_lock,
            });
        }
    }
    Err(ScannerError::UnknownLayout)
}

/// The start of `received` mapped with `layout`: as long as the longest prefix,
/// or up to the first character the layout cannot map.
fn map_prefix(layout: Layout, received: &str) -> String {
    let longest = PREFIXES.iter().map(|p| p.len()).max().unwrap_or(0);
    let mut mapped = String::new();
    for c in received.chars() {
        match layout.intended(c) {
            Some(s) if mapped.len() < longest => mapped.push_str(s),
            _ => break,
        }
    }
    mapped
}

/// Caps Lock inverts the case of letters only.
fn swap_case(c: char) -> char {
    if c.is_lowercase() {
        c.to_uppercase().next().unwrap_or(c)
    } else if c.is_uppercase() {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn us_text_passes_unchanged() {
        let typed = interpret("DL1:AB$%*+-./: Z9\r\n").unwrap();
        assert_eq!(typed.text, "DL1:AB$%*+-./: Z9");
        assert_eq!(typed.layout, Layout::Us);
        assert!(!typed.caps_lock);
    }

    #[test]
    fn german_french_and_italian_substitutions_are_repaired() {
        let german = interpret("DL1ÖYZ-ß(`1ÈÖ").unwrap();
        assert_eq!(
            (german.text.as_str(), german.layout),
            ("DL1:ZY/-*+1+E:", Layout::German)
        );
        let french = interpret("DL&MQAWZ?&éà458)!: ").unwrap();
        assert_eq!(
            (french.text.as_str(), french.layout),
            ("DL1:AQZWM120$%*-/. ", Layout::French)
        );
        let italian = interpret("DL1UçA(^'-$").unwrap();
        assert_eq!(
            (italian.text.as_str(), italian.layout),
            ("DL1U:A*+-/$", Layout::Italian)
        );
    }

    #[test]
    fn caps_lock_is_undone_and_advised() {
        let typed = interpret("dl1:abc").unwrap();
        assert_eq!(typed.text, "DL1:ABC");
        assert!(typed.caps_lock);
        assert!(repair_advice(&typed, false).unwrap().contains("Caps Lock"));
        assert!(repair_advice(&interpret("DL1:A").unwrap(), false).is_none());
    }

    #[test]
    fn unknown_and_impossible_text_say_which_setting_to_change() {
        let unknown = interpret("hello world").unwrap_err();
        assert_eq!(unknown.code(), "scanner_layout_unknown");
        assert!(unknown.to_string().contains("keyboard language"));
        let impossible = interpret("DL1Ö:AB").unwrap_err();
        assert_eq!(
            impossible,
            ScannerError::ImpossibleCharacter {
                layout: Layout::German,
                character: ':'
            }
        );
        assert!(impossible.to_string().contains("to German"));
        assert!(impossible.message_zh().contains("德语"));
    }

    #[test]
    fn every_base45_character_can_be_typed_on_every_layout() {
        for layout in Layout::ALL {
            let reachable: std::collections::HashSet<&str> = (0u32..0x300)
                .filter_map(char::from_u32)
                .filter_map(|c| layout.intended(c))
                .collect();
            for target in BASE45 {
                assert!(
                    reachable.contains(target),
                    "{layout}: nothing maps to {target:?}"
                );
            }
        }
    }
}
