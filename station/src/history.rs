//! The verdicts since the station started, in memory only.
//!
//! Nothing personal is kept: an entry holds the outcome, the profile and a keyed
//! hash of the serial, so a clerk can see "the same credential twice" without the
//! station knowing whose it was. The key is drawn at start-up and never written, so
//! the tags mean nothing once the station exits (and the history goes with it).

use sha2::{Digest, Sha256};

/// Entries kept; older ones are dropped first.
pub const MAX_ENTRIES: usize = 500;

/// One verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Number, from 1, in order of announcement.
    pub id: u64,
    /// When (Unix seconds).
    pub at: u64,
    /// `camera` or `scanner`.
    pub source: &'static str,
    /// `valid` or `rejected`.
    pub verdict: &'static str,
    /// Reason code when rejected.
    pub reason: Option<&'static str>,
    /// The profile shown, when the credential was verified.
    pub profile: Option<&'static str>,
    /// Keyed hash of the serial (8 bytes, hex), when the credential was verified.
    pub serial_tag: Option<String>,
    /// Frames that saw this code while it stayed in view (1 for the scanner).
    pub sightings: u64,
}

impl Entry {
    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "at": self.at, "source": self.source, "verdict": self.verdict,
            "reason": self.reason, "profile": self.profile, "serial_tag": self.serial_tag,
            "sightings": self.sightings,
        })
    }
}

/// The history.
pub struct History {
    key: [u8; 32],
    entries: Vec<Entry>,
    next_id: u64,
}

impl History {
    /// An empty history with a key of its own. Fails only if the OS has no randomness.
    pub fn new() -> Result<History, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)?;
        Ok(History {
            key,
            entries: Vec::new(),
            next_id: 1,
        })
    }

    /// The tag of a serial: SHA-256 over the key and the serial, first 8 bytes.
    pub fn tag(&self, serial: u64) -> String {
        let digest = Sha256::new()
            .chain_update(b"station history v1")
            .chain_update(self.key)
            .chain_update(serial.to_be_bytes())
            .finalize();
        hex::encode(&digest[..8])
    }

    /// Adds an entry (its `id` is assigned here) and returns the id.
    pub fn push(&mut self, mut entry: Entry) -> u64 {
        entry.id = self.next_id;
        self.next_id += 1;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.remove(0);
        }
        let id = entry.id;
        self.entries.push(entry);
        id
    }

    /// Counts one more sighting of entry `id`.
    pub fn seen_again(&mut self, id: u64) {
        if let Some(entry) = self.entries.iter_mut().rev().find(|e| e.id == id) {
            entry.sightings += 1;
        }
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry() -> Entry {
        Entry {
            id: 0,
            at: 1,
            source: "scanner",
            verdict: "valid",
            reason: None,
            profile: Some("rental"),
            serial_tag: None,
            sightings: 1,
        }
    }

    #[test]
    fn tags_are_keyed_and_the_history_is_bounded() {
        let (a, b) = (History::new().unwrap(), History::new().unwrap());
        assert_eq!(a.tag(42), a.tag(42));
        assert_ne!(a.tag(42), a.tag(43));
        assert_ne!(a.tag(42), b.tag(42), "another start, another key");
        let mut history = a;
        for _ in 0..MAX_ENTRIES + 5 {
            history.push(entry());
        }
        assert_eq!(history.entries().len(), MAX_ENTRIES);
        assert_eq!(history.entries()[0].id, 6);
        let last = history.entries().last().unwrap().id;
        history.seen_again(last);
        assert_eq!(history.entries().last().unwrap().sightings, 2);
    }
}
