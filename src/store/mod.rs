//! The secure store: where tokens, client registrations and role credentials live.
//!
//! One small trait ([`Store`]) with a backend per OS keychain. Keys are short names such as
//! `token:acme` or `role:acme:111111111111:Developer`; each backend prefixes them with a
//! namespace (default `keyless`, or `KEYLESS_STORE_NAMESPACE`) so tests can use random,
//! isolated names. There is deliberately no plaintext and no in-memory backend: when no
//! keychain is usable the caller gets [`StoreError::Unavailable`] with the fix.

use std::fmt;

use crate::error::Error;
use crate::secret::Secret;

pub mod chunked;
pub mod indexed;
#[cfg(target_os = "linux")]
pub mod keyutils;
#[cfg(any(target_os = "macos", target_os = "windows"))]
pub mod native;
#[cfg(target_os = "linux")]
pub mod secret_service;
#[cfg(target_os = "linux")]
pub mod split;

/// Why a store operation failed. `NotFound` is not an error: `get` returns `Ok(None)`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The keychain exists but is locked and keyless may not prompt to unlock it.
    #[error("the {store} keychain is locked")]
    Locked { store: &'static str },
    /// The keychain cannot be reached at all (no daemon, no D-Bus session, unsupported OS).
    #[error("the {store} keychain is not available: {reason}")]
    Unavailable { store: &'static str, reason: String },
    /// The platform call failed for another reason.
    #[error("the {store} keychain failed: {reason}")]
    Platform { store: &'static str, reason: String },
}

impl StoreError {
    /// The next step for a person who sees this error.
    pub fn hint(&self) -> String {
        match self {
            StoreError::Locked { store: "secret-service" } => "unlock your login keyring (log in to the desktop session, or run `secret-tool lookup x y` to get the unlock prompt), then try again".into(),
            StoreError::Locked { .. } => "unlock your keychain, then try again".into(),
            StoreError::Unavailable { store: "secret-service", .. } => "start a Secret Service with a persistent login keyring (for example `gnome-keyring-daemon --unlock --components=secrets` inside a D-Bus session, or log in to the desktop session), or use the kernel keyring with `KEYLESS_STORE=keyutils`".into(),
            StoreError::Unavailable { store: "keyutils", .. } => "the Linux kernel keyring is not usable here (it may be disabled in this container); use the Secret Service with `KEYLESS_STORE=secret-service`".into(),
            StoreError::Unavailable { .. } | StoreError::Platform { .. } => "run `keyless doctor` to check the secure store".into(),
        }
    }
}

impl From<StoreError> for crate::error::Error {
    fn from(e: StoreError) -> Self {
        crate::error::Error::user(e.to_string()).hint(e.hint())
    }
}

/// A secure key-value store for small secrets.
pub trait Store {
    /// The backend's name as used in `KEYLESS_STORE` (`keyutils`, `secret-service`, ...).
    fn name(&self) -> &'static str;
    /// The value stored under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError>;
    /// Stores `value` under `key`, replacing any previous value in one step.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Like [`Store::set`], for a value that is useless after `expires_at` (epoch seconds):
    /// backends that can (the kernel keyring) drop it then by themselves. The others keep it
    /// until it is replaced or deleted.
    fn set_until(&self, key: &str, value: &[u8], expires_at: i64) -> Result<(), StoreError> {
        let _ = expires_at;
        self.set(key, value)
    }
    /// Deletes `key`; `Ok(false)` when there was nothing to delete.
    fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Every key (without the namespace) that starts with `prefix`.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}

impl fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Store({})", self.name())
    }
}

/// The namespace that prefixes every entry: `KEYLESS_STORE_NAMESPACE` or `keyless`.
pub fn namespace() -> String {
    std::env::var("KEYLESS_STORE_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "keyless".into())
}

/// The backends this build knows, by name.
pub const BACKENDS: &[&str] = &["keychain", "wincred", "secret-service", "keyutils"];

/// How the store was chosen, for `status` and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// `KEYLESS_STORE` named it.
    Env(String),
    /// The keyless config file named it.
    ConfigFile(String),
    /// Chosen automatically for this platform.
    Auto(String),
}

impl Choice {
    pub fn name(&self) -> &str {
        match self {
            Choice::Env(n) | Choice::ConfigFile(n) | Choice::Auto(n) => n,
        }
    }
}

/// Decides which backend to use: `KEYLESS_STORE`, then `store = "..."` in the keyless config
/// file, then the platform default (Secret Service when a D-Bus session is present on Linux,
/// the kernel keyring otherwise). A settings file that cannot be read is an error, never a
/// silent switch to another store.
pub fn choose() -> anyhow::Result<Choice> {
    if let Ok(name) = std::env::var("KEYLESS_STORE")
        && !name.is_empty()
    {
        return Ok(Choice::Env(name));
    }
    if let Some(name) = crate::settings::Settings::load()?.store {
        return Ok(Choice::ConfigFile(name));
    }
    Ok(Choice::Auto(platform_default().to_string()))
}

fn platform_default() -> &'static str {
    if cfg!(target_os = "macos") {
        "keychain"
    } else if cfg!(target_os = "windows") {
        "wincred"
    } else if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        "secret-service"
    } else {
        "keyutils"
    }
}

/// Opens the chosen store. Unknown names are a usage error; a store that cannot be used
/// is a [`StoreError::Unavailable`] naming the fix.
pub fn open() -> anyhow::Result<Box<dyn Store>> {
    open_named(choose()?.name())
}

/// Opens a store by backend name, in the namespace of [`namespace`].
pub fn open_named(name: &str) -> anyhow::Result<Box<dyn Store>> {
    open_in(name, &namespace())
}

/// Opens a store by backend name in namespace `ns` (tests and benchmarks use their own).
pub fn open_in(name: &str, ns: &str) -> anyhow::Result<Box<dyn Store>> {
    match name {
        #[cfg(target_os = "linux")]
        "keyutils" => Ok(Box::new(keyutils::KeyutilsStore::open(ns).map_err(Error::from)?)),
        #[cfg(target_os = "linux")]
        // Tokens in the Secret Service, cached role credentials in the kernel keyring.
        "secret-service" => {
            Ok(Box::new(split::SecretServiceWithKernelCache::open(ns).map_err(Error::from)?))
        }
        #[cfg(target_os = "macos")]
        "keychain" => Ok(Box::new(indexed::Indexed::new(
            native::NativeStore::open(ns, "keychain").map_err(Error::from)?,
        ))),
        #[cfg(target_os = "windows")]
        "wincred" => Ok(Box::new(indexed::Indexed::new(chunked::Chunked::new(
            native::NativeStore::open(ns, "wincred").map_err(Error::from)?,
            chunked::WINCRED_MAX_BYTES,
        )))),
        other if BACKENDS.contains(&other) => Err(Error::from(StoreError::Unavailable {
            store: BACKENDS.iter().find(|b| **b == other).copied().unwrap_or("unknown"),
            reason: format!("`{other}` does not exist on this operating system"),
        })
        .into()),
        other => Err(Error::usage(format!("unknown secure store `{other}`"))
            .hint(format!("set KEYLESS_STORE to one of: {}", BACKENDS.join(", ")))
            .into()),
    }
}
