//! Console sign-in through the AWS federation endpoint: temporary role credentials are traded
//! for a sign-in token (`Action=getSigninToken`), which goes into a login URL
//! (`Action=login`) that opens the AWS Management Console as that role.
//!
//! The credentials come from the secure store for a keyless profile, or from the AWS SDK's own
//! provider chain for any other profile. Long-lived user keys cannot be federated: AWS only
//! accepts temporary credentials there.

use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;

use crate::aws_config::{paths, profiles};
use crate::credentials::{self, RoleRef};
use crate::error::Error;
use crate::secret::Secret;
use crate::sso::endpoints::{self, Service};

/// Where the login URL takes the browser unless told otherwise.
pub const DEFAULT_DESTINATION: &str = "https://console.aws.amazon.com/";
/// The `Issuer` AWS shows for sessions that keyless started.
pub const ISSUER: &str = "keyless";
/// How long the federation endpoint may take to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Temporary credentials for one role session.
#[derive(Debug, Clone)]
pub struct SessionCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Secret<String>,
}

/// The credentials of `profile`, and a description of where they came from.
pub fn profile_credentials(profile: &str) -> anyhow::Result<(SessionCredentials, String)> {
    let doc = crate::aws_config::read_document(&paths::config_path()?)?;
    if let Some(managed) = profiles::config_profile(&doc, profile).and_then(|p| p.managed()) {
        let store = crate::store::open()?;
        let r = RoleRef {
            session: managed.session.clone(),
            account: managed.account.clone(),
            role: managed.role.clone(),
        };
        let c = credentials::get(store.as_ref(), &r)?;
        return Ok((
            SessionCredentials {
                access_key_id: c.access_key_id,
                secret_access_key: c.secret_access_key,
                session_token: c.session_token,
            },
            format!("role {} in account {} (SSO session `{}`)", r.role, r.account, r.session),
        ));
    }
    let creds = crate::util::block_on(sdk_credentials(profile))?;
    Ok((creds, format!("profile `{profile}`")))
}

async fn sdk_credentials(profile: &str) -> anyhow::Result<SessionCredentials> {
    let conf = ::aws_config::defaults(::aws_config::BehaviorVersion::latest())
        .profile_name(profile)
        .load()
        .await;
    let provider = conf.credentials_provider().ok_or_else(|| {
        Error::user(format!("profile `{profile}` has no credentials"))
            .hint("run `keyless profiles sync` or `keyless onboard` to create keyless profiles")
    })?;
    let c = provider.provide_credentials().await.map_err(|e| {
        Error::user(format!("could not get credentials for profile `{profile}`: {e}"))
            .hint(format!("check the profile with `keyless whoami --profile {profile}`"))
    })?;
    let Some(token) = c.session_token() else {
        return Err(Error::user(format!(
            "profile `{profile}` uses long-lived access keys, which cannot sign in to the console"
        ))
        .hint("use a keyless profile (SSO role credentials) instead; `keyless doctor` lists long-lived keys to retire")
        .into());
    };
    Ok(SessionCredentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: Secret::new(c.secret_access_key().to_string()),
        session_token: Secret::new(token.to_string()),
    })
}

/// The federation endpoint: `$AWS_ENDPOINT_URL_SIGNIN` (or `$AWS_ENDPOINT_URL`) + `/federation`,
/// else `https://signin.aws.amazon.com/federation`.
pub fn federation_url() -> String {
    format!("{}/federation", endpoints::resolve(Service::Signin, "us-east-1").trim_end_matches('/'))
}

/// The getSigninToken request. It carries the credentials, so it is never shown.
pub fn signin_token_request(
    federation: &str,
    duration_secs: u32,
    c: &SessionCredentials,
) -> Secret<String> {
    let session = serde_json::json!({
        "sessionId": c.access_key_id,
        "sessionKey": c.secret_access_key.expose(),
        "sessionToken": c.session_token.expose(),
    })
    .to_string();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "getSigninToken")
        .append_pair("SessionDuration", &duration_secs.to_string())
        .append_pair("Session", &session)
        .finish();
    Secret::new(format!("{federation}?{query}"))
}

/// The login URL that spends `token` and lands on `destination`.
pub fn login_url(federation: &str, destination: &str, token: &Secret<String>) -> Secret<String> {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "login")
        .append_pair("Issuer", ISSUER)
        .append_pair("Destination", destination)
        .append_pair("SigninToken", token.expose())
        .finish();
    Secret::new(format!("{federation}?{query}"))
}

/// Trades credentials for a sign-in token at the federation endpoint.
pub async fn signin_token(
    federation: &str,
    duration_secs: u32,
    c: &SessionCredentials,
) -> anyhow::Result<Secret<String>> {
    let request = signin_token_request(federation, duration_secs, c);
    let response = crate::net::get(request.expose(), TIMEOUT).await.map_err(|e| {
        Error::user(format!("could not reach the AWS sign-in endpoint: {e:#}"))
            .hint("check your network connection (or AWS_ENDPOINT_URL_SIGNIN) and try again")
    })?;
    if response.status != 200 {
        return Err(Error::user(format!(
            "the AWS sign-in endpoint refused the role credentials (HTTP {})",
            response.status
        ))
        .hint("the credentials may have expired or been revoked; run `keyless login` and try again")
        .into());
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "SigninToken")]
        signin_token: String,
    }
    let answer: Answer = serde_json::from_slice(&response.body).map_err(|_| {
        Error::user("the AWS sign-in endpoint answered without a sign-in token")
            .hint("check AWS_ENDPOINT_URL_SIGNIN, or try again later")
    })?;
    Ok(Secret::new(answer.signin_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> SessionCredentials {
        SessionCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("se/cr+et".into()),
            session_token: Secret::new("to&ken=".into()),
        }
    }

    #[test]
    fn the_token_request_carries_the_session_as_encoded_json() {
        let url = signin_token_request("https://signin.aws.amazon.com/federation", 3600, &creds());
        let url = url.expose();
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, "https://signin.aws.amazon.com/federation");
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(pairs[0], ("Action".into(), "getSigninToken".into()));
        assert_eq!(pairs[1], ("SessionDuration".into(), "3600".into()));
        let session: serde_json::Value = serde_json::from_str(&pairs[2].1).unwrap();
        assert_eq!(
            session,
            serde_json::json!({"sessionId": "ASIAEXAMPLE", "sessionKey": "se/cr+et", "sessionToken": "to&ken="})
        );
    }

    #[test]
    fn the_login_url_names_issuer_destination_and_token() {
        let url = login_url(
            "https://signin.aws.amazon.com/federation",
            DEFAULT_DESTINATION,
            &Secret::new("tok+en".into()),
        );
        assert_eq!(
            url.expose(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=keyless&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=tok%2Ben"
        );
    }
}
