//! Role credentials for `credential_process`: served from the secure store while more than
//! 15 minutes remain (less makes botocore run the helper again on every call), else fetched
//! with GetRoleCredentials under a per-role cross-process lock, so a burst of concurrent
//! callers makes one call. A definitive failure is shared the same way: the callers that
//! waited on the lock reuse the holder's verdict (see [`crate::verdict`]).

use std::time::Duration;

use serde::Serialize;

use crate::sso::portal::{self, RoleError};
use crate::sso::records::{self, RoleCredentials};
use crate::sso::{clients, token};
use crate::store::Store;

/// Cached credentials are served while at least this much validity remains.
pub const MIN_REMAINING_SECS: i64 = 15 * 60;

/// How long a caller waits for another process fetching the same role.
const LOCK_WAIT: Duration = Duration::from_secs(25);

/// Which role credentials: the session to use, the account, the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRef {
    pub session: String,
    pub account: String,
    pub role: String,
}

impl RoleRef {
    fn key(&self) -> String {
        records::role_key(&self.session, &self.account, &self.role)
    }

    /// The name of the role's lock, and of the verdict its holder leaves for the waiters.
    fn lock_name(&self) -> String {
        format!("role:{}:{}:{}", self.session, self.account, self.role)
    }
}

/// Cached credentials with enough time left, if any. No network, no async runtime.
pub fn cached(store: &dyn Store, r: &RoleRef) -> anyhow::Result<Option<RoleCredentials>> {
    let creds: Option<RoleCredentials> = records::load(store, &r.key())?;
    Ok(creds.filter(|c| c.expiration - crate::time::now() > MIN_REMAINING_SECS))
}

/// Credentials for `r`: cached when fresh, else fetched once across all concurrent callers.
pub fn get(store: &dyn Store, r: &RoleRef) -> anyhow::Result<RoleCredentials> {
    if let Some(c) = cached(store, r)? {
        return Ok(c);
    }
    let name = r.lock_name();
    let _lock = crate::lock::acquire(&name, LOCK_WAIT)?;
    // Whoever held the lock before us has probably just stored fresh credentials.
    if let Some(c) = cached(store, r)? {
        return Ok(c);
    }
    // Or was just told something that asking again would not change.
    let epoch = crate::verdict::epoch(&r.session);
    for verdict in [&name, &token::lock_name(&r.session)] {
        if let Some(e) = crate::verdict::check(verdict, &epoch) {
            return Err(e);
        }
    }
    crate::util::block_on(attempt(store, r)).map_err(|f| match f {
        Failure::Definitive(e) => {
            crate::verdict::record(&name, &epoch, &e);
            e
        }
        Failure::Other(e) => e,
    })
}

/// Why fetching failed: an answer that asking AWS again moments later would not change (the
/// role is not assigned, the session needs a new sign-in), or anything else (throttling,
/// server errors, the network), which is never shared.
enum Failure {
    Definitive(anyhow::Error),
    Other(anyhow::Error),
}

impl Failure {
    fn classify(e: anyhow::Error) -> Failure {
        if crate::error::find(&e).is_some_and(|k| k.sign_in.is_some()) {
            Failure::Definitive(e)
        } else {
            Failure::Other(e)
        }
    }
}

/// Fetches fresh credentials (refreshing the token if needed) and stores them.
pub async fn fetch(store: &dyn Store, r: &RoleRef) -> anyhow::Result<RoleCredentials> {
    attempt(store, r).await.map_err(|f| match f {
        Failure::Definitive(e) | Failure::Other(e) => e,
    })
}

async fn attempt(store: &dyn Store, r: &RoleRef) -> Result<RoleCredentials, Failure> {
    let mut tok = token::valid_token(store, &r.session, false).await.map_err(Failure::classify)?;
    let client = clients::portal(&tok.region).map_err(Failure::Other)?;
    let mut retried = false;
    let creds = loop {
        match portal::role_credentials(&client, &tok.access_token, &r.session, &r.account, &r.role)
            .await
        {
            Ok(c) => break c,
            // The token was rejected although it looked valid (clock skew, or revoked): one
            // forced refresh, then give up with the sign-in hint.
            // A refused refresh says so (and is shared with the session's waiters); a
            // failed one (network, throttling) says that instead.
            Err(RoleError::Unauthorized) if !retried => {
                retried = true;
                tok =
                    token::valid_token(store, &r.session, true).await.map_err(Failure::classify)?;
            }
            Err(RoleError::Unauthorized) => {
                return Err(Failure::Definitive(token::no_longer_valid(&r.session)));
            }
            Err(RoleError::NotAssigned(e)) => return Err(Failure::Definitive(e)),
            Err(RoleError::Other(e)) => return Err(Failure::Other(e)),
        }
    };
    records::save_until(store, &r.key(), &creds, creds.expiration).map_err(Failure::Other)?;
    Ok(creds)
}

/// The `credential_process` document (Version 1), keys in the documented order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
    account_id: &'a str,
}

/// Renders credentials as the one JSON document `credential_process` prints.
pub fn process_json(c: &RoleCredentials, account: &str) -> String {
    serde_json::to_string(&ProcessOutput {
        version: 1,
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: c.session_token.expose(),
        expiration: crate::time::rfc3339(c.expiration),
        account_id: account,
    })
    .expect("serializing plain strings cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn process_json_is_exactly_version_1() {
        let c = RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t".into()),
            session_token: Secret::new("tok+/=".into()),
            expiration: 1_795_316_357,
        };
        assert_eq!(
            process_json(&c, "111111111111"),
            r#"{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"s3cr3t","SessionToken":"tok+/=","Expiration":"2026-11-22T02:59:17Z","AccountId":"111111111111"}"#
        );
    }
}
