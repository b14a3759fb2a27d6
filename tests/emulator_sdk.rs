//! The emulator judged by AWS's own Rust clients (aws-sdk-ssooidc, aws-sdk-sso, aws-sdk-sts):
//! every flow and every error case a client can meet, plus the faults and the scale the
//! benchmarks rely on.

mod support;

use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_ssooidc::error::{ProvideErrorMetadata, SdkError};
use serde_json::json;
use support::{Emulator, TempDir, request};

const START_URL: &str = "https://d-1234567890.awsapps.com/start";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const REDIRECT_REGISTERED: &str = "http://127.0.0.1/oauth/callback";
const REDIRECT_USED: &str = "http://127.0.0.1:54321/oauth/callback";
const DEMO_KEY: &str = "AKIAACMEDEV000000001";
const DEMO_SECRET: &str = "acmeDemoSecretKey0000000000000000000000a";

fn region() -> aws_sdk_sso::config::Region {
    aws_sdk_sso::config::Region::new("us-east-1")
}

/// Retries only throttling and 5xx errors; generous so rate-limited tests cannot flake.
fn patient() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(10).with_initial_backoff(Duration::from_millis(200))
}

fn oidc(emu: &Emulator) -> aws_sdk_ssooidc::Client {
    oidc_with_retries(emu, patient())
}

fn oidc_with_retries(emu: &Emulator, retry: RetryConfig) -> aws_sdk_ssooidc::Client {
    let conf = aws_sdk_ssooidc::Config::builder()
        .behavior_version(aws_sdk_ssooidc::config::BehaviorVersion::latest())
        .region(region())
        .endpoint_url(emu.url())
        .retry_config(retry)
        .build();
    aws_sdk_ssooidc::Client::from_conf(conf)
}

fn sso(emu: &Emulator) -> aws_sdk_sso::Client {
    let conf = aws_sdk_sso::Config::builder()
        .behavior_version(aws_sdk_sso::config::BehaviorVersion::latest())
        .region(region())
        .endpoint_url(emu.url())
        .retry_config(patient())
        .build();
    aws_sdk_sso::Client::from_conf(conf)
}

fn sts(emu: &Emulator, akid: &str, secret: &str, token: Option<&str>) -> aws_sdk_sts::Client {
    let creds = Credentials::new(akid, secret, token.map(str::to_string), None, "emulator-test");
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("eu-west-1"))
        .endpoint_url(emu.url())
        .credentials_provider(creds)
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// The modeled error code and message of a failed call (panics on success or a non-service
/// error).
fn code_and_message_of<T, E, R>(result: Result<T, SdkError<E, R>>) -> (String, String)
where
    T: std::fmt::Debug,
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => match e.as_service_error().and_then(|s| Some((s.code()?, s.message()))) {
            Some((c, m)) => (c.to_string(), m.unwrap_or_default().to_string()),
            None => panic!("not a modeled service error: {e:?}"),
        },
    }
}

/// The modeled error code of a failed call.
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
) -> String {
    code_and_message_of(result).0
}

/// A failed call as `docs/troubleshooting.md` lists AWS's answers: `Code: message`.
fn code_and_message<T, E, R>(result: Result<T, SdkError<E, R>>) -> String
where
    T: std::fmt::Debug,
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let (code, message) = code_and_message_of(result);
    format!("{code}: {message}")
}

/// A registered client: `(id, secret)`.
async fn register(emu: &Emulator, scopes: bool) -> (String, String) {
    let mut r = oidc(emu).register_client().client_name("keyless-test").client_type("public");
    if scopes {
        r = r.scopes("sso:account:access");
    }
    let out = r.send().await.expect("RegisterClient");
    assert!(out.client_secret_expires_at() > out.client_id_issued_at());
    (out.client_id().unwrap().to_string(), out.client_secret().unwrap().to_string())
}

/// StartDeviceAuthorization for a registered client, ready to send.
fn start_device(
    emu: &Emulator,
    (id, secret): &(String, String),
) -> aws_sdk_ssooidc::operation::start_device_authorization::builders::StartDeviceAuthorizationFluentBuilder
{
    oidc(emu).start_device_authorization().client_id(id).client_secret(secret).start_url(START_URL)
}

/// CreateToken with a device code for a registered client, ready to send.
fn device_token(
    emu: &Emulator,
    (id, secret): &(String, String),
    device_code: &str,
) -> aws_sdk_ssooidc::operation::create_token::builders::CreateTokenFluentBuilder {
    oidc(emu)
        .create_token()
        .client_id(id)
        .client_secret(secret)
        .grant_type(DEVICE_GRANT)
        .device_code(device_code)
}

/// A registered authorization-code client: `(id, secret)`.
async fn register_auth_code(emu: &Emulator) -> (String, String) {
    let out = oidc(emu)
        .register_client()
        .client_name("keyless-test")
        .client_type("public")
        .scopes("sso:account:access")
        .grant_types("authorization_code")
        .grant_types("refresh_token")
        .redirect_uris(REDIRECT_REGISTERED)
        .issuer_url(START_URL)
        .send()
        .await
        .expect("RegisterClient");
    (out.client_id().unwrap().to_string(), out.client_secret().unwrap().to_string())
}

struct Tokens {
    access: String,
    refresh: Option<String>,
    client: (String, String),
}

/// A device-code login against an `--auto-approve` emulator.
async fn login(emu: &Emulator) -> Tokens {
    let client = register(emu, true).await;
    let dev = start_device(emu, &client).send().await.expect("StartDeviceAuthorization");
    let t =
        device_token(emu, &client, dev.device_code().unwrap()).send().await.expect("CreateToken");
    Tokens {
        access: t.access_token().unwrap().into(),
        refresh: t.refresh_token().map(Into::into),
        client,
    }
}

struct RoleCreds {
    akid: String,
    secret: String,
    token: String,
    expiration_ms: i64,
}

async fn role_credentials(emu: &Emulator, access: &str, account: &str, role: &str) -> RoleCreds {
    let out = sso(emu)
        .get_role_credentials()
        .access_token(access)
        .account_id(account)
        .role_name(role)
        .send()
        .await
        .expect("GetRoleCredentials");
    let c = out.role_credentials().expect("roleCredentials");
    RoleCreds {
        akid: c.access_key_id().unwrap().into(),
        secret: c.secret_access_key().unwrap().into(),
        token: c.session_token().unwrap().into(),
        expiration_ms: c.expiration(),
    }
}

/// Runs in a child process with only the standard endpoint variables pointing at the
/// emulator, so the clients come from `aws_config::load_defaults` untouched.
async fn login_through_env_configured_clients() {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let oidc = aws_sdk_ssooidc::Client::new(&conf);
    let reg = oidc
        .register_client()
        .client_name("env-test")
        .client_type("public")
        .scopes("sso:account:access")
        .send()
        .await
        .expect("RegisterClient through AWS_ENDPOINT_URL_SSO_OIDC");
    let (id, secret) = (reg.client_id().unwrap(), reg.client_secret().unwrap());
    let dev = oidc
        .start_device_authorization()
        .client_id(id)
        .client_secret(secret)
        .start_url(START_URL)
        .send()
        .await
        .unwrap();
    let token = oidc
        .create_token()
        .client_id(id)
        .client_secret(secret)
        .grant_type(DEVICE_GRANT)
        .device_code(dev.device_code().unwrap())
        .send()
        .await
        .unwrap();
    let sso = aws_sdk_sso::Client::new(&conf);
    let creds = sso
        .get_role_credentials()
        .access_token(token.access_token().unwrap())
        .account_id("222222222222")
        .role_name("ReadOnly")
        .send()
        .await
        .expect("GetRoleCredentials through AWS_ENDPOINT_URL_SSO");
    let c = creds.role_credentials().unwrap();
    let sts_conf = aws_sdk_sts::config::Builder::from(&conf)
        .credentials_provider(Credentials::new(
            c.access_key_id().unwrap(),
            c.secret_access_key().unwrap(),
            c.session_token().map(str::to_string),
            None,
            "emulator-test",
        ))
        .build();
    let who = aws_sdk_sts::Client::from_conf(sts_conf)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity through AWS_ENDPOINT_URL_STS");
    assert!(
        who.arn()
            .unwrap()
            .starts_with("arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_ReadOnly_")
    );
    eprintln!("env-configured clients signed in as {}", who.arn().unwrap());
}

#[tokio::test]
async fn env_endpoint_variables_route_every_sdk_client() {
    if std::env::var_os("KEYLESS_TEST_ENV_CHILD").is_some() {
        login_through_env_configured_clients().await;
        return;
    }
    let emu = Emulator::start(&["--auto-approve"]);
    let home = TempDir::new("sdk-env");
    let missing = home.path().join("missing");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "env_endpoint_variables_route_every_sdk_client",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", &missing)
        .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_SSO_OIDC", emu.url())
        .env("AWS_ENDPOINT_URL_SSO", emu.url())
        .env("AWS_ENDPOINT_URL_STS", emu.url())
        .env("KEYLESS_TEST_ENV_CHILD", "1")
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(
        stderr.contains("env-configured clients signed in as arn:aws:sts::222222222222:"),
        "{stderr}"
    );
    assert_eq!(emu.op_count("GetCallerIdentity"), 1);
    assert_eq!(emu.op_count("GetRoleCredentials"), 1);
}

#[tokio::test]
async fn device_code_login_goes_pending_then_slow_down_then_succeeds_after_approval() {
    let emu = Emulator::start(&[]);
    let client = register(&emu, true).await;
    let dev = start_device(&emu, &client).send().await.unwrap();
    let user_code = dev.user_code().unwrap().to_string();
    assert_eq!(dev.interval(), 1);
    assert_eq!(dev.expires_in(), 600);
    let complete = dev.verification_uri_complete().unwrap();
    assert!(complete.starts_with(emu.url()) && complete.ends_with(&user_code), "{complete}");
    let page = emu.get(complete.trim_start_matches(emu.url()));
    assert_eq!(page.status, 200);
    assert!(page.text().contains(&user_code) && page.text().contains("<form"), "{}", page.text());

    let poll = || device_token(&emu, &client, dev.device_code().unwrap()).send();
    assert_eq!(code(poll().await), "AuthorizationPendingException");
    assert_eq!(code(poll().await), "SlowDownException");
    emu.approve(&user_code);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token = poll().await.expect("token after approval");
    assert_eq!(token.token_type(), Some("Bearer"));
    // A token that comes with a refresh token lives one hour, as on AWS.
    assert_eq!(token.expires_in(), 3600);
    assert!(token.refresh_token().is_some());
    // The device code is spent.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(code(poll().await), "InvalidGrantException");
    assert_eq!(emu.op_count("CreateToken"), 4);
}

#[tokio::test]
async fn denying_on_the_device_page_gives_access_denied() {
    let emu = Emulator::start(&[]);
    let client = register(&emu, true).await;
    let dev = start_device(&emu, &client).send().await.unwrap();
    // Typed in lower case without the hyphen, as a person might.
    let typed = dev.user_code().unwrap().replace('-', "").to_lowercase();
    let r = emu.post_form("/device", &[("user_code", &typed), ("decision", "deny")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let result = device_token(&emu, &client, dev.device_code().unwrap()).send().await;
    assert_eq!(code(result), "AccessDeniedException");
    let bad = emu.post_form("/device", &[("user_code", "ZZZZ-ZZZZ"), ("decision", "allow")]);
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn device_codes_expire() {
    let emu = Emulator::start(&["--device-code-ttl", "1"]);
    let client = register(&emu, true).await;
    let dev = start_device(&emu, &client).send().await.unwrap();
    // Poll (as a client does) until the answer is no longer "pending" or "slow down": the
    // emulator counts whole seconds and the machine may be slow, so no sleep is guessed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let result = loop {
        let r = device_token(&emu, &client, dev.device_code().unwrap()).send().await;
        let c = code(r);
        if !matches!(c.as_str(), "AuthorizationPendingException" | "SlowDownException")
            || Instant::now() > deadline
        {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(result, "ExpiredTokenException");
    let r = emu.post_json("/_emulator/approve", &json!({"userCode": dev.user_code().unwrap()}));
    assert_eq!(r.status, 404, "an expired code cannot be approved");
}

fn authorize_path(client_id: &str, redirect: &str, state: &str, challenge: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("state", state)
        .append_pair("code_challenge_method", "S256")
        .append_pair("scopes", "sso:account:access")
        .finish();
    format!("/authorize?{q}&code_challenge={challenge}")
}

/// The query parameters of a redirect `Location`.
fn location_params(location: &str) -> Vec<(String, String)> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn pkce_login_through_the_consent_page() {
    let emu = Emulator::start(&[]);
    let (id, secret) = register_auth_code(&emu).await;
    let verifier = "a".repeat(20) + "-._~" + &"Z9".repeat(20);
    let challenge = keyless::emulator::oidc::pkce_challenge(&verifier);

    // Allow.
    let page = emu.get(&authorize_path(&id, REDIRECT_USED, "state-1", &challenge));
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains(">Allow</button>") && html.contains(">Deny</button>"), "{html}");
    let request_id =
        html.split("name=\"request\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let r = emu.post_form("/authorize/decision", &[("request", request_id), ("decision", "allow")]);
    assert_eq!(r.status, 302, "{}", r.text());
    let location = r.header("location").unwrap();
    assert!(location.starts_with(REDIRECT_USED), "{location}");
    let params = location_params(location);
    assert_eq!(param(&params, "state"), Some("state-1"));
    let auth_code = param(&params, "code").unwrap().to_string();
    // The same consent cannot be answered twice.
    let again =
        emu.post_form("/authorize/decision", &[("request", request_id), ("decision", "allow")]);
    assert_eq!(again.status, 400);

    let exchange = |code: String, verifier: String| {
        oidc(&emu)
            .create_token()
            .client_id(&id)
            .client_secret(&secret)
            .grant_type("authorization_code")
            .code(code)
            .redirect_uri(REDIRECT_USED)
            .code_verifier(verifier)
            .send()
    };
    let token = exchange(auth_code.clone(), verifier.clone()).await.expect("code exchange");
    assert!(token.refresh_token().is_some(), "auth-code logins are refreshable");
    assert_eq!(code(exchange(auth_code, verifier.clone()).await), "InvalidGrantException");
    let accounts =
        sso(&emu).list_accounts().access_token(token.access_token().unwrap()).send().await.unwrap();
    assert_eq!(accounts.account_list().len(), 2);

    // Deny.
    let page = emu.get(&authorize_path(&id, REDIRECT_USED, "state-2", &challenge));
    let html = page.text();
    let request_id =
        html.split("name=\"request\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let r = emu.post_form("/authorize/decision", &[("request", request_id), ("decision", "deny")]);
    assert_eq!(r.status, 302);
    let params = location_params(r.header("location").unwrap());
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("state-2"));
    assert_eq!(param(&params, "code"), None);
}

#[tokio::test]
async fn pkce_auto_approve_redirects_at_once_and_checks_verifier_and_redirect() {
    let emu = Emulator::start(&["--auto-approve"]);
    let (id, secret) = register_auth_code(&emu).await;
    let verifier = "v".repeat(64);
    let challenge = keyless::emulator::oidc::pkce_challenge(&verifier);
    let new_code = || {
        let r = emu.get(&authorize_path(&id, REDIRECT_USED, "s", &challenge));
        assert_eq!(r.status, 302, "{}", r.text());
        param(&location_params(r.header("location").unwrap()), "code").unwrap().to_string()
    };
    let exchange = |code: String, redirect: &'static str, verifier: String| {
        oidc(&emu)
            .create_token()
            .client_id(&id)
            .client_secret(&secret)
            .grant_type("authorization_code")
            .code(code)
            .redirect_uri(redirect)
            .code_verifier(verifier)
            .send()
    };
    assert_eq!(
        code(exchange(new_code(), REDIRECT_USED, "w".repeat(64)).await),
        "InvalidGrantException"
    );
    assert_eq!(
        code(exchange(new_code(), "http://127.0.0.1:1/oauth/callback", verifier.clone()).await),
        "InvalidGrantException"
    );
    assert_eq!(
        code(exchange("made-up".into(), REDIRECT_USED, verifier.clone()).await),
        "InvalidGrantException"
    );
    exchange(new_code(), REDIRECT_USED, verifier).await.expect("a good exchange still works");
}

#[tokio::test]
async fn authorize_never_redirects_an_invalid_request() {
    let emu = Emulator::start(&["--auto-approve"]);
    let (id, _) = register_auth_code(&emu).await;
    let (device_client, _) = register(&emu, true).await;
    let challenge = keyless::emulator::oidc::pkce_challenge("x");
    for (label, path) in [
        (
            "foreign host",
            authorize_path(&id, "http://evil.example/oauth/callback", "s", &challenge),
        ),
        ("other path", authorize_path(&id, "http://127.0.0.1:5/elsewhere", "s", &challenge)),
        ("https", authorize_path(&id, "https://127.0.0.1/oauth/callback", "s", &challenge)),
        ("unknown client", authorize_path("nobody", REDIRECT_USED, "s", &challenge)),
        ("device client", authorize_path(&device_client, REDIRECT_USED, "s", &challenge)),
        ("no challenge", authorize_path(&id, REDIRECT_USED, "s", "")),
        (
            "plain method",
            authorize_path(&id, REDIRECT_USED, "s", &challenge).replace("S256", "plain"),
        ),
        (
            "token response",
            authorize_path(&id, REDIRECT_USED, "s", &challenge).replace("=code&", "=token&"),
        ),
        (
            "unregistered scope",
            authorize_path(&id, REDIRECT_USED, "s", &challenge)
                .replace("scopes=sso%3Aaccount%3Aaccess", "scopes=sso%3Aaccount%3Aaccess+openid"),
        ),
    ] {
        let r = emu.get(&path);
        assert_eq!(r.status, 400, "{label}: {}", r.text());
        assert!(r.header("location").is_none(), "{label}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{label}");
        if label == "unregistered scope" {
            // What the browser shows.
            let page = r.text();
            assert!(page.contains("The scope openid is not registered for this client."), "{page}");
        }
    }
    // AWS reads `scopes`; OAuth's singular `scope` is not a parameter of its, so even an
    // unregistered scope there is not read (the registration's scopes apply).
    let r = emu.get(
        &authorize_path(&id, REDIRECT_USED, "s", &challenge)
            .replace("scopes=sso%3Aaccount%3Aaccess", "scope=openid"),
    );
    assert_eq!(r.status, 302, "{}", r.text());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_single_use() {
    let emu = Emulator::start(&["--auto-approve"]);
    let t = login(&emu).await;
    let first = t.refresh.clone().expect("a refresh token for sso:account:access clients");
    let refresh = |rt: String| {
        oidc(&emu)
            .create_token()
            .client_id(&t.client.0)
            .client_secret(&t.client.1)
            .grant_type("refresh_token")
            .refresh_token(rt)
            .send()
    };
    let r1 = refresh(first.clone()).await.expect("first refresh");
    let second = r1.refresh_token().unwrap().to_string();
    assert_ne!(second, first);
    assert_ne!(r1.access_token().unwrap(), t.access);
    assert_eq!(code(refresh(first).await), "InvalidGrantException");
    let r2 = refresh(second.clone()).await.expect("the rotated token works");
    assert_eq!(code(refresh(second).await), "InvalidGrantException");
    sso(&emu)
        .list_accounts()
        .access_token(r2.access_token().unwrap())
        .send()
        .await
        .expect("new access token works");

    // Without sso:account:access (a legacy registration) there is no refresh token at all, and
    // the access token lasts the whole session instead.
    let client = register(&emu, false).await;
    let dev = start_device(&emu, &client).send().await;
    let token =
        device_token(&emu, &client, dev.unwrap().device_code().unwrap()).send().await.unwrap();
    assert_eq!(token.refresh_token(), None);
    assert_eq!(token.expires_in(), 8 * 3600);
}

#[tokio::test]
async fn bad_client_credentials_are_invalid_client() {
    let emu = Emulator::start(&["--auto-approve"]);
    let (id, _) = register(&emu, true).await;
    let result = oidc(&emu)
        .start_device_authorization()
        .client_id(&id)
        .client_secret("wrong")
        .start_url(START_URL)
        .send()
        .await;
    let err = result.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(err.as_service_error().and_then(|e| e.code()), Some("InvalidClientException"));
    let result = oidc(&emu)
        .create_token()
        .client_id("unknown")
        .client_secret("x")
        .grant_type("refresh_token")
        .refresh_token("x")
        .send()
        .await;
    assert_eq!(code(result), "InvalidClientException");
    let (id, secret) = register(&emu, true).await;
    let result = oidc(&emu)
        .create_token()
        .client_id(&id)
        .client_secret(&secret)
        .grant_type("password")
        .send()
        .await;
    assert_eq!(code(result), "UnsupportedGrantTypeException");
    let result =
        oidc(&emu).register_client().client_name("x").client_type("confidential").send().await;
    assert_eq!(code(result), "InvalidClientMetadataException");
}

#[tokio::test]
async fn portal_lists_paginate_and_role_credentials_pass_sigv4_in_sts() {
    let emu = Emulator::start(&["--auto-approve"]);
    let t = login(&emu).await;
    let mut pages =
        sso(&emu).list_accounts().access_token(&t.access).max_results(1).into_paginator().send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        ids.extend(
            page.unwrap().account_list().iter().map(|a| a.account_id().unwrap().to_string()),
        );
    }
    assert_eq!(ids, ["111111111111", "222222222222"]);
    assert_eq!(emu.op_count("ListAccounts"), 2, "one call per page");
    let mut roles = Vec::new();
    let mut pages = sso(&emu)
        .list_account_roles()
        .access_token(&t.access)
        .account_id("222222222222")
        .max_results(1)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        roles.extend(page.unwrap().role_list().iter().map(|r| r.role_name().unwrap().to_string()));
    }
    assert_eq!(roles, ["ReadOnly", "Admin"]);

    let before = keyless::time::now_millis();
    let c = role_credentials(&emu, &t.access, "111111111111", "Developer").await;
    assert!(c.akid.starts_with("ASIA") && c.akid.len() == 20, "{}", c.akid);
    assert_eq!(c.secret.len(), 40);
    let ttl = c.expiration_ms - before;
    assert!((3_590_000..=3_601_000).contains(&ttl), "role credentials last an hour, got {ttl} ms");

    let who = sts(&emu, &c.akid, &c.secret, Some(&c.token))
        .get_caller_identity()
        .send()
        .await
        .expect("sigv4 ok");
    let arn = who.arn().unwrap();
    let suffix = arn
        .strip_prefix("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_")
        .unwrap_or_else(|| panic!("{arn}"));
    let (hex16, user) = suffix.split_once('/').unwrap();
    assert!(hex16.len() == 16 && hex16.bytes().all(|b| b.is_ascii_hexdigit()), "{arn}");
    assert_eq!(user, "alice");
    assert_eq!(who.account(), Some("111111111111"));
    assert!(
        who.user_id().unwrap().starts_with("AROA") && who.user_id().unwrap().ends_with(":alice")
    );
    // The suffix is stable per account and role.
    let c2 = role_credentials(&emu, &t.access, "111111111111", "Developer").await;
    let who2 = sts(&emu, &c2.akid, &c2.secret, Some(&c2.token))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who2.arn(), who.arn());

    let wrong =
        sts(&emu, &c.akid, "not-the-secret", Some(&c.token)).get_caller_identity().send().await;
    assert_eq!(code(wrong), "SignatureDoesNotMatch");
    let wrong_token =
        sts(&emu, &c.akid, &c.secret, Some("other")).get_caller_identity().send().await;
    assert_eq!(code(wrong_token), "InvalidClientTokenId");
    let unknown = sts(&emu, "ASIAUNKNOWNUNKNOWN00", &c.secret, Some(&c.token))
        .get_caller_identity()
        .send()
        .await;
    assert_eq!(code(unknown), "InvalidClientTokenId");
    // STS answers in every region, but the SDK's credential scope must name a real one.
    let client = sts(&emu, &c.akid, &c.secret, Some(&c.token));
    let nowhere = client.config().to_builder().region(aws_sdk_sts::config::Region::new("nowhere"));
    let nowhere = aws_sdk_sts::Client::from_conf(nowhere.build());
    assert_eq!(
        code_and_message(nowhere.get_caller_identity().send().await).trim_end(),
        "SignatureDoesNotMatch: Credential should be scoped to a valid region."
    );

    let unassigned = sso(&emu)
        .get_role_credentials()
        .access_token(&t.access)
        .account_id("111111111111")
        .role_name("Admin")
        .send()
        .await;
    // AWS's answer, although the service model does not list it: 403 ForbiddenException.
    let status =
        unassigned.as_ref().err().and_then(|e| e.raw_response()).map(|r| r.status().as_u16());
    assert_eq!(status, Some(403));
    assert_eq!(code_and_message(unassigned), "ForbiddenException: No access");
}

#[tokio::test]
async fn unknown_logged_out_and_revoked_tokens_are_unauthorized() {
    let emu = Emulator::start(&["--auto-approve"]);
    let bad = sso(&emu).list_accounts().access_token("not-a-token").send().await;
    let err = bad.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(err.as_service_error().and_then(|e| e.code()), Some("UnauthorizedException"));
    assert_eq!(
        err.as_service_error().and_then(|e| e.message()),
        Some("Session token not found or invalid")
    );

    // Logout revokes the token and its refresh token.
    let t = login(&emu).await;
    sso(&emu).logout().access_token(&t.access).send().await.expect("Logout");
    assert_eq!(
        code_and_message(sso(&emu).list_accounts().access_token(&t.access).send().await),
        "UnauthorizedException: Session token not found or invalid"
    );
    let refresh = oidc(&emu)
        .create_token()
        .client_id(&t.client.0)
        .client_secret(&t.client.1)
        .grant_type("refresh_token")
        .refresh_token(t.refresh.unwrap())
        .send()
        .await;
    assert_eq!(code(refresh), "InvalidGrantException");

    // Disabling the user revokes everything and refuses new logins.
    let t = login(&emu).await;
    let c = role_credentials(&emu, &t.access, "222222222222", "Admin").await;
    emu.disable_user("alice");
    assert_eq!(
        code(
            sso(&emu)
                .get_role_credentials()
                .access_token(&t.access)
                .account_id("222222222222")
                .role_name("Admin")
                .send()
                .await
        ),
        "UnauthorizedException"
    );
    assert_eq!(
        code(sts(&emu, &c.akid, &c.secret, Some(&c.token)).get_caller_identity().send().await),
        "InvalidClientTokenId"
    );
    let client = register(&emu, true).await;
    let dev = start_device(&emu, &client).send().await.unwrap();
    let result = device_token(&emu, &client, dev.device_code().unwrap()).send().await;
    assert_eq!(code(result), "AccessDeniedException");
}

#[tokio::test]
async fn expired_tokens_and_role_credentials_are_rejected() {
    // Lifetimes long enough for a slow machine to use them fresh; then poll until they run
    // out (the emulator counts whole seconds) instead of guessing a sleep.
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "4", "--role-ttl", "4"]);
    let t = login(&emu).await;
    let c = role_credentials(&emu, &t.access, "111111111111", "ReadOnly").await;
    let client = sts(&emu, &c.akid, &c.secret, Some(&c.token));
    client.get_caller_identity().send().await.expect("fresh credentials work");
    let deadline = Instant::now() + Duration::from_secs(60);
    let result = loop {
        let r = client.get_caller_identity().send().await;
        if r.is_err() || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(code(result), "ExpiredToken");
    // The access token was issued before the role credentials, with the same lifetime.
    assert_eq!(
        code(sso(&emu).list_accounts().access_token(&t.access).send().await),
        "UnauthorizedException"
    );
}

#[tokio::test]
async fn throttled_requests_are_retried_by_the_sdk() {
    let emu = Emulator::start(&["--auto-approve", "--rate-limit", "2"]);
    let t = login(&emu).await;
    let client = sso(&emu);
    for _ in 0..5 {
        client
            .list_accounts()
            .access_token(&t.access)
            .send()
            .await
            .expect("retried until it got through");
    }
    let stats = emu.stats();
    assert!(
        stats["throttled"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>()
            > 0,
        "{stats}"
    );
    // The throttling error itself has the portal's shape.
    let mut throttled = None;
    for _ in 0..20 {
        let r = request(
            emu.addr(),
            "GET",
            "/assignment/accounts",
            &[("x-amz-sso_bearer_token", &t.access)],
            b"",
        );
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
    }
    let r = throttled.expect("a burst gets throttled");
    assert_eq!(r.header("x-amzn-errortype"), Some("TooManyRequestsException"));
    assert!(r.json()["message"].is_string());
}

#[tokio::test]
async fn injected_faults_are_500s_that_the_sdk_retries() {
    let emu = Emulator::start(&["--fault-rate", "1.0"]);
    let retry = RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(50));
    let result = oidc_with_retries(&emu, retry)
        .register_client()
        .client_name("x")
        .client_type("public")
        .send()
        .await;
    let err = result.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert_eq!(err.as_service_error().and_then(|e| e.code()), Some("InternalServerException"));
    assert_eq!(emu.op_count("RegisterClient"), 2, "the SDK retried the 500");
    // The admin API is never faulted.
    assert_eq!(emu.get("/_emulator/stats").status, 200);
}

/// The `<Message>` of an awsQuery error document, unescaped.
fn message(r: &support::Response) -> String {
    let text = r.text();
    let start = text.find("<Message>").expect("an error message") + "<Message>".len();
    let end = text[start..].find("</Message>").unwrap() + start;
    text[start..end].replace("&apos;", "'").replace("&quot;", "\"").replace("&amp;", "&")
}

/// A raw awsQuery call signed with AWS's signer for `service` in `region` (no IAM SDK client
/// in the tree).
fn query_call(
    emu: &Emulator,
    (service, region): (&str, &str),
    akid: &str,
    secret: &str,
    body: &str,
    at: i64,
) -> support::Response {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let host = emu.addr().to_string();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = aws_credential_types::Credentials::new(akid, secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(std::time::UNIX_EPOCH + Duration::from_secs(at as u64))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        "/",
        [("host", host.as_str()), ("content-type", content_type)].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut all: Vec<(&str, &str)> = vec![("content-type", content_type)];
    all.extend(instructions.headers());
    request(emu.addr(), "POST", "/", &all, body.as_bytes())
}

#[tokio::test]
async fn iam_access_keys_can_be_listed_and_deactivated() {
    let emu = Emulator::start(&[]);
    let now = keyless::time::now();
    let who = sts(&emu, DEMO_KEY, DEMO_SECRET, None)
        .get_caller_identity()
        .send()
        .await
        .expect("IAM user key works");
    assert_eq!(who.arn(), Some("arn:aws:iam::111111111111:user/alice"));

    let list = query_call(
        &emu,
        ("iam", "us-east-1"),
        DEMO_KEY,
        DEMO_SECRET,
        "Action=ListAccessKeys&Version=2010-05-08",
        now,
    );
    assert_eq!(list.status, 200, "{}", list.text());
    let xml = list.text();
    assert!(
        xml.starts_with(
            "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<ListAccessKeysResult>")
            && xml.contains("<AccessKeyMetadata>")
            && xml.contains("<member>")
    );
    assert!(
        xml.contains(&format!("<AccessKeyId>{DEMO_KEY}</AccessKeyId>"))
            && xml.contains("<Status>Active</Status>")
    );

    let wrong_service = query_call(
        &emu,
        ("sts", "us-east-1"),
        DEMO_KEY,
        DEMO_SECRET,
        "Action=ListAccessKeys&Version=2010-05-08",
        now,
    );
    assert_eq!(wrong_service.status, 403);
    assert!(wrong_service.text().contains("<Code>SignatureDoesNotMatch</Code>"));
    assert_eq!(message(&wrong_service), "Credential should be scoped to correct service: 'iam'. ");
    // IAM is global: in the commercial partition it is signed for us-east-1 only, and AWS
    // names every problem it found.
    let list = "Action=ListAccessKeys&Version=2010-05-08";
    let wrong_region = query_call(&emu, ("iam", "eu-west-1"), DEMO_KEY, DEMO_SECRET, list, now);
    assert_eq!(wrong_region.status, 403);
    assert!(wrong_region.text().contains("<Code>SignatureDoesNotMatch</Code>"));
    assert_eq!(
        message(&wrong_region),
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
    );
    let both = query_call(&emu, ("sts", "eu-west-1"), DEMO_KEY, DEMO_SECRET, list, now);
    assert_eq!(
        message(&both),
        "Credential should be scoped to a valid region, not 'eu-west-1'. \
         Credential should be scoped to correct service: 'iam'. "
    );
    // STS answers in every region.
    let gci = "Action=GetCallerIdentity&Version=2011-06-15";
    for region in ["eu-west-1", "ap-northeast-2", "us-gov-west-1", "cn-north-1"] {
        let r = query_call(&emu, ("sts", region), DEMO_KEY, DEMO_SECRET, gci, now);
        assert_eq!(r.status, 200, "{region}: {}", r.text());
    }
    let nowhere = query_call(&emu, ("sts", "nowhere"), DEMO_KEY, DEMO_SECRET, gci, now);
    assert_eq!(nowhere.status, 403);
    assert_eq!(message(&nowhere), "Credential should be scoped to a valid region. ");
    let bad = query_call(
        &emu,
        ("iam", "us-east-1"),
        DEMO_KEY,
        DEMO_SECRET,
        &format!(
            "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId={DEMO_KEY}&Status=Sleeping"
        ),
        now,
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("<Code>ValidationError</Code>"));
    let update = query_call(
        &emu,
        ("iam", "us-east-1"),
        DEMO_KEY,
        DEMO_SECRET,
        &format!(
            "Action=UpdateAccessKey&Version=2010-05-08&UserName=alice&AccessKeyId={DEMO_KEY}&Status=Inactive"
        ),
        now,
    );
    assert_eq!(update.status, 200, "{}", update.text());
    assert!(update.text().contains("<UpdateAccessKeyResponse"));
    assert_eq!(emu.access_key_status(DEMO_KEY), "Inactive");

    let after = query_call(
        &emu,
        ("iam", "us-east-1"),
        DEMO_KEY,
        DEMO_SECRET,
        "Action=ListAccessKeys&Version=2010-05-08",
        now,
    );
    assert_eq!(after.status, 403);
    assert!(after.text().contains("<Code>InvalidClientTokenId</Code>"));
    let sts_after = sts(&emu, DEMO_KEY, DEMO_SECRET, None).get_caller_identity().send().await;
    assert_eq!(code(sts_after), "InvalidClientTokenId");
}

#[tokio::test]
async fn sts_rejects_missing_malformed_and_stale_signatures() {
    let emu = Emulator::start(&[]);
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let form = ("content-type", "application/x-www-form-urlencoded");
    let r = request(emu.addr(), "POST", "/", &[form], body);
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    let xml = r.text();
    assert!(
        xml.starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<Type>Sender</Type>")
            && xml.contains("<Code>MissingAuthenticationToken</Code>")
    );
    assert!(
        xml.contains(&format!("<RequestId>{}</RequestId>", r.header("x-amzn-requestid").unwrap()))
    );

    let r = request(
        emu.addr(),
        "POST",
        "/",
        &[form, ("authorization", "AWS4-HMAC-SHA256 Credential=nope")],
        body,
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("<Code>IncompleteSignature</Code>"));

    let stale = keyless::time::now() - 20 * 60;
    let r = query_call(
        &emu,
        ("sts", "us-east-1"),
        DEMO_KEY,
        DEMO_SECRET,
        "Action=GetCallerIdentity&Version=2011-06-15",
        stale,
    );
    assert_eq!(r.status, 403);
    assert!(
        r.text().contains("<Code>SignatureDoesNotMatch</Code>")
            && r.text().contains("Signature expired")
    );

    let r = query_call(
        &emu,
        ("sts", "us-east-1"),
        DEMO_KEY,
        DEMO_SECRET,
        "Action=AssumeRole&Version=2011-06-15",
        keyless::time::now(),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("<Code>InvalidAction</Code>"));
}

#[tokio::test]
async fn malformed_requests_get_aws_errors_never_html_or_hangs() {
    let emu = Emulator::start(&[]);
    let json_ct = ("content-type", "application/json");
    for (method, path, body, status, shape) in [
        ("POST", "/token", &b"{not json"[..], 400, "InvalidRequestException"),
        ("POST", "/token", &b"[]"[..], 400, "InvalidRequestException"),
        (
            "POST",
            "/client/register",
            &b"{\"clientType\":\"public\"}"[..],
            400,
            "InvalidRequestException",
        ),
        (
            "POST",
            "/client/register",
            &b"{\"clientName\":7,\"clientType\":\"public\"}"[..],
            400,
            "InvalidRequestException",
        ),
        ("POST", "/device_authorization", &b"{}"[..], 400, "InvalidRequestException"),
        ("GET", "/token", &b""[..], 404, "UnknownOperationException"),
        ("DELETE", "/logout", &b""[..], 404, "UnknownOperationException"),
        ("GET", "/no/such/path", &b""[..], 404, "UnknownOperationException"),
        ("GET", "/federation/credentials", &b""[..], 401, "UnauthorizedException"),
    ] {
        let r = request(emu.addr(), method, path, &[json_ct], body);
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert_eq!(r.header("x-amzn-errortype"), Some(shape), "{method} {path}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{method} {path}");
        assert!(r.header("x-amzn-requestid").is_some_and(|id| id.len() == 36), "{method} {path}");
        assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()));
        r.json();
    }
    let r = emu.post_json("/token", &json!({"clientId": "x", "clientSecret": "y"}));
    assert_eq!(r.header("x-amzn-errortype"), Some("InvalidRequestException"));
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(r.json()["error_description"].is_string());
    // Admin calls are not counted as AWS operations.
    assert_eq!(emu.stats()["operations"].as_object().unwrap().get("Stats"), None);
}

#[tokio::test]
async fn secrets_endpoint_lists_every_issued_secret() {
    let emu = Emulator::start(&["--auto-approve"]);
    let t = login(&emu).await;
    let c = role_credentials(&emu, &t.access, "111111111111", "Developer").await;
    let secrets = emu.secrets();
    for value in [&t.access, t.refresh.as_ref().unwrap(), &t.client.1, &c.secret, &c.token] {
        assert!(secrets.contains(value), "missing an issued secret");
    }
    assert!(secrets.iter().all(|s| !s.is_empty()));
}

#[tokio::test]
async fn a_thousand_accounts_with_three_roles_list_completely() {
    let emu = Emulator::start(&[
        "--auto-approve",
        "--generate-accounts",
        "1000",
        "--roles-per-account",
        "3",
    ]);
    let t = login(&emu).await;
    let client = sso(&emu);
    let mut pages =
        client.list_accounts().access_token(&t.access).max_results(100).into_paginator().send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        ids.extend(
            page.unwrap().account_list().iter().map(|a| a.account_id().unwrap().to_string()),
        );
    }
    assert_eq!(ids.len(), 1000);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 1000);
    let mut tasks = Vec::new();
    for chunk in ids.chunks(125) {
        let (client, token, chunk) = (client.clone(), t.access.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut roles = 0;
            for id in chunk {
                let out = client
                    .list_account_roles()
                    .access_token(&token)
                    .account_id(id)
                    .send()
                    .await
                    .unwrap();
                roles += out.role_list().len();
            }
            roles
        }));
    }
    let mut roles = 0;
    for task in tasks {
        roles += task.await.unwrap();
    }
    assert_eq!(roles, 3000);
}

#[test]
fn the_rate_limit_caps_bursts_and_never_throttles_a_paced_client() {
    // A token bucket of 50/s with a burst of 5 (a tenth of the rate). Both checks follow from
    // the bucket itself, so a slow machine cannot make them fail: slowness only makes the
    // flood take longer and the paced client's gaps wider.
    const RATE: f64 = 50.0;
    const BURST: f64 = 5.0;
    let emu = Emulator::start(&["--auto-approve", "--rate-limit", "50"]);
    let token = emu.device_login()["accessToken"].as_str().unwrap().to_string();
    let get = |addr: &str| {
        let r = request(
            addr,
            "GET",
            "/assignment/accounts",
            &[("x-amz-sso_bearer_token", &token)],
            b"",
        );
        match r.status {
            200 => true,
            429 => false,
            other => panic!("unexpected status {other}: {}", r.text()),
        }
    };

    // Flood: four clients until 100 requests were accepted. However fast they push, the bucket
    // lets through at most BURST + RATE * elapsed.
    let target = 100u64;
    let accepted = std::sync::atomic::AtomicU64::new(0);
    let throttled = std::sync::atomic::AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                use std::sync::atomic::Ordering::SeqCst;
                while accepted.load(SeqCst) < target {
                    if get(emu.addr()) {
                        accepted.fetch_add(1, SeqCst);
                    } else {
                        throttled.fetch_add(1, SeqCst);
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (ok, refused) = (accepted.into_inner(), throttled.into_inner());
    assert!(refused > 0, "four clients flooding never met the limit ({ok} accepted)");
    assert!(
        ok as f64 <= BURST + RATE * elapsed,
        "{ok} accepted in {elapsed:.3}s: more than the bucket allows ({:.0})",
        BURST + RATE * elapsed
    );

    // Paced: one request at a time, each at least 1.25 tokens' worth of time after the one
    // before, never runs the bucket dry, so none is throttled.
    // The gap runs from each answer, so the server sees at least that much between requests.
    let gap = Duration::from_secs_f64(1.25 / RATE);
    std::thread::sleep(Duration::from_secs_f64(BURST / RATE));
    for i in 0..40 {
        assert!(get(emu.addr()), "paced request {i} was throttled");
        std::thread::sleep(gap);
    }
}
