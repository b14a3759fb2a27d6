//! The awsQuery front end shared by STS and IAM: `POST /` with a form body naming the
//! `Action`, SigV4 authentication against the issued role credentials and the org's
//! long-lived keys, and the `<ErrorResponse>` XML error shape.

use super::Emulator;
use super::http::{Operation, Protocol, Reply, Request};
use super::sigv4::{self, RequestParts};
use crate::time::now;

pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Role credentials from GetRoleCredentials.
    Role { account: String, role: String, user: String },
    /// A long-lived IAM user key.
    IamUser { account: String, user: String, key_id: String },
}

impl Principal {
    pub fn account(&self) -> &str {
        match self {
            Principal::Role { account, .. } | Principal::IamUser { account, .. } => account,
        }
    }
}

/// A query-protocol error: code, HTTP status, message.
#[derive(Debug)]
pub struct QueryError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

pub fn qerr(status: u16, code: &'static str, message: impl Into<String>) -> QueryError {
    QueryError { status, code, message: message.into() }
}

/// Escapes text for XML content.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// `<ErrorResponse>` with `Type` (Sender for 4xx, Receiver for 5xx), `Code`, `Message`, and
/// the request id.
pub fn error_reply(ns: &str, status: u16, code: &str, message: &str, request_id: &str) -> Reply {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    Reply::xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"{ns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    \
             <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
            xml_escape(message)
        ),
    )
}

/// A success document: `<{op}Response><{op}Result>result</..><ResponseMetadata>..`.
/// The Result element comes first, as the Rust SDK requires. `result` of `None` omits it.
pub fn success_reply(ns: &str, op: &str, result: Option<&str>, request_id: &str) -> Reply {
    let result =
        result.map(|r| format!("  <{op}Result>\n{r}  </{op}Result>\n")).unwrap_or_default();
    Reply::xml(
        200,
        format!(
            "<{op}Response xmlns=\"{ns}\">\n{result}  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  \
             </ResponseMetadata>\n</{op}Response>\n"
        ),
    )
}

/// Query parameters plus form-body parameters.
pub fn params(req: &Request) -> Vec<(String, String)> {
    let mut all = req.query_pairs();
    all.extend(req.form());
    all
}

pub fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The operation a `POST /` is for, from its `Action` (and `Version`).
pub fn route(req: &Request) -> Result<Operation, Reply> {
    let params = params(req);
    let action = param(&params, "Action").unwrap_or_default();
    let version = param(&params, "Version").unwrap_or_default();
    let (name, ns, want_version) = match action.as_str() {
        "GetCallerIdentity" => ("GetCallerIdentity", STS_NS, "2011-06-15"),
        "ListAccessKeys" => ("ListAccessKeys", IAM_NS, "2010-05-08"),
        "UpdateAccessKey" => ("UpdateAccessKey", IAM_NS, "2010-05-08"),
        "" => {
            return Err(error_reply(
                STS_NS,
                400,
                "MissingAction",
                "Missing Action",
                &req.request_id,
            ));
        }
        other => {
            return Err(error_reply(
                STS_NS,
                400,
                "InvalidAction",
                &format!("Could not find operation {other} for version {version}"),
                &req.request_id,
            ));
        }
    };
    if version != want_version {
        return Err(error_reply(
            ns,
            400,
            "InvalidAction",
            &format!("Could not find operation {action} for version {version}"),
            &req.request_id,
        ));
    }
    Ok(Operation { name, protocol: Protocol::Query(ns) })
}

pub fn handle(emu: &Emulator, op: &str, req: &Request) -> Reply {
    let (ns, service) = if op == "GetCallerIdentity" { (STS_NS, "sts") } else { (IAM_NS, "iam") };
    let result = authenticate(emu, req, service).and_then(|principal| match op {
        "GetCallerIdentity" => super::sts::get_caller_identity(&principal),
        _ => super::iam::handle(emu, op, &params(req), &principal),
    });
    match result {
        Ok(body) => success_reply(ns, op, body.as_deref(), &req.request_id),
        Err(e) => error_reply(ns, e.status, e.code, &e.message, &req.request_id),
    }
}

/// IAM's signing region in the commercial partition.
const IAM_SIGNING_REGION: &str = "us-east-1";

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
     Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// Verifies the SigV4 signature of `req` for `service` and says who made it.
pub fn authenticate(emu: &Emulator, req: &Request, service: &str) -> Result<Principal, QueryError> {
    let Some(header) = req.header("authorization") else {
        return Err(qerr(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    };
    let auth =
        sigv4::parse_authorization(header).map_err(|m| qerr(400, "IncompleteSignature", m))?;
    let Some(amz_date) = req.header("x-amz-date") else {
        return Err(qerr(
            400,
            "IncompleteSignature",
            "Authorization header requires existence of a 'X-Amz-Date' header",
        ));
    };
    let token = req.header("x-amz-security-token");
    let now = now();
    let (secret, principal) = {
        let st = emu.lock();
        if let Some(cred) = st.role_credentials.get(&auth.access_key_id) {
            if cred.revoked || token != Some(cred.session_token.as_str()) {
                return Err(qerr(403, "InvalidClientTokenId", INVALID_TOKEN));
            }
            if cred.expires_at_ms <= now * 1000 {
                return Err(qerr(
                    403,
                    "ExpiredToken",
                    "The security token included in the request is expired",
                ));
            }
            let principal = Principal::Role {
                account: cred.account.clone(),
                role: cred.role.clone(),
                user: cred.user.clone(),
            };
            (cred.secret.clone(), principal)
        } else if let Some(key) = emu.org().access_keys.iter().find(|k| k.id == auth.access_key_id)
        {
            if token.is_some() || !st.key_active.get(&key.id).copied().unwrap_or(false) {
                return Err(qerr(403, "InvalidClientTokenId", INVALID_TOKEN));
            }
            let principal = Principal::IamUser {
                account: key.account.clone(),
                user: key.user.clone(),
                key_id: key.id.clone(),
            };
            (key.secret.clone(), principal)
        } else {
            return Err(qerr(403, "InvalidClientTokenId", INVALID_TOKEN));
        }
    };
    let signed_at = check_date(amz_date, &auth.date, now)?;
    check_scope(&auth, service)?;
    let parts = RequestParts {
        method: &req.method,
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
        body: &req.body,
    };
    let signed_at = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(signed_at).unwrap_or(0));
    let expected = sigv4::expected_signature(&parts, &auth, &secret, token, signed_at)
        .map_err(|m| qerr(400, "IncompleteSignature", m))?;
    if !sigv4::constant_time_eq(&expected, &auth.signature) {
        return Err(qerr(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH));
    }
    Ok(principal)
}

/// The credential scope must name the service and a region it answers in, with AWS's
/// messages (each sentence ends with ". ", and AWS lists every problem it found). IAM is
/// global: in the commercial partition, which the emulator is, it is signed for `us-east-1`.
/// STS has an endpoint in every region and accepts any valid region name.
fn check_scope(auth: &sigv4::Authorization, service: &str) -> Result<(), QueryError> {
    let region_ok = match service {
        "iam" => auth.region == IAM_SIGNING_REGION,
        _ => crate::team::is_region(&auth.region),
    };
    let mut message = String::new();
    if !region_ok {
        message.push_str(&match service {
            "iam" => {
                format!("Credential should be scoped to a valid region, not '{}'. ", auth.region)
            }
            _ => "Credential should be scoped to a valid region. ".to_string(),
        });
    }
    if auth.service != service {
        message.push_str(&format!("Credential should be scoped to correct service: '{service}'. "));
    }
    if message.is_empty() { Ok(()) } else { Err(qerr(403, "SignatureDoesNotMatch", message)) }
}

/// `X-Amz-Date` must parse, match the scope date, and be within 15 minutes of now; returns
/// the signing time in epoch seconds.
fn check_date(amz_date: &str, scope_date: &str, now: i64) -> Result<i64, QueryError> {
    let b = amz_date.as_bytes();
    let valid = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && amz_date[..8].bytes().chain(amz_date[9..15].bytes()).all(|c| c.is_ascii_digit());
    if !valid {
        return Err(qerr(
            400,
            "IncompleteSignature",
            format!("X-Amz-Date {amz_date:?} is not YYYYMMDD'T'HHMMSS'Z'"),
        ));
    }
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &amz_date[..4],
        &amz_date[4..6],
        &amz_date[6..8],
        &amz_date[9..11],
        &amz_date[11..13],
        &amz_date[13..15]
    );
    let Some(at) = crate::time::parse_rfc3339(&rfc) else {
        return Err(qerr(
            400,
            "IncompleteSignature",
            format!("X-Amz-Date {amz_date:?} is not a valid date"),
        ));
    };
    if &amz_date[..8] != scope_date {
        return Err(qerr(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{}'",
                &amz_date[..8]
            ),
        ));
    }
    if (at - now).abs() > 15 * 60 {
        return Err(qerr(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
                crate::time::amz_date(now - 15 * 60),
                crate::time::amz_date(now)
            ),
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_outside_fifteen_minutes_are_rejected() {
        let now = 1_795_316_357; // 2026-11-22T02:59:17Z
        assert!(check_date("20261122T025917Z", "20261122", now).is_ok());
        assert!(check_date("20261122T031300Z", "20261122", now).is_ok());
        assert_eq!(
            check_date("20261122T031500Z", "20261122", now).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            check_date("20261122T025917Z", "20261121", now).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            check_date("2026-11-22", "20261122", now).unwrap_err().code,
            "IncompleteSignature"
        );
    }

    #[test]
    fn success_documents_put_the_result_first() {
        let r =
            success_reply(STS_NS, "GetCallerIdentity", Some("    <Account>1</Account>\n"), "rid");
        let body = String::from_utf8(r.body).unwrap();
        let result = body.find("<GetCallerIdentityResult>").unwrap();
        assert!(result < body.find("<ResponseMetadata>").unwrap());
        assert!(body.starts_with(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        ));
    }
}
