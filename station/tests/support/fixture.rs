//! A registry, wallets and a verifier store made with the real issuer and wallet
//! libraries, and the codes the station tests show it.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use credential::Profile;
use issuer::backend::DefaultStore;
use issuer::keyfile::KdfParams;
use issuer::model::{Channel, HolderInput, PortraitSource, DAY};
use issuer::{Keyring, Registry};
use wallet_core::Wallet;
use zeroize::Zeroizing;

pub const AUTHORITY: &str = "川J";
pub const NAME: &str = "欧阳婷婷";
pub const LICENCE_NUMBER: &str = "510903198803140045";
/// The fixture licence's classes.
pub const CLASSES: &str = "B2DE";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The shared fixture licence (`vectorgen::fixture`) as an office enrols it.
fn holder(licence_number: &str, authority: &str, device_key: [u8; 32]) -> HolderInput {
    let licence = vectorgen::fixture::licence();
    assert_eq!(licence.name, NAME);
    HolderInput {
        licence_number: licence_number.into(),
        name: licence.name,
        sex: licence.sex,
        nationality: licence.nationality,
        birth_date: licence.birth_date,
        address: licence.address,
        file_number: licence.file_number,
        first_issue_date: licence.first_issue_date,
        classes: licence.classes,
        validity: licence.validity,
        authority_code: authority.into(),
        points: 0,
        channel: Channel::App,
        device_key: Some(device_key),
    }
}

/// One issuing office with one authority.
struct Office {
    registry: Registry<DefaultStore>,
    keyring: Keyring,
}

impl Office {
    fn new(dir: &Path, authority: &str, name: &str, at: u64) -> Office {
        let mut registry =
            issuer::backend::open(dir, "station-test", KdfParams::fast_for_tests()).unwrap();
        let mut keyring = Keyring::new(Zeroizing::new(b"station test passphrase".to_vec()));
        registry.root_init(&mut keyring, at).unwrap();
        registry
            .authority_add(authority, name, &mut keyring, at)
            .unwrap();
        Office { registry, keyring }
    }

    fn enrol(
        &mut self,
        dir: &Path,
        licence_number: &str,
        authority: &str,
        at: u64,
    ) -> (Wallet, i64) {
        let mut wallet = Wallet::init(dir).unwrap();
        let id = self
            .registry
            .holder_add(&holder(licence_number, authority, wallet.public_key()), at)
            .unwrap();
        let portrait = issuer::portrait::synthetic_portrait(
            358,
            441,
            [255, 255, 255],
            issuer::portrait::ImageFormat::Jpeg,
        );
        self.registry
            .portrait_add(id, PortraitSource::Retained, &portrait, at)
            .unwrap();
        let issued = self
            .registry
            .issue(id, None, &mut self.keyring, at, 7 * DAY)
            .unwrap();
        wallet.enrol(&issued.package(), at).unwrap();
        (wallet, id)
    }
}

/// Everything a station test needs: the published files and the holders' wallets.
pub struct World {
    pub dir: tempfile::TempDir,
    /// Trust bundle v1 (before the revocation), for the rollback check.
    pub old_bundle: PathBuf,
    /// Trust bundle v2 and the status list that marks the second holder revoked.
    pub bundle: PathBuf,
    pub status_list: PathBuf,
    /// The folder they were published to (the "USB stick").
    pub published: PathBuf,
    pub root_pub: PathBuf,
    pub bundle_version: u64,
    valid: Wallet,
    revoked: Wallet,
    foreign: Wallet,
}

/// The codes shown to the station.
pub struct Codes {
    pub valid_rental: String,
    pub valid_full: String,
    pub revoked: String,
    pub stale: String,
    pub foreign: String,
}

impl World {
    /// Office set up three days ago; the status list was published then with a
    /// one-day lifetime, so it is stale (3 d old) by now: a warning, not a rejection.
    pub fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let t0 = now() - 3 * DAY;
        let mut office = Office::new(
            &dir.path().join("registry"),
            AUTHORITY,
            "四川省遂宁市公安局交通警察支队",
            t0,
        );
        let (valid, _) = office.enrol(
            &dir.path().join("wallet-valid"),
            LICENCE_NUMBER,
            AUTHORITY,
            t0,
        );
        let (revoked, revoked_id) = office.enrol(
            &dir.path().join("wallet-revoked"),
            "510903198803140053",
            AUTHORITY,
            t0,
        );
        let published = dir.path().join("published");
        office
            .registry
            .publish(&published, &mut office.keyring, t0 + 20, DAY)
            .unwrap();
        let old_bundle = dir.path().join("old-trust-bundle.cbor");
        std::fs::copy(published.join("trust-bundle.cbor"), &old_bundle).unwrap();
        office.registry.revoke(revoked_id, t0 + 25).unwrap();
        let report = office
            .registry
            .publish(&published, &mut office.keyring, t0 + 30, DAY)
            .unwrap();
        // A foreign office: its own root, unknown to this verifier.
        let mut foreign_office = Office::new(&dir.path().join("foreign"), "川A", "境外机关", t0);
        let (foreign, _) =
            foreign_office.enrol(&dir.path().join("wallet-foreign"), "999", "川A", t0);
        World {
            old_bundle,
            bundle: published.join("trust-bundle.cbor"),
            status_list: published
                .join(format!("status-{}.cbor", hex::encode(AUTHORITY.as_bytes()))),
            root_pub: published.join("root.pub"),
            published,
            bundle_version: report.trust_bundle.version,
            valid,
            revoked,
            foreign,
            dir,
        }
    }

    /// A verifier store with the root key only (bundle and lists are imported by the test).
    pub fn store(&self, name: &str) -> PathBuf {
        let store = self.dir.path().join(name);
        let root =
            verifier::store::parse_root_key(&std::fs::read_to_string(&self.root_pub).unwrap())
                .unwrap();
        verifier::Store::new(&store).init(&root, false).unwrap();
        store
    }

    /// A store with everything imported through the library.
    pub fn full_store(&self, name: &str) -> PathBuf {
        let store = self.store(name);
        let s = verifier::Store::new(&store);
        s.import_trust(&std::fs::read(&self.bundle).unwrap())
            .unwrap();
        s.import_status(&std::fs::read(&self.status_list).unwrap())
            .unwrap();
        store
    }

    /// `n` distinct valid codes (presented 0, 1, 2, ... s ago), as a phone refreshing.
    pub fn valid_series(&self, n: u64) -> Vec<String> {
        let at = now();
        (0..n)
            .map(|k| self.valid.present(Profile::Rental, at - k).unwrap().text)
            .collect()
    }

    /// Codes presented now (the stale one 400 s ago, beyond the 180 s window).
    pub fn codes(&self) -> Codes {
        let at = now();
        let text = |wallet: &Wallet, profile, at| wallet.present(profile, at).unwrap().text;
        Codes {
            valid_rental: text(&self.valid, Profile::Rental, at),
            valid_full: text(&self.valid, Profile::Full, at),
            revoked: text(&self.revoked, Profile::Rental, at),
            stale: text(&self.valid, Profile::Rental, at - 400),
            foreign: text(&self.foreign, Profile::Rental, at),
        }
    }
}

/// The station binary, started on a free port; killed on drop.
pub struct Running {
    child: std::process::Child,
    pub url: String,
    pub port: u16,
}

impl Running {
    pub fn start(store: &Path, desk: &str) -> Running {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_station"))
            .arg("--store")
            .arg(store)
            .args(["--desk", desk, "--listen", "127.0.0.1:0", "--no-open"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("station printed no URL: {line:?}"))
            .to_owned();
        let port = url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        Running { child, url, port }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
