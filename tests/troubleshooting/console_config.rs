//! Troubleshooting messages: the console, AWS config files, and key migration.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

/// Role credentials as a non-keyless tool leaves them in the credentials file: temporary
/// (`ASIA…` with a session token), so the console may federate them. Nothing checks them
/// before the sign-in endpoint does.
fn temporary_credentials(user: &User) {
    std::fs::write(
        user.credentials_path(),
        "[temp]\naws_access_key_id = ASIAEXAMPLETEMP00001\naws_secret_access_key = tempSecretKeyThatNoOutputMayShow0000000\naws_session_token = tempSessionTokenThatNoOutputMayShow\n",
    )
    .unwrap();
}

/// A sign-in endpoint on loopback that answers every request with HTTP 200 and `body`.
fn signin_endpoint(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn the_console_needs_temporary_credentials_and_says_where_to_get_them() {
    let user = offline_user();
    std::fs::write(
        user.credentials_path(),
        "[old]\naws_access_key_id = AKIAACMEDEV000000001\naws_secret_access_key = acmeDemoSecretKey0000000000000000000000a\n",
    )
    .unwrap();
    std::fs::write(user.config_path(), "[profile empty]\nregion = eu-west-1\n").unwrap();

    let (code, err) = fails(&user, &["console", "--profile", "old", "--print"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: profile `old` uses long-lived access keys, which cannot sign in to the console"
        ),
        "{err}"
    );
    assert!(err.contains("hint: use a keyless profile (SSO role credentials) instead"), "{err}");
    assert!(!err.contains("acmeDemoSecretKey"), "{err}");

    // A profile with no credential settings at all, and one that does not exist: the SDK's
    // "the credential provider was not enabled" is not shown, the way out is.
    for profile in ["empty", "nosuch"] {
        let (code, err) = fails(&user, &["console", "--profile", profile, "--print"]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(&format!("error: profile `{profile}` has no credentials")), "{err}");
        assert!(
            err.contains(
                "hint: run `keyless profiles sync` or `keyless onboard` to create keyless profiles"
            ),
            "{err}"
        );
        assert!(!err.contains("not enabled"), "{err}");
    }

    let (code, err) = fails(&user, &["console", "--profile", "old", "--service", "S3"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("error: invalid value 'S3' for '--service <SERVICE>': `S3` is not a console service name (e.g. s3, ec2, lambda)"),
        "{err}"
    );
}

#[test]
fn a_sign_in_endpoint_that_is_down_or_answers_without_a_token_is_named() {
    let mut user = offline_user();
    temporary_credentials(&user);
    // Nothing listens at the user's endpoint (port 9).
    let (code, err) = fails(&user, &["console", "--profile", "temp", "--federate", "--print"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error: could not reach the AWS sign-in endpoint: requesting http://127.0.0.1:9/federation?…: "),
        "{err}"
    );
    assert!(
        err.contains(
            "hint: check your network connection (or AWS_ENDPOINT_URL_SIGNIN) and try again"
        ),
        "{err}"
    );
    assert!(!err.contains("tempSecretKey") && !err.contains("tempSessionToken"), "{err}");

    // An endpoint that answers 200 with something that is not a sign-in token.
    let signin = signin_endpoint(r#"{"Signin":"not the field AWS documents"}"#);
    user.extra_env.push(("AWS_ENDPOINT_URL_SIGNIN".into(), signin));
    let (code, err) = fails(&user, &["console", "--profile", "temp", "--print"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error: the AWS sign-in endpoint answered without a sign-in token"),
        "{err}"
    );
    assert!(err.contains("hint: check AWS_ENDPOINT_URL_SIGNIN, or try again later"), "{err}");
}

#[test]
fn without_a_browser_the_console_says_to_print_the_url() {
    let mut user = offline_user();
    std::fs::write(
        user.config_path(),
        format!(
            "[sso-session acme]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n\n[profile dev]\nsso_session = acme\nsso_account_id = 111111111111\nsso_role_name = Developer\n"
        ),
    )
    .unwrap();
    // A machine with no browser installed: nothing on PATH opens a page.
    let empty = support::TempDir::new("no-browsers");
    user.extra_env.push(("PATH".into(), empty.path().display().to_string()));
    let (code, err) = fails(&user, &["console", "--profile", "dev"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error: could not open a browser: "), "{err}");
    assert!(
        err.contains("hint: run `keyless console --print --profile dev` and open the URL yourself"),
        "{err}"
    );
}

/// A user signed in nowhere yet, with an auto-approving emulator of the demo organisation.
fn demo_user() -> (support::Emulator, User) {
    let org = repo("profiles/demo-org.toml");
    let emu = support::Emulator::start(&["--org", org.to_str().unwrap(), "--auto-approve"]);
    let user = User::new(&emu);
    (emu, user)
}

#[test]
fn a_config_file_keyless_cannot_edit_is_left_as_it_is() {
    let (_emu, user) = demo_user();
    let shown = user.config_path().display().to_string();
    let login = support::user::login_args("--device-code");

    // Not UTF-8: signing in works, writing the session does not, and the file is untouched.
    let original = b"[profile x]\nregion = caf\xe9\n";
    std::fs::write(user.config_path(), original).unwrap();
    let out = user.run(&login);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("error: {shown} is not valid UTF-8; keyless will not edit it")),
        "{err}"
    );
    assert!(
        err.contains("hint: neither AWS SDK reads such a file: fix or re-save it as UTF-8"),
        "{err}"
    );
    assert_eq!(std::fs::read(user.config_path()).unwrap(), original);

    // Another keyless process holds the file's lock (this test holds it, as an editing
    // keyless would): keyless waits its while, then says who holds what.
    std::fs::write(user.config_path(), "[profile x]\nregion = eu-west-1\n").unwrap();
    let lock_path = user.home.path().join(".aws").join("config.keyless.lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let out = user.run(&login);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: another keyless process is editing {shown} (it holds {})",
            lock_path.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("hint: wait for the other keyless command to finish, then run this one again"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(user.config_path()).unwrap(),
        "[profile x]\nregion = eu-west-1\n"
    );
    // Once the other process is done, the same command goes through.
    drop(lock);
    let out = user.run(&login);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(user.config_path()).unwrap().contains("[sso-session acme]"));
}

#[test]
#[cfg(unix)] // a directory name that is not UTF-8 cannot be made on Windows
fn a_keyless_path_the_aws_tools_would_read_differently_is_refused_before_signing_in() {
    use std::os::unix::ffi::OsStrExt;
    let (emu, user) = demo_user();
    let team = repo("profiles/demo-team.toml");
    let places = support::TempDir::new("odd-paths");
    for (dir, message) in [
        (
            std::ffi::OsStr::new("price$tag"),
            "contains `$`, which the AWS CLI and the AWS SDKs read differently in a credential_process command",
        ),
        (std::ffi::OsStr::from_bytes(b"caf\xe9"), "is not valid UTF-8"),
    ] {
        let dir = places.path().join(dir);
        std::fs::create_dir(&dir).unwrap();
        let bin = dir.join("keyless");
        if std::fs::hard_link(support::keyless_bin(), &bin).is_err() {
            std::fs::copy(support::keyless_bin(), &bin).unwrap();
        }
        let mut cmd = std::process::Command::new(&bin);
        user.apply(&mut cmd);
        cmd.args(["onboard", "--device-code", "--no-browser", "--yes", "--team"])
            .arg(&team)
            .stdin(std::process::Stdio::null());
        let out = support::user::run_bounded(cmd, 120);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let shown = bin.display().to_string();
        let want = if message.starts_with("contains") {
            format!("error: the path to keyless `{shown}` {message}")
        } else {
            format!("error: the path to keyless, `{shown}`, {message}")
        };
        assert!(err.contains(&want), "{err}");
        assert!(
            err.contains("hint: install keyless where its path has only ASCII letters, digits, spaces and _ - / . @ : + = , (somewhere like /usr/local/bin or ~/.local/bin)"),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    }
    assert_eq!(emu.op_count("RegisterClient"), 0, "refused before signing in");
    assert!(!user.config_path().exists(), "nothing written");
}

/// An organisation where alice has SSO access to two of three accounts, with a long-lived key
/// of hers in each of the three.
const SPLIT_ORG: &str = r#"
[[accounts]]
id = "111111111111"
name = "acme-dev"
email = "aws-dev@acme.example"
roles = ["Developer"]

[[accounts]]
id = "222222222222"
name = "acme-prod"
email = "aws-prod@acme.example"
roles = ["ReadOnly"]

[[accounts]]
id = "333333333333"
name = "acme-legacy"
email = "aws-legacy@acme.example"
roles = ["Ops"]

[[users]]
name = "alice"
email = "alice@acme.example"
accounts = ["111111111111", "222222222222"]

[[access_keys]]
id = "AKIAACMEDEV000000001"
secret = "acmeDevSecretKey00000000000000000000000a"
account = "111111111111"
user = "alice"

[[access_keys]]
id = "AKIAACMEPROD00000002"
secret = "acmeProdSecretKey0000000000000000000000b"
account = "222222222222"
user = "alice"

[[access_keys]]
id = "AKIAACMEPROD00000004"
secret = "acmeProdSecretKey0000000000000000000000d"
account = "222222222222"
user = "alice"

[[access_keys]]
id = "AKIAACMELEGACY000003"
secret = "acmeLegacySecretKey00000000000000000000c"
account = "333333333333"
user = "alice"
"#;

#[test]
fn keys_migration_cannot_retire_are_kept_and_the_summary_says_why() {
    let dir = support::TempDir::new("split-org");
    let org = dir.path().join("org.toml");
    std::fs::write(&org, SPLIT_ORG).unwrap();
    // The team file maps only the production account.
    let team = dir.path().join("team.toml");
    std::fs::write(
        &team,
        format!(
            "[sso]\nsession = \"acme\"\nstart_url = \"{START_URL}\"\nregion = \"{REGION}\"\n\n[profiles]\nname = \"acme-{{env}}\"\nregion = \"{REGION}\"\n\n[[environments]]\nname = \"prod\"\naccounts = [\"222222222222\"]\nrole = \"ReadOnly\"\n"
        ),
    )
    .unwrap();
    let emu = support::Emulator::start(&["--org", org.to_str().unwrap(), "--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let credentials = "[dev-key]\naws_access_key_id = AKIAACMEDEV000000001\naws_secret_access_key = acmeDevSecretKey00000000000000000000000a\n\n[prod-key]\naws_access_key_id = AKIAACMEPROD00000002\naws_secret_access_key = acmeProdSecretKey0000000000000000000000b\n\n[legacy-key]\naws_access_key_id = AKIAACMELEGACY000003\naws_secret_access_key = acmeLegacySecretKey00000000000000000000c\n\n[odd$name]\naws_access_key_id = AKIAACMEPROD00000004\naws_secret_access_key = acmeProdSecretKey0000000000000000000000d\n";
    std::fs::write(user.credentials_path(), credentials).unwrap();
    // The production key's profile also assumes a role: replacing it would drop that.
    let mut config = std::fs::read_to_string(user.config_path()).unwrap();
    config.push_str(
        "\n[profile prod-key]\nrole_arn = arn:aws:iam::222222222222:role/Ops\nsource_profile = dev-key\n",
    );
    std::fs::write(user.config_path(), &config).unwrap();

    let out = user.run(&["migrate", "--yes", "--team", team.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let shown = user.config_path().display().to_string();
    for line in [
        "kept AKIAACMEDEV000000001 in profile `dev-key`: no role is mapped for account 111111111111 (add it to an environment of the team file, or run without --yes to choose)".to_string(),
        format!("kept AKIAACMEPROD00000002 in profile `prod-key`: profile `prod-key` in {shown} also has role_arn, source_profile, which replacing it would drop; move those settings to another profile (or remove them), then run `keyless migrate` again"),
        "kept AKIAACMELEGACY000003 in profile `legacy-key`: you have no SSO access to account 333333333333; ask for an assignment there first".to_string(),
        // A name botocore reads but the Rust SDK ignores: the profile cannot keep it.
        "kept AKIAACMEPROD00000004 in profile `odd$name`: `odd$name` is not a valid profile name (the Rust SDK ignores it); rename it to letters, digits and _ - / . % @ : + only, then run `keyless migrate` again".to_string(),
    ] {
        assert!(err.lines().any(|l| l == line), "no line {line:?} in:\n{err}");
    }
    // Kept means kept: the keys still work, and the files are as they were.
    for key in [
        "AKIAACMEDEV000000001",
        "AKIAACMEPROD00000002",
        "AKIAACMELEGACY000003",
        "AKIAACMEPROD00000004",
    ] {
        assert_eq!(emu.access_key_status(key), "Active", "{key}");
    }
    assert_eq!(std::fs::read_to_string(user.credentials_path()).unwrap(), credentials);
    assert_eq!(std::fs::read_to_string(user.config_path()).unwrap(), config);
    let secrets: Vec<String> = emu.secrets();
    support::assert_no_secret_in(&[], &secrets, &[&err, &text(&out.stdout)]);
}

/// Serves a sign-in endpoint on `[::1]:8080` that answers every request with a sign-in token,
/// then runs the command it is given and exits with its code. Listening starts before the
/// command does, so no request can come too early.
const SIGNIN_ON_IPV6_THEN_RUN: &str = r#"
import socket, subprocess, sys, threading
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 8080))
s.listen(8)
def serve():
    while True:
        c, _ = s.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.recv(4096)
            if not chunk:
                break
            head += chunk
        body = b'{"SigninToken":"token-from-the-sign-in-endpoint"}'
        c.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
        c.close()
threading.Thread(target=serve, daemon=True).start()
sys.exit(subprocess.run(sys.argv[1:]).returncode)
"#;

#[test]
fn where_no_loopback_listener_is_allowed_the_console_says_to_print_the_url() {
    let mut user = offline_user();
    temporary_credentials(&user);
    user.extra_env.push(("AWS_ENDPOINT_URL_SIGNIN".into(), "http://[::1]:8080".into()));
    // A sandbox without 127.0.0.1: a network namespace of its own whose loopback has only
    // ::1. The sign-in endpoint answers there; the hand-over to the browser cannot listen.
    let shell = "ip link set lo up && ip addr del 127.0.0.1/8 dev lo && exec \"$@\"";
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    let cmd = support::user::wrapped(
        "unshare",
        &[
            "--user",
            "--map-root-user",
            "--net",
            "sh",
            "-c",
            shell,
            "sh",
            &py,
            "-c",
            SIGNIN_ON_IPV6_THEN_RUN,
        ],
        &user.keyless(&["console", "--profile", "temp", "--federate"]),
    );
    let out = support::user::run_bounded(cmd, 120);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: cannot listen on the loopback address to hand the URL to the browser: Cannot assign requested address"),
        "{err}"
    );
    assert!(
        err.contains("hint: run `keyless console --federate --print --profile temp` and open the URL yourself"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(!err.contains("token-from-the-sign-in-endpoint"), "{err}");
}

#[test]
fn a_browser_that_never_loads_the_page_ends_the_console_sign_in_after_120_seconds() {
    // Waits the whole 120 s: the wait is what the message is about.
    let mut user = offline_user();
    temporary_credentials(&user);
    let signin = signin_endpoint(r#"{"SigninToken":"token-from-the-sign-in-endpoint"}"#);
    user.extra_env.push(("AWS_ENDPOINT_URL_SIGNIN".into(), signin));
    // A BROWSER that succeeds without loading anything (no desktop session, a wrong program).
    user.extra_env.push(("BROWSER".into(), "true".into()));
    let out = support::user::run_bounded(
        user.keyless(&["console", "--profile", "temp", "--federate"]),
        400,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: the browser did not come for the console sign-in within 120 s"),
        "{err}"
    );
    assert!(
        err.contains("hint: run `keyless console --federate --print --profile temp` and open the URL yourself (it is a credential: do not share it)"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(!err.contains("token-from-the-sign-in-endpoint"), "{err}");
}

#[test]
fn a_keyless_profile_whose_session_section_is_gone_says_how_to_write_it_again() {
    let user = offline_user();
    // `[sso-session acme]` was deleted by hand; the profile still names it.
    std::fs::write(
        user.config_path(),
        format!(
            "[profile dev]\ncredential_process = {} credential-process --session acme --account 111111111111 --role Developer\n",
            support::keyless_bin()
        ),
    )
    .unwrap();
    let (code, err) = fails(&user, &["console", "--profile", "dev", "--print"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: there is no SSO session `acme` in {}",
            user.config_path().display()
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "hint: run `keyless login --session acme --start-url URL --region REGION`, or `keyless onboard`"
        ),
        "{err}"
    );
}
