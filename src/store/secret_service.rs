//! The freedesktop Secret Service (GNOME Keyring, KWallet) over the D-Bus session bus.
//! Values travel encrypted (DH session) and are stored in the default collection, with
//! attributes that name keyless, the namespace and the key.

use std::collections::HashMap;

use dbus_secret_service::{Collection, EncryptionType, Error as SsError, SecretService};

use super::{Store, StoreError};
use crate::secret::Secret;

const NAME: &str = "secret-service";
const APP: &str = "keyless";

pub struct SecretServiceStore {
    service: SecretService,
    namespace: String,
}

fn platform(e: SsError) -> StoreError {
    match e {
        SsError::Locked | SsError::Prompt => StoreError::Locked { store: NAME },
        SsError::Unavailable => StoreError::Unavailable {
            store: NAME,
            reason: "no Secret Service is running on the D-Bus session bus".into(),
        },
        SsError::Dbus(d) => StoreError::Unavailable {
            store: NAME,
            reason: d.message().unwrap_or("D-Bus call failed").to_string(),
        },
        other => StoreError::Platform { store: NAME, reason: other.to_string() },
    }
}

impl SecretServiceStore {
    /// Connects to the session bus and checks that a default collection exists.
    pub fn open(namespace: &str) -> Result<Self, StoreError> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            return Err(StoreError::Unavailable {
                store: NAME,
                reason: "there is no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)".into(),
            });
        }
        // A plain session: the session bus only carries this user's traffic, and any process
        // that could read it could as well ask the Secret Service itself. The Diffie-Hellman
        // exchange of an encrypted session cost 5.6 ms per call, more than everything else
        // credential-process does with cached credentials.
        let service = SecretService::connect(EncryptionType::Plain).map_err(platform)?;
        Ok(SecretServiceStore { service, namespace: namespace.to_string() })
    }

    /// The collection entries go to; an error when it is locked (keyless never pops up an
    /// unlock prompt from a background `credential_process` call).
    fn collection(&self) -> Result<Collection<'_>, StoreError> {
        let c = self.service.get_any_collection().map_err(|e| match e {
            SsError::NoResult => StoreError::Unavailable {
                store: NAME,
                reason: "the Secret Service has no keyring (collection) to store into".into(),
            },
            other => platform(other),
        })?;
        if c.is_locked().map_err(platform)? {
            return Err(StoreError::Locked { store: NAME });
        }
        Ok(c)
    }

    fn attrs<'a>(&'a self, key: Option<&'a str>) -> HashMap<&'a str, &'a str> {
        let mut a =
            HashMap::from([("application", APP), ("keyless-namespace", self.namespace.as_str())]);
        if let Some(k) = key {
            a.insert("keyless-key", k);
        }
        a
    }
}

impl Store for SecretServiceStore {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get(&self, key: &str) -> Result<Option<Secret<Vec<u8>>>, StoreError> {
        // One service-wide search answers both "is it there" and "is it locked": the hot
        // path makes two D-Bus calls (SearchItems, GetSecret) after the session is open.
        let found = self.service.search_items(self.attrs(Some(key))).map_err(platform)?;
        if let Some(item) = found.unlocked.first() {
            return Ok(Some(Secret::new(item.get_secret().map_err(platform)?)));
        }
        if found.locked.is_empty() { Ok(None) } else { Err(StoreError::Locked { store: NAME }) }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let c = self.collection()?;
        // replace = true swaps the secret of the item with identical attributes in one call.
        c.create_item(
            &format!("keyless: {key}"),
            self.attrs(Some(key)),
            value,
            true,
            "application/octet-stream",
        )
        .map_err(platform)?;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let c = self.collection()?;
        let items = c.search_items(self.attrs(Some(key))).map_err(platform)?;
        for item in &items {
            item.delete().map_err(platform)?;
        }
        Ok(!items.is_empty())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let c = self.collection()?;
        let items = c.search_items(self.attrs(None)).map_err(platform)?;
        let mut keys = Vec::new();
        for item in &items {
            if let Some(k) = item.get_attributes().map_err(platform)?.remove("keyless-key")
                && k.starts_with(prefix)
            {
                keys.push(k);
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}
