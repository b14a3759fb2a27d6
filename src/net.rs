//! A small HTTPS GET for the two AWS endpoints that have no SDK client: the console sign-in
//! federation endpoint and the clock check against STS. The TLS stack (rustls with the
//! platform's root certificates) is the one the AWS SDK already uses.
//!
//! And the one HTTP/1.1 accept loop, shared by the emulator and the credentials endpoint.

use std::convert::Infallible;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper_util::rt::TokioIo;

/// Larger answers are refused: the endpoints read here (federation, the clock check, IAM
/// UpdateAccessKey) answer with a few hundred bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// Reads a whole response body, refusing one larger than `limit` bytes (a misbehaving or
/// hostile endpoint cannot make keyless buffer without bound).
pub async fn read_limited<B>(body: B, limit: usize) -> anyhow::Result<Bytes>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Ok(Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("reading the response: {e}"))?
        .to_bytes())
}

/// A response, fully read.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The `Date` header, as sent.
    pub date: Option<String>,
    /// The `Location` header, as sent (redirects are not followed).
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// `GET url` over HTTPS (or plain HTTP, for a local endpoint) within `timeout`.
///
/// Errors name the host but never the query string: it can carry credentials or a sign-in
/// token.
pub async fn get(url: &str, timeout: Duration) -> anyhow::Result<Response> {
    request(hyper::Method::GET, url, timeout).await
}

/// `method url` (no body), as [`get`]; redirects are returned, not followed.
pub async fn request(
    method: hyper::Method,
    url: &str,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let shown = redact(url);
    let uri: hyper::Uri = url.parse().with_context(|| format!("`{shown}` is not a valid URL"))?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("loading the system's root certificates")?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<Bytes>>(https);
    let request = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header("user-agent", concat!("keyless/", env!("CARGO_PKG_VERSION")))
        .body(Empty::new())
        .context("building the request")?;
    let fetch = async {
        let response = client.request(request).await?;
        let status = response.status().as_u16();
        let header = |name: hyper::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let (date, location) = (header(hyper::header::DATE), header(hyper::header::LOCATION));
        let body = read_limited(response.into_body(), MAX_BODY).await?.to_vec();
        anyhow::Ok(Response { status, date, location, body })
    };
    match tokio::time::timeout(timeout, fetch).await {
        Ok(result) => result.with_context(|| format!("requesting {shown}")),
        Err(_) => anyhow::bail!("requesting {shown}: no answer within {}s", timeout.as_secs()),
    }
}

/// Accepts HTTP/1.1 connections on `listener` until `shutdown` resolves and answers every
/// request with `handler`.
pub async fn serve_http<H, F>(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
    handler: H,
) where
    H: Fn(hyper::Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Small answers: do not wait for more to send.
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let answer = handler(req);
                            async move { Ok::<_, Infallible>(answer.await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors or a connection reset before accept: try again.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

/// A future that resolves on SIGINT or SIGTERM (on Windows, Ctrl-C). The handlers are in place
/// when this returns, so a signal that arrives before the future is first polled (a supervisor
/// stopping a server the moment it announced itself) still ends it cleanly. Call it inside a
/// tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    crate::ui::interrupt::handled_elsewhere();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
        async move {
            match handlers {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        // Registered here, not at the first poll, as on Unix.
        let handler = tokio::signal::windows::ctrl_c();
        async move {
            match handler {
                Ok(mut c) => {
                    c.recv().await;
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
}

/// `url` without its query string, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_body_over_the_limit_is_refused() {
        crate::util::block_on(async {
            let big = Full::new(Bytes::from(vec![b'x'; MAX_BODY + 1]));
            let err = super::read_limited(big, MAX_BODY).await.unwrap_err();
            assert!(err.to_string().contains("length limit exceeded"), "{err}");
            let small = Full::new(Bytes::from_static(b"<ok/>"));
            assert_eq!(&super::read_limited(small, MAX_BODY).await.unwrap()[..], b"<ok/>");
        });
    }

    use super::*;

    #[test]
    fn redaction_drops_the_query() {
        assert_eq!(
            redact("https://signin.aws.amazon.com/federation?Action=login&SigninToken=abc"),
            "https://signin.aws.amazon.com/federation?…"
        );
        assert_eq!(redact("http://127.0.0.1:1/"), "http://127.0.0.1:1/");
    }
}
