//! The HTTP edge: the listener loop, turning hyper requests into [`Request`]s, routing to the
//! services, and the faults (latency, rate limit, random 500s) applied to AWS operations.
//!
//! Every response carries `Content-Length` and `x-amzn-RequestId`. AWS paths only ever answer
//! with the error shape of their protocol; admin and HTML pages are never faulted or counted.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Value, json};

use super::{Emulator, admin, authorize, federation, oidc, portal, query};

/// Requests larger than this are refused (nothing legitimate comes close).
const MAX_BODY: usize = 1 << 20;

/// One request, fully read.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Raw query string without `?`.
    pub query: String,
    /// Header names lowercased, values as received.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub request_id: String,
}

impl Request {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Decoded `application/x-www-form-urlencoded` body parameters.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }
}

/// A response about to be sent.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, value: &Value) -> Reply {
        Reply::new(status, "application/json", value.to_string())
    }

    /// A restJson1 error: `x-amzn-ErrorType` names the modeled shape, the body is JSON.
    pub fn json_error(status: u16, shape: &str, body: &Value) -> Reply {
        Reply::json(status, body).with_header("x-amzn-ErrorType", shape)
    }

    pub fn html(status: u16, body: String) -> Reply {
        Reply::new(status, "text/html; charset=utf-8", body)
    }

    pub fn xml(status: u16, body: String) -> Reply {
        Reply::new(status, "text/xml", body)
    }

    /// `302 Found` to `location`, with an empty body.
    pub fn redirect(location: &str) -> Reply {
        Reply { status: 302, headers: vec![("location".into(), location.into())], body: Vec::new() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// The wire protocol of an AWS operation, which decides the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SSO-OIDC (restJson1, OAuth-style error bodies).
    Oidc,
    /// The SSO portal (restJson1, `message` error bodies).
    Portal,
    /// STS or IAM (awsQuery XML); the value is the XML namespace.
    Query(&'static str),
}

/// An AWS operation a request was routed to.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub name: &'static str,
    pub protocol: Protocol,
}

/// The error reply for `protocol`: JSON with `x-amzn-ErrorType` or the awsQuery XML shape.
pub fn aws_error(
    protocol: Protocol,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> Reply {
    match protocol {
        Protocol::Oidc => Reply::json_error(
            status,
            code,
            &json!({"error": oauth_error_name(code), "error_description": message}),
        ),
        Protocol::Portal => Reply::json_error(status, code, &json!({"message": message})),
        Protocol::Query(ns) => query::error_reply(ns, status, code, message, request_id),
    }
}

/// The conventional OAuth `error` value for an OIDC exception shape.
fn oauth_error_name(shape: &str) -> String {
    let base = shape.strip_suffix("Exception").unwrap_or(shape);
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    match out.as_str() {
        "internal_server" => "server_error".into(),
        _ => out,
    }
}

/// Accepts connections until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    emu: Arc<Emulator>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    crate::net::serve_http(listener, shutdown, move |req| handle_hyper(emu.clone(), req)).await;
}

async fn handle_hyper(
    emu: Arc<Emulator>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let request_id = crate::util::uuid_v4();
    let (parts, body) = req.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())
        })
        .collect();
    let reply = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => {
            let request = Request {
                method: parts.method.as_str().to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or("").to_string(),
                headers,
                body: collected.to_bytes(),
                request_id: request_id.clone(),
            };
            handle(&emu, request).await
        }
        Err(_) => Reply::json_error(
            413,
            "InvalidRequestException",
            &json!({"message": "the request body is too large or was cut off"}),
        ),
    };
    let mut builder = hyper::Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if emu.config.clock_offset != 0 {
        let date = crate::time::http_date(crate::time::now() + emu.config.clock_offset);
        builder = builder.header("date", date);
    }
    builder
        .header("x-amzn-RequestId", request_id.as_str())
        .header("content-length", reply.body.len())
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| {
            let mut r = hyper::Response::new(Full::new(Bytes::new()));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

/// Routes one request: admin API, HTML pages, or an AWS operation (with faults).
pub async fn handle(emu: &Emulator, req: Request) -> Reply {
    if req.path == "/_emulator" || req.path.starts_with("/_emulator/") {
        return guarded(Protocol::Portal, &req, || admin::handle(emu, &req));
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/authorize") => return guarded_html(|| authorize::authorize(emu, &req)),
        ("POST", "/authorize/decision") => return guarded_html(|| authorize::decision(emu, &req)),
        ("GET", "/device") => return guarded_html(|| authorize::device_page(emu, &req)),
        ("POST", "/device") => return guarded_html(|| authorize::device_decision(emu, &req)),
        ("GET", "/federation") => return guarded_html(|| federation::handle(emu, &req)),
        _ => {}
    }
    let op = match route(&req) {
        Ok(op) => op,
        Err(reply) => return reply,
    };
    emu.lock().count(op.name);
    if !emu.config.latency.is_zero() {
        tokio::time::sleep(emu.config.latency).await;
    }
    if let Some(reply) = fault(emu, op, &req) {
        return reply;
    }
    guarded(op.protocol, &req, || match op.protocol {
        Protocol::Oidc => oidc::handle(emu, op.name, &req),
        Protocol::Portal => portal::handle(emu, op.name, &req),
        Protocol::Query(_) => query::handle(emu, op.name, &req),
    })
}

/// Which AWS operation a request is for, or the error for an unknown one.
fn route(req: &Request) -> Result<Operation, Reply> {
    let (oidc, portal) = (Protocol::Oidc, Protocol::Portal);
    let op = |name, protocol| Ok(Operation { name, protocol });
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/client/register") => op("RegisterClient", oidc),
        ("POST", "/device_authorization") => op("StartDeviceAuthorization", oidc),
        ("POST", "/token") => op("CreateToken", oidc),
        ("GET", "/federation/credentials") => op("GetRoleCredentials", portal),
        ("GET", "/assignment/accounts") => op("ListAccounts", portal),
        ("GET", "/assignment/roles") => op("ListAccountRoles", portal),
        ("POST", "/logout") => op("Logout", portal),
        ("POST" | "GET", "/") => query::route(req),
        (method, path) => Err(Reply::json_error(
            404,
            "UnknownOperationException",
            &json!({"message": format!("no operation for {method} {path}")}),
        )),
    }
}

/// The rate limiter and the random faults, in that order.
fn fault(emu: &Emulator, op: Operation, req: &Request) -> Option<Reply> {
    let mut st = emu.lock();
    if let Some(bucket) = st.bucket.as_mut()
        && !bucket.try_take(Instant::now())
    {
        *st.stats.throttled.entry(op.name.to_string()).or_default() += 1;
        return Some(match op.protocol {
            // awsQuery services throttle with `Throttling`, which both SDKs retry.
            Protocol::Query(_) => {
                aws_error(op.protocol, 400, "Throttling", "Rate exceeded", &req.request_id)
            }
            _ => aws_error(
                op.protocol,
                429,
                "TooManyRequestsException",
                "Rate exceeded",
                &req.request_id,
            ),
        });
    }
    let rate = st.fault_rate.unwrap_or(emu.config.fault_rate);
    let chosen = st.fault_operations.as_ref().is_none_or(|ops| ops.contains(op.name));
    if rate > 0.0 && chosen && random_fraction() < rate {
        *st.stats.faults.entry(op.name.to_string()).or_default() += 1;
        let code = match op.protocol {
            Protocol::Query(_) => "InternalFailure",
            _ => "InternalServerException",
        };
        return Some(aws_error(
            op.protocol,
            500,
            code,
            "An injected internal error occurred",
            &req.request_id,
        ));
    }
    None
}

/// A uniformly random number in `[0, 1)`.
fn random_fraction() -> f64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the OS random source failed");
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs a handler; a panic becomes an `InternalServerException` instead of a dropped connection.
fn guarded(protocol: Protocol, req: &Request, f: impl FnOnce() -> Reply) -> Reply {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        let code = if matches!(protocol, Protocol::Query(_)) {
            "InternalFailure"
        } else {
            "InternalServerException"
        };
        aws_error(protocol, 500, code, "internal error in the emulator", &req.request_id)
    })
}

fn guarded_html(f: impl FnOnce() -> Reply) -> Reply {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Reply::html(500, super::authorize::page("Error", "<p>Internal error.</p>"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_error_names_follow_the_convention() {
        assert_eq!(oauth_error_name("AuthorizationPendingException"), "authorization_pending");
        assert_eq!(oauth_error_name("InvalidGrantException"), "invalid_grant");
        assert_eq!(oauth_error_name("InternalServerException"), "server_error");
    }

    #[test]
    fn random_fractions_are_in_range() {
        for _ in 0..100 {
            let f = random_fraction();
            assert!((0.0..1.0).contains(&f));
        }
    }
}
