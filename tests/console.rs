//! `keyless console` end to end against the emulator's federation endpoint: the printed URL
//! signs in as the profile's role, and bad or expired credentials fail clearly.

mod eco;
mod support;

use eco::{Home, text};
use support::{Emulator, request};

const DEV: &str = "111111111111";

/// Follows a login URL printed by `keyless console --print` on the emulator.
fn follow(emu: &Emulator, url: &str) -> support::Response {
    let path =
        url.strip_prefix(emu.url()).unwrap_or_else(|| panic!("{url} is not on the emulator"));
    request(emu.addr(), "GET", path, &[], b"")
}

/// Role credentials straight from the portal, as a non-keyless tool would hold them.
fn role_credentials(emu: &Emulator, access_token: &str, role: &str) -> serde_json::Value {
    let r = request(
        emu.addr(),
        "GET",
        &format!("/federation/credentials?role_name={role}&account_id={DEV}"),
        &[("x-amz-sso_bearer_token", access_token)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["roleCredentials"].clone()
}

/// The login URL as AWS documents building it ("Enable custom identity broker access to the
/// AWS console", its Python example): `?Action=login`, `&Issuer=`, `&Destination=` and
/// `&SigninToken=`, each value through `urllib.parse.quote_plus`. Built by Python, not by
/// keyless's code, from the sign-in token the emulator issued.
fn documented_login_url(base: &str, issuer: &str, destination: &str, token: &str) -> String {
    const DOC: &str = r#"
import sys
from urllib.parse import quote_plus
base, issuer, destination, token = sys.argv[1:]
print(base + "/federation" + "?Action=login" + "&Issuer=" + quote_plus(issuer)
      + "&Destination=" + quote_plus(destination) + "&SigninToken=" + quote_plus(token))
"#;
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    let out = std::process::Command::new(py)
        .args(["-c", DOC, base, issuer, destination, token])
        .output()
        .expect("running Python");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// The one sign-in token the emulator issued.
fn issued_signin_token(emu: &Emulator) -> String {
    let tokens: Vec<String> =
        emu.secrets().into_iter().filter(|s| s.starts_with("emuSigninToken")).collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    tokens[0].clone()
}

/// A HOME signed in to `emu` as `acme`, with the keyless profile `acme-dev` (Developer in
/// the dev account).
fn signed_in_dev(emu: &Emulator, name: &str) -> Home {
    let home = Home::with_emulator(name, emu);
    home.seed_session(emu, "acme");
    home.write_config(&Home::managed_profile(
        "acme-dev",
        &support::keyless_bin(),
        "acme",
        DEV,
        "Developer",
    ));
    home
}

#[test]
fn print_gives_a_url_that_signs_in_as_the_profiles_role() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = signed_in_dev(&emu, "console");

    let out = home.run(&["console", "--profile", "acme-dev", "--federate", "--print"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let url = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let prefix = format!(
        "{}/federation?Action=login&Issuer=keyless&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=",
        emu.url()
    );
    assert!(url.starts_with(&prefix), "{url}");
    assert!(stderr.contains("warning:") && stderr.contains("15 minutes"), "{stderr}");
    assert!(stderr.contains("role Developer in account 111111111111"), "{stderr}");
    let token = &url[prefix.len()..];
    assert!(!stderr.contains(token), "the sign-in token reached stderr: {stderr}");
    let issued = issued_signin_token(&emu);
    assert_eq!(
        url,
        documented_login_url(emu.url(), "keyless", "https://console.aws.amazon.com/", &issued),
        "not the login URL AWS documents"
    );
    // No credential of any kind is printed or written: the URL carries only the one-time
    // sign-in token, which nothing else may hold.
    let credentials: Vec<String> =
        emu.secrets().into_iter().filter(|s| !s.starts_with("emuSigninToken")).collect();
    support::assert_no_secret_in(&[home.path()], &credentials, &[&stdout, &stderr]);
    home.assert_no_secret_leaked(&emu, &[], &[&stderr]);
    assert_eq!(emu.op_count("GetSigninToken"), 1);

    let page = follow(&emu, url);
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<strong id=\"role\">Developer</strong>"), "{html}");
    assert!(html.contains("<strong id=\"account\">111111111111</strong>"), "{html}");
    assert!(html.contains("<strong id=\"user\">alice</strong>"), "{html}");
    assert!(html.contains("Issuer: <code>keyless</code>"), "{html}");
}

#[test]
fn duration_and_destination_reach_the_federation_endpoint() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-dest", &emu);
    home.seed_session(&emu, "acme");
    home.write_config(&Home::managed_profile(
        "ro",
        &support::keyless_bin(),
        "acme",
        DEV,
        "ReadOnly",
    ));
    let dest = "https://console.aws.amazon.com/s3/home?region=ap-northeast-2";
    let out = home.run(&[
        "console",
        "--profile",
        "ro",
        "--federate",
        "--print",
        "--duration",
        "7200",
        "--destination",
        dest,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let url = text(&out.stdout).trim().to_string();
    let documented = documented_login_url(emu.url(), "keyless", dest, &issued_signin_token(&emu));
    assert_eq!(url, documented, "not the login URL AWS documents");
    let html = follow(&emu, &url).text();
    assert!(html.contains("Console session: 2 h."), "{html}");
    assert!(html.contains("<strong id=\"role\">ReadOnly</strong>"), "{html}");
    assert!(html.contains(&format!("<code>{}</code>", dest.replace('&', "&amp;"))), "{html}");

    let bad =
        home.run(&["console", "--profile", "ro", "--federate", "--print", "--duration", "60"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}

#[test]
fn a_profile_with_temporary_credentials_works_through_the_sdk_chain() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-sdk", &emu);
    let token = home.seed_session(&emu, "acme");
    let c = role_credentials(&emu, token.access_token.expose(), "Developer");
    home.write_credentials(&format!(
        "[temp]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        c["accessKeyId"].as_str().unwrap(),
        c["secretAccessKey"].as_str().unwrap(),
        c["sessionToken"].as_str().unwrap()
    ));
    let out = home.run(&["console", "--profile", "temp", "--print"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = follow(&emu, text(&out.stdout).trim()).text();
    assert!(html.contains("<strong id=\"role\">Developer</strong>"), "{html}");
}

#[test]
fn long_lived_keys_cannot_sign_in_to_the_console() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-akia", &emu);
    home.write_credentials(
        "[old]\naws_access_key_id = AKIAACMEDEV000000001\naws_secret_access_key = acmeDemoSecretKey0000000000000000000000a\n",
    );
    let out = home.run(&["console", "--profile", "old", "--print"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("long-lived access keys, which cannot sign in to the console"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(emu.op_count("GetSigninToken"), 0);
    // The key stays in the user's credentials file on purpose, and the emulator issued
    // nothing: only the output is scanned, for the refused key in every form.
    let key = "acmeDemoSecretKey0000000000000000000000a";
    support::assert_no_secret_in(&[], &[key.to_string()], &[&stderr]);
}

#[test]
fn revoked_and_expired_credentials_are_refused_clearly() {
    let emu = Emulator::start(&["--auto-approve", "--role-ttl", "2"]);
    let home = Home::with_emulator("console-expired", &emu);
    let token = home.seed_session(&emu, "acme");
    let c = role_credentials(&emu, token.access_token.expose(), "Developer");
    home.write_credentials(&format!(
        "[temp]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        c["accessKeyId"].as_str().unwrap(),
        c["secretAccessKey"].as_str().unwrap(),
        c["sessionToken"].as_str().unwrap()
    ));
    // Poll until the credentials run out (the emulator counts whole seconds; the machine may
    // be slow), instead of guessing a sleep.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let out = loop {
        let out = home.run(&["console", "--profile", "temp", "--print"]);
        if out.status.code() != Some(0) || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the AWS sign-in endpoint refused the role credentials (HTTP 400)"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!stderr.contains(c["sessionToken"].as_str().unwrap()));

    // Revoked: the user was disabled in Identity Center after the credentials were issued.
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-revoked", &emu);
    let token = home.seed_session(&emu, "acme");
    let c = role_credentials(&emu, token.access_token.expose(), "Developer");
    home.write_credentials(&format!(
        "[temp]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        c["accessKeyId"].as_str().unwrap(),
        c["secretAccessKey"].as_str().unwrap(),
        c["sessionToken"].as_str().unwrap()
    ));
    emu.disable_user("alice");
    let out = home.run(&["console", "--profile", "temp", "--print"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("refused the role credentials"));
}

#[test]
fn a_keyless_profile_without_a_session_says_to_sign_in() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-nosession", &emu);
    home.write_config(&Home::managed_profile(
        "acme-dev",
        &support::keyless_bin(),
        "acme",
        DEV,
        "Developer",
    ));
    let out = home.run(&["console", "--profile", "acme-dev", "--federate", "--print"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not signed in to SSO session `acme`"), "{stderr}");
    assert!(stderr.contains("keyless login --session acme"), "{stderr}");
}

#[test]
fn the_login_link_cannot_be_forged() {
    let emu = Emulator::start(&[]);
    let r = emu.get("/federation?Action=login&Issuer=x&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=forged");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("not valid or has expired"));
    let r = emu.get("/federation?Action=getSigninToken&Session=%7B%7D");
    assert_eq!(r.status, 400);
}

/// The access portal's console shortcut link, exactly as AWS documents it
/// (<https://docs.aws.amazon.com/singlesignon/latest/userguide/createshortcutlink.html>):
/// `https://[your_subdomain].awsapps.com/start/#/console?account_id=[account_ID]&role_name=[permission_set_name]&destination=[destination_URL]`,
/// each value URL-encoded; the destination is optional.
fn documented_shortcut(account: &str, role: &str, destination: Option<&str>) -> String {
    const TEMPLATE: &str = "https://[your_subdomain].awsapps.com/start/#/console?account_id=[account_ID]&role_name=[permission_set_name]&destination=[destination_URL]";
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let url = TEMPLATE
        .replace("[your_subdomain]", "d-1234567890")
        .replace("[account_ID]", &enc(account))
        .replace("[permission_set_name]", &enc(role));
    match destination {
        Some(d) => url.replace("[destination_URL]", &enc(d)),
        None => url.replace("&destination=[destination_URL]", ""),
    }
}

/// A config with the `acme` session, a keyless profile, an AWS CLI SSO profile and an older
/// AWS CLI profile with its own start URL.
fn sso_profiles(home: &Home) {
    let mut config = format!(
        "[sso-session acme]\nsso_start_url = {}\nsso_region = {}\n\n",
        eco::START_URL,
        eco::REGION
    );
    config.push_str(&Home::managed_profile(
        "acme-dev",
        &support::keyless_bin(),
        "acme",
        DEV,
        "Developer",
    ));
    config.push_str(
        "\n[profile cli-ro]\nsso_session = acme\nsso_account_id = 222222222222\nsso_role_name = ReadOnly\nregion = eu-west-2\n",
    );
    config.push_str(&format!(
        "\n[profile legacy]\nsso_start_url = {}\nsso_region = {}\nsso_account_id = 111111111111\nsso_role_name = Admin\n",
        eco::START_URL,
        eco::REGION
    ));
    home.write_config(&config);
}

#[test]
fn sso_profiles_open_the_portal_shortcut_which_holds_no_credential() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-portal", &emu);
    home.seed_session(&emu, "acme");
    sso_profiles(&home);
    let print = |args: &[&str]| {
        let mut all = vec!["console", "--print"];
        all.extend(args);
        let out = home.run(&all);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("holds no credential"), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    };
    assert_eq!(print(&["--profile", "acme-dev"]), documented_shortcut(DEV, "Developer", None));
    assert_eq!(
        print(&["--profile", "cli-ro"]),
        documented_shortcut("222222222222", "ReadOnly", None)
    );
    assert_eq!(print(&["--profile", "legacy"]), documented_shortcut(DEV, "Admin", None));
    // --service lands on that service's page in the profile's region; --region overrides it.
    assert_eq!(
        print(&["--profile", "acme-dev", "--service", "s3"]),
        documented_shortcut(
            DEV,
            "Developer",
            Some("https://console.aws.amazon.com/s3/home?region=ap-northeast-2")
        )
    );
    assert_eq!(
        print(&["--profile", "cli-ro", "--service", "ec2", "--region", "us-west-2"]),
        documented_shortcut(
            "222222222222",
            "ReadOnly",
            Some("https://console.aws.amazon.com/ec2/home?region=us-west-2")
        )
    );
    assert_eq!(
        print(&["--profile", "cli-ro", "--region", "eu-central-1"]),
        documented_shortcut(
            "222222222222",
            "ReadOnly",
            Some("https://console.aws.amazon.com/console/home?region=eu-central-1")
        )
    );
    let dest = "https://console.aws.amazon.com/lambda/home?region=eu-west-1#/functions";
    assert_eq!(
        print(&["--profile", "acme-dev", "--destination", dest]),
        documented_shortcut(DEV, "Developer", Some(dest))
    );
    // A GovCloud portal's roles are GovCloud roles: without a region, the page is on that
    // partition's console.
    let mut config = std::fs::read_to_string(home.config_path()).unwrap();
    config.push_str("\n[sso-session gov]\nsso_start_url = https://start.us-gov-home.awsapps.com/directory/d-9067000000\nsso_region = us-gov-west-1\n\n[profile gov-ro]\nsso_session = gov\nsso_account_id = 333333333333\nsso_role_name = ReadOnly\n");
    home.write_config(&config);
    assert_eq!(
        print(&["--profile", "gov-ro", "--service", "s3"]),
        "https://start.us-gov-home.awsapps.com/directory/d-9067000000/#/console?account_id=333333333333&role_name=ReadOnly&destination=https%3A%2F%2Fconsole.amazonaws-us-gov.com%2Fs3%2Fhome"
    );
    // Nothing was asked of AWS: no role credentials, no sign-in token.
    assert_eq!(emu.op_count("GetRoleCredentials"), 0);
    assert_eq!(emu.op_count("GetSigninToken"), 0);
}

/// A stand-in browser for `$BROWSER`: writes what it was given and what the loopback address
/// answered (a wrong path first, the real one twice) to the file named by its first argument.
const FAKE_BROWSER: &str = r#"
import http.client, json, os, sys, urllib.parse
out, url = sys.argv[1], sys.argv[2]
record = {"argv": sys.argv[2:]}
def get(path):
    u = urllib.parse.urlsplit(url)
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        return {"status": r.status, "location": r.getheader("Location"), "cache": r.getheader("Cache-Control")}
    except OSError as e:
        return {"error": str(e)}
if url.startswith("http://127.0.0.1:"):
    path = urllib.parse.urlsplit(url).path
    record["wrong"] = get("/" + "0" * 64)
    record["first"] = get(path)
    record["second"] = get(path)
with open(out + ".tmp", "w") as f:
    json.dump(record, f)
os.rename(out + ".tmp", out)
"#;

/// Points `$BROWSER` at [`FAKE_BROWSER`]; returns the file it will write.
fn fake_browser(home: &mut Home) -> std::path::PathBuf {
    let script = home.path().join("fake-browser.py");
    std::fs::write(&script, FAKE_BROWSER).unwrap();
    let record = home.path().join("browser.json");
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    home.env.push(("BROWSER".into(), format!("{py} {} {}", script.display(), record.display())));
    record
}

/// Waits for the stand-in browser's record (it runs in the background).
fn browser_record(path: &std::path::Path) -> serde_json::Value {
    for _ in 0..600 {
        if let Ok(t) = std::fs::read_to_string(path) {
            return serde_json::from_str(&t).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the browser never ran");
}

#[test]
fn opening_the_portal_hands_the_browser_the_shortcut_link() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut home = Home::with_emulator("console-open", &emu);
    home.seed_session(&emu, "acme");
    sso_profiles(&home);
    let record = fake_browser(&mut home);
    let out = home.run(&["console", "--profile", "cli-ro", "--service", "s3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let r = browser_record(&record);
    let want = documented_shortcut(
        "222222222222",
        "ReadOnly",
        Some("https://console.aws.amazon.com/s3/home?region=eu-west-2"),
    );
    assert_eq!(r["argv"], serde_json::json!([want]));
}

#[test]
fn federation_never_puts_the_sign_in_url_on_a_command_line() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut home = Home::with_emulator("console-handover", &emu);
    home.seed_session(&emu, "acme");
    sso_profiles(&home);
    let record = fake_browser(&mut home);
    let out = home.run(&["console", "--profile", "acme-dev", "--federate", "--service", "ec2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(emu.op_count("GetSigninToken"), 1);
    let r = browser_record(&record);

    // The browser's command line: one loopback address with a 256-bit random path, no secret.
    let argv = r["argv"].as_array().unwrap();
    assert_eq!(argv.len(), 1, "{r}");
    let arg = argv[0].as_str().unwrap();
    let path = arg.strip_prefix("http://127.0.0.1:").and_then(|rest| rest.split_once('/'));
    let (port, nonce) = path.unwrap_or_else(|| panic!("not a loopback address: {arg}"));
    assert!(port.parse::<u16>().is_ok(), "{arg}");
    assert!(nonce.len() == 64 && nonce.bytes().all(|b| b.is_ascii_hexdigit()), "{arg}");
    for secret in emu.secrets() {
        assert!(!arg.contains(&secret), "a secret is on the browser's command line");
    }
    assert!(!arg.contains("SigninToken"), "{arg}");

    // A wrong path changes nothing; the right one redirects once, uncached; then it is gone.
    assert_eq!(r["wrong"]["status"], 404, "{r}");
    assert_eq!(r["first"]["status"], 303, "{r}");
    assert_eq!(r["first"]["cache"], "no-store", "{r}");
    assert!(r["second"]["location"].is_null() && r["second"]["status"] != 303, "{r}");
    let location = r["first"]["location"].as_str().unwrap();
    assert!(location.starts_with(&format!("{}/federation?Action=login&", emu.url())), "{location}");
    let html = follow(&emu, location).text();
    assert!(html.contains("<strong id=\"role\">Developer</strong>"), "{html}");
    assert!(
        html.contains("<code>https://console.aws.amazon.com/ec2/home?region=ap-northeast-2</code>"),
        "{html}"
    );
    // Nor on keyless's own outputs.
    for secret in emu.secrets() {
        assert!(!text(&out.stderr).contains(&secret), "a secret reached stderr");
    }
}

#[test]
fn federation_takes_region_and_service() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-fed-region", &emu);
    home.seed_session(&emu, "acme");
    sso_profiles(&home);
    let out = home.run(&[
        "console",
        "--profile",
        "acme-dev",
        "--federate",
        "--print",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = follow(&emu, text(&out.stdout).trim()).text();
    assert!(
        html.contains("<code>https://console.aws.amazon.com/console/home?region=eu-west-1</code>"),
        "{html}"
    );
    let bad = home.run(&["console", "--profile", "acme-dev", "--service", "s3/../iam"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("is not a console service name"));
}

#[test]
fn without_a_profile_or_a_terminal_it_names_the_missing_flag() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console-noprofile", &emu);
    sso_profiles(&home);
    for cmd in [&["console"][..], &["whoami"], &["env"], &["exec", "--", "true"]] {
        let out = home.run(cmd);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert!(stderr.contains("--profile is missing"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// A sign-in endpoint that records the one request it gets and answers with a sign-in token.
fn recording_signin_endpoint() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
        let body = r#"{"SigninToken":"recorded-signin-token"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    (url, rx)
}

#[test]
fn the_sign_in_token_request_is_the_one_aws_documents() {
    // AWS's documented request ("Enable custom identity broker access to the AWS console"):
    // GET /federation?Action=getSigninToken&SessionDuration=<seconds>&Session=<URL-encoded
    // JSON {"sessionId", "sessionKey", "sessionToken"}>, holding the role's temporary
    // credentials. Checked against that parameter set and the credentials the emulator issued.
    let emu = Emulator::start(&["--auto-approve"]);
    let (signin, recorded) = recording_signin_endpoint();
    let mut home = signed_in_dev(&emu, "console-doc-request");
    home.env.push(("AWS_ENDPOINT_URL_SIGNIN".into(), signin.clone()));
    let out = home.run(&[
        "console",
        "--profile",
        "acme-dev",
        "--federate",
        "--print",
        "--duration",
        "7200",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let head = recorded.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    let target = head.lines().next().unwrap();
    let path = target
        .strip_prefix("GET ")
        .and_then(|t| t.strip_suffix(" HTTP/1.1"))
        .unwrap_or_else(|| panic!("not a GET: {target}"));
    let (route, query) = path.split_once('?').unwrap();
    assert_eq!(route, "/federation");
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["Action", "SessionDuration", "Session"], "{path}");
    assert_eq!(pairs[0].1, "getSigninToken");
    assert_eq!(pairs[1].1, "7200");
    let session: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&pairs[2].1).expect("Session is JSON");
    let mut keys: Vec<&str> = session.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["sessionId", "sessionKey", "sessionToken"]);
    let issued = emu.secrets();
    assert!(session["sessionId"].as_str().unwrap().starts_with("ASIA"), "{session:?}");
    for k in ["sessionKey", "sessionToken"] {
        assert!(
            issued.iter().any(|s| Some(s.as_str()) == session[k].as_str()),
            "{k} is not what the emulator issued"
        );
    }
    // And the login URL spends the recorded token, built as the documented procedure builds it.
    let url = text(&out.stdout).trim().to_string();
    assert_eq!(
        url,
        documented_login_url(
            &signin,
            "keyless",
            "https://console.aws.amazon.com/",
            "recorded-signin-token"
        )
    );
    home.assert_no_secret_leaked(&emu, &[], &[&url, &text(&out.stderr)]);
}
