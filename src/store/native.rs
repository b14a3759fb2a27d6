//! The macOS Keychain and Windows Credential Manager, through the keyring-core stores.
//! Entries use the namespace as the service and the key as the account. These systems cannot
//! list keyless's entries, so [`super::open_named`] wraps this store in
//! [`super::indexed::Indexed`] (and, on Windows, in [`super::chunked::Chunked`] for
//! Credential Manager's size limit).

use std::sync::Arc;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry, Error as KError};

use super::{Store, StoreError};
use crate::secret::Secret;

pub struct NativeStore {
    name: &'static str,
    service: String,
    store: Arc<CredentialStore>,
}

fn platform(name: &'static str, e: KError) -> StoreError {
    match e {
        KError::NoStorageAccess(_) => StoreError::Locked { store: name },
        other => StoreError::Platform { store: name, reason: other.to_string() },
    }
}

/// How often a platform failure is tried before it is reported.
const TRIES: u32 = 4;

/// Runs a keychain call, retrying platform failures a few times with a short backoff (20 ms,
/// 40 ms, 80 ms): the macOS Keychain has been reported to fail now and then when several
/// processes read it at once (parallel AWS tools each running `credential_process`). "No
/// entry", "locked" and bad data are answers, returned at once.
fn retrying<T>(mut op: impl FnMut() -> Result<T, KError>) -> Result<T, KError> {
    let mut pause = Duration::from_millis(20);
    for _ in 1..TRIES {
        match op() {
            Err(KError::PlatformFailure(_)) => {
                std::thread::sleep(pause);
                pause *= 2;
            }
            other => return other,
        }
    }
    op()
}

impl NativeStore {
    pub fn open(namespace: &str, name: &'static str) -> Result<Self, StoreError> {
        #[cfg(target_os = "macos")]
        let store: Arc<CredentialStore> =
            apple_native_keyring_store::keychain::Store::new().map_err(|e| platform(name, e))?;
        #[cfg(target_os = "windows")]
        let store: Arc<CredentialStore> =
            windows_native_keyring_store::Store::new().map_err(|e| platform(name, e))?;
        Ok(NativeStore { name, service: namespace.to_string(), store })
    }

    fn entry(&self, key: &str) -> Result<Entry, StoreError> {
        self.store.build(&self.service, key, None).map_err(|e| platform(self.name, e))
    }
}

impl Store for NativeStore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn get(&self, key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError> {
        let entry = self.entry(key)?;
        match retrying(|| entry.get_secret()) {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(KError::NoEntry) => Ok(None),
            Err(e) => Err(platform(self.name, e)),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let entry = self.entry(key)?;
        retrying(|| entry.set_secret(value)).map_err(|e| platform(self.name, e))
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let entry = self.entry(key)?;
        match retrying(|| entry.delete_credential()) {
            Ok(()) => Ok(true),
            Err(KError::NoEntry) => Ok(false),
            Err(e) => Err(platform(self.name, e)),
        }
    }

    fn list(&self, _prefix: &str) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Platform {
            store: self.name,
            reason: "this keychain cannot list entries; wrap it in Indexed".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> KError {
        KError::PlatformFailure("errSecInteractionNotAllowed".into())
    }

    #[test]
    fn transient_platform_failures_are_retried() {
        let mut calls = 0;
        let got = retrying(|| {
            calls += 1;
            if calls < 3 { Err(failure()) } else { Ok(calls) }
        });
        assert_eq!(got.unwrap(), 3);
    }

    #[test]
    fn a_lasting_failure_is_reported_after_a_few_tries() {
        let mut calls = 0;
        let got: Result<(), _> = retrying(|| {
            calls += 1;
            Err(failure())
        });
        assert!(matches!(got, Err(KError::PlatformFailure(_))));
        assert_eq!(calls, TRIES);
    }

    #[test]
    fn answers_are_not_retried() {
        let answers: [fn() -> KError; 2] =
            [|| KError::NoEntry, || KError::NoStorageAccess("locked".into())];
        for answer in answers {
            let mut calls = 0;
            let got: Result<(), _> = retrying(|| {
                calls += 1;
                Err(answer())
            });
            assert!(got.is_err());
            assert_eq!(calls, 1);
        }
    }
}
