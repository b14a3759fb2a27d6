//! Signing in: authorization code + PKCE through the browser and a loopback listener (the
//! default), or the device code flow (SSH, WSL, containers, no display, or on request).
//! Both end with a token and, thanks to the `sso:account:access` scope, a refresh token.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::endpoints::{self, Service};
use super::records::{self, Registration, Token, TokenClient};
use super::{SessionConfig, clients};
use crate::error::Error;
use crate::secret::Secret;
use crate::store::Store;
use crate::ui;

const GRANT_AUTH_CODE: &str = "authorization_code";
const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const GRANT_REFRESH: &str = "refresh_token";
const REGISTERED_REDIRECT: &str = "http://127.0.0.1/oauth/callback";

/// Which sign-in flow to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Authorization code with PKCE, via a browser on this machine.
    Pkce,
    /// Device code: a URL and a code to enter on any device.
    DeviceCode,
}

/// Picks the flow when the user did not: the device code wherever a browser on this machine
/// cannot reach a loopback listener (SSH, WSL, containers, no display).
pub fn auto_flow() -> (Flow, Option<&'static str>) {
    let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if env("SSH_CONNECTION") || env("SSH_TTY") {
        return (Flow::DeviceCode, Some("this is an SSH session"));
    }
    if env("WSL_DISTRO_NAME")
        || std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .is_ok_and(|r| r.to_lowercase().contains("microsoft"))
    {
        return (Flow::DeviceCode, Some("this is WSL"));
    }
    if std::path::Path::new("/.dockerenv").exists()
        || std::path::Path::new("/run/.containerenv").exists()
    {
        return (Flow::DeviceCode, Some("this is a container"));
    }
    if cfg!(target_os = "linux") && !env("DISPLAY") && !env("WAYLAND_DISPLAY") && !env("BROWSER") {
        return (Flow::DeviceCode, Some("there is no graphical display"));
    }
    (Flow::Pkce, None)
}

#[derive(Debug, Clone)]
pub struct LoginOptions {
    pub flow: Flow,
    /// Open the browser (false: only print the URL).
    pub open_browser: bool,
    /// How long to wait for the person to finish signing in.
    pub timeout: Duration,
}

fn oidc_error<E, R>(
    what: &str,
    region: &str,
    e: &aws_sdk_ssooidc::error::SdkError<E, R>,
) -> anyhow::Error
where
    E: aws_sdk_ssooidc::error::ProvideErrorMetadata + std::error::Error,
{
    let endpoint = endpoints::resolve(Service::SsoOidc, region).unwrap_or_default();
    if clients::is_transport(e) {
        Error::user(format!("could not reach the Identity Center sign-in service at {endpoint}: {}", clients::describe(e)))
            .hint("check your network connection, the SSO region, and AWS_ENDPOINT_URL_SSO_OIDC if you set it")
            .into()
    } else {
        Error::user(format!("{what} failed: {}", clients::describe(e)))
            .hint("check the start URL and region of the SSO session")
            .into()
    }
}

/// Identity Center refused a client registration kept from an earlier sign-in
/// (`InvalidClientException`: revoked, or registered with another instance). The sign-in
/// discards it, registers again and starts over, once.
#[derive(Debug)]
struct RejectedClient(String);

impl std::fmt::Display for RejectedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity Center rejected the stored sign-in client: {}", self.0)
    }
}

impl std::error::Error for RejectedClient {}

/// `InvalidClientException` for a stored registration becomes [`RejectedClient`]; anything
/// else goes through `other`.
fn rejected_client<E, R>(
    reused: bool,
    e: &aws_sdk_ssooidc::error::SdkError<E, R>,
    other: impl FnOnce() -> anyhow::Error,
) -> anyhow::Error
where
    E: aws_sdk_ssooidc::error::ProvideErrorMetadata + std::error::Error,
{
    if reused && e.as_service_error().and_then(|s| s.code()) == Some("InvalidClientException") {
        anyhow::Error::new(RejectedClient(clients::describe(e)))
    } else {
        other()
    }
}

/// A registration from the store that still has 15 minutes and allows `grant` (`true`: it
/// was reused), or a new one.
async fn registration(
    store: &dyn Store,
    client: &aws_sdk_ssooidc::Client,
    session: &SessionConfig,
    grant: &str,
    issuer: &str,
) -> anyhow::Result<(Registration, bool)> {
    let scopes = session.registration_scopes();
    let key = records::registration_key(&session.name);
    if let Some(reg) = records::load::<Registration>(store, &key)?
        && reg.expires_at > crate::time::now() + 15 * 60
        && reg.grant_types.iter().any(|g| g == grant)
        && reg.scopes == scopes
        && reg.start_url == session.start_url
        && reg.region == session.region
    {
        return Ok((reg, true));
    }
    let mut req = client
        .register_client()
        .client_name(format!("keyless-{}", session.name))
        .client_type("public");
    for s in &scopes {
        req = req.scopes(s);
    }
    let grant_types = if grant == GRANT_AUTH_CODE {
        req = req
            .grant_types(GRANT_AUTH_CODE)
            .grant_types(GRANT_REFRESH)
            .redirect_uris(REGISTERED_REDIRECT)
            .issuer_url(issuer);
        vec![GRANT_AUTH_CODE.to_string(), GRANT_REFRESH.to_string()]
    } else {
        vec![GRANT_DEVICE.to_string(), GRANT_REFRESH.to_string()]
    };
    let out = req
        .send()
        .await
        .map_err(|e| oidc_error("registering the sign-in client", &session.region, &e))?;
    let reg = Registration {
        client_id: out.client_id().context("RegisterClient returned no clientId")?.to_string(),
        client_secret: Secret::new(
            out.client_secret().context("RegisterClient returned no clientSecret")?.to_string(),
        ),
        expires_at: out.client_secret_expires_at(),
        scopes,
        grant_types,
        start_url: session.start_url.clone(),
        region: session.region.clone(),
    };
    records::save_until(store, &key, &reg, reg.expires_at)?;
    Ok((reg, false))
}

/// Signs in and stores the token. Returns it.
pub async fn login(
    store: &dyn Store,
    session: &SessionConfig,
    opts: &LoginOptions,
) -> anyhow::Result<Token> {
    // A custom-domain start URL leads to the access portal Identity Center knows it by.
    let (issuer, region) = super::start_url::resolve(&session.start_url, &session.region).await?;
    let in_region;
    let session = if region == session.region {
        session
    } else {
        ui::note(format!(
            "{} belongs to IAM Identity Center in {region}; signing in there.",
            session.start_url
        ));
        in_region = SessionConfig { region, ..session.clone() };
        &in_region
    };
    let client = clients::oidc(&session.region)?;
    let flow = || async {
        match opts.flow {
            Flow::Pkce => pkce(store, &client, session, &issuer, opts).await,
            Flow::DeviceCode => device(store, &client, session, &issuer, opts).await,
        }
    };
    let (access, expires_in, refresh, owner) = match flow().await {
        Err(e) if e.downcast_ref::<RejectedClient>().is_some() => {
            ui::note(format!("{e}; registering a new one and starting the sign-in again."));
            store.delete(&records::registration_key(&session.name)).map_err(Error::from)?;
            flow().await?
        }
        other => other?,
    };
    let now = crate::time::now();
    let token = Token {
        access_token: access,
        expires_at: now + i64::from(expires_in),
        refresh_token: refresh,
        start_url: session.start_url.clone(),
        region: session.region.clone(),
        signed_in_at: now,
        client: Some(owner),
    };
    // Role credentials from an earlier sign-in may belong to another user: drop them.
    for k in store.list(&records::role_prefix(&session.name)).map_err(Error::from)? {
        store.delete(&k).map_err(Error::from)?;
    }
    records::save(store, &records::token_key(&session.name), &token)?;
    // Failures shared for the old token (revoked, not assigned) stop counting now. Only after
    // the save: a process still working with the old token records into the old epoch.
    let _ = crate::verdict::new_epoch(&session.name);
    Ok(token)
}

/// Access token, its lifetime, the refresh token, and the client they were issued to.
type Tokens = (Secret<String>, i32, Option<Secret<String>>, TokenClient);

fn tokens(
    out: &aws_sdk_ssooidc::operation::create_token::CreateTokenOutput,
    reg: &Registration,
) -> anyhow::Result<Tokens> {
    let access = out.access_token().context("CreateToken returned no accessToken")?;
    Ok((
        Secret::new(access.to_string()),
        out.expires_in(),
        out.refresh_token().map(|r| Secret::new(r.to_string())),
        TokenClient::from(reg),
    ))
}

fn open_browser(url: &str, opts: &LoginOptions) {
    if opts.open_browser && ui::open_in_browser(url, "").is_err() {
        ui::note("(could not open a browser; open the address above yourself)");
    }
}

// ---------------------------------------------------------------------------------------
// Authorization code + PKCE

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (as the AWS CLI).
const QUERY: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY).to_string()
}

/// The PKCE pair: a 64-character verifier and its unpadded base64url SHA-256 challenge.
pub fn pkce_pair() -> (Secret<String>, String) {
    let verifier = crate::util::random_token(48);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (Secret::new(verifier), challenge)
}

/// The `/authorize` URL, parameters in the order the AWS CLI sends them.
pub fn authorize_url(
    oidc_endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scopes: &[String],
    challenge: &str,
) -> String {
    format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge_method=S256&scopes={}&code_challenge={}",
        endpoints::origin(oidc_endpoint),
        enc(client_id),
        enc(redirect_uri),
        enc(state),
        enc(&scopes.join(" ")),
        challenge
    )
}

async fn pkce(
    store: &dyn Store,
    client: &aws_sdk_ssooidc::Client,
    session: &SessionConfig,
    issuer: &str,
    opts: &LoginOptions,
) -> anyhow::Result<Tokens> {
    let (reg, reused) = registration(store, client, session, GRANT_AUTH_CODE, issuer).await?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("opening a loopback port for the sign-in callback")?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/oauth/callback");
    let (verifier, challenge) = pkce_pair();
    let state = crate::util::uuid_v4();
    let url = authorize_url(
        &endpoints::resolve(Service::SsoOidc, &session.region)?,
        &reg.client_id,
        &redirect_uri,
        &state,
        &reg.scopes,
        &challenge,
    );
    // Built from the sign-in endpoint: one that hides its host behind `user@` would have the
    // person sign in somewhere they cannot see. Refused before it is shown or opened.
    ui::check_browsable(&url)?;
    ui::note(format!(
        "Sign in to {} in your browser. If it does not open, visit:\n\n    {url}\n",
        session.start_url
    ));
    open_browser(&url, opts);
    let deadline = Instant::now() + opts.timeout;
    let code = {
        let _spinner = ui::Spinner::start("Waiting for the browser sign-in", deadline);
        tokio::time::timeout(opts.timeout, wait_for_callback(&listener, &state)).await.map_err(
            |_| {
                Error::user(format!(
                    "the browser sign-in did not finish within {}s",
                    opts.timeout.as_secs()
                ))
                .hint(
                    "run the login again; on a machine without a local browser use `--device-code`",
                )
            },
        )??
    };
    let out = client
        .create_token()
        .client_id(&reg.client_id)
        .client_secret(reg.client_secret.expose())
        .grant_type(GRANT_AUTH_CODE)
        .code(code.expose())
        .redirect_uri(&redirect_uri)
        .code_verifier(verifier.expose())
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(CreateTokenError::AccessDeniedException(_)) => {
                Error::user("the sign-in was denied")
                    .hint("run the login again and choose Allow")
                    .into()
            }
            Some(
                CreateTokenError::ExpiredTokenException(_)
                | CreateTokenError::InvalidGrantException(_),
            ) => {
                Error::user(format!("the sign-in code was not accepted: {}", clients::describe(&e)))
                    .hint("run the login again")
                    .into()
            }
            _ => rejected_client(reused, &e, || {
                oidc_error("exchanging the sign-in code", &session.region, &e)
            }),
        })?;
    tokens(&out, &reg)
}

const PAGE_STYLE: &str =
    "font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;line-height:1.5";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>keyless: {title}</title></head>\
         <body style=\"{PAGE_STYLE}\"><h1>{title}</h1><p>{body}</p></body></html>"
    )
}

async fn respond(stream: &mut tokio::net::TcpStream, status: &str, html: &str) {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{html}",
        html.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// What one connection to the loopback listener amounts to.
enum Callback {
    /// Not a callback at all (another path, a port scan): answered, and the sign-in goes on.
    Elsewhere,
    /// A callback without this sign-in's `state`: answered and ignored; the sign-in goes on.
    WrongState,
    /// The browser came back for this sign-in: the code, or why there is none.
    Finished(anyhow::Result<Secret<String>>),
}

/// Longest `error` / `error_description` keyless repeats from a callback.
const MAX_CALLBACK_TEXT: usize = 200;

/// Serves the loopback listener until the callback of this sign-in arrives; returns the code.
///
/// Any local process can connect to the port, so a connection proves nothing until it carries
/// this sign-in's `state`: everything else (a wrong or missing `state`, errors included) is
/// answered and ignored, and the sign-in keeps waiting. Connections are served concurrently,
/// so one that sends nothing cannot hold up the browser's.
async fn wait_for_callback(listener: &TcpListener, state: &str) -> anyhow::Result<Secret<String>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<anyhow::Result<Secret<String>>>(1);
    // Dropping the set (on return, or when the caller's timeout fires) ends every connection
    // still being served.
    let mut connections = tokio::task::JoinSet::new();
    let mut ignored_note = false;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted.context("accepting the sign-in callback")?;
                let (tx, state) = (tx.clone(), state.to_string());
                connections.spawn(async move {
                    match serve_callback(stream, &state).await {
                        Callback::Finished(outcome) => {
                            let _ = tx.send(outcome).await;
                            false
                        }
                        Callback::WrongState => true,
                        Callback::Elsewhere => false,
                    }
                });
            }
            Some(outcome) = rx.recv() => return outcome,
            Some(Ok(true)) = connections.join_next(), if !connections.is_empty() => {
                if !ignored_note {
                    ignored_note = true;
                    ui::note("(ignored a request to the sign-in callback that was not for this sign-in; still waiting)");
                }
            }
        }
    }
}

/// Reads one request on the loopback listener and answers it.
async fn serve_callback(mut stream: tokio::net::TcpStream, state: &str) -> Callback {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    // Read the request head (only the request line matters). A client that stalls is
    // dropped after 10 s; other connections are served meanwhile.
    while len < buf.len() {
        let n = match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf[len..]))
            .await
        {
            Ok(Ok(n)) => n,
            _ => 0,
        };
        if n == 0 {
            break;
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let target = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/oauth/callback" {
        respond(
            &mut stream,
            "404 Not Found",
            &page("Not found", "This is keyless's sign-in callback."),
        )
        .await;
        return Callback::Elsewhere;
    }
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // The state decides first: an error or a code without this sign-in's state is someone
    // else's (or forged), and must neither end nor complete the sign-in.
    if get("state").as_deref() != Some(state) {
        respond(
            &mut stream,
            "400 Bad Request",
            &page(
                "Not this sign-in",
                "This response does not belong to the sign-in keyless is waiting for, so it was ignored. \
                 Finish the sign-in in the tab keyless opened.",
            ),
        )
        .await;
        return Callback::WrongState;
    }
    if let Some(err) = get("error") {
        respond(
            &mut stream,
            "200 OK",
            &page("Sign-in cancelled", "You can close this tab and return to the terminal."),
        )
        .await;
        // The text comes from a browser redirect: shortened here; control characters are
        // escaped where every message is written (ui).
        let clip = |t: &str| t.chars().take(MAX_CALLBACK_TEXT).collect::<String>();
        let detail =
            get("error_description").map(|d| format!(" ({})", clip(&d))).unwrap_or_default();
        let msg = if err == "access_denied" {
            format!("the sign-in was denied in the browser{detail}")
        } else {
            format!("the sign-in failed in the browser: {}{detail}", clip(&err))
        };
        return Callback::Finished(Err(Error::user(msg)
            .hint("run the login again and choose Allow")
            .into()));
    }
    let Some(code) = get("code") else {
        respond(
            &mut stream,
            "400 Bad Request",
            &page("Sign-in failed", "The response carried no code."),
        )
        .await;
        return Callback::Finished(Err(Error::user("the browser returned no authorization code")
            .hint("run the login again")
            .into()));
    };
    respond(
        &mut stream,
        "200 OK",
        &page(
            "Signed in",
            "keyless has your sign-in. You can close this tab and return to the terminal.",
        ),
    )
    .await;
    Callback::Finished(Ok(Secret::new(code)))
}

// ---------------------------------------------------------------------------------------
// Device code

async fn device(
    store: &dyn Store,
    client: &aws_sdk_ssooidc::Client,
    session: &SessionConfig,
    issuer: &str,
    opts: &LoginOptions,
) -> anyhow::Result<Tokens> {
    let (reg, reused) = registration(store, client, session, GRANT_DEVICE, issuer).await?;
    let auth = client
        .start_device_authorization()
        .client_id(&reg.client_id)
        .client_secret(reg.client_secret.expose())
        .start_url(issuer)
        .send()
        .await
        .map_err(|e| {
            rejected_client(reused, &e, || {
                oidc_error("starting the device sign-in", &session.region, &e)
            })
        })?;
    let device_code =
        auth.device_code().context("StartDeviceAuthorization returned no deviceCode")?;
    let user_code = auth.user_code().unwrap_or_default();
    let uri = auth.verification_uri().unwrap_or_default();
    let complete = auth.verification_uri_complete().unwrap_or(uri);
    // The addresses come from the sign-in service: a person is told to open them, and a browser
    // may be pointed at them, so anything but https (or http to this machine) is refused.
    if let Some(bad) = [uri, complete].into_iter().find(|u| !endpoints::browsable(u)) {
        return Err(Error::user(format!(
            "the sign-in service gave a verification address that is not https: `{bad}`"
        ))
        .hint("keyless sends you only to https pages: check the SSO region and AWS_ENDPOINT_URL_SSO_OIDC if you set it, and do not open that address")
        .into());
    }
    ui::note(format!(
        "To sign in to {}, open this page on any device:\n\n    {}\n\nand enter the code:\n\n    {}\n",
        session.start_url,
        ui::bold(uri),
        ui::bold(user_code)
    ));
    open_browser(complete, opts);
    // The SDK reads an absent field as 0: then the defaults the AWS CLI uses apply.
    let (interval, expires) = device_timing(auth.interval(), auth.expires_in());
    let mut interval = interval;
    let deadline = Instant::now() + expires.min(opts.timeout);
    let _spinner = ui::Spinner::start("Waiting for you to approve the sign-in", deadline);
    loop {
        tokio::time::sleep(interval).await;
        if Instant::now() > deadline {
            return Err(Error::user("the sign-in code expired before it was approved")
                .hint("run the login again")
                .into());
        }
        match client
            .create_token()
            .client_id(&reg.client_id)
            .client_secret(reg.client_secret.expose())
            .grant_type(GRANT_DEVICE)
            .device_code(device_code)
            .send()
            .await
        {
            Ok(out) => return tokens(&out, &reg),
            Err(e) => match e.as_service_error() {
                Some(CreateTokenError::AuthorizationPendingException(_)) => {}
                Some(CreateTokenError::SlowDownException(_)) => interval += Duration::from_secs(5),
                Some(CreateTokenError::ExpiredTokenException(_)) => {
                    return Err(Error::user("the sign-in code expired before it was approved")
                        .hint("run the login again")
                        .into());
                }
                Some(CreateTokenError::AccessDeniedException(_)) => {
                    return Err(Error::user("the sign-in was denied")
                        .hint("run the login again and approve it")
                        .into());
                }
                _ => {
                    return Err(rejected_client(reused, &e, || {
                        oidc_error("waiting for the device sign-in", &session.region, &e)
                    }));
                }
            },
        }
    }
}

/// The polling interval and the code's lifetime from StartDeviceAuthorization, with 0 (or a
/// nonsensical negative) taken as absent: 5 s and 600 s, as the AWS CLI assumes.
fn device_timing(interval: i32, expires_in: i32) -> (Duration, Duration) {
    let secs = |v: i32, default: u64| {
        Duration::from_secs(u64::try_from(v).ok().filter(|&v| v > 0).unwrap_or(default))
    };
    (secs(interval, 5), secs(expires_in, 600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_device_timing_means_the_defaults() {
        let s = Duration::from_secs;
        assert_eq!(device_timing(0, 0), (s(5), s(600)));
        assert_eq!(device_timing(-1, -1), (s(5), s(600)));
        assert_eq!(device_timing(1, 300), (s(1), s(300)));
    }

    #[test]
    fn authorize_url_matches_the_aws_cli_shape() {
        let url = authorize_url(
            "http://127.0.0.1:9000/prefix",
            "cid",
            "http://127.0.0.1:55555/oauth/callback",
            "00000000-0000-0000-0000-000000000000",
            &["sso:account:access".to_string()],
            "abc",
        );
        assert_eq!(
            url,
            "http://127.0.0.1:9000/authorize?response_type=code&client_id=cid&redirect_uri=http%3A%2F%2F127.0.0.1%3A55555%2Foauth%2Fcallback&state=00000000-0000-0000-0000-000000000000&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=abc"
        );
    }

    #[test]
    fn pkce_challenge_is_the_unpadded_sha256_of_the_verifier() {
        let (v, c) = pkce_pair();
        assert_eq!(v.expose().len(), 64);
        assert_eq!(c.len(), 43);
        let again = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(v.expose().as_bytes()));
        assert_eq!(c, again);
    }
}
