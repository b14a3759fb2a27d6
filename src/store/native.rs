//! The macOS Keychain and Windows Credential Manager, through the keyring-core stores.
//! Entries use the namespace as the service and the key as the account. These systems cannot
//! list keyless's entries, so [`super::open_named`] wraps this store in
//! [`super::indexed::Indexed`] (and, on Windows, in [`super::chunked::Chunked`] for
//! Credential Manager's size limit).

use std::sync::Arc;

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
        match self.entry(key)?.get_secret() {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(KError::NoEntry) => Ok(None),
            Err(e) => Err(platform(self.name, e)),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.entry(key)?.set_secret(value).map_err(|e| platform(self.name, e))
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        match self.entry(key)?.delete_credential() {
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
