//! SSO-OIDC: RegisterClient, StartDeviceAuthorization and CreateToken (device-code,
//! authorization-code with PKCE, and refresh-token grants with single-use, rotating refresh
//! tokens). Errors carry the modeled exception in `x-amzn-ErrorType` and an OAuth body.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Emulator;
use super::http::{Reply, Request};
use super::state::{Client, Decision, DeviceAuth, State};
use crate::time::now;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const KNOWN_GRANTS: [&str; 3] = ["authorization_code", DEVICE_CODE_GRANT, "refresh_token"];
/// The polling interval and device-code lifetime clients assume when StartDeviceAuthorization
/// gives none (the AWS CLI's defaults).
pub const DEFAULT_POLL_INTERVAL: i64 = 5;
pub const DEFAULT_DEVICE_CODE_TTL: i64 = 600;
/// Client registrations last 90 days, like the real service.
const REGISTRATION_TTL: i64 = 90 * 86_400;

/// An OIDC error: the modeled shape and a description.
pub struct OidcError {
    pub shape: &'static str,
    pub status: u16,
    pub description: String,
}

fn err(shape: &'static str, description: impl Into<String>) -> OidcError {
    let status = match shape {
        "InvalidClientException" => 401,
        "InternalServerException" => 500,
        _ => 400,
    };
    OidcError { shape, status, description: description.into() }
}

impl OidcError {
    fn reply(self) -> Reply {
        super::http::aws_error(
            super::http::Protocol::Oidc,
            self.status,
            self.shape,
            &self.description,
            "",
        )
    }
}

type Result<T> = std::result::Result<T, OidcError>;

pub fn handle(emu: &Emulator, op: &str, req: &Request) -> Reply {
    let result = parse_body(req).and_then(|body| match op {
        "RegisterClient" => register_client(emu, &body),
        "StartDeviceAuthorization" => start_device_authorization(emu, &body),
        _ => create_token(emu, &body),
    });
    match result {
        Ok(value) => Reply::json(200, &value),
        Err(e) => {
            emu.lock().count_error(e.shape);
            e.reply()
        }
    }
}

fn parse_body(req: &Request) -> Result<Value> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(err("InvalidRequestException", "The request body must be a JSON object")),
        Err(_) => Err(err("InvalidRequestException", "The request body is not valid JSON")),
    }
}

/// An optional string member; any other JSON type is an invalid request.
fn opt_str(body: &Value, name: &str) -> Result<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(err("InvalidRequestException", format!("{name} must be a string"))),
    }
}

fn req_str(body: &Value, name: &str) -> Result<String> {
    opt_str(body, name)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err("InvalidRequestException", format!("{name} is required")))
}

fn str_list(body: &Value, name: &str) -> Result<Vec<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    err("InvalidRequestException", format!("{name} must be a list of strings"))
                })
            })
            .collect(),
        Some(_) => Err(err("InvalidRequestException", format!("{name} must be a list of strings"))),
    }
}

/// `(host, path)` of a loopback `http://` redirect URI, ignoring the port (RFC 8252 §7.3).
pub fn loopback_key(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']')?;
        let port = &v6[end + 1..];
        if !(port.is_empty() || port.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())) {
            return None;
        }
        format!("[{}]", &v6[..end])
    } else {
        let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return None;
        }
        host.to_ascii_lowercase()
    };
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
        return None;
    }
    let path = path.split('#').next().unwrap_or("/").to_string();
    Some((host, path))
}

fn register_client(emu: &Emulator, body: &Value) -> Result<Value> {
    let name = req_str(body, "clientName")?;
    let client_type = req_str(body, "clientType")?;
    if client_type != "public" {
        return Err(err("InvalidClientMetadataException", "clientType must be public"));
    }
    let mut scopes = str_list(body, "scopes")?;
    let grant_types = str_list(body, "grantTypes")?;
    let redirect_uris = str_list(body, "redirectUris")?;
    opt_str(body, "issuerUrl")?;
    if let Some(g) = grant_types.iter().find(|g| !KNOWN_GRANTS.contains(&g.as_str())) {
        return Err(err(
            "UnsupportedGrantTypeException",
            format!("grant type {g} is not supported"),
        ));
    }
    if let Some(s) = scopes.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return Err(err("InvalidScopeException", format!("invalid scope {s:?}")));
    }
    if let Some(u) = redirect_uris.iter().find(|u| loopback_key(u).is_none()) {
        return Err(err(
            "InvalidRedirectUriException",
            format!("{u} is not a loopback http redirect URI"),
        ));
    }
    let auth_code = grant_types.iter().any(|g| g == "authorization_code");
    if auth_code && redirect_uris.is_empty() {
        return Err(err(
            "InvalidRequestException",
            "redirectUris is required for the authorization_code grant",
        ));
    }
    if auth_code && scopes.is_empty() {
        scopes.push("sso:account:access".into());
    }
    let now = now();
    let mut st = emu.lock();
    let client_id = format!("emu-client-{}", crate::util::random_token(12));
    let secret = st.new_secret("emu-secret-", 48);
    let expires = now + REGISTRATION_TTL;
    st.clients.insert(
        client_id.clone(),
        Client {
            name,
            secret: secret.clone(),
            secret_expires_at: expires,
            scopes,
            grant_types,
            redirect_uris,
        },
    );
    let base = &emu.base_url;
    Ok(json!({
        "clientId": client_id,
        "clientSecret": secret,
        "clientIdIssuedAt": now,
        "clientSecretExpiresAt": expires,
        "authorizationEndpoint": format!("{base}/authorize"),
        "tokenEndpoint": format!("{base}/token"),
    }))
}

/// The registered client for `clientId`/`clientSecret`, or `InvalidClientException`.
fn authenticate_client(st: &State, body: &Value, now: i64) -> Result<Client> {
    let id = req_str(body, "clientId")?;
    let secret = req_str(body, "clientSecret")?;
    let client = st
        .clients
        .get(&id)
        .ok_or_else(|| err("InvalidClientException", "Invalid client provided"))?;
    if !super::sigv4::constant_time_eq(&client.secret, &secret) {
        return Err(err("InvalidClientException", "Invalid client secret provided"));
    }
    if client.secret_expires_at <= now {
        return Err(err("InvalidClientException", "The client registration has expired"));
    }
    Ok(client.clone())
}

const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

fn user_code() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the OS random source failed");
    let c: String = b
        .iter()
        .map(|x| USER_CODE_ALPHABET[*x as usize % USER_CODE_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &c[..4], &c[4..])
}

/// Upper-cases a typed user code and restores the hyphen.
pub fn normalize_user_code(code: &str) -> String {
    let c: String =
        code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    if c.len() == 8 { format!("{}-{}", &c[..4], &c[4..]) } else { c }
}

fn start_device_authorization(emu: &Emulator, body: &Value) -> Result<Value> {
    let now = now();
    let mut st = emu.lock();
    let client_id = req_str(body, "clientId")?;
    req_str(body, "startUrl")?;
    let client = authenticate_client(&st, body, now)?;
    if !client.allows(DEVICE_CODE_GRANT) {
        return Err(err(
            "UnauthorizedClientException",
            "The client is not registered for the device code grant",
        ));
    }
    let device_code = st.new_secret("emu-device-", 32);
    let mut code = user_code();
    while st.user_codes.contains_key(&code) {
        code = user_code();
    }
    let decision = if emu.config.auto_approve {
        Decision::Approved { user: emu.org().approver().name.clone() }
    } else {
        Decision::Pending
    };
    // What the response says; 0 is what the Rust SDK reads when the field is absent, and the
    // code then behaves with the defaults a client must fall back to.
    let expires_in = emu.config.device_code_ttl;
    let interval = emu.config.poll_interval;
    st.devices.insert(
        device_code.clone(),
        DeviceAuth {
            client_id,
            user_code: code.clone(),
            expires_at: now + if expires_in > 0 { expires_in } else { DEFAULT_DEVICE_CODE_TTL },
            interval: if interval > 0 { interval } else { DEFAULT_POLL_INTERVAL },
            decision,
            last_poll: None,
            consumed: false,
        },
    );
    st.user_codes.insert(code.clone(), device_code.clone());
    let base = &emu.base_url;
    Ok(json!({
        "deviceCode": device_code,
        "userCode": code,
        "verificationUri": format!("{base}/device"),
        "verificationUriComplete": format!("{base}/device?user_code={code}"),
        "expiresIn": expires_in,
        "interval": interval,
    }))
}

fn create_token(emu: &Emulator, body: &Value) -> Result<Value> {
    let now = now();
    let mut st = emu.lock();
    let grant = req_str(body, "grantType")?;
    let client = authenticate_client(&st, body, now)?;
    let client_id = req_str(body, "clientId")?;
    if !KNOWN_GRANTS.contains(&grant.as_str()) {
        return Err(err(
            "UnsupportedGrantTypeException",
            format!("grant type {grant} is not supported"),
        ));
    }
    if !client.allows(&grant) {
        return Err(err(
            "UnauthorizedClientException",
            format!("The client is not registered for {grant}"),
        ));
    }
    let session = match grant.as_str() {
        DEVICE_CODE_GRANT => device_code_grant(emu, &mut st, body, &client_id, now)?,
        "authorization_code" => authorization_code_grant(emu, &mut st, body, &client_id, now)?,
        _ => refresh_token_grant(&mut st, body, &client_id)?,
    };
    Ok(issue_tokens(emu, &mut st, &client, session, now))
}

fn issue_tokens(emu: &Emulator, st: &mut State, client: &Client, session: u64, now: i64) -> Value {
    // As on AWS: a scoped registration gets a short-lived access token and a refresh token; a
    // legacy unscoped one gets a token that lasts the whole session and no refresh token.
    let refreshable = client.refreshable();
    let ttl = if refreshable { emu.config.token_ttl } else { emu.config.legacy_token_ttl };
    let access = st.new_secret("aoa", 48);
    st.access_tokens
        .insert(access.clone(), super::state::AccessToken { session, expires_at: now + ttl });
    let mut out = json!({"accessToken": access, "tokenType": "Bearer", "expiresIn": ttl});
    if refreshable {
        let refresh = st.new_secret("aor", 48);
        st.refresh_tokens
            .insert(refresh.clone(), super::state::RefreshToken { session, used: false });
        out["refreshToken"] = Value::String(refresh);
    }
    out
}

fn device_code_grant(
    emu: &Emulator,
    st: &mut State,
    body: &Value,
    client_id: &str,
    now: i64,
) -> Result<u64> {
    let code = req_str(body, "deviceCode")?;
    let dev = st
        .devices
        .get_mut(&code)
        .ok_or_else(|| err("InvalidGrantException", "Invalid device code provided"))?;
    if dev.client_id != client_id {
        return Err(err("InvalidGrantException", "The device code was issued to another client"));
    }
    if dev.consumed {
        return Err(err("InvalidGrantException", "The device code has already been used"));
    }
    if now >= dev.expires_at {
        return Err(err("ExpiredTokenException", "The device code has expired"));
    }
    let user = match dev.decision.clone() {
        Decision::Denied => {
            return Err(err("AccessDeniedException", "The user denied the authorization request"));
        }
        Decision::Approved { user } => user,
        Decision::Pending => {
            let polled = Instant::now();
            // A little slack for the time between the client's poll and our clock reading.
            let min_gap = Duration::from_secs(dev.interval.max(0) as u64)
                .saturating_sub(Duration::from_millis(50));
            let too_fast =
                dev.last_poll.is_some_and(|last| polled.saturating_duration_since(last) < min_gap);
            dev.last_poll = Some(polled);
            if too_fast {
                return Err(err(
                    "SlowDownException",
                    "Client is polling too fast; wait the interval between polls",
                ));
            }
            return Err(err("AuthorizationPendingException", "Authorization is still pending"));
        }
    };
    if st.disabled_users.contains(&user) || emu.org().user(&user).is_none() {
        return Err(err("AccessDeniedException", "The user is not allowed to sign in"));
    }
    if let Some(dev) = st.devices.get_mut(&code) {
        dev.consumed = true;
    }
    Ok(st.new_session(&user, client_id))
}

/// `base64url_nopad(SHA256(verifier))`, the S256 PKCE challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn authorization_code_grant(
    emu: &Emulator,
    st: &mut State,
    body: &Value,
    client_id: &str,
    now: i64,
) -> Result<u64> {
    let code = req_str(body, "code")?;
    let redirect_uri = req_str(body, "redirectUri")?;
    let verifier = req_str(body, "codeVerifier")?;
    let ac = st
        .auth_codes
        .get_mut(&code)
        .ok_or_else(|| err("InvalidGrantException", "Invalid authorization code provided"))?;
    if ac.used {
        return Err(err("InvalidGrantException", "The authorization code has already been used"));
    }
    // Any attempt uses the code up, so it cannot be guessed at.
    ac.used = true;
    let ac = ac.clone();
    if ac.client_id != client_id {
        return Err(err(
            "InvalidGrantException",
            "The authorization code was issued to another client",
        ));
    }
    if now >= ac.expires_at {
        return Err(err("ExpiredTokenException", "The authorization code has expired"));
    }
    if ac.redirect_uri != redirect_uri {
        return Err(err(
            "InvalidGrantException",
            "redirectUri does not match the authorization request",
        ));
    }
    if !super::sigv4::constant_time_eq(&pkce_challenge(&verifier), &ac.code_challenge) {
        return Err(err(
            "InvalidGrantException",
            "The code verifier does not match the code challenge",
        ));
    }
    if st.disabled_users.contains(&ac.user) || emu.org().user(&ac.user).is_none() {
        return Err(err("AccessDeniedException", "The user is not allowed to sign in"));
    }
    Ok(st.new_session(&ac.user, client_id))
}

fn refresh_token_grant(st: &mut State, body: &Value, client_id: &str) -> Result<u64> {
    let token = req_str(body, "refreshToken")?;
    let invalid = || err("InvalidGrantException", "Invalid refresh token provided");
    let rt = st.refresh_tokens.get_mut(&token).ok_or_else(invalid)?;
    if rt.used {
        return Err(invalid());
    }
    let session_id = rt.session;
    let session = st.sessions.get(&session_id).ok_or_else(invalid)?;
    if session.client_id != client_id {
        return Err(err("InvalidGrantException", "The refresh token was issued to another client"));
    }
    if session.revoked || st.disabled_users.contains(&session.user) {
        return Err(invalid());
    }
    // Single use: the token is spent now and a new one is returned with the new access token.
    if let Some(rt) = st.refresh_tokens.get_mut(&token) {
        rt.used = true;
    }
    Ok(session_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirect_uris_match_without_the_port() {
        let registered = loopback_key("http://127.0.0.1/oauth/callback").unwrap();
        assert_eq!(loopback_key("http://127.0.0.1:55555/oauth/callback"), Some(registered.clone()));
        assert_ne!(loopback_key("http://127.0.0.1:55555/other"), Some(registered));
        assert!(loopback_key("http://[::1]:8080/cb").is_some());
        assert!(loopback_key("http://localhost/cb").is_some());
        assert!(loopback_key("https://127.0.0.1/cb").is_none());
        assert!(loopback_key("http://evil.example/cb").is_none());
        assert!(loopback_key("http://127.0.0.1.evil.example/cb").is_none());
        assert!(loopback_key("http://127.0.0.1:x/cb").is_none());
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn user_codes_are_typed_forgivingly() {
        assert_eq!(normalize_user_code("bcdf ghjk"), "BCDF-GHJK");
        let c = user_code();
        assert_eq!(normalize_user_code(&c), c);
    }
}
