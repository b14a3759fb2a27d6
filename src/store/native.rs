//! macOS Keychain and Windows Credential Manager through the keyring-core stores.
//! (Compiled only on those systems.)

use super::{Store, StoreError};
use crate::secret::Secret;

pub struct NativeStore {
    name: &'static str,
    service: String,
}

impl NativeStore {
    pub fn open(namespace: &str, name: &'static str) -> Result<Self, StoreError> {
        Ok(NativeStore { name, service: namespace.to_string() })
    }
}

impl Store for NativeStore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn get(&self, _key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError> {
        Err(StoreError::Unavailable {
            store: self.name,
            reason: format!(
                "the {} backend for {} is not built into this version",
                self.name, self.service
            ),
        })
    }

    fn set(&self, _key: &str, _value: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            store: self.name,
            reason: "not built into this version".into(),
        })
    }

    fn delete(&self, _key: &str) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable {
            store: self.name,
            reason: "not built into this version".into(),
        })
    }

    fn list(&self, _prefix: &str) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Unavailable {
            store: self.name,
            reason: "not built into this version".into(),
        })
    }
}
