//! Latency budget of `keyless credential-process`, measured against the local emulator.
//!
//!     cargo bench --bench credential_process     # the full run (release build)
//!     cargo test --bench credential_process      # a smoke run: few calls, debug build
//!
//! The smoke run (any run without cargo's `--bench` flag, or with `--quick`) checks that
//! every step works and prints the same table from a handful of calls; its figures are not
//! the budget (a debug build, few samples) and nothing in it is a timed assertion.
//!
//! Prints a Markdown table: warm calls (credentials cached in the kernel keyring) against
//! spawning a no-op binary, their peak memory, the cold path against one raw
//! GetRoleCredentials round trip, and bursts of 50 concurrent cold calls.
//!
//! It compiles everywhere but runs on Linux only: it measures the kernel keyring and compares
//! with `/bin/true`.
#![allow(clippy::print_stdout)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Emulator, Home, START_URL, ms, pct};
use keyless::sso::records::{self, Token};

const ACCOUNT: &str = "111111111111";
const ROLE: &str = "Developer";

/// `keyless credential-process` for the benchmark's role.
fn credential_process(home: &Home) -> Command {
    home.keyless(&[
        "credential-process",
        "--session",
        "bench",
        "--account",
        ACCOUNT,
        "--role",
        ROLE,
    ])
}

fn run_ok(mut c: Command) -> Duration {
    let t = Instant::now();
    let out = c.stdout(Stdio::piped()).stderr(Stdio::piped()).output().expect("spawn");
    let d = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d
}

/// Peak RSS (KiB) of the largest child this process has waited for.
#[cfg(unix)]
#[allow(unsafe_code)]
fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage only writes the struct we pass, which is zero-initialised and owned.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss
    }
}

#[cfg(not(unix))]
fn children_max_rss_kib() -> i64 {
    unreachable!("main refuses to run off Linux")
}

/// One raw GetRoleCredentials over a fresh connection, as the SDK makes it.
fn raw_round_trip(url: &str, token: &str) -> Duration {
    let addr = url.trim_start_matches("http://");
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /federation/credentials?role_name={ROLE}&account_id={ACCOUNT} HTTP/1.1\r\nHost: {addr}\r\nx-amz-sso_bearer_token: {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let d = t.elapsed();
    assert!(resp.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&resp));
    d
}

/// Re-executed as a child: runs warm calls so that RUSAGE_CHILDREN sees only those.
fn warm_loop(n: usize) {
    // The parent's HOME: the parent removes it, so this copy must not.
    let home = std::mem::ManuallyDrop::new(Home {
        dir: std::env::var("BENCH_HOME").unwrap().into(),
        url: std::env::var("BENCH_URL").unwrap(),
        namespace: std::env::var("BENCH_NS").unwrap(),
    });
    for _ in 0..n {
        run_ok(credential_process(&home));
    }
    println!("{}", children_max_rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !cfg!(target_os = "linux") {
        eprintln!("this benchmark measures the Linux kernel keyring: run it on Linux");
        std::process::exit(2);
    }
    if let Some(i) = args.iter().position(|a| a == "--warm-loop") {
        warm_loop(args[i + 1].parse().unwrap());
        return;
    }
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    // (warm and no-op calls, cold calls, bursts) per run.
    let (n, n_cold, n_bursts) = if quick { (20, 10, 1) } else { (300, 100, 5) };
    if quick {
        println!("smoke run (debug build, few calls): figures are not the budget");
    }
    let emu = Emulator::start(&[]);
    let home = Home::new("credential-process", &emu.url);
    home.login("bench", "ap-northeast-2");
    let store = keyless::store::open_in("keyutils", &home.namespace).unwrap();
    let role_key = records::role_key("bench", ACCOUNT, ROLE);
    let token: Token =
        records::load(store.as_ref(), &records::token_key("bench")).unwrap().unwrap();

    // Warm-up, then warm calls against the no-op baseline, interleaved so that machine noise
    // hits both alike.
    run_ok(credential_process(&home));
    let (mut warm, mut noop) = (Vec::new(), Vec::new());
    for _ in 0..n {
        noop.push(run_ok(home.command("/bin/true")));
        warm.push(run_ok(credential_process(&home)));
    }
    // A second reference: an empty Rust program (same runtime start-up as any Rust binary),
    // built with the release profile's code generation options.
    let noop_rs = home.dir.join("noop");
    std::fs::write(home.dir.join("noop.rs"), "fn main() {}").unwrap();
    let built = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["-O", "-C", "panic=abort", "-o"])
        .arg(&noop_rs)
        .arg(home.dir.join("noop.rs"))
        .status()
        .is_ok_and(|s| s.success());
    let mut noop_rust: Vec<Duration> = if built {
        (0..n).map(|_| run_ok(home.command(noop_rs.to_str().unwrap()))).collect()
    } else {
        Vec::new()
    };
    let mut version = (0..n / 3)
        .map(|_| {
            run_ok({
                let mut c = home.command(BIN);
                c.arg("--version");
                c
            })
        })
        .collect::<Vec<_>>();

    let rss = Command::new(std::env::current_exe().unwrap())
        .args(["--warm-loop", if quick { "5" } else { "50" }])
        .env("BENCH_HOME", &home.dir)
        .env("BENCH_URL", &home.url)
        .env("BENCH_NS", &home.namespace)
        .output()
        .unwrap();
    let rss_kib: i64 = String::from_utf8_lossy(&rss.stdout).trim().parse().unwrap();

    // Cold path: drop the cached credentials before each call.
    let (mut cold, mut rtt) = (Vec::new(), Vec::new());
    for _ in 0..n_cold {
        store.delete(&role_key).unwrap();
        cold.push(run_ok(credential_process(&home)));
        rtt.push(raw_round_trip(&home.url, token.access_token.expose()));
    }

    // Bursts of 50 concurrent cold calls.
    let mut bursts = Vec::new();
    for _ in 0..n_bursts {
        store.delete(&role_key).unwrap();
        let before = emu.calls("GetRoleCredentials");
        let t = Instant::now();
        let children: Vec<_> = (0..50)
            .map(|_| {
                credential_process(&home)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let ok = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .filter(|o| o.status.success())
            .count();
        bursts.push((t.elapsed(), ok, emu.calls("GetRoleCredentials") - before));
    }

    // What a cold call against real AWS (HTTPS) adds: the system trust store is parsed once
    // per process when the first TLS client is built.
    let t = Instant::now();
    drop(keyless::sso::clients::portal("us-east-1"));
    let tls_setup = t.elapsed();

    let (wm, nm) = (pct(&mut warm, 50), pct(&mut noop, 50));
    let (cm, rm) = (pct(&mut cold, 50), pct(&mut rtt, 50));
    println!("| measurement | result |");
    println!("|---|---|");
    println!(
        "| warm `credential-process`, median (p90) of {n} | {} ({}) |",
        ms(wm),
        ms(pct(&mut warm, 90))
    );
    println!(
        "| no-op binary (`/bin/true`), median (p90) of {n} | {} ({}) |",
        ms(nm),
        ms(pct(&mut noop, 90))
    );
    println!("| warm / no-op | {:.2}x |", wm.as_secs_f64() / nm.as_secs_f64());
    if !noop_rust.is_empty() {
        let rm = pct(&mut noop_rust, 50);
        println!("| empty Rust program, median of {n} | {} |", ms(rm));
        println!("| warm / empty Rust program | {:.2}x |", wm.as_secs_f64() / rm.as_secs_f64());
    }
    println!(
        "| `keyless --version` (argument parsing only), median | {} |",
        ms(pct(&mut version, 50))
    );
    println!(
        "| warm peak memory (max RSS of {} runs) | {:.1} MiB |",
        if quick { 5 } else { 50 },
        rss_kib as f64 / 1024.0
    );
    println!(
        "| cold `credential-process`, median (p90) of {n_cold} | {} ({}) |",
        ms(cm),
        ms(pct(&mut cold, 90))
    );
    println!("| raw GetRoleCredentials round trip, median | {} |", ms(rm));
    println!("| cold overhead beyond the round trip, median | {} |", ms(cm.saturating_sub(rm)));
    println!(
        "| cold overhead beyond round trip and no-op spawn, median | {} |",
        ms(cm.saturating_sub(rm).saturating_sub(nm))
    );
    println!(
        "| HTTPS client setup on a real-AWS cold call (system trust store), once | {} |",
        ms(tls_setup)
    );
    for (i, (wall, ok, calls)) in bursts.iter().enumerate() {
        println!(
            "| burst {}: 50 concurrent cold calls | {} wall, {ok}/50 succeeded, {calls} GetRoleCredentials |",
            i + 1,
            ms(*wall)
        );
    }
    secret_service_and_peer(
        &home,
        &token,
        if quick { 10 } else { 200 },
        if quick { 3 } else { 20 },
    );
}

/// A private D-Bus session with gnome-keyring-daemon, killed on drop.
struct SecretService {
    address: String,
    children: Vec<std::process::Child>,
}

impl SecretService {
    fn start(dir: &Path) -> Option<SecretService> {
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}/bus", dir.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).ok()?;
        let address = address.trim().to_string();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_RUNTIME_DIR", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        keyring.stdin.take().unwrap().write_all(b"bench-password").ok()?;
        let ss = SecretService { address, children: vec![bus, keyring] };
        for _ in 0..100 {
            let owned = Command::new("dbus-send")
                .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus"])
                .args(["/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner"])
                .arg("string:org.freedesktop.secrets")
                .env("DBUS_SESSION_BUS_ADDRESS", &ss.address)
                .output()
                .ok()?;
            if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
                return Some(ss);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The Secret Service as the store (warm calls served from the kernel keyring cache), and the
/// Python peer, aws-sso-util's `credential-process`, against the same emulator in the same run.
/// The peer comes from `KEYLESS_BENCH_AWS_SSO_UTIL` (default `target/bench-venv/bin/aws-sso-util`;
/// `python3 -m venv target/bench-venv && target/bench-venv/bin/pip install aws-sso-util`).
fn secret_service_and_peer(home: &Home, token: &Token, n: usize, runs: usize) {
    let ss_home = home.dir.join("ss");
    std::fs::create_dir_all(&ss_home).unwrap();
    let mut ss_warm = Vec::new();
    let mut noop = Vec::new();
    match SecretService::start(&ss_home) {
        None => println!(
            "| Secret Service store | skipped: dbus-daemon or gnome-keyring-daemon missing |"
        ),
        Some(ss) => {
            let with_ss = |mut c: Command| {
                c.env("DBUS_SESSION_BUS_ADDRESS", &ss.address)
                    .env("KEYLESS_STORE", "secret-service")
                    .env("KEYLESS_STORE_NAMESPACE", format!("{}-ss", home.namespace));
                c
            };
            let mut login = with_ss(home.command(BIN));
            login.args(["login", "--session", "bench", "--start-url"]);
            login.args(["https://d-1234567890.awsapps.com/start", "--region", "ap-northeast-2"]);
            login.args(["--device-code", "--no-browser"]);
            run_ok(login);
            run_ok(with_ss(credential_process(home)));
            for _ in 0..n {
                noop.push(run_ok(home.command("/bin/true")));
                ss_warm.push(run_ok(with_ss(credential_process(home))));
            }
            let mut logout = with_ss(home.command(BIN));
            logout.args(["logout", "--all"]);
            run_ok(logout);
            let (w, t) = (pct(&mut ss_warm, 50), pct(&mut noop, 50));
            println!(
                "| warm `credential-process`, Secret Service store, median (p90) of {n} | {} ({}) |",
                ms(w),
                ms(pct(&mut ss_warm, 90))
            );
            println!("| no-op binary in the same loop, median | {} |", ms(t));
        }
    }

    // The peer reads the AWS CLI's token cache: give it the same session's token there, in
    // this throwaway HOME (that is where the peer keeps tokens; keyless never writes one).
    let peer = std::env::var("KEYLESS_BENCH_AWS_SSO_UTIL").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/bench-venv/bin/aws-sso-util")
            .display()
            .to_string()
    });
    if !Path::new(&peer).exists() {
        println!("| aws-sso-util `credential-process` | skipped: {peer} is not installed |");
        return;
    }
    let start_url = START_URL;
    let cache = home.dir.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let name = {
        use sha1::Digest;
        hex::encode(sha1::Sha1::digest(start_url.as_bytes()))
    };
    let entry = serde_json::json!({
        "startUrl": start_url,
        "region": "ap-northeast-2",
        "accessToken": token.access_token.expose(),
        "expiresAt": keyless::time::rfc3339(token.expires_at),
    });
    std::fs::write(cache.join(format!("{name}.json")), entry.to_string()).unwrap();
    let peer_call = || {
        let mut c = home.command(&peer);
        c.args(["credential-process", "--start-url", start_url, "--region", "ap-northeast-2"])
            .args(["--account-id", ACCOUNT, "--role-name", ROLE]);
        c
    };
    let first = peer_call().output().unwrap();
    if !first.status.success() {
        println!(
            "| aws-sso-util `credential-process` | failed: {} |",
            String::from_utf8_lossy(&first.stderr).lines().last().unwrap_or("")
        );
        return;
    }
    let (mut peer_t, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        peer_t.push(run_ok(peer_call()));
        ours.push(run_ok(credential_process(home)));
    }
    let (p, o) = (pct(&mut peer_t, 50), pct(&mut ours, 50));
    println!("| aws-sso-util `credential-process`, median of {runs} | {} |", ms(p));
    println!("| keyless warm `credential-process` in the same loop, median | {} |", ms(o));
    println!("| aws-sso-util / keyless | {:.0}x |", p.as_secs_f64() / o.as_secs_f64());
    if !ss_warm.is_empty() {
        let w = pct(&mut ss_warm, 50);
        println!(
            "| aws-sso-util / keyless (Secret Service store) | {:.0}x |",
            p.as_secs_f64() / w.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&cache);
}
