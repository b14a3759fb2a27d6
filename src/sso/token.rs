//! A valid SSO access token for a session, refreshed silently with the refresh token when it
//! is close to expiry. Refresh tokens are single-use, so a refresh happens under a
//! cross-process lock and the rotated token replaces the old one in one store write.

use std::time::Duration;

use aws_sdk_ssooidc::operation::create_token::CreateTokenError;

use super::records::{self, Registration, Token, TokenClient};
use super::{clients, sign_in_again};
use crate::error::Error;
use crate::secret::Secret;
use crate::store::Store;

/// Refresh when less than this much validity remains (botocore uses the same window).
pub const REFRESH_WINDOW_SECS: i64 = 15 * 60;

/// How long a caller waits for another process's refresh.
const LOCK_WAIT: Duration = Duration::from_secs(30);

fn not_signed_in(session: &str) -> anyhow::Error {
    sign_in_again(session, format!("you are not signed in to SSO session `{session}`")).into()
}

fn expired(session: &str, why: &str) -> anyhow::Error {
    sign_in_again(session, format!("the SSO session `{session}` has expired{why}")).into()
}

/// The portal refused a token that looked valid, and no refresh can replace it.
pub fn no_longer_valid(session: &str) -> anyhow::Error {
    sign_in_again(
        session,
        format!("the SSO session `{session}` is no longer valid (expired, signed out or revoked)"),
    )
    .into()
}

/// The client a token's refresh token belongs to: the one kept with the token, else (records
/// from before keyless kept it) the session's stored registration.
pub fn token_client(token: &Token, reg: Option<&Registration>) -> Option<TokenClient> {
    token.client.clone().or_else(|| reg.map(TokenClient::from))
}

/// Whether a token can be refreshed: it has a refresh token and its client's registration is
/// still live.
pub fn refreshable(token: &Token, reg: Option<&Registration>, now: i64) -> bool {
    token.refresh_token.is_some() && token_client(token, reg).is_some_and(|c| c.expires_at > now)
}

/// The name of a session's lock, and of the verdict its holder leaves for the waiters.
pub fn lock_name(session: &str) -> String {
    format!("session:{session}")
}

/// Returns a token with more than the refresh window left, refreshing it if needed.
/// With `force`, refreshes even a token that still looks valid (after the portal rejected it).
///
/// A refused refresh is a verdict: the processes waiting on the session's lock get the same
/// error without asking AWS again (see [`crate::verdict`]).
pub async fn valid_token(store: &dyn Store, session: &str, force: bool) -> anyhow::Result<Token> {
    let now = crate::time::now();
    let token: Token = records::load(store, &records::token_key(session))?
        .ok_or_else(|| not_signed_in(session))?;
    if !force && token.expires_at - now > REFRESH_WINDOW_SECS {
        return Ok(token);
    }
    let name = lock_name(session);
    let _lock = crate::lock::acquire(&name, LOCK_WAIT)?;
    // Read before the token: a sign-in that lands after this point voids what we record.
    let epoch = crate::verdict::epoch(session);
    // Another process may have refreshed while we waited for the lock.
    let reloaded: Token = records::load(store, &records::token_key(session))?
        .ok_or_else(|| not_signed_in(session))?;
    let now = crate::time::now();
    let rotated_meanwhile = reloaded.access_token != token.access_token;
    if (!force || rotated_meanwhile) && reloaded.expires_at - now > REFRESH_WINDOW_SECS {
        return Ok(reloaded);
    }
    let reg: Option<Registration> = records::load(store, &records::registration_key(session))?;
    if !refreshable(&reloaded, reg.as_ref(), now) {
        return if reloaded.expires_at > now && !force {
            Ok(reloaded)
        } else if force {
            // The portal refused the token and nothing can refresh it.
            let e = no_longer_valid(session);
            crate::verdict::record(&name, &epoch, &e);
            Err(e)
        } else {
            Err(expired(session, ""))
        };
    }
    // The previous holder of this lock was refused moments ago: so would we be.
    if let Some(e) = crate::verdict::check(&name, &epoch) {
        return Err(e);
    }
    let client = clients::oidc(&reloaded.region)?;
    let owner = token_client(&reloaded, reg.as_ref()).expect("checked by refreshable");
    match refresh(&client, store, session, &reloaded, &owner).await {
        Ok(t) => Ok(t),
        // The service is unreachable or throttling, but the old token still works: use it.
        Err(RefreshError::Transient(_)) if reloaded.expires_at > now && !force => Ok(reloaded),
        Err(RefreshError::Transient(msg)) => {
            Err(Error::user(format!("could not refresh the SSO session `{session}`: {msg}"))
                .hint("check your network connection and try again")
                .into())
        }
        Err(RefreshError::Rejected(msg)) => {
            // The SDK retries a refresh that timed out, and the service may have honoured the
            // first attempt: single-use refresh tokens then refuse the retry. Before telling
            // the user to sign in again, look at the store once more: a rotated token saved
            // meanwhile (by a process that got the answer) is the session, alive.
            if let Some(now_stored) = records::load::<Token>(store, &records::token_key(session))?
                && now_stored.access_token != reloaded.access_token
                && now_stored.expires_at > crate::time::now()
            {
                return Ok(now_stored);
            }
            let e = if force {
                no_longer_valid(session)
            } else {
                expired(session, &format!(" (refresh refused: {msg})"))
            };
            crate::verdict::record(&name, &epoch, &e);
            Err(e)
        }
    }
}

enum RefreshError {
    /// Network trouble or throttling: worth trying again later.
    Transient(String),
    /// The service refused the refresh token (revoked, reused, expired).
    Rejected(String),
}

async fn refresh(
    client: &aws_sdk_ssooidc::Client,
    store: &dyn Store,
    session: &str,
    old: &Token,
    reg: &TokenClient,
) -> Result<Token, RefreshError> {
    let refresh_token = old.refresh_token.as_ref().expect("checked by refreshable");
    let out = client
        .create_token()
        .client_id(&reg.client_id)
        .client_secret(reg.client_secret.expose())
        .grant_type("refresh_token")
        .refresh_token(refresh_token.expose())
        .send()
        .await
        .map_err(|e| {
            let msg = clients::describe(&e);
            match e.as_service_error() {
                Some(
                    CreateTokenError::InvalidGrantException(_)
                    | CreateTokenError::InvalidClientException(_)
                    | CreateTokenError::AccessDeniedException(_)
                    | CreateTokenError::ExpiredTokenException(_)
                    | CreateTokenError::UnauthorizedClientException(_),
                ) => RefreshError::Rejected(msg),
                _ => RefreshError::Transient(msg),
            }
        })?;
    let access = out
        .access_token()
        .ok_or_else(|| RefreshError::Transient("the response had no access token".into()))?;
    let token = Token {
        access_token: Secret::new(access.to_string()),
        expires_at: crate::time::now() + i64::from(out.expires_in()),
        // A service that does not rotate keeps the old refresh token valid.
        refresh_token: out
            .refresh_token()
            .map(|s| Secret::new(s.to_string()))
            .or_else(|| old.refresh_token.clone()),
        start_url: old.start_url.clone(),
        region: old.region.clone(),
        signed_in_at: old.signed_in_at,
        client: Some(reg.clone()),
    };
    records::save(store, &records::token_key(session), &token)
        .map_err(|e| RefreshError::Transient(e.to_string()))?;
    Ok(token)
}
