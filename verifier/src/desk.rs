//! Desk mode: a USB scanner types the QR text and Enter, line after line.
//!
//! Lines are read with a hard length bound, so a stuck key or a binary stream
//! cannot grow memory; an over-long or non-UTF-8 line gets its own verdict, and
//! the loop goes on until end of input. A blank line (a person pressing Enter; a
//! scanner never sends one) gets a short prompt and no verdict.
//!
//! On a terminal the scanned text is not echoed ([`QuietTerminal`]): the customer's
//! code is not left on screen beside the verdict, and the screen is cleared before
//! each verdict (`commands::desk`).

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

/// Echo switched off on the terminal of stdin while this lives; the previous mode
/// is restored when it is dropped, and also on Ctrl-C (the handler restores, then
/// exits with status 130), so a clerk's terminal is never left silent.
#[derive(Debug)]
pub struct QuietTerminal {
    #[cfg(unix)]
    saved: Option<rustix::termios::Termios>,
}

impl QuietTerminal {
    /// Turns echo off if stdin is a terminal; does nothing otherwise (or off Unix).
    pub fn enter() -> QuietTerminal {
        #[cfg(unix)]
        {
            use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
            let stdin = std::io::stdin();
            let Ok(saved) = tcgetattr(&stdin) else {
                return QuietTerminal { saved: None };
            };
            let mut quiet = saved.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            // Keep the newline visible so each verdict starts on its own line.
            quiet.local_modes.insert(LocalModes::ECHONL);
            if tcsetattr(&stdin, OptionalActions::Now, &quiet).is_err() {
                return QuietTerminal { saved: None };
            }
            let restore = saved.clone();
            // Only one handler per process may exist; desk mode is entered once.
            let _ = ctrlc::set_handler(move || {
                let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &restore);
                std::process::exit(130);
            });
            QuietTerminal { saved: Some(saved) }
        }
        #[cfg(not(unix))]
        QuietTerminal {}
    }

    /// Whether echo was switched off (stdin is a terminal).
    pub fn is_active(&self) -> bool {
        #[cfg(unix)]
        return self.saved.is_some();
        #[cfg(not(unix))]
        false
    }
}

impl Drop for QuietTerminal {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
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
