//! The pages a person sees in a browser: the `/authorize` consent page of the
//! authorization-code flow (Allow / Deny) and the device verification page where a user code
//! is typed and approved. With auto-approve both decide immediately.
//!
//! Nothing here ever redirects to a redirect URI that has not been validated against the
//! client's registration; invalid requests get an HTML error page.

use super::Emulator;
use super::http::{Reply, Request};
use super::oidc::{loopback_key, normalize_user_code};
use super::state::{AuthCode, Decision, PendingAuthorize};
use crate::time::now;

/// Authorization codes are short-lived.
const AUTH_CODE_TTL: i64 = 300;
/// How long the consent page stays answerable.
const CONSENT_TTL: i64 = 600;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A complete page; `body` is trusted HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} - keyless Identity Center</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#16191f}}\
         h1{{font-size:1.4rem}}button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;cursor:pointer}}\
         .allow{{background:#ff9900;border:1px solid #ec7211}}input{{font-size:1.2rem;padding:.3rem;letter-spacing:.1em}}\
         code{{background:#f2f3f3;padding:0 .2rem}}</style></head>\
         <body><p><strong>keyless</strong> local IAM Identity Center</p><h1>{t}</h1>\n{body}\n</body></html>\n",
        t = escape(title)
    )
}

fn error_page(message: &str) -> Reply {
    Reply::html(400, page("Request not valid", &format!("<p>{}</p>", escape(message))))
}

/// Appends `params` to `uri` as a query string.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", ser.finish())
}

/// `GET /authorize`: validates the request, then shows the consent page (or, with
/// auto-approve, redirects with a code at once).
pub fn authorize(emu: &Emulator, req: &Request) -> Reply {
    let q = |name: &str| req.query_param(name);
    let Some(client_id) = q("client_id") else {
        return error_page("client_id is missing.");
    };
    let Some(redirect_uri) = q("redirect_uri") else {
        return error_page("redirect_uri is missing.");
    };
    let client = {
        let st = emu.lock();
        match st.clients.get(&client_id) {
            Some(c) => c.clone(),
            None => return error_page("The client is not registered."),
        }
    };
    let Some(key) = loopback_key(&redirect_uri) else {
        return error_page("redirect_uri must be a loopback http:// address.");
    };
    if !client.redirect_uris.iter().any(|r| loopback_key(r).as_ref() == Some(&key)) {
        return error_page("redirect_uri does not match the client's registered redirect URIs.");
    }
    if q("response_type").as_deref() != Some("code") {
        return error_page("response_type must be code.");
    }
    if !client.allows("authorization_code") || client.grant_types.is_empty() {
        return error_page("The client is not registered for the authorization_code grant.");
    }
    if q("code_challenge_method").as_deref() != Some("S256") {
        return error_page("code_challenge_method must be S256.");
    }
    let challenge = q("code_challenge").unwrap_or_default();
    if challenge.len() < 43
        || challenge.len() > 128
        || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return error_page("code_challenge must be a base64url SHA-256 digest.");
    }
    // AWS reads `scopes` (space-separated, as the AWS CLI sends it), not OAuth's `scope`; a
    // request without it gets the registration's scopes, and it may ask for no others.
    let scopes: Vec<String> = match q("scopes") {
        Some(s) => s.split_whitespace().map(str::to_string).collect(),
        None => client.scopes.clone(),
    };
    if let Some(s) = scopes.iter().find(|s| !client.scopes.contains(s)) {
        return error_page(&format!("The scope {s} is not registered for this client."));
    }
    let pending = PendingAuthorize {
        client_id,
        redirect_uri,
        state: q("state"),
        code_challenge: challenge,
        scopes,
        expires_at: now() + CONSENT_TTL,
    };
    if emu.config.auto_approve {
        return decide(emu, pending, true);
    }
    let request_id = crate::util::random_token(24);
    let approver = emu.org().approver().name.clone();
    let body = format!(
        "<p>The application <code>{client}</code> asks to sign in as <strong>{user}</strong> \
         with the scopes <code>{scopes}</code>.</p>\
         <p>After you choose, your browser returns to <code>{redirect}</code>.</p>\
         <form method=\"post\" action=\"/authorize/decision\">\
         <input type=\"hidden\" name=\"request\" value=\"{id}\">\
         <button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        client = escape(&client.name),
        user = escape(&approver),
        scopes = escape(&pending.scopes.join(" ")),
        redirect = escape(&pending.redirect_uri),
        id = escape(&request_id),
    );
    emu.lock().pending_authorize.insert(request_id, pending);
    Reply::html(200, page("Allow access?", &body)).with_header("cache-control", "no-store")
}

/// `POST /authorize/decision` (form: `request`, `decision=allow|deny`).
pub fn decision(emu: &Emulator, req: &Request) -> Reply {
    let form = req.form();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(id) = get("request") else {
        return error_page("The form is incomplete.");
    };
    let allow = match get("decision").as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => return error_page("Choose Allow or Deny."),
    };
    let Some(pending) = emu.lock().pending_authorize.remove(&id) else {
        return error_page(
            "This sign-in request is unknown or was already answered. Start the sign-in again.",
        );
    };
    if pending.expires_at <= now() {
        return error_page("This sign-in request has expired. Start the sign-in again.");
    }
    decide(emu, pending, allow)
}

/// Redirects a validated request back to its client with a code or `error=access_denied`.
fn decide(emu: &Emulator, pending: PendingAuthorize, allow: bool) -> Reply {
    let user = emu.org().approver().name.clone();
    let mut st = emu.lock();
    let state = pending.state.as_deref();
    let mut params: Vec<(&str, &str)> = Vec::new();
    let code;
    if allow && !st.disabled_users.contains(&user) {
        code = st.new_secret("emu-code-", 24);
        st.auth_codes.insert(
            code.clone(),
            AuthCode {
                client_id: pending.client_id.clone(),
                redirect_uri: pending.redirect_uri.clone(),
                code_challenge: pending.code_challenge.clone(),
                user,
                expires_at: now() + AUTH_CODE_TTL,
                used: false,
            },
        );
        params.push(("code", &code));
    } else {
        params.push(("error", "access_denied"));
        params.push(("error_description", "The user denied the request"));
    }
    if let Some(s) = state {
        params.push(("state", s));
    }
    Reply::redirect(&with_query(&pending.redirect_uri, &params))
}

/// `GET /device[?user_code=...]`: the form where a person types the code shown by the CLI.
pub fn device_page(_emu: &Emulator, req: &Request) -> Reply {
    let code = req.query_param("user_code").map(|c| normalize_user_code(&c)).unwrap_or_default();
    let body = format!(
        "<p>Enter the code shown by the application that is signing in.</p>\
         <form method=\"post\" action=\"/device\">\
         <p><label>Code <input name=\"user_code\" value=\"{}\" autocomplete=\"off\" required></label></p>\
         <button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        escape(&code)
    );
    Reply::html(200, page("Authorize a device", &body)).with_header("cache-control", "no-store")
}

/// `POST /device` (form: `user_code`, `decision=allow|deny`).
pub fn device_decision(emu: &Emulator, req: &Request) -> Reply {
    let form = req.form();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let code = normalize_user_code(&get("user_code").unwrap_or_default());
    let allow = match get("decision").as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => return error_page("Choose Allow or Deny."),
    };
    let user = emu.org().approver().name.clone();
    match decide_device(emu, &code, allow.then_some(user.as_str())) {
        Ok(()) if allow => Reply::html(
            200,
            page("Device approved", "<p>You can close this window and return to the terminal.</p>"),
        ),
        Ok(()) => Reply::html(200, page("Request denied", "<p>The sign-in was denied.</p>")),
        Err(message) => error_page(message),
    }
}

/// Approves (as `user`) or denies (`None`) the pending device authorisation for `user_code`.
pub fn decide_device(
    emu: &Emulator,
    user_code: &str,
    user: Option<&str>,
) -> Result<(), &'static str> {
    let now = now();
    let mut st = emu.lock();
    let device_code = st.user_codes.get(user_code).cloned().ok_or("That code is not valid.")?;
    let disabled = user.is_some_and(|u| st.disabled_users.contains(u));
    let dev = st.devices.get_mut(&device_code).ok_or("That code is not valid.")?;
    if dev.expires_at <= now || dev.consumed {
        return Err("That code has expired. Start the sign-in again.");
    }
    if dev.decision != Decision::Pending {
        return Err("That code was already answered.");
    }
    dev.decision = match user {
        Some(u) if !disabled => Decision::Approved { user: u.to_string() },
        _ => Decision::Denied,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_queries_appended() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(
            with_query("http://127.0.0.1:5/cb", &[("code", "a b"), ("state", "s&t")]),
            "http://127.0.0.1:5/cb?code=a+b&state=s%26t"
        );
        assert_eq!(
            with_query("http://127.0.0.1/cb?x=1", &[("code", "c")]),
            "http://127.0.0.1/cb?x=1&code=c"
        );
    }
}
