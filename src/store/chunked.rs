//! Splits values over a backend's size limit across several entries (Windows Credential
//! Manager rejects secrets over 2,560 bytes; an SSO token record with a refresh token can be
//! larger). Entry `key` holds a small header `keyless-chunks:N`; entries `key#0..N` hold the
//! parts. Values under the limit are stored as they are.

use super::{Store, StoreError};
use crate::secret::Secret;

/// Credential Manager's limit for a generic credential's blob.
pub const WINCRED_MAX_BYTES: usize = 2560;

const HEADER: &str = "keyless-chunks:";

pub struct Chunked<S> {
    inner: S,
    max: usize,
}

impl<S: Store> Chunked<S> {
    pub fn new(inner: S, max: usize) -> Self {
        assert!(max > HEADER.len() + 8, "chunk size too small");
        Chunked { inner, max }
    }

    fn part(key: &str, i: usize) -> String {
        format!("{key}#{i}")
    }

    fn chunk_count(value: &[u8]) -> Option<usize> {
        std::str::from_utf8(value).ok()?.strip_prefix(HEADER)?.parse().ok()
    }

    fn put(&self, key: &str, value: &[u8], expires_at: Option<i64>) -> Result<(), StoreError> {
        match expires_at {
            Some(at) => self.inner.set_until(key, value, at),
            None => self.inner.set(key, value),
        }
    }

    /// Writes the parts first and the header last, every entry with the same expiry.
    fn store(&self, key: &str, value: &[u8], expires_at: Option<i64>) -> Result<(), StoreError> {
        if value.len() <= self.max && Self::chunk_count(value).is_none() {
            self.put(key, value, expires_at)?;
            return self.delete_parts(key, 0);
        }
        let parts: Vec<&[u8]> = value.chunks(self.max).collect();
        for (i, p) in parts.iter().enumerate() {
            self.put(&Self::part(key, i), p, expires_at)?;
        }
        self.put(key, format!("{HEADER}{}", parts.len()).as_bytes(), expires_at)?;
        self.delete_parts(key, parts.len())
    }

    fn delete_parts(&self, key: &str, from: usize) -> Result<(), StoreError> {
        let mut i = from;
        while self.inner.delete(&Self::part(key, i))? {
            i += 1;
        }
        Ok(())
    }
}

impl<S: Store> Store for Chunked<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn get(&self, key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError> {
        let Some(head) = self.inner.get(key)? else { return Ok(None) };
        let Some(n) = Self::chunk_count(head.expose()) else { return Ok(Some(head)) };
        let mut out = Vec::new();
        for i in 0..n {
            match self.inner.get(&Self::part(key, i))? {
                Some(p) => out.extend_from_slice(p.expose()),
                // A writer replaced the value while we read it: treat as absent, the caller
                // falls back to its slow path (which takes the lock).
                None => return Ok(None),
            }
        }
        Ok(Some(Secret::new(out)))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store(key, value, None)
    }

    fn set_until(&self, key: &str, value: &[u8], expires_at: i64) -> Result<(), StoreError> {
        self.store(key, value, Some(expires_at))
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let existed = self.inner.delete(key)?;
        self.delete_parts(key, 0)?;
        Ok(existed)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let keys = self.inner.list(prefix)?;
        Ok(keys
            .into_iter()
            .filter(|k| k.rsplit_once('#').is_none_or(|(_, n)| n.parse::<usize>().is_err()))
            .collect())
    }
}
