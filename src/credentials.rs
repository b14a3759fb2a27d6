//! Role credentials for `credential_process`: served from the secure store while more than
//! 15 minutes remain (less makes botocore run the helper again on every call), else fetched
//! with GetRoleCredentials under a per-role cross-process lock, so a burst of concurrent
//! callers makes one call.

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
    let _lock =
        crate::lock::acquire(&format!("role:{}:{}:{}", r.session, r.account, r.role), LOCK_WAIT)?;
    // Whoever held the lock before us has probably just stored fresh credentials.
    if let Some(c) = cached(store, r)? {
        return Ok(c);
    }
    crate::util::block_on(fetch(store, r))
}

/// Fetches fresh credentials (refreshing the token if needed) and stores them.
pub async fn fetch(store: &dyn Store, r: &RoleRef) -> anyhow::Result<RoleCredentials> {
    let mut tok = token::valid_token(store, &r.session, false).await?;
    let client = clients::portal(&tok.region);
    let mut retried = false;
    let creds = loop {
        match portal::role_credentials(&client, &tok.access_token, &r.session, &r.account, &r.role)
            .await
        {
            Ok(c) => break c,
            // The token was rejected although it looked valid (clock skew, or revoked): one
            // forced refresh, then give up with the sign-in hint.
            Err(RoleError::Unauthorized) if !retried => {
                retried = true;
                tok = token::valid_token(store, &r.session, true)
                    .await
                    .map_err(|_| revoked(&r.session))?;
            }
            Err(RoleError::Unauthorized) => return Err(revoked(&r.session)),
            Err(RoleError::Other(e)) => return Err(e),
        }
    };
    records::save(store, &r.key(), &creds)?;
    Ok(creds)
}

fn revoked(session: &str) -> anyhow::Error {
    crate::sso::sign_in_again(
        session,
        format!("the SSO session `{session}` is no longer valid (expired, signed out or revoked)"),
    )
    .into()
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
