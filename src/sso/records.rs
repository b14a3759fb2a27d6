//! What keyless keeps in the secure store, as JSON documents: the SSO token of a session,
//! the OIDC client registration, and cached role credentials.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;
use crate::store::Store;

/// The SSO access token of one session, and what is needed to refresh it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub access_token: Secret<String>,
    /// Epoch seconds.
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret<String>>,
    pub start_url: String,
    pub region: String,
    /// Epoch seconds of the sign-in that started this session.
    #[serde(default)]
    pub signed_in_at: i64,
    /// The OIDC client that obtained this token: a refresh token is only valid with it (the
    /// AWS CLI keeps the same three values in its token cache). Absent in records written
    /// before keyless kept it; those refresh with the session's stored registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<TokenClient>,
}

/// The client id, secret and registration expiry that go with a refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClient {
    pub client_id: String,
    pub client_secret: Secret<String>,
    /// Epoch seconds.
    pub expires_at: i64,
}

impl From<&Registration> for TokenClient {
    fn from(r: &Registration) -> Self {
        TokenClient {
            client_id: r.client_id.clone(),
            client_secret: r.client_secret.clone(),
            expires_at: r.expires_at,
        }
    }
}

/// An OIDC client registration (RegisterClient result).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: Secret<String>,
    /// Epoch seconds.
    pub expires_at: i64,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub start_url: String,
    pub region: String,
}

/// Short-term role credentials from GetRoleCredentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Secret<String>,
    /// Epoch seconds.
    pub expiration: i64,
}

pub fn token_key(session: &str) -> String {
    format!("token:{session}")
}

pub fn registration_key(session: &str) -> String {
    format!("registration:{session}")
}

pub fn role_prefix(session: &str) -> String {
    format!("role:{session}:")
}

pub fn role_key(session: &str, account: &str, role: &str) -> String {
    format!("role:{session}:{account}:{role}")
}

/// Reads and decodes one record; a record that no longer decodes is treated as absent
/// (it will be replaced), never shown.
pub fn load<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> anyhow::Result<Option<T>> {
    let Some(raw) = store.get(key).map_err(crate::error::Error::from)? else { return Ok(None) };
    Ok(serde_json::from_slice(raw.expose()).ok())
}

pub fn save<T: Serialize>(store: &dyn Store, key: &str, value: &T) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(value)?;
    store.set(key, &bytes).map_err(crate::error::Error::from)?;
    Ok(())
}

/// Like [`save`], for a record that is useless after `expires_at` (epoch seconds): the kernel
/// keyring drops it then (see [`Store::set_until`]).
pub fn save_until<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    expires_at: i64,
) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(value)?;
    store.set_until(key, &bytes, expires_at).map_err(crate::error::Error::from)?;
    Ok(())
}

/// Deletes every record of a session: token, registration and role credentials.
pub fn delete_session(store: &dyn Store, session: &str) -> anyhow::Result<usize> {
    let mut n = 0;
    let mut keys = store.list(&role_prefix(session)).map_err(crate::error::Error::from)?;
    keys.push(token_key(session));
    keys.push(registration_key(session));
    for k in keys {
        if store.delete(&k).map_err(crate::error::Error::from)? {
            n += 1;
        }
    }
    Ok(n)
}
