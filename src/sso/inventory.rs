//! Everything a signed-in user can reach: every account and every role in it, listed with one
//! SSO portal client and adaptive concurrency ([`super::fanout`]), so a thousand accounts
//! under throttling take about as long as the service's rate limit allows, and no longer.

use std::time::Duration;

use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::timeout::TimeoutConfig;
use aws_sdk_sso::config::{BehaviorVersion, Region};
use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};

use super::clients;
use super::endpoints::{self, Service};
use super::fanout::{self, Attempt};
use crate::error::Error;
use crate::secret::Secret;

/// One account and the roles the user has in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub account_id: String,
    pub account_name: String,
    pub roles: Vec<String>,
}

/// A portal client that does not retry: [`fanout`] sees every throttle and paces itself.
pub fn listing_client(region: &str) -> anyhow::Result<aws_sdk_sso::Client> {
    let endpoint = endpoints::resolve(Service::Sso, region)?;
    let mut b = aws_sdk_sso::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .app_name(clients::app_name())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(client) = clients::plain_http_client(&endpoint) {
        b = b.http_client(client);
    }
    Ok(aws_sdk_sso::Client::from_conf(b.endpoint_url(endpoint).build()))
}

/// Sorts an SDK error into throttled, worth retrying, or final.
fn classify<T, E>(
    err: SdkError<E, aws_sdk_sso::config::http::HttpResponse>,
    what: &str,
    session: &str,
) -> Attempt<T>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or_default().to_string();
    if code == "TooManyRequestsException" || status == Some(429) {
        return Attempt::Throttled;
    }
    let message = format!("{what} failed: {}", clients::describe(&err));
    if clients::is_transport(&err) {
        return Attempt::Transient(
            Error::user(message)
                .hint("check your network connection (and AWS_ENDPOINT_URL_SSO if you set it)")
                .into(),
        );
    }
    if status.is_some_and(|s| s >= 500) {
        return Attempt::Transient(
            Error::user(message).hint("AWS is having trouble; try again in a minute").into(),
        );
    }
    if code == "UnauthorizedException" {
        return Attempt::Failed(super::sign_in_again(session, message).into());
    }
    Attempt::Failed(
        Error::user(message).hint("check the SSO session's start URL and region").into(),
    )
}

/// The most pages one listing may take (100 items a page: a million accounts, or far more
/// roles in one account than Identity Center allows).
pub const MAX_PAGES: usize = 10_000;

/// The `nextToken`s of one listing: the next one to send, or an error when the service sends a
/// token it already sent (it would page forever) or more than [`MAX_PAGES`] pages. Stopping
/// with an error rather than with a partial list matters: `profiles sync --prune` would remove
/// the profiles of whatever was not listed.
#[derive(Debug, Default)]
struct Pages {
    seen: std::collections::HashSet<String>,
}

impl Pages {
    fn next(&mut self, token: Option<&str>, what: &str) -> anyhow::Result<Option<String>> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
        let fault = |why: String| -> anyhow::Error {
            Error::user(format!("{what} stopped: {why}"))
                .hint("the service is misbehaving; try again later (nothing was written)")
                .into()
        };
        if self.seen.len() + 1 >= MAX_PAGES {
            return Err(fault(format!("the service sent more than {MAX_PAGES} pages")));
        }
        if !self.seen.insert(token.to_string()) {
            return Err(fault("the service sent the same nextToken twice".into()));
        }
        Ok(Some(token.to_string()))
    }
}

/// Every account, then every account's roles. Accounts come back sorted by ID, roles by name.
pub async fn list(
    region: &str,
    session: &str,
    token: &Secret<String>,
    options: &fanout::Options,
) -> anyhow::Result<(Vec<Assignment>, fanout::Report)> {
    list_with(&listing_client(region)?, session, token, options).await
}

/// [`list`] with a given client (which should not retry by itself; see [`listing_client`]).
pub async fn list_with(
    client: &aws_sdk_sso::Client,
    session: &str,
    token: &Secret<String>,
    options: &fanout::Options,
) -> anyhow::Result<(Vec<Assignment>, fanout::Report)> {
    let mut accounts: Vec<(String, String)> = Vec::new();
    let mut report = fanout::Report::default();
    // Pages are sequential by nature; each is retried like any other call.
    let mut next: Option<String> = None;
    let mut pages = Pages::default();
    loop {
        let (c, t, n) = (client.clone(), token.clone(), next.clone());
        let s = session.to_string();
        let (mut page, r) = fanout::run(vec![n], options, move |n: Option<String>| {
            let (c, t, s) = (c.clone(), t.clone(), s.clone());
            async move {
                match c
                    .list_accounts()
                    .access_token(t.expose())
                    .max_results(100)
                    .set_next_token(n)
                    .send()
                    .await
                {
                    Ok(out) => Attempt::Done(out),
                    Err(e) => classify(e, "listing your accounts", &s),
                }
            }
        })
        .await;
        report.calls += r.calls;
        report.throttled += r.throttled;
        report.transient += r.transient;
        let page = page.pop().expect("one result per item")?;
        for a in page.account_list() {
            accounts.push((
                a.account_id().unwrap_or_default().to_string(),
                a.account_name().unwrap_or_default().to_string(),
            ));
        }
        next = pages.next(page.next_token(), "listing your accounts")?;
        if next.is_none() {
            break;
        }
    }
    accounts.sort();
    accounts.dedup_by(|a, b| a.0 == b.0);

    let ids: Vec<String> = accounts.iter().map(|(id, _)| id.clone()).collect();
    let (c, t, s) = (client.clone(), token.clone(), session.to_string());
    let (roles, r) = fanout::run(ids, options, move |account: String| {
        let (c, t, s) = (c.clone(), t.clone(), s.clone());
        async move { list_roles(&c, &t, &s, &account).await }
    })
    .await;
    report.calls += r.calls;
    report.throttled += r.throttled;
    report.transient += r.transient;
    report.peak_in_flight = r.peak_in_flight;
    report.final_window = r.final_window;

    let mut out = Vec::with_capacity(accounts.len());
    for ((account_id, account_name), roles) in accounts.into_iter().zip(roles) {
        let mut roles = roles?;
        roles.sort();
        roles.dedup();
        out.push(Assignment { account_id, account_name, roles });
    }
    Ok((out, report))
}

/// All pages of one account's roles; a throttled page restarts that account's listing.
async fn list_roles(
    client: &aws_sdk_sso::Client,
    token: &Secret<String>,
    session: &str,
    account: &str,
) -> Attempt<Vec<String>> {
    let mut roles = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = Pages::default();
    loop {
        match client
            .list_account_roles()
            .access_token(token.expose())
            .account_id(account)
            .max_results(100)
            .set_next_token(next.take())
            .send()
            .await
        {
            Ok(page) => {
                roles.extend(
                    page.role_list().iter().filter_map(|r| r.role_name().map(str::to_string)),
                );
                let what = format!("listing your roles in account {account}");
                match pages.next(page.next_token(), &what) {
                    Ok(Some(t)) => next = Some(t),
                    Ok(None) => return Attempt::Done(roles),
                    Err(e) => return Attempt::Failed(e),
                }
            }
            Err(e) => {
                return classify(e, &format!("listing your roles in account {account}"), session);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A portal that answers every ListAccounts with the same page and the same nextToken.
    async fn looping_portal() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else { return };
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut seen = Vec::new();
                    loop {
                        let Ok(n) = s.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        // Requests are GETs without a body: one per blank line.
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let body = r#"{"accountList":[{"accountId":"111111111111","accountName":"a"}],"nextToken":"same"}"#;
                            let reply = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if s.write_all(reply.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, calls)
    }

    #[test]
    fn a_repeated_next_token_stops_the_listing_with_an_error() {
        crate::util::block_on(async {
            let (url, calls) = looping_portal().await;
            let mut b = aws_sdk_sso::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .retry_config(RetryConfig::disabled());
            if let Some(client) = clients::plain_http_client(&url) {
                b = b.http_client(client);
            }
            let client = aws_sdk_sso::Client::from_conf(b.endpoint_url(&url).build());
            let token = Secret::new("t".to_string());
            let err =
                list_with(&client, "acme", &token, &fanout::Options::default()).await.unwrap_err();
            let shown = crate::error::render(&err);
            assert!(shown.contains("the same nextToken twice"), "{shown}");
            assert_eq!(crate::error::exit_code(&err), 1);
            // The first page, then the one that repeated its token: no more.
            assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn pages_are_capped() {
        let mut pages = Pages::default();
        for i in 0..MAX_PAGES - 1 {
            assert!(pages.next(Some(&format!("t{i}")), "listing").unwrap().is_some());
        }
        let err = pages.next(Some("one-more"), "listing").unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
        assert_eq!(Pages::default().next(Some(""), "listing").unwrap(), None);
    }
}
