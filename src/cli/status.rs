//! `keyless status`: every session with its token expiry, whether it can refresh, and the
//! role credentials cached for it. Reads the config and the store only; no network.

use clap::Args;
use serde::Serialize;

use crate::sso::records::{self, Registration, RoleCredentials, Token};
use crate::sso::token::refreshable;
use crate::time::{human_remaining, now, rfc3339};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct RoleStatus {
    pub account: String,
    pub role: String,
    pub expires_at: String,
    pub valid: bool,
}

#[derive(Debug, Serialize)]
pub struct SessionStatus {
    pub name: String,
    pub start_url: Option<String>,
    pub region: Option<String>,
    pub configured: bool,
    pub signed_in: bool,
    pub token_expires_at: Option<String>,
    pub token_valid: bool,
    pub refreshable: bool,
    pub warning: Option<String>,
    pub roles: Vec<RoleStatus>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub store: String,
    pub sessions: Vec<SessionStatus>,
}

pub fn collect() -> anyhow::Result<Status> {
    let store = crate::store::open()?;
    let configured = crate::sessions::list()?;
    let mut names: Vec<String> = configured.iter().map(|s| s.name.clone()).collect();
    for n in super::logout::stored_sessions(store.as_ref())? {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let t = now();
    let mut sessions = Vec::new();
    for name in names {
        let cfg = configured.iter().find(|s| s.name == name);
        let token: Option<Token> = records::load(store.as_ref(), &records::token_key(&name))?;
        let role_keys =
            store.list(&records::role_prefix(&name)).map_err(crate::error::Error::from)?;
        // A client registration alone (left by a sign-in that did not finish) is no session.
        if cfg.is_none() && token.is_none() && role_keys.is_empty() {
            continue;
        }
        let reg: Option<Registration> =
            records::load(store.as_ref(), &records::registration_key(&name))?;
        let can_refresh = token.as_ref().is_some_and(|tok| refreshable(tok, reg.as_ref(), t));
        let mut roles = Vec::new();
        for key in role_keys {
            let rest = &key[records::role_prefix(&name).len()..];
            let Some((account, role)) = rest.split_once(':') else { continue };
            if let Some(c) = records::load::<RoleCredentials>(store.as_ref(), &key)? {
                roles.push(RoleStatus {
                    account: account.to_string(),
                    role: role.to_string(),
                    expires_at: rfc3339(c.expiration),
                    valid: c.expiration > t,
                });
            }
        }
        let warning = match &token {
            None => None,
            Some(tok) if tok.expires_at <= t && !can_refresh => {
                Some("the session has ended; sign in again".to_string())
            }
            Some(tok) if tok.expires_at - t < 3600 && !can_refresh => Some(format!(
                "the session ends in {} and cannot be refreshed",
                human_remaining(tok.expires_at - t)
            )),
            _ => None,
        };
        sessions.push(SessionStatus {
            name: name.clone(),
            start_url: cfg
                .map(|c| c.start_url.clone())
                .or_else(|| token.as_ref().map(|t| t.start_url.clone())),
            region: cfg
                .map(|c| c.region.clone())
                .or_else(|| token.as_ref().map(|t| t.region.clone())),
            configured: cfg.is_some(),
            signed_in: token.is_some(),
            token_expires_at: token.as_ref().map(|t| rfc3339(t.expires_at)),
            token_valid: token.as_ref().is_some_and(|tok| tok.expires_at > t),
            refreshable: can_refresh,
            warning,
            roles,
        });
    }
    Ok(Status { store: store.name().to_string(), sessions })
}

fn render(status: &Status) -> String {
    let t = now();
    let mut out = String::new();
    if status.sessions.is_empty() {
        out.push_str("No SSO sessions. Run `keyless onboard` to set one up.\n");
        return out;
    }
    for s in &status.sessions {
        out.push_str(&format!(
            "{}  {}  ({})\n",
            s.name,
            s.start_url.as_deref().unwrap_or("?"),
            s.region.as_deref().unwrap_or("?")
        ));
        match &s.token_expires_at {
            None => out
                .push_str(&format!("  not signed in: run `keyless login --session {}`\n", s.name)),
            Some(at) => {
                let left = crate::time::parse_rfc3339(at).unwrap_or(t) - t;
                let state = if s.token_valid {
                    format!("valid for {}", human_remaining(left))
                } else {
                    "expired".to_string()
                };
                let refresh =
                    if s.refreshable { "refreshes automatically" } else { "cannot refresh" };
                out.push_str(&format!("  token: {state} (until {at}), {refresh}\n"));
            }
        }
        if let Some(w) = &s.warning {
            out.push_str(&format!("  warning: {w}: run `keyless login --session {}`\n", s.name));
        }
        for r in &s.roles {
            let left = crate::time::parse_rfc3339(&r.expires_at).unwrap_or(t) - t;
            out.push_str(&format!(
                "  role {} {}: credentials {} (until {})\n",
                r.account,
                r.role,
                if r.valid {
                    format!("valid for {}", human_remaining(left))
                } else {
                    "expired".into()
                },
                r.expires_at
            ));
        }
        if !s.configured {
            out.push_str("  (not in the AWS config file any more; `keyless logout` removes it)\n");
        }
    }
    out.push_str(&format!("secure store: {}\n", status.store));
    out
}

pub fn run(args: StatusArgs) -> anyhow::Result<i32> {
    let status = collect()?;
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(&status)?);
    } else {
        super::print_stdout(&render(&status));
    }
    Ok(0)
}
