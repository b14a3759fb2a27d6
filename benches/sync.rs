//! How long `keyless profiles sync` takes as a user runs it: the whole command (listing,
//! planning, the diff, writing), sign-in excluded, with and without `--dry-run`.
//!
//! ```sh
//! cargo bench --bench sync                  # both parts below
//! cargo bench --bench sync -- throttled     # 1,000 x 3 at 50 requests/s, 20 ms latency
//! cargo bench --bench sync -- linear        # 1,000 x 3 and 4,000 x 3, no throttling
//! ```
//!
//! *throttled*: an emulator with 1,000 generated accounts x 3 roles, a rate limit of 50
//! requests/s and 20 ms of latency; `profiles sync --yes` and `--dry-run` into a config that
//! holds only the `[sso-session]`, one that already holds the 3,000 profiles (unchanged), and
//! one whose 3,000 profiles all change (another binary path). Each is compared with the
//! rate-limit floor: the successful listing calls the run made, divided by the rate.
//!
//! *linear*: no throttling, 1,000 x 3 and 4,000 x 3, the same three configs; the cost per
//! profile of 12,000 against 3,000, and the peak memory (max RSS) of each run.
#![allow(clippy::print_stdout)] // the report is the benchmark's output

mod common;

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Emulator, Home};

/// Successful (not throttled, not faulted) listing calls so far.
fn listing_calls(emu: &Emulator) -> u64 {
    let v = emu.stats();
    let ok = |op: &str| {
        let n = |k: &str| v[k][op].as_u64().unwrap_or(0);
        n("operations") - n("throttled") - n("faults")
    };
    ok("ListAccounts") + ok("ListAccountRoles")
}

/// A HOME signed in to `emu` as SSO session `acme`.
fn signed_in(emu: &Emulator) -> Home {
    let home = Home::new("sync", &emu.url);
    home.login("acme", "us-east-1");
    home
}

/// Runs `profiles sync` with `extra`; returns (wall time, peak RSS in MiB).
fn sync(home: &Home, extra: &str) -> (Duration, f64) {
    let started = Instant::now();
    // Reaped by `wait_with_rss` (wait4), which also reads its peak memory.
    #[allow(clippy::zombie_processes)]
    let mut child = home
        .keyless(&["profiles", "sync", "--session", "acme", extra])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let (code, rss_kib) = wait_with_rss(&child);
    let took = started.elapsed();
    assert_eq!(code, 0, "profiles sync {extra} failed: {err}");
    (took, rss_kib as f64 / 1024.0)
}

/// Replaces the config with `text`, and drops the backups earlier runs left.
fn write_config(home: &Home, text: &str) {
    std::fs::write(home.config(), text).unwrap();
    for e in std::fs::read_dir(&home.dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().contains("keyless-backup") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Waits for a child and returns its exit code and peak RSS (KiB), from `wait4`.
#[cfg(unix)]
#[allow(unsafe_code)]
fn wait_with_rss(child: &Child) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: wait4 writes only the status and the zero-initialised rusage we own.
    let rss = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as i32, &mut status, 0, &mut u);
        assert_eq!(pid, child.id() as i32, "wait4");
        u.ru_maxrss
    };
    (libc::WEXITSTATUS(status), rss)
}

/// The three starting points: only `[sso-session]`, every profile already there, and every
/// profile there but pointing at another keyless binary (so all of them change).
struct Configs {
    empty: String,
    synced: String,
    changed: String,
}

fn configs(home: &Home) -> Configs {
    let empty = std::fs::read_to_string(home.config()).unwrap();
    sync(home, "--yes");
    let synced = std::fs::read_to_string(home.config()).unwrap();
    let changed = synced.replace(BIN, "/opt/old/bin/keyless");
    assert_ne!(synced, changed);
    write_config(home, &empty);
    Configs { empty, synced, changed }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn cases(c: &Configs) -> [(&'static str, &str, &'static str); 6] {
    [
        ("empty config", &c.empty, "--yes"),
        ("empty config", &c.empty, "--dry-run"),
        ("3,000 unchanged", &c.synced, "--yes"),
        ("3,000 unchanged", &c.synced, "--dry-run"),
        ("3,000 all changed", &c.changed, "--yes"),
        ("3,000 all changed", &c.changed, "--dry-run"),
    ]
}

fn throttled() {
    let rate = 50.0;
    let emu = Emulator::start(&[
        "--generate-accounts",
        "1000",
        "--roles-per-account",
        "3",
        "--rate-limit",
        "50",
        "--latency-ms",
        "20",
    ]);
    let home = signed_in(&emu);
    let c = configs(&home);
    println!("\n### profiles sync, 1,000 accounts x 3 roles, 50 requests/s, 20 ms latency\n");
    println!("| config | flags | wall | floor | over the floor | peak RSS | load (1/5/15 min) |");
    println!("|---|---|---|---|---|---|---|");
    for (what, text, flag) in cases(&c) {
        write_config(&home, text);
        // Let the token bucket refill, as it would between two commands.
        std::thread::sleep(Duration::from_secs(2));
        let before = listing_calls(&emu);
        let (took, rss) = sync(&home, flag);
        let floor = (listing_calls(&emu) - before) as f64 / rate;
        println!(
            "| {what} | `{flag}` | {:.2} s | {floor:.2} s | {:+.1}% | {rss:.1} MiB | {} |",
            took.as_secs_f64(),
            (took.as_secs_f64() / floor - 1.0) * 100.0,
            load()
        );
    }
}

fn linear() {
    println!("\n### profiles sync without throttling: 3,000 and 12,000 profiles\n");
    println!("| profiles | config | flags | wall (best of 3) | per profile | peak RSS | load |");
    println!("|---|---|---|---|---|---|---|");
    let mut per_profile = Vec::new();
    for accounts in [1000usize, 4000] {
        let emu = Emulator::start(&[
            "--generate-accounts",
            &accounts.to_string(),
            "--roles-per-account",
            "3",
        ]);
        let home = signed_in(&emu);
        let c = configs(&home);
        let profiles = accounts * 3;
        let mut costs = Vec::new();
        for (what, text, flag) in cases(&c) {
            let what = what.replace("3,000", &format!("{profiles}"));
            let mut best = Duration::MAX;
            let mut peak: f64 = 0.0;
            for _ in 0..3 {
                write_config(&home, text);
                let (took, rss) = sync(&home, flag);
                best = best.min(took);
                peak = peak.max(rss);
            }
            let each = best.as_secs_f64() * 1e6 / profiles as f64;
            costs.push(each);
            println!(
                "| {profiles} | {what} | `{flag}` | {:.2} s | {each:.0} µs | {peak:.1} MiB | {} |",
                best.as_secs_f64(),
                load()
            );
        }
        per_profile.push(costs);
    }
    println!("\n| case | 12,000 / 3,000 per profile |\n|---|---|");
    let names = [
        "empty --yes",
        "empty --dry-run",
        "unchanged --yes",
        "unchanged --dry-run",
        "changed --yes",
        "changed --dry-run",
    ];
    for (i, name) in names.iter().enumerate() {
        println!("| {name} | {:.2}x |", per_profile[1][i] / per_profile[0][i]);
    }
}

#[cfg(not(unix))]
fn wait_with_rss(_child: &Child) -> (i32, i64) {
    unreachable!("main refuses to run without wait4")
}

fn main() {
    if !cfg!(unix) {
        eprintln!("this benchmark measures peak memory with wait4: run it on Linux or macOS");
        std::process::exit(2);
    }
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let all = which.is_empty();
    println!("keyless profiles sync, end to end (sign-in excluded); load at start {}", load());
    if all || which.iter().any(|w| w == "linear") {
        linear();
    }
    if all || which.iter().any(|w| w == "throttled") {
        throttled();
    }
}
