//! Opening the AWS Management Console as a profile's role, two ways:
//!
//! - **The access portal** (profiles backed by an SSO session): the portal's console shortcut
//!   link, `<start URL>/#/console?account_id=...&role_name=...&destination=...`, documented at
//!   <https://docs.aws.amazon.com/singlesignon/latest/userguide/createshortcutlink.html>. It holds
//!   no credential: the browser signs in to the portal itself, and the console's multi-session
//!   support keeps several accounts open side by side.
//! - **Federation** (`--federate`, and any profile with other temporary credentials): the role
//!   credentials are traded for a sign-in token (`Action=getSigninToken`), which goes into a
//!   login URL (`Action=login`). That URL is a credential for 15 minutes, so it never goes on a
//!   command line: the browser is handed a one-shot loopback address that redirects to it once
//!   (see [`hand_over`]).
//!
//! Federation credentials come from the secure store for a keyless profile, or from the AWS
//! SDK's own provider chain for any other profile. Long-lived user keys cannot be federated:
//! AWS only accepts temporary credentials there.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::aws_config::ini::Document;
use crate::aws_config::{paths, profiles};
use crate::credentials::{self, RoleRef};
use crate::error::Error;
use crate::secret::Secret;
use crate::sso::endpoints::{self, Service};

/// Where the login URL takes the browser unless told otherwise: the console of the
/// partition of `region`.
pub fn default_destination(region: &str) -> String {
    crate::partition::console_url(region)
}

/// The `Issuer` AWS shows for sessions that keyless started.
pub const ISSUER: &str = "keyless";
/// How long the federation endpoint may take to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// An account and role reached through an AWS access portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalRole {
    /// The access portal URL (`sso_start_url`), e.g. `https://d-1234567890.awsapps.com/start`.
    pub start_url: String,
    pub account: String,
    pub role: String,
    /// The Identity Center's region: its partition is the roles' partition.
    pub sso_region: String,
}

/// The portal account and role behind `profile`, when an SSO session backs it: a keyless
/// profile, an AWS CLI profile with `sso_session` (or the older `sso_start_url`) plus
/// `sso_account_id` and `sso_role_name`. `None` for any other profile.
pub fn portal_role(doc: &Document, profile: &str) -> anyhow::Result<Option<PortalRole>> {
    let Some(p) = profiles::config_profile(doc, profile) else { return Ok(None) };
    if let Some(m) = p.managed() {
        let session = crate::sessions::load(&m.session)?;
        return Ok(Some(PortalRole {
            start_url: session.start_url,
            account: m.account,
            role: m.role,
            sso_region: session.region,
        }));
    }
    let get = |k: &str| p.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let (Some(account), Some(role)) = (get("sso_account_id"), get("sso_role_name")) else {
        return Ok(None);
    };
    let (start_url, sso_region) = match (get("sso_session"), get("sso_start_url")) {
        (Some(session), _) => {
            let s = crate::sessions::load(&session)?;
            (s.start_url, s.region)
        }
        (None, Some(url)) if url.starts_with("https://") => {
            (url, get("sso_region").unwrap_or_else(|| "us-east-1".into()))
        }
        _ => return Ok(None),
    };
    Ok(Some(PortalRole { start_url, account, role, sso_region }))
}

/// encodeURIComponent's set: what the access portal's own "Create shortcut" produces.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

fn component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

/// The access portal's console shortcut link for `role`, landing on `destination` (when
/// `None`, the permission set's relay state or the console home, as the portal decides).
pub fn portal_console_url(role: &PortalRole, destination: Option<&str>) -> String {
    let mut url = format!(
        "{}/#/console?account_id={}&role_name={}",
        role.start_url.trim_end_matches('/'),
        component(&role.account),
        component(&role.role)
    );
    if let Some(d) = destination {
        url.push_str(&format!("&destination={}", component(d)));
    }
    url
}

/// A console page for `service` (e.g. `s3`, `ec2`; else the console home) in `region`, on the
/// console of `region`'s partition, else of `partition_region`'s (the role's partition, when
/// no region is asked for). `None` when neither is given: the caller's default applies.
pub fn destination(
    partition_region: &str,
    region: Option<&str>,
    service: Option<&str>,
) -> Option<String> {
    if region.is_none() && service.is_none() {
        return None;
    }
    let host = crate::partition::of_or_default(region.unwrap_or(partition_region)).console_host;
    let path = service.unwrap_or("console");
    let query = region.map(|r| format!("?region={r}")).unwrap_or_default();
    Some(format!("https://{host}/{path}/home{query}"))
}

/// `--service`: a console path segment (letters, digits and `-`).
pub fn is_service(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The `region` set in `profile`'s section of the AWS config, if any.
pub fn profile_region(doc: &Document, profile: &str) -> Option<String> {
    profiles::config_profile(doc, profile)
        .and_then(|p| p.get("region"))
        .map(|r| r.trim().to_string())
        .filter(|r| crate::team::is_region(r))
}

/// Temporary credentials for one role session.
#[derive(Debug, Clone)]
pub struct SessionCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Secret<String>,
}

/// The credentials of `profile`, a description of where they came from, and a region of the
/// partition they belong to (which decides the sign-in and console hosts).
pub fn profile_credentials(profile: &str) -> anyhow::Result<(SessionCredentials, String, String)> {
    let doc = crate::aws_config::read_document(&paths::config_path()?)?;
    let profile_region = profiles::config_profile(&doc, profile)
        .and_then(|p| p.get("region").map(|r| r.trim().to_string()))
        .filter(|r| crate::partition::is_region(r));
    if let Some(managed) = profiles::config_profile(&doc, profile).and_then(|p| p.managed()) {
        // The Identity Center's region is in the same partition as its roles.
        let region = crate::sessions::load(&managed.session)
            .map(|s| s.region)
            .ok()
            .or(profile_region)
            .unwrap_or_else(|| "us-east-1".into());
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
            region,
        ));
    }
    let creds = crate::util::block_on(sdk_credentials(profile))?;
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|r| crate::partition::is_region(r)))
        .or(profile_region)
        .unwrap_or_else(|| "us-east-1".into());
    Ok((creds, format!("profile `{profile}`"), region))
}

async fn sdk_credentials(profile: &str) -> anyhow::Result<SessionCredentials> {
    let conf = ::aws_config::defaults(::aws_config::BehaviorVersion::latest())
        .profile_name(profile)
        .load()
        .await;
    let none = || {
        Error::user(format!("profile `{profile}` has no credentials"))
            .hint("run `keyless profiles sync` or `keyless onboard` to create keyless profiles")
    };
    let provider = conf.credentials_provider().ok_or_else(none)?;
    let c = provider.provide_credentials().await.map_err(|e| {
        // Nothing configures credentials for the profile: the SDK's chain ends with "the
        // credential provider was not enabled" or the instance metadata's failure, neither
        // of which says what to do.
        if matches!(e, CredentialsError::CredentialsNotLoaded(_))
            || !credentials_configured(profile)
        {
            return none();
        }
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

/// Whether anything gives `profile` credentials: a credential setting in its config or
/// credentials section, or credentials in the environment (which every SDK uses first).
fn credentials_configured(profile: &str) -> bool {
    const ENV: &[&str] = &[
        "AWS_ACCESS_KEY_ID",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];
    if ENV.iter().any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty())) {
        return true;
    }
    let has_setting = |p: profiles::Profile<'_>| {
        p.properties.iter().any(|prop| {
            let key = prop.key.to_ascii_lowercase();
            profiles::CONFLICTING_KEYS.contains(&key.as_str()) || key == "credential_process"
        })
    };
    let read = |path: anyhow::Result<std::path::PathBuf>| {
        path.and_then(|p| crate::aws_config::read_document(&p)).ok()
    };
    read(paths::config_path())
        .is_some_and(|doc| profiles::config_profile(&doc, profile).is_some_and(has_setting))
        || read(paths::credentials_path()).is_some_and(|doc| {
            profiles::credentials_profiles(&doc)
                .into_iter()
                .filter(|p| p.name == profile)
                .any(has_setting)
        })
}

/// The federation endpoint: `$AWS_ENDPOINT_URL_SIGNIN` + `/federation`, else the sign-in host
/// of the partition of `region` (`https://signin.aws.amazon.com/federation`,
/// `https://signin.amazonaws.cn/federation`, ...). Never the global `AWS_ENDPOINT_URL`: the
/// request carries the role's secret key.
pub fn federation_url(region: &str) -> anyhow::Result<String> {
    Ok(format!("{}/federation", endpoints::resolve(Service::Signin, region)?.trim_end_matches('/')))
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

/// How long the one-shot address waits for the browser.
pub const HAND_OVER_WAIT: Duration = Duration::from_secs(120);

/// Gives `url` (a credential) to a browser without putting it on any command line, where
/// other users could read it (`/proc/PID/cmdline`) for as long as the browser runs.
///
/// A listener on 127.0.0.1 gets a random 256-bit path; `open` is called with that loopback
/// address only. The first request for exactly that path is answered with a redirect to `url`
/// (`Cache-Control: no-store`, no referrer); after it the listener closes, so the address is
/// worth nothing. Any other request gets a 404 and changes nothing. Returns when the redirect
/// was served, or fails after `wait`. `print_command` is the command that prints the URL
/// instead, for the hint when the hand-over cannot happen.
pub async fn hand_over(
    url: &Secret<String>,
    open: impl FnOnce(&str) -> anyhow::Result<()>,
    wait: Duration,
    print_command: &str,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
        Error::user(format!(
            "cannot listen on the loopback address to hand the URL to the browser: {e}"
        ))
        .hint(format!("run `{print_command}` and open the URL yourself"))
    })?;
    let port = listener.local_addr()?.port();
    let path = format!("/{}", crate::util::random_hex(32));
    open(&format!("http://127.0.0.1:{port}{path}"))?;

    let location = Arc::new(Mutex::new(Some(Secret::new(url.expose().clone()))));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let serve = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of descriptors, say: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let (path, location, done) = (path.clone(), location.clone(), done_tx.clone());
            // Each connection on its own task: a client that connects and stays silent
            // cannot hold up the browser.
            tokio::spawn(async move {
                let redirected = answer(stream, &path, &location).await;
                if redirected {
                    let _ = done.send(()).await;
                }
            });
        }
    };
    tokio::select! {
        _ = serve => unreachable!("the accept loop never ends"),
        _ = done_rx.recv() => Ok(()),
        _ = tokio::time::sleep(wait) => Err(Error::user(format!(
            "the browser did not come for the console sign-in within {} s",
            wait.as_secs()
        ))
        .hint(format!("run `{print_command}` and open the URL yourself (it is a credential: do not share it)"))
        .into()),
    }
}

/// Serves one connection of [`hand_over`]; true when it got the one redirect.
async fn answer(
    mut stream: tokio::net::TcpStream,
    path: &str,
    location: &Mutex<Option<Secret<String>>>,
) -> bool {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    while len < buf.len() {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf[len..]));
        match read.await {
            Ok(Ok(n)) if n > 0 => len += n,
            _ => break,
        }
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut request_line = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (request_line.next(), request_line.next());
    let taken = if method == Some("GET") && target == Some(path) {
        location.lock().expect("the hand-over lock").take()
    } else {
        None
    };
    let reply = match &taken {
        Some(to) => format!(
            "HTTP/1.1 303 See Other\r\nLocation: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            to.expose()
        ),
        None => {
            let body = "Not found. keyless hands each console sign-in to the browser once.\n";
            format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
    taken.is_some()
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

    fn role() -> PortalRole {
        PortalRole {
            start_url: "https://d-1234567890.awsapps.com/start/".into(),
            account: "111111111111".into(),
            role: "Power User".into(),
            sso_region: "eu-west-1".into(),
        }
    }

    #[test]
    fn the_portal_link_encodes_each_value_as_a_uri_component() {
        assert_eq!(
            portal_console_url(&role(), None),
            "https://d-1234567890.awsapps.com/start/#/console?account_id=111111111111&role_name=Power%20User"
        );
        let dest = destination("us-east-1", Some("eu-west-1"), Some("s3")).unwrap();
        assert_eq!(dest, "https://console.aws.amazon.com/s3/home?region=eu-west-1");
        assert!(portal_console_url(&role(), Some(&dest)).ends_with(
            "&destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Deu-west-1"
        ));
    }

    #[test]
    fn destinations_follow_region_partition_and_service() {
        assert_eq!(destination("us-east-1", None, None), None);
        assert_eq!(
            destination("us-east-1", None, Some("ec2")).unwrap(),
            "https://console.aws.amazon.com/ec2/home"
        );
        assert_eq!(
            destination("us-east-1", Some("cn-north-1"), None).unwrap(),
            "https://console.amazonaws.cn/console/home?region=cn-north-1"
        );
        assert_eq!(
            destination("us-east-1", Some("us-gov-west-1"), Some("iam")).unwrap(),
            "https://console.amazonaws-us-gov.com/iam/home?region=us-gov-west-1"
        );
        // No region asked for: the role's partition decides the console.
        assert_eq!(
            destination("us-gov-east-1", None, Some("s3")).unwrap(),
            "https://console.amazonaws-us-gov.com/s3/home"
        );
        assert!(is_service("cloudformation") && is_service("ec2"));
        assert!(!is_service("s3/../x") && !is_service("") && !is_service("S3"));
    }

    #[test]
    fn the_login_url_names_issuer_destination_and_token() {
        let url = login_url(
            "https://signin.aws.amazon.com/federation",
            &default_destination("us-east-1"),
            &Secret::new("tok+en".into()),
        );
        assert_eq!(
            url.expose(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=keyless&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=tok%2Ben"
        );
    }
}
