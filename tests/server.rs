//! `keyless serve` and `keyless exec --server` against the emulator, judged by AWS's own
//! container-credentials providers: the Rust SDK's ECS provider, botocore and the AWS CLI.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};

use support::Emulator;
use support::user::{User, text, wait_bounded};

fn signed_in(emulator_args: &[&str]) -> (Emulator, User) {
    let mut args = vec!["--auto-approve"];
    args.extend_from_slice(emulator_args);
    let emu = Emulator::start(&args);
    let user = User::new(&emu);
    user.login();
    user.add_profile("acme-dev", "111111111111", "Developer");
    user.add_profile("acme-admin", "222222222222", "Admin");
    (emu, user)
}

/// A running `keyless serve` and the two lines it printed.
struct Served {
    /// `None` once stopped; a test that fails before stopping it kills it on drop.
    child: Option<Child>,
    uri: String,
    token: String,
    /// The rest of stdout, read to its end (empty when keyless printed only the two lines).
    rest: std::sync::mpsc::Receiver<String>,
}

impl Served {
    fn start(user: &User, profiles: &[&str]) -> Served {
        Served::spawn(user.keyless(&serve_args(profiles)))
    }

    /// Runs a `keyless serve` command and reads its env-file lines.
    fn spawn(mut cmd: Command) -> Served {
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawning keyless serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();
        let (first, second) = (next(), next());
        let uri =
            first.strip_prefix("AWS_CONTAINER_CREDENTIALS_FULL_URI=").expect(&first).to_string();
        let token =
            second.strip_prefix("AWS_CONTAINER_AUTHORIZATION_TOKEN=").expect(&second).to_string();
        let (tx, rest) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
        });
        Served { child: Some(child), uri, token, rest }
    }

    fn addr(&self) -> &str {
        self.uri.trim_start_matches("http://").split('/').next().unwrap()
    }

    fn path(&self) -> &str {
        &self.uri[self.uri.find("/profile/").unwrap()..]
    }

    /// Stops the server with SIGTERM and returns its stderr (after checking it exited 0).
    fn stop(mut self) -> String {
        let child = self.child.take().expect("running");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let out = wait_bounded(child, 30);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "serve did not stop cleanly: {err}");
        assert!(err.contains("keyless: stopped"), "{err}");
        err
    }
}

/// `serve` with a `--profile` for each of `profiles`.
fn serve_args<'a>(profiles: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["serve"];
    for p in profiles {
        args.extend(["--profile", p]);
    }
    args
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the Rust SDK's container provider (run in a child process with exactly these
/// variables) reports: `ACCOUNT=`, `ARN=`, `KEY=` lines, or an `ERROR=` line.
fn rust_sdk(user: &User, uri: &str, token: Option<&str>) -> String {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["rust_sdk_container_provider_child", "--exact", "--ignored", "--nocapture"]);
    c.args(["--test-threads", "1"]);
    user.apply(&mut c);
    c.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri).env("AWS_REGION", support::user::REGION);
    c.env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if let Some(t) = token {
        c.env("AWS_CONTAINER_AUTHORIZATION_TOKEN", t);
    }
    let out = support::user::run_bounded(c, 90);
    text(&out.stdout)
}

/// What botocore's container provider (in a child Python with exactly these variables)
/// reports: a `KEY=` line, or an `ERROR=` line with the exception's text.
fn botocore(user: &User, uri: &str, token: Option<&str>) -> String {
    const FETCH: &str = r#"
import botocore.session
try:
    creds = botocore.session.get_session().get_credentials()
    print("KEY=" + (creds.get_frozen_credentials().access_key if creds else "none"))
except Exception as e:
    print("ERROR=" + str(e))
"#;
    let mut c = user.python(&["-c", FETCH]);
    c.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
        .env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if let Some(t) = token {
        c.env("AWS_CONTAINER_AUTHORIZATION_TOKEN", t);
    }
    let out = support::user::run_bounded(c, 90);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// The child side of [`rust_sdk`]: the SDK's ECS provider, unmodified, then STS
/// GetCallerIdentity signed with what it returned.
#[test]
#[ignore = "runs as a child process of the tests below, with the endpoint's variables"]
#[allow(clippy::print_stdout)] // its stdout is the report to the parent test
fn rust_sdk_container_provider_child() {
    use aws_credential_types::provider::ProvideCredentials;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let provider = aws_config::ecs::EcsCredentialsProvider::builder().build();
        match provider.provide_credentials().await {
            Ok(c) => {
                println!("KEY={}", c.access_key_id());
                println!("ACCOUNT={}", c.account_id().map(|a| a.as_str()).unwrap_or("-"));
                let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .credentials_provider(provider)
                    .load()
                    .await;
                let id = aws_sdk_sts::Client::new(&conf).get_caller_identity().send().await;
                match id {
                    Ok(id) => println!("ARN={}", id.arn().unwrap_or_default()),
                    Err(e) => println!("ERROR={}", aws_sdk_sts::error::DisplayErrorContext(e)),
                }
            }
            Err(e) => println!("ERROR={}", aws_sdk_sts::error::DisplayErrorContext(e)),
        }
    });
}

#[test]
fn serve_prints_an_env_file_and_the_rust_sdk_gets_each_profiles_role() {
    let (emu, user) = signed_in(&[]);
    let served = Served::start(&user, &["acme-dev", "acme-admin"]);
    assert!(served.uri.starts_with("http://127.0.0.1:"), "{}", served.uri);
    assert!(served.uri.ends_with("/profile/acme-dev"), "{}", served.uri);
    assert!(served.token.len() >= 22, "at least 128 bits: {}", served.token);
    // Then nothing: stdout is closed, so `docker run --env-file <(keyless serve ...)` ends.
    let rest = served.rest.recv_timeout(std::time::Duration::from_secs(30)).expect("stdout closed");
    assert_eq!(rest, "", "serve printed more than the two env-file lines");

    let dev = rust_sdk(&user, &served.uri, Some(&served.token));
    assert!(dev.contains("ACCOUNT=111111111111"), "{dev}");
    assert!(dev.contains("assumed-role/AWSReservedSSO_Developer_"), "{dev}");
    let admin_uri = served.uri.replace("/profile/acme-dev", "/profile/acme-admin");
    let admin = rust_sdk(&user, &admin_uri, Some(&served.token));
    assert!(admin.contains("ACCOUNT=222222222222"), "{admin}");
    assert!(
        admin.contains("arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Admin_"),
        "{admin}"
    );

    // Without the exact token the SDK gets nothing.
    for token in [None, Some("not-the-token"), Some(&served.token[1..])] {
        let out = rust_sdk(&user, &served.uri, token);
        assert!(out.contains("ERROR=") && !out.contains("KEY="), "{token:?}: {out}");
        user.assert_no_secret_leaked(&emu, &[&out]);
    }
    // On the wire: 401 without a token, 403 with a wrong one, and no credential either way
    // (not even which profiles exist).
    let no_token = support::request(served.addr(), "GET", served.path(), &[], b"");
    assert_eq!(no_token.status, 401, "{}", no_token.text());
    let wrong = served
        .token
        .replace(&served.token[..1], if served.token.starts_with('A') { "B" } else { "A" });
    let bad =
        support::request(served.addr(), "GET", "/profile/nope", &[("authorization", &wrong)], b"");
    assert_eq!(bad.status, 403, "{}", bad.text());
    for r in [&no_token, &bad] {
        assert!(!r.text().contains("AccessKeyId") && !r.text().contains("acme"), "{}", r.text());
        user.assert_no_secret_leaked(&emu, &[&r.text()]);
    }
    let ok = support::request(
        served.addr(),
        "GET",
        served.path(),
        &[("authorization", &served.token)],
        b"",
    );
    assert_eq!(ok.status, 200);
    let v = ok.json();
    for key in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"] {
        assert!(v[key].is_string(), "{key} missing: {v}");
    }

    let err = served.stop();
    assert!(err.contains("refused /profile/acme-dev (no Authorization header)"), "{err}");
    assert!(err.contains("(wrong token)"), "{err}");
    user.assert_no_secret_leaked(&emu, &[&err, &dev, &admin]);
}

#[test]
fn serve_refuses_profiles_it_cannot_serve_and_non_loopback_addresses() {
    let (_emu, user) = signed_in(&[]);
    let out = user.run(&["serve", "--profile", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "error: there is no profile `nope` in {}",
            user.config_path().display()
        )),
        "{err}"
    );
    assert!(err.contains("hint: create keyless profiles with `keyless profiles sync`"), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::write(
        user.config_path(),
        format!(
            "{}\n[profile plain]\nregion = eu-west-1\n",
            std::fs::read_to_string(user.config_path()).unwrap()
        ),
    )
    .unwrap();
    let out = user.run(&["serve", "--profile", "plain"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error: profile `plain` is not a keyless profile (its credentials do not come from `keyless credential-process`), so keyless cannot serve it"),
        "{}",
        text(&out.stderr)
    );
    let out = user.run(&["serve", "--profile", "acme-dev", "--addr", "0.0.0.0:0"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: 0.0.0.0:0 is not a loopback address: anyone who can reach it and learns the token gets the role's credentials, and SDKs send the token over plain http"),
        "{err}"
    );
    assert!(
        err.contains(
            "hint: keep the default 127.0.0.1:0, or add --allow-non-loopback if you really mean it"
        ),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // A port another program holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = user.run(&["serve", "--profile", "acme-dev", "--addr", &addr]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains(&format!(
            "error: cannot listen on {addr}: Address already in use (os error 98)"
        )),
        "{err}"
    );
    assert!(err.contains("hint: pick another --addr (port 0 picks a free port)"), "{err}");
}

#[test]
fn the_sdks_say_why_the_endpoint_refused_them() {
    let (emu, user) = signed_in(&[]);
    let served = Served::start(&user, &["acme-dev", "acme-admin"]);
    let wrong = format!("{}x", served.token);
    let mut seen = Vec::new();
    for (token, status) in [(None, 401), (Some(wrong.as_str()), 403)] {
        let boto = botocore(&user, &served.uri, token);
        assert!(
            boto.contains(&format!("Received non 200 response {status} from container metadata")),
            "{boto}"
        );
        let rust = rust_sdk(&user, &served.uri, token);
        assert!(
            rust.contains(&format!(
                "Non-success status from HTTP credential provider: StatusCode({status})"
            )),
            "{rust}"
        );
        seen.extend([boto, rust]);
    }
    // The right token at a path that serves nothing: the answer lists what is served.
    let nope = served.uri.replace("/profile/acme-dev", "/profile/nope");
    let r = support::request(
        served.addr(),
        "GET",
        "/profile/nope",
        &[("authorization", &served.token)],
        b"",
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let listed = "nothing is served at /profile/nope; this endpoint serves /profile/acme-dev, /profile/acme-admin";
    assert_eq!(r.json()["Message"], listed, "{}", r.text());
    let boto = botocore(&user, &nope, Some(&served.token));
    assert!(boto.contains("Received non 200 response 404 from container metadata"), "{boto}");
    assert!(boto.contains(listed), "{boto}");
    // A host SDKs do not accept over plain http.
    let docker = served.uri.replace("127.0.0.1", "host.docker.internal");
    let boto = botocore(&user, &docker, Some(&served.token));
    assert!(
        boto.contains("Unsupported host 'host.docker.internal'.  Can only retrieve metadata from a loopback address or one of these hosts: "),
        "{boto}"
    );
    let rust = rust_sdk(&user, &docker, Some(&served.token));
    assert!(rust.contains("invalid full URI for ECS provider ("), "{rust}");
    seen.extend([boto, rust]);
    let err = served.stop();
    let seen: Vec<&str> = seen.iter().map(String::as_str).chain([err.as_str()]).collect();
    user.assert_no_secret_leaked(&emu, &seen);
}

#[test]
fn a_profile_that_cannot_be_served_yet_is_named_and_served_after_signing_in() {
    let (emu, user) = signed_in(&[]);
    let out = user.run(&["logout", "--session", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let served = Served::start(&user, &["acme-dev"]);
    let boto = botocore(&user, &served.uri, Some(&served.token));
    assert!(
        boto.contains(r#"Received non 200 response 503 from container metadata: {"Code":"CredentialsUnavailable","Message":"you are not signed in to SSO session `acme`"#),
        "{boto}"
    );
    let rust = rust_sdk(&user, &served.uri, Some(&served.token));
    assert!(
        rust.contains("Non-success status from HTTP credential provider: StatusCode(503)"),
        "{rust}"
    );
    // Signing in is enough: the running server serves the profile at the next request.
    user.login();
    let after = rust_sdk(&user, &served.uri, Some(&served.token));
    assert!(after.contains("ACCOUNT=111111111111"), "{after}");
    let err = served.stop();
    assert!(
        err.contains("keyless: warning: profile `acme-dev` cannot be served yet: error: you are not signed in to SSO session `acme`"),
        "{err}"
    );
    assert!(err.contains("hint: run `keyless login --session acme`"), "{err}");
    // Each refused request is logged with the same message the SDK got.
    assert!(
        err.contains("keyless: /profile/acme-dev for profile `acme-dev`: error: you are not signed in to SSO session `acme`"),
        "{err}"
    );
    user.assert_no_secret_leaked(&emu, &[&err, &boto, &rust, &after]);
}

#[test]
fn listening_beyond_loopback_is_warned_about() {
    let (_emu, user) = signed_in(&[]);
    // Every address: the env file points at loopback, which SDKs accept.
    let mut args = serve_args(&["acme-dev"]);
    args.extend(["--addr", "0.0.0.0:0", "--allow-non-loopback"]);
    let served = Served::spawn(user.keyless(&args));
    let port = served.addr().rsplit(':').next().unwrap().to_string();
    // Stopped the moment it announced itself: it stops cleanly all the same.
    let err = served.stop();
    assert!(
        err.contains(&format!("keyless: warning: listening on 0.0.0.0:{port}, which is not loopback: the token travels in plain http, and anyone who has it can take the role's credentials")),
        "{err}"
    );
    assert!(!err.contains("AWS SDKs refuse"), "{err}");

    // An address of this machine that is not loopback (in a network namespace of its own, so
    // the test does not depend on this machine's interfaces): SDKs refuse that URL.
    args.pop();
    args.pop();
    args.pop();
    args.extend(["--addr", "192.0.2.1:0", "--allow-non-loopback"]);
    let shell = "ip link set lo up && ip addr add 192.0.2.1/32 dev lo && exec \"$@\"";
    let cmd = support::user::wrapped(
        "unshare",
        &["--user", "--map-root-user", "--net", "sh", "-c", shell, "sh"],
        &user.keyless(&args),
    );
    let served = Served::spawn(cmd);
    assert!(served.uri.starts_with("http://192.0.2.1:"), "{}", served.uri);
    let err = served.stop();
    assert!(err.contains("keyless: warning: listening on 192.0.2.1:"), "{err}");
    assert!(
        err.contains("keyless: warning: AWS SDKs refuse a plain-http credentials endpoint at 192.0.2.1; they accept loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 (see \"What SDKs accept\" in docs/getting-started.md)"),
        "{err}"
    );
}

#[test]
fn exec_server_warns_when_the_default_profile_comes_first() {
    // What botocore in the command takes its credentials from.
    const METHOD: &str = r#"
import botocore.session
try:
    print("METHOD=" + botocore.session.get_session().get_credentials().method)
except Exception as e:
    print("ERROR=" + str(e))
"#;
    let (_emu, user) = signed_in(&[]);
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    let run = || {
        let out = user.run(&["exec", "--server", "--profile", "acme-dev", "--", &py, "-c", METHOD]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let (stdout, err) = run();
    assert!(stdout.contains("METHOD=container-role"), "{stdout}");
    assert!(!err.contains("warning"), "{err}");

    let config = std::fs::read_to_string(user.config_path()).unwrap();
    std::fs::write(
        user.config_path(),
        format!("[default]\ncredential_process = /bin/false\n\n{config}"),
    )
    .unwrap();
    let (stdout, err) = run();
    assert!(
        err.contains("keyless: warning: the `default` profile in the AWS config has `credential_process`; SDKs in the command use those before the endpoint"),
        "{err}"
    );
    assert!(
        stdout.contains("ERROR=Error when retrieving credentials from custom-process"),
        "as warned: {stdout}"
    );

    std::fs::write(user.config_path(), &config).unwrap();
    std::fs::write(
        user.credentials_path(),
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    let (stdout, err) = run();
    assert!(
        err.contains("keyless: warning: the `default` profile in the AWS credentials file has access keys; SDKs in the command use those before the endpoint"),
        "{err}"
    );
    assert!(stdout.contains("METHOD=shared-credentials-file"), "as warned: {stdout}");
}

#[test]
fn a_signed_out_session_is_an_error_the_sdk_shows() {
    let (emu, user) = signed_in(&[]);
    let served = Served::start(&user, &["acme-dev"]);
    let before = rust_sdk(&user, &served.uri, Some(&served.token));
    assert!(before.contains("ACCOUNT=111111111111"), "{before}");
    // Nothing is cached in the server: after a sign-out the next request fails, and the
    // message says what to do.
    let out = user.run(&["logout", "--session", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = support::request(
        served.addr(),
        "GET",
        served.path(),
        &[("authorization", &served.token)],
        b"",
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("keyless login --session acme"), "{}", r.text());
    assert!(!r.text().contains("AccessKeyId"));
    let err = served.stop();
    user.assert_no_secret_leaked(&emu, &[&err, &r.text()]);
}

/// A Python child that uses botocore through the endpoint until its credentials have expired
/// twice over, then reports what it saw.
const LONG_RUN: &str = r#"
import os, sys, time
import botocore.session
for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
    assert k not in os.environ, k
s = botocore.session.get_session()
sts = s.create_client("sts")
creds = s.get_credentials()
print("METHOD=" + creds.method, flush=True)
ttl = float(sys.argv[1])
start = time.time()
keys, arns = set(), set()
while time.time() < start + 2 * ttl + 1:
    arns.add(sts.get_caller_identity()["Arn"])
    keys.add(creds.get_frozen_credentials().access_key)
    time.sleep(0.5)
print("KEYS=%d" % len(keys))
for a in arns:
    print("ARN=" + a)
sys.exit(7)
"#;

#[test]
fn exec_server_keeps_botocore_working_past_the_role_session() {
    let ttl = "3";
    let (emu, mut user) = signed_in(&["--role-ttl", ttl]);
    // What the shell may hold must not reach the command: SDKs would take these first.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "AKIAACMEDEV000000001"),
        ("AWS_SECRET_ACCESS_KEY", "acmeDemoSecretKey0000000000000000000000a"),
        ("AWS_PROFILE", "acme-admin"),
        ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/elsewhere"),
    ] {
        user.extra_env.push((k.into(), v.into()));
    }
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    let cmd = user.keyless(&[
        "exec",
        "--server",
        "--profile",
        "acme-dev",
        "--",
        &py,
        "-c",
        LONG_RUN,
        ttl,
    ]);
    let out = support::user::run_bounded(cmd, 120);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(7), "{stdout}\n{stderr}");
    assert!(stdout.contains("METHOD=container-role"), "{stdout}");
    assert!(stdout.contains("assumed-role/AWSReservedSSO_Developer_"), "{stdout}");
    assert!(!stdout.contains("ARN=arn:aws:iam"), "{stdout}");
    let keys: usize =
        stdout.lines().find_map(|l| l.strip_prefix("KEYS=")).and_then(|n| n.parse().ok()).unwrap();
    assert!(keys >= 2, "botocore never refreshed through the endpoint: {stdout}");
    assert!(emu.op_count("GetRoleCredentials") >= 2);
    user.assert_no_secret_leaked(&emu, &[&stdout, &stderr]);
}

#[cfg(unix)]
#[test]
fn exec_server_serves_the_aws_cli_and_outlives_the_terminals_interrupt() {
    let (emu, user) = signed_in(&[]);
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    let out = user.run(&[
        "exec",
        "--server",
        "--profile",
        "acme-admin",
        "--",
        &py,
        "-m",
        "awscli",
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("222222222222:assumed-role/AWSReservedSSO_Admin_"));
    // --region overrides the profile's region for the command, as with plain `exec`.
    let out = user.run(&[
        "exec",
        "--server",
        "--profile",
        "acme-admin",
        "--region",
        "eu-west-1",
        "--",
        "sh",
        "-c",
        "echo \"$AWS_REGION $AWS_DEFAULT_REGION\"",
    ]);
    assert_eq!(text(&out.stdout).trim(), "eu-west-1 eu-west-1", "{}", text(&out.stderr));

    // A signal handler that still needs credentials: SIGINT reaches the whole foreground
    // group (keyless and the command), SIGTERM only keyless, which passes it on.
    let script = r#"
import signal, sys, time, botocore.session
sts = botocore.session.get_session().create_client("sts")
def done(sig, frame):
    print("AFTER=" + sts.get_caller_identity()["Arn"], flush=True)
    sys.exit(20 + sig)
signal.signal(signal.SIGINT, done)
signal.signal(signal.SIGTERM, done)
print("READY", flush=True)
while True:
    time.sleep(0.2)
"#;
    for (signal, target_group, code) in [("-INT", true, 22), ("-TERM", false, 35)] {
        let mut cmd =
            user.keyless(&["exec", "--server", "--profile", "acme-dev", "--", &py, "-c", script]);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("READY"));
        let pid = child.id().to_string();
        let target = if target_group { format!("-{pid}") } else { pid };
        let _ = Command::new("kill").args([signal, "--", &target]).status();
        let after = lines.next().and_then(Result::ok).unwrap_or_default();
        let out = wait_bounded(child, 60);
        assert!(
            after.contains("AFTER=arn:aws:sts::111111111111:assumed-role/"),
            "{signal}: {after} {}",
            text(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{signal}: {}", text(&out.stderr));
        user.assert_no_secret_leaked(&emu, &[&after, &text(&out.stderr)]);
    }
}
