//! Signing in, refreshing and signing out against the emulator, with real keychains.
// Run on Unix (shell-script browsers, Unix modes and /proc; Windows is exercised end to end by
// tests/wine/e2e.py), and linted for every system.

mod support;

use support::user::{REGION, START_URL, User, login_args, text, wait_bounded};
use support::{Emulator, read_stderr_until, request};

/// `keyless status --json`, after proving that neither it nor the plain `status` prints (or
/// writes) any token the emulator actually issued.
fn status_json(emu: &Emulator, user: &User) -> serde_json::Value {
    let out = user.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plain = user.run(&["status"]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    let outputs = [&out.stdout, &out.stderr, &plain.stdout, &plain.stderr].map(|b| text(b));
    user.assert_no_secret_leaked(emu, &outputs.each_ref().map(String::as_str));
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

#[test]
fn device_code_login_approved_by_a_person() {
    let emu = Emulator::start(&[]);
    let user = User::new(&emu);
    let mut child = user.spawn(&login_args("--device-code"));
    let (code_line, rest) = read_stderr_until(&mut child, |l| {
        let t = l.trim();
        t.len() == 9 && t.as_bytes()[4] == b'-'
    });
    emu.approve(code_line.trim());
    let out = wait_bounded(child, 30);
    let stderr = format!("{code_line}\n{}", rest.recv().unwrap());
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Signed in to `acme`"), "{stderr}");
    assert!(out.stdout.is_empty(), "login wrote to stdout");
    let status = status_json(&emu, &user);
    let s = &status["sessions"][0];
    assert_eq!(s["name"], "acme");
    assert_eq!(s["token_valid"], true);
    assert_eq!(s["refreshable"], true);
    let config = std::fs::read_to_string(user.config_path()).unwrap();
    assert_eq!(
        config,
        format!("[sso-session acme]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n")
    );
    user.assert_no_secret_leaked(&emu, &[&stderr, &text(&out.stdout)]);
}

/// Plays the browser: GET the authorize URL, follow the emulator's redirect to keyless's
/// loopback listener, and return that page.
fn browse(url: &str) -> support::Response {
    let (addr, path) = split_url(url);
    let r = request(&addr, "GET", &path, &[], b"");
    assert_eq!(r.status, 302, "authorize did not redirect: {}", r.text());
    let location = r.header("location").expect("a Location header").to_string();
    let (addr, path) = split_url(&location);
    request(&addr, "GET", &path, &[], b"")
}

fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (addr.to_string(), if path.is_empty() { "/".into() } else { path.to_string() })
}

/// The `/authorize` URL the AWS CLI v2 builds (`SSOTokenFetcherAuth._get_authorization_uri`
/// in its bundled botocore) for the same client, redirect, state and challenge: parameters in
/// its order, encoded by botocore's own `percent_encode_sequence`, the default scope, and the
/// challenge appended unencoded. Only the values keyless chose at random are taken from `url`;
/// the judge encodes and orders them itself.
fn aws_cli_authorize_url(user: &User, oidc: &str, url: &str) -> String {
    let query = url.split_once('?').expect("a query").1;
    let params: std::collections::HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let challenge = &params["code_challenge"];
    assert_eq!(challenge.len(), 43, "an unpadded base64url SHA-256: {challenge}");
    assert!(challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let redirect = &params["redirect_uri"];
    let port = redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/oauth/callback"))
        .unwrap_or_else(|| panic!("not the AWS CLI's redirect form: {redirect}"));
    assert!(port.parse::<u16>().is_ok(), "{redirect}");
    let inputs = serde_json::json!({
        "base": oidc,
        "client_id": params["client_id"],
        "redirect_uri": redirect,
        "state": params["state"],
        "challenge": challenge,
    });
    const JUDGE: &str = r#"
import json, sys
from botocore.utils import percent_encode_sequence
p = json.loads(sys.argv[1])
q = {"response_type": "code", "client_id": p["client_id"], "redirect_uri": p["redirect_uri"],
     "state": p["state"], "code_challenge_method": "S256", "scopes": "sso:account:access"}
print(p["base"] + "/authorize?" + percent_encode_sequence(q) + "&code_challenge=" + p["challenge"])
"#;
    let out = support::user::run_bounded(user.python(&["-c", JUDGE, &inputs.to_string()]), 60);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

#[test]
fn pkce_login_through_the_browser_redirect() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    let mut child = user.spawn(&login_args("--pkce"));
    let (url_line, rest) = read_stderr_until(&mut child, |l| {
        l.trim_start().starts_with("http://") && l.contains("/authorize?")
    });
    let url = url_line.trim();
    assert_eq!(url, aws_cli_authorize_url(&user, emu.url(), url), "not the AWS CLI's URL");
    let page = browse(url);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("You can close this tab"), "{}", page.text());
    let out = wait_bounded(child, 30);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(status_json(&emu, &user)["sessions"][0]["refreshable"], true);
    user.assert_no_secret_leaked(&emu, &[&stderr]);
}

#[test]
fn pkce_denied_in_the_browser_is_a_clean_failure() {
    let emu = Emulator::start(&[]);
    let user = User::new(&emu);
    let mut child = user.spawn(&login_args("--pkce"));
    let (url_line, rest) = read_stderr_until(&mut child, |l| l.contains("/authorize?"));
    let url = url_line.trim();
    let state = url.split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let port = url.split("127.0.0.1%3A").nth(1).unwrap().split('%').next().unwrap().to_string();
    // What the emulator's Deny button redirects the browser to.
    let page = request(
        &format!("127.0.0.1:{port}"),
        "GET",
        &format!("/oauth/callback?error=access_denied&state={state}"),
        &[],
        b"",
    );
    assert_eq!(page.status, 200);
    let out = wait_bounded(child, 30);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the sign-in was denied") && stderr.contains("hint:"), "{stderr}");
    assert!(!user.config_path().exists(), "a failed login wrote the config");
    assert_eq!(status_json(&emu, &user)["sessions"], serde_json::json!([]));
}

/// The loopback port and the `state` of the sign-in URL keyless printed.
fn port_and_state(url: &str) -> (String, String) {
    let port = url.split("127.0.0.1%3A").nth(1).unwrap().split('%').next().unwrap().to_string();
    let state = url.split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();
    (port, state)
}

#[test]
fn pkce_callbacks_without_the_state_are_ignored_and_the_sign_in_goes_on() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    let mut child = user.spawn(&login_args("--pkce"));
    let (url_line, rest) = read_stderr_until(&mut child, |l| l.contains("/authorize?"));
    let url = url_line.trim().to_string();
    let (port, _) = port_and_state(&url);
    let callback = format!("127.0.0.1:{port}");
    // A local process that connects and sends nothing must not hold up the browser.
    let stalled = std::net::TcpStream::connect(&callback).unwrap();
    // Another local process tries to end the sign-in, or to slip in its own code.
    for forged in [
        "/oauth/callback?error=access_denied&error_description=%1B%5D0%3Bpwned%07&state=not-the-state",
        "/oauth/callback?error=access_denied",
        "/oauth/callback?code=forged&state=not-the-state",
    ] {
        let page = request(&callback, "GET", forged, &[], b"");
        assert_eq!(page.status, 400, "{forged}: {}", page.text());
        assert!(page.text().contains("does not belong to the sign-in"), "{}", page.text());
    }
    // The real browser still completes the sign-in.
    let page = browse(&url);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("You can close this tab"), "{}", page.text());
    let out = wait_bounded(child, 30);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "(ignored a request to the sign-in callback that was not for this sign-in; still waiting)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b') && !stderr.contains("pwned"), "{stderr}");
    assert_eq!(emu.op_count("CreateToken"), 1, "only the real code is exchanged");
    assert_eq!(status_json(&emu, &user)["sessions"][0]["token_valid"], true);
    drop(stalled);
}

#[test]
fn a_denial_from_the_browser_is_shown_with_its_control_characters_escaped() {
    let emu = Emulator::start(&[]);
    let user = User::new(&emu);
    let mut child = user.spawn(&login_args("--pkce"));
    let (url_line, rest) = read_stderr_until(&mut child, |l| l.contains("/authorize?"));
    let (port, state) = port_and_state(url_line.trim());
    // Escape sequences that would set the terminal title and clear the screen.
    let page = request(
        &format!("127.0.0.1:{port}"),
        "GET",
        &format!(
            "/oauth/callback?error=access_denied&error_description=no%1B%5D0%3Bpwned%07%1B%5B2J%0Dthanks&state={state}"
        ),
        &[],
        b"",
    );
    assert_eq!(page.status, 200);
    let out = wait_bounded(child, 30);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            r"the sign-in was denied in the browser (no\u{1b}]0;pwned\u{7}\u{1b}[2J\u{d}thanks)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(['\x1b', '\x07', '\r']), "{stderr:?}");
}

/// Starts a browser sign-in without a browser: keyless, its loopback callback address, this
/// sign-in's `state`, and the rest of its stderr.
fn start_pkce(
    user: &User,
) -> (std::process::Child, String, String, std::sync::mpsc::Receiver<String>) {
    let mut child = user.spawn(&login_args("--pkce"));
    let (url_line, rest) = read_stderr_until(&mut child, |l| l.contains("/authorize?"));
    let (port, state) = port_and_state(url_line.trim());
    (child, format!("127.0.0.1:{port}"), state, rest)
}

/// What the browser brings back for this sign-in that is neither a code nor a denial ends the
/// sign-in with the browser's own words, and writes nothing.
#[test]
fn a_callback_without_a_code_ends_the_sign_in_with_what_the_browser_said() {
    let emu = Emulator::start(&[]);
    for (query, status, message) in [
        (
            "error=server_error&error_description=try%20again%20later",
            200,
            "error: the sign-in failed in the browser: server_error (try again later)",
        ),
        ("", 400, "error: the browser returned no authorization code"),
    ] {
        let user = User::new(&emu);
        let (child, callback, state, rest) = start_pkce(&user);
        let page =
            request(&callback, "GET", &format!("/oauth/callback?{query}&state={state}"), &[], b"");
        assert_eq!(page.status, status, "{query}: {}", page.text());
        let out = wait_bounded(child, 30);
        let stderr = rest.recv().unwrap();
        assert_eq!(out.status.code(), Some(1), "{query}: {stderr}");
        assert!(stderr.contains(message), "{query}: {stderr}");
        assert!(stderr.contains("hint: run the login again"), "{query}: {stderr}");
        assert!(out.stdout.is_empty());
        assert!(!user.config_path().exists(), "a failed login wrote the config");
    }
    assert_eq!(emu.op_count("CreateToken"), 0, "there was no code to exchange");
}

/// A code Identity Center does not know (here one the callback carried with the right
/// `state`, but never issued) is refused when keyless exchanges it.
#[test]
fn a_code_identity_center_refuses_is_not_accepted() {
    let emu = Emulator::start(&[]);
    let user = User::new(&emu);
    let (child, callback, state, rest) = start_pkce(&user);
    let page = request(
        &callback,
        "GET",
        &format!("/oauth/callback?code=never-issued&state={state}"),
        &[],
        b"",
    );
    assert_eq!(page.status, 200, "{}", page.text());
    let out = wait_bounded(child, 30);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the sign-in code was not accepted: InvalidGrantException"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: run the login again"), "{stderr}");
    assert_eq!(emu.op_count("CreateToken"), 1, "{}", emu.stats());
    assert!(!user.config_path().exists(), "a failed login wrote the config");
}

#[test]
fn a_browser_sign_in_nobody_finishes_ends_at_the_timeout() {
    let emu = Emulator::start(&[]);
    let user = User::new(&emu);
    let mut args = login_args("--pkce");
    args.extend(["--timeout", "1"]);
    let out = user.run(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: the browser sign-in did not finish within 1s"), "{stderr}");
    assert!(stderr.contains("use `--device-code`"), "{stderr}");
    assert_eq!(emu.op_count("CreateToken"), 0);
    assert!(!user.config_path().exists(), "a failed login wrote the config");
}

#[test]
fn server_controlled_names_reach_the_terminal_escaped() {
    // An organisation whose role name carries a colour escape sequence, as a hostile or broken
    // directory could return it.
    let dir = support::TempDir::new("org");
    let org = dir.path().join("org.toml");
    std::fs::write(
        &org,
        "[[accounts]]\nid = \"111111111111\"\nname = \"dev\"\nemail = \"a@example.com\"\nroles = [\"Dev\\u001b[8m\"]\n\n[[users]]\nname = \"alice\"\n",
    )
    .unwrap();
    let emu = Emulator::start(&["--org", org.to_str().unwrap(), "--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let out = user.run(&["profiles", "sync", "--session", "acme", "--dry-run"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stderr.contains(r"Dev\u{1b}[8m"), "the role name is not shown: {stderr}");
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'), "{stdout:?}\n{stderr:?}");
}

/// A StartDeviceAuthorization answer without `interval` and `expiresIn` reads as 0 in the
/// SDK: keyless must then poll every 5 s and wait up to 600 s, as the AWS CLI does, rather
/// than poll every second or give up at once.
#[test]
fn zero_device_interval_and_expiry_mean_the_aws_cli_defaults() {
    let emu = Emulator::start(&["--poll-interval", "0", "--device-code-ttl", "0"]);
    let user = User::new(&emu);
    let mut child = user.spawn(&login_args("--device-code"));
    let (code_line, rest) = read_stderr_until(&mut child, |l| {
        let t = l.trim();
        t.len() == 9 && t.as_bytes()[4] == b'-'
    });
    // Still waiting after two polls (an expiry of 0 taken literally ends it at the first).
    while emu.op_count("CreateToken") < 2 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("login ended before approval ({status}): {}", rest.recv().unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    emu.approve(code_line.trim());
    let out = wait_bounded(child, 60);
    let stderr = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The emulator enforces the 5 s default between polls.
    let stats = emu.stats();
    assert_eq!(stats["errors"].get("SlowDownException"), None, "{stats}");
    assert_eq!(stats["errors"]["AuthorizationPendingException"], 2, "{stats}");
}

#[test]
fn expired_device_code_is_a_clear_error() {
    let emu = Emulator::start(&["--device-code-ttl", "2"]);
    let user = User::new(&emu);
    let out = wait_bounded(user.spawn(&login_args("--device-code")), 30);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: the sign-in code expired before it was approved"), "{stderr}");
    assert!(stderr.contains("hint: run the login again"), "{stderr}");
    assert!(!user.config_path().exists());
}

#[test]
fn unreachable_endpoint_fails_cleanly_and_writes_nothing() {
    let user = User::with_endpoint("http://127.0.0.1:9");
    let out = user.run(&login_args("--device-code"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "error: could not reach the Identity Center sign-in service at http://127.0.0.1:9: the endpoint could not be reached"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("AWS_ENDPOINT_URL_SSO_OIDC if you set it"), "{stderr}");
    assert!(!user.config_path().exists());
}

#[test]
fn malformed_sso_session_section_is_named() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    std::fs::write(
        user.config_path(),
        "# mine\n[sso-session acme]\nsso_start_url = https://d-1234567890.awsapps.com/start\n",
    )
    .unwrap();
    let out = user.run(&["login", "--session", "acme", "--device-code", "--no-browser"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[sso-session acme]") && stderr.contains("sso_region"), "{stderr}");
    let missing = user.run(&["login", "--session", "nope", "--device-code"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("there is no SSO session `nope`"));
    assert_eq!(
        std::fs::read_to_string(user.config_path()).unwrap(),
        "# mine\n[sso-session acme]\nsso_start_url = https://d-1234567890.awsapps.com/start\n"
    );
}

#[test]
fn bad_start_url_is_a_usage_error() {
    let user = User::with_endpoint("http://127.0.0.1:9");
    let out = user.run(&[
        "login",
        "--session",
        "acme",
        "--start-url",
        "http://example.com",
        "--region",
        REGION,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not an https:// start URL"));
}

#[test]
fn silent_refresh_rotates_the_refresh_token() {
    // Tokens live 10 minutes: inside the 15-minute refresh window from the start.
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "600"]);
    let user = User::new(&emu);
    user.login();
    let before = emu.op_count("CreateToken");
    let out = user.credential_process("111111111111", "Developer");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(emu.op_count("CreateToken"), before + 1, "one refresh");
    // The rotated refresh token is stored: a second refresh works (a reused one would fail).
    let out = user.credential_process("222222222222", "ReadOnly");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(emu.op_count("CreateToken"), before + 2);
    user.assert_no_secret_leaked(&emu, &[&text(&out.stderr)]);
}

#[test]
fn logout_ends_the_session_everywhere() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let cp = [
        "credential-process",
        "--session",
        "acme",
        "--account",
        "111111111111",
        "--role",
        "Developer",
    ];
    assert_eq!(user.run(&cp).status.code(), Some(0));
    let out = user.run(&["logout", "--session", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("removed 3 entries"), "{}", text(&out.stderr));
    assert_eq!(emu.op_count("Logout"), 1);
    let after = user.run(&cp);
    assert_eq!(after.status.code(), Some(1));
    assert!(after.stdout.is_empty());
    assert!(
        text(&after.stderr).contains("keyless login --session acme"),
        "{}",
        text(&after.stderr)
    );
    let status = status_json(&emu, &user);
    assert_eq!(status["sessions"][0]["signed_in"], false);
    user.assert_no_secret_leaked(&emu, &[&text(&out.stderr), &text(&out.stdout)]);
}

#[test]
fn locked_secret_service_is_a_clear_error() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    let daemon = support::keyring::SecretServiceDaemon::start();
    daemon.lock_all();
    user.use_secret_service(&daemon);
    let out = user.run(&login_args("--device-code"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: the secret-service keychain is locked"), "{stderr}");
    assert!(stderr.contains("hint: unlock your login keyring"), "{stderr}");
    assert!(!user.config_path().exists());
}

#[test]
fn secret_service_without_a_login_keyring_refuses_instead_of_keeping_tokens_in_memory() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    let daemon = support::keyring::SecretServiceDaemon::start_without_login_keyring();
    assert_eq!(daemon.read_alias("default"), "/", "this daemon must have no default keyring");
    user.use_secret_service(&daemon);
    let out = user.run(&login_args("--device-code"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "error: the secret-service keychain is not available: the Secret Service has no default (login) keyring; keyless does not store tokens in its in-memory session collection"
        )
            && stderr.contains("persistent login keyring")
            && stderr.contains("KEYLESS_STORE=keyutils"),
        "{stderr}"
    );
    // Nothing went to gnome-keyring's in-memory `session` collection, and no profile or
    // session section was written for a sign-in that could not be kept.
    assert_eq!(daemon.count_items("application", "keyless"), 0);
    assert!(!user.config_path().exists());
    user.assert_no_secret_leaked(&emu, &[&stderr]);
}

#[test]
fn login_and_credentials_through_the_secret_service() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    let daemon = support::keyring::SecretServiceDaemon::start();
    user.use_secret_service(&daemon);
    user.login();
    let out = user.credential_process("111111111111", "Developer");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Version"], 1);
    assert_eq!(status_json(&emu, &user)["store"], "secret-service");
    // The entries are in the persistent login keyring, not in memory.
    assert_eq!(daemon.read_alias("default"), "/org/freedesktop/secrets/collection/login");
    assert!(daemon.count_items("application", "keyless") >= 2, "token and role credentials");
    // gnome-keyring stores its (encrypted) keyring under the daemon's HOME, not the user's.
    user.assert_no_secret_leaked(&emu, &[&text(&out.stderr)]);
}

#[cfg(target_os = "linux")] // /proc, core limits and setuid
#[test]
fn a_keyless_process_holding_secrets_cannot_dump_core() {
    use std::io::BufRead;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    // The emulator is a long-running keyless process full of issued secrets. The shell raises
    // the soft core limit as far as allowed, so a limit of 0 below is keyless's own doing.
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -S -c \"$(ulimit -H -c)\"; exec \"$0\" emulator serve"])
        .arg(support::keyless_bin())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
    // /proc/PID files belong to the process's user, or to root when it is not dumpable: run it
    // as another user when the tests run as root, so the two cases differ.
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    if me == 0 {
        cmd.uid(65534).gid(65534);
    }
    let mut child = cmd.spawn().expect("starting keyless emulator serve");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("http://127.0.0.1:"), "{first:?}");
    let proc_dir = format!("/proc/{}", child.id());
    let owner = std::fs::metadata(format!("{proc_dir}/status")).unwrap().uid();
    let limits = std::fs::read_to_string(format!("{proc_dir}/limits")).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(owner, 0, "the process is dumpable: its /proc files belong to uid {owner}");
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "soft core limit: {core}");
}

/// A sign-in service that registers clients and starts device sign-ins with the verification
/// addresses given, and refuses every token request. Answers until the test ends.
fn fake_oidc(verification_uri: &'static str, complete: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // The head, then the body by its length.
            let body_len = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break Some((end + 4, len));
                }
            };
            let Some((start, len)) = body_len else { continue };
            while buf.len() < start + len {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let line = String::from_utf8_lossy(&buf).lines().next().unwrap_or("").to_string();
            let (status, body) = if line.contains("/client/register") {
                (
                    "200 OK",
                    serde_json::json!({"clientId": "fake-client", "clientSecret": "fake-secret-value", "clientIdIssuedAt": 1_700_000_000, "clientSecretExpiresAt": 4_000_000_000i64}),
                )
            } else if line.contains("/device_authorization") {
                (
                    "200 OK",
                    serde_json::json!({"deviceCode": "fake-device-code", "userCode": "ABCD-EFGH", "verificationUri": verification_uri, "verificationUriComplete": complete, "expiresIn": 600, "interval": 1}),
                )
            } else {
                ("400 Bad Request", serde_json::json!({"error": "access_denied"}))
            };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A "browser" that records every address it is asked to open.
fn recording_browser(user: &mut User) -> std::path::PathBuf {
    let script = user.home.path().join("browser.sh");
    let log = user.home.path().join("opened.txt");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", log.display()))
        .unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    user.extra_env.push(("BROWSER".into(), script.display().to_string()));
    log
}

#[test]
fn verification_addresses_that_are_not_https_are_never_opened() {
    for (uri, complete) in [
        ("file:///etc/passwd", "file:///etc/passwd"),
        ("https://device.example/", "http://phish.example/device?user_code=ABCD-EFGH"),
        ("https://device.example/", "https://user@phish.example/"),
    ] {
        let endpoint = fake_oidc(uri, complete);
        let mut user = User::with_endpoint(&endpoint);
        let opened = recording_browser(&mut user);
        let mut args = login_args("--device-code");
        args.retain(|a| *a != "--no-browser");
        let out = user.run(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{complete}: {err}");
        assert!(
            err.contains("the sign-in service gave a verification address that is not https"),
            "{complete}: {err}"
        );
        // The opener would run in the background: give it the time it had on the way out.
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(!opened.exists(), "{complete} was opened: {:?}", std::fs::read_to_string(&opened));
    }
    // The same browser is used for the local Identity Center's http address on this machine.
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    let opened = recording_browser(&mut user);
    let mut args = login_args("--device-code");
    args.retain(|a| *a != "--no-browser");
    let out = user.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The opener runs in the background: wait for what it recorded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let log = loop {
        match std::fs::read_to_string(&opened) {
            Ok(log) if log.ends_with('\n') => break log,
            _ => {
                assert!(std::time::Instant::now() < deadline, "the loopback address was not opened")
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(log.starts_with(&format!("{}/", emu.url())), "{log}");
}

/// A sign-in endpoint that hides its host behind `user@` (here a variable someone set) would make
/// a sign-in address a person cannot judge: keyless refuses the variable before it asks anything,
/// so no address is shown or opened.
#[test]
fn a_sign_in_address_that_hides_its_host_is_neither_shown_nor_opened() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    let opened = recording_browser(&mut user);
    let endpoint = format!("http://someone@{}", emu.addr());
    user.extra_env.push(("AWS_ENDPOINT_URL_SSO_OIDC".into(), endpoint.clone()));
    let mut args = login_args("--pkce");
    args.retain(|a| *a != "--no-browser");
    let out = user.run(&args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: AWS_ENDPOINT_URL_SSO_OIDC names a user before its host (`http://…@{}`)",
            emu.addr()
        )),
        "{err}"
    );
    assert!(!err.contains("/authorize"), "no sign-in address is shown: {err}");
    assert!(!err.contains("If it does not open, visit"), "{err}");
    assert!(!opened.exists(), "the browser was started");
    assert_eq!(emu.op_count("RegisterClient"), 0, "nothing was asked of the endpoint");
    assert!(!user.config_path().exists(), "a failed login wrote the config");
}
