//! What a US-set keyboard-wedge scanner types on a computer with another layout,
//! modelled key by key from the layouts' charts (independently of the station's
//! repair tables, which map the other way).

/// German QWERTZ: Y and Z swap places; `+` is Shift+´, a dead key that fuses
/// with a following vowel.
pub fn on_german(us: &str) -> String {
    let mut out = String::new();
    let mut chars = us.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ':' => out.push('Ö'),
            '/' => out.push('-'),
            '-' => out.push('ß'),
            '*' => out.push('('),
            'Y' => out.push('Z'),
            'Z' => out.push('Y'),
            '+' => match chars.peek() {
                Some('A') => {
                    chars.next();
                    out.push('À')
                }
                Some('E') => {
                    chars.next();
                    out.push('È')
                }
                Some('I') => {
                    chars.next();
                    out.push('Ì')
                }
                Some('O') => {
                    chars.next();
                    out.push('Ò')
                }
                Some('U') => {
                    chars.next();
                    out.push('Ù')
                }
                _ => out.push('`'),
            },
            other => out.push(other),
        }
    }
    out
}

/// French AZERTY: the digit row gives symbols unshifted, A/Q and Z/W swap, M sits
/// where US has `;`.
pub fn on_french(us: &str) -> String {
    us.chars()
        .map(|c| match c {
            '1' => '&',
            '2' => 'é',
            '3' => '"',
            '4' => '\'',
            '5' => '(',
            '6' => '-',
            '7' => 'è',
            '8' => '_',
            '9' => 'ç',
            '0' => 'à',
            '$' => '4',
            '%' => '5',
            '*' => '8',
            '-' => ')',
            '.' => ':',
            '/' => '!',
            ':' => 'M',
            'M' => '?',
            'A' => 'Q',
            'Q' => 'A',
            'Z' => 'W',
            'W' => 'Z',
            other => other,
        })
        .collect()
}
