//! AWS Signature Version 4 verification: parsing the `Authorization` header, and recomputing
//! the signature with AWS's own signer (`aws-sigv4`), so there is one SigV4 implementation in
//! keyless and it is AWS's. Which keys exist and what a failure means to a client is decided
//! by the awsQuery front end (`query.rs`).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SessionTokenMode, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
/// Signature=...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// `YYYYMMDD` from the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lowercase header names, in the order the client listed them.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// `<date>/<region>/<service>/aws4_request`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// Parses an `Authorization` header value; the error says what is malformed.
pub fn parse_authorization(value: &str) -> Result<Authorization, String> {
    let rest = value
        .trim()
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or("Authorization header must use the AWS4-HMAC-SHA256 algorithm")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("Authorization header element {part:?} is not key=value"));
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            other => return Err(format!("unexpected Authorization header element {other:?}")),
        }
    }
    let credential = credential.ok_or("Authorization header requires a 'Credential' parameter")?;
    let signed = signed.ok_or("Authorization header requires a 'SignedHeaders' parameter")?;
    let signature = signature.ok_or("Authorization header requires a 'Signature' parameter")?;
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "Credential should be <key>/<date>/<region>/<service>/aws4_request, got {} parts",
            parts.len()
        ));
    }
    if parts[1].len() != 8 || !parts[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err("the credential scope date must be YYYYMMDD".into());
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("Signature must be 64 hex characters".into());
    }
    let signed_headers: Vec<String> =
        signed.split(';').map(|h| h.trim().to_ascii_lowercase()).collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err("SignedHeaders must not contain empty names".into());
    }
    Ok(Authorization {
        access_key_id: parts[0].to_string(),
        date: parts[1].to_string(),
        region: parts[2].to_string(),
        service: parts[3].to_string(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// The request as received.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The raw (still percent-encoded) path, e.g. `/`.
    pub path: &'a str,
    /// The raw query string without `?`, possibly empty.
    pub query: &'a str,
    /// Header names (any case) and values as received, repeated names allowed.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The signature `auth` should carry for `req` if it was made with `secret` (and
/// `session_token`, for temporary keys) at `time`, computed by AWS's own signer: the request is
/// rebuilt from exactly the headers the client says it signed, so the signer makes the same
/// canonical request the client made. An error means the request cannot be signed at all
/// (a header value or URI no signer accepts).
pub fn expected_signature(
    req: &RequestParts<'_>,
    auth: &Authorization,
    secret: &str,
    session_token: Option<&str>,
    time: SystemTime,
) -> Result<String, String> {
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h.eq_ignore_ascii_case(name));
    // The signer adds `x-amz-date` (from `time`) and `x-amz-security-token` (from the
    // identity) itself; every other signed header is passed through as received.
    let headers = req.headers.iter().filter(|(k, _)| {
        signed(k)
            && !k.eq_ignore_ascii_case("x-amz-date")
            && !k.eq_ignore_ascii_case("x-amz-security-token")
    });
    let mut settings = SigningSettings::default();
    // Sign what the client signed, no less: the default exclusions are a client's choice.
    settings.excluded_headers = Some(Vec::new());
    if !signed("x-amz-security-token") {
        settings.session_token_mode = SessionTokenMode::Exclude;
    }
    let body = match req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-content-sha256") && signed(k))
    {
        Some((_, hash)) => SignableBody::Precomputed(hash.trim().to_string()),
        None => SignableBody::Bytes(req.body),
    };
    let uri = if req.query.is_empty() {
        req.path.to_string()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let identity = Credentials::new(
        &auth.access_key_id,
        secret,
        session_token.map(str::to_string),
        None,
        "emulator",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable =
        SignableRequest::new(req.method, uri, headers.map(|(k, v)| (k.as_str(), v.as_str())), body)
            .map_err(|e| e.to_string())?;
    let (_, signature) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
    Ok(signature)
}

/// Equality that takes the same time wherever the strings differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn at(epoch: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(epoch)
    }

    /// Signs like a client with AWS's signer and default settings; returns the headers as sent.
    fn client_sign(
        req: &RequestParts<'_>,
        secret: &str,
        token: Option<&str>,
        time: SystemTime,
    ) -> Vec<(String, String)> {
        let identity =
            Credentials::new("AKIATEST", secret, token.map(str::to_string), None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("sts")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let uri = format!("{}?{}", req.path, req.query);
        let signable = SignableRequest::new(
            req.method,
            uri,
            req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(req.body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut all = req.headers.to_vec();
        all.extend(instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())));
        all
    }

    fn verify(req: &RequestParts<'_>, secret: &str, token: Option<&str>, time: SystemTime) -> bool {
        let header = &req.headers.iter().find(|(k, _)| k == "authorization").unwrap().1;
        let auth = parse_authorization(header).unwrap();
        let expected = expected_signature(req, &auth, secret, token, time).unwrap();
        constant_time_eq(&expected, &auth.signature)
    }

    /// AWS's published example key and signature (IAM ListUsers, GET with a query string).
    #[test]
    fn signature_matches_the_published_aws_example() {
        let headers = h(&[
            ("Host", "iam.amazonaws.com"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let req = RequestParts {
            method: "GET",
            path: "/",
            query: "Version=2010-05-08&Action=ListUsers",
            headers: &headers,
            body: b"",
        };
        let auth = Authorization {
            access_key_id: "AKIDEXAMPLE".into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
            signed_headers: vec!["content-type".into(), "host".into(), "x-amz-date".into()],
            signature: String::new(),
        };
        let time = at(1_440_938_160); // 2015-08-30T12:36:00Z
        assert_eq!(
            expected_signature(&req, &auth, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, time)
                .unwrap(),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn signed_requests_verify_and_tampering_is_detected() {
        let headers = h(&[
            ("host", "127.0.0.1:1"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("user-agent", "unsigned/1.0"),
        ]);
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let req = RequestParts {
            method: "POST",
            path: "/",
            query: "b=2&a=x%2Fy",
            headers: &headers,
            body,
        };
        let time = at(1_795_316_357);
        let all = client_sign(&req, "s3cret", Some("tok+/="), time);
        let signed = RequestParts { headers: &all, ..req };
        assert!(verify(&signed, "s3cret", Some("tok+/="), time));
        assert!(!verify(&signed, "wrong", Some("tok+/="), time));
        assert!(!verify(&signed, "s3cret", Some("other"), time));
        assert!(!verify(&signed, "s3cret", Some("tok+/="), at(1_795_316_358)));
        let tampered =
            RequestParts { body: b"Action=GetCallerIdentity&Version=2011-06-16", ..signed };
        assert!(!verify(&tampered, "s3cret", Some("tok+/="), time));
        let requery = RequestParts { query: "b=3&a=x%2Fy", ..signed };
        assert!(!verify(&requery, "s3cret", Some("tok+/="), time));
        // Headers the client did not sign may change on the way.
        let mut retagged = all.clone();
        retagged.iter_mut().find(|(k, _)| k == "user-agent").unwrap().1 = "proxy".into();
        assert!(verify(
            &RequestParts { headers: &retagged, ..signed },
            "s3cret",
            Some("tok+/="),
            time
        ));
    }

    #[test]
    fn malformed_authorization_headers_are_rejected() {
        assert!(parse_authorization("Bearer x").is_err());
        assert!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=A/2026/us/sts/aws4_request").is_err()
        );
        assert!(parse_authorization(
            "AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/sts, SignedHeaders=host, Signature=00"
        )
        .is_err());
        let ok = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/sts/aws4_request,SignedHeaders=host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        )
        .unwrap();
        assert_eq!(ok.signed_headers, ["host"]);
    }
}
