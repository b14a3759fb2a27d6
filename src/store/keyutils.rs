//! The Linux kernel keyring (keyutils): the user keyring, so every process of the user sees
//! the same entries without a daemon. Entries live in kernel memory only; they never reach
//! the disk and vanish at reboot. Entries written with [`Store::set_until`] carry a kernel
//! timeout: the kernel refuses them from their expiry on and soon removes them.

use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

use super::{Store, StoreError};
use crate::secret::Secret;

const NAME: &str = "keyutils";

pub struct KeyutilsStore {
    ring: KeyRing,
    prefix: String,
}

fn platform(e: KeyError) -> StoreError {
    match e {
        KeyError::AccessDenied => {
            StoreError::Unavailable { store: NAME, reason: "access to the user keyring was denied".into() }
        }
        KeyError::QuotaExceeded => StoreError::Platform {
            store: NAME,
            reason: "the kernel key quota for this user is exhausted (see /proc/sys/kernel/keys/maxbytes)".into(),
        },
        other => StoreError::Platform { store: NAME, reason: words(&other) },
    }
}

/// A kernel keyring error in words (the crate's own text is the variant's name).
fn words(e: &KeyError) -> String {
    match e {
        KeyError::AccessDenied | KeyError::PermissionDenied => {
            "the system refused access to the kernel keyring (a container or sandbox may block it)"
                .into()
        }
        KeyError::QuotaExceeded => "the kernel key quota for this user is exhausted".into(),
        KeyError::KeyExpired => "the key has expired".into(),
        KeyError::KeyRevoked => "the key has been revoked".into(),
        KeyError::KeyRejected => "the kernel rejected the key".into(),
        KeyError::KeyringDoesNotExist => "the keyring does not exist".into(),
        KeyError::KeyDoesNotExist => "the key does not exist".into(),
        KeyError::OutOfMemory => "the kernel is out of memory for keys".into(),
        KeyError::OperationNotSupported => {
            "the kernel does not support keyrings (built without CONFIG_KEYS, or blocked)".into()
        }
        KeyError::Unknown(errno) => {
            format!("the kernel answered with error {}", std::io::Error::from_raw_os_error(*errno))
        }
        other => format!("the kernel keyring call failed ({other:?})"),
    }
}

impl KeyutilsStore {
    /// Opens the user keyring (creating it if the kernel has not yet).
    pub fn open(namespace: &str) -> Result<Self, StoreError> {
        let ring = KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(|e| {
            StoreError::Unavailable {
                store: NAME,
                reason: format!("the user keyring cannot be opened: {}", words(&e)),
            }
        })?;
        Ok(KeyutilsStore { ring, prefix: format!("{namespace}:") })
    }

    fn description(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Adds or replaces the entry, then sets its permissions and its kernel timeout: the
    /// kernel expires it at `expires_at` (epoch seconds), or never (`None`). A replaced entry
    /// keeps its old timeout unless it is set again, so it is always set.
    fn store(&self, key: &str, value: &[u8], expires_at: Option<i64>) -> Result<(), StoreError> {
        // add_key on an existing description updates the payload in place, atomically.
        let k = self.ring.add_key(&self.description(key), value).map_err(platform)?;
        // Only this user (possessor or same uid) may see, read or change it; group and others
        // get nothing. Processes that do not possess the user keyring (a fresh session
        // keyring in a container) still find it through the user permissions.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        k.set_perms(perms).map_err(platform)?;
        // 0 clears a timeout; a value already past its expiry goes one second later.
        let seconds = expires_at.map_or(0, |at| (at - crate::time::now()).max(1));
        k.set_timeout(usize::try_from(seconds).unwrap_or(usize::MAX)).map_err(platform)
    }
}

impl Store for KeyutilsStore {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get(&self, key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError> {
        match self.ring.search(&self.description(key)) {
            Ok(k) => match k.read_to_vec() {
                Ok(v) => Ok(Some(Secret::new(v))),
                // Deleted between search and read: the same as absent.
                Err(KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired) => {
                    Ok(None)
                }
                Err(e) => Err(platform(e)),
            },
            Err(KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired) => {
                Ok(None)
            }
            Err(e) => Err(platform(e)),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store(key, value, None)
    }

    fn set_until(&self, key: &str, value: &[u8], expires_at: i64) -> Result<(), StoreError> {
        self.store(key, value, Some(expires_at))
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        match self.ring.search(&self.description(key)) {
            Ok(k) => match k.invalidate() {
                Ok(()) => Ok(true),
                Err(KeyError::KeyDoesNotExist) => Ok(false),
                Err(e) => Err(platform(e)),
            },
            Err(KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired) => {
                Ok(false)
            }
            Err(e) => Err(platform(e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let links = self.ring.get_links(links_capacity()).map_err(platform)?;
        let full = self.description(prefix);
        let mut keys: Vec<String> = links
            .iter()
            .filter_map(|node| node.as_key())
            .filter_map(|k| k.metadata().ok())
            .filter_map(|m| {
                m.get_description().strip_prefix(&full).map(|rest| format!("{prefix}{rest}"))
            })
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}

/// The `max` to pass to `KeyRing::get_links` so that every link of the user keyring is read.
///
/// linux-keyutils 0.2 allocates `max` four-byte entries but hands the kernel `max` as the
/// buffer's size in *bytes*, so `get_links(n)` reads at most `n / 4` links, and a keyring with
/// more than `n` links would be reported longer than the buffer holds. With `4 * maxkeys` no
/// user keyring can outgrow it (the kernel's per-user key limit bounds the links), and the
/// allocation is virtual: only the pages the kernel writes are touched.
fn links_capacity() -> usize {
    let file = if rustix::process::getuid().is_root() { "root_maxkeys" } else { "maxkeys" };
    let max_keys = std::fs::read_to_string(format!("/proc/sys/kernel/keys/{file}"))
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1_000_000);
    4 * (max_keys + 64)
}
