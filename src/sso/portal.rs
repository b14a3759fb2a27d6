//! SSO portal calls: role credentials, the accounts and roles a user has, and logout.

use aws_sdk_sso::error::ProvideErrorMetadata;
use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;

use super::records::RoleCredentials;
use super::{clients, login_hint};
use crate::error::Error;
use crate::secret::Secret;

/// Why GetRoleCredentials failed, in terms the caller acts on.
#[derive(Debug)]
pub enum RoleError {
    /// The token was rejected (expired, logged out or revoked).
    Unauthorized,
    /// The account or role is not assigned to the user (HTTP 403 `ForbiddenException` on AWS,
    /// 404 `ResourceNotFoundException` in the service model), already phrased for a person.
    NotAssigned(anyhow::Error),
    /// Anything else, already phrased for a person.
    Other(anyhow::Error),
}

pub async fn role_credentials(
    client: &aws_sdk_sso::Client,
    access_token: &Secret<String>,
    session: &str,
    account: &str,
    role: &str,
) -> Result<RoleCredentials, RoleError> {
    let out = client
        .get_role_credentials()
        .access_token(access_token.expose())
        .account_id(account)
        .role_name(role)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(GetRoleCredentialsError::UnauthorizedException(_)) => RoleError::Unauthorized,
            // AWS answers an unassigned account or role with 403 `ForbiddenException` "No
            // access", which the service model does not list; 404 is the modelled variant.
            Some(GetRoleCredentialsError::ResourceNotFoundException(_)) => {
                not_assigned(session, account, role)
            }
            Some(other) if other.code() == Some("ForbiddenException") => {
                not_assigned(session, account, role)
            }
            Some(GetRoleCredentialsError::TooManyRequestsException(_)) => RoleError::Other(
                Error::user(
                    "AWS kept throttling the request for role credentials (TooManyRequests)",
                )
                .hint("wait a few seconds and try again")
                .into(),
            ),
            _ if clients::is_transport(&e) => RoleError::Other(
                Error::user(format!("could not reach the SSO portal: {}", clients::describe(&e)))
                    .hint("check your network connection (and AWS_ENDPOINT_URL_SSO if you set it)")
                    .into(),
            ),
            _ if e.raw_response().is_some_and(|r| r.status().is_server_error()) => {
                RoleError::Other(
                    Error::user(format!("the SSO portal kept failing: {}", clients::describe(&e)))
                        .hint("AWS is having trouble; try again in a minute")
                        .into(),
                )
            }
            _ => RoleError::Other(
                Error::user(format!("getting role credentials failed: {}", clients::describe(&e)))
                    .hint(login_hint(session))
                    .into(),
            ),
        })?;
    let rc = out.role_credentials().ok_or_else(|| {
        RoleError::Other(anyhow::anyhow!("the SSO portal returned no role credentials"))
    })?;
    match (rc.access_key_id(), rc.secret_access_key(), rc.session_token()) {
        (Some(a), Some(s), Some(t)) => Ok(RoleCredentials {
            access_key_id: a.to_string(),
            secret_access_key: Secret::new(s.to_string()),
            session_token: Secret::new(t.to_string()),
            expiration: rc.expiration() / 1000,
        }),
        _ => Err(RoleError::Other(anyhow::anyhow!(
            "the SSO portal returned incomplete role credentials"
        ))),
    }
}

/// The role is not assigned to the user: signing in again would not help, so no sign-in hint.
fn not_assigned(session: &str, account: &str, role: &str) -> RoleError {
    RoleError::NotAssigned(
        Error::user(format!("the role `{role}` in account {account} is not assigned to you"))
            .hint(format!(
                "check the account and role names, or run `keyless profiles sync --session {session}` to see what you have"
            ))
            .into(),
    )
}

/// Ends the session at Identity Center. Errors are returned so the caller can report them,
/// but local cleanup should happen regardless.
pub async fn logout(
    client: &aws_sdk_sso::Client,
    access_token: &Secret<String>,
) -> anyhow::Result<()> {
    client
        .logout()
        .access_token(access_token.expose())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("SSO logout failed: {}", clients::describe(&e)))?;
    Ok(())
}
