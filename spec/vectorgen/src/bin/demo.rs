//! `cargo run -p vectorgen --bin demo`: the whole chain in one process, at the
//! current time: a demo root and authority, a signed trust bundle and status list,
//! a credential for a realistic licence, a live presentation, and the verdict.

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
    let bundle = fixture::trust_bundle_content();
    let mut bundle = bundle;
    bundle.issued_at = now - fixture::DAY;
    bundle.next_update = now + 30 * fixture::DAY;
    for key in &mut bundle.keys {
        if !key.retired {
            key.valid_from = now - 365 * fixture::DAY;
        }
    }
    let bundle = credential::trust_bundle::TrustBundle::verify(
        &bundle.sign(&fixture::root_key()),
        &fixture::root_key().verifying_key(),
    )
    .expect("demo bundle verifies");
    let mut list = fixture::status_list();
    list.issued_at = now - 60;
    list.next_update = now + fixture::DAY;
    let list =
        credential::status_list::StatusList::verify(&list.sign(&fixture::authority_key()), &bundle)
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
