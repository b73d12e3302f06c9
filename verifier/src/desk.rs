//! Desk mode: a USB scanner types the QR text and Enter, line after line.
//!
//! Lines are read with a hard length bound, so a stuck key or a binary stream
//! cannot grow memory; an over-long or non-UTF-8 line gets its own verdict, and
//! the loop goes on until end of input.

use std::io::BufRead;

/// One line from the scanner.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line of text (without its line ending).
    Text(String),
    /// A line longer than the bound; its rest was discarded.
    TooLong(usize),
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Reads the next line, keeping at most `max` bytes. `None` at end of input.
pub fn read_line(
    reader: &mut (impl BufRead + ?Sized),
    max: usize,
) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut seen = 0usize;
    let mut any = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        any = true;
        let (chunk, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(at) => (&buffer[..at], Some(at + 1)),
            None => (buffer, None),
        };
        let room = max.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        seen += chunk.len();
        let consumed = done.unwrap_or(buffer.len());
        reader.consume(consumed);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if line.last() == Some(&b'\r') && seen <= max {
        line.pop();
        seen -= 1;
    }
    if seen > max {
        return Ok(Some(Line::TooLong(seen)));
    }
    Ok(Some(match String::from_utf8(line) {
        Ok(text) => Line::Text(text),
        Err(_) => Line::NotUtf8,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_are_bounded_and_classified() {
        let input = b"DL1:ABC\r\nshort\n\xff\xfe\nxxxxxxxxxxxxxxxxxxxx\nlast";
        let mut reader = std::io::BufReader::with_capacity(4, &input[..]);
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut reader, 10).unwrap() {
            lines.push(line);
        }
        assert_eq!(
            lines,
            vec![
                Line::Text("DL1:ABC".into()),
                Line::Text("short".into()),
                Line::NotUtf8,
                Line::TooLong(20),
                Line::Text("last".into()),
            ]
        );
    }
}
