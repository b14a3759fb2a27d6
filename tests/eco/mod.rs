//! Helpers for the doctor, console and browser tests: a throwaway HOME with its own
//! secure-store namespace, a session seeded into the kernel keyring, and running keyless in
//! that HOME with a clean environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyless::secret::Secret;
use keyless::sso::records::{self, Token};
use keyless::store::Store;

use super::support::{self, Emulator, TempDir};

pub const START_URL: &str = "https://d-1234567890.awsapps.com/start";
pub const REGION: &str = "ap-northeast-2";

/// A HOME directory and a store namespace of its own; the namespace is emptied on drop.
pub struct Home {
    pub dir: TempDir,
    pub namespace: String,
    /// Extra environment for every run (endpoints, ...).
    pub env: Vec<(String, String)>,
}

impl Home {
    pub fn new(label: &str) -> Home {
        let dir = TempDir::new(label);
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let namespace = format!("keyless-test-{}", keyless::util::random_hex(6));
        Home { dir, namespace, env: Vec::new() }
    }

    /// A home whose AWS endpoints all point at `emu`.
    pub fn with_emulator(label: &str, emu: &Emulator) -> Home {
        let mut h = Home::new(label);
        for var in ["AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_STS"] {
            h.env.push((var.into(), emu.url().into()));
        }
        h.env.push(("AWS_ENDPOINT_URL_SIGNIN".into(), emu.url().into()));
        h
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join(".aws").join("config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.path().join(".aws").join("credentials")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn write_credentials(&self, text: &str) {
        std::fs::write(self.credentials_path(), text).unwrap();
    }

    pub fn store(&self) -> Box<dyn Store> {
        keyless::store::open_in("keyutils", &self.namespace)
            .expect("the kernel keyring must be usable")
    }

    /// Signs in to `emu` over raw HTTP and stores the token as session `session`, exactly as
    /// `keyless login` stores it.
    pub fn seed_session(&self, emu: &Emulator, session: &str) -> Token {
        let t = emu.device_login();
        let now = keyless::time::now();
        let token = Token {
            access_token: Secret::new(t["accessToken"].as_str().unwrap().to_string()),
            expires_at: now + t["expiresIn"].as_i64().unwrap(),
            refresh_token: t["refreshToken"].as_str().map(|r| Secret::new(r.to_string())),
            start_url: START_URL.into(),
            region: REGION.into(),
            signed_in_at: now,
            // The client the refresh token belongs to, kept with it as `keyless login` does.
            client: Some(records::TokenClient {
                client_id: t["clientId"].as_str().unwrap().to_string(),
                client_secret: Secret::new(t["clientSecret"].as_str().unwrap().to_string()),
                expires_at: t["clientSecretExpiresAt"].as_i64().unwrap(),
            }),
        };
        records::save(self.store().as_ref(), &records::token_key(session), &token).unwrap();
        token
    }

    /// Stores a token record with an explicit expiry (for the doctor's session checks).
    pub fn seed_token(&self, session: &str, expires_at: i64) {
        let token = Token {
            access_token: Secret::new(format!("fake-{}", keyless::util::random_hex(8))),
            expires_at,
            refresh_token: None,
            start_url: START_URL.into(),
            region: REGION.into(),
            signed_in_at: keyless::time::now() - 3600,
            client: None,
        };
        records::save(self.store().as_ref(), &records::token_key(session), &token).unwrap();
    }

    /// A `[profile name]` managed by keyless, pointing at `binary`.
    pub fn managed_profile(
        name: &str,
        binary: &str,
        session: &str,
        account: &str,
        role: &str,
    ) -> String {
        format!(
            "[profile {name}]\ncredential_process = {binary} credential-process --session {session} --account {account} --role {role}\nregion = {REGION}\n"
        )
    }

    /// The keyless command in this HOME, with nothing inherited but PATH.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(support::keyless_bin());
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("TMPDIR", self.path().join("tmp"))
            .env("KEYLESS_STORE", "keyutils")
            .env("KEYLESS_STORE_NAMESPACE", &self.namespace)
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null());
        c
    }

    /// The shared secret scan over this HOME (its temp dir included) and `outputs`, for every
    /// secret `emu` issued (the org's long-lived keys included) and `more`.
    pub fn assert_no_secret_leaked(&self, emu: &Emulator, more: &[&str], outputs: &[&str]) {
        let mut secrets = emu.secrets();
        secrets.extend(more.iter().map(|s| s.to_string()));
        support::assert_no_secret_in(&[self.path()], &secrets, outputs);
    }

    pub fn run(&self, args: &[&str]) -> Output {
        crate::support::user::run_bounded(self.command(args), 120)
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Ok(store) = keyless::store::open_in("keyutils", &self.namespace)
            && let Ok(keys) = store.list("")
        {
            for k in keys {
                let _ = store.delete(&k);
            }
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
