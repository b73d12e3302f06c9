//! Runs spec/vectors: the files equal what the generator produces, and the
//! verifier reaches each vector's expected verdict. Failures are collected and
//! reported together, by vector name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use credential::ed25519_dalek::VerifyingKey;
use credential::status_list::StatusList;
use credential::trust_bundle::TrustBundle;
use credential::{Policy, StatusLists, VerifyError};
use vectorgen::trust_material::DocumentVector;
use vectorgen::Vector;

fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors"))
}

fn json_files(sub: &str) -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(vectors_dir().join(sub))
        .unwrap_or_else(|_| panic!("spec/vectors/{sub} exists (run `cargo run -p vectorgen`)"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

fn load_vectors() -> Vec<Vector> {
    json_files("presentations")
        .iter()
        .map(|p| {
            Vector::from_json(&std::fs::read_to_string(p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

fn load_document_vectors() -> Vec<DocumentVector> {
    json_files("trust-material")
        .iter()
        .map(|p| {
            DocumentVector::from_json(&std::fs::read_to_string(p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

#[test]
fn files_match_the_generator() {
    let dir = vectors_dir();
    let mut stale = Vec::new();
    if std::fs::read_to_string(dir.join("context.json")).ok() != Some(vectorgen::context_json()) {
        stale.push("context.json".to_string());
    }
    let generated = vectorgen::vectors();
    let on_disk = load_vectors();
    for vector in &generated {
        let path = dir
            .join("presentations")
            .join(format!("{}.json", vector.name));
        if std::fs::read_to_string(&path).ok() != Some(vector.to_json()) {
            stale.push(vector.name.clone());
        }
    }
    let generated_names: BTreeSet<_> = generated.iter().map(|v| v.name.as_str()).collect();
    for vector in &on_disk {
        if !generated_names.contains(vector.name.as_str()) {
            stale.push(format!("{} (not generated any more)", vector.name));
        }
    }
    let documents = vectorgen::trust_material::vectors();
    for vector in &documents {
        let path = dir
            .join("trust-material")
            .join(format!("{}.json", vector.name));
        if std::fs::read_to_string(&path).ok() != Some(vector.to_json()) {
            stale.push(format!("trust-material/{}", vector.name));
        }
    }
    let document_names: BTreeSet<_> = documents.iter().map(|v| v.name.as_str()).collect();
    for vector in load_document_vectors() {
        if !document_names.contains(vector.name.as_str()) {
            stale.push(format!(
                "trust-material/{} (not generated any more)",
                vector.name
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "spec/vectors differ from the generator; run `cargo run -p vectorgen`: {stale:?}"
    );
}

fn context_root() -> VerifyingKey {
    let ctx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("context.json")).unwrap())
            .unwrap();
    let root = hex::decode(ctx["root_public_key"].as_str().unwrap()).unwrap();
    VerifyingKey::from_bytes(&root.try_into().unwrap()).unwrap()
}

fn context() -> (TrustBundle, StatusLists) {
    let ctx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("context.json")).unwrap())
            .unwrap();
    let hex_field = |k: &str| hex::decode(ctx[k].as_str().unwrap()).unwrap();
    let root = VerifyingKey::from_bytes(&hex_field("root_public_key").try_into().unwrap()).unwrap();
    let bundle = TrustBundle::verify(&hex_field("trust_bundle"), &root).unwrap();
    let list = StatusList::verify(&hex_field("status_list"), &bundle).unwrap();
    let mut lists = StatusLists::default();
    lists.insert(list);
    (bundle, lists)
}

#[test]
fn every_vector_gets_its_expected_verdict() {
    let (bundle, lists) = context();
    let no_lists = StatusLists::default();
    let vectors = load_vectors();
    let mut failures = Vec::new();
    for v in &vectors {
        // A vector may carry its own list (the compacted one, §10.5), installed
        // against the context's bundle like any list.
        let own_lists = v.status_list.as_ref().map(|bytes| {
            let mut own = StatusLists::default();
            own.insert(StatusList::verify(bytes, &bundle).unwrap());
            own
        });
        let verdict = credential::verify::verify_qr_bytes(
            &v.input,
            &bundle,
            match (&own_lists, v.status_lists) {
                (Some(own), _) => own,
                (None, true) => &lists,
                (None, false) => &no_lists,
            },
            v.now,
            &Policy::default(),
        );
        let got = verdict.reason_code().unwrap_or("valid");
        let warnings: Vec<_> = verdict.warnings.iter().map(|w| w.code()).collect();
        let profile = verdict.outcome.as_ref().ok().map(|p| p.profile.name());
        let authenticated = verdict.authenticated.is_some();
        if got != v.expect
            || warnings != v.warnings
            || profile != v.profile.as_deref()
            || authenticated != v.authenticated
        {
            failures.push(format!(
                "{}: expected {} {:?} {:?} authenticated {}, got {got} {warnings:?} {profile:?} authenticated {authenticated} ({:?})",
                v.name,
                v.expect,
                v.warnings,
                v.profile,
                v.authenticated,
                verdict.outcome.as_ref().err()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_every_reason_code_and_enough_negatives() {
    let vectors = load_vectors();
    let expected: BTreeSet<_> = vectors.iter().map(|v| v.expect.as_str()).collect();
    let missing: Vec<_> = VerifyError::REASON_CODES
        .iter()
        .filter(|c| !expected.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no vector for {missing:?}");
    let invalid = vectors.iter().filter(|v| v.expect != "valid").count();
    assert!(invalid >= 30, "only {invalid} invalid vectors");
    for profile in credential::Profile::ALL {
        assert!(vectors
            .iter()
            .any(|v| v.expect == "valid" && v.profile.as_deref() == Some(profile.name())));
    }
}

#[test]
fn every_trust_material_vector_gets_its_expected_verdict() {
    let root = context_root();
    let (bundle, _) = context();
    let vectors = load_document_vectors();
    let mut failures = Vec::new();
    for v in &vectors {
        let got = match v.kind.as_str() {
            "trust_bundle" => TrustBundle::verify(&v.input, &root).map(drop),
            "status_list" => StatusList::verify(&v.input, &bundle).map(drop),
            other => panic!("{}: unknown kind {other}", v.name),
        };
        let got = got
            .as_ref()
            .map_or_else(|e| e.reason_code(), |()| "accepted");
        if got != v.expect {
            failures.push(format!("{}: expected {}, got {got}", v.name, v.expect));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} trust-material vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    let expected: BTreeSet<_> = vectors.iter().map(|v| v.expect.as_str()).collect();
    let missing: Vec<_> = credential::DocumentError::REASON_CODES
        .iter()
        .filter(|c| !expected.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "no trust-material vector for {missing:?}"
    );
}

#[test]
fn authenticated_content_is_shown_on_both_sides_of_the_signature() {
    let vectors = load_vectors();
    // Both sides of the line: rejections that show the signed content and some that must not.
    assert!(vectors
        .iter()
        .any(|v| v.expect != "valid" && v.authenticated));
    assert!(vectors
        .iter()
        .any(|v| v.expect == "bad_signature" && !v.authenticated));
    for v in &vectors {
        assert_eq!(
            v.authenticated,
            vectorgen::shows_authenticated_content(&v.expect),
            "{}",
            v.name
        );
    }
}
