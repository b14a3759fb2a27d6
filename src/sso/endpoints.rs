//! Where each identity service lives: its own `AWS_ENDPOINT_URL_<SERVICE>` override, else
//! AWS's endpoint for the region's partition (see [`crate::partition`]), in the FIPS or
//! dual-stack form when `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT` (or
//! `use_fips_endpoint` / `use_dualstack_endpoint` in the active profile) ask for it.
//!
//! Every service here receives secrets (bearer and refresh tokens, client secrets, role
//! credentials), so the global `AWS_ENDPOINT_URL`, which developers point at LocalStack or
//! MinIO, is never honoured: only the service's own variable. An override over plain `http`
//! is refused unless its host is loopback (the local emulator).

use crate::error::Error;
use crate::partition::{self, Regional, Variant};

/// An AWS service keyless calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    SsoOidc,
    Sso,
    Sts,
    Iam,
    Signin,
}

impl Service {
    /// `AWS_ENDPOINT_URL_<this>`.
    pub fn env_var(self) -> &'static str {
        match self {
            Service::SsoOidc => "AWS_ENDPOINT_URL_SSO_OIDC",
            Service::Sso => "AWS_ENDPOINT_URL_SSO",
            Service::Sts => "AWS_ENDPOINT_URL_STS",
            Service::Iam => "AWS_ENDPOINT_URL_IAM",
            Service::Signin => "AWS_ENDPOINT_URL_SIGNIN",
        }
    }
}

fn truthy(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true")
}

fn ignore_configured() -> bool {
    std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_ok_and(|v| truthy(&v))
}

/// Whether `host` (as in a URL's authority, without the port) is a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host of an `http(s)://` URL, without port or user info.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if authority.starts_with('[') {
        return authority.split_once(']').map_or(authority, |(h, _)| h).trim_start_matches('[');
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Whether a browser may be sent to `url`: `https` to some host, or `http` to this machine (the
/// local Identity Center), with no user info (`user@host` hides the real host from a reader) and
/// no whitespace or control characters.
pub fn browsable(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower.split_once("://").map_or("", |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    (lower.starts_with("https://") && !host_of(url).is_empty())
        || (lower.starts_with("http://") && is_loopback(host_of(url)))
}

/// Checks an endpoint override: `https`, or `http` to a loopback host.
pub fn check_override(var: &str, url: &str) -> anyhow::Result<()> {
    let lower = url.to_ascii_lowercase();
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some(at) = rest.split(['/', '?', '#']).next().unwrap_or("").rfind('@')
    {
        // `https://127.0.0.1@elsewhere` goes to `elsewhere`: a name before `@` only hides the
        // host that tokens and credentials travel to. What precedes the `@` may be a password,
        // so it is not repeated.
        let shown = format!("{scheme}://…@{}", &rest[at + 1..]);
        return Err(Error::user(format!(
            "{var} names a user before its host (`{shown}`): identity endpoints have none"
        ))
        .hint(format!(
            "the host is what follows the `@`; write the endpoint as https://HOST[:PORT] in {var}, or unset it to use AWS"
        ))
        .into());
    }
    if lower.starts_with("https://") && !host_of(url).is_empty() {
        return Ok(());
    }
    if lower.starts_with("http://") && is_loopback(host_of(url)) {
        return Ok(());
    }
    let why = if lower.starts_with("http://") {
        format!("{var} points at plain http (`{url}`): identity endpoints need https")
    } else {
        format!("{var} is not an https URL (`{url}`)")
    };
    Err(Error::user(why)
        .hint(format!(
            "https is required for identity endpoints (plain http only to 127.0.0.1 or localhost): fix {var}, or unset it to use AWS"
        ))
        .into())
}

/// The configured endpoint override for `service`, if any (checked).
pub fn configured(service: Service) -> anyhow::Result<Option<String>> {
    if ignore_configured() {
        return Ok(None);
    }
    let var = service.env_var();
    match std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(url) => {
            check_override(var, url.trim())?;
            Ok(Some(url.trim().to_string()))
        }
    }
}

/// The endpoint variant from the environment, else from the active profile of the AWS
/// config file (`AWS_PROFILE`, else `default`), as the SDKs read them.
pub fn variant() -> Variant {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let (fips_env, dual_env) = (env("AWS_USE_FIPS_ENDPOINT"), env("AWS_USE_DUALSTACK_ENDPOINT"));
    if fips_env.is_some() && dual_env.is_some() {
        return Variant {
            fips: fips_env.is_some_and(|v| truthy(&v)),
            dual_stack: dual_env.is_some_and(|v| truthy(&v)),
        };
    }
    let (mut fips_cfg, mut dual_cfg) = (None, None);
    if let Ok(path) = crate::aws_config::paths::config_path()
        && let Ok(text) = std::fs::read_to_string(path)
    {
        let doc = crate::aws_config::Document::parse(&text);
        let profile = std::env::var("AWS_PROFILE")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "default".into());
        if let Some(p) = crate::aws_config::profiles::config_profile(&doc, &profile) {
            fips_cfg = p.get("use_fips_endpoint").map(truthy);
            dual_cfg = p.get("use_dualstack_endpoint").map(truthy);
        }
    }
    Variant {
        fips: fips_env.map(|v| truthy(&v)).or(fips_cfg).unwrap_or(false),
        dual_stack: dual_env.map(|v| truthy(&v)).or(dual_cfg).unwrap_or(false),
    }
}

/// The endpoint for `service` in `region`: the override, else AWS's for the region's partition.
pub fn resolve(service: Service, region: &str) -> anyhow::Result<String> {
    if let Some(url) = configured(service)? {
        return Ok(url);
    }
    Ok(default_for(service, region, variant()))
}

/// [`resolve`] with a variant the caller already knows (from a loaded SDK configuration).
pub fn resolve_with(service: Service, region: &str, v: Variant) -> anyhow::Result<String> {
    Ok(configured(service)?.unwrap_or_else(|| default_for(service, region, v)))
}

/// AWS's own endpoint for `service` in `region` (no override).
pub fn default_for(service: Service, region: &str, v: Variant) -> String {
    match service {
        Service::SsoOidc => partition::regional_endpoint(Regional::SsoOidc, region, v),
        Service::Sso => partition::regional_endpoint(Regional::Portal, region, v),
        Service::Sts => partition::regional_endpoint(Regional::Sts, region, v),
        Service::Iam => partition::iam_endpoint(region, v).0,
        Service::Signin => partition::signin_endpoint(region),
    }
}

/// `scheme://host[:port]` of a URL: the AWS CLI serves `/authorize` at the root of the OIDC
/// host, dropping any path prefix of a custom endpoint.
pub fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url.trim_end_matches('/'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_browsable() {
        for ok in [
            "https://device.sso.us-east-1.amazonaws.com/?user_code=ABCD-EFGH",
            "HTTPS://example.com",
            "http://127.0.0.1:4000/device",
            "http://localhost/x",
            "http://[::1]:9/",
        ] {
            assert!(browsable(ok), "{ok}");
        }
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://evil.example/device",
            "http://127.0.0.1@evil.example/",
            "https://user@device.sso.us-east-1.amazonaws.com/",
            "https://",
            "https://example.com/a b",
            "smb://host/share",
            "",
        ] {
            assert!(!browsable(bad), "{bad}");
        }
    }

    #[test]
    fn origin_drops_the_path() {
        assert_eq!(origin("http://127.0.0.1:4000/oidc/x"), "http://127.0.0.1:4000");
        assert_eq!(
            origin("https://oidc.eu-west-1.amazonaws.com"),
            "https://oidc.eu-west-1.amazonaws.com"
        );
        assert_eq!(origin("http://127.0.0.1:4000/"), "http://127.0.0.1:4000");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://oidc.example.com",
            "http://127.0.0.1:4000",
            "http://127.0.0.5/x",
            "http://localhost:80",
            "http://[::1]:9000/p",
        ] {
            assert!(check_override("V", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://localstack:4566",
            "http://10.0.0.1:4566",
            "http://127.0.0.1.evil.example",
            "http://user@localhost.evil.example:80",
            "ftp://127.0.0.1",
            "oidc.example.com",
        ] {
            let err = check_override("V", bad).expect_err(bad);
            let text = crate::error::render(&err);
            assert!(text.contains("https"), "{text}");
        }
    }
}
