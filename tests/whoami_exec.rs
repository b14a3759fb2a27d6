//! `whoami`, `exec` and `env` against the emulator: credentials resolved like the SDK does.

mod support;

use support::Emulator;
use support::user::{User, text};

fn signed_in() -> (Emulator, User) {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    user.add_profile("acme-dev", "111111111111", "Developer");
    (emu, user)
}

#[test]
fn whoami_shows_identity_session_and_expiry() {
    let (emu, user) = signed_in();
    let out = user.run(&["whoami", "--profile", "acme-dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("Account   111111111111"), "{s}");
    assert!(s.contains("assumed-role/AWSReservedSSO_Developer_") && s.contains("/alice"), "{s}");
    assert!(s.contains("Session   acme (role Developer in 111111111111)"), "{s}");
    let json = user.run(&["whoami", "--profile", "acme-dev", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["account"], "111111111111");
    assert_eq!(v["keyless"]["role"], "Developer");
    assert!(v["keyless"]["token_expires_at"].as_str().unwrap().ends_with('Z'));
    user.assert_no_secret_leaked(&emu, &[&s, &text(&json.stdout)]);
}

#[test]
fn whoami_uses_aws_profile_and_warns_about_environment_keys() {
    let (_emu, mut user) = signed_in();
    user.extra_env.push(("AWS_PROFILE".into(), "acme-dev".into()));
    let out = user.run(&["whoami"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Profile   acme-dev"));
    // Keys in the environment win over the profile, as in every SDK: say so.
    user.extra_env.push(("AWS_ACCESS_KEY_ID".into(), "AKIAACMEDEV000000001".into()));
    user.extra_env
        .push(("AWS_SECRET_ACCESS_KEY".into(), "acmeDemoSecretKey0000000000000000000000a".into()));
    let out = user.run(&["whoami"]);
    let err = text(&out.stderr);
    assert!(err.contains("AWS_ACCESS_KEY_ID is set in the environment"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(text(&out.stdout).contains("arn:aws:iam::111111111111:user/"), "{}", text(&out.stdout));
}

#[test]
fn whoami_for_a_broken_profile_is_a_clear_error() {
    let (_emu, user) = signed_in();
    let out = user.run(&["whoami", "--profile", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("could not get credentials for profile `nope`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn exec_passes_credentials_and_the_exit_code() {
    let (_emu, user) = signed_in();
    let out = user.run(&["exec", "--profile", "acme-dev", "--", "sh", "-c", "echo \"$AWS_ACCESS_KEY_ID $AWS_REGION ${AWS_PROFILE:-none} ${KEYLESS_PROFILE:-none}\"; test -n \"$AWS_SESSION_TOKEN\" && exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    // The profile's name is there for shell prompts; the credentials beside it still win.
    assert!(s.starts_with("ASIA") && s.contains(" ap-northeast-2 acme-dev acme-dev"), "{s}");
    let missing = user.run(&["exec", "--profile", "acme-dev", "--", "no-such-command-xyz"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn env_prints_shell_syntax_the_aws_cli_accepts() {
    let (_emu, user) = signed_in();
    let out = user.run(&["env", "--profile", "acme-dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(script.contains("export AWS_ACCESS_KEY_ID='ASIA"), "{script}");
    // A shell evaluates it and the AWS CLI uses the result.
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    let cmd = format!("{script}\n{py} -m awscli sts get-caller-identity --query Arn --output text");
    let mut c = std::process::Command::new("sh");
    c.args(["-c", &cmd]);
    user.apply(&mut c);
    let out = support::user::run_bounded(c, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("AWSReservedSSO_Developer_"));
    for fmt in ["fish", "powershell", "json"] {
        let out = user.run(&["env", "--profile", "acme-dev", "--format", fmt]);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("AWS_SESSION_TOKEN"));
    }
}

/// `sh -c SCRIPT` under `keyless exec` with this user's environment: its stdout.
fn exec_sh(user: &User, extra: &[&str], script: &str) -> String {
    let mut args = vec!["exec", "--profile", "acme-dev"];
    args.extend(extra);
    args.extend(["--", "sh", "-c", script]);
    let out = user.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn region_overrides_the_profiles_region_in_exec_env_and_whoami() {
    let (emu, user) = signed_in();
    let show = "echo \"$AWS_REGION $AWS_DEFAULT_REGION\"";
    assert_eq!(exec_sh(&user, &[], show), "ap-northeast-2 ap-northeast-2\n");
    assert_eq!(exec_sh(&user, &["--region", "eu-west-1"], show), "eu-west-1 eu-west-1\n");
    // botocore in the child uses the override, although AWS_PROFILE names the profile (whose
    // own region is ap-northeast-2), and the AWS CLI calls STS with it.
    let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON");
    let cli = format!(
        "{py} -c 'import botocore.session as s; print(s.get_session().create_client(\"sts\").meta.region_name)'; {py} -m awscli sts get-caller-identity --query Account --output text"
    );
    assert_eq!(exec_sh(&user, &["--region", "us-west-2"], &cli), "us-west-2\n111111111111\n");

    let env = |extra: &[&str]| {
        let mut args = vec!["env", "--profile", "acme-dev", "--format", "json"];
        args.extend(extra);
        let out = user.run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(env(&[])["AWS_REGION"], "ap-northeast-2");
    let v = env(&["--region", "sa-east-1"]);
    assert_eq!(
        (&v["AWS_REGION"], &v["AWS_DEFAULT_REGION"]),
        (&"sa-east-1".into(), &"sa-east-1".into())
    );

    let out = user.run(&["whoami", "--profile", "acme-dev"]);
    assert!(text(&out.stdout).contains("Region    ap-northeast-2\n"), "{}", text(&out.stdout));
    let out = user.run(&["whoami", "--profile", "acme-dev", "--region", "ca-central-1", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["region"], "ca-central-1");
    assert_eq!(v["account"], "111111111111");

    // A region goes into console host names: anything else is refused before any call.
    for cmd in ["exec", "env", "whoami", "console"] {
        let mut args = vec![cmd, "--profile", "acme-dev", "--region", "evil.example/x"];
        if cmd == "exec" {
            args.extend(["--", "true"]);
        }
        let out = user.run(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("is not an AWS region"), "{}", text(&out.stderr));
    }
    user.assert_no_secret_leaked(&emu, &[]);
}

#[test]
fn env_dotenv_is_read_back_exactly_by_a_dotenv_parser() {
    let (_emu, user) = signed_in();
    let json = user.run(&["env", "--profile", "acme-dev", "--format", "json"]);
    let want: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let out = user.run(&["env", "--profile", "acme-dev", "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dotenv = text(&out.stdout);
    assert!(dotenv.lines().all(|l| !l.starts_with("export ") && l.contains('=')), "{dotenv}");
    assert!(dotenv.contains("\nAWS_REGION=ap-northeast-2\n"), "{dotenv}");
    // python-dotenv (what docker compose-style tooling and many apps use) is the judge.
    let parse = "import json, sys; from dotenv import dotenv_values; print(json.dumps(dotenv_values(stream=sys.stdin)))";
    let mut c = user.python(&["-c", parse]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), dotenv.as_bytes()).unwrap();
    let parsed = support::user::wait_bounded(child, 60);
    assert_eq!(
        parsed.status.code(),
        Some(0),
        "{} (python-dotenv is in tests/python/requirements.txt; scripts/test.sh installs it)",
        text(&parsed.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    assert_eq!(got, want);
}

/// Runs keyless under [`support::PTY_DRIVER`] with `steps`; returns the transcript after
/// checking that it succeeded.
fn on_a_terminal(user: &User, steps: serde_json::Value, args: &[&str]) -> String {
    let (code, transcript) = terminal_run(user, steps, args);
    assert_eq!(code, Some(0), "{transcript}");
    transcript
}

/// Runs keyless under [`support::PTY_DRIVER`] with `steps`; returns its exit code and the
/// transcript (with the driver's own complaints, if any).
fn terminal_run(user: &User, steps: serde_json::Value, args: &[&str]) -> (Option<i32>, String) {
    let bin = support::keyless_bin();
    let steps = steps.to_string();
    let mut all = vec!["-c", support::PTY_DRIVER, steps.as_str(), bin.as_str()];
    all.extend(args);
    let out = support::user::run_bounded(user.python(&all), 120);
    (out.status.code(), format!("{}\n{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn on_a_terminal_esc_in_the_picker_cancels_and_ctrl_c_interrupts() {
    let (_emu, user) = signed_in();
    let (code, t) =
        terminal_run(&user, serde_json::json!([["Which profile?", "\u{1b}"]]), &["whoami"]);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("error: cancelled"), "{t}");
    assert!(!t.contains("Account"), "nothing ran: {t}");
    assert_cursor_shown(&t);
    // Ctrl-C interrupts keyless as it does any program: it stops by the signal, but first puts
    // back the cursor the picker hid.
    let (code, t) =
        terminal_run(&user, serde_json::json!([["Which profile?", "\u{3}"]]), &["whoami"]);
    assert_eq!(code, Some(256 - 2), "the driver reports death by SIGINT as -2: {t}");
    assert!(!t.contains("Account"), "nothing ran: {t}");
    assert_cursor_shown(&t);
}

/// The terminal's cursor is visible at the end of `transcript`: every hide (`ESC [?25l`) is
/// followed by a show (`ESC [?25h`).
fn assert_cursor_shown(transcript: &str) {
    let hidden = transcript.rfind("\x1b[?25l").expect("the picker hides the cursor");
    assert!(
        transcript[hidden..].contains("\x1b[?25h"),
        "the cursor is left hidden: {transcript:?}"
    );
}

#[test]
fn on_a_terminal_a_fuzzy_picker_offers_profiles_most_recent_first() {
    let (emu, user) = signed_in();
    user.add_profile("sandbox", "111111111111", "ReadOnly");
    user.add_profile("acme-prod", "222222222222", "Admin");
    let question = "Which profile?";

    // Typing filters the list: "sandb" leaves only `sandbox`.
    let t = on_a_terminal(&user, serde_json::json!([[question, "sandb\r"]]), &["whoami"]);
    assert!(t.contains("Profile   sandbox"), "{t}");
    assert!(t.contains("Using profile `sandbox` (next time: --profile sandbox)"), "{t}");
    // It was listed with its role and account.
    assert!(t.contains("role Admin in 222222222222"), "{t}");

    // Enter alone takes the top entry: the most recently used profile, not the first in the
    // file (acme-dev).
    let t = on_a_terminal(
        &user,
        serde_json::json!([[question, "\r"]]),
        &["exec", "--", "sh", "-c", "echo \"in:$KEYLESS_PROFILE:$AWS_PROFILE\""],
    );
    assert!(t.contains("in:sandbox:sandbox"), "{t}");

    let t = on_a_terminal(
        &user,
        serde_json::json!([[question, "prod\r"]]),
        &["env", "--format", "dotenv", "--region", "eu-west-3"],
    );
    assert!(t.contains("Using profile `acme-prod`") && t.contains("AWS_REGION=eu-west-3"), "{t}");

    let t = on_a_terminal(&user, serde_json::json!([[question, "\r"]]), &["console", "--print"]);
    assert!(t.contains("#/console?account_id=222222222222&role_name=Admin"), "{t}");

    // The list of recent profiles holds names only.
    let recent = user.home.path().join(".local/state/keyless/recent-profiles");
    assert_eq!(std::fs::read_to_string(recent).unwrap(), "acme-prod\nsandbox\n");
    user.assert_no_secret_leaked(&emu, &[]);
}

#[test]
fn on_a_terminal_without_any_profile_it_says_how_to_create_them() {
    // Nothing to pick, so nothing is asked of AWS: the endpoint leads nowhere.
    let user = User::with_endpoint("http://127.0.0.1:9");
    let bin = support::keyless_bin();
    let out = support::user::run_bounded(
        user.python(&["-c", support::PTY_DRIVER, "[]", bin.as_str(), "whoami"]),
        120,
    );
    let transcript = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{transcript}\n{}", text(&out.stderr));
    assert!(transcript.contains("error: there are no AWS profiles to pick from"), "{transcript}");
    assert!(transcript.contains("`keyless onboard` (or `keyless profiles sync`)"), "{transcript}");
}
