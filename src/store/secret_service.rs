//! The freedesktop Secret Service (GNOME Keyring, KWallet) over the D-Bus session bus.
//! Values travel over a plain session on the user's own session bus (see [`SecretServiceStore::open`])
//! and are stored only in the collection behind the `default` alias (GNOME Keyring's and
//! KWallet's persistent "login" keyring), with attributes that name keyless, the namespace and
//! the key. Never in the in-memory `session` collection: tokens there would vanish with the
//! daemon, and keyless would look signed out for no reason the user could see.

use std::collections::HashMap;

use dbus_secret_service::{Collection, EncryptionType, Error as SsError, SecretService};

use super::{Store, StoreError};
use crate::secret::Secret;

const NAME: &str = "secret-service";
const APP: &str = "keyless";
/// Why the Secret Service cannot be used when it has no persistent default keyring.
pub const NO_DEFAULT_COLLECTION: &str = "the Secret Service has no default (login) keyring; \
keyless does not store tokens in its in-memory session collection";

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

/// Whether an item lives in the `session` collection, which the Secret Service keeps in memory
/// only (GNOME Keyring names it so; the path is `/org/freedesktop/secrets/collection/session/N`).
fn in_session_collection(item: &dbus_secret_service::Item<'_>) -> bool {
    item.path.starts_with("/org/freedesktop/secrets/collection/session/")
}

impl SecretServiceStore {
    /// Connects to the session bus and checks that a default collection exists.
    pub fn open(namespace: &str) -> Result<Self, StoreError> {
        Self::check_session()?;
        // A plain session: the session bus only carries this user's traffic, and any process
        // that could read it could as well ask the Secret Service itself. The Diffie-Hellman
        // exchange of an encrypted session cost 5.6 ms per call, more than everything else
        // credential-process does with cached credentials.
        let service = SecretService::connect(EncryptionType::Plain).map_err(platform)?;
        Ok(SecretServiceStore { service, namespace: namespace.to_string() })
    }

    /// An error unless there is a D-Bus session to find a Secret Service on.
    pub fn check_session() -> Result<(), StoreError> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            return Err(StoreError::Unavailable {
                store: NAME,
                reason: "there is no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)".into(),
            });
        }
        Ok(())
    }

    /// The collection entries go to: the one behind the `default` alias, and no other; an
    /// error when there is none or it is locked (keyless never pops up an unlock prompt from a
    /// background `credential_process` call).
    fn collection(&self) -> Result<Collection<'_>, StoreError> {
        let c = self.service.get_default_collection().map_err(|e| match e {
            SsError::NoResult => {
                StoreError::Unavailable { store: NAME, reason: NO_DEFAULT_COLLECTION.into() }
            }
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
        // Items in the in-memory session collection (written by someone else, or by an old
        // keyless) are never read: keyless stores only in the persistent default collection.
        let found = self.service.search_items(self.attrs(Some(key))).map_err(platform)?;
        let persistent = |item: &&dbus_secret_service::Item<'_>| !in_session_collection(item);
        if let Some(item) = found.unlocked.iter().find(persistent) {
            return Ok(Some(Secret::new(item.get_secret().map_err(platform)?)));
        }
        if found.locked.iter().any(|i| persistent(&i)) {
            Err(StoreError::Locked { store: NAME })
        } else {
            Ok(None)
        }
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
