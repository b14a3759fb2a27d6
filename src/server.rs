//! The container-credentials endpoint behind `keyless serve` and `keyless exec --server`.
//!
//! Every AWS SDK has a *container credentials provider*: given
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`, it sends
//! `GET <uri>` with `Authorization: <token>` and reads `AccessKeyId`, `SecretAccessKey`,
//! `Token`, `Expiration` (and `AccountId`) from the JSON answer, and asks again whenever the
//! credentials near their expiry. That makes a long-running tool (or a container) refresh
//! through keyless instead of dying with the role session.
//!
//! Each request is answered exactly like `credential-process`: from the secure store while
//! the cached role credentials are fresh, else fetched once for all concurrent callers
//! ([`crate::credentials::get`]). Nothing is cached in this process, so a `keyless logout`
//! takes effect at the next request. A request without the exact token gets a 401 or 403 and
//! learns nothing, not even which profiles are served.
//!
//! SDKs accept a plain-http URI only for a loopback address, the ECS address 169.254.170.2
//! and the EKS Pod Identity addresses 169.254.170.23 and fd00:ec2::23 (botocore also accepts
//! the name `localhost`); the token crosses the wire in clear text, so keyless binds to
//! loopback unless told otherwise.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::aws_config::{paths, profiles};
use crate::credentials::{self, RoleRef};
use crate::error::Error;
use crate::secret::Secret;
use crate::sso::records::RoleCredentials;

/// The variable that names the endpoint.
pub const ENV_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The variable that carries the token.
pub const ENV_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// Variables that would make an SDK take other credentials than the endpoint's (static keys
/// come first in every chain; a relative URI or a token file beat the full URI and the token).
pub const SHADOWING: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// One served profile: its path on the endpoint and the role behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub profile: String,
    pub path: String,
    pub role: RoleRef,
    /// The profile's `region`, for a child process.
    pub region: Option<String>,
}

/// The path that serves `profile`: `/profile/<name>`, percent-encoded.
pub fn path_for(profile: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    format!("/profile/{}", percent_encoding::utf8_percent_encode(profile, KEEP))
}

/// The routes for `names` (duplicates dropped), from the AWS config file. Only profiles that
/// keyless manages can be served: their role credentials are the ones in the secure store.
pub fn routes(names: &[String]) -> anyhow::Result<Vec<Route>> {
    let path = paths::config_path()?;
    let doc = crate::aws_config::read_document(&path)?;
    let mut out: Vec<Route> = Vec::new();
    for name in names {
        if out.iter().any(|r| &r.profile == name) {
            continue;
        }
        let Some(profile) = profiles::config_profile(&doc, name) else {
            return Err(Error::user(format!("there is no profile `{name}` in {}", path.display()))
                .hint("create keyless profiles with `keyless profiles sync` (or `keyless onboard`), then name one with --profile")
                .into());
        };
        let Some(managed) = profile.managed() else {
            return Err(Error::user(format!(
                "profile `{name}` is not a keyless profile (its credentials do not come from `keyless credential-process`), so keyless cannot serve it"
            ))
            .hint("serve a keyless profile instead; `keyless profiles sync` creates one for every account and role you have")
            .into());
        };
        out.push(Route {
            profile: name.clone(),
            path: path_for(name),
            role: RoleRef {
                session: managed.session,
                account: managed.account,
                role: managed.role,
            },
            region: profile.get("region").map(str::to_string),
        });
    }
    Ok(out)
}

/// Why a child's SDKs would not reach the endpoint: the `default` profile has credentials of
/// its own, which every SDK tries before the container provider. `None` when it has none.
pub fn default_profile_shadows() -> Option<String> {
    const CONFIG_KEYS: &[&str] = &[
        "credential_process",
        "sso_session",
        "sso_start_url",
        "role_arn",
        "web_identity_token_file",
        "aws_access_key_id",
    ];
    let config = crate::aws_config::read_document(&paths::config_path().ok()?).ok()?;
    if let Some(p) = profiles::config_profile(&config, "default")
        && let Some(key) = CONFIG_KEYS.iter().find(|k| p.get(k).is_some())
    {
        return Some(format!("the `default` profile in the AWS config has `{key}`"));
    }
    let creds = crate::aws_config::read_document(&paths::credentials_path().ok()?).ok()?;
    profiles::credentials_profiles(&creds)
        .iter()
        .any(|p| p.name == "default" && p.get("aws_access_key_id").is_some())
        .then(|| "the `default` profile in the AWS credentials file has access keys".to_string())
}

/// Credentials for a route, the way a request gets them (used to check a profile up front).
pub fn credentials_for(route: &Route) -> anyhow::Result<RoleCredentials> {
    with_store(|store| credentials::get(store, &route.role))
}

/// A fresh bearer token: 32 random bytes (256 bits), base64url.
pub fn new_token() -> Secret<String> {
    Secret::new(crate::util::random_token(32))
}

/// Whether `candidate` is the token, in time that does not depend on where they differ:
/// both sides are hashed first, so neither the length nor a common prefix shows.
fn token_matches(candidate: &[u8], token: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(candidate), Sha256::digest(token));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the endpoint serves, shared by every connection.
#[derive(Debug)]
pub struct Endpoint {
    token: Secret<String>,
    routes: Vec<Route>,
}

impl Endpoint {
    pub fn new(token: Secret<String>, routes: Vec<Route>) -> Arc<Endpoint> {
        Arc::new(Endpoint { token, routes })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn token(&self) -> &Secret<String> {
        &self.token
    }
}

/// The URL an SDK should use for `path` on a listener bound to `addr` (an unspecified bind
/// address is reached through loopback).
pub fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{}{path}", SocketAddr::new(url_ip(addr), addr.port()))
}

/// The address in [`url`]'s answer.
pub fn url_ip(addr: SocketAddr) -> std::net::IpAddr {
    match addr.ip() {
        ip if ip.is_unspecified() && addr.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    }
}

/// Whether SDKs accept a plain-http URI with this address (botocore's
/// `ContainerMetadataFetcher` and the Rust SDK's ECS provider agree on these).
pub fn sdk_accepts(ip: std::net::IpAddr) -> bool {
    const ECS: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 170, 2));
    const EKS: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 170, 23));
    const EKS6: std::net::IpAddr =
        std::net::IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23));
    ip.is_loopback() || ip == ECS || ip == EKS || ip == EKS6
}

/// Binds the listener; `addr` must be loopback unless `allow_remote`.
pub fn bind(addr: SocketAddr, allow_remote: bool) -> anyhow::Result<std::net::TcpListener> {
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(Error::usage(format!(
            "{addr} is not a loopback address: anyone who can reach it and learns the token gets the role's credentials, and SDKs send the token over plain http"
        ))
        .hint("keep the default 127.0.0.1:0, or add --allow-non-loopback if you really mean it")
        .into());
    }
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        Error::user(format!("cannot listen on {addr}: {e}"))
            .hint("pick another --addr (port 0 picks a free port)")
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves `endpoint` on `listener` until `shutdown` resolves. Must run inside a tokio
/// runtime with the blocking pool (credentials are read with blocking calls).
pub async fn serve(
    listener: std::net::TcpListener,
    endpoint: Arc<Endpoint>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    crate::net::serve_http(listener, shutdown, move |req| handle(endpoint.clone(), req)).await;
    Ok(())
}

/// A JSON answer with the headers every reply carries.
fn reply(status: u16, body: String) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// An error answer in the shape the SDKs' JSON credential parsers know (`Code`, `Message`).
fn error_reply(status: u16, code: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    reply(status, serde_json::json!({"Code": code, "Message": message}).to_string())
}

async fn handle(
    endpoint: Arc<Endpoint>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    // The token first: without it, nothing about the endpoint is revealed.
    let Some(given) = req.headers().get(hyper::header::AUTHORIZATION) else {
        crate::ui::note(format!("keyless: refused {} (no Authorization header)", req.uri().path()));
        return error_reply(
            401,
            "Unauthorized",
            "this endpoint needs the token from AWS_CONTAINER_AUTHORIZATION_TOKEN in the Authorization header",
        );
    };
    if !token_matches(given.as_bytes(), endpoint.token.expose().as_bytes()) {
        crate::ui::note(format!("keyless: refused {} (wrong token)", req.uri().path()));
        return error_reply(
            403,
            "Forbidden",
            "the authorization token is not the one this endpoint issued",
        );
    }
    if req.method() != hyper::Method::GET {
        return error_reply(405, "MethodNotAllowed", "only GET is served");
    }
    let path = req.uri().path();
    let Some(route) = endpoint.routes.iter().find(|r| r.path == path) else {
        let served: Vec<&str> = endpoint.routes.iter().map(|r| r.path.as_str()).collect();
        return error_reply(
            404,
            "NotFound",
            &format!("nothing is served at {path}; this endpoint serves {}", served.join(", ")),
        );
    };
    let role = route.role.clone();
    match tokio::task::spawn_blocking(move || with_store(|store| credentials::get(store, &role)))
        .await
    {
        Ok(Ok(creds)) => reply(200, container_json(&creds, &route.role.account)),
        Ok(Err(e)) => {
            // Escaped: the SDK prints it to a terminal, and it can quote a service's text.
            let message = crate::ui::escape(&crate::error::render(&e)).into_owned();
            crate::ui::note(format!(
                "keyless: {} for profile `{}`: {message}",
                path, route.profile
            ));
            // 5xx: the SDKs report the message and ask again later (after a sign-in, say).
            error_reply(
                503,
                "CredentialsUnavailable",
                message.strip_prefix("error: ").unwrap_or(&message),
            )
        }
        Err(_) => error_reply(500, "InternalError", "getting the credentials failed unexpectedly"),
    }
}

thread_local! {
    /// One store per blocking thread, opened on first use and reused by later requests (a
    /// Secret Service connection costs a D-Bus handshake; a store is not `Send`).
    static STORE: RefCell<Option<Box<dyn crate::store::Store>>> = const { RefCell::new(None) };
}

fn with_store<T>(
    f: impl FnOnce(&dyn crate::store::Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    STORE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(crate::store::open()?);
        }
        let store = slot.as_deref().expect("opened above");
        let result = f(store);
        if result.is_err() {
            // A broken connection must not stick: the next request opens the store again.
            *slot = None;
        }
        result
    })
}

/// The container provider's document: the keys botocore's `ContainerProvider` and the Rust
/// SDK's ECS provider read. `RoleArn` is left out: neither reads it, and the permission set's
/// real role ARN is not known here.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerOutput<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    account_id: &'a str,
}

/// Renders credentials as the container provider's JSON answer.
pub fn container_json(c: &RoleCredentials, account: &str) -> String {
    serde_json::to_string(&ContainerOutput {
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        token: c.session_token.expose(),
        expiration: crate::time::rfc3339(c.expiration),
        account_id: account,
    })
    .expect("serializing plain strings cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches(b"abc", b"abc"));
        assert!(!token_matches(b"abd", b"abc"));
        assert!(!token_matches(b"ab", b"abc"));
        assert!(!token_matches(b"", b"abc"));
        let t = new_token();
        assert!(t.expose().len() >= 43, "at least 256 bits, base64url");
        assert_ne!(t.expose(), new_token().expose());
    }

    #[test]
    fn paths_are_one_segment_per_profile() {
        assert_eq!(path_for("acme-dev"), "/profile/acme-dev");
        assert_eq!(path_for("a b/c"), "/profile/a%20b%2Fc");
    }

    #[test]
    fn only_the_addresses_sdks_accept_over_http() {
        for ok in ["127.0.0.1", "::1", "169.254.170.2", "169.254.170.23", "fd00:ec2::23"] {
            assert!(sdk_accepts(ok.parse().unwrap()), "{ok}");
        }
        for no in ["0.0.0.0", "192.168.1.2", "172.17.0.1", "169.254.170.3", "fd00:ec2::2"] {
            assert!(!sdk_accepts(no.parse().unwrap()), "{no}");
        }
        let unspecified: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(url(unspecified, "/profile/x"), "http://127.0.0.1:8080/profile/x");
    }

    #[test]
    fn container_json_has_the_keys_the_sdks_read() {
        let c = RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t".into()),
            session_token: Secret::new("tok+/=".into()),
            expiration: 1_795_316_357,
        };
        assert_eq!(
            container_json(&c, "111111111111"),
            r#"{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"s3cr3t","Token":"tok+/=","Expiration":"2026-11-22T02:59:17Z","AccountId":"111111111111"}"#
        );
    }
}
