//! Shared test support: run `keyless emulator serve` as a child process, talk to it over a
//! tiny blocking HTTP/1.1 client, and use its admin API.
//!
//! Use it from any integration test with `mod support;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `keyless` binary under test: `$KEYLESS_BIN` if set (the same binary the Python tests
/// use), else the one cargo built for this test run.
pub fn keyless_bin() -> String {
    std::env::var("KEYLESS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_keyless").to_string())
}

/// A Python program that drives a command through a pseudo-terminal: waits for each expected
/// text and for the command to wait for a key (the terminal leaves line mode while the prompt
/// reads a key: no sleep guesses when it is ready), then types. Run it as
/// `python -c PTY_DRIVER STEPS_JSON PROGRAM ARGS...`, where STEPS_JSON is
/// `[[expect, keys], ...]`; it prints the transcript and exits with the command's code.
pub const PTY_DRIVER: &str = r#"
import json, os, pty, select, sys, termios, time
steps = json.loads(sys.argv[1]); argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
def read_until(text, timeout=60):
    global out
    end = time.time() + timeout
    while text.encode() not in out:
        if time.time() > end:
            sys.stdout.write(out.decode(errors="replace")); sys.exit("timed out waiting for %r" % text)
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                sys.stdout.write(out.decode(errors="replace")); sys.exit("ended waiting for %r" % text)
            out += chunk
def wait_for_key_read(timeout=60):
    global out
    end = time.time() + timeout
    # The master side reports the terminal's modes: ICANON is off while the prompt reads keys.
    while termios.tcgetattr(fd)[3] & termios.ICANON:
        if time.time() > end:
            sys.stdout.write(out.decode(errors="replace")); sys.exit("the prompt never read a key")
        r, _, _ = select.select([fd], [], [], 0.01)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                pass
for expect, send in steps:
    read_until(expect)
    wait_for_key_read()
    os.write(fd, send.encode())
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// A running `keyless emulator serve`; killed when dropped.
pub struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    /// Starts the emulator with extra `serve` arguments and waits for its base URL.
    pub fn start(args: &[&str]) -> Emulator {
        let mut child = Command::new(keyless_bin())
            .args(["emulator", "serve"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning keyless emulator serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep draining so the emulator never blocks on a full pipe.
            for _ in lines {}
        });
        let url = match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(Some(Ok(line))) => line.trim().to_string(),
            other => {
                let _ = child.kill();
                panic!("the emulator did not print its URL: {other:?}");
            }
        };
        assert!(url.starts_with("http://127.0.0.1:"), "unexpected first line {url:?}");
        Emulator { child, url }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr(), "GET", path, &[], b"")
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        request(
            self.addr(),
            "POST",
            path,
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    pub fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Response {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        request(
            self.addr(),
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    }

    /// `GET /_emulator/stats`.
    pub fn stats(&self) -> serde_json::Value {
        let r = self.get("/_emulator/stats");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// How many requests the emulator received for an AWS operation.
    pub fn op_count(&self, op: &str) -> u64 {
        self.stats()["operations"][op].as_u64().unwrap_or(0)
    }

    /// Approves a device code's user code as the org's first user.
    pub fn approve(&self, user_code: &str) {
        let r = self.post_json("/_emulator/approve", &serde_json::json!({"userCode": user_code}));
        assert_eq!(r.status, 200, "approving {user_code}: {}", r.text());
    }

    /// Denies a device code's user code.
    pub fn deny(&self, user_code: &str) {
        let r = self.post_json("/_emulator/deny", &serde_json::json!({"userCode": user_code}));
        assert_eq!(r.status, 200, "denying {user_code}: {}", r.text());
    }

    /// Revokes every token and role credential of `user` and refuses their later logins.
    pub fn disable_user(&self, user: &str) {
        let r = request(self.addr(), "POST", &format!("/_emulator/users/{user}/disable"), &[], b"");
        assert_eq!(r.status, 200, "disabling {user}: {}", r.text());
    }

    /// Lets a disabled user sign in again (what disabling revoked stays revoked).
    pub fn enable_user(&self, user: &str) {
        let r = request(self.addr(), "POST", &format!("/_emulator/users/{user}/enable"), &[], b"");
        assert_eq!(r.status, 200, "enabling {user}: {}", r.text());
    }

    /// Every secret value the emulator has issued.
    pub fn secrets(&self) -> Vec<String> {
        let r = self.get("/_emulator/secrets");
        assert_eq!(r.status, 200, "{}", r.text());
        serde_json::from_slice(&r.body).expect("a JSON list of strings")
    }

    /// Like [`Emulator::post_json`], but waits out throttling (429) the way an SDK would.
    pub fn post_json_patiently(&self, path: &str, body: &serde_json::Value) -> Response {
        let mut r = self.post_json(path, body);
        for _ in 0..50 {
            if r.status != 429 {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
            r = self.post_json(path, body);
        }
        r
    }

    /// Signs in through the device flow over raw HTTP (approving through the admin API when
    /// the emulator does not auto-approve) and returns the CreateToken response.
    pub fn device_login(&self) -> serde_json::Value {
        let reg = self.post_json_patiently(
            "/client/register",
            &serde_json::json!({"clientName": "support", "clientType": "public", "scopes": ["sso:account:access"]}),
        );
        assert_eq!(reg.status, 200, "{}", reg.text());
        let reg = reg.json();
        let client =
            serde_json::json!({"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]});
        let mut start = client.clone();
        start["startUrl"] = "https://d-1234567890.awsapps.com/start".into();
        let dev = self.post_json_patiently("/device_authorization", &start);
        assert_eq!(dev.status, 200, "{}", dev.text());
        let dev = dev.json();
        // Already approved when the emulator auto-approves; then this is a harmless 404.
        self.post_json_patiently(
            "/_emulator/approve",
            &serde_json::json!({"userCode": dev["userCode"]}),
        );
        let mut token = client;
        token["grantType"] = "urn:ietf:params:oauth:grant-type:device_code".into();
        token["deviceCode"] = dev["deviceCode"].clone();
        let r = self.post_json_patiently("/token", &token);
        assert_eq!(r.status, 200, "{}", r.text());
        let mut out = r.json();
        out["clientId"] = reg["clientId"].clone();
        out["clientSecret"] = reg["clientSecret"].clone();
        out["clientSecretExpiresAt"] = reg["clientSecretExpiresAt"].clone();
        out
    }

    /// `Active` or `Inactive`.
    pub fn access_key_status(&self, id: &str) -> String {
        let r = self.get(&format!("/_emulator/access-keys/{id}"));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["status"].as_str().expect("status").to_string()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One blocking HTTP/1.1 request (`Connection: close`) to `addr` (`host:port`).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Like [`request`], but an I/O failure is returned instead of panicking.
pub fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
        .ok_or_else(|| std::io::Error::other(format!("malformed response: {raw:?}")))
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok())
    {
        body.truncate(len);
    }
    Some(Response { status, headers, body })
}

/// Reads the child's stderr line by line until `pred` matches; returns that line and keeps
/// draining the rest in the background (collected for later assertions).
pub fn read_stderr_until(
    child: &mut Child,
    pred: impl Fn(&str) -> bool + Send + 'static,
) -> (String, std::sync::mpsc::Receiver<String>) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (found_tx, found_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            if !sent && pred(&line) {
                let _ = found_tx.send(line.clone());
                sent = true;
            }
        }
        let _ = tx.send(all);
    });
    let line = found_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the expected line never appeared on stderr");
    (line, rx)
}

/// A temporary directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("random");
        let dir = std::env::temp_dir().join(format!("keyless-{label}-{}", hex::encode(b)));
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
pub mod keyring;
pub mod user;

/// The forms a secret could take if something wrote it encoded instead of as is: the value
/// itself, percent-encoded (upper- and lower-case hex), and base64 (standard and URL-safe) at
/// each of the three byte alignments it could have inside a longer encoded blob.
pub fn secret_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut forms = vec![secret.to_string()];
    let pct = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    forms.push(pct.clone());
    forms.push(pct.to_ascii_lowercase());
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for align in 0..3usize {
            let mut bytes = vec![0u8; align];
            bytes.extend_from_slice(secret.as_bytes());
            let enc = engine.encode(&bytes);
            // Characters that depend only on the secret's own bytes: skip the group that mixes
            // in the alignment bytes, and the last group, which mixes in what follows.
            let start = if align == 0 { 0 } else { 4 };
            let end = enc.len() - enc.len() % 4;
            let end = if end == enc.len() { end.saturating_sub(4) } else { end };
            if end > start + 8 {
                forms.push(enc[start..end].to_string());
            }
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// Every regular file below `dir` (symlinks are not followed; sockets and pipes hold no data).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot list {} to scan it: {e}", dir.display()));
        for e in entries {
            let e = e.unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
            let kind = e.file_type().expect("file type");
            if kind.is_dir() {
                walk(&e.path(), out);
            } else if kind.is_file() || kind.is_symlink() {
                out.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, &mut out);
    }
    out
}

/// Asserts that none of `secrets` (values of at least 8 characters), in any form of
/// [`secret_forms`], is in a file below any of `dirs` or in any of `outputs`. A file that
/// cannot be read fails the check: an unread file proves nothing. Returns how many files were
/// scanned, so a caller can insist that the flow wrote something.
pub fn assert_no_secret_in(dirs: &[&Path], secrets: &[String], outputs: &[&str]) -> usize {
    let forms: Vec<(String, &String)> = secrets
        .iter()
        .filter(|s| s.len() >= 8)
        .flat_map(|s| secret_forms(s).into_iter().map(move |f| (f, s)))
        .collect();
    assert!(!forms.is_empty(), "no secrets to look for: nothing would be proven");
    let mut scanned = 0;
    for dir in dirs {
        for f in files_below(dir) {
            let bytes = if std::fs::symlink_metadata(&f).map(|m| m.is_symlink()).unwrap_or(false) {
                std::fs::read_link(&f)
                    .expect("reading a link")
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(&f).unwrap_or_else(|e| {
                    panic!("{} cannot be read to scan it for secrets: {e}", f.display())
                })
            };
            scanned += 1;
            let text = String::from_utf8_lossy(&bytes);
            for (form, secret) in &forms {
                assert!(
                    !text.contains(form.as_str()),
                    "a secret ({}…) reached the file {}",
                    &secret[..4],
                    f.display()
                );
            }
        }
    }
    for out in outputs {
        for (form, secret) in &forms {
            assert!(
                !out.contains(form.as_str()),
                "a secret ({}…) reached an output:\n{out}",
                &secret[..4]
            );
        }
    }
    scanned
}

/// Deletes every kernel-keyring entry of a test namespace, so test users leave nothing behind
/// in the user keyring (whose quota a non-root user can exhaust).
pub fn clear_keyring_namespace(namespace: &str) {
    #[cfg(target_os = "linux")]
    {
        use keyless::store::Store as _;
        if let Ok(store) = keyless::store::keyutils::KeyutilsStore::open(namespace) {
            for key in store.list("").unwrap_or_default() {
                let _ = store.delete(&key);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = namespace;
}
