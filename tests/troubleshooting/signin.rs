//! Troubleshooting messages: endpoints, signing in and sessions, and the secure store.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

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
