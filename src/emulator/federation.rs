//! The console sign-in federation endpoint (`signin.aws.amazon.com/federation`):
//! `Action=getSigninToken` trades temporary role credentials for a sign-in token, and
//! `Action=login` spends the token. Instead of redirecting into the real console, `login`
//! answers with a page that names the role, account and user it signed in.
//!
//! Only credentials this emulator issued through GetRoleCredentials, unexpired and not
//! revoked, get a token; long-lived user keys are refused, as AWS refuses them.

use serde::Deserialize;
use serde_json::json;

use super::Emulator;
use super::authorize::{escape, page};
use super::http::{Reply, Request};
use super::state::SigninToken;
use crate::time::now;

/// Sign-in tokens are valid for 15 minutes after they are issued.
pub const SIGNIN_TOKEN_TTL: i64 = 15 * 60;

/// The `Session` parameter of getSigninToken.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    session_id: String,
    session_key: String,
    session_token: String,
}

fn bad_request(message: &str) -> Reply {
    Reply::new(400, "text/plain; charset=utf-8", format!("{message}\n"))
}

/// `GET /federation`.
pub fn handle(emu: &Emulator, req: &Request) -> Reply {
    match req.query_param("Action").as_deref() {
        Some("getSigninToken") => {
            emu.lock().count("GetSigninToken");
            get_signin_token(emu, req)
        }
        Some("login") => {
            emu.lock().count("Login");
            login(emu, req)
        }
        _ => bad_request("Action must be getSigninToken or login"),
    }
}

fn get_signin_token(emu: &Emulator, req: &Request) -> Reply {
    let duration = match req.query_param("SessionDuration") {
        None => 43_200,
        Some(v) => match v.parse::<i64>() {
            Ok(d @ 900..=43_200) => d,
            _ => return bad_request("SessionDuration must be between 900 and 43200 seconds"),
        },
    };
    let Some(session) = req.query_param("Session") else {
        return bad_request("the Session parameter is required");
    };
    let Ok(session) = serde_json::from_str::<Session>(&session) else {
        return bad_request("Session must be JSON with sessionId, sessionKey and sessionToken");
    };
    let now = now();
    let mut st = emu.lock();
    let Some(cred) = st.role_credentials.get(&session.session_id) else {
        return bad_request("the credentials are not valid temporary security credentials");
    };
    let matches = crate::emulator::sigv4::constant_time_eq(&cred.secret, &session.session_key)
        && crate::emulator::sigv4::constant_time_eq(&cred.session_token, &session.session_token);
    if !matches || cred.revoked || st.disabled_users.contains(&cred.user) {
        return bad_request("the credentials are not valid temporary security credentials");
    }
    if cred.expires_at_ms <= now * 1000 {
        return bad_request("the security token included in the request is expired");
    }
    let record = SigninToken {
        account: cred.account.clone(),
        role: cred.role.clone(),
        user: cred.user.clone(),
        expires_at: now + SIGNIN_TOKEN_TTL,
        console_session_secs: duration,
    };
    let token = st.new_secret("emuSigninToken", 48);
    st.signin_tokens.insert(token.clone(), record);
    Reply::json(200, &json!({ "SigninToken": token }))
}

fn login(emu: &Emulator, req: &Request) -> Reply {
    let (Some(token), Some(destination)) =
        (req.query_param("SigninToken"), req.query_param("Destination"))
    else {
        return bad_request("SigninToken and Destination are required");
    };
    let issuer = req.query_param("Issuer").unwrap_or_default();
    let st = emu.lock();
    let Some(t) = st.signin_tokens.get(&token).filter(|t| t.expires_at > now()) else {
        return Reply::html(
            400,
            page("Sign-in failed", "<p>The sign-in token is not valid or has expired.</p>"),
        );
    };
    let account_name = emu.org().account(&t.account).map(|a| a.name.clone()).unwrap_or_default();
    let body = format!(
        "<p id=\"signed-in\">Signed in to the AWS Management Console as role \
         <strong id=\"role\">{role}</strong> in account <strong id=\"account\">{account}</strong> \
         ({account_name}), user <strong id=\"user\">{user}</strong>.</p>\
         <p>Console session: {hours} h. Issuer: <code>{issuer}</code>. \
         Destination: <code>{destination}</code></p>",
        role = escape(&t.role),
        account = escape(&t.account),
        account_name = escape(&account_name),
        user = escape(&t.user),
        hours = t.console_session_secs / 3600,
        issuer = escape(&issuer),
        destination = escape(&destination),
    );
    Reply::html(200, page("AWS Management Console", &body)).with_header("cache-control", "no-store")
}
