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

#[test]
fn print_gives_a_url_that_signs_in_as_the_profiles_role() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("console", &emu);
    home.seed_session(&emu, "acme");
    home.write_config(&Home::managed_profile(
        "acme-dev",
        &support::keyless_bin(),
        "acme",
        DEV,
        "Developer",
    ));

    let out = home.run(&["console", "--profile", "acme-dev", "--print"]);
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
    // No credential of any kind is printed: only the sign-in token is in the URL.
    for secret in emu.secrets() {
        if url.contains(&secret) && !secret.starts_with("emuSigninToken") {
            panic!("a credential is in the URL");
        }
        assert!(!stderr.contains(&secret), "a secret reached stderr");
    }
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
        "--print",
        "--duration",
        "7200",
        "--destination",
        dest,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = follow(&emu, text(&out.stdout).trim()).text();
    assert!(html.contains("Console session: 2 h."), "{html}");
    assert!(html.contains("<strong id=\"role\">ReadOnly</strong>"), "{html}");
    assert!(html.contains(&format!("<code>{}</code>", dest.replace('&', "&amp;"))), "{html}");

    let bad = home.run(&["console", "--profile", "ro", "--print", "--duration", "60"]);
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
    assert!(!stderr.contains("acmeDemoSecretKey"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(emu.op_count("GetSigninToken"), 0);
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
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let out = home.run(&["console", "--profile", "temp", "--print"]);
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
    let out = home.run(&["console", "--profile", "acme-dev", "--print"]);
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
