//! The wallet: one device key, one credential package, what the issuer said about
//! it, and the operations a phone app offers — enrol, present, refresh, status.

use std::path::{Path, PathBuf};

use credential::presentation::Presentation;
use credential::refresh::{Package, RefreshRequest, RefreshResponse, Refusal, NONCE_LEN};
use credential::Profile;

use crate::client::RefreshClient;
use crate::device_key::{DeviceKey, SoftwareDeviceKey};
use crate::error::WalletError;
use crate::qr::Qr;
use crate::screen::{AtAGlance, Screen};
use crate::state::{CredentialStatus, StoredState};
use crate::storage;

/// The software device key's file in the wallet directory.
pub const KEY_FILE: &str = "device.key";
/// The state file in the wallet directory.
pub const STATE_FILE: &str = "wallet.cbor";
/// The holder's portrait file (the issuer's bytes, as the credential's digest signs
/// them) for a package that does not carry it (an older issuer: `wallet portrait
/// set`). A package that carries its portrait keeps it inside `wallet.cbor`, so the
/// portrait is stored atomically with the credential it belongs to.
pub const PORTRAIT_FILE: &str = "portrait.bin";
/// A package is at most a CBOR document; the state adds a few fields.
const MAX_STATE_BYTES: u64 = 2 * credential::limits::MAX_DOCUMENT_BYTES as u64;

/// Tunables of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalletConfig {
    /// Seconds between two QR codes on screen (verifiers accept one for 180 s).
    pub qr_refresh_s: u64,
    /// Offset of the local time the screen shows, in seconds east of UTC
    /// (default +08:00, China Standard Time: the licences are Chinese).
    pub utc_offset_s: i32,
}

impl Default for WalletConfig {
    fn default() -> Self {
        WalletConfig {
            qr_refresh_s: 30,
            utc_offset_s: 8 * 3600,
        }
    }
}

/// One presentation, ready to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// The profile shown.
    pub profile: Profile,
    /// When it was made (signed by the device key).
    pub presented_at: u64,
    /// When the app should show a new one.
    pub refresh_at: u64,
    /// The QR text (`DL1:` + base45).
    pub text: String,
    /// The QR symbol of `text`.
    pub qr: Qr,
}

/// How long the stored credential stays usable offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeLeft {
    /// `exp` of the credential.
    pub expires_at: u64,
    /// Seconds until then (0 once expired).
    pub seconds_left: u64,
    /// Already expired: the wallet no longer presents it.
    pub expired: bool,
    /// Less than half of the credential's lifetime left: the app should say
    /// "refresh needed" and refresh when online.
    pub refresh_recommended: bool,
}

/// The holder's licence as the app shows it (from the full-profile credential,
/// decoded without checking the issuer's signature: for display only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderSummary {
    /// 姓名.
    pub name: String,
    /// 证号.
    pub licence_number: String,
    /// 准驾车型, e.g. `C1E`.
    pub classes: String,
    /// First valid day of the licence.
    pub valid_from: String,
    /// Last valid day, `None` for long-term (长期).
    pub valid_to: Option<String>,
    /// Status letters (驾驶证状态), e.g. `A` or `D`.
    pub licence_status: String,
    /// 累积记分.
    pub points: u32,
    /// Authority code.
    pub authority: String,
}

impl HolderSummary {
    fn of(package: &Package) -> HolderSummary {
        let record = package.licence();
        HolderSummary {
            name: record.name.clone().unwrap_or_default(),
            licence_number: record.licence_number.clone().unwrap_or_default(),
            classes: record.classes.map(|c| c.to_string()).unwrap_or_default(),
            valid_from: record
                .validity
                .map(|v| v.from.to_string())
                .unwrap_or_default(),
            valid_to: record.validity.and_then(|v| v.to).map(|d| d.to_string()),
            licence_status: record.status.map(|s| s.to_string()).unwrap_or_default(),
            points: record.points.unwrap_or(0),
            authority: package.authority.clone(),
        }
    }
}

/// Everything the app can show about the wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletStatus {
    /// Holder summary.
    pub holder: HolderSummary,
    /// Authority code and serial of the credential.
    pub authority: String,
    /// Serial.
    pub serial: u64,
    /// Credential issued at.
    pub issued_at: u64,
    /// What the issuer last said.
    pub status: CredentialStatus,
    /// Expiry and whether a refresh is due.
    pub time_left: TimeLeft,
    /// The last successful refresh.
    pub last_refresh_at: Option<u64>,
    /// The credential this one replaced, after a re-issue (`authority/serial`).
    pub replaced: Option<String>,
    /// Why the wallet would refuse to present now, if it would.
    pub cannot_present: Option<String>,
}

/// What a refresh did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Same credential, new expiry.
    Refreshed {
        /// Serial.
        serial: u64,
        /// New expiry.
        expires_at: u64,
    },
    /// The credential was re-issued (new serial) and the new one is stored.
    Replaced {
        /// The previous credential, if the wallet had one (`authority/serial`).
        old: Option<String>,
        /// The new one.
        new: String,
        /// Its expiry.
        expires_at: u64,
    },
    /// The licence is suspended; the stored credential now says so.
    Suspended {
        /// Expiry.
        expires_at: u64,
    },
    /// The licence is revoked: stored, and the wallet stops presenting.
    Revoked {
        /// The issuer's message.
        message: String,
    },
}

/// A wallet in its directory.
pub struct Wallet {
    dir: PathBuf,
    key: Box<dyn DeviceKey>,
    stored: Option<(StoredState, Package)>,
    config: WalletConfig,
}

fn reference(package: &Package) -> String {
    format!("{}/{}", package.authority, package.serial)
}

/// 16 random bytes for a refresh request.
pub fn random_nonce() -> Result<[u8; NONCE_LEN], WalletError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| WalletError::DeviceKey(format!("no random source: {e}")))?;
    Ok(nonce)
}

impl Wallet {
    /// Creates a wallet directory with a new software device key.
    pub fn init(dir: &Path) -> Result<Wallet, WalletError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(WalletError::io(dir))?;
        let key = SoftwareDeviceKey::generate()?;
        key.save(&dir.join(KEY_FILE))?;
        Wallet::open_with_key(dir, Box::new(key))
    }

    /// Opens a wallet directory with its software device key.
    pub fn open(dir: &Path) -> Result<Wallet, WalletError> {
        let key = SoftwareDeviceKey::load(&dir.join(KEY_FILE))?;
        Wallet::open_with_key(dir, Box::new(key))
    }

    /// Opens a wallet directory with a device key held elsewhere (a phone's
    /// hardware keystore). A state file written for another key is refused.
    pub fn open_with_key(dir: &Path, key: Box<dyn DeviceKey>) -> Result<Wallet, WalletError> {
        if !dir.is_dir() {
            return Err(WalletError::NotInitialised(dir.to_owned()));
        }
        let path = dir.join(STATE_FILE);
        storage::remove_stale_temporaries(&path);
        let stored = match storage::read_bounded(&path, MAX_STATE_BYTES)? {
            None => None,
            Some(bytes) => {
                let state = StoredState::decode(&bytes)
                    .map_err(|reason| WalletError::corrupt(&path, reason))?;
                if state.device_key != key.public_key() {
                    return Err(WalletError::corrupt(
                        &path,
                        "it belongs to another device key",
                    ));
                }
                let package = Package::decode_for(&state.package, &state.device_key)
                    .map_err(|e| WalletError::corrupt(&path, e.to_string()))?;
                Some((state, package))
            }
        };
        Ok(Wallet {
            dir: dir.to_owned(),
            key,
            stored,
            config: WalletConfig::default(),
        })
    }

    /// Replaces the configuration.
    pub fn with_config(mut self, config: WalletConfig) -> Wallet {
        self.config = config;
        self
    }

    /// The configuration.
    pub fn config(&self) -> WalletConfig {
        self.config
    }

    /// The wallet directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The device public key (give it to the licensing office at enrolment).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.public_key()
    }

    /// The stored package, if enrolled.
    pub fn package(&self) -> Option<&Package> {
        self.stored.as_ref().map(|(_, p)| p)
    }

    /// What the issuer last said, if enrolled.
    pub fn credential_status(&self) -> Option<CredentialStatus> {
        self.stored.as_ref().map(|(s, _)| s.status)
    }

    fn save(&mut self, state: StoredState, package: Package) -> Result<(), WalletError> {
        storage::write_atomic(&self.dir.join(STATE_FILE), &state.encode(), 0o600)?;
        self.stored = Some((state, package));
        Ok(())
    }

    fn store_package(
        &mut self,
        bytes: Vec<u8>,
        package: Package,
        status: CredentialStatus,
        now: u64,
        refreshed: bool,
    ) -> Result<Option<String>, WalletError> {
        let previous = self.stored.as_ref();
        let replaced = match previous {
            Some((_, old)) if reference(old) != reference(&package) => Some(reference(old)),
            Some((state, _)) => state.replaced.clone(),
            None => None,
        };
        let portrait_file = self.dir.join(PORTRAIT_FILE);
        let keep = match &package.portrait {
            Some(_) => None,
            None => self.portrait_signed_by(&package)?,
        };
        if let Some(portrait) = &keep {
            // A package without a portrait (an older issuer) keeps the one the wallet
            // had, since the new credential still signs it: written before the state,
            // so a crash between leaves a file that matches the old credential or the
            // new one, and the portrait is checked against the credential when read.
            storage::write_atomic(&portrait_file, portrait, 0o600)?;
        }
        let state = StoredState {
            device_key: self.public_key(),
            package: bytes,
            status,
            enrolled_at: previous.map_or(now, |(s, _)| s.enrolled_at),
            last_refresh_at: if refreshed {
                Some(now)
            } else {
                previous.and_then(|(s, _)| s.last_refresh_at)
            },
            replaced: replaced.clone(),
        };
        self.save(state, package)?;
        if keep.is_none() {
            // Either the package carries its own portrait or the new credential signs
            // another one: a separate file could only be stale now.
            match std::fs::remove_file(&portrait_file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WalletError::io(&portrait_file)(e)),
            }
        }
        Ok(replaced)
    }

    /// The portrait the wallet shows now (the stored package's, or the file), if
    /// `package`'s credential signs it too.
    fn portrait_signed_by(&self, package: &Package) -> Result<Option<Vec<u8>>, WalletError> {
        let Some(signed) = package.licence().portrait_digest else {
            return Ok(None);
        };
        Ok(self
            .portrait()?
            .filter(|portrait| credential::licence::portrait_digest(portrait) == signed))
    }

    /// Stores the first credential package (written by the office's `issuer issue
    /// --out`), or a new one from the office. It must be bound to this wallet's key.
    pub fn enrol(&mut self, package: &[u8], now: u64) -> Result<&Package, WalletError> {
        let parsed = Package::decode_for(package, &self.public_key())?;
        self.store_package(
            package.to_vec(),
            parsed,
            CredentialStatus::Valid,
            now,
            false,
        )?;
        self.package().ok_or(WalletError::NotEnrolled)
    }

    /// Expiry of the stored credential and whether to refresh.
    pub fn time_left(&self, now: u64) -> Option<TimeLeft> {
        let package = self.package()?;
        let lifetime = package.expires_at.saturating_sub(package.issued_at);
        let seconds_left = package.expires_at.saturating_sub(now);
        Some(TimeLeft {
            expires_at: package.expires_at,
            seconds_left,
            expired: now >= package.expires_at,
            refresh_recommended: seconds_left < lifetime / 2,
        })
    }

    /// Why the wallet will not present now, if it will not.
    pub fn check_presentable(&self, now: u64) -> Result<(), WalletError> {
        let (state, package) = self.stored.as_ref().ok_or(WalletError::NotEnrolled)?;
        match state.status {
            CredentialStatus::Revoked => Err(WalletError::Revoked),
            CredentialStatus::Superseded => Err(WalletError::Superseded),
            CredentialStatus::Valid | CredentialStatus::Suspended if now >= package.expires_at => {
                Err(WalletError::Expired {
                    expired_at: package.expires_at,
                })
            }
            CredentialStatus::Valid | CredentialStatus::Suspended => Ok(()),
        }
    }

    /// Everything the app shows; `None` before enrolment.
    pub fn status(&self, now: u64) -> Option<WalletStatus> {
        let (state, package) = self.stored.as_ref()?;
        Some(WalletStatus {
            holder: HolderSummary::of(package),
            authority: package.authority.clone(),
            serial: package.serial,
            issued_at: package.issued_at,
            status: state.status,
            time_left: self.time_left(now)?,
            last_refresh_at: state.last_refresh_at,
            replaced: state.replaced.clone(),
            cannot_present: self.check_presentable(now).err().map(|e| e.to_string()),
        })
    }

    /// The presentation of `profile` at `now`: QR text signed by the device key,
    /// and its QR symbol. Refused when revoked, superseded or expired.
    pub fn present(&self, profile: Profile, now: u64) -> Result<Presented, WalletError> {
        self.check_presentable(now)?;
        let package = self.package().ok_or(WalletError::NotEnrolled)?;
        let credential = package
            .credential(profile)
            .ok_or(WalletError::NotEnrolled)?;
        let message = Presentation::message_to_sign(credential, profile, now);
        let presentation = Presentation {
            credential: credential.to_vec(),
            presented_at: now,
            holder_signature: self.key.sign(&message)?,
        };
        let text = credential::qr_text::to_qr_text(&presentation.encode());
        let qr = Qr::encode(&text)?;
        Ok(Presented {
            profile,
            presented_at: now,
            refresh_at: now.saturating_add(self.config.qr_refresh_s.max(1)),
            text,
            qr,
        })
    }

    /// The screen the app shows for a new presentation of `profile` at `now`.
    pub fn screen(&self, profile: Profile, now: u64) -> Result<Screen, WalletError> {
        let presented = self.present(profile, now)?;
        self.screen_of(presented, now)
    }

    /// The screen for an earlier `presented` code at `now` (the code stays while
    /// the clock and the countdown move on).
    pub fn screen_of(&self, presented: Presented, now: u64) -> Result<Screen, WalletError> {
        let (state, package) = self.stored.as_ref().ok_or(WalletError::NotEnrolled)?;
        let holder = HolderSummary::of(package);
        let record = package.licence();
        let today = credential::date::Date::at(now, i64::from(self.config.utc_offset_s));
        Ok(Screen {
            holder_name: holder.name,
            licence_number: holder.licence_number,
            classes: holder.classes,
            status_letters: holder.licence_status,
            points: holder.points,
            at_a_glance: AtAGlance::of(record, state.status, today),
            presented,
            now,
            utc_offset_s: self.config.utc_offset_s,
        })
    }

    /// The signed portrait digest of the stored credential, if it carries one.
    pub fn portrait_digest(&self) -> Option<[u8; credential::licence::PORTRAIT_DIGEST_LEN]> {
        self.package()?.licence().portrait_digest
    }

    /// Stores the holder's portrait (the issuer-made bytes). Refused unless its
    /// truncated SHA-256 is the digest the stored credential signs, so the wallet
    /// never shows, nor sends in its animated code, a portrait verifiers would reject.
    pub fn set_portrait(&self, portrait: &[u8]) -> Result<(), WalletError> {
        let signed = self
            .portrait_digest()
            .ok_or(WalletError::NoPortraitDigest)?;
        if portrait.len() > credential::portrait_frame::MAX_PORTRAIT_BYTES {
            return Err(WalletError::PortraitTooLarge {
                len: portrait.len(),
                max: credential::portrait_frame::MAX_PORTRAIT_BYTES,
            });
        }
        if credential::licence::portrait_digest(portrait) != signed {
            return Err(WalletError::PortraitMismatch);
        }
        storage::write_atomic(&self.dir.join(PORTRAIT_FILE), portrait, 0o600)
    }

    /// The holder's portrait: the one the stored package carries (checked against
    /// the signed digest when the package was decoded), else the file stored by
    /// [`Wallet::set_portrait`] if it matches the current credential (after a photo
    /// replacement the old file no longer does, and is not used).
    pub fn portrait(&self) -> Result<Option<Vec<u8>>, WalletError> {
        if let Some(portrait) = self.package().and_then(|p| p.portrait.clone()) {
            return Ok(Some(portrait));
        }
        let path = self.dir.join(PORTRAIT_FILE);
        let Some(bytes) =
            storage::read_bounded(&path, credential::portrait_frame::MAX_PORTRAIT_BYTES as u64)?
        else {
            return Ok(None);
        };
        let matches = self
            .portrait_digest()
            .is_some_and(|signed| credential::licence::portrait_digest(&bytes) == signed);
        Ok(matches.then_some(bytes))
    }

    /// The signed refresh request the wallet would send at `now` with `nonce`.
    pub fn refresh_request(
        &self,
        now: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, WalletError> {
        let request = RefreshRequest {
            device_key: self.public_key(),
            requested_at: now,
            nonce,
            current: self.package().map(Package::reference),
        };
        request.sign_with(|message| self.key.sign(message))
    }

    /// Asks the issuer for the current credential (spec/refresh.md). Stores what
    /// it says: a refreshed or re-issued package, suspension or revocation. When
    /// offline the stored credential is kept and [`WalletError::Offline`] returned.
    pub fn refresh(
        &mut self,
        client: &dyn RefreshClient,
        now: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<RefreshOutcome, WalletError> {
        let request = self.refresh_request(now, nonce)?;
        let body = client.send(&request)?;
        let response =
            RefreshResponse::decode(&body).map_err(|e| WalletError::BadResponse(e.to_string()))?;
        self.apply(response, now)
    }

    fn store_current(&mut self, package: Vec<u8>, now: u64) -> Result<RefreshOutcome, WalletError> {
        let parsed = Package::decode_for(&package, &self.public_key())?;
        let old = self.package().map(reference);
        let new = reference(&parsed);
        let (serial, expires_at) = (parsed.serial, parsed.expires_at);
        self.store_package(package, parsed, CredentialStatus::Valid, now, true)?;
        Ok(match old {
            Some(old) if old == new => RefreshOutcome::Refreshed { serial, expires_at },
            old => RefreshOutcome::Replaced {
                old,
                new,
                expires_at,
            },
        })
    }

    /// Applies a decoded response (for apps that send the request themselves).
    pub fn apply(
        &mut self,
        response: RefreshResponse,
        now: u64,
    ) -> Result<RefreshOutcome, WalletError> {
        let key = self.public_key();
        match response {
            RefreshResponse::Current { package } => self.store_current(package, now),
            RefreshResponse::Superseded { package } => match Package::decode_for(&package, &key) {
                Ok(_) => self.store_current(package, now),
                Err(error) => {
                    // The issuer says our credential was replaced, but the
                    // replacement is unusable: stop presenting the old one.
                    if let Some((mut state, old)) = self.stored.clone() {
                        state.status = CredentialStatus::Superseded;
                        self.save(state, old)?;
                    }
                    Err(error.into())
                }
            },
            RefreshResponse::Suspended { package } => {
                let parsed = Package::decode_for(&package, &key)?;
                let expires_at = parsed.expires_at;
                self.store_package(package, parsed, CredentialStatus::Suspended, now, true)?;
                Ok(RefreshOutcome::Suspended { expires_at })
            }
            RefreshResponse::Refused {
                refusal: Refusal::Revoked,
                message,
            } => {
                let Some((mut state, package)) = self.stored.clone() else {
                    return Err(WalletError::Refused {
                        refusal: Refusal::Revoked,
                        message,
                    });
                };
                state.status = CredentialStatus::Revoked;
                self.save(state, package)?;
                Ok(RefreshOutcome::Revoked { message })
            }
            RefreshResponse::Refused { refusal, message } => {
                Err(WalletError::Refused { refusal, message })
            }
        }
    }
}
