//! What the benchmarks share: the local emulator, a throwaway HOME signed in to it with the
//! kernel keyring under its own namespace, and the table helpers.
#![allow(dead_code)] // each benchmark uses its own part of this

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_keyless");
pub const START_URL: &str = "https://d-1234567890.awsapps.com/start";

/// `keyless emulator serve --auto-approve` with `args`, killed on drop.
pub struct Emulator {
    child: Child,
    pub url: String,
}

impl Emulator {
    pub fn start(args: &[&str]) -> Emulator {
        let mut child = Command::new(BIN)
            .args(["emulator", "serve", "--auto-approve"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the emulator");
        let mut url = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
        Emulator { child, url: url.trim().to_string() }
    }

    /// The emulator's call counts (`/_emulator/stats`).
    pub fn stats(&self) -> serde_json::Value {
        let addr = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET /_emulator/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        serde_json::from_str(&resp[resp.find("\r\n\r\n").unwrap() + 4..]).expect("stats are JSON")
    }

    /// Calls of an operation so far, throttled and faulted ones included.
    pub fn calls(&self, op: &str) -> u64 {
        self.stats()["operations"][op].as_u64().unwrap_or(0)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway HOME whose AWS traffic goes to an emulator and whose keychain is the kernel
/// keyring under a namespace of its own; both are removed on drop.
pub struct Home {
    pub dir: PathBuf,
    pub url: String,
    pub namespace: String,
}

impl Home {
    /// A fresh HOME named after `what` (the benchmark), for the emulator at `url`.
    pub fn new(what: &str, url: &str) -> Home {
        let mut b = [0u8; 6];
        getrandom::fill(&mut b).unwrap();
        let tag = format!("keyless-bench-{what}-{}", hex::encode(b));
        let dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&dir).unwrap();
        Home { dir, url: url.to_string(), namespace: tag }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// `program` with this HOME's environment (and nothing of the caller's AWS settings).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        for k in [
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_ENDPOINT_URL",
            "DBUS_SESSION_BUS_ADDRESS",
            "DISPLAY",
            "XDG_CONFIG_HOME",
        ] {
            c.env_remove(k);
        }
        c.env("HOME", &self.dir)
            .env("XDG_RUNTIME_DIR", &self.dir)
            .env("AWS_CONFIG_FILE", self.config())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.join("credentials"))
            .env("AWS_ENDPOINT_URL_SSO_OIDC", &self.url)
            .env("AWS_ENDPOINT_URL_SSO", &self.url)
            .env("AWS_ENDPOINT_URL_STS", &self.url)
            .env("KEYLESS_STORE", "keyutils")
            .env("KEYLESS_STORE_NAMESPACE", &self.namespace)
            .stdin(Stdio::null());
        c
    }

    pub fn keyless(&self, args: &[&str]) -> Command {
        let mut c = self.command(BIN);
        c.args(args);
        c
    }

    /// Signs in to SSO session `session` in `region` with the device code (the emulator
    /// approves it).
    pub fn login(&self, session: &str, region: &str) {
        let out = self
            .keyless(&["login", "--session", session, "--start-url", START_URL])
            .args(["--region", region, "--device-code", "--no-browser"])
            .output()
            .unwrap();
        assert!(out.status.success(), "login: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Ok(store) = keyless::store::open_in("keyutils", &self.namespace) {
            for k in store.list("").unwrap_or_default() {
                let _ = store.delete(&k);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `p`th percentile (50 for the median).
pub fn pct(v: &mut [Duration], p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
