//! Custom-domain ("vanity") start URLs, handled as the AWS CLI v2 does
//! (`awscli/customizations/sso/resolve.py`): a start URL on an AWS-owned host is used as is; any
//! other https URL is asked once (HEAD, or GET when HEAD is not allowed) and may redirect once,
//! and where it lands must be an https URL on an AWS-owned host. That resolved URL is what the
//! sign-in sends to Identity Center (`startUrl`, `issuerUrl`); the configured one stays the
//! session's name for people. A region in the resolved host wins over the configured one.

use std::time::Duration;

use crate::error::Error;

const AWS_OWNED_SUFFIXES: &[&str] = &[
    ".app.aws",
    ".portal.amazonaws.com",
    ".portal.amazonaws.com.cn",
    ".app.amazonwebservices.com.cn",
    ".portal.amazonaws.eu",
    ".api.amazonwebservices.eu",
    ".awsapps.com",
    ".awsapps.cn",
];

const AWS_OWNED_EXACT: &[&str] = &[
    "identitycenter.amazonaws.com",
    "identitycenter.amazonaws.com.cn",
    "identitycenter.amazonaws.eu",
    "identitycenter.us-gov.amazonaws.com",
];

/// How long the custom domain may take to answer (the AWS CLI's default).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `host` belongs to AWS's access portals.
pub fn is_aws_owned(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    AWS_OWNED_EXACT.contains(&host)
        || AWS_OWNED_SUFFIXES.iter().any(|s| host == &s[1..] || host.ends_with(s))
}

/// The region in an access portal host, for the host forms that carry one:
/// `{id}.portal.{region}.app.aws`, `{id}.{region}.portal.amazonaws.com[.cn]`,
/// `{id}.portal.{region}.app.amazonwebservices.com.cn`, `{id}.{region}.portal.amazonaws.eu`,
/// `{id}.portal.{region}.api.amazonwebservices.eu`.
pub fn region_in_host(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let is_region = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let tail = |n: usize| labels[labels.len().saturating_sub(n)..].join(".");
    let region = match labels.len() {
        // {id}.portal.{region}.app.aws
        5 if tail(2) == "app.aws" && labels[1] == "portal" => labels[2],
        // {id}.{region}.portal.amazonaws.com / .eu
        5 if matches!(tail(3).as_str(), "portal.amazonaws.com" | "portal.amazonaws.eu") => {
            labels[1]
        }
        // {id}.{region}.portal.amazonaws.com.cn
        6 if tail(4) == "portal.amazonaws.com.cn" => labels[1],
        // {id}.portal.{region}.app.amazonwebservices.com.cn
        7 if tail(4) == "app.amazonwebservices.com.cn" && labels[1] == "portal" => labels[2],
        // {id}.portal.{region}.api.amazonwebservices.eu
        6 if tail(3) == "api.amazonwebservices.eu" && labels[1] == "portal" => labels[2],
        _ => return None,
    };
    is_region(region).then(|| region.to_string())
}

/// `scheme://host[:port]path` without query, fragment, default port or trailing `/`.
pub fn normalize(url: &str) -> Option<String> {
    let uri: hyper::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = match (uri.port_u16(), scheme.as_str()) {
        (Some(443), "https") | (Some(80), "http") | (None, _) => String::new(),
        (Some(p), _) => format!(":{p}"),
    };
    Some(format!("{scheme}://{host}{port}{}", uri.path().trim_end_matches('/')))
}

/// `location` (absolute, or relative to `base`) as an absolute URL.
fn join(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let uri: Option<hyper::Uri> = base.parse().ok();
    let origin = uri
        .as_ref()
        .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?)))
        .unwrap_or_default();
    if location.starts_with('/') {
        format!("{origin}{location}")
    } else {
        let path = uri.as_ref().map_or("/", |u| u.path());
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{origin}{dir}{location}")
    }
}

fn host_of(url: &str) -> Option<String> {
    url.parse::<hyper::Uri>().ok()?.host().map(str::to_ascii_lowercase)
}

/// The start URL to send to Identity Center and the region to sign in to.
pub async fn resolve(start_url: &str, region: &str) -> anyhow::Result<(String, String)> {
    let fail = |why: String| -> anyhow::Error {
        Error::user(format!("could not resolve the start URL {start_url}: {why}"))
            .hint("use the AWS access portal URL from IAM Identity Center's settings, e.g. https://d-1234567890.awsapps.com/start")
            .into()
    };
    if !start_url.to_ascii_lowercase().starts_with("https://") {
        return Err(fail("it must use https".into()));
    }
    let host = host_of(start_url).ok_or_else(|| fail("it has no host".into()))?;
    if is_aws_owned(&host) {
        return Ok((start_url.to_string(), region.to_string()));
    }
    // A custom domain: it must redirect (once) to an access portal.
    let ask = |method| crate::net::request(method, start_url, TIMEOUT);
    let mut answer = ask(hyper::Method::HEAD).await.map_err(|e| fail(format!("{e:#}")))?;
    if matches!(answer.status, 405 | 501) {
        answer = ask(hyper::Method::GET).await.map_err(|e| fail(format!("{e:#}")))?;
    }
    landing(start_url, answer.status, answer.location.as_deref(), region).map_err(fail)
}

/// Where a custom domain's answer leads: the normalized access portal URL and its region.
fn landing(
    start_url: &str,
    status: u16,
    location: Option<&str>,
    region: &str,
) -> Result<(String, String), String> {
    let landed = match status {
        301 | 302 | 303 | 307 | 308 => {
            join(start_url, location.ok_or("the redirect had no Location header")?)
        }
        200..=299 => start_url.to_string(),
        status => return Err(format!("HTTP {status}")),
    };
    let resolved = normalize(&landed).ok_or_else(|| format!("`{landed}` is not a URL"))?;
    let resolved_host = host_of(&resolved).unwrap_or_default();
    if !is_aws_owned(&resolved_host) {
        return Err(format!("it leads to {resolved}, which is not an AWS access portal"));
    }
    if !resolved.starts_with("https://") {
        return Err(format!("it leads to {resolved}, which is not https"));
    }
    let region = region_in_host(&resolved_host).unwrap_or_else(|| region.to_string());
    Ok((resolved, region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_owned_hosts() {
        for h in [
            "d-1234567890.awsapps.com",
            "corp.awsapps.cn",
            "ssoins-1.portal.us-east-1.app.aws",
            "identitycenter.amazonaws.com",
            "identitycenter.us-gov.amazonaws.com",
            "x.eu-central-1.portal.amazonaws.eu",
            "D-1234567890.AWSAPPS.COM.",
        ] {
            assert!(is_aws_owned(h), "{h}");
        }
        for h in ["sso.example.com", "awsapps.com.evil.example", "evilawsapps.com", "amazonaws.com"]
        {
            assert!(!is_aws_owned(h), "{h}");
        }
    }

    #[test]
    fn regions_in_portal_hosts() {
        assert_eq!(
            region_in_host("ssoins-1.portal.eu-west-1.app.aws").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_in_host("ssoins-1.us-gov-west-1.portal.amazonaws.com").as_deref(),
            Some("us-gov-west-1")
        );
        assert_eq!(
            region_in_host("i.cn-north-1.portal.amazonaws.com.cn").as_deref(),
            Some("cn-north-1")
        );
        assert_eq!(
            region_in_host("i.portal.cn-northwest-1.app.amazonwebservices.com.cn").as_deref(),
            Some("cn-northwest-1")
        );
        assert_eq!(
            region_in_host("i.portal.eusc-de-east-1.api.amazonwebservices.eu").as_deref(),
            Some("eusc-de-east-1")
        );
        assert_eq!(region_in_host("d-1234567890.awsapps.com"), None);
    }

    #[test]
    fn normalizing_and_joining() {
        assert_eq!(
            normalize("https://D-1.awsapps.com:443/start/?x=1#/").as_deref(),
            Some("https://d-1.awsapps.com/start")
        );
        assert_eq!(join("https://sso.example.com/a/b", "/start"), "https://sso.example.com/start");
        assert_eq!(join("https://sso.example.com/a/b", "c"), "https://sso.example.com/a/c");
        assert_eq!(
            join("https://sso.example.com/", "https://d-1.awsapps.com/start"),
            "https://d-1.awsapps.com/start"
        );
    }

    #[test]
    fn a_custom_domain_must_redirect_to_an_https_access_portal() {
        let vanity = "https://sso.example.com/start";
        assert_eq!(
            landing(vanity, 302, Some("https://d-1.awsapps.com/start/?x=1"), "us-east-1"),
            Ok(("https://d-1.awsapps.com/start".into(), "us-east-1".into()))
        );
        assert_eq!(
            landing(vanity, 301, Some("https://i.portal.eu-west-1.app.aws/"), "us-east-1"),
            Ok(("https://i.portal.eu-west-1.app.aws".into(), "eu-west-1".into()))
        );
        assert!(
            landing(vanity, 200, None, "us-east-1")
                .unwrap_err()
                .contains("not an AWS access portal")
        );
        assert!(
            landing(vanity, 302, Some("http://d-1.awsapps.com/start"), "us-east-1")
                .unwrap_err()
                .contains("not https")
        );
        assert!(landing(vanity, 302, Some("https://evil.example/start"), "us-east-1").is_err());
        assert_eq!(
            landing(vanity, 302, None, "us-east-1").unwrap_err(),
            "the redirect had no Location header"
        );
        assert_eq!(landing(vanity, 404, None, "us-east-1").unwrap_err(), "HTTP 404");
    }

    #[test]
    fn an_aws_owned_start_url_is_used_as_is_without_a_request() {
        let (url, region) = crate::util::block_on(resolve(
            "https://d-1234567890.awsapps.com/start/",
            "ap-northeast-2",
        ))
        .unwrap();
        assert_eq!(
            (url.as_str(), region.as_str()),
            ("https://d-1234567890.awsapps.com/start/", "ap-northeast-2")
        );
    }
}
