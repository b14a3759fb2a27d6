//! Troubleshooting messages: role credentials, locks, and the credentials endpoint.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

use std::process::Command;

use support::Emulator;
use support::user::wrapped;

/// `credential-process` for the `acme` session's Developer role in 111111111111.
const CP: [&str; 7] =
    ["credential-process", "--session", "acme", "--account", "111111111111", "--role", "Developer"];

#[test]
fn without_a_terminal_a_command_that_needs_a_profile_names_the_flag() {
    let user = offline_user();
    for (command, args) in
        [("whoami", &["whoami"][..]), ("env", &["env"]), ("exec", &["exec", "--", "true"])]
    {
        let (code, err) = fails(&user, args);
        assert_eq!(code, Some(2), "{command}: {err}");
        assert!(
            err.contains(&format!(
                "error: keyless {command} needs a profile: --profile is missing (and AWS_PROFILE is not set)"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "hint: run `keyless {command} --profile NAME`, or run it in a terminal to pick one"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_region_name_instead_of_a_code_is_a_command_line_error() {
    let user = offline_user();
    for args in [
        &["whoami", "--profile", "dev", "--region", "Frankfurt"][..],
        &["env", "--profile", "dev", "--region", "Frankfurt"],
        &["exec", "--profile", "dev", "--region", "Frankfurt", "--", "true"],
    ] {
        let (code, err) = fails(&user, args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains(
                "error: invalid value 'Frankfurt' for '--region <REGION>': `Frankfurt` is not an AWS region (e.g. us-east-1, eu-west-2)"
            ),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_portal_that_keeps_throttling_is_reported_once_the_retries_are_spent() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    user.login();
    // The portal moves to an emulator that throttles beyond one request every 1000 s, and its
    // one request is spent here: every GetRoleCredentials keyless sends is throttled.
    let portal = Emulator::start(&["--rate-limit", "0.001"]);
    support::request(portal.addr(), "GET", "/assignment/accounts", &[], b"");
    user.extra_env.push(("AWS_ENDPOINT_URL_SSO".into(), portal.url().to_string()));
    let out = user.run(&CP);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    assert!(
        err.contains(
            "error: AWS kept throttling the request for role credentials (TooManyRequests)"
        ),
        "{err}"
    );
    assert!(err.contains("hint: wait a few seconds and try again"), "{err}");
    let stats = portal.stats();
    assert_eq!(
        stats["throttled"]["GetRoleCredentials"], 8,
        "eight attempts, all throttled: {stats}"
    );
}

#[test]
fn role_credentials_sts_refuses_are_reported_by_whoami() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    user.add_profile("dev", "111111111111", "Developer");
    let out = user.run(&["whoami", "--profile", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // An administrator revokes the session: the role credentials keyless cached still look
    // valid, but STS refuses them.
    emu.disable_user("alice");
    let (code, err) = fails(&user, &["whoami", "--profile", "dev"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: profile `dev`: STS GetCallerIdentity failed: InvalidClientTokenId: The security token included in the request is invalid."
        ),
        "{err}"
    );
    assert!(err.contains("hint: run `keyless doctor`"), "{err}");
    user.assert_no_secret_leaked(&emu, &[&err]);
}

/// Runs `credential-process` with the lock directory's environment changed by `setup`, and
/// returns its stderr after checking the exit code and the empty stdout.
fn lock_failure(user: &User, setup: impl FnOnce(&mut Command)) -> String {
    let mut cmd = user.keyless(&CP);
    setup(&mut cmd);
    let out = support::user::run_bounded(cmd, 60);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    err
}

#[test]
fn a_lock_directory_that_cannot_be_created_names_the_directory() {
    let user = offline_user();
    // A file where the runtime directory should be: nobody, not even root, can create the lock
    // directory inside it.
    let file = user.home.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let err = lock_failure(&user, |cmd| {
        cmd.env("XDG_RUNTIME_DIR", &file);
    });
    let dir = file.join("keyless");
    assert!(
        err.contains(&format!(
            "error: cannot create the lock directory {}: Not a directory (os error 20)",
            dir.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("hint: check the permissions of its parent directory, or set XDG_RUNTIME_DIR to a directory of yours"),
        "{err}"
    );
}

#[test]
fn without_any_home_directory_there_is_no_place_for_locks() {
    let user = offline_user();
    // No HOME, no XDG_RUNTIME_DIR or XDG_CACHE_HOME, and a user ID that has no entry in the
    // password database (a user namespace maps this user to one), so no home directory at all.
    let err = lock_failure(&user, |cmd| {
        let mut wrapped =
            wrapped("unshare", &["--user", "--map-user=54321", "--map-group=54321"], cmd);
        wrapped.env_remove("HOME").env_remove("XDG_RUNTIME_DIR").env_remove("XDG_CACHE_HOME");
        *cmd = wrapped;
    });
    assert!(
        err.contains("error: there is no private directory for keyless's lock files: neither XDG_RUNTIME_DIR nor a home directory is set"),
        "{err}"
    );
    assert!(
        err.contains("hint: set HOME (or XDG_RUNTIME_DIR) to a directory that belongs to you"),
        "{err}"
    );
}

#[test]
#[cfg(target_os = "linux")] // file owners, /proc and user namespaces
fn a_lock_directory_of_another_user_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let user = offline_user();
    let dir = user.home.path().join("keyless");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    let err = if me == 0 {
        // Root gives the directory to `nobody`.
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        lock_failure(&user, |_| {})
    } else {
        // Anyone else: in a user namespace root's files belong to an unmapped user, so a
        // directory of root's mounted over the lock directory belongs to another user there.
        lock_failure(&user, |cmd| {
            let shell = "mount --bind /usr \"$1\" && shift && exec \"$@\"";
            let dir = dir.to_str().unwrap();
            let args = ["--user", "--map-root-user", "--mount", "sh", "-c", shell, "sh", dir];
            let wrapped = wrapped("unshare", &args, cmd);
            *cmd = wrapped;
        })
    };
    support::user::assert_lock_dir_refused(&err, &dir, "belongs to another user (uid 65534)");
}

#[test]
fn a_listing_the_portal_keeps_failing_names_what_was_being_listed() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    let config = std::fs::read_to_string(user.config_path()).unwrap();
    let sync = ["profiles", "sync", "--session", "acme", "--yes"];
    for (operations, want) in [
        (
            serde_json::json!(["ListAccounts"]),
            "error: listing your accounts failed: InternalServerException",
        ),
        (
            serde_json::json!(["ListAccountRoles"]),
            "error: listing your roles in account 111111111111 failed: InternalServerException",
        ),
    ] {
        let r = emu.post_json(
            "/_emulator/faults",
            &serde_json::json!({"rate": 1.0, "operations": operations}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let (code, err) = fails(&user, &sync);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(want), "{err}");
        assert!(err.contains("hint: AWS is having trouble; try again in a minute"), "{err}");
        assert_eq!(
            std::fs::read_to_string(user.config_path()).unwrap(),
            config,
            "nothing is written from a partial listing"
        );
    }
    // Only the operations named fault: the sign-in and role credentials still work.
    let out = user.credential_process("111111111111", "Developer");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stats = emu.stats();
    assert_eq!(stats["faults"]["GetRoleCredentials"], serde_json::Value::Null, "{stats}");
    assert_eq!(stats["faults"]["ListAccounts"], 5, "one try and four retries: {stats}");
}

#[test]
fn a_command_that_cannot_be_started_is_named() {
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    user.login();
    user.add_profile("dev", "111111111111", "Developer");
    for server in [&[][..], &["--server"]] {
        let args = [&["exec"][..], server, &["--profile", "dev", "--", "no-such-program"]].concat();
        let (code, err) = fails(&user, &args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains(
                "error: could not run `no-such-program`: No such file or directory (os error 2)"
            ),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint: check the command name and your PATH"), "{args:?}: {err}");
    }
}

#[test]
fn a_portal_answer_keyless_does_not_expect_is_passed_on() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    user.login();
    // AWS_ENDPOINT_URL_SSO with a path that is not the portal's: it answers with an error
    // keyless has no special words for.
    user.extra_env.push(("AWS_ENDPOINT_URL_SSO".into(), format!("{}/start", emu.url())));
    let (code, err) = fails(&user, &CP);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error: getting role credentials failed: UnknownOperationException: no operation for GET /start/federation/credentials"),
        "{err}"
    );
    assert!(err.contains("hint: run `keyless login --session acme`"), "{err}");
}
