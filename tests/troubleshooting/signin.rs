//! Troubleshooting messages: endpoints, signing in and sessions, and the secure store.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

use support::Emulator;

/// A user of the emulator whose keyless uses the store `store` (`KEYLESS_STORE`).
fn with_store(store: &str) -> User {
    let mut user = offline_user();
    user.extra_env.push(("KEYLESS_STORE".into(), store.into()));
    user
}

#[test]
fn a_store_of_another_operating_system_is_named_as_such() {
    for store in ["keychain", "wincred"] {
        let user = with_store(store);
        let (code, err) = fails(
            &user,
            &["login", "--session", "acme", "--start-url", START_URL, "--region", REGION],
        );
        assert_eq!(code, Some(1), "{store}: {err}");
        assert!(
            err.contains(&format!(
                "error: the {store} keychain is not available: `{store}` does not exist on this operating system"
            )),
            "{store}: {err}"
        );
        assert!(err.contains("hint: run `keyless doctor`"), "{store}: {err}");
    }
}

#[test]
fn the_secret_service_without_a_d_bus_session_is_not_available() {
    // The user's environment has no DBUS_SESSION_BUS_ADDRESS (as over SSH or in a container).
    let user = with_store("secret-service");
    let (code, err) =
        fails(&user, &["login", "--session", "acme", "--start-url", START_URL, "--region", REGION]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: the secret-service keychain is not available: there is no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)"
        ),
        "{err}"
    );
    assert!(err.contains("KEYLESS_STORE=keyutils"), "the hint offers the kernel keyring: {err}");
    assert!(!user.config_path().exists(), "nothing was written");
}

/// Waits until keyless itself sees the session's access token as expired.
fn wait_for_expiry(user: &User) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = user.run(&["status", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if status["sessions"][0]["token_valid"] == false {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the token never expired: {status}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The access token has run out and the token endpoint cannot be reached to refresh it (the
/// network is down, or a proxy blocks it): credentials cannot be had, and `logout` removes the
/// local copy but says that the session lives on at Identity Center.
#[test]
fn an_expired_session_that_cannot_be_refreshed_now_is_not_called_over() {
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "2"]);
    let mut user = User::new(&emu);
    user.login();
    wait_for_expiry(&user);
    user.extra_env.push(("AWS_ENDPOINT_URL_SSO_OIDC".into(), "http://127.0.0.1:9".into()));

    let out = user.credential_process("111111111111", "Developer");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "credential-process printed: {}", text(&out.stdout));
    assert!(
        err.contains(
            "error: could not refresh the SSO session `acme`: the endpoint could not be reached"
        ),
        "{err}"
    );
    assert!(err.contains("hint: check your network connection and try again"), "{err}");
    assert_eq!(emu.op_count("GetRoleCredentials"), 0, "{}", emu.stats());

    let out = user.run(&["logout", "--session", "acme"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "warning: could not end `acme` at Identity Center (could not refresh the SSO session `acme`: the endpoint could not be reached); the local copy is removed anyway\n"
        ),
        "{err}"
    );
    assert!(err.contains("Signed out of `acme`"), "{err}");
    assert_eq!(emu.op_count("Logout"), 0, "{}", emu.stats());
    let out = user.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["sessions"][0]["signed_in"], false, "{status}");
}
