//! Latency of the credentials endpoint (`keyless serve`), measured against the local emulator.
//!
//!     cargo bench --bench server
//!
//! Prints a Markdown table: warm requests (role credentials cached in the kernel keyring) on
//! one kept-alive connection, as SDKs make them, and on a new connection each; cold requests
//! (nothing cached: one GetRoleCredentials each); and bursts of 50 concurrent cold requests,
//! which must make one GetRoleCredentials call between them.
#![allow(clippy::print_stdout)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{BIN, Emulator, Home, pct};
use keyless::sso::records;

const ACCOUNT: &str = "111111111111";
const ROLE: &str = "Developer";

/// A kept-alive HTTP/1.1 connection that sends `GET path` with the token.
struct Conn {
    reader: BufReader<TcpStream>,
    head: String,
}

impl Conn {
    fn open(addr: &str, path: &str, token: &str, close: bool) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let connection = if close { "close" } else { "keep-alive" };
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nAuthorization: {token}\r\nConnection: {connection}\r\n\r\n"
        );
        Conn { reader: BufReader::new(stream), head }
    }

    /// One request; returns the status and the body.
    fn get(&mut self) -> (u16, Vec<u8>) {
        self.reader.get_mut().write_all(self.head.as_bytes()).unwrap();
        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        let code = status.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut len = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        (code, body)
    }
}

fn timed_ok(conn: &mut Conn) -> Duration {
    let t = Instant::now();
    let (code, body) = conn.get();
    let d = t.elapsed();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    d
}

/// Milliseconds with microsecond resolution: a warm request takes a few dozen.
fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let emu = Emulator::start(&[]);
    let home = Home::new("server", &emu.url);
    home.login("bench", "ap-northeast-2");
    std::fs::write(
        home.config(),
        format!(
            "[profile bench]\ncredential_process = {BIN} credential-process --session bench --account {ACCOUNT} --role {ROLE}\n"
        ),
    )
    .unwrap();

    let mut server = home
        .keyless(&["serve", "--profile", "bench"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let uri = lines.next().unwrap().unwrap();
    let token = lines.next().unwrap().unwrap();
    let uri = uri.strip_prefix("AWS_CONTAINER_CREDENTIALS_FULL_URI=").unwrap().to_string();
    let token = token.strip_prefix("AWS_CONTAINER_AUTHORIZATION_TOKEN=").unwrap().to_string();
    let rest = uri.trim_start_matches("http://");
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    let (addr, path) = (addr.to_string(), path.to_string());

    // Warm: one kept-alive connection, as an SDK's HTTP client keeps it.
    let mut conn = Conn::open(&addr, &path, &token, false);
    for _ in 0..100 {
        timed_ok(&mut conn);
    }
    let n = 2000;
    let mut warm: Vec<Duration> = (0..n).map(|_| timed_ok(&mut conn)).collect();
    // Warm, a new connection per request.
    let m = 500;
    let mut fresh: Vec<Duration> = (0..m)
        .map(|_| {
            let t = Instant::now();
            let mut c = Conn::open(&addr, &path, &token, true);
            let (code, _) = c.get();
            assert_eq!(code, 200);
            t.elapsed()
        })
        .collect();

    // Cold: nothing cached, so each request fetches (one GetRoleCredentials round trip).
    let store = keyless::store::open_in("keyutils", &home.namespace).unwrap();
    let role_key = records::role_key("bench", ACCOUNT, ROLE);
    let mut cold: Vec<Duration> = (0..100)
        .map(|_| {
            store.delete(&role_key).unwrap();
            timed_ok(&mut conn)
        })
        .collect();

    // Bursts: 50 concurrent cold requests, one connection each.
    let mut bursts = Vec::new();
    for _ in 0..5 {
        store.delete(&role_key).unwrap();
        let before = emu.calls("GetRoleCredentials");
        let t = Instant::now();
        let threads: Vec<_> = (0..50)
            .map(|_| {
                let (addr, path, token) = (addr.clone(), path.clone(), token.clone());
                std::thread::spawn(move || Conn::open(&addr, &path, &token, true).get().0 == 200)
            })
            .collect();
        let ok = threads.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
        bursts.push((t.elapsed(), ok, emu.calls("GetRoleCredentials") - before));
    }

    println!("| measurement | result |");
    println!("|---|---|");
    println!(
        "| warm request, kept-alive connection: median (p90, p99) of {n} | {} ({}, {}) |",
        ms(pct(&mut warm, 50)),
        ms(pct(&mut warm, 90)),
        ms(pct(&mut warm, 99))
    );
    println!(
        "| warm request, new connection each: median (p90) of {m} | {} ({}) |",
        ms(pct(&mut fresh, 50)),
        ms(pct(&mut fresh, 90))
    );
    println!(
        "| cold request (one GetRoleCredentials): median (p90) of 100 | {} ({}) |",
        ms(pct(&mut cold, 50)),
        ms(pct(&mut cold, 90))
    );
    for (i, (wall, ok, calls)) in bursts.iter().enumerate() {
        println!(
            "| burst {}: 50 concurrent cold requests | {} wall, {ok}/50 succeeded, {calls} GetRoleCredentials |",
            i + 1,
            ms(*wall)
        );
    }

    let _ = std::process::Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
}
