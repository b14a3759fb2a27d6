#![allow(dead_code)]
//! A private, real Secret Service for tests: a D-Bus session bus plus gnome-keyring-daemon
//! unlocked with a throwaway password, in a temporary HOME. Both are killed on drop.
//! If the daemons cannot start, the test fails loudly: there is no fallback.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SecretServiceDaemon {
    pub bus_address: String,
    pub home: PathBuf,
    bus: Child,
    keyring: Option<Child>,
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "keyless-{tag}-{}-{}",
        std::process::id(),
        keyless::util::random_hex(4)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl SecretServiceDaemon {
    /// A Secret Service with an unlocked, persistent login keyring (the `default` alias).
    pub fn start() -> SecretServiceDaemon {
        Self::start_with(true)
    }

    /// A Secret Service that has only GNOME Keyring's in-memory `session` collection: no
    /// login keyring was ever created, so the `default` alias points nowhere.
    pub fn start_without_login_keyring() -> SecretServiceDaemon {
        Self::start_with(false)
    }

    fn start_with(login_keyring: bool) -> SecretServiceDaemon {
        let home = temp_dir("ss");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}/bus", home.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "dbus-daemon must be installed (Debian package dbus) for the Secret Service tests",
            );
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("reading the bus address");
        let bus_address = line.trim().to_string();
        assert!(bus_address.starts_with("unix:"), "dbus-daemon printed no address: {line:?}");
        let mut d = SecretServiceDaemon { bus_address, home, bus, keyring: None };
        let mut keyring = Command::new("gnome-keyring-daemon");
        keyring.args(["--foreground", "--components=secrets"]);
        if login_keyring {
            keyring.arg("--unlock");
        }
        let mut keyring = keyring
            .envs(d.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon must be installed (Debian package gnome-keyring)");
        let mut stdin = keyring.stdin.take().unwrap();
        if login_keyring {
            stdin.write_all(b"test-password").unwrap();
        }
        drop(stdin);
        d.keyring = Some(keyring);
        d.wait_for_service(login_keyring);
        d
    }

    /// The object path behind a collection alias (`/` when the alias is unset).
    pub fn read_alias(&self, alias: &str) -> String {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
            ])
            .arg(format!("string:{alias}"))
            .envs(self.env())
            .output()
            .expect("dbus-send must be installed");
        assert!(out.status.success(), "ReadAlias: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let path = text.split("object path \"").nth(1).and_then(|r| r.split('"').next());
        path.unwrap_or_else(|| panic!("no object path in {text}")).to_string()
    }

    /// How many items with `attribute=value` the whole service holds, in any collection
    /// (the session collection included), as `secret-tool` sees them.
    pub fn count_items(&self, attribute: &str, value: &str) -> usize {
        let out = Command::new("secret-tool")
            .args(["search", "--all", "--unlock", attribute, value])
            .envs(self.env())
            .output()
            .expect("secret-tool must be installed (Debian package libsecret-tools)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines().filter(|l| l.starts_with('[')).count()
    }

    /// The environment a process needs to use this Secret Service.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus_address.clone()),
            ("HOME".into(), self.home.display().to_string()),
            ("XDG_DATA_HOME".into(), self.home.join("data").display().to_string()),
            ("XDG_RUNTIME_DIR".into(), self.home.display().to_string()),
        ]
    }

    fn wait_for_service(&self, login_keyring: bool) {
        let start = Instant::now();
        loop {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .envs(self.env())
                .output()
                .expect("dbus-send must be installed");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") && !login_keyring {
                return;
            }
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                // The login collection is created right after the name appears.
                let probe = Command::new("secret-tool")
                    .args(["search", "keyless-probe", "x"])
                    .envs(self.env())
                    .output()
                    .expect("secret-tool must be installed (Debian package libsecret-tools)");
                if probe.status.success() || probe.status.code() == Some(1) {
                    return;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "gnome-keyring-daemon did not come up on the test bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Locks every collection (as a screen lock would).
    pub fn lock_all(&self) {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "locking the keyring failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for SecretServiceDaemon {
    fn drop(&mut self) {
        if let Some(k) = &mut self.keyring {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
