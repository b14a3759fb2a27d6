//! A developer's machine in a box: a temporary HOME with its own AWS config and credentials
//! files, the endpoint variables pointing at an emulator, the kernel keyring under a random
//! namespace, and helpers to run `keyless` and the AWS judges in it and to prove that no
//! secret reached a file or an output.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use super::{Emulator, TempDir, keyless_bin};

pub const START_URL: &str = "https://d-1234567890.awsapps.com/start";
pub const REGION: &str = "ap-northeast-2";

/// `keyless login` for the `acme` session with `flow` (`--device-code` or `--browser`), never
/// opening a browser.
pub fn login_args(flow: &str) -> Vec<&str> {
    vec![
        "login",
        "--session",
        "acme",
        "--start-url",
        START_URL,
        "--region",
        REGION,
        flow,
        "--no-browser",
    ]
}

pub struct User {
    pub home: TempDir,
    pub endpoint: String,
    pub namespace: String,
    pub extra_env: Vec<(String, String)>,
}

impl User {
    pub fn new(emu: &Emulator) -> User {
        Self::with_endpoint(emu.url())
    }

    pub fn with_endpoint(endpoint: &str) -> User {
        let home = TempDir::new("home");
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        let mut b = [0u8; 6];
        getrandom::fill(&mut b).unwrap();
        User {
            home,
            endpoint: endpoint.to_string(),
            namespace: format!("keyless-test-{}", hex::encode(b)),
            extra_env: Vec::new(),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.path().join(".aws").join("config")
    }

    /// The temp dir every command of this user gets (`TMPDIR`), inside HOME so the secret
    /// scan covers whatever a flow leaves there.
    pub fn tmp_dir(&self) -> PathBuf {
        self.home.path().join("tmp")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.home.path().join(".aws").join("credentials")
    }

    /// Applies this user's environment to a command (and clears the runner's AWS variables).
    pub fn apply(&self, cmd: &mut Command) {
        for k in [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "DBUS_SESSION_BUS_ADDRESS",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "BROWSER",
            "XDG_CONFIG_HOME",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("HOME", self.home.path())
            .env("TMPDIR", self.tmp_dir())
            .env("XDG_RUNTIME_DIR", self.home.path())
            .env("AWS_CONFIG_FILE", self.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.credentials_path())
            .env("AWS_ENDPOINT_URL_SSO_OIDC", &self.endpoint)
            .env("AWS_ENDPOINT_URL_SSO", &self.endpoint)
            .env("AWS_ENDPOINT_URL_STS", &self.endpoint)
            .env("AWS_ENDPOINT_URL_IAM", &self.endpoint)
            .env("AWS_ENDPOINT_URL_SIGNIN", &self.endpoint)
            .env("KEYLESS_STORE", "keyutils")
            .env("KEYLESS_STORE_NAMESPACE", &self.namespace)
            .env("NO_COLOR", "1");
        cmd.envs(self.extra_env.iter().map(|(k, v)| (k, v)));
    }

    pub fn keyless(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(keyless_bin());
        cmd.args(args).stdin(Stdio::null());
        self.apply(&mut cmd);
        cmd
    }

    /// Runs keyless to completion, with a hang guard.
    pub fn run(&self, args: &[&str]) -> Output {
        run_bounded(self.keyless(args), 60)
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.keyless(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning keyless")
    }

    /// `keyless credential-process` for a role of the `acme` session.
    pub fn credential_process(&self, account: &str, role: &str) -> Output {
        self.run(&["credential-process", "--session", "acme", "--account", account, "--role", role])
    }

    /// Uses a private Secret Service instead of the kernel keyring.
    pub fn use_secret_service(&mut self, daemon: &super::keyring::SecretServiceDaemon) {
        self.extra_env =
            daemon.env().into_iter().filter(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS").collect();
        self.extra_env.push(("KEYLESS_STORE".into(), "secret-service".into()));
    }

    /// Signs in with the device flow against an auto-approving emulator.
    pub fn login(&self) {
        let out = self.run(&login_args("--device-code"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "login failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Adds a keyless profile by hand (onboarding writes the same thing).
    pub fn add_profile(&self, name: &str, account: &str, role: &str) {
        use std::io::Write;
        let mut f =
            std::fs::OpenOptions::new().create(true).append(true).open(self.config_path()).unwrap();
        write!(
            f,
            "\n[profile {name}]\ncredential_process = {} credential-process --session acme --account {account} --role {role}\nregion = {REGION}\n",
            keyless_bin()
        )
        .unwrap();
    }

    /// A judge command: `$KEYLESS_TEST_PYTHON` with this user's environment.
    pub fn python(&self, args: &[&str]) -> Command {
        let py = std::env::var("KEYLESS_TEST_PYTHON").expect("KEYLESS_TEST_PYTHON must name the Python with botocore and the AWS CLI (scripts/test.sh sets it)");
        let mut cmd = Command::new(py);
        cmd.args(args).stdin(Stdio::null());
        self.apply(&mut cmd);
        cmd
    }

    /// Asserts that no secret the emulator issued (long-lived org keys included), in plain or
    /// encoded form, appears in any file under HOME (config, backups, locks, settings and the
    /// temp dir the flow used: `TMPDIR` points inside HOME) or in `outputs`.
    pub fn assert_no_secret_leaked(&self, emu: &Emulator, outputs: &[&str]) {
        super::assert_no_secret_in(&[self.home.path()], &emu.secrets(), outputs);
    }
}

/// `cmd` run through `program` with `args` before it (`unshare --user ...`, say), with the same
/// environment and no stdin.
pub fn wrapped(program: &str, args: &[&str], cmd: &Command) -> Command {
    let mut out = Command::new(program);
    out.args(args).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => out.env(k, v),
            None => out.env_remove(k),
        };
    }
    out.stdin(Stdio::null());
    out
}

/// Runs a command, killing it (and failing) if it runs longer than `secs`.
pub fn run_bounded(mut cmd: Command, secs: u64) -> Output {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawning");
    wait_bounded(child, secs)
}

pub fn wait_bounded(child: Child, secs: u64) -> Output {
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => out.expect("waiting for the command"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("the command did not finish within {secs}s");
        }
    }
}

/// `err` is keyless refusing the lock directory `dir` because it `problem` (e.g. "belongs to
/// another user (uid 65534)"), with the hint to remove it or use a directory of one's own.
pub fn assert_lock_dir_refused(err: &str, dir: &std::path::Path, problem: &str) {
    let dir = dir.display();
    assert!(
        err.contains(&format!(
            "error: the lock directory {dir} {problem}; keyless only keeps its locks in a directory that is yours alone"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "hint: remove {dir} (or ask the person who created it to), or set XDG_RUNTIME_DIR to a directory of yours"
        )),
        "{err}"
    );
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Drop for User {
    fn drop(&mut self) {
        super::clear_keyring_namespace(&self.namespace);
    }
}
