//! Where each service lives: the standard `AWS_ENDPOINT_URL_<SERVICE>` and
//! `AWS_ENDPOINT_URL` overrides (as botocore and the Rust SDK read them), else AWS.

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
    fn env_suffix(self) -> &'static str {
        match self {
            Service::SsoOidc => "SSO_OIDC",
            Service::Sso => "SSO",
            Service::Sts => "STS",
            Service::Iam => "IAM",
            Service::Signin => "SIGNIN",
        }
    }
}

fn ignore_configured() -> bool {
    std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The configured endpoint override for `service`, if any.
pub fn configured(service: Service) -> Option<String> {
    if ignore_configured() {
        return None;
    }
    [format!("AWS_ENDPOINT_URL_{}", service.env_suffix()), "AWS_ENDPOINT_URL".to_string()]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// The endpoint for `service` in `region`: the override, else the AWS default.
pub fn resolve(service: Service, region: &str) -> String {
    configured(service).unwrap_or_else(|| match service {
        Service::SsoOidc => format!("https://oidc.{region}.amazonaws.com"),
        Service::Sso => format!("https://portal.sso.{region}.amazonaws.com"),
        Service::Sts => format!("https://sts.{region}.amazonaws.com"),
        Service::Iam => "https://iam.amazonaws.com".to_string(),
        Service::Signin => "https://signin.aws.amazon.com".to_string(),
    })
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
    fn origin_drops_the_path() {
        assert_eq!(origin("http://127.0.0.1:4000/oidc/x"), "http://127.0.0.1:4000");
        assert_eq!(
            origin("https://oidc.eu-west-1.amazonaws.com"),
            "https://oidc.eu-west-1.amazonaws.com"
        );
        assert_eq!(origin("http://127.0.0.1:4000/"), "http://127.0.0.1:4000");
    }
}
