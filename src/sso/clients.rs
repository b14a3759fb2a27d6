//! AWS SDK clients for SSO-OIDC, the SSO portal and STS, built directly from a region and the
//! endpoint overrides (no shared-config loading: the cold credential path stays cheap).
//! Retries are the SDK's standard mode with more attempts (throttling in a large organisation
//! comes in waves), bounded in total time so a `credential_process` caller gets an answer
//! before it gives up (the Rust SDK waits about 20 s).

use std::time::Duration;

use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::timeout::TimeoutConfig;
use aws_sdk_sso::config::{BehaviorVersion, Region};

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
fn plain_http_client(endpoint: Option<&str>) -> Option<aws_sdk_sso::config::SharedHttpClient> {
    endpoint
        .filter(|u| u.starts_with("http://"))
        .map(|_| aws_smithy_http_client::Builder::new().build_http())
}

/// One builder for every service client: region, retries, timeouts, endpoint override and,
/// for a plain-HTTP endpoint, a client without TLS. (Each SDK crate has its own config type,
/// hence a macro rather than a generic function.)
macro_rules! client {
    ($sdk:ident, $service:expr, $region:expr) => {{
        let endpoint = endpoints::configured($service);
        let mut b = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new($region.to_owned()))
            .retry_config(retry())
            .timeout_config(timeouts());
        if let Some(client) = plain_http_client(endpoint.as_deref()) {
            b = b.http_client(client);
        }
        if let Some(url) = endpoint {
            b = b.endpoint_url(url);
        }
        $sdk::Client::from_conf(b.build())
    }};
}

pub fn oidc(region: &str) -> aws_sdk_ssooidc::Client {
    client!(aws_sdk_ssooidc, Service::SsoOidc, region)
}

pub fn portal(region: &str) -> aws_sdk_sso::Client {
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
