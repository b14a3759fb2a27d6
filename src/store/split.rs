//! The Secret Service for what lasts, the kernel keyring for what is hot: tokens and client
//! registrations stay in the Secret Service, while cached role credentials (short-lived, read
//! by every `credential_process` call) live in the user's kernel keyring. A warm call then
//! reads one kernel key and never opens a D-Bus connection; the Secret Service is connected
//! only when a call needs it.
//!
//! Both keep secrets in memory only (the kernel keyring never writes to disk) and out of
//! other users' reach (the kernel key is readable by this user only). Where the kernel
//! keyring is not usable (some containers), role credentials stay in the Secret Service.

use std::cell::OnceCell;

use super::keyutils::KeyutilsStore;
use super::secret_service::SecretServiceStore;
use super::{Store, StoreError};
use crate::secret::Secret;

/// The keys that go to the kernel keyring: cached role credentials.
const HOT_PREFIX: &str = "role:";

pub struct SecretServiceWithKernelCache {
    namespace: String,
    service: OnceCell<SecretServiceStore>,
    kernel: Option<KeyutilsStore>,
}

impl SecretServiceWithKernelCache {
    /// Checks that a D-Bus session exists; connects to the Secret Service on first use.
    pub fn open(namespace: &str) -> Result<Self, StoreError> {
        SecretServiceStore::check_session()?;
        Ok(SecretServiceWithKernelCache {
            namespace: namespace.to_string(),
            service: OnceCell::new(),
            kernel: KeyutilsStore::open(namespace).ok(),
        })
    }

    fn service(&self) -> Result<&SecretServiceStore, StoreError> {
        if let Some(s) = self.service.get() {
            return Ok(s);
        }
        let s = SecretServiceStore::open(&self.namespace)?;
        Ok(self.service.get_or_init(|| s))
    }

    /// The store for `key`: the kernel keyring for role credentials (when usable).
    fn for_key(&self, key: &str) -> Result<&dyn Store, StoreError> {
        match &self.kernel {
            Some(k) if key.starts_with(HOT_PREFIX) => Ok(k),
            _ => Ok(self.service()?),
        }
    }
}

impl Store for SecretServiceWithKernelCache {
    fn name(&self) -> &'static str {
        "secret-service"
    }

    fn get(&self, key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError> {
        self.for_key(key)?.get(key)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.for_key(key)?.set(key, value)
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        // Role credentials an earlier version kept in the Secret Service go too.
        let mut deleted = self.service()?.delete(key)?;
        if let Some(k) = self.kernel.as_ref().filter(|_| key.starts_with(HOT_PREFIX)) {
            deleted |= k.delete(key)?;
        }
        Ok(deleted)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = self.service()?.list(prefix)?;
        if let Some(k) = &self.kernel
            && (prefix.starts_with(HOT_PREFIX) || HOT_PREFIX.starts_with(prefix))
        {
            keys.extend(k.list(prefix)?.into_iter().filter(|key| key.starts_with(HOT_PREFIX)));
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}
