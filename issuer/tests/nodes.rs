//! Several `issuer serve` nodes over one PostgreSQL registry, as behind a load
//! balancer: real binaries, wallets' requests posted to one node or the other.
//! What one node committed binds the other: a request replayed on the other node
//! is `replayed`, the rate limit counts refreshes on both, a revocation committed
//! by a clerk (`issuer revoke`) is refused on the next refresh at either node, and
//! a wallet whose node is killed (-9) refreshes on the other, with every `ok`
//! answer matching exactly one audit row. And a group commit that fails (the
//! database refuses it at COMMIT) answers `unavailable` to its requests, never
//! `ok`, and keeps nothing of them. Skips without PostgreSQL (except under
//! `CI=true`, see `common/postgres_server.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use credential::ed25519_dalek::SigningKey;
use credential::refresh::{RefreshRequest, RefreshResponse};
use wallet_core::HttpClient;

use common::concurrent::{enrolment_line, licence_number, now, write_csv, RegistryView};
use common::serve_process::ServeProcess;
use common::{device_key, portraits, Office};

/// Refreshes per holder per hour on both nodes.
const LIMIT: usize = 4;

/// A node of the deployment.
struct Node {
    process: ServeProcess,
    client: HttpClient,
}

impl Node {
    fn start(office: &Office, name: &str, limit: usize) -> Node {
        let log = office.dir.path().join(format!("{name}.log"));
        let limit = limit.to_string();
        let process = ServeProcess::start(
            office.command(&[]),
            &["--refreshes-per-hour", &limit],
            Some(&log),
        );
        let client = HttpClient::new(&process.base_url()).unwrap();
        Node { process, client }
    }

    /// Posts a signed request: the answer's code, or `None` when the node did not
    /// answer (connection refused or reset).
    fn refresh(&self, body: &[u8]) -> Option<&'static str> {
        let response = self.client.post("application/cbor", body).ok()?;
        let decoded = RefreshResponse::decode(&response.body)
            .unwrap_or_else(|e| panic!("status {}: not a refresh response ({e})", response.status));
        Some(decoded.code())
    }
}

/// A signed request from phone `key` with nonce `n`, made now.
fn signed(key: &SigningKey, n: u64) -> Vec<u8> {
    let mut nonce = [0u8; 16];
    nonce[8..].copy_from_slice(&n.to_be_bytes());
    RefreshRequest {
        device_key: key.verifying_key().to_bytes(),
        requested_at: now(),
        nonce,
        current: None,
    }
    .sign_with(|m| Ok::<_, ()>(credential::signature::sign(key, m)))
    .unwrap()
}

/// How many refreshes of `holder` the audit log records.
fn audited_refreshes(office: &Office, holder: i64) -> usize {
    let subject = holder.to_string();
    RegistryView::open(office)
        .audit()
        .iter()
        .filter(|row| row.action == "credential.refresh" && row.subject == subject)
        .count()
}

/// An office on PostgreSQL with holders of lines `lines`, each with a credential;
/// their ids by line. `None` without PostgreSQL.
fn office_with_holders(lines: std::ops::Range<usize>) -> Option<(Office, Vec<i64>)> {
    let office = Office::on_postgres()?;
    office.add_authorities();
    portraits(office.dir.path());
    let csv = write_csv(
        office.dir.path(),
        "holders.csv",
        lines.clone().map(|i| {
            let key = device_key(i).verifying_key().to_bytes();
            enrolment_line(i, Some(&key), Some("good.jpg"))
        }),
    );
    office.ok_at(now(), &["holder", "import", csv.to_str().unwrap()]);
    let issued = office.ok_at(now(), &["issue", "--all"]);
    assert_eq!(issued["issued"], lines.len(), "{issued}");
    let ids = RegistryView::open(&office).holder_ids();
    let ids = lines.map(|i| ids[&licence_number(i)]).collect();
    Some((office, ids))
}

#[test]
fn a_failed_commit_answers_unavailable_and_never_ok() {
    let Some((office, ids)) = office_with_holders(0..2) else {
        eprintln!("skipped: no PostgreSQL for the tests");
        return;
    };
    let (doomed, fine) = (ids[0], ids[1]);
    // The database refuses, at COMMIT, any transaction that refreshed holder 0:
    // the decision succeeds, the shared commit fails.
    let mut admin =
        postgres::Client::connect(office.database.as_deref().unwrap(), postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$;
             CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON audit
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                 WHEN (NEW.action = 'credential.refresh' AND NEW.subject = '{doomed}')
                 EXECUTE FUNCTION refuse_commit();"
        ))
        .unwrap();
    let node = Node::start(&office, "a", 1000);
    // Both holders at once, so that some of holder 1's requests share a batch
    // with holder 0's: those must fail with it, never be answered `ok`.
    let answers: Vec<(usize, Option<&str>)> = std::thread::scope(|s| {
        let node = &node;
        let threads: Vec<_> = (0..16u64)
            .map(|n| {
                let phone = (n % 2) as usize;
                s.spawn(move || (phone, node.refresh(&signed(&device_key(phone), n))))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let codes = |phone: usize| -> Vec<&str> {
        answers
            .iter()
            .filter(|(p, _)| *p == phone)
            .map(|(_, code)| code.expect("the node answered"))
            .collect()
    };
    assert_eq!(codes(0), ["unavailable"; 8]);
    assert!(
        codes(1).iter().all(|c| ["ok", "unavailable"].contains(c)),
        "{:?}",
        codes(1)
    );
    let oks = codes(1).iter().filter(|c| **c == "ok").count();
    assert_eq!(audited_refreshes(&office, doomed), 0);
    assert_eq!(audited_refreshes(&office, fine), oks);
    assert!(node.process.log().contains("503 unavailable"));
    // Nothing of the failed commits stayed: not even the nonce.
    admin
        .batch_execute("DROP TRIGGER refuse_commit ON audit")
        .unwrap();
    assert_eq!(node.refresh(&signed(&device_key(0), 0)), Some("ok"));
    assert_eq!(audited_refreshes(&office, doomed), 1);
}

#[test]
fn two_nodes_over_one_database_share_nonces_limits_revocations_and_survive_a_kill() {
    let Some((office, ids)) = office_with_holders(0..4) else {
        eprintln!("skipped: no PostgreSQL for the tests");
        return;
    };
    let id = |i: usize| ids[i];
    let mut a = Node::start(&office, "a", LIMIT);
    let b = Node::start(&office, "b", LIMIT);

    // A request answered by node A is a replay at node B (and at A itself).
    let first = signed(&device_key(0), 1);
    assert_eq!(a.refresh(&first), Some("ok"));
    assert_eq!(b.refresh(&first), Some("replayed"));
    assert_eq!(a.refresh(&first), Some("replayed"));

    // The limit counts the refreshes made on both nodes.
    let phone = device_key(1);
    let answers: Vec<_> = (0..LIMIT as u64 + 2)
        .map(|n| [&a, &b][n as usize % 2].refresh(&signed(&phone, n)))
        .collect();
    let mut expected = vec![Some("ok"); LIMIT];
    expected.extend([Some("rate_limited"); 2]);
    assert_eq!(answers, expected);

    // A revocation committed by a clerk is refused on either node's next refresh.
    let phone = device_key(2);
    assert_eq!(b.refresh(&signed(&phone, 1)), Some("ok"));
    office.ok_at(now(), &["revoke", "--holder", &id(2).to_string()]);
    assert_eq!(a.refresh(&signed(&phone, 2)), Some("revoked"));
    assert_eq!(b.refresh(&signed(&phone, 3)), Some("revoked"));
    assert_eq!(audited_refreshes(&office, id(2)), 1);

    // Node A dies (kill -9): the wallet's next request gets no answer from it and is
    // sent, unchanged, to node B. Every `ok` is exactly one audit row.
    let phone = device_key(3);
    let mut oks = 0;
    for n in 0..2 {
        oks += usize::from(a.refresh(&signed(&phone, n)) == Some("ok"));
    }
    a.process.kill();
    let retried = signed(&phone, 2);
    assert_eq!(a.refresh(&retried), None, "a killed node answered");
    assert_eq!(b.refresh(&retried), Some("ok"));
    oks += 1;
    assert_eq!((oks, audited_refreshes(&office, id(3))), (3, 3));
    assert!(b.process.log().contains("200 ok"), "{}", b.process.log());
}
