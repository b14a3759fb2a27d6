//! AWS Signature Version 4: parsing the `Authorization` header, canonicalising a request and
//! computing its signature. Pure functions only; which keys exist and what a failure means to
//! a client is decided by the awsQuery front end (`query.rs`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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

/// The request as received, enough to canonicalise it.
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

/// RFC 3986 percent-encoding with only the unreserved characters kept (SigV4 `UriEncode`).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        if keep || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&decode(k), false), uri_encode(&decode(v), false))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn header_value(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if values.is_empty() { None } else { Some(values.join(",")) }
}

/// `hex(SHA256(data))`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request for `req`, signing the headers named in `signed_headers`.
pub fn canonical_request(req: &RequestParts<'_>, signed_headers: &[String]) -> String {
    // Non-S3 services encode the already-encoded path once more.
    let path = if req.path.is_empty() { "/" } else { req.path };
    let canonical_uri = uri_encode(path, true);
    let headers: String = signed_headers
        .iter()
        .map(|h| format!("{h}:{}\n", header_value(req.headers, h).unwrap_or_default()))
        .collect();
    let payload_hash =
        header_value(req.headers, "x-amz-content-sha256").unwrap_or_else(|| sha256_hex(req.body));
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri,
        canonical_query(req.query),
        headers,
        signed_headers.join(";"),
        payload_hash
    )
}

/// `AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex(SHA256(canonical))>`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The hex signature of `string_to_sign` with the key derived from `secret` and the scope.
pub fn signature(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// The signature `auth` should carry for `req` if it was made with `secret`.
pub fn expected_signature(req: &RequestParts<'_>, auth: &Authorization, secret: &str) -> String {
    let amz_date = header_value(req.headers, "x-amz-date").unwrap_or_default();
    let canonical = canonical_request(req, &auth.signed_headers);
    let sts = string_to_sign(&amz_date, &auth.scope(), &canonical);
    signature(secret, &auth.date, &auth.region, &auth.service, &sts)
}

/// Equality that takes the same time wherever the strings differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a client needs to sign a request.
#[derive(Debug, Clone, Copy)]
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
}

/// Signs `req` (whose headers must already include `host`) at `epoch` and returns the headers
/// to add: `x-amz-date`, `x-amz-security-token` (for temporary keys) and `authorization`.
/// Every header of `req` is signed.
pub fn sign(req: &RequestParts<'_>, key: &SigningKey<'_>, epoch: i64) -> Vec<(String, String)> {
    let amz_date = crate::time::amz_date(epoch);
    let mut added = vec![("x-amz-date".to_string(), amz_date.clone())];
    if let Some(token) = key.session_token {
        added.push(("x-amz-security-token".to_string(), token.to_string()));
    }
    let mut all: Vec<(String, String)> = req.headers.to_vec();
    all.extend(added.iter().cloned());
    let mut names: Vec<String> = all.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let signed_req = RequestParts { headers: &all, ..*req };
    let auth = Authorization {
        access_key_id: key.access_key_id.to_string(),
        date: amz_date[..8].to_string(),
        region: key.region.to_string(),
        service: key.service.to_string(),
        signed_headers: names.clone(),
        signature: String::new(),
    };
    let sig = expected_signature(&signed_req, &auth, key.secret);
    added.push((
        "authorization".to_string(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={sig}",
            key.access_key_id,
            auth.scope(),
            names.join(";")
        ),
    ));
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The botocore request from the wire-protocol reference (§4.4 item 9).
    #[test]
    fn canonical_request_matches_the_botocore_worked_example() {
        let headers = h(&[
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("Host", "127.0.0.1:46243"),
            ("X-Amz-Date", "20261121T185837Z"),
            ("X-Amz-Security-Token", "tok+/="),
            ("User-Agent", "Botocore/1.43.11"),
        ]);
        let req = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: b"Action=GetCallerIdentity&Version=2011-06-15",
        };
        let auth = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE/20261121/us-west-2/sts/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=c0acc78e0000000000000000000000000000000000000000000000000000ffff",
        )
        .unwrap();
        assert_eq!(auth.region, "us-west-2");
        assert_eq!(auth.service, "sts");
        let canonical = canonical_request(&req, &auth.signed_headers);
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\n\
             host:127.0.0.1:46243\nx-amz-date:20261121T185837Z\nx-amz-security-token:tok+/=\n\n\
             content-type;host;x-amz-date;x-amz-security-token\n\
             ab821ae955788b0e33ebd34c208442ccfc2d406e2edc5e7a39bd6458fbb4f843"
        );
        let sts = string_to_sign("20261121T185837Z", &auth.scope(), &canonical);
        assert!(sts.starts_with(
            "AWS4-HMAC-SHA256\n20261121T185837Z\n20261121/us-west-2/sts/aws4_request\n15ba2df6"
        ));
        assert!(sts.ends_with("d1"), "{sts}");
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
        assert_eq!(
            expected_signature(&req, &auth, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn sign_and_verify_round_trip_and_tampering_is_detected() {
        let headers =
            h(&[("host", "127.0.0.1:1"), ("content-type", "application/x-www-form-urlencoded")]);
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let req = RequestParts { method: "POST", path: "/", query: "", headers: &headers, body };
        let key = SigningKey {
            access_key_id: "AKIATEST",
            secret: "s3cret",
            session_token: Some("tok"),
            region: "us-east-1",
            service: "sts",
        };
        let mut all = headers.clone();
        all.extend(sign(&req, &key, 1_795_316_357));
        let auth_value = &all.iter().find(|(k, _)| k == "authorization").unwrap().1;
        let auth = parse_authorization(auth_value).unwrap();
        assert_eq!(
            auth.signed_headers,
            ["content-type", "host", "x-amz-date", "x-amz-security-token"]
        );
        let signed = RequestParts { headers: &all, ..req };
        assert!(constant_time_eq(&expected_signature(&signed, &auth, "s3cret"), &auth.signature));
        assert!(!constant_time_eq(&expected_signature(&signed, &auth, "wrong"), &auth.signature));
        let tampered =
            RequestParts { body: b"Action=GetCallerIdentity&Version=2011-06-16", ..signed };
        assert_ne!(expected_signature(&tampered, &auth, "s3cret"), auth.signature);
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

    #[test]
    fn query_strings_are_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query("b=2&a=x%2Fy&a=+"), "a=%20&a=x%2Fy&b=2");
        assert_eq!(uri_encode("a b/~", true), "a%20b/~");
    }
}
