//! A real browser signs in: headless Chromium, driven over WebDriver by chromedriver, opens the
//! URL that `keyless login --pkce --no-browser` prints, clicks Allow (or Deny) on the
//! Identity Center consent page, and lands on keyless's loopback page.
//!
//! Chromium and chromedriver are required (Debian packages `chromium` and `chromium-driver`,
//! installed by `scripts/test.sh`): without them these tests fail, they never skip.
//! With `KEYLESS_SCREENSHOT_DIR` set, the consent and success pages are saved there as PNGs.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::user::{User, login_args, text, wait_bounded};
use support::{Emulator, TempDir};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 exchange with chromedriver, which keeps connections open: the body is read by
/// its `Content-Length` rather than to the end of the stream.
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Value)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut buf = vec![0u8; length];
    reader.read_exact(&mut buf)?;
    let v = serde_json::from_slice(&buf).unwrap_or(Value::Null);
    Ok((status, v))
}

/// chromedriver on a free port and one headless Chromium session; both end on drop.
struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: TempDir,
}

fn find_program(names: &[&str]) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}

impl Browser {
    fn start() -> Browser {
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]).expect(
            "Chromium is required for the browser tests: install the Debian packages `chromium chromium-driver` (scripts/test.sh does)",
        );
        let chromedriver = find_program(&["chromedriver"]).expect(
            "chromedriver is required for the browser tests: install the Debian package `chromium-driver` (scripts/test.sh does)",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((200, v)) = http(&addr, "GET", "/status", b"")
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = TempDir::new("chromium");
        let mut b = Browser { driver, addr, session: String::new(), _profile: profile };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=900,640",
                    format!("--user-data-dir={}", b._profile.path().display()),
                ],
            },
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("a WebDriver session id").to_string();
        b
    }

    /// One WebDriver command; returns its `value`, panicking on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, v) = http(&self.addr, method, path, body.as_bytes())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{what}", self.session), body)
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap_or_default().to_string()
    }

    fn source(&self) -> String {
        self.cmd("GET", "/source", None).as_str().unwrap_or_default().to_string()
    }

    fn click(&self, css: &str) {
        let el = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        let id = el[ELEMENT].as_str().expect("the element exists").to_string();
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Waits until the page title contains `text`.
    fn wait_for_title(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.title();
            if t.contains(text) {
                return t;
            }
            assert!(Instant::now() < deadline, "the page title stayed {t:?}, wanted {text:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG screenshot as `name` under `KEYLESS_SCREENSHOT_DIR`, if set; always checks
    /// that the browser produced one.
    fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("a base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        if let Some(dir) = std::env::var_os("KEYLESS_SCREENSHOT_DIR") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(&self.addr, "DELETE", &format!("/session/{}", self.session), b"");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts `keyless login --pkce --no-browser` and returns the child, the sign-in URL it
/// printed, and a receiver for the rest of its stderr.
fn start_login(user: &User) -> (Child, String, std::sync::mpsc::Receiver<String>) {
    let mut child = user.spawn(&login_args("--pkce"));
    let stderr = child.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (rest_tx, rest_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
        let mut expect_url = false;
        let mut sent = false;
        for line in lines.by_ref() {
            all.push_str(&line);
            all.push('\n');
            if line.starts_with("Sign in to ") && line.ends_with("If it does not open, visit:") {
                expect_url = true;
            } else if expect_url && !sent && line.starts_with("    http") {
                let _ = url_tx.send(line.trim().to_string());
                sent = true;
            }
        }
        let _ = rest_tx.send(all);
    });
    let url = url_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("keyless login did not print the sign-in URL");
    (child, url, rest_rx)
}

#[test]
fn chromium_signs_in_by_clicking_allow() {
    let emu = Emulator::start(&[]);
    let user = User::new(&emu);
    let browser = Browser::start();
    let (child, url, rest) = start_login(&user);
    assert!(url.starts_with(&format!("{}/authorize?", emu.url())), "{url}");

    browser.goto(&url);
    browser.wait_for_title("Allow access?");
    let consent = browser.source();
    assert!(consent.contains(">Allow</button>") && consent.contains(">Deny</button>"), "{consent}");
    browser.screenshot("consent.png");
    browser.click("button[value=allow]");

    let title = browser.wait_for_title("Signed in");
    assert!(title.contains("keyless"), "{title}");
    assert!(browser.source().contains("You can close this tab"));
    browser.screenshot("signed-in.png");

    let out = wait_bounded(child, 30);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Signed in to `acme`"), "{stderr}");

    let status = user.run(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let v: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["sessions"][0]["name"], "acme");
    assert_eq!(v["sessions"][0]["token_valid"], true);
    assert_eq!(v["sessions"][0]["refreshable"], true);
    user.assert_no_secret_leaked(&emu, &[&stderr]);
}

#[test]
fn chromium_clicking_deny_is_a_clean_failure() {
    let emu = Emulator::start(&[]);
    let user = User::new(&emu);
    let browser = Browser::start();
    let (child, url, rest) = start_login(&user);

    browser.goto(&url);
    browser.wait_for_title("Allow access?");
    browser.click("button[value=deny]");
    browser.wait_for_title("Sign-in cancelled");

    let out = wait_bounded(child, 30);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: the sign-in was denied in the browser"), "{stderr}");
    assert!(stderr.contains("hint: run the login again and choose Allow"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let status = user.run(&["status", "--json"]);
    let v: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["sessions"], json!([]), "a denied sign-in left a session");
}

/// `$BROWSER` for keyless: hands the URL it is given to the WebDriver session (which loads it
/// and follows redirects like any page) and records the URL in a file. Its arguments carry
/// chromedriver's port, not `host:port`: `$BROWSER` splits on `:`.
const WEBDRIVER_OPENER: &str = r#"
import json, sys, urllib.request
port, session, record, url = sys.argv[1:5]
addr = "127.0.0.1:" + port
with open(record, "w") as f:
    f.write(url)
req = urllib.request.Request("http://%s/session/%s/url" % (addr, session),
    data=json.dumps({"url": url}).encode(), headers={"content-type": "application/json"})
urllib.request.urlopen(req, timeout=60).read()
"#;

#[test]
fn chromium_follows_the_one_time_console_hand_off() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    user.login();
    user.add_profile("acme-dev", "111111111111", "Developer");
    let browser = Browser::start();
    let script = user.home.path().join("opener.py");
    std::fs::write(&script, WEBDRIVER_OPENER).unwrap();
    let record = user.home.path().join("opened-url");
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    user.extra_env.push((
        "BROWSER".into(),
        format!(
            "{py} {} {} {} {}",
            script.display(),
            browser.addr.trim_start_matches("127.0.0.1:"),
            browser.session,
            record.display()
        ),
    ));
    let out = user.run(&["console", "--profile", "acme-dev", "--federate", "--service", "s3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Chromium was given only the one-time loopback address, and it landed signed in.
    let opened = std::fs::read_to_string(&record).unwrap();
    assert!(opened.starts_with("http://127.0.0.1:") && !opened.contains("Signin"), "{opened}");
    let title = browser.wait_for_title("Console");
    let page = browser.source();
    assert!(page.contains("<strong id=\"role\">Developer</strong>"), "{title}: {page}");
    assert!(
        page.contains("<code>https://console.aws.amazon.com/s3/home?region=ap-northeast-2</code>"),
        "{page}"
    );
    let now_at = browser.cmd("GET", "/url", None);
    assert!(
        now_at.as_str().unwrap().starts_with(&format!("{}/federation?", emu.url())),
        "{now_at}"
    );
    user.assert_no_secret_leaked(&emu, &[&opened, &text(&out.stderr)]);
}
