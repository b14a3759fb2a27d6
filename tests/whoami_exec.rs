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
    let out = user.run(&["exec", "--profile", "acme-dev", "--", "sh", "-c", "echo \"$AWS_ACCESS_KEY_ID $AWS_REGION ${AWS_PROFILE:-none}\"; test -n \"$AWS_SESSION_TOKEN\" && exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.starts_with("ASIA") && s.contains(" ap-northeast-2 none"), "{s}");
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
