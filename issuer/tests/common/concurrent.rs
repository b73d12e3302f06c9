//! Helpers for the concurrency suite (tests/concurrency.rs): clerks as real `issuer`
//! processes started at the same moment, `issuer serve` instances, wallets
//! refreshing from them in threads, and read-only views of the registry database
//! and its audit log, from which the invariants are checked.
//!
//! Everything the suite reads from the database goes through [`RegistryView`], so
//! a schema change is adapted in one place.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use wallet_core::{HttpClient, RefreshOutcome, Wallet, WalletError};

use super::serve_process::ServeProcess;
use super::{Office, CSV_HEADER};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A valid 18-digit citizen ID (GB 11643) for enrolment line `i`, unique for
/// every `i` below 480,000: region 510903, a birth date from `i / 1000` (the
/// same date the line gives as birth_date), sequence `i % 1000` (odd = male, as
/// the standard says), check digit. Valid so that stricter validation of licence
/// numbers at enrolment cannot make these tests enrol nothing.
pub fn licence_number(i: usize) -> String {
    super::with_check_digit(&format!(
        "510903{}{:03}",
        birth_date(i).replace('-', ""),
        i % 1000
    ))
}

/// The birth date of enrolment line `i` (the one its licence number encodes).
pub fn birth_date(i: usize) -> String {
    let k = i / 1000;
    format!("{}-{:02}-{:02}", 1950 + k / 12 % 40, 1 + k % 12, 1 + i % 28)
}

/// The `i` of [`licence_number`]`(i)`: the birth date gives `i / 1000`, the
/// sequence `i % 1000`.
pub fn index_of_licence_number(number: &str) -> Option<usize> {
    let year: usize = number.get(6..10)?.parse().ok()?;
    let month: usize = number.get(10..12)?.parse().ok()?;
    let sequence: usize = number.get(14..17)?.parse().ok()?;
    let i = ((year.checked_sub(1950)?) * 12 + month.checked_sub(1)?) * 1000 + sequence;
    (licence_number(i) == number).then_some(i)
}

/// One enrolment CSV line for holder `i` (columns of [`CSV_HEADER`]), with the
/// device key and the retained portrait's file name if given.
pub fn enrolment_line(i: usize, device_key: Option<&[u8; 32]>, portrait: Option<&str>) -> String {
    format!(
        "{},持证人{i},{},CHN,{},四川省遂宁市船山区明月路{i}号,5109{i:08},2010-07-22,C1,2020-07-22,2030-07-22,川J,0,app,{},{}",
        licence_number(i),
        if i % 2 == 1 { "男" } else { "女" },
        birth_date(i),
        device_key.map(hex::encode).unwrap_or_default(),
        portrait.unwrap_or_default(),
    )
}

/// Writes `lines` under the header to `dir/name`.
pub fn write_csv(dir: &Path, name: &str, lines: impl IntoIterator<Item = String>) -> PathBuf {
    let mut text = String::from(CSV_HEADER);
    text.push('\n');
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    super::write(&dir.join(name), text)
}

/// A finished clerk command.
#[derive(Debug)]
pub struct Finished {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }

    /// `issuer revoke --holder 3 -> exit 2: issuer: database is locked`, with the
    /// start of the JSON report when the command said nothing on stderr.
    pub fn describe(&self) -> String {
        let said = match self.stderr.trim() {
            "" => self.stdout.chars().take(400).collect(),
            stderr => stderr.to_owned(),
        };
        format!(
            "issuer {} -> exit {:?}: {said}",
            self.args.join(" "),
            self.code
        )
    }
}

/// A clerk command on its way.
pub struct Started {
    args: Vec<String>,
    registry: PathBuf,
    child: Child,
}

/// A clerk command with `--json`, started now (wall clock, no `--at`).
pub fn start(office: &Office, args: &[String]) -> Started {
    let mut full = vec!["--json".to_owned()];
    full.extend_from_slice(args);
    let child = office
        .command(&full.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Started {
        args: args.to_vec(),
        registry: office.registry(),
        child,
    }
}

impl Started {
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Waits for the command; like `Office::run`, fails if its output shows a secret.
pub fn finish(started: Started) -> Finished {
    let output = started.child.wait_with_output().unwrap();
    super::assert_no_secret(&started.registry, &output);
    Finished {
        args: started.args,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs one clerk command to its end.
pub fn clerk(office: &Office, args: &[String]) -> Finished {
    finish(start(office, args))
}

/// Starts every command before waiting for any, so that they run at the same moment.
pub fn together(office: &Office, commands: &[Vec<String>]) -> Vec<Finished> {
    let started: Vec<_> = commands.iter().map(|args| start(office, args)).collect();
    started.into_iter().map(finish).collect()
}

/// `["revoke", "--holder", "7"]` from `"revoke --holder 7"` (arguments without spaces).
pub fn args(words: &str) -> Vec<String> {
    words.split_whitespace().map(str::to_owned).collect()
}

/// What kind of command: `revoke`, `points add`, `issue --all`, `holder import`.
fn kind(args: &[String]) -> String {
    match args.first().map(String::as_str) {
        Some("holder" | "points" | "issue") => args[..args.len().min(2)].join(" "),
        _ => args.first().cloned().unwrap_or_default(),
    }
}

/// None when every command exited 0, else how many of each kind failed and the
/// first failure: "3 of 40 clerk commands failed (revoke 2 of 8, holder import
/// 1 of 6; 2 with \"database is locked\"); first: issuer ... -> exit 2: ...".
pub fn failure_summary<'a>(finished: impl IntoIterator<Item = &'a Finished>) -> Option<String> {
    let mut by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut total = 0;
    for f in finished {
        total += 1;
        let entry = by_kind.entry(kind(&f.args)).or_default();
        entry.1 += 1;
        if !f.ok() {
            entry.0 += 1;
            failed.push(f);
        }
    }
    let locked = failed
        .iter()
        .filter(|f| {
            f.stderr.contains("database is locked") || f.stdout.contains("database is locked")
        })
        .count();
    let first = failed.first()?;
    let kinds: Vec<String> = by_kind
        .iter()
        .filter(|(_, (failed, _))| *failed > 0)
        .map(|(kind, (failed, total))| format!("{kind} {failed} of {total}"))
        .collect();
    Some(format!(
        "{} of {total} clerk commands failed ({}; {locked} with \"database is locked\"); first: {}",
        failed.len(),
        kinds.join(", "),
        first.describe()
    ))
}

/// One row of the audit log; `old` and `new` are parsed JSON (Null when absent).
#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub action: String,
    pub subject: String,
    pub old: Value,
    pub new: Value,
}

/// One issued credential.
#[derive(Clone, Debug)]
pub struct CredentialRow {
    pub authority: String,
    pub serial: i64,
    pub holder: i64,
    pub state: String,
}

/// The registry database opened read-only, as an auditor would look at it: the
/// SQLite file, or the PostgreSQL database of the office (the same SQL on both).
pub enum RegistryView {
    Sqlite(rusqlite::Connection),
    Postgres(Box<std::cell::RefCell<postgres::Client>>),
}

/// One column's value, as both databases give it.
enum Cell {
    Integer(i64),
    Text(Option<String>),
}

impl Cell {
    fn integer(&self) -> i64 {
        match self {
            Cell::Integer(v) => *v,
            Cell::Text(t) => panic!("expected an integer, found {t:?}"),
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Integer(v) => panic!("expected text, found {v}"),
        }
    }
}

impl RegistryView {
    pub fn open(office: &Office) -> RegistryView {
        if let Some(url) = &office.database {
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            client
                .batch_execute("SET default_transaction_read_only = on")
                .unwrap();
            return RegistryView::Postgres(Box::new(std::cell::RefCell::new(client)));
        }
        let conn = rusqlite::Connection::open_with_flags(
            office.registry().join("registry.sqlite"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        RegistryView::Sqlite(conn)
    }

    /// Every row of `sql`, whose columns are integers (`i`) or text (`t`) as `kinds` says.
    fn rows(&self, sql: &str, kinds: &str) -> Vec<Vec<Cell>> {
        match self {
            RegistryView::Sqlite(conn) => {
                let mut statement = conn.prepare(sql).unwrap();
                let rows = statement
                    .query_map([], |r| {
                        kinds
                            .chars()
                            .enumerate()
                            .map(|(i, kind)| {
                                Ok(match kind {
                                    'i' => Cell::Integer(r.get(i)?),
                                    _ => Cell::Text(r.get(i)?),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<Cell>>>()
                    })
                    .unwrap();
                rows.map(Result::unwrap).collect()
            }
            RegistryView::Postgres(client) => client
                .borrow_mut()
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| {
                    kinds
                        .chars()
                        .enumerate()
                        .map(|(i, kind)| match kind {
                            'i' => Cell::Integer(r.get(i)),
                            _ => Cell::Text(r.get(i)),
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Holder ids by licence number.
    pub fn holder_ids(&self) -> HashMap<String, i64> {
        self.rows("SELECT licence_number, id FROM holders", "ti")
            .into_iter()
            .map(|r| (r[0].text().unwrap(), r[1].integer()))
            .collect()
    }

    /// The audit log in id order.
    pub fn audit(&self) -> Vec<AuditRow> {
        let parse =
            |text: Option<String>| text.map_or(Value::Null, |t| serde_json::from_str(&t).unwrap());
        self.rows(
            "SELECT id, action, subject, old, new FROM audit ORDER BY id",
            "itttt",
        )
        .into_iter()
        .map(|r| AuditRow {
            id: r[0].integer(),
            action: r[1].text().unwrap(),
            subject: r[2].text().unwrap(),
            old: parse(r[3].text()),
            new: parse(r[4].text()),
        })
        .collect()
    }

    pub fn credentials(&self) -> Vec<CredentialRow> {
        self.rows(
            "SELECT authority_code, serial, holder_id, state FROM credentials",
            "tiit",
        )
        .into_iter()
        .map(|r| CredentialRow {
            authority: r[0].text().unwrap(),
            serial: r[1].integer(),
            holder: r[2].integer(),
            state: r[3].text().unwrap(),
        })
        .collect()
    }
}

/// Audit rows of `action` by subject (the holder id as text for holder actions).
pub fn rows_by_subject<'a>(
    audit: &'a [AuditRow],
    action: &str,
) -> BTreeMap<&'a str, Vec<&'a AuditRow>> {
    let mut by_subject: BTreeMap<&str, Vec<&AuditRow>> = BTreeMap::new();
    for row in audit.iter().filter(|r| r.action == action) {
        by_subject.entry(&row.subject).or_default().push(row);
    }
    by_subject
}

/// Serials that break "unique and dense from 1" per authority, described.
pub fn serial_gaps(credentials: &[CredentialRow]) -> Vec<String> {
    let mut by_authority: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for c in credentials {
        by_authority.entry(&c.authority).or_default().push(c.serial);
    }
    let mut problems = Vec::new();
    for (authority, mut serials) in by_authority {
        serials.sort_unstable();
        let expected: Vec<i64> = (1..=serials.len() as i64).collect();
        if serials != expected {
            problems.push(format!(
                "{authority}: {} serials are not 1..={} (first: {:?})",
                serials.len(),
                serials.len(),
                &serials[..serials.len().min(10)]
            ));
        }
    }
    problems
}

/// Consecutive status changes of one holder (revoke, suspend, points, ...) that do
/// not chain: a change whose `old` is not the `new` of the change committed just
/// before it wrote over a state it never saw (a lost update), or the log is not in
/// commit order.
pub fn broken_status_chains(audit: &[AuditRow]) -> Vec<String> {
    let mut last: HashMap<&str, &AuditRow> = HashMap::new();
    let mut broken = Vec::new();
    for row in audit
        .iter()
        .filter(|r| r.action.starts_with("status.") || r.action.starts_with("points."))
    {
        if let Some(previous) = last.get(row.subject.as_str()) {
            let seen = (&row.old["status"], &row.old["points"]);
            let committed = (&previous.new["status"], &previous.new["points"]);
            if seen != committed {
                broken.push(format!(
                    "holder {}: audit #{} {} started from status {} points {} but #{} {} had committed status {} points {}",
                    row.subject, row.id, row.action, seen.0, seen.1, previous.id, previous.action, committed.0, committed.1
                ));
            }
        }
        last.insert(&row.subject, row);
    }
    broken
}

/// Problems with the log of issued credentials: a credential without exactly one
/// `credential.issue` row, or serials of one authority not increasing with the
/// audit id (a serial is allocated in the transaction that writes its row, so in
/// commit order they increase).
pub fn issue_log_problems(audit: &[AuditRow], credentials: &[CredentialRow]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut logged: HashMap<String, usize> = HashMap::new();
    let mut last: HashMap<String, (i64, i64)> = HashMap::new();
    for row in audit.iter().filter(|r| r.action == "credential.issue") {
        let reference = row.new["serial"].as_str().unwrap_or_default().to_owned();
        *logged.entry(reference.clone()).or_default() += 1;
        let Some((authority, serial)) = reference.rsplit_once('/') else {
            problems.push(format!("audit #{} names no serial: {}", row.id, row.new));
            continue;
        };
        let serial: i64 = serial.parse().unwrap_or(-1);
        if let Some((id, previous)) = last.get(authority) {
            if serial <= *previous {
                problems.push(format!(
                    "audit #{} issued {reference} after #{id} issued {authority}/{previous}",
                    row.id
                ));
            }
        }
        last.insert(authority.to_owned(), (row.id, serial));
    }
    for c in credentials {
        let reference = format!("{}/{}", c.authority, c.serial);
        match logged.get(&reference) {
            Some(1) => {}
            n => problems.push(format!(
                "credential {reference} has {} credential.issue rows",
                n.unwrap_or(&0)
            )),
        }
    }
    if logged.len() > credentials.len() {
        problems.push(format!(
            "{} serials in credential.issue rows for {} credentials",
            logged.len(),
            credentials.len()
        ));
    }
    problems
}

/// Refreshes of `holder` committed after its revocation (audit order).
pub fn refreshes_after_revocation(audit: &[AuditRow], holder: i64) -> usize {
    let subject = holder.to_string();
    let Some(revoked) = audit
        .iter()
        .find(|r| r.action == "status.revoke" && r.subject == subject)
    else {
        return 0;
    };
    audit
        .iter()
        .filter(|r| r.action == "credential.refresh" && r.subject == subject && r.id > revoked.id)
        .count()
}

/// `issuer --json holder show ID`.
pub fn holder_show(office: &Office, id: i64) -> Value {
    let shown = clerk(office, &args(&format!("holder show {id}")));
    assert!(shown.ok(), "{}", shown.describe());
    shown.json()
}

/// A running `issuer serve` on a free loopback port; killed when dropped.
pub struct Service(ServeProcess);

impl Service {
    /// Starts `issuer serve` with a rate limit no wallet loop reaches.
    pub fn start(office: &Office, name: &str) -> Service {
        let log = office.dir.path().join(format!("{name}.log"));
        Service(ServeProcess::start(
            office.command(&[]),
            &["--refreshes-per-hour", "1000000"],
            Some(&log),
        ))
    }

    pub fn client(&self) -> HttpClient {
        HttpClient::new(&self.0.base_url())
            .unwrap()
            .with_timeout(Duration::from_secs(60))
    }

    pub fn log(&self) -> String {
        self.0.log()
    }
}

/// Issues holder `id`'s first credential to a new wallet at `dir`, as at the
/// counter (`issue --holder --device-key --out`), and enrols the wallet with it.
pub fn wallet_for(office: &Office, id: i64, dir: &Path) -> Wallet {
    let mut wallet = Wallet::init(dir).unwrap();
    let package = dir.with_extension("package.cbor");
    let issued = clerk(
        office,
        &args(&format!(
            "issue --holder {id} --device-key {} --out {}",
            hex::encode(wallet.public_key()),
            package.display()
        )),
    );
    assert!(issued.ok(), "{}", issued.describe());
    wallet
        .enrol(&std::fs::read(&package).unwrap(), now())
        .unwrap();
    wallet
}

/// `copies` more wallets with `wallet`'s device key and credential (the same
/// phone's state copied), so that one holder can refresh from several threads.
pub fn copies_of(wallet: &Wallet, copies: usize) -> Vec<Wallet> {
    (0..copies)
        .map(|n| {
            let dir = wallet.dir().with_extension(format!("copy-{n}"));
            std::fs::create_dir(&dir).unwrap();
            for file in [
                wallet_core::wallet::KEY_FILE,
                wallet_core::wallet::STATE_FILE,
            ] {
                std::fs::copy(wallet.dir().join(file), dir.join(file)).unwrap();
            }
            Wallet::open(&dir).unwrap()
        })
        .collect()
}

/// What one wallet's refresh loop got.
#[derive(Debug, Default)]
pub struct RefreshTally {
    pub fresh: usize,
    pub suspended: usize,
    pub revoked: usize,
    /// `unavailable` answers (the service failed, e.g. on a busy database).
    pub unavailable: usize,
    /// A fresh or suspended credential for a request sent after the office's
    /// `revoke` had returned.
    pub fresh_after_revocation: usize,
    pub other: Vec<String>,
}

impl RefreshTally {
    pub fn add(&mut self, other: RefreshTally) {
        self.fresh += other.fresh;
        self.suspended += other.suspended;
        self.revoked += other.revoked;
        self.unavailable += other.unavailable;
        self.fresh_after_revocation += other.fresh_after_revocation;
        self.other.extend(other.other);
    }
}

/// Refreshes `wallet` as fast as the services answer, round robin over `clients`,
/// until `stop` (at most `max` refreshes or `limit` time). `revoked` says the
/// office's revocation of this holder has returned: from then on every answer
/// must be `revoked`; after the first one the loop ends.
pub fn refresh_loop(
    wallet: &mut Wallet,
    clients: &[HttpClient],
    stop: &AtomicBool,
    revoked: Option<&AtomicBool>,
    max: usize,
    limit: Duration,
) -> RefreshTally {
    let mut tally = RefreshTally::default();
    let deadline = Instant::now() + limit;
    for n in 0..max {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            break;
        }
        let revocation_returned = revoked.is_some_and(|r| r.load(Ordering::SeqCst));
        let client = &clients[n % clients.len()];
        match wallet.refresh(client, now(), wallet_core::random_nonce().unwrap()) {
            Ok(RefreshOutcome::Revoked { .. }) => {
                tally.revoked += 1;
                if revocation_returned {
                    break;
                }
            }
            Ok(RefreshOutcome::Suspended { .. }) => {
                tally.suspended += 1;
                tally.fresh_after_revocation += usize::from(revocation_returned);
            }
            Ok(RefreshOutcome::Refreshed { .. } | RefreshOutcome::Replaced { .. }) => {
                tally.fresh += 1;
                tally.fresh_after_revocation += usize::from(revocation_returned);
            }
            Err(WalletError::Refused {
                refusal: credential::refresh::Refusal::Unavailable,
                ..
            }) => tally.unavailable += 1,
            Err(other) => tally.other.push(other.to_string()),
        }
    }
    tally
}
