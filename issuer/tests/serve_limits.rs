//! `issuer serve` against hostile connections: clients trickling headers are
//! disconnected after the header timeout, and past the connection cap new
//! connections are closed at once while the service keeps answering once they go.
//! Loopback only; every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::serve_process::ServeProcess;
use common::Office;

fn serve(office: &Office, extra: &[&str]) -> ServeProcess {
    ServeProcess::start(office.command(&[]), extra, None)
}

/// Whether the server closed `stream` within `limit` (EOF or reset), reading
/// whatever it sends.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buffer = [0u8; 512];
    while Instant::now() < deadline {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

fn health(address: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: issuer\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn clients_trickling_headers_are_disconnected() {
    let office = Office::with_authorities();
    let server = serve(&office, &["--header-timeout", "1"]);
    let mut slow: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut stream = TcpStream::connect(server.address).unwrap();
            stream
                .write_all(b"POST /v1/refresh HTTP/1.1\r\nHost: issuer\r\n")
                .unwrap();
            stream
        })
        .collect();
    // Keep trickling a header line now and then; the server must still hang up.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut open: Vec<usize> = (0..slow.len()).collect();
    while !open.is_empty() && Instant::now() < deadline {
        open.retain(|&i| {
            let _ = slow[i].write_all(b"X-Slow: 1\r\n");
            !closed_within(&mut slow[i], Duration::from_millis(100))
        });
    }
    assert!(
        open.is_empty(),
        "{} of 50 trickling connections still open after 20 s",
        open.len()
    );
    let answer = health(server.address).expect("the service still answers");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn past_the_connection_cap_new_connections_are_closed_and_service_resumes() {
    let office = Office::with_authorities();
    let server = serve(
        &office,
        &["--max-connections", "20", "--header-timeout", "60"],
    );
    let held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(server.address).unwrap())
        .collect();
    // Let the server accept the 20 before the one past the cap arrives.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(server.address).unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(10)),
        "the 21st connection was kept open"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answer = None;
    while answer.is_none() && Instant::now() < deadline {
        answer = health(server.address).filter(|a| a.starts_with("HTTP/1.1 200"));
        if answer.is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(
        answer.is_some(),
        "the service did not answer after the held connections closed"
    );
}
