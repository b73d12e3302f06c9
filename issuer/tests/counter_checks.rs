//! Bad data is refused at the first command that can know it, with a stable code,
//! not accepted and turned into a credential every verifier rejects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

/// `holder add` for holder `i` with some fields replaced.
fn add(office: &Office, i: usize, overrides: &[(&str, &str)]) -> std::process::Output {
    let licence = citizen_id(i);
    let birth = citizen_birth_date(i);
    let mut fields = vec![
        ("--licence-number", licence.as_str()),
        ("--name", "赵敏"),
        ("--sex", "女"),
        ("--birth-date", birth.as_str()),
        ("--address", "四川省遂宁市船山区"),
        ("--file-number", "510900123456"),
        ("--first-issue-date", "2008-07-22"),
        ("--classes", "C1"),
        ("--valid-from", "2020-07-22"),
        ("--valid-to", "2030-07-22"),
        ("--authority", "川J"),
    ];
    for (flag, value) in overrides {
        match fields.iter_mut().find(|(f, _)| f == flag) {
            Some(field) => field.1 = value,
            None => fields.push((flag, value)),
        }
    }
    let at = T.to_string();
    let mut args = vec!["--json", "--at", &at, "holder", "add"];
    for (flag, value) in &fields {
        args.push(flag);
        args.push(value);
    }
    office.run(&args)
}

fn refusal_code(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["code"].as_str().unwrap().to_owned()
}

#[test]
fn bad_licence_data_is_refused_at_enrolment_with_its_code() {
    let office = Office::with_authorities();
    // Validity ended 11 months before T (2026-06-01).
    let expired = add(
        &office,
        1,
        &[("--valid-from", "2015-07-01"), ("--valid-to", "2025-07-01")],
    );
    assert_eq!(refusal_code(&expired), "licence_expired");
    let mut wrong_check = citizen_id(2);
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '0' { '1' } else { '0' });
    let wrong = add(&office, 2, &[("--licence-number", &wrong_check)]);
    assert_eq!(refusal_code(&wrong), "citizen_id_check_digit");
    let contradicting = add(&office, 3, &[("--birth-date", "1999-09-09")]);
    assert_eq!(refusal_code(&contradicting), "birth_date_mismatch");
    let unknown = add(&office, 4, &[("--authority", "川Z")]);
    assert_eq!(refusal_code(&unknown), "unknown_authority");
    let chinese = office.run(&[
        "--lang",
        "zh",
        "holder",
        "add",
        "--licence-number",
        &wrong_check,
        "--name",
        "赵敏",
        "--sex",
        "女",
        "--birth-date",
        &citizen_birth_date(2),
        "--address",
        "遂宁",
        "--file-number",
        "510900123456",
        "--first-issue-date",
        "2008-07-22",
        "--classes",
        "C1",
        "--valid-from",
        "2020-07-22",
        "--authority",
        "川J",
    ]);
    assert!(
        String::from_utf8_lossy(&chinese.stderr).contains("校验码"),
        "{}",
        String::from_utf8_lossy(&chinese.stderr)
    );
    // A good one goes through; nothing of the refused ones was stored.
    let good = add(&office, 5, &[]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(office.ok(&["check"])["holders"], 1);
}

#[test]
fn an_update_to_an_unknown_authority_is_a_refusal_not_a_database_error() {
    let office = Office::with_authorities();
    assert!(add(&office, 1, &[]).status.success());
    let out = office.run(&[
        "--json",
        "--at",
        &T.to_string(),
        "holder",
        "update",
        "1",
        "--authority",
        "川Z",
    ]);
    assert_eq!(refusal_code(&out), "unknown_authority");
    let renewal = office.run(&[
        "--json",
        "--at",
        &T.to_string(),
        "holder",
        "update",
        "1",
        "--valid-to",
        "2025-01-01",
    ]);
    assert_eq!(refusal_code(&renewal), "licence_expired");
}

#[test]
fn a_portrait_that_could_never_be_approved_is_refused_when_added() {
    let office = Office::with_authorities();
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = portraits(dir.path());
    assert!(add(&office, 1, &[]).status.success());
    office.ok(&[
        "portrait",
        "add",
        "--holder",
        "1",
        "--source",
        "retained",
        good.to_str().unwrap(),
    ]);
    // A replacement within six months: refused now, not queued for a reviewer.
    let at = (T + 30 * 86_400).to_string();
    let out = office.run(&[
        "--json",
        "--at",
        &at,
        "portrait",
        "add",
        "--holder",
        "1",
        "--source",
        "camera",
        good.to_str().unwrap(),
    ]);
    assert_eq!(refusal_code(&out), "portrait_replaced_too_soon");
    assert_eq!(
        office.ok(&["review", "list"])["pending"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}
