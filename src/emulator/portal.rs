//! The SSO portal: GetRoleCredentials, ListAccounts, ListAccountRoles and Logout, all
//! authorised by the bearer token in `x-amz-sso_bearer_token`.

use serde_json::{Value, json};

use super::Emulator;
use super::http::{Protocol, Reply, Request, aws_error};
use super::state::RoleCredential;
use crate::time::now;

const UNAUTHORIZED: &str = "Session token not found or invalid";

fn error(req: &Request, status: u16, shape: &str, message: &str) -> Reply {
    aws_error(Protocol::Portal, status, shape, message, &req.request_id)
}

fn invalid(req: &Request, message: &str) -> Reply {
    error(req, 400, "InvalidRequestException", message)
}

pub fn handle(emu: &Emulator, op: &str, req: &Request) -> Reply {
    let token = req.header("x-amz-sso_bearer_token").unwrap_or("");
    let user = match emu.lock().user_for_token(token, now()) {
        Some(u) => u,
        None => return error(req, 401, "UnauthorizedException", UNAUTHORIZED),
    };
    match op {
        "GetRoleCredentials" => get_role_credentials(emu, req, &user),
        "ListAccounts" => list_accounts(emu, req, &user),
        "ListAccountRoles" => list_account_roles(emu, req, &user),
        _ => logout(emu, req, token),
    }
}

/// An `ASIA...` access key id: 20 characters of upper-case base32.
fn access_key_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source failed");
    let tail: String = b.iter().map(|x| ALPHABET[*x as usize % 32] as char).collect();
    format!("{prefix}{tail}")
}

/// 40 characters from the alphabet real secret access keys use.
fn secret_access_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b = [0u8; 40];
    getrandom::fill(&mut b).expect("the OS random source failed");
    b.iter().map(|x| ALPHABET[*x as usize % 64] as char).collect()
}

fn get_role_credentials(emu: &Emulator, req: &Request, user: &str) -> Reply {
    let (Some(role), Some(account)) = (req.query_param("role_name"), req.query_param("account_id"))
    else {
        return invalid(req, "role_name and account_id are required");
    };
    if !emu.org().assigned_role(user, &account, &role) {
        // What AWS answers, although the service model does not list it: SDKs see an
        // unmodelled error with this code.
        return error(req, 403, "ForbiddenException", "No access");
    }
    let mut st = emu.lock();
    let mut akid = access_key_id("ASIA");
    while st.role_credentials.contains_key(&akid) {
        akid = access_key_id("ASIA");
    }
    let secret = secret_access_key();
    st.remember_secret(&secret);
    let session_token = st.new_secret("IQoJemu", 96);
    let expires_at_ms = (now() + emu.config.role_ttl) * 1000;
    st.role_credentials.insert(
        akid.clone(),
        RoleCredential {
            secret: secret.clone(),
            session_token: session_token.clone(),
            expires_at_ms,
            account,
            role,
            user: user.to_string(),
            revoked: false,
        },
    );
    Reply::json(
        200,
        &json!({"roleCredentials": {
            "accessKeyId": akid,
            "secretAccessKey": secret,
            "sessionToken": session_token,
            "expiration": expires_at_ms,
        }}),
    )
}

/// `(offset, page size)` from `next_token` and `max_result`, or the error reply.
fn page(req: &Request, total: usize) -> Result<(usize, usize), Reply> {
    let size = match req.query_param("max_result") {
        None => 20,
        Some(v) => match v.parse::<usize>() {
            Ok(n @ 1..=100) => n,
            _ => return Err(invalid(req, "max_result must be between 1 and 100")),
        },
    };
    let offset = match req.query_param("next_token") {
        None => 0,
        Some(t) if t.is_empty() => 0,
        Some(t) => match t.strip_prefix("emu-page-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= total => n,
            _ => return Err(invalid(req, "next_token is not valid")),
        },
    };
    Ok((offset, size))
}

/// Adds `nextToken` to `out` when items remain after this page.
fn paginated(mut out: Value, offset: usize, size: usize, total: usize) -> Value {
    if offset + size < total {
        out["nextToken"] = Value::String(format!("emu-page-{}", offset + size));
    }
    out
}

fn list_accounts(emu: &Emulator, req: &Request, user: &str) -> Reply {
    let accounts: Vec<_> = emu.org().accounts_of(user).collect();
    let (offset, size) = match page(req, accounts.len()) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let list: Vec<Value> = accounts
        .iter()
        .skip(offset)
        .take(size)
        .map(|a| json!({"accountId": a.id, "accountName": a.name, "emailAddress": a.email}))
        .collect();
    Reply::json(200, &paginated(json!({"accountList": list}), offset, size, accounts.len()))
}

fn list_account_roles(emu: &Emulator, req: &Request, user: &str) -> Reply {
    let Some(account_id) = req.query_param("account_id") else {
        return invalid(req, "account_id is required");
    };
    let Some(account) =
        emu.org().account(&account_id).filter(|_| emu.org().assigned_account(user, &account_id))
    else {
        return error(req, 404, "ResourceNotFoundException", "No access");
    };
    let (offset, size) = match page(req, account.roles.len()) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let list: Vec<Value> = account
        .roles
        .iter()
        .skip(offset)
        .take(size)
        .map(|r| json!({"roleName": r, "accountId": account.id}))
        .collect();
    Reply::json(200, &paginated(json!({"roleList": list}), offset, size, account.roles.len()))
}

/// Revokes the session behind `token`: its access tokens and refresh tokens stop working.
/// Role credentials already issued stay valid until they expire, as with the real service.
fn logout(emu: &Emulator, _req: &Request, token: &str) -> Reply {
    let mut st = emu.lock();
    if let Some(session) = st.access_tokens.get(token).map(|t| t.session)
        && let Some(s) = st.sessions.get_mut(&session)
    {
        s.revoked = true;
    }
    Reply::new(200, "application/json", Vec::new())
}
