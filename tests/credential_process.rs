//! The `credential_process` helper as AWS's own clients use it: botocore, the AWS CLI and the
//! Rust SDK run it from a profile; bursts of concurrent cold calls make one AWS call.
// Run on Unix (lock directory modes, symlinks and flock; Windows is exercised end to end by
// tests/wine/e2e.py), and linted for every system.

mod support;

use std::process::Command;

use support::Emulator;
use support::user::{User, run_bounded, text, wait_bounded};

const CP: [&str; 7] =
    ["credential-process", "--session", "acme", "--account", "111111111111", "--role", "Developer"];

fn assert_process_json(stdout: &[u8]) -> serde_json::Value {
    let s = std::str::from_utf8(stdout).expect("UTF-8");
    let v: serde_json::Value =
        serde_json::from_str(s).expect("stdout is one JSON document and nothing else");
    assert_eq!(v["Version"], serde_json::json!(1), "Version must be the number 1");
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(!v["SecretAccessKey"].as_str().unwrap().is_empty());
    assert!(!v["SessionToken"].as_str().unwrap().is_empty());
    let exp = v["Expiration"].as_str().unwrap();
    assert!(exp.len() == 20 && exp.ends_with('Z'), "Expiration {exp} must be YYYY-MM-DDTHH:MM:SSZ");
    assert_eq!(v["AccountId"], "111111111111");
    v
}

#[test]
fn warm_calls_are_served_from_the_keychain() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let first = user.run(&CP);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let a = assert_process_json(&first.stdout);
    assert!(
        first.stderr.is_empty(),
        "a successful call is silent on stderr: {}",
        text(&first.stderr)
    );
    for _ in 0..3 {
        let again = user.run(&CP);
        assert_eq!(assert_process_json(&again.stdout)["AccessKeyId"], a["AccessKeyId"]);
    }
    assert_eq!(emu.op_count("GetRoleCredentials"), 1);
}

#[test]
fn aws_cli_and_botocore_use_the_profile() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    user.add_profile("acme-dev", "111111111111", "Developer");
    user.add_profile("acme-prod", "222222222222", "ReadOnly");
    let out = run_bounded(
        user.python(&[
            "-m",
            "awscli",
            "sts",
            "get-caller-identity",
            "--profile",
            "acme-dev",
            "--output",
            "json",
        ]),
        60,
    );
    assert_eq!(out.status.code(), Some(0), "aws cli: {}", text(&out.stderr));
    let id: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(id["Account"], "111111111111");
    let arn = id["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_")
            && arn.ends_with("/alice"),
        "{arn}"
    );
    let script = "import botocore.session, json\n\
                  s = botocore.session.Session(profile='acme-prod')\n\
                  print(json.dumps(s.create_client('sts', region_name='ap-northeast-2').get_caller_identity()['Arn']))";
    let out = run_bounded(user.python(&["-c", script]), 60);
    assert_eq!(out.status.code(), Some(0), "botocore: {}", text(&out.stderr));
    let arn: String = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_ReadOnly_"),
        "{arn}"
    );
    user.assert_no_secret_leaked(&emu, &[]);
}

#[test]
fn rust_sdk_profile_provider_uses_the_profile() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    user.add_profile("acme-dev", "111111111111", "Developer");
    // The Rust SDK resolves the profile in a child test process with the user's environment.
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "child_rust_sdk_resolves_profile", "--nocapture"]);
    user.apply(&mut cmd);
    let out = run_bounded(cmd, 60);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && all.contains("1 passed"), "{all}");
}

#[test]
#[ignore = "runs inside rust_sdk_profile_provider_uses_the_profile with the user's environment"]
fn child_rust_sdk_resolves_profile() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let creds = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name("acme-dev")
            .build();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .credentials_provider(creds)
            .region(aws_config::Region::new("ap-northeast-2"))
            .load()
            .await;
        let id = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity");
        assert!(
            id.arn().unwrap().contains(":assumed-role/AWSReservedSSO_Developer_"),
            "{:?}",
            id.arn()
        );
    });
}

#[test]
fn fifty_concurrent_cold_calls_make_one_aws_call() {
    let emu = Emulator::start(&["--auto-approve", "--latency-ms", "50"]);
    let user = User::new(&emu);
    user.login();
    let children: Vec<_> = (0..50).map(|_| user.spawn(&CP)).collect();
    // While they run, no process's command line may carry a secret.
    let mut cmdlines = String::new();
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(c) = std::fs::read(p.path().join("cmdline")) {
            cmdlines.push_str(&String::from_utf8_lossy(&c));
            cmdlines.push('\n');
        }
    }
    let outs: Vec<_> = children.into_iter().map(|c| wait_bounded(c, 60)).collect();
    let mut keys = std::collections::BTreeSet::new();
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        keys.insert(assert_process_json(&o.stdout)["AccessKeyId"].as_str().unwrap().to_string());
    }
    assert_eq!(keys.len(), 1, "every caller gets the same credentials");
    assert_eq!(emu.op_count("GetRoleCredentials"), 1);
    user.assert_no_secret_leaked(&emu, &[&cmdlines]);
}

#[test]
fn fifty_concurrent_calls_with_an_expiring_token_refresh_once() {
    // Tokens live 10 minutes, inside the refresh window: the first caller must refresh.
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "600", "--latency-ms", "20"]);
    let user = User::new(&emu);
    user.login();
    let before = emu.op_count("CreateToken");
    let children: Vec<_> = (0..50).map(|_| user.spawn(&CP)).collect();
    for c in children {
        let o = wait_bounded(c, 60);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_process_json(&o.stdout);
    }
    assert_eq!(
        emu.op_count("CreateToken") - before,
        1,
        "exactly one refresh, no reused refresh token"
    );
    assert_eq!(emu.op_count("GetRoleCredentials"), 1);
}

#[test]
fn disabled_user_is_told_to_sign_in_again() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    emu.disable_user("alice");
    let out = user.run(&CP);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    let err = text(&out.stderr);
    assert!(err.contains("keyless login --session acme"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
}

#[test]
fn unassigned_role_is_named() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let out = user.credential_process("111111111111", "Admin");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("the role `Admin` in account 111111111111 is not assigned to you"),
        "{err}"
    );
    // Signing in again would not help.
    assert!(!err.contains("keyless login"), "{err}");
}

#[test]
fn not_signed_in_and_bad_arguments() {
    let user = User::with_endpoint("http://127.0.0.1:9");
    let out = user.run(&CP);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("you are not signed in to SSO session `acme`"));
    let bad = user.credential_process("12", "R");
    let err = text(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(bad.stdout.is_empty());
    assert!(err.contains("error: `12` is not a 12-digit AWS account ID"), "{err}");
    assert!(
        err.contains(
            "hint: fix --account in the profile's credential_process line (`keyless profiles sync` rewrites it)"
        ),
        "{err}"
    );
}

#[test]
fn server_faults_are_retried_then_reported() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let r = emu.post_json("/_emulator/faults", &serde_json::json!({"rate": 1.0}));
    assert_eq!(r.status, 200, "{}", r.text());
    let out = user.run(&CP);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("error: the SSO portal kept failing: InternalServerException"), "{err}");
    assert!(err.contains("hint: AWS is having trouble; try again in a minute"), "{err}");
    let stats = emu.stats();
    assert_eq!(stats["faults"]["GetRoleCredentials"], 8, "eight attempts, then give up: {stats}");
    // Once the service recovers, the next call works.
    emu.post_json("/_emulator/faults", &serde_json::json!({"rate": 0.0}));
    let out = user.run(&CP);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn throttling_is_retried() {
    let emu = Emulator::start(&["--auto-approve", "--rate-limit", "4"]);
    let user = User::new(&emu);
    user.login();
    let roles = [
        ("111111111111", "Developer"),
        ("111111111111", "ReadOnly"),
        ("222222222222", "ReadOnly"),
        ("222222222222", "Admin"),
    ];
    let children: Vec<_> = roles
        .iter()
        .flat_map(|r| (0..3).map(move |_| r))
        .map(|(a, r)| {
            user.spawn(&["credential-process", "--session", "acme", "--account", a, "--role", r])
        })
        .collect();
    for c in children {
        let o = wait_bounded(c, 60);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let stats = emu.stats();
    let throttled = stats["throttled"]["GetRoleCredentials"].as_u64().unwrap_or(0);
    assert!(throttled > 0, "the rate limit never bit: {stats}");
    assert_eq!(
        emu.op_count("GetRoleCredentials") - throttled,
        4,
        "one successful call per role: {stats}"
    );
}

#[test]
fn dead_endpoint_fails_in_bounded_time() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    user.login();
    // The portal moves to a port nobody listens on.
    user.extra_env.push(("AWS_ENDPOINT_URL_SSO".into(), "http://127.0.0.1:9".into()));
    let out = run_bounded(user.keyless(&CP), 30);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("could not reach the SSO portal"), "{}", text(&out.stderr));
}

#[test]
fn login_if_needed_signs_in_once_for_concurrent_callers() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    std::fs::write(
        user.config_path(),
        format!(
            "[sso-session acme]\nsso_start_url = {}\nsso_region = {}\n",
            support::user::START_URL,
            support::user::REGION
        ),
    )
    .unwrap();
    let mut args = CP.to_vec();
    args.push("--login-if-needed");
    let children: Vec<_> = (0..10).map(|_| user.spawn(&args)).collect();
    for c in children {
        let o = wait_bounded(c, 60);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_process_json(&o.stdout);
    }
    assert_eq!(emu.op_count("StartDeviceAuthorization"), 1, "one sign-in for all callers");
    assert_eq!(emu.op_count("GetRoleCredentials"), 1);
}

/// The lock file keyless uses for a role of the `acme` session (XDG_RUNTIME_DIR is the user's
/// HOME here), with its directory made as keyless makes it (owned by the user, 0700).
fn role_lock_path(user: &User, account: &str, role: &str) -> std::path::PathBuf {
    let dir = user.home.path().join("keyless");
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir).unwrap();
    lock_file(user, &dir, &format!("role:acme:{account}:{role}"))
}

/// Holds `lock` from another process (util-linux `flock`) until killed; returns once the lock
/// is really held. The caller kills and waits for the holder.
#[allow(clippy::zombie_processes)]
fn hold_lock(lock: &std::path::Path) -> std::process::Child {
    let holder = Command::new("flock")
        .arg("--close")
        .arg(lock)
        .args(["sleep", "120"])
        .spawn()
        .expect("flock (util-linux)");
    let start = std::time::Instant::now();
    loop {
        let free = Command::new("flock").args(["--nonblock"]).arg(lock).arg("true").status();
        if !free.expect("flock").success() {
            return holder;
        }
        assert!(start.elapsed().as_secs() < 20, "flock never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Asserts for a while that `waiter` stays blocked on the lock: still running and no
/// GetRoleCredentials made. A caller that ignored the lock would fetch at once.
fn assert_blocked(waiter: &mut std::process::Child, emu: &Emulator) {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    while std::time::Instant::now() < until {
        assert!(waiter.try_wait().unwrap().is_none(), "the caller did not wait for the lock");
        assert_eq!(emu.op_count("GetRoleCredentials"), 0, "the caller fetched despite the lock");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_crashed_lock_holder_does_not_wedge_later_calls() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let mut holder = hold_lock(&role_lock_path(&user, "111111111111", "Developer"));
    let mut waiter = user.spawn(&CP);
    assert_blocked(&mut waiter, &emu);
    // The holder dies without cleaning up; the kernel releases its lock.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = wait_bounded(waiter, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_process_json(&out.stdout);
    assert_eq!(emu.op_count("GetRoleCredentials"), 1);
}

#[test]
fn a_lock_held_too_long_is_a_clear_error_with_empty_stdout() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let lock = role_lock_path(&user, "111111111111", "Developer");
    let mut holder = hold_lock(&lock);
    let mut waiter = user.spawn(&CP);
    assert_blocked(&mut waiter, &emu);
    let out = wait_bounded(waiter, 90);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "error: another keyless process has held the lock for `role:acme:111111111111:Developer` for 25s"
        ),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "hint: wait for it to finish; if none is running, delete {}",
            lock.display()
        )),
        "{err}"
    );
    assert_eq!(emu.op_count("GetRoleCredentials"), 0);
}

/// Runs `n` concurrent calls of `args` and returns their outputs.
fn burst(user: &User, args: &[&str], n: usize) -> Vec<std::process::Output> {
    let children: Vec<_> = (0..n).map(|_| user.spawn(args)).collect();
    children.into_iter().map(|c| wait_bounded(c, 90)).collect()
}

/// Every call failed with exit 1, nothing on stdout, and the same message containing `want`.
fn assert_all_failed_alike(outs: &[std::process::Output], want: &str) {
    let first = text(&outs[0].stderr);
    assert!(first.contains(want), "{first}");
    for o in outs {
        assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
        assert!(o.stdout.is_empty(), "stdout must stay empty on failure");
        assert_eq!(text(&o.stderr), first, "every caller prints the holder's message");
    }
}

#[test]
fn a_revoked_session_costs_aws_one_answer_for_fifty_callers() {
    let emu = Emulator::start(&["--auto-approve", "--latency-ms", "20"]);
    let mut user = User::new(&emu);
    // Long enough that the shared answer is certainly still in force when the user signs in
    // again below, so the successful call proves that the sign-in cleared it.
    user.extra_env.push(("KEYLESS_VERDICT_TTL_MS".into(), "60000".into()));
    user.login();
    emu.disable_user("alice");
    let (grc, refresh) = (emu.op_count("GetRoleCredentials"), emu.op_count("CreateToken"));
    let outs = burst(&user, &CP, 50);
    assert_all_failed_alike(&outs, "run `keyless login --session acme`");
    assert!(
        text(&outs[0].stderr)
            .contains("the SSO session `acme` is no longer valid (expired, signed out or revoked)"),
        "{}",
        text(&outs[0].stderr)
    );
    let stats = emu.stats();
    assert!(emu.op_count("GetRoleCredentials") - grc <= 1, "one GetRoleCredentials: {stats}");
    assert!(emu.op_count("CreateToken") - refresh <= 2, "one refresh, at most one more: {stats}");
    // Another role of the same session: the session's verdict answers without AWS.
    let (grc, refresh) = (emu.op_count("GetRoleCredentials"), emu.op_count("CreateToken"));
    let other = user.credential_process("222222222222", "ReadOnly");
    assert_eq!(other.status.code(), Some(1));
    assert!(
        text(&other.stderr).contains("keyless login --session acme"),
        "{}",
        text(&other.stderr)
    );
    assert_eq!(emu.op_count("GetRoleCredentials"), grc, "the session's verdict answered");
    assert_eq!(emu.op_count("CreateToken"), refresh, "no refresh attempt for a refused session");
    // Signing in again clears the verdict at once: the next call works.
    emu.enable_user("alice");
    user.login();
    let out = user.run(&CP);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_process_json(&out.stdout);
    user.assert_no_secret_leaked(&emu, &[]);
}

#[test]
fn an_unassigned_role_costs_aws_one_answer_for_fifty_callers() {
    let emu = Emulator::start(&["--auto-approve", "--latency-ms", "20"]);
    let user = User::new(&emu);
    user.login();
    let args =
        ["credential-process", "--session", "acme", "--account", "111111111111", "--role", "Admin"];
    let outs = burst(&user, &args, 50);
    assert_all_failed_alike(
        &outs,
        "the role `Admin` in account 111111111111 is not assigned to you",
    );
    assert!(
        !text(&outs[0].stderr).contains("keyless login"),
        "signing in again would not help: {}",
        text(&outs[0].stderr)
    );
    let stats = emu.stats();
    assert!(emu.op_count("GetRoleCredentials") <= 2, "{stats}");
    // The answer was about that role only: another role of the session still works.
    let ok = user.credential_process("111111111111", "Developer");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
}

#[test]
fn transient_failures_are_not_shared() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    emu.post_json("/_emulator/faults", &serde_json::json!({"rate": 1.0}));
    let first = user.run(&CP);
    assert_eq!(first.status.code(), Some(1));
    let tried = emu.stats()["faults"]["GetRoleCredentials"].as_u64().unwrap();
    // The next caller asks AWS itself rather than reusing "the portal kept failing".
    let second = user.run(&CP);
    assert_eq!(second.status.code(), Some(1));
    assert!(emu.stats()["faults"]["GetRoleCredentials"].as_u64().unwrap() > tried);
    emu.post_json("/_emulator/faults", &serde_json::json!({"rate": 0.0}));
    let out = user.run(&CP);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn login_if_needed_signs_in_again_after_a_revocation() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    // An administrator revoked the session, then let the user back in: the stored token still
    // looks valid, but only a new sign-in helps.
    emu.disable_user("alice");
    emu.enable_user("alice");
    let starts = emu.op_count("StartDeviceAuthorization");
    let mut args = CP.to_vec();
    args.push("--login-if-needed");
    let out = user.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_process_json(&out.stdout);
    assert_eq!(emu.op_count("StartDeviceAuthorization") - starts, 1, "one new sign-in");
}

/// The lock file keyless uses for `name` in `dir`.
fn lock_file(user: &User, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    use sha1::Digest;
    let digest = hex::encode(sha1::Sha1::digest(format!("{}\0{name}", user.namespace).as_bytes()));
    dir.join(format!("{}.lock", &digest[..20]))
}

#[test]
#[cfg(unix)] // Unix modes and symlinks
fn a_lock_directory_others_can_write_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    // Another user could plant or hold lock files in a directory open to everyone.
    let dir = user.home.path().join("keyless");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = user.run(&CP);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains(&format!(
            "error: the lock directory {} is open to other users (mode 777); keyless only keeps its locks in a directory that is yours alone",
            dir.display()
        )),
        "{err}"
    );
    assert!(err.contains(&format!("hint: run `chmod 700 {}`", dir.display())), "{err}");
    assert_eq!(emu.op_count("GetRoleCredentials"), 0);

    // A symlink in the directory's place is refused too.
    std::fs::remove_dir_all(&dir).unwrap();
    let elsewhere = support::TempDir::new("elsewhere");
    std::os::unix::fs::symlink(elsewhere.path(), &dir).unwrap();
    let out = user.run(&CP);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    support::user::assert_lock_dir_refused(
        &err,
        &dir,
        "is not a directory (a symlink or a file is in its place)",
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "a lock file went through the symlink"
    );

    // Following the hint fixes it.
    std::fs::remove_file(&dir).unwrap();
    let out = user.run(&CP);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "keyless creates its lock directory private");
}

#[test]
#[cfg(unix)] // Unix modes and symlinks
fn a_symlink_in_place_of_a_lock_file_is_never_followed() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let dir = user.home.path().join("keyless");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let lock = lock_file(&user, &dir, "role:acme:111111111111:Developer");
    let target = user.home.path().join("target-of-the-link");
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    let out = user.run(&CP);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains(&format!(
            "error: the lock file {} is a symlink; keyless does not follow links in its lock directory",
            lock.display()
        )),
        "{err}"
    );
    assert!(err.contains(&format!("hint: delete {}", lock.display())), "{err}");
    assert!(!target.exists(), "keyless followed the symlink and created {}", target.display());
}

#[test]
fn without_home_or_a_runtime_dir_locks_go_to_the_users_cache_not_tmp() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let cache = support::TempDir::new("cache");
    let mut cmd = user.keyless(&CP);
    cmd.env_remove("HOME").env_remove("XDG_RUNTIME_DIR").env("XDG_CACHE_HOME", cache.path());
    let out = run_bounded(cmd, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_process_json(&out.stdout);
    let dir = cache.path().join("keyless").join("locks");
    assert!(
        lock_file(&user, &dir, "role:acme:111111111111:Developer").exists(),
        "the role's lock is not in {}",
        dir.display()
    );
    #[cfg(unix)]
    {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&dir).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[cfg(target_os = "linux")] // the Secret Service and the kernel keyring
#[test]
fn with_the_secret_service_role_credentials_are_cached_in_the_kernel_keyring() {
    use keyless::store::Store;
    let emu = Emulator::start(&["--auto-approve"]);
    let daemon = support::keyring::SecretServiceDaemon::start();
    let mut user = User::new(&emu);
    user.use_secret_service(&daemon);
    user.login();
    let first = user.run(&CP);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let a = assert_process_json(&first.stdout);
    // The role credentials are in this user's kernel keyring; the token is not.
    let kernel = keyless::store::keyutils::KeyutilsStore::open(&user.namespace).unwrap();
    assert!(kernel.get("role:acme:111111111111:Developer").unwrap().is_some());
    assert!(kernel.get("token:acme").unwrap().is_none(), "the token stays in the Secret Service");
    // A warm call needs no Secret Service at all: it is served with the daemon gone...
    drop(daemon);
    let warm = user.run(&CP);
    assert_eq!(warm.status.code(), Some(0), "{}", text(&warm.stderr));
    assert_eq!(assert_process_json(&warm.stdout)["AccessKeyId"], a["AccessKeyId"]);
    // ...while anything that needs the token does.
    let cold = user.credential_process("222222222222", "ReadOnly");
    assert_eq!(cold.status.code(), Some(1));
    assert!(cold.stdout.is_empty());
    assert!(text(&cold.stderr).contains("secret-service"), "{}", text(&cold.stderr));
    user.assert_no_secret_leaked(&emu, &[]);
    kernel.delete("role:acme:111111111111:Developer").unwrap();
}

/// The warm path's start-up is mostly the loader relocating the executable; on Linux it is
/// linked position-dependent so there is nothing to relocate (docs/performance.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn linux_binary_is_linked_position_dependent() {
    let bytes = std::fs::read(support::keyless_bin()).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    // e_type, little-endian, at offset 16: 2 = ET_EXEC (position-dependent), 3 = ET_DYN (PIE).
    let e_type = u16::from_le_bytes([bytes[16], bytes[17]]);
    let want = if std::env::var("KEYLESS_PIE").as_deref() == Ok("1") { 3 } else { 2 };
    assert_eq!(e_type, want, "ELF type of {}", support::keyless_bin());
}
