//! Keeps a list of keys for backends that cannot enumerate their own entries (the macOS
//! Keychain and Windows Credential Manager through keyring-core). The list lives in the same
//! store under [`INDEX_KEY`], holds key names only (no secret), and is updated under a
//! cross-process lock so concurrent writers do not drop each other's names.

use std::time::Duration;

use super::{Store, StoreError};
use crate::secret::Secret;

pub const INDEX_KEY: &str = "keyless-index";

pub struct Indexed<S> {
    inner: S,
}

impl<S: Store> Indexed<S> {
    pub fn new(inner: S) -> Self {
        Indexed { inner }
    }

    fn read_index(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .inner
            .get(INDEX_KEY)?
            .and_then(|raw| serde_json::from_slice::<Vec<String>>(raw.expose()).ok())
            .unwrap_or_default())
    }

    /// Adds `key` to the index unless it is there.
    fn index(&self, key: &str) -> Result<(), StoreError> {
        if !self.read_index()?.iter().any(|k| k == key) {
            self.update_index(|keys| keys.push(key.to_string()))?;
        }
        Ok(())
    }

    fn update_index(&self, f: impl FnOnce(&mut Vec<String>)) -> Result<(), StoreError> {
        let _lock = crate::lock::acquire("store-index", Duration::from_secs(10)).map_err(|e| {
            StoreError::Platform { store: self.inner.name(), reason: e.to_string() }
        })?;
        let mut keys = self.read_index()?;
        let before = keys.clone();
        f(&mut keys);
        keys.sort();
        keys.dedup();
        if keys.is_empty() && !before.is_empty() {
            // The last entry is gone: leave nothing behind (logout removes every entry).
            self.inner.delete(INDEX_KEY)?;
        } else if keys != before {
            let bytes = serde_json::to_vec(&keys).expect("strings serialize");
            self.inner.set(INDEX_KEY, &bytes)?;
        }
        Ok(())
    }
}

impl<S: Store> Store for Indexed<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn get(&self, key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value)?;
        self.index(key)
    }

    fn set_until(&self, key: &str, value: &[u8], expires_at: i64) -> Result<(), StoreError> {
        self.inner.set_until(key, value, expires_at)?;
        self.index(key)
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let existed = self.inner.delete(key)?;
        self.update_index(|keys| keys.retain(|k| k != key))?;
        Ok(existed)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.read_index()?.into_iter().filter(|k| k.starts_with(prefix)).collect())
    }
}
