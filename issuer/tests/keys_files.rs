//! Key files on disk: round trip, permissions, secrecy, tampering, truncation, refusal
//! to overwrite, and passphrase sources.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use credential::ed25519_dalek::SigningKey;
use issuer::keyfile::{
    generate_signing_key, read_key_file, read_passphrase, read_public_key, write_key_file,
    KdfParams, KeyError, PassphraseSource,
};

const PASSPHRASE: &[u8] = b"tr0ub4dor&3 licence office";
const COMMENT: &str = "licence authority key 川J (kid 1a2b3c)";

fn write_test_key(dir: &Path, name: &str) -> (PathBuf, SigningKey) {
    let path = dir.join(name);
    let key = generate_signing_key().unwrap();
    write_key_file(
        &path,
        &key,
        PASSPHRASE,
        COMMENT,
        KdfParams::fast_for_tests(),
    )
    .unwrap();
    (path, key)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = write_test_key(dir.path(), "authority.key");
    let read = read_key_file(&path, PASSPHRASE).unwrap();
    assert_eq!(read.to_bytes(), key.to_bytes());
    assert_eq!(
        read_public_key(&path).unwrap(),
        key.verifying_key().to_bytes()
    );
    // Only the key file is left behind: no temporary file.
    assert_eq!(files_in(dir.path()), vec!["authority.key"]);

    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], format!("untrusted comment: {COMMENT}"));
    assert_eq!(lines[1], "algorithm: argon2id-chacha20poly1305 v1");
    assert_eq!(
        lines[3],
        format!(
            "public: {}",
            STANDARD.encode(key.verifying_key().to_bytes())
        )
    );
}

#[test]
fn default_costs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strong.key");
    let key = generate_signing_key().unwrap();
    write_key_file(&path, &key, PASSPHRASE, COMMENT, KdfParams::default()).unwrap();
    assert_eq!(
        read_key_file(&path, PASSPHRASE).unwrap().to_bytes(),
        key.to_bytes()
    );
}

#[test]
fn wrong_passphrase_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_test_key(dir.path(), "authority.key");
    let err = read_key_file(&path, b"tr0ub4dor&3 licence offic").unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase), "{err:?}");
    assert!(err.to_string().starts_with("wrong passphrase"));
}

#[cfg(unix)]
#[test]
fn key_file_mode_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_test_key(dir.path(), "authority.key");
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn file_does_not_contain_the_seed_in_any_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = write_test_key(dir.path(), "authority.key");
    let bytes = fs::read(&path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let seed = key.to_bytes();

    assert!(!bytes.windows(seed.len()).any(|w| w == seed), "raw seed");
    assert!(!text.contains(&hex::encode(seed)), "hex");
    assert!(!text.contains(&hex::encode_upper(seed)), "HEX");
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        // The seed at each of the three base64 alignments, minus the edge characters.
        for shift in 0..3 {
            let mut shifted = vec![0u8; shift];
            shifted.extend_from_slice(&seed);
            let encoded = engine.encode(&shifted);
            let inner = &encoded[4..4 + 36];
            assert!(!text.contains(inner), "base64 at shift {shift}");
        }
    }
    assert!(!text.contains(std::str::from_utf8(PASSPHRASE).unwrap()));
}

#[test]
fn refuses_to_overwrite_and_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = write_test_key(dir.path(), "authority.key");
    let before = fs::read(&path).unwrap();
    let other = generate_signing_key().unwrap();
    let err = write_key_file(
        &path,
        &other,
        b"another passphrase",
        "replacement",
        KdfParams::fast_for_tests(),
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::Exists(_)), "{err:?}");
    assert!(err.to_string().contains("refusing to overwrite"));
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(
        read_key_file(&path, PASSPHRASE).unwrap().to_bytes(),
        key.to_bytes()
    );
    assert_eq!(files_in(dir.path()), vec!["authority.key"]);

    // Any existing entry counts, even one that is not a key file.
    let plain = dir.path().join("notes.txt");
    fs::write(&plain, "keep me").unwrap();
    assert!(matches!(
        write_key_file(&plain, &other, PASSPHRASE, "x", KdfParams::fast_for_tests()),
        Err(KeyError::Exists(_))
    ));
    assert_eq!(fs::read_to_string(&plain).unwrap(), "keep me");
}

#[test]
fn refuses_empty_passphrase_and_multi_line_comment() {
    let dir = tempfile::tempdir().unwrap();
    let key = generate_signing_key().unwrap();
    let path = dir.path().join("k.key");
    assert!(matches!(
        write_key_file(&path, &key, b"", COMMENT, KdfParams::fast_for_tests()),
        Err(KeyError::EmptyPassphrase(_))
    ));
    assert!(matches!(
        write_key_file(
            &path,
            &key,
            PASSPHRASE,
            "one\nuntrusted comment: two",
            KdfParams::fast_for_tests()
        ),
        Err(KeyError::InvalidComment(_))
    ));
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = generate_signing_key().unwrap();
    let path = dir.path().join("no/such/dir/k.key");
    let err = write_key_file(
        &path,
        &key,
        PASSPHRASE,
        COMMENT,
        KdfParams::fast_for_tests(),
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
    assert!(matches!(
        read_key_file(&path, PASSPHRASE),
        Err(KeyError::Io { .. })
    ));
}

#[test]
fn truncated_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_test_key(dir.path(), "authority.key");
    let bytes = fs::read(&path).unwrap();
    let cut = dir.path().join("cut.key");
    for len in 0..bytes.len() {
        fs::write(&cut, &bytes[..len]).unwrap();
        assert!(
            read_key_file(&cut, PASSPHRASE).is_err(),
            "read_key_file accepted a {len}-byte prefix"
        );
        assert!(
            read_public_key(&cut).is_err(),
            "read_public_key accepted a {len}-byte prefix"
        );
    }
}

fn replace_line(path: &Path, index: usize, line: &str) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[index] = line.to_owned();
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn tampered_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_test_key(dir.path(), "authority.key");
    let original = fs::read_to_string(&path).unwrap();
    let sealed = STANDARD.decode(original.lines().nth(2).unwrap()).unwrap();

    // Every byte of the sealed key (magic, costs, salt, nonce, ciphertext).
    for i in 0..sealed.len() {
        fs::write(&path, &original).unwrap();
        let mut tampered = sealed.clone();
        tampered[i] ^= 0x80;
        replace_line(&path, 2, &STANDARD.encode(&tampered));
        assert!(read_key_file(&path, PASSPHRASE).is_err(), "byte {i}");
    }

    // A valid public key of another key: the file still reads without a passphrase
    // (it is not authenticated there) but no longer decrypts.
    fs::write(&path, &original).unwrap();
    let other = generate_signing_key().unwrap().verifying_key().to_bytes();
    replace_line(&path, 3, &format!("public: {}", STANDARD.encode(other)));
    assert_eq!(read_public_key(&path).unwrap(), other);
    assert!(matches!(
        read_key_file(&path, PASSPHRASE),
        Err(KeyError::WrongPassphrase)
    ));

    // A public key that is not an Ed25519 point.
    fs::write(&path, &original).unwrap();
    let not_a_point = (2u8..)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| credential::ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .unwrap();
    replace_line(
        &path,
        3,
        &format!("public: {}", STANDARD.encode(not_a_point)),
    );
    assert!(matches!(
        read_public_key(&path),
        Err(KeyError::Malformed(_))
    ));

    // A huge memory cost is refused before any work is done.
    fs::write(&path, &original).unwrap();
    let mut tampered = sealed.clone();
    tampered[4..8].copy_from_slice(&(2u32 * 1024 * 1024).to_le_bytes());
    replace_line(&path, 2, &STANDARD.encode(&tampered));
    let err = read_key_file(&path, PASSPHRASE).unwrap_err();
    assert!(matches!(err, KeyError::Malformed(_)), "{err:?}");
    assert!(err.to_string().contains("memory cost"), "{err}");

    // Not a key file at all, and a huge file.
    fs::write(&path, b"\x89PNG\r\n\x1a\n").unwrap();
    assert!(matches!(
        read_key_file(&path, PASSPHRASE),
        Err(KeyError::Malformed(_))
    ));
    fs::write(&path, vec![b'a'; 1 << 20]).unwrap();
    assert!(matches!(
        read_public_key(&path),
        Err(KeyError::Malformed(_))
    ));
}

#[test]
fn passphrase_from_a_file_is_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pass");
    let source = PassphraseSource::File(path.clone());
    for content in [
        &b"secret words\n"[..],
        b"secret words",
        b"secret words\r\n",
        b"secret words\nsecond line\n",
    ] {
        fs::write(&path, content).unwrap();
        assert_eq!(
            read_passphrase(&source, true).unwrap().as_slice(),
            b"secret words"
        );
    }
    for empty in [&b""[..], b"\n", b"\r\n", b"\nsecret on line two\n"] {
        fs::write(&path, empty).unwrap();
        assert!(matches!(
            read_passphrase(&source, false),
            Err(KeyError::EmptyPassphrase(_))
        ));
    }
    fs::write(&path, vec![b'x'; 64 * 1024 + 1]).unwrap();
    assert!(matches!(
        read_passphrase(&source, false),
        Err(KeyError::PassphraseFileTooLarge(_))
    ));
    let missing = PassphraseSource::File(dir.path().join("missing"));
    assert!(matches!(
        read_passphrase(&missing, false),
        Err(KeyError::Io { .. })
    ));
}

#[test]
fn passphrase_from_the_environment() {
    let set = "ISSUER_TEST_PASSPHRASE_SET_5f3a";
    let empty = "ISSUER_TEST_PASSPHRASE_EMPTY_5f3a";
    let unset = "ISSUER_TEST_PASSPHRASE_UNSET_5f3a";
    std::env::set_var(set, "from the environment");
    std::env::set_var(empty, "");
    std::env::remove_var(unset);
    assert_eq!(
        read_passphrase(&PassphraseSource::Env(set.into()), false)
            .unwrap()
            .as_slice(),
        b"from the environment"
    );
    assert!(matches!(
        read_passphrase(&PassphraseSource::Env(empty.into()), false),
        Err(KeyError::EmptyPassphrase(_))
    ));
    let err = read_passphrase(&PassphraseSource::Env(unset.into()), false).unwrap_err();
    assert!(matches!(err, KeyError::PassphraseEnvMissing(_)));
    assert!(err.to_string().contains(unset));
}

#[test]
fn a_key_written_with_a_passphrase_file_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let pass_path = dir.path().join("pass");
    fs::write(&pass_path, "written by the office\n").unwrap();
    let passphrase = read_passphrase(&PassphraseSource::File(pass_path), true).unwrap();
    let key = generate_signing_key().unwrap();
    let path = dir.path().join("a.key");
    write_key_file(
        &path,
        &key,
        &passphrase,
        COMMENT,
        KdfParams::fast_for_tests(),
    )
    .unwrap();
    assert_eq!(
        read_key_file(&path, b"written by the office")
            .unwrap()
            .to_bytes(),
        key.to_bytes()
    );
}
