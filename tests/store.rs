//! The secure store against real keychains: the Linux kernel keyring and a real Secret
//! Service (gnome-keyring on a private D-Bus bus started by the test) on Linux, and Windows
//! Credential Manager on Windows (`scripts/cross.sh` runs it under Wine).

mod support;

#[cfg(target_os = "linux")]
use support::keyring as keyring_daemon;

use std::process::Command;

use keyless::store::Store;
#[cfg(target_os = "linux")]
use keyless::store::chunked::Chunked;
#[cfg(target_os = "linux")]
use keyless::store::keyutils::KeyutilsStore;

fn namespace() -> String {
    format!("keyless-test-{}", keyless::util::random_hex(6))
}

/// The contract every backend must meet.
fn exercise(store: &dyn Store) {
    assert!(store.get("token:acme").unwrap().is_none());
    store.set("token:acme", b"first").unwrap();
    assert_eq!(store.get("token:acme").unwrap().unwrap().expose(), b"first");
    store.set("token:acme", b"second").unwrap();
    assert_eq!(store.get("token:acme").unwrap().unwrap().expose(), b"second");
    store.set("role:acme:111111111111:Developer", b"r1").unwrap();
    store.set("role:acme:222222222222:ReadOnly", b"r2").unwrap();
    store.set("role:other:111111111111:Developer", b"r3").unwrap();
    assert_eq!(
        store.list("role:acme:").unwrap(),
        vec![
            "role:acme:111111111111:Developer".to_string(),
            "role:acme:222222222222:ReadOnly".to_string()
        ]
    );
    let big: Vec<u8> = (0..6000u32).map(|i| (i % 251) as u8).collect();
    store.set("registration:acme", &big).unwrap();
    assert_eq!(store.get("registration:acme").unwrap().unwrap().expose(), &big);
    assert!(store.delete("token:acme").unwrap());
    assert!(!store.delete("token:acme").unwrap());
    assert!(store.get("token:acme").unwrap().is_none());
    for k in store.list("").unwrap() {
        store.delete(&k).unwrap();
    }
    assert!(store.list("").unwrap().is_empty());
}

/// Windows Credential Manager as keyless opens it: chunked for its size limit, indexed because
/// it cannot list.
#[cfg(windows)]
#[test]
fn credential_manager_round_trip() {
    let store = keyless::store::open_in("wincred", &namespace()).unwrap();
    assert_eq!(store.name(), "wincred");
    exercise(store.as_ref());
}

/// The macOS login Keychain as keyless opens it (indexed, because it cannot list).
#[cfg(target_os = "macos")]
#[test]
fn keychain_round_trip() {
    let store = keyless::store::open_in("keychain", &namespace()).unwrap();
    assert_eq!(store.name(), "keychain");
    exercise(store.as_ref());
}

#[cfg(target_os = "linux")]
#[test]
fn kernel_keyring_round_trip() {
    let store = KeyutilsStore::open(&namespace()).unwrap();
    exercise(&store);
}

#[cfg(target_os = "linux")]
#[test]
fn kernel_keyring_entries_are_visible_to_other_processes_of_the_user() {
    let ns = namespace();
    let store = KeyutilsStore::open(&ns).unwrap();
    store.set("token:shared", b"visible").unwrap();
    let out = Command::new("keyctl")
        .args(["search", "@u", "user", &format!("{ns}:token:shared")])
        .output()
        .expect("keyctl (Debian package keyutils)");
    assert!(out.status.success(), "another process could not find the entry in the user keyring");
    store.delete("token:shared").unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn kernel_keyring_entries_are_for_the_possessor_and_the_user_only() {
    let ns = namespace();
    let store = KeyutilsStore::open(&ns).unwrap();
    store.set("token:perm", b"private").unwrap();
    // Read the permissions the kernel holds, as another program sees them.
    let id = Command::new("keyctl")
        .args(["search", "@u", "user", &format!("{ns}:token:perm")])
        .output()
        .expect("keyctl (Debian package keyutils)");
    assert!(id.status.success(), "{}", String::from_utf8_lossy(&id.stderr));
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let desc = Command::new("keyctl").args(["rdescribe", &id]).output().unwrap();
    let desc = String::from_utf8_lossy(&desc.stdout).trim().to_string();
    store.delete("token:perm").unwrap();
    // type;uid;gid;perm;description, perm as 8 hex digits: possessor, user, group, other.
    let fields: Vec<&str> = desc.splitn(5, ';').collect();
    assert_eq!(fields.len(), 5, "{desc}");
    let perm = u32::from_str_radix(fields[3], 16).unwrap();
    assert_eq!(perm & 0xffff, 0, "group or others may use the entry: {desc}");
    let view_read = 0x01 | 0x02;
    assert_eq!((perm >> 24) & view_read, view_read, "the possessor cannot read it: {desc}");
    assert_eq!((perm >> 16) & view_read, view_read, "the user cannot read it: {desc}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_kernel_key_quota_is_an_error_that_names_it() {
    // A single entry larger than a user's whole key quota cannot be stored. The test runs as a
    // user of its own (root's quota is far larger, and filling this user's would disturb
    // everything else it runs), or as this user when it is not root: one oversized entry is
    // refused without touching the entries already there.
    let maxbytes: usize =
        std::fs::read_to_string("/proc/sys/kernel/keys/maxbytes").unwrap().trim().parse().unwrap();
    assert!(maxbytes < 32_000, "a user key holds at most 32,767 bytes: cannot exceed {maxbytes}");
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "child_full_kernel_key_quota", "--nocapture"])
        .env("KEYLESS_STORE_NAMESPACE", namespace())
        .env("KEYLESS_TEST_QUOTA_BYTES", (maxbytes + 1).to_string())
        .current_dir("/");
    if real_uid() == 0 {
        use std::os::unix::process::CommandExt;
        let uid = 200_000 + u32::from_str_radix(&keyless::util::random_hex(2), 16).unwrap();
        cmd.uid(uid).gid(uid);
    }
    let out = cmd.output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "child failed:\n{text}");
}

#[cfg(target_os = "linux")]
/// The real user ID, read from /proc (the tests do not use unsafe code).
fn real_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "runs inside a_full_kernel_key_quota_is_an_error_that_names_it, as a user of its own"]
fn child_full_kernel_key_quota() {
    let ns = std::env::var("KEYLESS_STORE_NAMESPACE").unwrap();
    let bytes: usize = std::env::var("KEYLESS_TEST_QUOTA_BYTES").unwrap().parse().unwrap();
    let store = KeyutilsStore::open(&ns).unwrap();
    let err = store.set("token:big", &vec![b'x'; bytes]).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("the kernel key quota for this user is exhausted")
            && shown.contains("/proc/sys/kernel/keys/maxbytes"),
        "{shown}"
    );
    assert!(store.get("token:big").unwrap().is_none(), "nothing half-stored");
}

#[cfg(target_os = "linux")]
#[test]
fn kernel_keyring_lists_every_entry_of_a_crowded_user_keyring() {
    // More links than the 1,024 a 4 KiB read of the user keyring returns: every one is listed
    // (logout and status depend on it). Needs a key quota of a few thousand keys (root has a
    // million; raise /proc/sys/kernel/keys/maxkeys for other users).
    let store = KeyutilsStore::open(&namespace()).unwrap();
    let keys: Vec<String> = (0..1100).map(|i| format!("role:crowd:{i:012}:R")).collect();
    for k in &keys {
        store.set(k, b"v").expect("the key quota must allow 1,100 test keys");
    }
    let listed = store.list("role:crowd:").unwrap();
    for k in &keys {
        store.delete(k).unwrap();
    }
    assert_eq!(listed, keys);
}

#[cfg(target_os = "linux")]
#[test]
fn chunking_splits_large_values_and_cleans_up_parts() {
    let store = Chunked::new(KeyutilsStore::open(&namespace()).unwrap(), 100);
    exercise(&store);
    let value: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
    store.set("k", &value).unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().expose(), &value);
    store.set("k", b"small").unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().expose(), b"small");
    assert_eq!(store.list("").unwrap(), vec!["k".to_string()]);
    store.delete("k").unwrap();
}

#[cfg(target_os = "linux")]
/// Runs one of the `#[ignore]`d child tests below in a process whose environment points at
/// the private Secret Service (the environment of this process is never changed).
fn run_child(test: &str, env: Vec<(String, String)>) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", test, "--nocapture"])
        .envs(env)
        .env("KEYLESS_STORE_NAMESPACE", namespace())
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "child test {test} failed:\n{text}");
}

#[cfg(target_os = "linux")]
#[test]
fn secret_service_round_trip() {
    let daemon = keyring_daemon::SecretServiceDaemon::start();
    run_child("child_secret_service_round_trip", daemon.env());
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "runs inside secret_service_round_trip with a private Secret Service"]
fn child_secret_service_round_trip() {
    let store = keyless::store::open_named("secret-service").unwrap();
    assert_eq!(store.name(), "secret-service");
    exercise(store.as_ref());
}

#[cfg(target_os = "linux")]
#[test]
fn secret_service_locked_is_a_clear_error() {
    let daemon = keyring_daemon::SecretServiceDaemon::start();
    daemon.lock_all();
    run_child("child_secret_service_locked", daemon.env());
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "runs inside secret_service_locked_is_a_clear_error with a locked Secret Service"]
fn child_secret_service_locked() {
    let store = keyless::store::open_named("secret-service").unwrap();
    let err = store.set("token:x", b"v").unwrap_err();
    assert!(matches!(err, keyless::store::StoreError::Locked { .. }), "{err:?}");
    assert!(err.hint().contains("unlock"), "{}", err.hint());
}

#[cfg(target_os = "linux")]
#[test]
fn secret_service_without_a_session_bus_names_the_fix() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyless"))
        .args(["credential-process", "--session", "s", "--account", "111111111111", "--role", "R"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("KEYLESS_STORE", "secret-service")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not available") && err.contains("KEYLESS_STORE=keyutils"), "{err}");
}

#[test]
fn unknown_store_name_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyless"))
        .args(["credential-process", "--session", "s", "--account", "111111111111", "--role", "R"])
        .env("KEYLESS_STORE", "plaintext")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown secure store `plaintext`"));
}

#[cfg(target_os = "linux")]
#[test]
fn index_lists_keys_for_stores_that_cannot_enumerate() {
    use keyless::store::indexed::{INDEX_KEY, Indexed};
    // The index logic over a real keychain; `list` is answered from the index only.
    let ns = namespace();
    let store = Indexed::new(Chunked::new(KeyutilsStore::open(&ns).unwrap(), 100));
    store.set("role:acme:111111111111:Developer", b"r1").unwrap();
    store.set("token:acme", &[7u8; 500]).unwrap();
    store.set("token:acme", b"again").unwrap();
    assert_eq!(
        store.list("").unwrap(),
        vec!["role:acme:111111111111:Developer".to_string(), "token:acme".to_string()]
    );
    assert!(!store.list("").unwrap().iter().any(|k| k == INDEX_KEY));
    assert!(store.delete("token:acme").unwrap());
    assert_eq!(store.list("token:").unwrap(), Vec::<String>::new());
    store.delete("role:acme:111111111111:Developer").unwrap();
    // Deleting the last entry removes the index too: nothing is left behind.
    let raw = KeyutilsStore::open(&ns).unwrap();
    assert!(raw.get(INDEX_KEY).unwrap().is_none(), "the empty index was left in the store");
}

#[test]
fn a_malformed_settings_file_is_an_error_not_another_store() {
    let dir = support::TempDir::new("settings");
    std::fs::create_dir_all(dir.path().join("keyless")).unwrap();
    std::fs::write(dir.path().join("keyless/config.toml"), "stor = \"secret-service\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keyless"))
        .args(["credential-process", "--session", "s", "--account", "111111111111", "--role", "R"])
        .env_remove("KEYLESS_STORE")
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.toml is not valid") && err.contains("fix or remove"), "{err}");
}

#[cfg(target_os = "linux")]
/// The kernel's expiry column of `/proc/keys` for the entry `description`, if it is listed
/// (`perm`, a time left such as `59m`, or `expd`).
fn kernel_expiry(description: &str) -> Option<String> {
    let keys = std::fs::read_to_string("/proc/keys").expect("/proc/keys (kernel keyring)");
    keys.lines()
        .find(|l| l.contains(&format!(" {description}: ")))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
}

#[cfg(target_os = "linux")]
#[test]
fn kernel_keyring_entries_expire_with_what_they_hold() {
    use support::Emulator;
    use support::user::{User, text};
    // Role credentials that live three seconds.
    let emu = Emulator::start(&["--auto-approve", "--role-ttl", "3"]);
    let user = User::new(&emu);
    user.login();
    let out = user.credential_process("111111111111", "Developer");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ns = &user.namespace;
    // The token's refresh token lives as long as Identity Center lets the session: no timeout.
    assert_eq!(kernel_expiry(&format!("{ns}:token:acme")).as_deref(), Some("perm"));
    // The registration expires with its client secret (weeks away).
    let reg =
        kernel_expiry(&format!("{ns}:registration:acme")).expect("the registration is stored");
    assert!(reg.ends_with(['w', 'd', 'h']), "registration expiry {reg}");
    // The role credentials go with their expiration: the kernel stops handing them out.
    let role = format!("{ns}:role:acme:111111111111:Developer");
    let first = kernel_expiry(&role).expect("the role credentials are stored");
    assert!(first != "perm", "role credentials without a timeout");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match kernel_expiry(&role).as_deref() {
            None | Some("expd") => break,
            Some(left) => assert!(
                std::time::Instant::now() < deadline,
                "the role credentials are still held ({left}) long after their expiration"
            ),
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let store = KeyutilsStore::open(ns).unwrap();
    assert!(store.get("role:acme:111111111111:Developer").unwrap().is_none());
    assert!(store.list("role:").unwrap().is_empty(), "an expired entry is still listed");
    let out = user.run(&["logout", "--session", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
