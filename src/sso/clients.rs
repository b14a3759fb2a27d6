//! AWS SDK clients for SSO-OIDC and the SSO portal, built directly from a region and the
//! endpoint it resolves to (no shared-config loading: the cold credential path stays cheap).
//! Every request names keyless in its user agent (`app/keyless`), so CloudTrail shows which
//! tool signed in and fetched credentials.
//! Retries are the SDK's standard mode with more attempts (throttling in a large organisation
//! comes in waves), bounded in total time so a `credential_process` caller gets an answer
//! before it gives up (the Rust SDK waits about 20 s).

use std::time::Duration;

use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::timeout::TimeoutConfig;
use aws_sdk_sso::config::{AppName, BehaviorVersion, Region};

use super::endpoints::{self, Service};

fn retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(3))
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(18))
        .build()
}

/// A plain-HTTP client for `http://` endpoints (the local emulator). The SDK's default client
/// parses the system trust store when it is built, which is most of the cold path's own time
/// and buys nothing without TLS.
pub fn plain_http_client(endpoint: &str) -> Option<aws_sdk_sso::config::SharedHttpClient> {
    endpoint.starts_with("http://").then(|| aws_smithy_http_client::Builder::new().build_http())
}

/// The application name in every SDK request's user agent.
pub fn app_name() -> AppName {
    AppName::new("keyless").expect("a valid app name")
}

/// One builder for every service client: region, retries, timeouts, user agent, the resolved
/// endpoint (see [`endpoints`]) and, for a plain-HTTP endpoint, a client without TLS. (Each SDK
/// crate has its own config type, hence a macro rather than a generic function.)
macro_rules! client {
    ($sdk:ident, $service:expr, $region:expr) => {{
        let endpoint = endpoints::resolve($service, $region)?;
        let mut b = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new($region.to_owned()))
            .app_name(app_name())
            .retry_config(retry())
            .timeout_config(timeouts());
        if let Some(client) = plain_http_client(&endpoint) {
            b = b.http_client(client);
        }
        anyhow::Ok($sdk::Client::from_conf(b.endpoint_url(endpoint).build()))
    }};
}

pub fn oidc(region: &str) -> anyhow::Result<aws_sdk_ssooidc::Client> {
    client!(aws_sdk_ssooidc, Service::SsoOidc, region)
}

pub fn portal(region: &str) -> anyhow::Result<aws_sdk_sso::Client> {
    client!(aws_sdk_sso, Service::Sso, region)
}

/// Describes an SDK error for a person: the modeled error's code and message, or the
/// transport failure, without any request content.
pub fn describe<E, R>(err: &aws_sdk_sso::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sso::error::ProvideErrorMetadata + std::error::Error,
{
    use aws_sdk_sso::error::SdkError;
    match err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => e.to_string(),
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".into(),
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                "the connection timed out".into()
            } else if d.is_io() {
                "the endpoint could not be reached".into()
            } else {
                "the request could not be sent".into()
            }
        }
        SdkError::ResponseError(_) => "the response could not be read".into(),
        _ => "the request failed".into(),
    }
}

/// True when the error means the service could not be reached or kept failing.
pub fn is_transport<E, R>(err: &aws_sdk_sso::error::SdkError<E, R>) -> bool {
    use aws_sdk_sso::error::SdkError;
    matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    )
}
