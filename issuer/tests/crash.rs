//! Crash safety: SIGKILL the batch issuance at random moments, again and again.
//! Each time the registry must open, pass its integrity check and resume; at the
//! end every holder has exactly one credential and no serial was used twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const HOLDERS: usize = 3000;
const KILLS: usize = 20;

#[test]
fn batch_issuance_survives_sigkill_and_resumes_without_reusing_serials() {
    let office = Office::with_authorities();
    let dir = office.dir.path();
    portraits(dir);
    let mut csv = vec![CSV_HEADER.to_string()];
    csv.extend((0..HOLDERS).map(|i| csv_line(i, "good.jpg")));
    let file = write(&dir.join("holders.csv"), csv.join("\n"));
    assert_eq!(
        office.ok(&["holder", "import", file.to_str().unwrap()])["added"],
        HOLDERS
    );

    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut kills_mid_batch = 0;
    let mut attempts = 0;
    while kills_mid_batch < KILLS {
        attempts += 1;
        assert!(
            attempts < 200,
            "the batch keeps finishing before it can be killed"
        );
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Short enough that a run commits at most a few chunks: the batch must not
        // finish before it has been killed KILLS times.
        let delay = Duration::from_millis(5 + seed % 40);
        let mut child = office
            .command(&["--at", &T.to_string(), "issue", "--all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills_mid_batch += 1;
        }
        child.wait().unwrap();
        let check = office.ok(&["check"]);
        assert_eq!(check["integrity"], "ok");
        let issued = check["current_credentials"].as_u64().unwrap() as usize;
        if issued == HOLDERS {
            break;
        }
    }
    let finish = office.ok(&["issue", "--all"]);
    let check = office.ok(&["check"]);
    assert_eq!(
        check["current_credentials"], HOLDERS,
        "after {kills_mid_batch} kills and a final run: {finish}"
    );
    assert!(kills_mid_batch >= KILLS || check["current_credentials"] == HOLDERS);

    let db = office.db();
    let (count, distinct, min, max): (i64, i64, i64, i64) = db
        .query_row("SELECT count(*), count(DISTINCT serial), min(serial), max(serial) FROM credentials WHERE authority_code = '川J'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(
        (count, distinct, min, max),
        (HOLDERS as i64, HOLDERS as i64, 1, HOLDERS as i64),
        "serials are exactly 1..=N, none reused or skipped"
    );
    let per_holder_max: i64 = db
        .query_row(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM credentials GROUP BY holder_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(per_holder_max, 1, "a holder was issued twice");
    let next: i64 = db
        .query_row(
            "SELECT next_serial FROM authorities WHERE code = '川J'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(next, HOLDERS as i64 + 1);
    let audited: i64 = db
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'credential.issue'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        audited, HOLDERS as i64,
        "the audit log matches the credentials"
    );
    eprintln!("{kills_mid_batch} SIGKILLs mid-batch in {attempts} runs");
    assert!(
        kills_mid_batch >= KILLS,
        "only {kills_mid_batch} kills landed mid-batch"
    );
}
