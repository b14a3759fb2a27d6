//! IAM Identity Center: sign-in flows (PKCE and device code), token refresh, and the portal
//! calls that turn a token into role credentials. Records live in the secure store.

pub mod clients;
pub mod endpoints;
pub mod fanout;
pub mod inventory;
pub mod login;
pub mod portal;
pub mod records;
pub mod start_url;
pub mod token;

/// Whether `s` is an AWS account ID: exactly 12 ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// One `[sso-session NAME]`: where to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub name: String,
    pub start_url: String,
    pub region: String,
    /// `sso_registration_scopes`; empty means the default `sso:account:access`.
    pub scopes: Vec<String>,
}

impl SessionConfig {
    /// The scopes to register with: configured ones, or `sso:account:access`, which is what
    /// makes Identity Center issue a refresh token.
    pub fn registration_scopes(&self) -> Vec<String> {
        if self.scopes.is_empty() { vec!["sso:account:access".into()] } else { self.scopes.clone() }
    }
}

/// The hint for every "you need to sign in again" error.
pub fn login_hint(session: &str) -> String {
    format!("run `keyless login --session {session}`")
}

/// A "sign in to `session` again" error: the login hint, and the marker callers act on.
pub fn sign_in_again(session: &str, message: impl Into<String>) -> crate::error::Error {
    crate::error::Error::user(message).hint(login_hint(session)).needs_sign_in(session)
}
