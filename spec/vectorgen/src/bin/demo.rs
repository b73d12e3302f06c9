//! `cargo run -p vectorgen --bin demo`: the whole chain in one process, at the
//! current time: a demo root and authority, a signed trust bundle and status list,
//! a credential for a realistic licence, a live presentation, and the verdict.
//!
//! With `--out DIR` it also writes what a verifier device needs (`root.pub`,
//! `trust-bundle.cbor`, `status-list.cbor`) and the live QR text (`qr.txt`), so the
//! `verifier` CLI can be tried on them (README).

// A demo with fixed inputs: a failure is a bug in the demo, so it may panic.
#![allow(clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use credential::issue::IssueParams;
use credential::verify::CheckOutcome;
use credential::{Policy, Profile, StatusLists};
use vectorgen::fixture;

fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut bundle = fixture::trust_bundle_content();
    // The version is the signing time, so every run's bundle is newer than the last
    // one installed: the README's try-out can be run again into the same store
    // (a re-signed bundle under an old version number would be refused as a conflict).
    bundle.version = now;
    bundle.issued_at = now - fixture::DAY;
    bundle.next_update = now + 30 * fixture::DAY;
    for key in &mut bundle.keys {
        if !key.retired {
            key.valid_from = now - 365 * fixture::DAY;
        }
    }
    let bundle_bytes = bundle.sign(&fixture::root_key());
    let bundle = credential::trust_bundle::TrustBundle::verify(
        &bundle_bytes,
        &fixture::root_key().verifying_key(),
    )
    .expect("demo bundle verifies");
    let mut list = fixture::status_list();
    list.issued_at = now - 60;
    list.next_update = now + fixture::DAY;
    let list_bytes = list.sign(&fixture::authority_key());
    let list = credential::status_list::StatusList::verify(&list_bytes, &bundle)
        .expect("demo status list verifies");
    let mut lists = StatusLists::default();
    lists.insert(list);

    let params = IssueParams {
        serial: fixture::SERIAL,
        issued_at: now - 3600,
        expires_at: now + 7 * fixture::DAY,
        device_key: fixture::device_key().verifying_key().to_bytes(),
    };
    let profile = Profile::Rental;
    let credential = fixture::credential(
        &fixture::licence(),
        profile,
        &params,
        &fixture::authority_key(),
    );
    let text = credential::qr_text::to_qr_text(
        &fixture::present(credential, profile, now, &fixture::device_key()).encode(),
    );
    println!("QR text ({} chars):\n{text}\n", text.len());
    let args: Vec<String> = std::env::args().collect();
    if let Some(dir) = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
    {
        let dir = std::path::Path::new(dir);
        std::fs::create_dir_all(dir).expect("create the output directory");
        let root = hex::encode(fixture::root_key().verifying_key().as_bytes());
        let files: [(&str, Vec<u8>); 4] = [
            (
                "root.pub",
                format!("untrusted comment: demo national root public key\n{root}\n").into_bytes(),
            ),
            ("trust-bundle.cbor", bundle_bytes.clone()),
            ("status-list.cbor", list_bytes.clone()),
            ("qr.txt", text.clone().into_bytes()),
        ];
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).expect("write a demo file");
        }
        println!(
            "wrote root.pub, trust-bundle.cbor, status-list.cbor and qr.txt to {}\n",
            dir.display()
        );
    }

    let verdict = credential::verify(&text, &bundle, &lists, now, &Policy::default());
    match &verdict.outcome {
        Ok(p) => println!(
            "VALID  {} profile, issued by {} {}, serial {}",
            p.profile, p.issuer, p.issuer_name, p.serial
        ),
        Err(e) => println!("REJECTED  {} ({})", e, e.reason_code()),
    }
    if let Ok(p) = &verdict.outcome {
        let l = &p.licence;
        println!(
            "  name {}  licence {}  classes {}  status {}",
            l.name.as_deref().unwrap_or("-"),
            l.licence_number.as_deref().unwrap_or("-"),
            l.classes.map(|c| c.to_string()).unwrap_or_default(),
            l.status.map(|s| s.to_string()).unwrap_or_default()
        );
    }
    println!("checks:");
    for check in &verdict.checks {
        let outcome = match &check.outcome {
            CheckOutcome::Passed => "passed".to_string(),
            CheckOutcome::Warning(w) => format!("warning: {}", w.message()),
            CheckOutcome::Failed(code) => format!("FAILED: {code}"),
            CheckOutcome::NotRun => "not run".to_string(),
        };
        println!("  {:24} {outcome}", check.name);
    }
}
